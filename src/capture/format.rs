//! The byte layouts of pcap and pcapng, in one place for the reader, the pcapng writer and the
//! capture helper's pcap stream: magic numbers, block types, header sizes, and the few headers
//! tcpladder writes.

/// pcap, microsecond timestamps.
pub const PCAP_MICROS: u32 = 0xa1b2_c3d4;
/// pcap, nanosecond timestamps.
pub const PCAP_NANOS: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetsov's patched format: four extra fields per record.
pub const PCAP_KUZNETSOV: u32 = 0xa1b2_cd34;
/// pcap's version, 2.4, as written after the magic.
const PCAP_VERSION: [u8; 4] = [2, 0, 4, 0];
/// Magic, version, zone, accuracy, snapshot length and link type: six 32-bit words.
pub const PCAP_FILE_HEADER_LEN: usize = 24;
/// Seconds, fraction, captured and original length.
pub const PCAP_RECORD_HEADER_LEN: usize = 16;

/// pcapng's section header block type, which is also the file's magic.
pub const PCAPNG_SECTION_HEADER: u32 = 0x0a0d_0d0a;
/// Written after it in the writer's byte order: how a reader learns that order.
pub const PCAPNG_BYTE_ORDER: u32 = 0x1a2b_3c4d;
/// An interface: its link type, snapshot length and timestamp unit.
pub const PCAPNG_INTERFACE_DESCRIPTION: u32 = 1;
/// The obsolete packet block of pcapng's first drafts.
pub const PCAPNG_OBSOLETE_PACKET: u32 = 2;
/// A packet of the first interface, without a timestamp.
pub const PCAPNG_SIMPLE_PACKET: u32 = 3;
/// A packet with its interface, timestamp and lengths: what everyone writes.
pub const PCAPNG_ENHANCED_PACKET: u32 = 6;
/// An interface's statistics: packets received and dropped so far.
pub const PCAPNG_INTERFACE_STATISTICS: u32 = 5;
/// Statistics option `isb_ifdrop`: packets the interface (the capturing kernel) dropped.
pub const PCAPNG_ISB_IFDROP: u16 = 5;
/// Interface option `if_tsresol`: the timestamp unit.
pub const PCAPNG_IF_TSRESOL: u16 = 9;

/// A little-endian pcap file header with nanosecond timestamps.
pub fn pcap_file_header(dlt: i32, snaplen: u32) -> [u8; PCAP_FILE_HEADER_LEN] {
    // magic, version, time zone and accuracy (always 0), snapshot length, link type.
    let link = u32::try_from(dlt).unwrap_or(0);
    le_words(&[PCAP_NANOS, u32::from_le_bytes(PCAP_VERSION), 0, 0, snaplen, link])
}

/// A little-endian pcap record header for [`pcap_file_header`]'s nanosecond timestamps.
pub fn pcap_record_header(ts_nanos: i64, captured: u32, original_len: u32) -> [u8; PCAP_RECORD_HEADER_LEN] {
    let seconds = u32::try_from(ts_nanos.div_euclid(1_000_000_000)).unwrap_or(0);
    let nanos = u32::try_from(ts_nanos.rem_euclid(1_000_000_000)).unwrap_or(0);
    le_words(&[seconds, nanos, captured, original_len])
}

/// `words` as little-endian bytes, in an array of `N` bytes (the rest zero).
fn le_words<const N: usize>(words: &[u32]) -> [u8; N] {
    let mut out = [0u8; N];
    for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

/// `N` bytes at `at`, zeros where `bytes` ends (callers check lengths first).
pub fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes.get(at..at + N).and_then(|b| <[u8; N]>::try_from(b).ok()).unwrap_or([0; N])
}

/// How a word of `N` bytes is read in each byte order: (big-endian, little-endian).
type WordReaders<const N: usize, T> = (fn([u8; N]) -> T, fn([u8; N]) -> T);

/// A word of `N` bytes at `at`, in the file's byte order.
fn word_at<const N: usize, T>(bytes: &[u8], at: usize, big_endian: bool, (from_be, from_le): WordReaders<N, T>) -> T {
    let word = array_at(bytes, at);
    if big_endian {
        from_be(word)
    } else {
        from_le(word)
    }
}

pub fn u16_at(bytes: &[u8], at: usize, big_endian: bool) -> u16 {
    word_at(bytes, at, big_endian, (u16::from_be_bytes, u16::from_le_bytes))
}

pub fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> u32 {
    word_at(bytes, at, big_endian, (u32::from_be_bytes, u32::from_le_bytes))
}

pub fn i64_at(bytes: &[u8], at: usize, big_endian: bool) -> i64 {
    word_at(bytes, at, big_endian, (i64::from_be_bytes, i64::from_le_bytes))
}

/// A pcap record header's fields.
pub struct PcapRecord {
    pub ts_nanos: i64,
    pub captured: u32,
    pub original_len: u32,
}

impl PcapRecord {
    /// Reads the 16 bytes at the start of `header`; `nanos` for the nanosecond magic.
    pub fn parse(header: &[u8], big_endian: bool, nanos: bool) -> Self {
        let seconds = i64::from(u32_at(header, 0, big_endian));
        let fraction = i64::from(u32_at(header, 4, big_endian));
        let scale = if nanos { 1 } else { 1_000 };
        Self {
            ts_nanos: seconds.saturating_mul(1_000_000_000).saturating_add(fraction.saturating_mul(scale)),
            captured: u32_at(header, 8, big_endian),
            original_len: u32_at(header, 12, big_endian),
        }
    }
}

/// Nanoseconds from a count of `units` of 10^-n or 2^-n seconds, saturating.
pub fn units_to_nanos(units: u64, (binary, exponent): (bool, u8)) -> i64 {
    let nanos: u128 = if binary {
        let exponent = u32::from(exponent.min(63));
        (u128::from(units) * 1_000_000_000) >> exponent
    } else if exponent <= 9 {
        u128::from(units) * 10u128.pow(9 - u32::from(exponent))
    } else {
        u128::from(units) / 10u128.pow(u32::from(exponent.min(38)) - 9)
    };
    i64::try_from(nanos).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_header_reads_back() {
        let header = pcap_record_header(1_000_000_005, 3, 60);
        let record = PcapRecord::parse(&header, false, true);
        assert_eq!((record.ts_nanos, record.captured, record.original_len), (1_000_000_005, 3, 60));
        assert_eq!(u32_at(&pcap_file_header(276, 1 << 20), 20, false), 276);
    }

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(units_to_nanos(1_500_000, (false, 6)), 1_500_000_000);
        assert_eq!(units_to_nanos(3, (false, 9)), 3);
        assert_eq!(units_to_nanos(1_000, (false, 12)), 1);
        assert_eq!(units_to_nanos(1 << 20, (true, 20)), 1_000_000_000);
        assert_eq!(units_to_nanos(u64::MAX, (false, 0)), i64::MAX, "saturates");
    }
}
