//! Explaining connections: Zeek's summary, findings in plain words. Pure: no I/O, no UI.

pub mod chain_story;
pub mod chains;
pub mod chart;
pub mod diagnose;
pub mod exchanges;
pub mod machine;
pub mod merge;
pub mod palette;
pub mod series;
pub mod zeek;

pub use diagnose::{diagnose, diagnose_with, Code, Diagnosis};
pub use zeek::{zeek_summary, ZeekSummary};
