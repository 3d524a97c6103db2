//! The engine: fed one frame at a time (from a file or, later, a live capture), it decodes,
//! tracks connections and counts what it could not decode. Ask it for its model at any moment.

use std::collections::BTreeMap;

use crate::decode::{decode_frame, Decoded, LinkType, SkipReason};
use crate::tcp::machine::DEFAULT_TIME_WAIT_NANOS;
use crate::tcp::{Connection, Tracker};

/// Settings of the analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// How long TIME_WAIT lasts (2×MSL), nanoseconds. Linux: 60 s.
    pub time_wait_nanos: i64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { time_wait_nanos: DEFAULT_TIME_WAIT_NANOS }
    }
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
}

impl Stats {
    /// Undecodable frames in all.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// Decoding and tracking state for one capture.
#[derive(Debug)]
pub struct Engine {
    link: LinkType,
    tracker: Tracker,
    stats: Stats,
}

impl Engine {
    /// An engine for frames of link type `link`.
    pub fn new(link: LinkType, config: EngineConfig) -> Self {
        Self { link, tracker: Tracker::new(config.time_wait_nanos), stats: Stats::default() }
    }

    /// Feeds the next frame of the capture; `ts_nanos` is its capture time since the epoch.
    pub fn ingest(&mut self, ts_nanos: i64, frame: &[u8]) {
        self.stats.packets += 1;
        let frame_number = u32::try_from(self.stats.packets).unwrap_or(u32::MAX);
        self.stats.first_ts_nanos.get_or_insert(ts_nanos);
        // Captures can hold timestamps out of order; the end is the latest seen.
        self.stats.last_ts_nanos = Some(self.stats.last_ts_nanos.map_or(ts_nanos, |last| last.max(ts_nanos)));
        match decode_frame(self.link, frame) {
            Ok(Decoded::Tcp(packet)) => {
                self.stats.tcp_packets += 1;
                self.tracker.ingest(frame_number, ts_nanos, &packet);
            }
            Ok(Decoded::NotTcp) => self.stats.other_packets += 1,
            Err(reason) => *self.stats.skipped.entry(reason).or_default() += 1,
        }
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
    pub fn connections(&self) -> &[Connection] {
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
}
