//! One direction's byte stream as the receiving application read it: retransmitted and
//! overlapping bytes taken once, out-of-order segments put in their place, and what was never
//! captured marked as a hole, so a decoder never sees a byte the capture does not hold.
//!
//! Offsets count from the first byte after the SYN (or from the first byte seen when the
//! handshake was not captured). Out-of-order bytes wait in a bounded buffer; past the bound, or when
//! the receiver acknowledges bytes the capture never saw, the gap becomes a hole.

use std::collections::BTreeMap;

use crate::wire::seq::seq_diff;

/// Out-of-order bytes held at most per direction; beyond, the earliest gap is declared a hole.
pub const MAX_PENDING_BYTES: usize = 256 * 1024;

/// What the stream delivers, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent<'a> {
    /// Bytes at `offset`, carried by frame `frame` (captured at `ts_nanos`).
    Data { offset: u64, frame: u32, ts_nanos: i64, bytes: &'a [u8] },
    /// `len` bytes at `offset` the capture does not hold: lost before the capture point, or
    /// `cut` by the snaplen (then `frame` is the frame that was cut).
    Hole { offset: u64, len: u64, frame: u32, cut: bool },
}

impl<'a> StreamEvent<'a> {
    /// The bytes to read and the frame and time that carried them, for a reader whose message
    /// boundaries are lost with the bytes: a hole sets `lost`, and nothing after it is read.
    pub fn data_before_hole(&self, lost: &mut bool) -> Option<(&'a [u8], (u32, i64))> {
        match *self {
            Self::Hole { .. } => {
                *lost = true;
                None
            }
            Self::Data { frame, ts_nanos, bytes, .. } if !*lost => Some((bytes, (frame, ts_nanos))),
            Self::Data { .. } => None,
        }
    }
}

#[derive(Debug, Clone)]
struct Pending {
    frame: u32,
    ts_nanos: i64,
    bytes: Vec<u8>,
    /// Bytes of the segment beyond `bytes` that the snaplen cut.
    cut: u64,
}

/// The reassembly of one direction.
#[derive(Debug, Clone, Default)]
pub struct Reassembler {
    /// Sequence number of stream offset 0.
    base: Option<u32>,
    /// The next offset the application reads.
    next: u64,
    pending: BTreeMap<u64, Pending>,
    pending_bytes: usize,
    /// Where the sender's FIN sits: an acknowledgment of it acknowledges no byte.
    fin: Option<u64>,
}

impl Reassembler {
    /// The sender's SYN: its sequence number + 1 is offset 0.
    pub fn on_syn(&mut self, seq: u32) {
        if self.base.is_none() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    /// The sender's FIN, at sequence number `seq` (just after its last byte).
    pub fn on_fin(&mut self, seq: u32) {
        if let Some(base) = self.base {
            let at = self.offset_of(base, seq);
            self.fin = Some(self.fin.map_or(at, |fin| fin.min(at)));
        }
    }

    /// The offset of sequence number `seq`, relative to what the application read so far.
    fn offset_of(&self, base: u32, seq: u32) -> u64 {
        let expected = base.wrapping_add(self.next as u32);
        let offset = self.next as i64 + i64::from(seq_diff(seq, expected));
        u64::try_from(offset).unwrap_or(0)
    }

    /// A segment's payload: `payload_len` bytes from `seq`, of which the capture holds `captured`.
    pub fn on_segment(
        &mut self,
        seq: u32,
        payload_len: u32,
        captured: &[u8],
        (frame, ts_nanos): (u32, i64),
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if payload_len == 0 {
            return;
        }
        let base = *self.base.get_or_insert(seq);
        let mut offset = self.offset_of(base, seq);
        let mut bytes = captured.get(..payload_len as usize).unwrap_or(captured);
        let mut cut = u64::from(payload_len) - bytes.len() as u64;
        let end = offset + u64::from(payload_len);
        if end <= self.next {
            // Every byte was read already: a retransmission.
            return;
        }
        if offset < self.next {
            let skip = self.next - offset;
            let held = (skip as usize).min(bytes.len());
            bytes = bytes.get(held..).unwrap_or_default();
            cut = cut.saturating_sub(skip - held as u64);
            offset = self.next;
        }
        if offset > self.next {
            self.hold(offset, Pending { frame, ts_nanos, bytes: bytes.to_vec(), cut }, sink);
            return;
        }
        self.deliver(offset, frame, ts_nanos, bytes, cut, sink);
        self.drain(sink);
    }

    /// The receiver acknowledged up to `ack`: bytes before it that the capture never held are a
    /// hole now (the receiver has them; we never will).
    pub fn on_acknowledged(&mut self, ack: u32, frame: u32, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        let Some(base) = self.base else { return };
        let mut acked = self.offset_of(base, ack);
        if let Some(fin) = self.fin {
            acked = acked.min(fin);
        }
        if acked <= self.next {
            return;
        }
        let until = self.pending.keys().next().copied().map_or(acked, |first| first.min(acked));
        if until > self.next {
            sink(StreamEvent::Hole { offset: self.next, len: until - self.next, frame, cut: false });
            self.next = until;
        }
        self.drain(sink);
    }

    /// The capture ended: what waits behind a gap is delivered after a hole.
    pub fn finish(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while let Some((&first, pending)) = self.pending.iter().next() {
            sink(StreamEvent::Hole { offset: self.next, len: first - self.next, frame: pending.frame, cut: false });
            self.next = first;
            self.drain(sink);
        }
    }

    /// Bytes held out of order, for the memory count.
    pub fn held_bytes(&self) -> usize {
        self.pending_bytes
    }

    fn hold(&mut self, offset: u64, pending: Pending, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        self.pending_bytes += pending.bytes.len();
        match self.pending.get(&offset) {
            // The longer copy of a segment seen twice out of order is kept.
            Some(held) if held.bytes.len() >= pending.bytes.len() => self.pending_bytes -= pending.bytes.len(),
            Some(held) => {
                self.pending_bytes -= held.bytes.len();
                self.pending.insert(offset, pending);
            }
            None => {
                self.pending.insert(offset, pending);
            }
        }
        // Past the bound, the earliest gap will not be filled in time: call it a hole.
        if self.pending_bytes > MAX_PENDING_BYTES {
            if let Some((&first, held)) = self.pending.iter().next() {
                sink(StreamEvent::Hole { offset: self.next, len: first - self.next, frame: held.frame, cut: false });
                self.next = first;
                self.drain(sink);
            }
        }
    }

    /// Delivers what waited and has become contiguous.
    fn drain(&mut self, sink: &mut dyn FnMut(StreamEvent<'_>)) {
        while let Some(entry) = self.pending.first_entry() {
            let offset = *entry.key();
            if offset > self.next {
                break;
            }
            let pending = entry.remove();
            self.pending_bytes -= pending.bytes.len();
            let end = offset + pending.bytes.len() as u64 + pending.cut;
            if end <= self.next {
                continue;
            }
            let skip = (self.next - offset) as usize;
            let held = skip.min(pending.bytes.len());
            let bytes = pending.bytes.get(held..).unwrap_or_default();
            let cut = pending.cut.saturating_sub((skip - held) as u64);
            self.deliver(self.next, pending.frame, pending.ts_nanos, bytes, cut, sink);
        }
    }

    fn deliver(
        &mut self,
        offset: u64,
        frame: u32,
        ts_nanos: i64,
        bytes: &[u8],
        cut: u64,
        sink: &mut dyn FnMut(StreamEvent<'_>),
    ) {
        if !bytes.is_empty() {
            sink(StreamEvent::Data { offset, frame, ts_nanos, bytes });
        }
        let after = offset + bytes.len() as u64;
        if cut > 0 {
            sink(StreamEvent::Hole { offset: after, len: cut, frame, cut: true });
        }
        self.next = after + cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the application read: bytes as text, holes as `[hole N]`, cuts as `[cut N]`.
    fn read(segments: &[(u32, &[u8], u32)], acks: &[(usize, u32)]) -> String {
        let mut stream = Reassembler::default();
        stream.on_syn(999);
        let mut out = String::new();
        let mut sink = |event: StreamEvent<'_>| match event {
            StreamEvent::Data { bytes, .. } => out.push_str(&String::from_utf8_lossy(bytes)),
            StreamEvent::Hole { len, cut: false, .. } => out.push_str(&format!("[hole {len}]")),
            StreamEvent::Hole { len, cut: true, .. } => out.push_str(&format!("[cut {len}]")),
        };
        for (index, &(seq, bytes, payload_len)) in segments.iter().enumerate() {
            stream.on_segment(seq, payload_len, bytes, (index as u32 + 1, 0), &mut sink);
            for &(_, ack) in acks.iter().filter(|(after, _)| *after == index) {
                stream.on_acknowledged(ack, index as u32 + 1, &mut sink);
            }
        }
        stream.finish(&mut sink);
        out
    }

    #[test]
    fn in_order_bytes_are_read_once() {
        assert_eq!(read(&[(1000, b"GET ", 4), (1004, b"/ HTTP", 6), (1000, b"GET ", 4)], &[]), "GET / HTTP");
    }

    #[test]
    fn overlaps_are_trimmed_and_out_of_order_bytes_placed() {
        assert_eq!(read(&[(1000, b"abc", 3), (1006, b"ghi", 3), (1002, b"cdef", 4)], &[]), "abcdefghi");
    }

    #[test]
    fn bytes_never_captured_are_a_hole() {
        // "def" was lost before the capture point; the receiver's ACK says it arrived.
        assert_eq!(read(&[(1000, b"abc", 3), (1006, b"ghi", 3)], &[(1, 1009)]), "abc[hole 3]ghi");
        // Never acknowledged: the capture's end declares it.
        assert_eq!(read(&[(1000, b"abc", 3), (1006, b"ghi", 3)], &[]), "abc[hole 3]ghi");
    }

    #[test]
    fn the_acknowledgment_of_a_fin_is_no_hole() {
        let mut stream = Reassembler::default();
        stream.on_syn(999);
        let mut events = Vec::new();
        let mut sink = |event: StreamEvent<'_>| events.push(format!("{event:?}"));
        stream.on_segment(1000, 3, b"abc", (1, 0), &mut sink);
        stream.on_fin(1003);
        stream.on_acknowledged(1004, 2, &mut sink);
        assert_eq!(events.len(), 1, "{events:?}");
    }

    #[test]
    fn a_snaplen_cut_is_said_to_be_one() {
        assert_eq!(read(&[(1000, b"ab", 5), (1005, b"xyz", 3)], &[]), "ab[cut 3]xyz");
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut stream = Reassembler::default();
        stream.on_syn(u32::MAX - 1);
        let mut out = Vec::new();
        let mut sink = |event: StreamEvent<'_>| {
            if let StreamEvent::Data { offset, bytes, .. } = event {
                out.push((offset, bytes.to_vec()));
            }
        };
        stream.on_segment(u32::MAX, 2, b"ab", (1, 0), &mut sink);
        stream.on_segment(1, 2, b"cd", (2, 0), &mut sink);
        assert_eq!(out, vec![(0, b"ab".to_vec()), (2, b"cd".to_vec())]);
    }

    #[test]
    fn out_of_order_bytes_are_bounded() {
        let mut stream = Reassembler::default();
        stream.on_syn(0);
        let chunk = vec![b'x'; 64 * 1024];
        let mut holes = 0;
        let mut sink = |event: StreamEvent<'_>| holes += u32::from(matches!(event, StreamEvent::Hole { .. }));
        for i in 1..10u32 {
            stream.on_segment(1 + i * 65_536, 65_536, &chunk, (i, 0), &mut sink);
        }
        assert!(stream.held_bytes() <= MAX_PENDING_BYTES, "{}", stream.held_bytes());
        assert_eq!(holes, 1, "the first gap became a hole once the bound was passed");
    }
}
