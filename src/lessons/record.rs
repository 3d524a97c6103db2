//! What a lesson is, and what it records: each socket call with what the application got back.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// One socket call and what the application got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppEvent {
    /// "client" or "server".
    pub side: &'static str,
    /// The call, e.g. "write()".
    pub call: &'static str,
    /// "ok", "read 5 bytes", "EOF", or the errno's name.
    pub outcome: String,
    /// Wall-clock time, nanoseconds since the epoch (the capture clock on the same machine).
    pub ts_nanos: i64,
}

impl AppEvent {
    /// An error (its errno's name, `ECONNRESET`, `EPIPE` …) or the end of the stream (`EOF`):
    /// the outcomes a reader must connect to the segment that caused them.
    pub fn failed_or_ended(&self) -> bool {
        self.outcome == "EOF" || errno_name_like(&self.outcome)
    }
}

/// True for the names [`errno_name`] gives: `E` and capitals.
fn errno_name_like(outcome: &str) -> bool {
    outcome.len() > 1
        && outcome.starts_with('E')
        && outcome.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Records socket calls from several threads.
#[derive(Debug, Clone, Default)]
pub(super) struct Recorder(Arc<Mutex<Vec<AppEvent>>>);

impl Recorder {
    pub(super) fn record<T>(
        &self,
        side: &'static str,
        call: &'static str,
        result: io::Result<T>,
        describe: impl Fn(&T) -> String,
    ) -> io::Result<T> {
        let outcome = match &result {
            Ok(value) => describe(value),
            Err(err) => errno_name(err).to_string(),
        };
        let ts_nanos =
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        if let Ok(mut events) = self.0.lock() {
            events.push(AppEvent { side, call, outcome, ts_nanos });
        }
        result
    }

    pub(super) fn ok<T>(&self, side: &'static str, call: &'static str, result: io::Result<T>) -> io::Result<T> {
        self.record(side, call, result, |_| "ok".to_string())
    }

    pub(super) fn read(&self, side: &'static str, stream: &mut TcpStream) -> io::Result<usize> {
        let mut buffer = [0u8; 65_536];
        self.record(side, "read()", stream.read(&mut buffer), |&n| {
            if n == 0 {
                "EOF".to_string()
            } else {
                format!("read {n} bytes")
            }
        })
    }

    pub(super) fn write(&self, side: &'static str, stream: &mut TcpStream, data: &[u8]) -> io::Result<usize> {
        self.record(side, "write()", stream.write(data), |n| format!("wrote {n} bytes"))
    }

    pub(super) fn events(&self) -> Vec<AppEvent> {
        let mut events = self.0.lock().map(|e| e.clone()).unwrap_or_default();
        events.sort_by_key(|e| e.ts_nanos);
        events
    }
}

/// The errno a failed call returns, by name.
pub fn errno_name(err: &io::Error) -> &'static str {
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionReset => "ECONNRESET",
        BrokenPipe => "EPIPE",
        ConnectionRefused => "ECONNREFUSED",
        TimedOut => "ETIMEDOUT",
        WouldBlock => "EAGAIN",
        AddrInUse => "EADDRINUSE",
        AddrNotAvailable => "EADDRNOTAVAIL",
        ConnectionAborted => "ECONNABORTED",
        NotConnected => "ENOTCONN",
        _ => "error",
    }
}

/// What a lesson leaves behind: the calls, and sockets to close only after the capture stops
/// (a server that never closes must still be open when the capture ends).
pub struct Outcome {
    pub events: Vec<AppEvent>,
    pub held: Vec<TcpStream>,
    pub held_listeners: Vec<TcpListener>,
}

/// A scenario, its story and its code.
pub struct Lesson {
    pub id: &'static str,
    pub title: &'static str,
    /// The question it answers.
    pub question: &'static str,
    /// What to look for in the ladder, and the answer.
    pub explanation: &'static str,
    /// The socket calls, as a reader would write them.
    pub snippet: &'static str,
    /// The recording of the same scenario in `sample-captures/`, for when capturing is not allowed.
    pub sample: Option<&'static str>,
    /// (side, call, outcome) that must appear among the recorded events.
    pub expected: &'static [(&'static str, &'static str, &'static str)],
    pub(super) run: fn(u16) -> io::Result<Outcome>,
}

impl Lesson {
    /// Performs the lesson against a server on 127.0.0.1:`port`.
    pub fn run(&self, port: u16) -> io::Result<Outcome> {
        (self.run)(port)
    }
}
