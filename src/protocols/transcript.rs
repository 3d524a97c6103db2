//! Both byte streams of one connection in the order the applications read them, for the
//! Conversation pane ("Follow stream"): each piece names its sender and the frame that carried
//! it, holes are kept as holes, and the whole is bounded.

use crate::stream::StreamEvent;
use crate::wire::Side;

/// Bytes a transcript keeps; beyond, pieces are counted, not kept.
pub const MAX_TRANSCRIPT_BYTES: usize = 1 << 20;

/// What one side sent that one frame carried, or bytes the capture does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub side: Side,
    pub frame: u32,
    /// Where in the sender's stream it begins.
    pub offset: u64,
    pub bytes: PieceBytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceBytes {
    Data(Vec<u8>),
    /// Never captured: lost before the capture point, or `cut` by the snaplen.
    Hole {
        len: u64,
        cut: bool,
    },
}

/// A connection's pieces, in the order read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    pub pieces: Vec<Piece>,
    /// Bytes of data kept.
    pub kept: usize,
    /// Bytes of data past [`MAX_TRANSCRIPT_BYTES`], counted only.
    pub not_kept: u64,
}

impl Transcript {
    pub(crate) fn record(&mut self, side: Side, event: &StreamEvent<'_>) {
        match *event {
            StreamEvent::Data { offset, frame, bytes, .. } => {
                let room = MAX_TRANSCRIPT_BYTES.saturating_sub(self.kept).min(bytes.len());
                self.not_kept += (bytes.len() - room) as u64;
                if room == 0 {
                    return;
                }
                let kept = bytes.get(..room).unwrap_or_default();
                self.kept += room;
                // Bytes one frame carried arrive in one event, or in two around a filled gap.
                if let Some(Piece { side: last_side, frame: last_frame, bytes: PieceBytes::Data(data), .. }) =
                    self.pieces.last_mut()
                {
                    if *last_side == side && *last_frame == frame {
                        data.extend_from_slice(kept);
                        return;
                    }
                }
                self.pieces.push(Piece { side, frame, offset, bytes: PieceBytes::Data(kept.to_vec()) });
            }
            StreamEvent::Hole { offset, len, frame, cut } => {
                self.pieces.push(Piece { side, frame, offset, bytes: PieceBytes::Hole { len, cut } });
            }
        }
    }

    /// The first piece frame `frame` carried, if any.
    pub fn piece_of_frame(&self, frame: u32) -> Option<usize> {
        self.pieces.iter().position(|piece| piece.frame == frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_are_kept_in_order_bounded_with_holes() {
        let mut transcript = Transcript::default();
        let data = |offset, frame, bytes| StreamEvent::Data { offset, frame, ts_nanos: 0, bytes };
        transcript.record(Side::Client, &data(0, 4, b"GET / "));
        transcript.record(Side::Client, &data(6, 4, b"HTTP/1.1\r\n\r\n"));
        transcript.record(Side::Server, &StreamEvent::Hole { offset: 0, len: 100, frame: 6, cut: false });
        transcript.record(Side::Server, &data(100, 7, b"tail"));
        assert_eq!(transcript.pieces.len(), 3);
        assert_eq!(transcript.pieces[0].bytes, PieceBytes::Data(b"GET / HTTP/1.1\r\n\r\n".to_vec()));
        assert_eq!(transcript.pieces[1].bytes, PieceBytes::Hole { len: 100, cut: false });
        assert_eq!(transcript.piece_of_frame(7), Some(2));
        let big = vec![b'x'; MAX_TRANSCRIPT_BYTES];
        transcript.record(Side::Server, &data(104, 8, &big));
        assert_eq!((transcript.kept, transcript.not_kept), (MAX_TRANSCRIPT_BYTES, 18 + 4));
    }
}
