//! A socket as `tcpladder sockets` prints it and the window lists it, and the filters both offer.

use serde::Serialize;

use crate::tcp::TcpState;

use super::snapshot::Snapshot;
use super::socket::{endpoint, Socket, Timer};

/// One socket, joined to its process: what `sockets --json` prints per socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SocketRow {
    /// The names used everywhere in tcpladder (`CLOSE_WAIT`, `SYN_RECEIVED`).
    pub state: &'static str,
    pub local: String,
    pub peer: String,
    pub recv_q: u32,
    pub send_q: u32,
    pub pid: Option<u32>,
    pub process: Option<String>,
    pub timer: Option<Timer>,
    pub inode: u64,
}

/// Which sockets to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SocketFilter {
    pub state: Option<TcpState>,
    /// The local or the peer port.
    pub port: Option<u16>,
    /// A process name (part of it, case ignored) or a pid.
    pub process: Option<String>,
}

impl SocketFilter {
    pub fn matches(&self, snapshot: &Snapshot, socket: &Socket) -> bool {
        let process = || {
            let Some(wanted) = self.process.as_deref() else { return true };
            let Some(owner) = snapshot.process_of(socket) else { return false };
            owner.pid.to_string() == wanted || owner.name.to_ascii_lowercase().contains(&wanted.to_ascii_lowercase())
        };
        self.state.is_none_or(|state| socket.state == state)
            && self.port.is_none_or(|port| socket.local.port() == port || socket.peer.port() == port)
            && process()
    }
}

/// The rows of the sockets `filter` lets through, in the snapshot's order.
pub fn rows(snapshot: &Snapshot, filter: &SocketFilter) -> Vec<SocketRow> {
    snapshot.sockets.iter().filter(|socket| filter.matches(snapshot, socket)).map(|s| row(snapshot, s)).collect()
}

pub fn row(snapshot: &Snapshot, socket: &Socket) -> SocketRow {
    SocketRow {
        state: socket.state.name(),
        local: endpoint(&socket.local),
        peer: endpoint(&socket.peer),
        recv_q: socket.recv_q,
        send_q: socket.send_q,
        pid: socket.pid,
        process: snapshot.process_of(socket).map(|p| p.name.clone()),
        timer: socket.timer,
        inode: socket.inode,
    }
}

/// A state as a person types it: `CLOSE_WAIT`, `close-wait` (as `ss state` takes it),
/// `syn-recv`, `fin-wait-1`.
pub fn parse_state(text: &str) -> Option<TcpState> {
    let name = text.trim().to_ascii_uppercase().replace('-', "_");
    let name = match name.as_str() {
        "SYN_RECV" => "SYN_RECEIVED",
        "FIN_WAIT1" => "FIN_WAIT_1",
        "FIN_WAIT2" => "FIN_WAIT_2",
        "CLOSE" => "CLOSED",
        other => other,
    };
    TcpState::from_name(name).filter(|state| *state != TcpState::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_are_read_as_ss_and_tcpladder_spell_them() {
        assert_eq!(parse_state("close-wait"), Some(TcpState::CloseWait));
        assert_eq!(parse_state("CLOSE_WAIT"), Some(TcpState::CloseWait));
        assert_eq!(parse_state("syn-recv"), Some(TcpState::SynReceived));
        assert_eq!(parse_state("fin-wait-2"), Some(TcpState::FinWait2));
        assert_eq!(parse_state("listening"), None);
    }
}
