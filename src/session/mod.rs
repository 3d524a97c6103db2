//! A capture being looked at, without a toolkit: reading a file on a thread ([`loader`]), the
//! open document with its caches ([`document`]), live analysis on its own thread
//! ([`live_model`]), and files read into an engine ([`read`]). The window draws this; tests drive
//! it without one.

pub mod document;
pub mod export;
pub mod follow;
pub mod live_model;
pub mod loader;
pub mod read;

pub use read::{read_capture, ReadOutcome};
