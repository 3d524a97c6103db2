//! A capture being looked at, without a toolkit: reading a file on a thread ([`loader`]), the
//! open document with its caches ([`document`]), live analysis on its own thread
//! ([`live_model`]), files read into an engine ([`read`]), this machine's sockets watched
//! on a thread ([`machine_watch`]) and checked against a live capture's ([`kernel_check`]). The window draws this; tests drive it without one.

pub mod conn_query;
pub mod document;
pub mod export;
pub mod follow;
pub mod kernel_check;
pub mod live_model;
pub mod loader;
pub mod machine_watch;
pub mod read;
pub mod recent_frames;
pub mod several;
pub mod vantage;

pub use read::{read_capture, ReadOutcome};
