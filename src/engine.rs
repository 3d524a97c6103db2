//! The engine: fed one frame at a time (from a file or, later, a live capture), it decodes,
//! tracks connections and counts what it could not decode. Ask it for its model at any moment.

use std::collections::BTreeMap;

use crate::decode::{decode_frame, Decoded, SkipReason};
use crate::protocols::pipeline::{DecodeThread, Decoding, Start};
use crate::protocols::table::ConversationTable;
use crate::protocols::{Conversation, SegmentBytes};
use crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS;
use crate::tcp::quality::CaptureQuality;
use crate::tcp::{Connection, Tracker};
use crate::wire::{LinkType, PerSide, SharedBlock};

/// Settings of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long TIME_WAIT lasts (2×MSL), nanoseconds. Linux: 60 s.
    pub time_wait_nanos: i64,
    /// Above this many bytes held, the oldest connections are dropped (live captures); `None`
    /// keeps everything (files).
    pub memory_limit_bytes: Option<u64>,
    /// Read the conversation inside each connection (HTTP messages, turns of other protocols).
    pub decode_applications: bool,
    /// Keep every message of every conversation (to list them), not only the last few each
    /// (enough for the diagnoses).
    pub keep_all_messages: bool,
    /// Decode the conversations on a thread of their own, beside the reading
    /// ([`crate::protocols::pipeline`]); they can be asked for once the capture is finished, or
    /// one by one as their connections are retired. The memory limit counts them as the thread
    /// last counted them (every 64 batches of segments, and after dropping some).
    pub decode_on_thread: bool,
    /// The reader takes ended connections out as it goes ([`Engine::retire_ended`]), each with
    /// its finished conversation.
    pub retire_ended: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            time_wait_nanos: DEFAULT_TIME_WAIT_NANOS,
            memory_limit_bytes: None,
            decode_applications: true,
            keep_all_messages: false,
            decode_on_thread: false,
            retire_ended: false,
        }
    }
}

/// What a live capture holds at most unless told otherwise, in MB (files have no limit).
pub const DEFAULT_LIVE_MEMORY_LIMIT_MB: u64 = 1024;

/// How often, in packets, the memory held is measured against the limit.
const MEMORY_CHECK_EVERY: u64 = 8_192;
/// What a packet can add to what the limit counts beside its own bytes (a new connection's
/// record, its index slots, its segment record and options, its conversation's slot). Far below
/// the limit, memory is counted again (which visits every connection) only once the packets
/// since the last count, their bytes and this much each, could have filled the room left: on a
/// file of a million connections the count then runs a few times instead of hundreds.
const PACKET_OVERHEAD_BYTES: u64 = 1_024;
/// Eviction frees down to this share of the limit, so it does not run on every check.
const EVICT_TO_PERCENT: u64 = 75;

/// A connection taken out of the engine once it ended, with its conversation.
#[derive(Debug, Clone)]
pub struct Retired {
    pub connection: Connection,
    pub conversation: Option<Box<Conversation>>,
}

/// Counts of what the engine has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every frame fed, decodable or not.
    pub packets: u64,
    pub tcp_packets: u64,
    /// Frames of other protocols (ARP, UDP, ICMP, …): counted, not errors.
    pub other_packets: u64,
    /// Frames that could not be decoded, by reason.
    pub skipped: BTreeMap<SkipReason, u64>,
    pub first_ts_nanos: Option<i64>,
    pub last_ts_nanos: Option<i64>,
    /// Connections, and their segments, dropped to stay under the memory limit.
    pub evicted_connections: u64,
    pub evicted_segments: u64,
    /// The dropped connections' sockets by the state each was in when dropped (both sides),
    /// so the census still counts them.
    pub evicted_states: BTreeMap<crate::tcp::TcpState, u64>,
    /// Connections taken out once they ended ([`EngineConfig::retire_ended`]).
    pub retired_connections: u64,
}

impl Stats {
    /// Undecodable frames in all.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Decoding and tracking state for one capture.
#[derive(Debug, Clone)]
pub struct Engine {
    link: LinkType,
    tracker: Tracker,
    stats: Stats,
    memory_limit_bytes: Option<u64>,
    /// What a viewer keeps per connection beside the engine (the window's table row), so the
    /// limit covers it too.
    extra_bytes_per_connection: u64,
    /// [`Self::memory_bytes`] at the last check against the limit.
    held_bytes: u64,
    /// Since memory was last counted against the limit: packets, and the most they can have added.
    packets_since_check: u64,
    bytes_since_check: u64,
    /// The room under the limit at the last count.
    room_at_check: u64,
    decode_applications: bool,
    keep_all_messages: bool,
    /// The conversation inside each connection held, by connection id.
    conversations: ConversationTable,
    /// While a file is read with [`EngineConfig::decode_on_thread`]: the thread that holds the
    /// conversations until [`Self::finish`].
    decoding: Decoding,
    /// What the capture cannot be trusted for.
    quality: CaptureQuality,
    /// Connections evicted and not yet taken by [`Self::take_evicted`]: freeing many is slow,
    /// and a caller sharing the engine frees them where it holds no lock.
    evicted: Vec<Connection>,
}

impl Engine {
    /// An engine for frames of link type `link`.
    pub fn new(link: LinkType, config: EngineConfig) -> Self {
        let mut tracker = Tracker::new(config.time_wait_nanos);
        if config.retire_ended {
            tracker.queue_ended();
        }
        Self {
            link,
            tracker,
            stats: Stats::default(),
            memory_limit_bytes: config.memory_limit_bytes,
            decode_applications: config.decode_applications,
            keep_all_messages: config.keep_all_messages,
            conversations: ConversationTable::default(),
            decoding: Decoding(
                (config.decode_applications && config.decode_on_thread)
                    .then(|| DecodeThread::spawn(config.keep_all_messages).ok())
                    .flatten(),
            ),
            extra_bytes_per_connection: 0,
            held_bytes: 0,
            packets_since_check: 0,
            bytes_since_check: 0,
            room_at_check: 0,
            quality: CaptureQuality::default(),
            evicted: Vec::new(),
        }
    }

    /// Feeds the next frame of the capture; `ts_nanos` is its capture time since the epoch.
    pub fn ingest(&mut self, ts_nanos: i64, frame: &[u8]) {
        self.ingest_link(self.link, ts_nanos, frame);
    }

    /// Feeds frames of the engine's link type, in order: the one loop every live reader runs.
    pub fn ingest_all<'a>(&mut self, frames: impl IntoIterator<Item = (i64, &'a [u8])>) {
        for (ts_nanos, frame) in frames {
            self.ingest(ts_nanos, frame);
        }
    }

    /// Feeds the next frame, of link type `link` (pcapng interfaces may differ from the first).
    pub fn ingest_link(&mut self, link: LinkType, ts_nanos: i64, frame: &[u8]) {
        self.ingest_in_block(link, ts_nanos, frame, None);
    }

    /// Feeds the next frame, which lies in `block` as the file was read: a conversation decoded
    /// on its own thread then holds the block instead of a copy of the payload.
    pub fn ingest_in_block(&mut self, link: LinkType, ts_nanos: i64, frame: &[u8], block: Option<&SharedBlock>) {
        self.stats.packets += 1;
        let frame_number = u32::try_from(self.stats.packets).unwrap_or(u32::MAX);
        self.stats.first_ts_nanos.get_or_insert(ts_nanos);
        // Captures can hold timestamps out of order; the end is the latest seen.
        self.stats.last_ts_nanos = Some(self.stats.last_ts_nanos.map_or(ts_nanos, |last| last.max(ts_nanos)));
        self.quality.observe_frame(frame_number, ts_nanos);
        match decode_frame(link, frame) {
            Ok(Decoded::Tcp(packet)) => {
                self.stats.tcp_packets += 1;
                let id = self.tracker.ingest(frame_number, ts_nanos, &packet);
                if let Some(connection) = self.tracker.connection_mut(id) {
                    let sender = connection.direction_of(&packet).sender();
                    let receiver_mss = connection.sides[sender.other()].syn_options.and_then(|o| o.mss);
                    let last_ip_id = &mut connection.sides[sender].last_ip_id;
                    self.quality.observe_segment(frame_number, &packet, receiver_mss, last_ip_id);
                }
                if self.decode_applications {
                    self.converse(id, frame_number, ts_nanos, &packet, block);
                }
            }
            Ok(Decoded::NotTcp) => self.stats.other_packets += 1,
            Err(reason) => *self.stats.skipped.entry(reason).or_default() += 1,
        }
        if self.memory_limit_bytes.is_some() {
            self.packets_since_check += 1;
            self.bytes_since_check += frame.len() as u64 + PACKET_OVERHEAD_BYTES;
            if self.packets_since_check >= MEMORY_CHECK_EVERY && self.bytes_since_check >= self.room_at_check {
                self.enforce_memory_limit();
            }
        }
    }

    /// Feeds a segment of connection `id` to its conversation. A conversation begins with the
    /// first payload (a SYN flood costs none), its streams counted from the ISNs already seen.
    fn converse(
        &mut self,
        id: u32,
        frame: u32,
        ts_nanos: i64,
        packet: &crate::wire::TcpPacket<'_>,
        block: Option<&SharedBlock>,
    ) {
        let Some(connection) = self.tracker.connection(id) else { return };
        let begun = match &mut self.decoding.0 {
            Some(thread) => thread.begins(id, packet.payload_len > 0),
            None => packet.payload_len > 0 || self.conversations.get(id).is_some(),
        };
        if !begun {
            return;
        }
        let segment = SegmentBytes {
            sender: connection.direction_of(packet).sender(),
            frame,
            ts_nanos,
            seq: packet.seq,
            ack: packet.ack,
            flags: packet.flags,
            payload_len: packet.payload_len,
            payload: packet.payload,
        };
        let isns = PerSide::from_fn(|side| connection.sides[side].isn);
        let server_port = connection.server.port();
        if let Some(thread) = &mut self.decoding.0 {
            thread.push(id, Start { isns, server_port }, &segment, block);
            return;
        }
        let keep_all = self.keep_all_messages;
        let make = || {
            let mut conversation = if keep_all { Conversation::default() } else { Conversation::summarising() };
            conversation.starting_from(isns);
            conversation.serving_port(server_port);
            conversation
        };
        if let Some(conversation) = self.conversations.get_or_insert_with(id, make) {
            conversation.on_segment(&segment);
        }
    }

    /// Takes out, whole, the connections that ended 2×MSL before the latest packet and that
    /// `may_retire` lets go (with [`EngineConfig::retire_ended`]; none without). A reader that has
    /// written their rows needs no more of them; their 4-tuples begin new connections, as they
    /// would anyway once the kernel forgot them.
    pub fn retire_ended(&mut self, may_retire: impl Fn(&Connection) -> bool) -> Vec<Retired> {
        let connections = self.tracker.retire_ended(may_retire);
        self.stats.retired_connections += connections.len() as u64;
        let oldest_held = self.tracker.oldest_held_id();
        if let Some(thread) = &mut self.decoding.0 {
            // Only the conversations begun are asked for: the reader waits for the decoder then.
            let begun: Vec<u32> = connections.iter().map(|c| c.id).filter(|&id| thread.begins(id, false)).collect();
            let mut taken = if begun.is_empty() { Vec::new() } else { thread.take(begun) }.into_iter().peekable();
            thread.forget_before(oldest_held);
            return connections
                .into_iter()
                .map(|connection| {
                    let conversation = taken.next_if(|(id, _)| *id == connection.id).and_then(|(_, c)| c);
                    Retired { connection, conversation }
                })
                .collect();
        }
        let retired = connections
            .into_iter()
            .map(|connection| {
                let mut conversation = self.conversations.take(connection.id);
                // No segment comes after its end: what waits behind a gap is read now, as
                // [`Self::finish`] does for the others.
                if let Some(conversation) = &mut conversation {
                    conversation.finish();
                }
                Retired { conversation, connection }
            })
            .collect();
        self.conversations.forget_before(oldest_held);
        retired
    }

    /// Every connection before this id was retired or evicted.
    pub fn oldest_held_id(&self) -> u32 {
        self.tracker.oldest_held_id()
    }

    /// Called when the capture has ended: what waits behind a gap in a byte stream is read, and
    /// the vectors give back their spare capacity (up to half of what a long connection's
    /// segment list holds).
    pub fn finish(&mut self) {
        if let Some(thread) = self.decoding.0.take() {
            self.conversations = thread.finish();
        }
        for conversation in self.conversations.iter_mut() {
            conversation.finish();
        }
        self.tracker.compact();
        self.tracker.shrink_to_fit();
    }

    /// What the capture cannot be trusted for (GRO/TSO, snaplen, drops, reordering, time).
    pub fn quality(&self) -> &CaptureQuality {
        &self.quality
    }

    /// The capturing kernel's drop count, when the file or the interface tells it.
    pub fn note_kernel_drops(&mut self, drops: u64) {
        self.quality.kernel_drops = Some(drops);
    }

    /// The conversation inside connection `id`: its messages.
    pub fn conversation(&self, id: u32) -> Option<&Conversation> {
        self.conversations.get(id)
    }

    /// Bytes held for the connections: their records, what they own on the heap, and the index
    /// that finds them by 4-tuple.
    pub fn memory_bytes(&self) -> u64 {
        let connections: u64 = self.tracker.connections().iter().map(|c| self.bytes_of(c)).sum();
        // Conversations decoded on their own thread, as it last counted them.
        let decoding = self.decoding.0.as_ref().map_or(0, DecodeThread::held_bytes);
        connections + self.tracker.index_bytes() as u64 + decoding
    }

    /// What one connection counts against the limit: its record, its heap, and what the viewer
    /// keeps beside it.
    fn bytes_of(&self, connection: &Connection) -> u64 {
        let conversation = ConversationTable::SLOT_BYTES
            + self.conversations.get(connection.id).map_or(0, |c| std::mem::size_of::<Conversation>() + c.heap_bytes());
        (std::mem::size_of::<Connection>() + connection.heap_bytes() + conversation) as u64
            + self.extra_bytes_per_connection
    }

    /// [`Self::memory_bytes`] as of the last check against the limit or [`Self::measure_held`]
    /// (cheap to ask every frame).
    pub fn held_bytes(&self) -> u64 {
        self.held_bytes
    }

    /// Updates [`Self::held_bytes`] now (it walks every connection).
    pub fn measure_held(&mut self) {
        self.held_bytes = self.memory_bytes();
    }

    /// Counts `bytes` more per connection against the limit: what the caller keeps beside each.
    pub fn set_extra_bytes_per_connection(&mut self, bytes: u64) {
        self.extra_bytes_per_connection = bytes;
    }

    /// Bytes of the connection records themselves.
    pub fn record_bytes(&self) -> u64 {
        (self.tracker.connections().len() * std::mem::size_of::<Connection>()) as u64
    }

    /// Bytes the connections own on the heap: segment records, option bytes, bookkeeping.
    pub fn segment_bytes(&self) -> u64 {
        self.tracker.connections().iter().map(|c| c.heap_bytes() as u64).sum()
    }

    /// Bytes of the index from 4-tuple to connection.
    pub fn index_bytes(&self) -> u64 {
        self.tracker.index_bytes() as u64
    }

    /// Drops the oldest connections when more than the limit is held.
    fn enforce_memory_limit(&mut self) {
        let Some(limit) = self.memory_limit_bytes else { return };
        self.held_bytes = self.memory_bytes();
        (self.packets_since_check, self.bytes_since_check) = (0, 0);
        self.room_at_check = limit.saturating_sub(self.held_bytes);
        if self.held_bytes <= limit {
            return;
        }
        // Keep the newest connections that fit in the target share of the limit, beside the
        // index (whose table keeps its size: new connections reuse it).
        let target = (limit / 100 * EVICT_TO_PERCENT).saturating_sub(self.tracker.index_bytes() as u64);
        let mut held = 0u64;
        let keep = self
            .tracker
            .connections()
            .iter()
            .rev()
            .take_while(|c| {
                held += self.bytes_of(c);
                held <= target
            })
            .count();
        let evicted = self.tracker.evict_oldest(keep);
        self.conversations.forget_before(self.tracker.first_id());
        if let Some(thread) = &mut self.decoding.0 {
            thread.forget_before(self.tracker.first_id());
        }
        self.held_bytes = self.memory_bytes();
        self.room_at_check = limit.saturating_sub(self.held_bytes);
        self.stats.evicted_connections += evicted.len() as u64;
        self.stats.evicted_segments += evicted.iter().map(|c| c.segments.len() as u64).sum::<u64>();
        let now = self.stats.last_ts_nanos.unwrap_or(0);
        for connection in &evicted {
            for state in connection.reported_states_at(now).iter().map(|(_, state)| *state) {
                *self.stats.evicted_states.entry(state).or_default() += 1;
            }
        }
        // What the caller did not take since the last eviction is freed now.
        self.evicted = evicted;
    }

    /// The connections evicted last, for the caller to free when it suits it.
    pub fn take_evicted(&mut self) -> Vec<Connection> {
        std::mem::take(&mut self.evicted)
    }

    /// The id of the oldest connection still held; older ones were dropped to bound memory.
    pub fn first_connection_id(&self) -> u32 {
        self.tracker.first_id()
    }

    /// The capture's link type.
    pub fn link(&self) -> LinkType {
        self.link
    }

    /// Counts so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Connections so far, in order of first packet.
    pub fn connections(&self) -> &std::collections::VecDeque<Connection> {
        self.tracker.connections()
    }

    /// One connection by id.
    pub fn connection(&self, id: u32) -> Option<&Connection> {
        self.tracker.connection(id)
    }

    /// The latest capture time seen: "now" for final states and TIME_WAIT expiry.
    pub fn capture_end_nanos(&self) -> i64 {
        self.stats.last_ts_nanos.unwrap_or(0)
    }

    /// The capture's first and last packet times (0 for a capture without packets).
    pub fn capture_span(&self) -> (i64, i64) {
        (self.stats.first_ts_nanos.unwrap_or(0), self.capture_end_nanos())
    }
}
