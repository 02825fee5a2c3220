//! Frame accounting that needs no hardware: which physical frames the kernel may
//! use, taken from the boot memory map, and handing out never-used ones in order.
//! The kernel's allocator (`kernel/src/mem/frame.rs`) keeps its free lists in the
//! frames themselves; this is the part that is plain arithmetic.

/// Bytes in a frame.
pub const FRAME_SIZE: u64 = 4096;
/// The most usable ranges kept (boot memory maps have a handful).
pub const MAX_RANGES: usize = 64;

/// Usable physical ranges, frame-aligned, and a cursor over frames never handed out.
#[derive(Clone, Debug)]
pub struct UsableFrames {
    ranges: [(u64, u64); MAX_RANGES],
    count: usize,
    cursor: usize,
    next: u64,
    total: usize,
    limit: u64,
}

impl UsableFrames {
    /// No ranges yet; frames at or above `limit` (a physical address) are never used.
    pub const fn new(limit: u64) -> Self {
        UsableFrames {
            ranges: [(0, 0); MAX_RANGES],
            count: 0,
            cursor: 0,
            next: 0,
            total: 0,
            limit,
        }
    }

    /// Adds the usable region [start, end): shrunk to whole frames, never frame 0,
    /// cut at the limit. Returns the frames it added (0 if none, or no room left).
    pub fn add(&mut self, start: u64, end: u64) -> usize {
        let start = start.div_ceil(FRAME_SIZE).max(1) * FRAME_SIZE;
        let end = end.min(self.limit) / FRAME_SIZE * FRAME_SIZE;
        if start >= end || self.count == MAX_RANGES {
            return 0;
        }
        self.ranges[self.count] = (start, end);
        if self.count == 0 {
            self.next = start;
        }
        self.count += 1;
        let frames = ((end - start) / FRAME_SIZE) as usize;
        self.total += frames;
        frames
    }

    /// Frames in all ranges.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The next frame (its physical address) never handed out, in address order of
    /// the ranges as added; None when every frame has been handed out once.
    pub fn carve(&mut self) -> Option<u64> {
        while self.cursor < self.count {
            if self.next < self.ranges[self.cursor].1 {
                let frame = self.next;
                self.next += FRAME_SIZE;
                return Some(frame);
            }
            self.cursor += 1;
            if self.cursor < self.count {
                self.next = self.ranges[self.cursor].0;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn regions_shrink_to_whole_frames_and_skip_frame_zero() {
        let mut f = UsableFrames::new(u64::MAX);
        assert_eq!(f.add(0, 3 * FRAME_SIZE), 2, "frame 0 is never used");
        assert_eq!(
            f.add(5 * FRAME_SIZE + 1, 8 * FRAME_SIZE - 1),
            1,
            "partial frames are dropped"
        );
        assert_eq!(
            f.add(9 * FRAME_SIZE, 9 * FRAME_SIZE + 100),
            0,
            "less than a frame"
        );
        assert_eq!(f.total(), 3);
    }

    #[test]
    fn frames_at_or_above_the_limit_are_left_out() {
        let mut f = UsableFrames::new(4 * FRAME_SIZE);
        assert_eq!(f.add(FRAME_SIZE, 10 * FRAME_SIZE), 3);
        assert_eq!(f.add(5 * FRAME_SIZE, 6 * FRAME_SIZE), 0);
    }

    #[test]
    fn carving_hands_out_every_frame_once_in_range_order() {
        let mut f = UsableFrames::new(u64::MAX);
        f.add(10 * FRAME_SIZE, 12 * FRAME_SIZE);
        f.add(FRAME_SIZE, 2 * FRAME_SIZE);
        let got: Vec<u64> = core::iter::from_fn(|| f.carve()).collect();
        assert_eq!(got, [10 * FRAME_SIZE, 11 * FRAME_SIZE, FRAME_SIZE]);
        assert_eq!(f.carve(), None, "exhausted stays exhausted");
        assert_eq!(f.total(), 3, "the total counts frames, handed out or not");
    }

    #[test]
    fn ranges_beyond_the_table_are_ignored() {
        let mut f = UsableFrames::new(u64::MAX);
        for i in 0..(MAX_RANGES as u64 + 5) {
            f.add((2 * i + 1) * FRAME_SIZE, (2 * i + 2) * FRAME_SIZE);
        }
        assert_eq!(f.total(), MAX_RANGES);
    }
}
