//! Integration tests: the CLI over the captures in `sample-captures/`, checked against the kernel's
//! own record of each socket's states, and over damaged and non-capture files.

// Tests and benchmarks fail by panicking: the library's no-panic lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod architecture;
mod capture_quality;
mod chains;
mod cli_errors;
mod conns_formats;
mod damaged;
mod edge_cases;
mod engine_api;
mod export;
mod fuzz_seeds;
mod kernel_features;
mod lessons;
mod live;
mod loss;
mod merge;
mod piped;
mod requests;
mod retire;
mod samples;
mod sockets;
mod synth;
mod tcpdump_flags;
mod ui;
mod ui_kernel_check;
mod ui_lessons;
mod ui_machine;
mod ui_several;
mod ui_table;
mod util;
