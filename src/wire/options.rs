//! TCP options: decoded from the header's raw bytes on demand, and printed as tcpdump prints them.

// Every `let _ = write!(…)` below writes into a String, which cannot fail: the fmt::Result is
// dropped for that reason alone.
use std::fmt::Write as _;

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption {
    EndOfList,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// Up to four SACK blocks (left, right edges, raw sequence numbers).
    Sack([(u32, u32); 4], u8),
    Timestamp {
        val: u32,
        ecr: u32,
    },
    /// Any other kind, or a known kind with a bad length.
    Other {
        kind: u8,
        len: u8,
    },
}

/// Iterates the options in a TCP header's option bytes; stops at the first malformed one.
pub fn iter_options(bytes: &[u8]) -> impl Iterator<Item = TcpOption> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (&kind, after_kind) = rest.split_first()?;
        match kind {
            0 => {
                rest = &[];
                Some(TcpOption::EndOfList)
            }
            1 => {
                rest = after_kind;
                Some(TcpOption::Nop)
            }
            _ => {
                let &len = after_kind.first()?;
                let body = rest.get(2..usize::from(len)).filter(|_| len >= 2);
                let Some(body) = body else {
                    // A length that runs past the header or is below 2: nothing after it can be trusted.
                    rest = &[];
                    return Some(TcpOption::Other { kind, len });
                };
                rest = rest.get(usize::from(len)..).unwrap_or(&[]);
                Some(decode_option(kind, len, body))
            }
        }
    })
}

fn decode_option(kind: u8, len: u8, body: &[u8]) -> TcpOption {
    match (kind, body) {
        (2, &[hi, lo]) => TcpOption::Mss(u16::from_be_bytes([hi, lo])),
        (3, &[shift]) => TcpOption::WindowScale(shift),
        (4, []) => TcpOption::SackPermitted,
        (5, blocks) if !blocks.is_empty() && blocks.len() % 8 == 0 && blocks.len() <= 32 => {
            let mut edges = [(0u32, 0u32); 4];
            let mut count = 0u8;
            for (slot, block) in edges.iter_mut().zip(blocks.chunks_exact(8)) {
                let (left, right) = block.split_at(4);
                *slot = (be32(left), be32(right));
                count += 1;
            }
            TcpOption::Sack(edges, count)
        }
        (8, &[v0, v1, v2, v3, e0, e1, e2, e3]) => TcpOption::Timestamp {
            val: u32::from_be_bytes([v0, v1, v2, v3]),
            ecr: u32::from_be_bytes([e0, e1, e2, e3]),
        },
        _ => TcpOption::Other { kind, len },
    }
}

fn be32(bytes: &[u8]) -> u32 {
    match bytes {
        &[a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The options a SYN announces, which later segments depend on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: bool,
}

impl SynOptions {
    /// Collects what a SYN's options announce.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut syn = Self::default();
        for option in iter_options(bytes) {
            match option {
                TcpOption::Mss(mss) => syn.mss = Some(mss),
                TcpOption::WindowScale(shift) => syn.window_scale = Some(shift),
                TcpOption::SackPermitted => syn.sack_permitted = true,
                TcpOption::Timestamp { .. } => syn.timestamps = true,
                _ => {}
            }
        }
        syn
    }
}

/// The first SACK block's right edge and all blocks, when the segment carries SACK.
pub fn sack_blocks(bytes: &[u8]) -> Option<([(u32, u32); 4], u8)> {
    iter_options(bytes).find_map(|option| match option {
        TcpOption::Sack(blocks, count) => Some((blocks, count)),
        _ => None,
    })
}

/// Renders options as tcpdump does: `mss 65495,sackOK,TS val 2754884070 ecr 0,nop,wscale 10`.
/// SACK edges are shown relative to `sack_base` (tcpdump's default), or raw when it is `None`.
pub fn render_options(bytes: &[u8], sack_base: Option<u32>) -> String {
    let mut out = String::new();
    for option in iter_options(bytes) {
        if !out.is_empty() {
            out.push(',');
        }
        // Writing into a String cannot fail.
        let _ = match option {
            TcpOption::EndOfList => write!(out, "eol"),
            TcpOption::Nop => write!(out, "nop"),
            TcpOption::Mss(mss) => write!(out, "mss {mss}"),
            TcpOption::WindowScale(shift) => write!(out, "wscale {shift}"),
            TcpOption::SackPermitted => write!(out, "sackOK"),
            TcpOption::Sack(blocks, count) => {
                let _ = write!(out, "sack {count} ");
                for &(left, right) in blocks.iter().take(usize::from(count)) {
                    let base = sack_base.unwrap_or(0);
                    let _ = write!(out, "{{{}:{}}}", left.wrapping_sub(base), right.wrapping_sub(base));
                }
                Ok(())
            }
            TcpOption::Timestamp { val, ecr } => write!(out, "TS val {val} ecr {ecr}"),
            TcpOption::Other { kind, .. } => write!(out, "opt-{kind}"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The options of a Linux SYN on loopback, as captured.
    const LINUX_SYN: [u8; 20] = [2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0xa4, 0x34, 0x2b, 0x26, 0, 0, 0, 0, 1, 3, 3, 10];

    #[test]
    fn renders_a_linux_syn_like_tcpdump() {
        assert_eq!(render_options(&LINUX_SYN, None), "mss 65495,sackOK,TS val 2754882342 ecr 0,nop,wscale 10");
        let syn = SynOptions::from_bytes(&LINUX_SYN);
        assert_eq!(syn.mss, Some(65495));
        assert_eq!(syn.window_scale, Some(10));
        assert!(syn.sack_permitted && syn.timestamps);
    }

    #[test]
    fn sack_blocks_relative_to_base() {
        let bytes = [1, 1, 5, 10, 0, 0, 0, 110, 0, 0, 0, 120];
        assert_eq!(render_options(&bytes, Some(100)), "nop,nop,sack 1 {10:20}");
    }

    #[test]
    fn malformed_lengths_stop_without_panic() {
        assert_eq!(render_options(&[2, 0], None), "opt-2");
        assert_eq!(render_options(&[2, 40, 1], None), "opt-2");
        assert_eq!(render_options(&[8], None), "");
        assert_eq!(render_options(&[5, 5, 1, 2, 3], None), "opt-5");
    }
}
