//! The ladder of several connections at once: one lifeline per socket (`ip:port`), grouped by
//! host and ordered as the connections are given (client → proxy → backend for a chain), every
//! segment of every connection in one time order, and each socket's state where it changes.
//! Free of any UI toolkit: the window, the text ladder and the exports draw this.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;

use crate::tcp::{Connection, TcpState};
use crate::wire::{PerSide, Side};

use super::layout::LayoutOptions;

/// A lifeline: one socket address, and the connections that use it (several for a server port
/// that many clients connect to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub socket: SocketAddr,
    pub connections: Vec<u32>,
}

impl Lane {
    /// The host the socket belongs to (lanes are grouped by it).
    pub fn host(&self) -> IpAddr {
        self.socket.ip()
    }
}

/// What a row of the several-connection ladder shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultiRowKind {
    /// Segment `index` of connection number `conn` of the input (not its id), from lane `from` to
    /// lane `to`.
    Segment { conn: usize, index: usize, from: usize, to: usize },
    /// Nothing happened on any chosen connection for this long.
    Idle { nanos: i64 },
}

/// One row, with its top and height in layout units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MultiRow {
    pub kind: MultiRowKind,
    pub y: f32,
    pub height: f32,
}

/// A socket's state changed at a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneMark {
    pub row: usize,
    pub lane: usize,
    /// The connection (its id) whose socket this is: a shared server lane names it.
    pub conn_id: u32,
    pub from: TcpState,
    pub to: TcpState,
}

/// The laid-out ladder of several connections.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLayout {
    pub lanes: Vec<Lane>,
    pub rows: Vec<MultiRow>,
    pub marks: Vec<LaneMark>,
    /// For each input connection, the lanes of its client and server.
    pub lanes_of: Vec<PerSide<usize>>,
    height: f32,
}

impl MultiLayout {
    /// Lays out `connections` side by side: all clients' sockets first, then the servers'.
    pub fn new(connections: &[&Connection], options: &LayoutOptions) -> Self {
        Self::chained(connections, &vec![0; connections.len()], options)
    }

    /// Lays out a chain: `depths[i]` is connection `i`'s place in it (0 for a client's
    /// connection to the proxy, 1 for the proxy's to the backend), so that the lanes read
    /// client → proxy → backend from left to right.
    pub fn chained(connections: &[&Connection], depths: &[usize], options: &LayoutOptions) -> Self {
        let (lanes, lanes_of) = lanes(connections, depths);
        let mut order: Vec<(i64, usize, usize)> = connections
            .iter()
            .enumerate()
            .flat_map(|(conn, c)| c.segments.iter().enumerate().map(move |(index, s)| (s.ts_nanos, conn, index)))
            .collect();
        order.sort_unstable();
        let mut rows = Vec::with_capacity(order.len());
        let mut marks = Vec::new();
        let mut y = 0.0;
        let mut previous_ts = None;
        for (ts, conn, index) in order {
            if let Some(gap) = previous_ts.map(|p| ts - p).filter(|gap| *gap > options.idle_nanos) {
                rows.push(MultiRow { kind: MultiRowKind::Idle { nanos: gap }, y, height: options.band_height });
                y += options.band_height;
            }
            previous_ts = Some(ts);
            let (Some(connection), Some(lane)) = (connections.get(conn), lanes_of.get(conn)) else { continue };
            let Some(segment) = connection.segments.get(index) else { continue };
            let sender = segment.dir.sender();
            let row = rows.len();
            rows.push(MultiRow {
                kind: MultiRowKind::Segment { conn, index, from: lane[sender], to: lane[sender.other()] },
                y,
                height: options.row_height,
            });
            y += options.row_height;
            for side in Side::BOTH {
                let before = index
                    .checked_sub(1)
                    .and_then(|i| connection.segments.get(i))
                    .map_or(TcpState::Unknown, |s| s.state(side));
                let after = segment.state(side);
                if before != after && after != TcpState::Unknown {
                    marks.push(LaneMark { row, lane: lane[side], conn_id: connection.id, from: before, to: after });
                }
            }
        }
        Self { lanes, rows, marks, lanes_of, height: y }
    }

    /// The ladder's height in layout units.
    pub fn height(&self) -> f32 {
        self.height
    }

    /// The rows overlapping `top..bottom`, for painting only what is in view.
    pub fn rows_in(&self, top: f32, bottom: f32) -> Range<usize> {
        super::layout::overlapping(&self.rows, top, bottom, |row| (row.y, row.height))
    }

    /// The marks of the rows in `rows` (marks are in row order).
    pub fn marks_in(&self, rows: &Range<usize>) -> &[LaneMark] {
        let start = self.marks.partition_point(|mark| mark.row < rows.start);
        let end = self.marks.partition_point(|mark| mark.row < rows.end);
        self.marks.get(start..end).unwrap_or(&[])
    }

    /// True when several connections share lane `lane` (a server port with many clients): its
    /// pills then name their connection.
    pub fn shared(&self, lane: usize) -> bool {
        self.lanes.get(lane).is_some_and(|l| l.connections.len() > 1)
    }
}

/// The lanes of `connections`: each socket once, ordered by its place in the chain (a client's
/// socket at twice its connection's depth, a server's just after), then by first appearance;
/// grouped by host, the hosts in the order they first come.
fn lanes(connections: &[&Connection], depths: &[usize]) -> (Vec<Lane>, Vec<PerSide<usize>>) {
    let mut sockets: Vec<(usize, Lane)> = Vec::new();
    let mut index_of: HashMap<SocketAddr, usize> = HashMap::new();
    for (conn, connection) in connections.iter().enumerate() {
        let depth = depths.get(conn).copied().unwrap_or(0);
        for (rank, socket) in [(2 * depth, connection.client), (2 * depth + 1, connection.server)] {
            let lane = *index_of.entry(socket).or_insert_with(|| {
                sockets.push((rank, Lane { socket, connections: Vec::new() }));
                sockets.len() - 1
            });
            if let Some((lowest, lane)) = sockets.get_mut(lane) {
                *lowest = (*lowest).min(rank);
                if !lane.connections.contains(&connection.id) {
                    lane.connections.push(connection.id);
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..sockets.len()).collect();
    order.sort_by_key(|&i| sockets.get(i).map_or(0, |(rank, _)| *rank));
    let mut hosts: Vec<IpAddr> = Vec::new();
    for &i in &order {
        if let Some((_, lane)) = sockets.get(i) {
            if !hosts.contains(&lane.host()) {
                hosts.push(lane.host());
            }
        }
    }
    order.sort_by_key(|&i| sockets.get(i).and_then(|(_, l)| hosts.iter().position(|h| *h == l.host())));
    let mut moved = vec![0; sockets.len()];
    for (new, old) in order.iter().enumerate() {
        if let Some(slot) = moved.get_mut(*old) {
            *slot = new;
        }
    }
    let lanes: Vec<Lane> = order.iter().filter_map(|&i| sockets.get(i).map(|(_, lane)| lane.clone())).collect();
    let at = |socket: SocketAddr| index_of.get(&socket).and_then(|old| moved.get(*old)).copied().unwrap_or(0);
    let lanes_of = connections.iter().map(|c| PerSide::new(at(c.client), at(c.server))).collect();
    (lanes, lanes_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::read_capture;
    use crate::EngineConfig;

    fn engine_of(sample: &str) -> crate::Engine {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures").join(sample);
        read_capture(&path, EngineConfig::default(), 1 << 20, |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap_or_else(|err| panic!("{err}"))
            .engine
    }

    #[test]
    fn every_segment_of_every_connection_in_time_order_with_shared_server_lane() {
        let engine = engine_of("close-wait-pileup.pcap");
        let connections: Vec<&Connection> = engine.connections().iter().take(3).collect();
        let layout = MultiLayout::new(&connections, &LayoutOptions::default());
        let total: usize = connections.iter().map(|c| c.segments.len()).sum();
        let segments: Vec<(usize, usize)> = layout
            .rows
            .iter()
            .filter_map(|row| match row.kind {
                MultiRowKind::Segment { conn, index, .. } => Some((conn, index)),
                MultiRowKind::Idle { .. } => None,
            })
            .collect();
        assert_eq!(segments.len(), total);
        let times: Vec<i64> =
            segments.iter().map(|&(conn, index)| connections[conn].segments[index].ts_nanos).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "not in time order");
        // Three clients of one server port: four lanes, the server's shared by all three.
        assert_eq!(layout.lanes.len(), 4);
        let server = layout.lanes_of[0].server;
        assert!(layout.lanes_of.iter().all(|lanes| lanes.server == server));
        assert!(layout.shared(server));
        // Each connection's first SYN marks its client SYN_SENT on its own lane.
        for (conn, lanes) in layout.lanes_of.iter().enumerate() {
            let syn_sent = layout
                .marks
                .iter()
                .any(|m| m.lane == lanes.client && m.to == TcpState::SynSent && m.conn_id == connections[conn].id);
            assert!(syn_sent, "connection {conn} has no SYN_SENT mark");
        }
        let all = 0..layout.rows.len();
        assert_eq!(layout.marks_in(&all).len(), layout.marks.len());
        assert!(layout.marks_in(&(0..0)).is_empty());
    }
}
