//! TCP header flags, printed the way tcpdump prints them.

use std::fmt;

/// The TCP flag bits of one segment (the nine low bits of the header's flag field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    pub const FIN: u16 = 0x001;
    pub const SYN: u16 = 0x002;
    pub const RST: u16 = 0x004;
    pub const PSH: u16 = 0x008;
    pub const ACK: u16 = 0x010;
    pub const URG: u16 = 0x020;
    pub const ECE: u16 = 0x040;
    pub const CWR: u16 = 0x080;
    /// The old NS bit, now AccECN's AE.
    pub const AE: u16 = 0x100;

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
    pub fn syn(self) -> bool {
        self.has(Self::SYN)
    }
    pub fn fin(self) -> bool {
        self.has(Self::FIN)
    }
    pub fn rst(self) -> bool {
        self.has(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.has(Self::ACK)
    }
    pub fn psh(self) -> bool {
        self.has(Self::PSH)
    }
    /// Sequence space the control flags take: SYN and FIN each count one.
    pub fn seq_space(self) -> u32 {
        u32::from(self.syn()) + u32::from(self.fin())
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's letters in tcpdump's order (`tcp_flag_values` in print-tcp.c): `F S R P . U E W e`,
    /// so a SYN-ACK with ECE is `S.E` and a SYN with ECE and CWR `SEW`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LETTERS: [(u16, char); 9] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::AE, 'e'),
        ];
        let mut any = false;
        for (bit, letter) in LETTERS {
            if self.has(bit) {
                write!(f, "{letter}")?;
                any = true;
            }
        }
        if !any {
            f.write_str("none")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_tcpdump() {
        assert_eq!(TcpFlags(TcpFlags::SYN).to_string(), "S");
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK).to_string(), "S.");
        assert_eq!(TcpFlags(TcpFlags::PSH | TcpFlags::ACK).to_string(), "P.");
        assert_eq!(TcpFlags(TcpFlags::FIN | TcpFlags::ACK).to_string(), "F.");
        assert_eq!(TcpFlags(TcpFlags::RST | TcpFlags::ACK).to_string(), "R.");
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR).to_string(), "SEW");
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE).to_string(), "S.E");
        assert_eq!(TcpFlags(TcpFlags::SYN | TcpFlags::FIN).to_string(), "FS");
        assert_eq!(TcpFlags(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK).to_string(), "FP.");
        assert_eq!(TcpFlags(TcpFlags::RST | TcpFlags::PSH | TcpFlags::ACK | TcpFlags::URG).to_string(), "RP.U");
        assert_eq!(TcpFlags(0).to_string(), "none");
    }
}
