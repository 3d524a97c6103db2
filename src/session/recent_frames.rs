//! The bytes of a live capture's newest frames, kept in memory so Details can show a segment's
//! bytes when there is no file to read them back from (a live capture without a save file, a
//! lesson). Bounded by bytes: the oldest frames go first.

use std::collections::VecDeque;

/// Frames numbered consecutively from `first`, their bytes, and what they hold in all.
#[derive(Debug, Default, Clone)]
pub struct RecentFrames {
    first: u32,
    frames: VecDeque<Box<[u8]>>,
    held: usize,
    budget: usize,
}

impl RecentFrames {
    /// Keeps at most `budget` bytes of frames.
    pub fn new(budget: usize) -> Self {
        Self { first: 1, frames: VecDeque::new(), held: 0, budget }
    }

    /// Keeps `bytes` as frame `frame`. Frames come in order; a frame out of order (a gap after
    /// a cleared document) starts the store again from it.
    pub fn push(&mut self, frame: u32, bytes: &[u8]) {
        let next = self.first.saturating_add(u32::try_from(self.frames.len()).unwrap_or(u32::MAX));
        if frame != next {
            self.frames.clear();
            self.held = 0;
            self.first = frame;
        }
        self.held += bytes.len();
        self.frames.push_back(bytes.into());
        while self.held > self.budget {
            let Some(oldest) = self.frames.pop_front() else { break };
            self.held -= oldest.len();
            self.first = self.first.saturating_add(1);
        }
    }

    /// The bytes of `frame`, if it is still kept.
    pub fn get(&self, frame: u32) -> Option<&[u8]> {
        let index = frame.checked_sub(self.first)?;
        self.frames.get(usize::try_from(index).ok()?).map(|bytes| &bytes[..])
    }

    /// The bytes held.
    pub fn held_bytes(&self) -> usize {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_frames_are_kept_within_the_budget() {
        let mut frames = RecentFrames::new(10);
        for frame in 1..=5 {
            frames.push(frame, &[frame as u8; 4]);
        }
        // 4 bytes each, 10 at most: frames 4 and 5 stay.
        assert_eq!(frames.get(3), None);
        assert_eq!(frames.get(4), Some(&[4u8; 4][..]));
        assert_eq!(frames.get(5), Some(&[5u8; 4][..]));
        assert_eq!(frames.get(6), None);
        assert_eq!(frames.held_bytes(), 8);
    }

    #[test]
    fn a_frame_out_of_order_starts_again() {
        let mut frames = RecentFrames::new(100);
        frames.push(1, b"a");
        frames.push(7, b"b");
        assert_eq!(frames.get(1), None);
        assert_eq!(frames.get(7), Some(&b"b"[..]));
    }
}
