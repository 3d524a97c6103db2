//! The socket table counted: by state (the `netstat | awk '{++S[$NF]}'` one-liner), by process
//! and port, and each listener's accept queue against its backlog.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use crate::tcp::TcpState;

use super::snapshot::Snapshot;
use super::socket::Socket;

/// How many sockets are in each state, states in RFC order, only those with any.
pub fn states(sockets: &[Socket]) -> Vec<(TcpState, u32)> {
    let mut counts: BTreeMap<TcpState, u32> = BTreeMap::new();
    for socket in sockets {
        *counts.entry(socket.state).or_default() += 1;
    }
    counts.into_iter().collect()
}

/// The sockets one process holds in one state on one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByProcess {
    /// `None`: sockets no process holds (TIME_WAIT, orphans) or that could not be looked at.
    pub pid: Option<u32>,
    pub name: String,
    pub state: TcpState,
    /// The port that names the group: the local one when it is a port this machine listens on
    /// (connections a server accepted), else the peer's (connections a client made).
    pub port: u16,
    /// The port is this machine's listening port.
    pub local_port: bool,
    pub count: u32,
}

impl ByProcess {
    /// "`python3` (pid 4121) holds 212 CLOSE_WAIT sockets on local port 8080"; sockets no
    /// process holds say why none does.
    pub fn sentence(&self) -> String {
        let plural = if self.count == 1 { "" } else { "s" };
        let port = if self.local_port { "on local port" } else { "to port" };
        let sockets = format!("{} {} socket{plural} {port} {}", self.count, self.state.name(), self.port);
        let (them, wait) = if self.count == 1 { ("it", "waits") } else { ("them", "wait") };
        match (self.pid, self.state) {
            (Some(pid), _) => format!("`{}` (pid {pid}) holds {sockets}", self.name),
            (None, TcpState::Established | TcpState::SynReceived) if self.local_port => {
                format!("{sockets} {wait} for accept(): no process holds {them} yet")
            }
            (None, TcpState::TimeWait) => format!("{sockets}: the kernel keeps {them} after the close"),
            (None, TcpState::FinWait1 | TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck) => {
                format!("{sockets}: orphans, closed by their process, which the kernel finishes")
            }
            (None, _) => format!("no process this view can see holds {sockets}"),
        }
    }
}

/// Sockets grouped by process, state and port, the largest groups first (ties by pid, state,
/// port): where a leak shows. Listeners are left out.
pub fn by_process(snapshot: &Snapshot) -> Vec<ByProcess> {
    let listening: std::collections::HashSet<u16> =
        snapshot.sockets.iter().filter(|s| s.state == TcpState::Listen).map(|s| s.local.port()).collect();
    let mut groups: BTreeMap<(Option<u32>, TcpState, u16, bool), u32> = BTreeMap::new();
    for socket in snapshot.sockets.iter().filter(|s| s.state != TcpState::Listen) {
        let local_port = listening.contains(&socket.local.port());
        let port = if local_port { socket.local.port() } else { socket.peer.port() };
        *groups.entry((socket.pid, socket.state, port, local_port)).or_default() += 1;
    }
    let mut out: Vec<ByProcess> = groups
        .into_iter()
        .map(|((pid, state, port, local_port), count)| ByProcess {
            pid,
            name: pid.and_then(|pid| snapshot.processes.get(&pid)).map_or_else(String::new, |p| p.name.clone()),
            state,
            port,
            local_port,
            count,
        })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then((a.pid, a.state, a.port).cmp(&(b.pid, b.state, b.port))));
    out
}

/// Sockets by local port and state, the largest groups first (ties by port, then state).
pub fn by_local_port(sockets: &[Socket]) -> Vec<((u16, TcpState), u32)> {
    let mut ports: BTreeMap<(u16, TcpState), u32> = BTreeMap::new();
    for socket in sockets {
        *ports.entry((socket.local.port(), socket.state)).or_default() += 1;
    }
    let mut ports: Vec<_> = ports.into_iter().collect();
    ports.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ports
}

/// A listening socket and its accept queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub local: SocketAddr,
    /// Connections completed and waiting for accept().
    pub queued: u32,
    /// The most that may wait (listen(2)'s backlog, capped by `net.core.somaxconn`); `None`
    /// when the table came from `/proc/net/tcp`, which does not show it.
    pub backlog: Option<u32>,
    pub pid: Option<u32>,
}

impl Listener {
    /// The kernel's test (`sk_acceptq_is_full`): more waiting than the backlog. A completed
    /// handshake then finds no room: its ACK is dropped (or answered by RST with
    /// `tcp_abort_on_overflow`) and `ListenOverflows` grows.
    pub fn is_full(&self) -> bool {
        self.backlog.is_some_and(|backlog| self.queued > backlog)
    }
}

/// Every listener, in the table's order.
pub fn listeners(snapshot: &Snapshot) -> Vec<Listener> {
    snapshot
        .sockets
        .iter()
        .filter(|s| s.state == TcpState::Listen)
        .map(|s| Listener {
            local: s.local,
            queued: s.recv_q,
            backlog: (snapshot.source == super::snapshot::Source::SockDiag).then_some(s.send_q),
            pid: s.pid,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{ListenCounters, Process, Source};

    fn socket(state: TcpState, local: &str, peer: &str, pid: Option<u32>) -> Socket {
        crate::host::socket::test_socket(state, local, peer, pid)
    }

    fn snapshot(sockets: Vec<Socket>) -> Snapshot {
        let process =
            Process { pid: 4121, name: "python3".into(), command: String::new(), open_fds: 9, fd_limit: None };
        Snapshot {
            sockets,
            processes: [(4121, process)].into_iter().collect(),
            counters: ListenCounters::default(),
            source: Source::SockDiag,
            hidden_processes: 0,
        }
    }

    #[test]
    fn close_wait_sockets_are_counted_by_process_and_the_port_they_were_accepted_on() {
        let mut sockets = vec![socket(TcpState::Listen, "127.0.0.1:8080", "0.0.0.0:0", Some(4121))];
        for port in 40000..40003 {
            sockets.push(socket(TcpState::CloseWait, "127.0.0.1:8080", &format!("127.0.0.1:{port}"), Some(4121)));
        }
        sockets.push(socket(TcpState::TimeWait, "127.0.0.1:50000", "127.0.0.1:443", None));
        let snapshot = snapshot(sockets);
        let groups = by_process(&snapshot);
        assert_eq!(groups[0].sentence(), "`python3` (pid 4121) holds 3 CLOSE_WAIT sockets on local port 8080");
        assert_eq!(groups[1].sentence(), "1 TIME_WAIT socket to port 443: the kernel keeps it after the close");
        assert_eq!(
            states(&snapshot.sockets),
            vec![(TcpState::Listen, 1), (TcpState::CloseWait, 3), (TcpState::TimeWait, 1)]
        );
    }

    #[test]
    fn a_listener_is_full_when_more_wait_than_its_backlog() {
        let mut listener = socket(TcpState::Listen, "127.0.0.1:8080", "0.0.0.0:0", None);
        (listener.recv_q, listener.send_q) = (129, 128);
        let found = listeners(&snapshot(vec![listener]));
        assert_eq!((found[0].queued, found[0].backlog, found[0].is_full()), (129, Some(128), true));
    }
}
