//! What a summarising conversation remembers of the exchanges it forgets: how long each response
//! took, as a histogram, and the slowest exchange whole, so that a response far slower than the
//! connection's others is still found when only the last few messages are kept.

use super::message::Message;

/// Buckets of the histogram: bucket `b` counts waits of `[2^b, 2^(b+1))` µs (the first also
/// counts shorter ones), up to about 70 minutes.
const BUCKETS: usize = 32;

/// The waits of forgotten exchanges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waits {
    counts: [u32; BUCKETS],
    /// The slowest forgotten exchange: its request and its response.
    slowest: Option<(Message, Message)>,
}

impl Default for Waits {
    fn default() -> Self {
        Self { counts: [0; BUCKETS], slowest: None }
    }
}

/// A response's wait in nanoseconds, as `requests` counts it: from the segment completing the
/// request's head to the one starting the response.
pub fn wait_nanos(request: &Message, response: &Message) -> i64 {
    response.first_ts_nanos - request.head_ts_nanos
}

impl Waits {
    /// Counts one wait of `nanos`.
    pub fn count(&mut self, nanos: i64) {
        let micros = u64::try_from(nanos / 1_000).unwrap_or(0).max(1);
        let bucket = usize::try_from(micros.ilog2()).unwrap_or(0).min(BUCKETS - 1);
        if let Some(count) = self.counts.get_mut(bucket) {
            *count = count.saturating_add(1);
        }
    }

    /// Counts a forgotten exchange, keeping it whole when it is the slowest so far.
    pub fn forget(&mut self, request: Message, response: Message) {
        let wait = wait_nanos(&request, &response);
        self.count(wait);
        if self.slowest.as_ref().is_none_or(|(q, r)| wait > wait_nanos(q, r)) {
            self.slowest = Some((request, response));
        }
    }

    /// How many waits were counted.
    pub fn len(&self) -> u64 {
        self.counts.iter().map(|&count| u64::from(count)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The median wait in seconds, to within a factor of √2 (the middle of its bucket).
    pub fn median_seconds(&self) -> Option<f64> {
        let half = self.len().checked_sub(1)? / 2;
        let mut seen = 0;
        for (bucket, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen > half {
                return Some(2f64.powf(bucket as f64 + 0.5) / 1e6);
            }
        }
        None
    }

    /// The slowest forgotten exchange.
    pub fn slowest(&self) -> Option<(&Message, &Message)> {
        self.slowest.as_ref().map(|(request, response)| (request, response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::{MessageKind, Protocol};
    use crate::wire::Side;

    fn message(side: Side, ts_nanos: i64) -> Message {
        Message::starting(side, Protocol::Http11, MessageKind::Turn, (1, ts_nanos))
    }

    #[test]
    fn the_median_is_within_its_bucket_and_the_slowest_is_kept_whole() {
        let mut waits = Waits::default();
        for (start, wait) in [(0, 100_000), (1_000_000, 120_000), (2_000_000, 400_000_000), (3_000_000, 90_000)] {
            waits.forget(message(Side::Client, start), message(Side::Server, start + wait));
        }
        assert_eq!(waits.len(), 4);
        let median = waits.median_seconds().expect("four waits");
        assert!((64e-6..=128e-6 * 1.5).contains(&median), "{median}");
        let (request, response) = waits.slowest().expect("a slowest");
        assert_eq!(wait_nanos(request, response), 400_000_000);
        assert_eq!(Waits::default().median_seconds(), None);
    }
}
