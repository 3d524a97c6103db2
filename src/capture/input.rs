//! Where a capture's bytes come from: a file, or standard input for `-`, decompressed on the fly
//! when its first bytes say gzip, zstd, xz or lz4 (never by the file's name, and never whole into
//! memory), with a count of the raw bytes consumed so progress is measured against the file's size.

use std::fs::File;
use std::io::{self, Chain, Cursor, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The compressions read, by their magic bytes, and the name messages use.
const MAGIC: [(&[u8], Compression); 4] = [
    (&[0x1f, 0x8b], Compression::Gzip),
    (&[0x28, 0xb5, 0x2f, 0xfd], Compression::Zstd),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0x00], Compression::Xz),
    (&[0x04, 0x22, 0x4d, 0x18], Compression::Lz4),
];

/// How a capture's bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Xz,
    Lz4,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
            Self::Xz => "xz",
            Self::Lz4 => "lz4",
        }
    }
}

/// True for the path that means standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Counts the bytes read through it (the compressed bytes, for progress).
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.fetch_add(read as u64, Ordering::Relaxed);
        Ok(read)
    }
}

type Raw = Chain<Cursor<Vec<u8>>, Counting<Box<dyn Read + Send>>>;

/// An opened capture source: its (decompressed) bytes, the raw bytes consumed so far, the size
/// of the file when known, and the compression found.
pub struct Input {
    pub reader: Box<dyn Read + Send>,
    pub consumed: Arc<AtomicU64>,
    pub size: Option<u64>,
    pub compression: Option<Compression>,
}

/// Opens `path` (`-` for standard input) and undoes its compression, if any.
pub fn open_input(path: &Path) -> io::Result<Input> {
    let (raw, size): (Box<dyn Read + Send>, Option<u64>) = if is_stdin(path) {
        (Box::new(io::stdin()), None)
    } else {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        (Box::new(file), Some(size))
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let mut counting = Counting { inner: raw, count: Arc::clone(&consumed) };
    // The magic bytes, read without losing them: a pipe cannot seek back.
    let mut head = vec![0u8; 6];
    let mut got = 0;
    while got < head.len() {
        let Some(rest) = head.get_mut(got..) else { break };
        match counting.read(rest)? {
            0 => break,
            n => got += n,
        }
    }
    head.truncate(got);
    let compression = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)).map(|&(_, c)| c);
    let raw: Raw = Cursor::new(head).chain(counting);
    let reader: Box<dyn Read + Send> = match compression {
        None => Box::new(raw),
        Some(Compression::Gzip) => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Some(Compression::Zstd) => Box::new(zstd::stream::read::Decoder::new(raw)?),
        Some(Compression::Xz) => Box::new(xz2::read::XzDecoder::new_multi_decoder(raw)),
        Some(Compression::Lz4) => Box::new(lz4_flex::frame::FrameDecoder::new(raw)),
    };
    Ok(Input { reader, consumed, size, compression })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sample() -> Vec<u8> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures/refused.pcap");
        std::fs::read(path).unwrap_or_else(|err| panic!("{err}"))
    }

    fn read_all(path: &Path) -> (Vec<u8>, Option<Compression>, u64) {
        let mut input = open_input(path).unwrap_or_else(|err| panic!("{err}"));
        let mut out = Vec::new();
        input.reader.read_to_end(&mut out).unwrap_or_else(|err| panic!("{err}"));
        (out, input.compression, input.consumed.load(Ordering::Relaxed))
    }

    #[test]
    fn each_compression_is_found_by_its_bytes_and_undone() {
        let original = sample();
        let dir = std::env::temp_dir().join(format!("tcpladder-input-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = gzip.write_all(&original);
        let mut lz4 = lz4_flex::frame::FrameEncoder::new(Vec::new());
        let _ = lz4.write_all(&original);
        let mut xz = xz2::write::XzEncoder::new(Vec::new(), 6);
        let _ = xz.write_all(&original);
        let cases = [
            ("plain.pcap", original.clone(), None),
            ("gz.bin", gzip.finish().unwrap_or_default(), Some(Compression::Gzip)),
            ("zst.bin", zstd::encode_all(&original[..], 3).unwrap_or_default(), Some(Compression::Zstd)),
            ("xz.bin", xz.finish().unwrap_or_default(), Some(Compression::Xz)),
            ("lz4.bin", lz4.finish().unwrap_or_default(), Some(Compression::Lz4)),
        ];
        for (name, bytes, expected) in cases {
            let path = dir.join(name);
            let _ = std::fs::write(&path, &bytes);
            let (read, compression, consumed) = read_all(&path);
            assert_eq!(compression, expected, "{name}");
            assert_eq!(read, original, "{name}");
            assert_eq!(consumed, bytes.len() as u64, "{name}: every raw byte counted");
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
