//! Labels for segments, the way tcpdump users read them: `[P.] seq 1:22 ack 1 win 65536 len 21`.

use crate::tcp::{Connection, Segment};
use crate::wire::options::render_options;

/// Relative (Wireshark's, the default) or absolute sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Numbering {
    #[default]
    Relative,
    Absolute,
}

/// The one-line label of a segment: flags, seq (a range for data), ack, window, length.
pub fn segment_label(connection: &Connection, segment: &Segment, numbering: Numbering) -> String {
    let (seq, ack) = match numbering {
        Numbering::Relative => (connection.relative_seq(segment), connection.relative_ack(segment)),
        Numbering::Absolute => (segment.seq_raw, segment.flags.ack().then_some(segment.ack_raw)),
    };
    let mut label = format!("[{}] seq {seq}", segment.flags);
    if segment.payload_len > 0 {
        label.push_str(&format!(":{}", seq.wrapping_add(segment.payload_len)));
    }
    if let Some(ack) = ack {
        label.push_str(&format!(" ack {ack}"));
    }
    let window = connection
        .scaled_window(segment.dir, segment.window_raw, segment.flags.syn())
        .unwrap_or(u32::from(segment.window_raw));
    label.push_str(&format!(" win {window} len {}", segment.payload_len));
    label
}

/// The options of a segment as tcpdump prints them, e.g. `mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7`.
pub fn options_label(connection: &Connection, segment: &Segment, numbering: Numbering) -> String {
    let sack_base = match numbering {
        Numbering::Relative => connection.sides[segment.dir.receiver()].base_seq,
        Numbering::Absolute => None,
    };
    render_options(connection.options_of(segment), sack_base)
}

/// Analysis flags in words, for marking an arrow: `retransmission, zero_window`.
pub fn analysis_label(segment: &Segment) -> String {
    segment.analysis.names().collect::<Vec<_>>().join(", ")
}

/// How far back to look for the peer's last window; probes follow it closely.
const PROBE_LOOKBACK: usize = 64;

/// Like [`analysis_label`], but a "keep-alive" sent while the peer's window was zero is named for
/// what it is on Linux: a zero-window probe. Wireshark flags both alike; the arrow says what it
/// is, without Wireshark's code (Details keeps the flag).
pub fn analysis_label_at(connection: &Connection, index: usize) -> String {
    let Some(segment) = connection.segments.get(index) else { return String::new() };
    let probing = segment.analysis.has(crate::tcp::AnalysisFlags::KEEP_ALIVE)
        && connection
            .segments
            .get(index.saturating_sub(PROBE_LOOKBACK)..index)
            .unwrap_or(&[])
            .iter()
            .rev()
            .find(|s| s.dir != segment.dir)
            .is_some_and(|peer| peer.window_raw == 0 && !peer.flags.rst());
    let names =
        segment.analysis.names().map(|name| if probing && name == "keep_alive" { "zero-window probe" } else { name });
    names.collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::read_capture;
    use crate::EngineConfig;

    #[test]
    fn linux_zero_window_probes_are_named_as_such() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures/zero-window.pcap");
        let outcome = read_capture(&path, EngineConfig::default(), 1 << 20, |_, _| std::ops::ControlFlow::Continue(()))
            .unwrap_or_else(|err| panic!("{err}"));
        let connection = &outcome.engine.connections()[0];
        let labels: Vec<String> = (0..connection.segments.len()).map(|i| analysis_label_at(connection, i)).collect();
        assert!(labels.iter().any(|l| l == "zero-window probe"), "{labels:?}");
        assert!(!labels.iter().any(|l| l.contains("keep_alive")), "{labels:?}");
    }
}

/// `text` cut to `chars` characters, with an ellipsis when it was longer.
pub fn elide(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// How the ladder's time column reads: in milliseconds like the command line, or the capture's
/// clock as a time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum TimeMode {
    /// Milliseconds since the connection's first segment.
    #[default]
    Relative,
    /// The capture's clock, as a time of day (UTC).
    Absolute,
    /// Milliseconds since the previous segment.
    Delta,
}

impl TimeMode {
    /// The column's heading.
    pub fn heading(self) -> &'static str {
        match self {
            Self::Relative => "time (ms)",
            Self::Absolute => "time (UTC)",
            Self::Delta => "+ms",
        }
    }

    /// A segment's time at `ts_nanos`, for a connection that began at `first_nanos`, the
    /// previous segment (if any) at `previous_nanos`.
    pub fn format(self, ts_nanos: i64, first_nanos: i64, previous_nanos: Option<i64>) -> String {
        let millis = |nanos: i64| nanos as f64 / 1e6;
        match self {
            Self::Relative => format!("{:.3}", millis(ts_nanos - first_nanos)),
            Self::Delta => format!("+{:.3}", millis(previous_nanos.map_or(0, |p| ts_nanos - p))),
            Self::Absolute => {
                let seconds = ts_nanos.div_euclid(1_000_000_000);
                let micros = ts_nanos.rem_euclid(1_000_000_000) / 1_000;
                let of_day = seconds.rem_euclid(86_400);
                format!("{:02}:{:02}:{:02}.{micros:06}", of_day / 3600, of_day / 60 % 60, of_day % 60)
            }
        }
    }
}

#[cfg(test)]
mod time_tests {
    use super::TimeMode;

    #[test]
    fn the_time_column_reads_in_milliseconds_or_as_a_time_of_day() {
        assert_eq!(TimeMode::Relative.format(50_292_000, 0, None), "50.292");
        assert_eq!(TimeMode::Delta.format(50_292_000, 0, Some(50_271_000)), "+0.021");
        // 2026-12-02 00:25:35.782589 UTC.
        assert_eq!(TimeMode::Absolute.format(1_796_171_135_782_589_000, 0, None), "00:25:35.782589");
    }
}
