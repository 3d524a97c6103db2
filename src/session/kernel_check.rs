//! The kernel's state of each local socket of a live capture beside the state tcpladder inferred
//! from the wire: the check the test suite makes, given to the user. A disagreement counts only
//! once it outlasts a moment's lag (two looks a second apart), and says what it likely is.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crate::host::socket::canonical;
use crate::host::{Snapshot, Socket};
use crate::summary::ConnRow;
use crate::tcp::TcpState;
use crate::wire::{PerSide, Side};

/// How long a disagreement must last before it is shown and counted: the kernel acts on a
/// segment a moment after the capture sees it.
const OUTLASTS: Duration = Duration::from_secs(1);

/// One side as the kernel has it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelState {
    /// The kernel holds this socket in this state.
    Holds(TcpState),
    /// The address is this machine's but the kernel holds no such socket: closed and freed.
    Gone,
    /// Not this machine's socket: the kernel cannot say.
    NotLocal,
}

/// What the kernel says of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub kernel: PerSide<KernelState>,
    /// The side that disagrees (and has for [`OUTLASTS`]), and what that likely is.
    pub disagreement: Option<(Side, String)>,
}

/// The checks of a live capture's connections, kept across looks.
#[derive(Debug, Default)]
pub struct KernelChecks {
    pub by_connection: HashMap<u32, Checked>,
    /// Since when each connection has disagreed, and on which side.
    disagreeing_since: HashMap<u32, (Side, Instant)>,
    /// Every connection that disagreed for long enough, while the capture ran.
    pub ever_disagreed: BTreeSet<u32>,
}

impl KernelChecks {
    /// Checks every row of the capture against `snapshot`, taken `now`.
    pub fn update(&mut self, snapshot: &Snapshot, rows: &[ConnRow], now: Instant) {
        let sockets: HashMap<(SocketAddr, SocketAddr), &Socket> =
            snapshot.sockets.iter().map(|s| ((canonical(s.local), canonical(s.peer)), s)).collect();
        let local_ips: BTreeSet<IpAddr> = snapshot.sockets.iter().map(|s| canonical(s.local).ip()).collect();
        self.by_connection.clear();
        for row in rows {
            let (Ok(client), Ok(server)) = (row.client.parse::<SocketAddr>(), row.server.parse::<SocketAddr>()) else {
                continue;
            };
            let (client, server) = (canonical(client), canonical(server));
            let kernel_of = |local: SocketAddr, peer: SocketAddr| match sockets.get(&(local, peer)) {
                Some(socket) => KernelState::Holds(socket.state),
                None if local.ip().is_loopback() || local_ips.contains(&local.ip()) => KernelState::Gone,
                None => KernelState::NotLocal,
            };
            let kernel = PerSide { client: kernel_of(client, server), server: kernel_of(server, client) };
            if kernel.client == KernelState::NotLocal && kernel.server == KernelState::NotLocal {
                continue;
            }
            let inferred = PerSide { client: row.client_state, server: row.server_state };
            let differing = Side::BOTH.into_iter().find(|&side| !agrees(kernel[side], inferred[side]));
            let disagreement = match differing {
                None => {
                    self.disagreeing_since.remove(&row.id);
                    None
                }
                Some(side) => {
                    let since = self.disagreeing_since.entry(row.id).or_insert((side, now));
                    if since.0 != side {
                        *since = (side, now);
                    }
                    (now.duration_since(since.1) >= OUTLASTS).then(|| (side, likely(kernel[side], inferred[side])))
                }
            };
            if disagreement.is_some() {
                self.ever_disagreed.insert(row.id);
            }
            self.by_connection.insert(row.id, Checked { kernel, disagreement });
        }
    }

    /// Connections checked now, and how many of them disagree.
    pub fn counts(&self) -> (usize, usize) {
        (self.by_connection.len(), self.by_connection.values().filter(|c| c.disagreement.is_some()).count())
    }
}

fn agrees(kernel: KernelState, inferred: TcpState) -> bool {
    match kernel {
        KernelState::Holds(state) => state == inferred,
        // A freed socket: closed, or its TIME_WAIT over (the kernel's may end before the
        // capture's clock says, or a new SYN reused the pair).
        KernelState::Gone => matches!(inferred, TcpState::Closed | TcpState::TimeWait | TcpState::Unknown),
        KernelState::NotLocal => true,
    }
}

/// How far along its life a state is: what tells a kernel behind the wire from one ahead of it.
fn rank(state: TcpState) -> u8 {
    match state {
        TcpState::Unknown | TcpState::Listen => 0,
        TcpState::SynSent | TcpState::SynReceived => 1,
        TcpState::Established => 2,
        TcpState::FinWait1 | TcpState::CloseWait => 3,
        TcpState::FinWait2 | TcpState::Closing | TcpState::LastAck => 4,
        TcpState::TimeWait => 5,
        TcpState::Closed => 6,
    }
}

fn likely(kernel: KernelState, inferred: TcpState) -> String {
    let KernelState::Holds(state) = kernel else {
        return format!(
            "the kernel no longer holds this socket, which the wire leaves in {}: it was closed without a segment \
             this capture saw (an RST the capture missed, or the socket freed by close() with SO_LINGER 0 and \
             the RST not captured)",
            inferred.name()
        );
    };
    match rank(state).cmp(&rank(inferred)) {
        std::cmp::Ordering::Less => format!(
            "the kernel is still in {} though the wire shows {}: it has not acted on a segment the capture saw; \
             a segment dropped after the capture point (a firewall, a full receive queue) is the likely cause",
            state.name(),
            inferred.name()
        ),
        std::cmp::Ordering::Greater => format!(
            "the kernel is already in {} though the wire shows {}: it changed state before anything on the wire \
             shows why, as when the application called close() and its FIN waits behind unsent data, or a packet \
             the capture missed (see the kernel drops in the capture's counters)",
            state.name(),
            inferred.name()
        ),
        std::cmp::Ordering::Equal => format!(
            "the kernel is in {} where the wire shows {}: nothing on the wire explains it, which points to a \
             mistake in tcpladder's inference; please report it with the capture",
            state.name(),
            inferred.name()
        ),
    }
}

impl KernelState {
    /// `CLOSE_WAIT`, `closed and freed`, or `not on this machine`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Holds(state) => state.name(),
            Self::Gone => "closed and freed",
            Self::NotLocal => "not on this machine",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{ListenCounters, Source};

    fn snapshot(sockets: Vec<(TcpState, &str, &str)>) -> Snapshot {
        Snapshot {
            sockets: sockets
                .into_iter()
                .map(|(state, local, peer)| crate::host::socket::test_socket(state, local, peer, None))
                .collect(),
            processes: Default::default(),
            counters: ListenCounters::default(),
            source: Source::SockDiag,
            hidden_processes: 0,
        }
    }

    fn row(client_state: TcpState, server_state: TcpState) -> ConnRow {
        crate::summary::test_row(1, ("127.0.0.1:40000", "127.0.0.1:8080"), (client_state, server_state))
    }

    #[test]
    fn a_disagreement_counts_only_once_it_outlasts_a_moments_lag() {
        let kernel = snapshot(vec![
            (TcpState::Established, "127.0.0.1:40000", "127.0.0.1:8080"),
            (TcpState::Established, "[::ffff:127.0.0.1]:8080", "[::ffff:127.0.0.1]:40000"),
        ]);
        let rows = [row(TcpState::FinWait2, TcpState::CloseWait)];
        let mut checks = KernelChecks::default();
        let start = Instant::now();
        checks.update(&kernel, &rows, start);
        assert_eq!(checks.counts(), (1, 0), "a moment's lag is not a disagreement");
        checks.update(&kernel, &rows, start + Duration::from_millis(1_500));
        let checked = &checks.by_connection[&1];
        assert_eq!(checked.kernel.server, KernelState::Holds(TcpState::Established));
        let (side, why) = checked.disagreement.clone().expect("a disagreement");
        assert_eq!(side, Side::Client);
        assert!(why.contains("has not acted on a segment"), "{why}");
        assert_eq!(checks.ever_disagreed.len(), 1);
    }

    #[test]
    fn a_freed_socket_agrees_with_time_wait_and_closed() {
        let kernel = snapshot(vec![(TcpState::TimeWait, "127.0.0.1:40000", "127.0.0.1:8080")]);
        let mut checks = KernelChecks::default();
        checks.update(&kernel, &[row(TcpState::TimeWait, TcpState::Closed)], Instant::now());
        let checked = &checks.by_connection[&1];
        assert_eq!(checked.kernel.server, KernelState::Gone);
        assert_eq!(checked.disagreement, None);
    }
}
