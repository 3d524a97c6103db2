//! Connection tracking: which connection each segment belongs to, with port reuse.

use std::collections::VecDeque;

use crate::wire::TcpPacket;

use super::connection::Connection;
use super::flow_index::{FlowIndex, FlowKey};

/// Where connection `id` is held among `connections` (in id order, the first with id
/// `first_id`): counted from the front while none before it was retired, from the back while
/// none after it was (most packets are of recent connections), else found by binary search.
fn position_in(connections: &VecDeque<Connection>, first_id: u32, id: u32) -> Option<usize> {
    let from_front = id.checked_sub(first_id)? as usize;
    if connections.get(from_front).is_some_and(|c| c.id == id) {
        return Some(from_front);
    }
    let back = connections.back()?.id;
    let from_back = (connections.len() - 1).checked_sub(back.checked_sub(id)? as usize);
    if let Some(at) = from_back.filter(|&at| connections.get(at).is_some_and(|c| c.id == id)) {
        return Some(at);
    }
    connections.binary_search_by_key(&id, |c| c.id).ok()
}

/// The 4-tuple of connection `id` among `connections`, whose first has id `first_id`; none for a
/// retired one (its flow left the index with it).
fn key_in(connections: &VecDeque<Connection>, first_id: u32, id: u32) -> Option<FlowKey> {
    let connection = connections.get(position_in(connections, first_id, id)?)?;
    (!connection.is_retired()).then(|| FlowKey::new(connection.client, connection.server))
}

/// All connections of a capture, in order of their first packet. The oldest may have been evicted
/// to bound memory, and ended ones retired (taken out whole, [`Self::retire_ended`]): ids stay
/// stable, and `first_id` is the id of the oldest one still held.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    /// In id order. A retired connection leaves a record without segments in its place until
    /// enough have gone to close the gaps ([`Self::compact`]).
    connections: VecDeque<Connection>,
    first_id: u32,
    next_id: u32,
    /// The newest connection of each 4-tuple.
    by_flow: FlowIndex,
    time_wait_nanos: i64,
    /// The latest capture time seen.
    now_nanos: i64,
    /// Retired records still in `connections`.
    retired_in_place: usize,
    /// With [`Self::queue_ended`]: the connections that ended, and when, in that order.
    ended: Option<VecDeque<(u32, i64)>>,
}

impl Tracker {
    /// A tracker whose connections hold TIME_WAIT for `time_wait_nanos` (2×MSL).
    pub fn new(time_wait_nanos: i64) -> Self {
        Self { time_wait_nanos, ..Self::default() }
    }

    /// True when connection `id` ended at least 2×MSL before the latest capture time: the kernel
    /// has forgotten it (TIME_WAIT is over), so a packet on its 4-tuple begins a connection of
    /// its own, as one would after the connection was retired.
    fn forgotten(&self, id: u32) -> bool {
        self.connection(id).is_some_and(|c| self.ended_long_ago(c))
    }

    fn ended_long_ago(&self, connection: &Connection) -> bool {
        connection.is_finished() && self.now_nanos - connection.last_ts_nanos() >= self.time_wait_nanos
    }

    /// Adds one segment, creating a connection when it starts one. Returns the connection's id.
    pub fn ingest(&mut self, frame: u32, ts_nanos: i64, packet: &TcpPacket<'_>) -> u32 {
        self.now_nanos = self.now_nanos.max(ts_nanos);
        let key = FlowKey::new(packet.src, packet.dst);
        let existing =
            self.by_flow.get(&key, |id| key_in(&self.connections, self.first_id, id)).filter(|&id| !self.forgotten(id));
        let id = match existing {
            Some(id) if !self.starts_new_connection(id, packet) => id,
            _ => {
                let id = self.next_id;
                self.next_id = self.next_id.saturating_add(1);
                let mut connection = Connection::new(id, packet, self.time_wait_nanos);
                connection.reused_ports = existing.is_some();
                self.connections.push_back(connection);
                let (connections, first_id) = (&self.connections, self.first_id);
                self.by_flow.insert(key, id, |id| key_in(connections, first_id, id));
                id
            }
        };
        let queue = self.ended.is_some();
        if let Some(connection) = self.get_mut(id) {
            let was_finished = queue && connection.is_finished();
            connection.push(frame, ts_nanos, packet);
            if queue && !was_finished && connection.is_finished() {
                self.ended.get_or_insert_with(VecDeque::new).push_back((id, ts_nanos));
            }
        }
        id
    }

    fn index(&self, id: u32) -> Option<usize> {
        position_in(&self.connections, self.first_id, id)
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut Connection> {
        let index = self.index(id)?;
        self.connections.get_mut(index)
    }

    /// Keeps, from now on, the connections that end in the order they end, for
    /// [`Self::retire_ended`].
    pub fn queue_ended(&mut self) {
        self.ended.get_or_insert_with(VecDeque::new);
    }

    /// Takes out, whole, the connections that ended 2×MSL before the latest packet and that
    /// `may_retire` lets go (one it refuses stays to the end): a caller that has summarised them
    /// needs no more of them, and their 4-tuples begin new connections.
    pub fn retire_ended(&mut self, may_retire: impl Fn(&Connection) -> bool) -> Vec<Connection> {
        let Some(ended) = &mut self.ended else { return Vec::new() };
        let mut retired = Vec::new();
        while let Some(&(id, ended_at)) = ended.front() {
            if self.now_nanos - ended_at < self.time_wait_nanos {
                break;
            }
            ended.pop_front();
            let Some(index) = position_in(&self.connections, self.first_id, id) else { continue };
            let Some(connection) = self.connections.get_mut(index).filter(|c| !c.is_retired()) else { continue };
            let last = connection.last_ts_nanos();
            if self.now_nanos - last < self.time_wait_nanos {
                // Packets came after the end (a retransmitted FIN, a late ACK): wait from the last.
                ended.push_back((id, last));
                continue;
            }
            if !may_retire(connection) {
                continue;
            }
            let connection = connection.take_retired();
            self.by_flow.remove(&FlowKey::new(connection.client, connection.server), connection.id);
            self.retired_in_place += 1;
            retired.push(connection);
        }
        // Connections mostly end in the order they began: the records at the front go at once,
        // the gaps elsewhere once they are a quarter of what is held.
        while self.connections.front().is_some_and(Connection::is_retired) {
            self.connections.pop_front();
            self.retired_in_place -= 1;
        }
        self.first_id = self.connections.front().map_or(self.next_id, |c| c.id);
        if self.retired_in_place * 4 > self.connections.len() {
            self.compact();
        }
        retired
    }

    /// Closes the gaps retired connections left.
    pub fn compact(&mut self) {
        if self.retired_in_place == 0 {
            return;
        }
        self.connections.retain(|c| !c.is_retired());
        self.retired_in_place = 0;
        self.first_id = self.connections.front().map_or(self.next_id, |c| c.id);
    }

    /// The oldest connection id not yet evicted or retired: every row before it is known.
    pub fn oldest_held_id(&self) -> u32 {
        // Retired records never stay at the front ([`Self::retire_ended`]).
        self.connections.front().map_or(self.next_id, |c| c.id)
    }

    /// Removes the oldest connections until at most `keep` are held and returns them. Ids of the
    /// others do not change.
    pub fn evict_oldest(&mut self, keep: usize) -> Vec<Connection> {
        let count = self.connections.len().saturating_sub(keep);
        if count == 0 {
            return Vec::new();
        }
        let mut evicted: Vec<Connection> = self.connections.drain(..count).collect();
        let was_retired = evicted.iter().filter(|c| c.is_retired()).count();
        evicted.retain(|c| !c.is_retired());
        self.retired_in_place -= was_retired;
        for connection in &evicted {
            self.by_flow.remove(&FlowKey::new(connection.client, connection.server), connection.id);
        }
        self.first_id = self.connections.front().map_or(self.next_id, |c| c.id);
        evicted
    }

    /// The id of the oldest connection still held (all before it were evicted).
    pub fn first_id(&self) -> u32 {
        self.first_id
    }

    /// A SYN starts a new connection on a used 4-tuple when the old one is over, or when the
    /// sender's ISN changed (a retransmitted SYN keeps its ISN).
    fn starts_new_connection(&self, id: u32, packet: &TcpPacket<'_>) -> bool {
        let flags = packet.flags;
        if !flags.syn() || flags.ack() {
            return false;
        }
        let Some(connection) = self.connection(id) else {
            return true;
        };
        let side = &connection.sides[connection.direction_of(packet).sender()];
        match side.isn {
            // The same ISN is a retransmitted SYN, unless the connection had been up and ended.
            Some(isn) => isn != packet.seq || connection.ended_after_established(),
            // A SYN seen after its SYN-ACK (reordered) matches the base the SYN-ACK implied.
            None => connection.is_finished() || side.base_seq.is_some_and(|base| base != packet.seq),
        }
    }

    /// Returns spare capacity, once the capture has ended.
    pub fn shrink_to_fit(&mut self) {
        self.connections.iter_mut().for_each(Connection::shrink_to_fit);
        self.connections.shrink_to_fit();
    }

    /// Bytes the 4-tuple index holds: its slots (key and id) and a control byte each.
    pub fn index_bytes(&self) -> usize {
        self.by_flow.bytes()
    }

    /// All connections so far.
    pub fn connections(&self) -> &VecDeque<Connection> {
        &self.connections
    }

    /// One connection by id.
    pub fn connection(&self, id: u32) -> Option<&Connection> {
        self.connections.get(self.index(id)?).filter(|c| !c.is_retired())
    }

    /// One connection by id, to update what the engine tracks beside the tracker.
    pub fn connection_mut(&mut self, id: u32) -> Option<&mut Connection> {
        let index = self.index(id)?;
        self.connections.get_mut(index).filter(|c| !c.is_retired())
    }

    /// Consumes the tracker, returning its connections.
    pub fn into_connections(self) -> Vec<Connection> {
        self.connections.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::test_support;
    use crate::tcp::test_support::flags::{A, F, R, S};
    use crate::wire::TcpFlags;

    /// Feeds (client?, flags, seq, ack) steps without payload.
    fn feed(tracker: &mut Tracker, steps: &[(bool, u16, u32, u32)]) -> Vec<u32> {
        let steps: Vec<_> = steps.iter().map(|&(c, flags, seq, ack)| (c, flags, seq, ack, 0, 0)).collect();
        test_support::feed(tracker, &steps)
    }

    #[test]
    fn evicting_keeps_ids_and_forgets_the_flows() {
        let syn_from = |port: u16| TcpPacket {
            src: std::net::SocketAddr::from(([127, 0, 0, 1], 40_000 + port)),
            dst: std::net::SocketAddr::from(([127, 0, 0, 1], 80)),
            seq: 1,
            ack: 0,
            flags: TcpFlags(S),
            window: 1,
            payload_len: 0,
            options: &[],
            payload: &[],
            ip_id: None,
        };
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        for port in 0..10u16 {
            tracker.ingest(u32::from(port) + 1, 0, &syn_from(port));
        }
        assert_eq!(tracker.evict_oldest(4).len(), 6);
        assert_eq!(tracker.first_id(), 6);
        assert!(tracker.connection(5).is_none());
        assert_eq!(tracker.connection(7).map(|c| c.id), Some(7));
        assert_eq!(tracker.connections().len(), 4);
        // A packet of an evicted flow starts a new connection with the next id.
        assert_eq!(tracker.ingest(11, 1, &syn_from(0)), 10);
        // A retransmitted SYN of a held connection stays in it: the connection is found by id,
        // not by its place among those held.
        assert_eq!(tracker.ingest(12, 2, &syn_from(8)), 8);
        assert_eq!(tracker.connection(8).map(|c| c.segments.len()), Some(2));
    }

    #[test]
    fn a_retransmitted_syn_stays_in_its_connection() {
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        assert_eq!(feed(&mut tracker, &[(true, S, 7, 0), (true, S, 7, 0), (false, S | A, 9, 8)]), [0, 0, 0]);
    }

    #[test]
    fn a_new_isn_or_a_syn_after_the_end_starts_a_new_connection() {
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        let handshake_and_close = [
            (true, S, 7, 0),
            (false, S | A, 9, 8),
            (true, A, 8, 10),
            (true, F | A, 8, 10),
            (false, F | A, 10, 9),
            (true, A, 9, 11),
        ];
        let mut steps = handshake_and_close.to_vec();
        steps.push((true, S, 7, 0));
        let ids = feed(&mut tracker, &steps);
        assert_eq!(ids.last(), Some(&1), "same ISN after a full close: a new connection");
        assert!(tracker.connection(1).is_some_and(|c| c.reused_ports));
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        let ids = feed(&mut tracker, &[(true, S, 7, 0), (false, R | A, 0, 8), (true, S, 5000, 0)]);
        assert_eq!(ids, [0, 0, 1], "a new ISN after a refusal");
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        let ids = feed(&mut tracker, &[(true, S, 7, 0), (false, R | A, 0, 8), (true, S, 7, 0)]);
        assert_eq!(ids, [0, 0, 0], "the same SYN again after a refusal is a retry of the same connect()");
    }

    /// A refused connect() then, 61 s later, another from the same port.
    fn refused_then_again_after(ms: i64) -> [(bool, u16, u32, u32, u32, i64); 3] {
        [(true, S, 7, 0, 0, 0), (false, R | A, 0, 8, 0, 1), (true, S, 5_000, 0, 0, ms)]
    }

    #[test]
    fn a_connection_over_for_2msl_is_forgotten_and_its_tuple_begins_afresh() {
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        assert_eq!(test_support::feed(&mut tracker, &refused_then_again_after(30_000)), [0, 0, 1]);
        assert!(tracker.connection(1).is_some_and(|c| c.reused_ports), "30 s later: the same tuple again");
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        assert_eq!(test_support::feed(&mut tracker, &refused_then_again_after(61_000)), [0, 0, 1]);
        assert!(tracker.connection(1).is_some_and(|c| !c.reused_ports), "61 s later the kernel forgot the first");
    }

    #[test]
    fn ended_connections_are_retired_2msl_after_their_end_and_ids_go_on() {
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        tracker.queue_ended();
        test_support::feed(&mut tracker, &refused_then_again_after(30_000));
        assert!(tracker.retire_ended(|_| true).is_empty(), "30 s after its end the first stays");
        // A SYN of another flow at 61 s moves the clock on.
        let late = TcpPacket {
            src: std::net::SocketAddr::from(([127, 0, 0, 1], 50_000)),
            dst: std::net::SocketAddr::from(([127, 0, 0, 1], 80)),
            seq: 1,
            ack: 0,
            flags: TcpFlags(S),
            window: 1,
            payload_len: 0,
            options: &[],
            payload: &[],
            ip_id: None,
        };
        assert_eq!(tracker.ingest(4, 61_000_000_000, &late), 2);
        assert!(tracker.retire_ended(|_| false).is_empty(), "refused: it stays to the end");
        let mut tracker = Tracker::new(crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS);
        tracker.queue_ended();
        test_support::feed(&mut tracker, &refused_then_again_after(30_000));
        tracker.ingest(4, 61_000_000_000, &late);
        let retired = tracker.retire_ended(|_| true);
        assert_eq!(retired.iter().map(|c| c.id).collect::<Vec<_>>(), [0]);
        assert_eq!(retired.first().map(|c| c.segments.len()), Some(2), "taken out whole");
        assert!(tracker.connection(0).is_none());
        assert_eq!(tracker.oldest_held_id(), 1);
        assert_eq!(tracker.connection(2).map(|c| c.id), Some(2), "the others are found by id");
        assert_eq!(test_support::feed(&mut tracker, &[(true, S, 9_999, 0, 0, 62_000)]), [3], "ids go on");
    }
}
