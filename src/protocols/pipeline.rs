//! The conversations of a file decoded on a thread of their own while the reader tracks TCP.
//! Each segment is handed over in batches; its payload stays where the reader read it (the batch
//! holds the read block, so handing over copies nothing but a payload read out of place); the
//! thread owns the conversations until the capture ends, then gives them back. On a capture where every packet starts a message (HTTP
//! keep-alive, 10,000 exchanges) the decoding is as long as the rest of the read: done beside it,
//! the read takes barely longer than one without decoding.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::wire::{PerSide, SharedBlock, Side, TcpFlags};

use super::table::ConversationTable;
use super::{Conversation, SegmentBytes};

/// Segments handed over at once.
const BATCH_SEGMENTS: usize = 2_048;
/// Payload bytes copied into a batch, at most (a batch is sent when either bound is reached, or
/// when the payloads move on to another read block).
const BATCH_BYTES: usize = 256 << 10;
/// Batches in all, reused in turn: the reader waits for one when the decoder holds the others,
/// so memory stays bounded by these few whatever the capture, and no fresh page is touched
/// after the first few batches.
const BATCHES: usize = 3;
/// Every this many batches, and after dropping conversations, the decoder counts what its
/// conversations hold (it visits every one), for the memory limit.
const COUNT_EVERY_BATCHES: u32 = 64;

/// What a conversation starts from: the ISNs seen before its first payload, and the server's port.
#[derive(Debug, Clone, Copy)]
pub struct Start {
    pub isns: PerSide<Option<u32>>,
    pub server_port: u16,
}

#[derive(Debug, Clone)]
struct Job {
    id: u32,
    start: Start,
    sender: Side,
    frame: u32,
    ts_nanos: i64,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload_len: u32,
    /// Where the payload is: in the batch's read block, or copied into its bytes.
    in_block: bool,
    payload: Range<usize>,
}

#[derive(Debug, Default)]
struct Batch {
    jobs: Vec<Job>,
    /// The read block the payloads lie in (one per batch).
    block: Option<SharedBlock>,
    /// Payloads read out of place (by the reader's slow path, or from a source without blocks).
    bytes: Vec<u8>,
    /// Connections before this id were dropped to bound memory: their conversations go too,
    /// before this batch is decoded.
    forget_before: Option<u32>,
    /// Connections retired by the reader: once this batch is decoded, their conversations are
    /// finished and handed back.
    take: Vec<u32>,
}

/// Conversations handed back to the reader, by connection id.
pub type Taken = Vec<(u32, Option<Box<Conversation>>)>;

/// The decoding thread, and the batch being filled for it.
#[derive(Debug)]
pub struct DecodeThread {
    /// A bit per connection id: its conversation has begun (a payload was seen).
    begun: Vec<u64>,
    batch: Batch,
    /// Batches made so far, at most [`BATCHES`].
    made: usize,
    to_decoder: Option<SyncSender<Batch>>,
    /// Emptied batches coming back, so their room is reused (in a mutex only so that an engine
    /// can be shared between threads; the reader alone takes from it).
    spare: Mutex<Receiver<Batch>>,
    decoder: Option<JoinHandle<ConversationTable>>,
    taken: Mutex<Receiver<Taken>>,
    /// What the decoder's conversations held when it last counted them.
    held: Arc<AtomicU64>,
}

impl DecodeThread {
    /// Starts the thread; conversations it makes keep every message when `keep_all`.
    pub fn spawn(keep_all: bool) -> std::io::Result<Self> {
        let (to_decoder, batches) = sync_channel::<Batch>(BATCHES);
        let (give_back, spare) = sync_channel::<Batch>(BATCHES);
        let (hand_back, taken) = sync_channel::<Taken>(1);
        let held = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&held);
        let decoder = std::thread::Builder::new().name("tcpladder-decode".into()).spawn(move || {
            let mut table = ConversationTable::default();
            let mut since_count = 0u32;
            for mut batch in batches {
                let forgot = batch.forget_before.take().inspect(|&first_id| table.forget_before(first_id)).is_some();
                decode(&mut table, &batch, keep_all);
                since_count += 1;
                if forgot || since_count >= COUNT_EVERY_BATCHES {
                    since_count = 0;
                    counted.store(table.bytes() as u64, Ordering::Relaxed);
                }
                if !batch.take.is_empty() {
                    let taken = batch.take.drain(..).map(|id| (id, table.take(id))).map(|(id, mut conversation)| {
                        if let Some(conversation) = &mut conversation {
                            conversation.finish();
                        }
                        (id, conversation)
                    });
                    // The reader waits for them; if it is gone, nobody wants them.
                    let _ = hand_back.send(taken.collect());
                }
                batch.jobs.clear();
                batch.block = None;
                batch.bytes.clear();
                // The reader may have stopped taking them back (it is finishing): dropped then.
                let _ = give_back.try_send(batch);
            }
            table
        })?;
        Ok(Self {
            begun: Vec::new(),
            batch: Batch::default(),
            made: 1,
            to_decoder: Some(to_decoder),
            spare: Mutex::new(spare),
            decoder: Some(decoder),
            taken: Mutex::new(taken),
            held,
        })
    }

    /// True when connection `id` has a conversation: one begun already, or begun now by a
    /// segment `with_payload` (a SYN flood costs none).
    pub fn begins(&mut self, id: u32, with_payload: bool) -> bool {
        let (word, bit) = ((id / 64) as usize, 1u64 << (id % 64));
        if self.begun.len() <= word {
            if !with_payload {
                return false;
            }
            self.begun.resize(word + 1, 0);
        }
        let Some(slot) = self.begun.get_mut(word) else { return false };
        if *slot & bit == 0 && with_payload {
            *slot |= bit;
        }
        *slot & bit != 0
    }

    /// Hands over one segment of connection `id`; its payload is not copied when it lies in
    /// `block`, the read block it was read into.
    pub fn push(&mut self, id: u32, start: Start, segment: &SegmentBytes<'_>, block: Option<&SharedBlock>) {
        let in_block = block.filter(|_| !segment.payload.is_empty()).and_then(|block| {
            let range = range_within(block, segment.payload)?;
            if !self.batch.block.as_ref().is_some_and(|held| SharedBlock::ptr_eq(held, block)) {
                if self.batch.block.is_some() {
                    self.send();
                }
                self.batch.block = Some(block.clone());
            }
            Some(range)
        });
        let payload = in_block.clone().unwrap_or_else(|| {
            let at = self.batch.bytes.len();
            self.batch.bytes.extend_from_slice(segment.payload);
            at..self.batch.bytes.len()
        });
        self.batch.jobs.push(Job {
            id,
            start,
            sender: segment.sender,
            frame: segment.frame,
            ts_nanos: segment.ts_nanos,
            seq: segment.seq,
            ack: segment.ack,
            flags: segment.flags,
            payload_len: segment.payload_len,
            in_block: in_block.is_some(),
            payload,
        });
        if self.batch.jobs.len() >= BATCH_SEGMENTS || self.batch.bytes.len() >= BATCH_BYTES {
            self.send();
        }
    }

    /// Connections before `first_id` were dropped to bound memory: the decoder drops their
    /// conversations with the next batch.
    pub fn forget_before(&mut self, first_id: u32) {
        self.batch.forget_before = Some(first_id);
    }

    /// Bytes the decoder's conversations held when it last counted them (every
    /// [`COUNT_EVERY_BATCHES`] batches, and after dropping some).
    pub fn held_bytes(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    /// The finished conversations of connections `ids` (retired by the reader), once everything
    /// handed over so far is decoded: the reader waits for them.
    pub fn take(&mut self, ids: Vec<u32>) -> Taken {
        self.batch.take = ids;
        self.send();
        if self.to_decoder.is_none() {
            return Vec::new();
        }
        self.taken.get_mut().ok().and_then(|taken| taken.recv().ok()).unwrap_or_default()
    }

    fn send(&mut self) {
        let spare = self.spare.get_mut().ok().and_then(|spare| {
            if self.made < BATCHES {
                spare.try_recv().ok()
            } else {
                // Every batch is out: wait for the decoder to give one back.
                spare.recv().ok()
            }
        });
        let fresh = spare.unwrap_or_else(|| {
            self.made += 1;
            // Copied payloads are rare (the reader's slow path): their room grows when needed.
            Batch {
                jobs: Vec::with_capacity(BATCH_SEGMENTS),
                block: None,
                bytes: Vec::new(),
                forget_before: None,
                take: Vec::new(),
            }
        });
        let full = std::mem::replace(&mut self.batch, fresh);
        if let Some(to_decoder) = &self.to_decoder {
            // A decoder gone (it cannot panic on bytes, but if it did) leaves its conversations
            // unread: the capture's TCP is read all the same.
            if to_decoder.send(full).is_err() {
                self.to_decoder = None;
            }
        }
    }

    /// The capture ended: the last batch is decoded and the conversations come back.
    pub fn finish(mut self) -> ConversationTable {
        self.send();
        self.to_decoder = None;
        self.decoder.take().and_then(|decoder| decoder.join().ok()).unwrap_or_default()
    }
}

fn decode(table: &mut ConversationTable, batch: &Batch, keep_all: bool) {
    for job in &batch.jobs {
        let make = || {
            let mut conversation = if keep_all { Conversation::default() } else { Conversation::summarising() };
            conversation.starting_from(job.start.isns);
            conversation.serving_port(job.start.server_port);
            conversation
        };
        if let Some(conversation) = table.get_or_insert_with(job.id, make) {
            conversation.on_segment(&SegmentBytes {
                sender: job.sender,
                frame: job.frame,
                ts_nanos: job.ts_nanos,
                seq: job.seq,
                ack: job.ack,
                flags: job.flags,
                payload_len: job.payload_len,
                payload: if job.in_block { batch.block.as_deref() } else { Some(&batch.bytes) }
                    .and_then(|bytes| bytes.get(job.payload.clone()))
                    .unwrap_or_default(),
            });
        }
    }
}

/// Where `part` lies in `block`, if it is a part of it (compared by address: no bytes are read).
fn range_within(block: &[u8], part: &[u8]) -> Option<Range<usize>> {
    let start = (part.as_ptr() as usize).checked_sub(block.as_ptr() as usize)?;
    let end = start.checked_add(part.len())?;
    (end <= block.len()).then_some(start..end)
}

/// The decoding thread of an engine, if it has one. A copy of an engine has none: engines are
/// copied only by the window (copy-on-write, to change the TIME_WAIT length), whose engines decode
/// in place.
#[derive(Debug, Default)]
pub struct Decoding(pub Option<DecodeThread>);

impl Clone for Decoding {
    fn clone(&self) -> Self {
        Self(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decoder_counts_what_it_holds_and_hands_a_retired_conversation_back() {
        let mut thread = DecodeThread::spawn(false).expect("a thread");
        let request = b"GET /slow HTTP/1.1\r\nHost: api.local\r\n\r\n";
        let start = Start { isns: PerSide::new(Some(100), Some(500)), server_port: 80 };
        assert!(thread.begins(7, true));
        thread.push(
            7,
            start,
            &SegmentBytes {
                sender: Side::Client,
                frame: 4,
                ts_nanos: 1,
                seq: 101,
                ack: 501,
                flags: TcpFlags(TcpFlags::ACK | TcpFlags::PSH),
                payload_len: request.len() as u32,
                payload: request,
            },
            None,
        );
        assert_eq!(thread.held_bytes(), 0, "nothing counted before the first batch");
        // Dropping conversations (none here) makes the decoder count what it holds.
        thread.forget_before(0);
        let taken = thread.take(vec![7]);
        assert!(thread.held_bytes() > std::mem::size_of::<Conversation>() as u64, "{}", thread.held_bytes());
        let [(7, Some(conversation))] = taken.as_slice() else { panic!("{taken:?}") };
        assert_eq!(conversation.messages().len(), 1, "the request");
        assert!(thread.finish().get(7).is_none(), "taken, so not given back again");
    }
}
