//! What a capture cannot be trusted for, found as it is read: segments larger than the MSS (the
//! capture saw GRO/TSO-coalesced segments, so retransmission and loss figures are unreliable),
//! packets cut by the snaplen, packets dropped by the capturing kernel, packets captured out of
//! the order they were sent (loopback's receive path, shown by the IPv4 ID), and time going
//! backwards. Wireshark cannot tell you that your capture lies.

use crate::wire::TcpPacket;

/// How often something happened, and the first frame that shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counted {
    pub count: u64,
    pub first_frame: Option<u32>,
}

impl Counted {
    fn note(&mut self, frame: u32) {
        self.count += 1;
        self.first_frame.get_or_insert(frame);
    }
}

/// A backwards step of the IPv4 ID this small is a packet sent before the one captured ahead of
/// it; a larger one is another socket's counter or a wrap.
const ID_REORDER_WINDOW: u16 = 1024;
/// Steps forward in a row before a sender's IDs count as sequential.
const SEQUENTIAL_AFTER: u8 = 4;

/// The capture's quality, accumulated frame by frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureQuality {
    pub larger_than_mss: Counted,
    pub cut_by_snaplen: Counted,
    pub out_of_send_order: Counted,
    pub time_backwards: Counted,
    /// What the capturing kernel dropped, when the file says (pcapng `isb_ifdrop`).
    pub kernel_drops: Option<u64>,
    last_ts_nanos: Option<i64>,
}

impl CaptureQuality {
    /// Any frame: its time against the previous frame's.
    pub fn observe_frame(&mut self, frame: u32, ts_nanos: i64) {
        if self.last_ts_nanos.is_some_and(|last| ts_nanos < last) {
            self.time_backwards.note(frame);
        }
        self.last_ts_nanos = Some(ts_nanos);
    }

    /// A TCP segment; `receiver_mss` is the MSS its receiver announced, `last_ip_id` the IPv4 ID
    /// of its sender's latest segment in send order and how many steps in order led to it
    /// (updated here).
    pub fn observe_segment(
        &mut self,
        frame: u32,
        packet: &TcpPacket<'_>,
        receiver_mss: Option<u16>,
        last_ip_id: &mut Option<(u16, u8)>,
    ) {
        if receiver_mss.is_some_and(|mss| packet.payload_len > u32::from(mss)) {
            self.larger_than_mss.note(frame);
        }
        if packet.payload.len() < packet.payload_len as usize {
            self.cut_by_snaplen.note(frame);
        }
        // Linux counts IDs per socket; 0 is what it writes where it keeps no counter. Other
        // systems pick IDs at random: a sender is judged only once its IDs have run in order.
        if let Some(id) = packet.ip_id.filter(|&id| id != 0) {
            let (ahead, behind) = match *last_ip_id {
                Some((last, _)) => (id.wrapping_sub(last), last.wrapping_sub(id)),
                None => (0, 0),
            };
            let in_order = last_ip_id.map_or(0, |(_, streak)| streak);
            if (1..ID_REORDER_WINDOW).contains(&behind) && in_order >= SEQUENTIAL_AFTER {
                self.out_of_send_order.note(frame);
            } else if (1..ID_REORDER_WINDOW).contains(&ahead) {
                *last_ip_id = Some((id, in_order.saturating_add(1).min(SEQUENTIAL_AFTER)));
            } else {
                *last_ip_id = Some((id, 0));
            }
        }
    }

    /// One sentence per problem found, for the window and `--stats`.
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let at = |counted: &Counted| counted.first_frame.map_or_else(String::new, |f| format!(" (first: frame {f})"));
        if self.larger_than_mss.count > 0 {
            warnings.push(format!(
                "{} segments are larger than the MSS their receiver announced{}: the capture saw segments coalesced \
                 by GRO/TSO, not the packets on the wire, so retransmission and loss figures are unreliable. \
                 Capture with offloads off (`ethtool -K IFACE gro off gso off tso off`).",
                self.larger_than_mss.count,
                at(&self.larger_than_mss)
            ));
        }
        if self.cut_by_snaplen.count > 0 {
            warnings.push(format!(
                "{} packets were cut by the capture's snapshot length{}: TCP is read in full from the headers, but \
                 the application's messages only as far as the bytes go.",
                self.cut_by_snaplen.count,
                at(&self.cut_by_snaplen)
            ));
        }
        if let Some(drops) = self.kernel_drops.filter(|&d| d > 0) {
            warnings.push(format!(
                "The capturing kernel dropped {drops} packets (the file's interface statistics): segments missing \
                 here may have been on the wire. A larger capture buffer (`tcpdump -B`) or a filter helps."
            ));
        }
        if self.out_of_send_order.count > 0 {
            warnings.push(format!(
                "{} packets were captured before a packet their sender sent earlier{} (the IPv4 ID shows the order \
                 they were sent): loopback and multi-queue captures reorder, so a segment marked out-of-order or a \
                 receipt seen early may be an artefact of the capture.",
                self.out_of_send_order.count,
                at(&self.out_of_send_order)
            ));
        }
        if self.time_backwards.count > 0 {
            warnings.push(format!(
                "Time goes backwards {} times{}: the capture was merged or its clock stepped; durations and RTTs \
                 across those points are wrong.",
                self.time_backwards.count,
                at(&self.time_backwards)
            ));
        }
        warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn packet<'a>(payload_len: u32, payload: &'a [u8], ip_id: Option<u16>) -> TcpPacket<'a> {
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("an address");
        TcpPacket {
            src: addr,
            dst: addr,
            seq: 0,
            ack: 0,
            flags: crate::wire::TcpFlags(0x10),
            window: 0,
            payload_len,
            payload,
            options: &[],
            ip_id,
        }
    }

    #[test]
    fn each_problem_is_counted_from_its_first_frame() {
        let mut quality = CaptureQuality::default();
        let mut last_id = None;
        for id in 1..=5 {
            quality.observe_segment(0, &packet(0, &[], Some(id)), Some(1460), &mut last_id);
        }
        quality.observe_frame(1, 100);
        quality.observe_segment(1, &packet(3000, &[0; 3000], Some(10)), Some(1460), &mut last_id);
        quality.observe_frame(2, 90);
        quality.observe_segment(2, &packet(100, &[0; 40], Some(12)), Some(1460), &mut last_id);
        quality.observe_segment(3, &packet(0, &[], Some(11)), Some(1460), &mut last_id);
        quality.observe_segment(4, &packet(0, &[], Some(13)), Some(1460), &mut last_id);
        // A sender choosing IDs at random is never judged.
        let mut random = None;
        for id in [40_000, 100, 39_990, 7] {
            quality.observe_segment(5, &packet(0, &[], Some(id)), None, &mut random);
        }
        assert_eq!(quality.larger_than_mss, Counted { count: 1, first_frame: Some(1) });
        assert_eq!(quality.cut_by_snaplen, Counted { count: 1, first_frame: Some(2) });
        assert_eq!(quality.out_of_send_order, Counted { count: 1, first_frame: Some(3) });
        assert_eq!(quality.time_backwards, Counted { count: 1, first_frame: Some(2) });
        assert_eq!(quality.warnings().len(), 4);
        assert!(CaptureQuality::default().warnings().is_empty());
    }
}
