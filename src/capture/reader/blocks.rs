//! The read buffer of a capture, in blocks that can be shared: a packet read in place lies in a
//! block, and whoever needs its bytes later (the conversation decoder on its own thread) holds the
//! block instead of copying the bytes out. A block is written again only once no one else holds
//! it; until then the reader takes another, so at most a few blocks exist whatever the capture.

use std::io::{self, Read};
use std::sync::Arc;

use crate::wire::SharedBlock;

/// Bytes read at once. Small enough to stay in the cache between the read and the decoding,
/// large enough that reading costs few system calls (one per 256 KiB).
const BLOCK_LEN: usize = 256 << 10;
/// Blocks kept for reuse once their holders let them go; more are dropped.
const SPARE_BLOCKS: usize = 4;

pub struct BlockReader<R> {
    inner: R,
    block: SharedBlock,
    /// The unread bytes of `block` are `pos..filled`.
    pos: usize,
    filled: usize,
    /// Earlier blocks, possibly still held elsewhere.
    spare: Vec<SharedBlock>,
}

impl<R: Read> BlockReader<R> {
    pub fn new(inner: R) -> Self {
        Self { inner, block: Arc::new(Vec::new()), pos: 0, filled: 0, spare: Vec::new() }
    }

    /// The unread bytes, reading more first when none are left.
    pub fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.refill(BLOCK_LEN)?;
        }
        Ok(self.buffer())
    }

    /// At least `wanted` unread bytes when the input holds them (fewer at its end): a record that
    /// straddles two reads is moved to the start of a block of its own, so it is still read in place.
    pub fn fill_at_least(&mut self, wanted: usize) -> io::Result<&[u8]> {
        if self.filled - self.pos < wanted {
            self.refill(wanted.max(BLOCK_LEN))?;
            while self.filled - self.pos < wanted {
                if self.read_more()? == 0 {
                    break;
                }
            }
        }
        Ok(self.buffer())
    }

    /// The unread bytes already read.
    pub fn buffer(&self) -> &[u8] {
        self.block.get(self.pos..self.filled).unwrap_or_default()
    }

    /// The block the unread bytes lie in.
    pub fn block(&self) -> &SharedBlock {
        &self.block
    }

    pub fn consume(&mut self, len: usize) {
        self.pos = (self.pos + len).min(self.filled);
    }

    /// Moves the unread bytes to the start of a block of at least `len` bytes that no one else
    /// holds, and reads once after them.
    fn refill(&mut self, len: usize) -> io::Result<()> {
        let mut fresh = self.writable_block(len);
        let unread = self.filled - self.pos;
        if let (Some(to), Some(from)) = (fresh.get_mut(..unread), self.block.get(self.pos..self.filled)) {
            to.copy_from_slice(from);
        }
        let old = std::mem::replace(&mut self.block, Arc::new(fresh));
        if self.spare.len() < SPARE_BLOCKS && old.capacity() > 0 {
            self.spare.push(old);
        }
        self.pos = 0;
        self.filled = unread;
        self.read_more().map(|_| ())
    }

    /// A block of at least `len` bytes to write into: a spare one no one holds any more, else new.
    /// Its bytes are whatever was read into it before; only `filled` ever says which are valid.
    fn writable_block(&mut self, len: usize) -> Vec<u8> {
        let reusable = self.spare.iter().position(|block| Arc::strong_count(block) == 1 && block.len() >= len);
        let mut block = reusable
            .map(|at| self.spare.swap_remove(at))
            .and_then(|block| Arc::try_unwrap(block).ok())
            .unwrap_or_default();
        if block.len() < len {
            block.resize(len, 0);
        }
        block
    }

    /// Reads once into the room after the filled bytes; the number of bytes read.
    fn read_more(&mut self) -> io::Result<usize> {
        let Some(block) = Arc::get_mut(&mut self.block) else { return Ok(0) };
        let room = block.get_mut(self.filled..).unwrap_or_default();
        if room.is_empty() {
            return Ok(0);
        }
        loop {
            match self.inner.read(room) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                Err(err) => return Err(err),
            }
        }
    }
}

impl<R: Read> Read for BlockReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out its bytes a few at a time, as a pipe does.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = out.len().min(7).min(self.0.len() - self.1);
            out[..n].copy_from_slice(&self.0[self.1..self.1 + n]);
            self.1 += n;
            Ok(n)
        }
    }

    #[test]
    fn a_record_across_reads_is_gathered_whole_and_earlier_blocks_stay_intact_while_held() {
        let bytes: Vec<u8> = (0..=255u8).cycle().take(3 * BLOCK_LEN).collect();
        let mut reader = BlockReader::new(Trickle(bytes.clone(), 0));
        assert_eq!(reader.fill_buf().unwrap(), &bytes[..7]);
        let held = reader.block().clone();
        reader.consume(5);
        let gathered = reader.fill_at_least(20).unwrap();
        assert_eq!(gathered, &bytes[5..5 + gathered.len()]);
        assert!(gathered.len() >= 20, "gathered over three reads: {} bytes", gathered.len());
        assert!(!Arc::ptr_eq(&held, reader.block()), "a held block is not written again");
        assert_eq!(&held[..7], &bytes[..7]);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, &bytes[5..]);
    }

    #[test]
    fn blocks_no_one_holds_are_reused() {
        let bytes = vec![1u8; 4 * BLOCK_LEN];
        let mut reader = BlockReader::new(&bytes[..]);
        let mut blocks = std::collections::HashSet::new();
        while !reader.fill_buf().unwrap().is_empty() {
            blocks.insert(reader.block().as_ptr() as usize);
            let len = reader.buffer().len();
            reader.consume(len);
        }
        assert!(blocks.len() <= 2, "{} blocks for 4 reads", blocks.len());
    }
}
