//! The frame pool: one small record per physical frame ([`FrameInfo`]: what the
//! frame is for, how many owners it has, a link) and the lists that hand frames out
//! and take them back. Pure: frames are numbers and the records a slice, so every
//! rule is tested on the host; the kernel (`kernel/src/mem/frame.rs`) places the
//! records in memory at boot, takes a lock around the pool, and zeroes frames.
//!
//! - **Handing out.** [`FramePool::allocate`] returns a [`Frame`], an ownership
//!   token: not `Copy`, so a frame cannot be freed twice ([`FramePool::free`] takes
//!   it by value), and `#[must_use]`, so one dropped unnoticed is a warning (an
//!   error under `-D warnings`). A frame that something will keep — a page-table
//!   entry, the page cache, a page table, the kernel — becomes counted with
//!   [`Frame::into_counted`]: from then on its owner count says who holds it, and
//!   [`FramePool::release`] of the last owner frees it. Copy-on-write fork counts
//!   each mapping ([`FramePool::share`]).
//! - **Free lists in the records.** Freed frames are linked through their records'
//!   `link`, so freeing a frame never touches the frame itself (no cache miss per
//!   freed page at exit or munmap). Frames never handed out are carved in order
//!   from the usable ranges ([`UsableFrames`]); frames zeroed ahead of time (the
//!   kernel does it while idle) wait on a list of their own.
//! - **Exact counts.** `free_frames` counts freed, never-used and zeroed frames.

use crate::frames::{FRAME_SIZE, UsableFrames};
use core::ops::DerefMut;

/// The end of a list.
const NONE: u32 = u32::MAX;

/// What a frame is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameUse {
    /// Never handed out (or not usable memory at all).
    #[default]
    Untouched = 0,
    /// On the free list.
    Free,
    /// Free, zeroed, on the zeroed list.
    Zeroed,
    /// A task's page: anonymous memory or a private copy (reclaim may evict it).
    User,
    /// A page-cache page (mapped by tasks or not).
    Cache,
    /// A page-table page (never evicted).
    Table,
    /// The kernel's own: heap, device rings and buffers, these records (never
    /// evicted, never freed).
    Kernel,
}

impl FrameUse {
    /// Whether the frame is free (on one of the lists).
    pub fn is_free(self) -> bool {
        matches!(self, FrameUse::Free | FrameUse::Zeroed)
    }
}

/// One frame's record: 12 bytes. The all-zero record is a valid one (an untouched
/// frame), so a zero-filled array is a fresh table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FrameInfo {
    /// The next frame on the list this one is on (free or zeroed).
    link: u32,
    /// Who holds the frame: mappings of it, the cache, a table (0 when free).
    owners: u32,
    use_: FrameUse,
}

/// A frame handed out and not yet counted: its one owner must give it back
/// ([`FramePool::free`]) or hand it to the owner counts ([`Frame::into_counted`]).
#[must_use = "a frame must be freed or counted (into_counted), else it leaks"]
#[derive(Debug, PartialEq, Eq)]
pub struct Frame(u32);

impl Frame {
    /// Its frame number (physical address / 4096).
    pub fn number(&self) -> u64 {
        u64::from(self.0)
    }

    /// Its physical address.
    pub fn addr(&self) -> u64 {
        self.number() * FRAME_SIZE
    }

    /// Gives the frame to its owner counts (one owner now: whoever keeps the
    /// returned address — a mapping, the cache, a table, the kernel for good).
    /// Its last [`FramePool::release`] frees it.
    pub fn into_counted(self) -> u64 {
        self.addr()
    }
}

/// The frames the kernel hands out: records, lists and counts.
pub struct FramePool<M> {
    infos: M,
    unused: UsableFrames,
    freed: u32,
    zeroed: u32,
    zeroed_count: usize,
    free: usize,
    total: usize,
}

impl<M: DerefMut<Target = [FrameInfo]>> FramePool<M> {
    /// A pool over the frames `unused` has not handed out, with `infos` (all
    /// untouched) holding a record for every frame number below its length.
    /// Frames at or above it are left out of `unused` by the caller.
    pub fn new(infos: M, unused: UsableFrames) -> Self {
        let total = unused.total();
        FramePool {
            infos,
            unused,
            freed: NONE,
            zeroed: NONE,
            zeroed_count: 0,
            free: total,
            total,
        }
    }

    /// Frames free now (freed, never used, or zeroed).
    pub fn free_frames(&self) -> usize {
        self.free
    }

    /// Frames the pool manages in all.
    pub fn total(&self) -> usize {
        self.total
    }

    /// Frames waiting zeroed.
    pub fn zeroed_frames(&self) -> usize {
        self.zeroed_count
    }

    fn info(&mut self, number: u32) -> &mut FrameInfo {
        &mut self.infos[number as usize]
    }

    fn index(addr: u64) -> u32 {
        u32::try_from(addr / FRAME_SIZE).expect("a frame below 16 TiB")
    }

    /// Pops the head of a list.
    fn pop(&mut self, zeroed: bool) -> Option<u32> {
        let head = if zeroed { self.zeroed } else { self.freed };
        if head == NONE {
            return None;
        }
        let next = self.info(head).link;
        if zeroed {
            self.zeroed = next;
            self.zeroed_count -= 1;
        } else {
            self.freed = next;
        }
        Some(head)
    }

    /// Pushes a free frame onto a list.
    fn push(&mut self, number: u32, zeroed: bool) {
        let head = if zeroed { self.zeroed } else { self.freed };
        let info = self.info(number);
        info.link = head;
        info.owners = 0;
        info.use_ = if zeroed {
            FrameUse::Zeroed
        } else {
            FrameUse::Free
        };
        if zeroed {
            self.zeroed = number;
            self.zeroed_count += 1;
        } else {
            self.freed = number;
        }
    }

    /// A free frame that is not in the zeroed pool: freed ones first (recently
    /// used memory is reused), then never-used ones.
    fn take_unzeroed(&mut self) -> Option<u32> {
        self.pop(false)
            .or_else(|| self.unused.carve().map(Self::index))
    }

    /// Hands out `number` for `use_`, with one owner.
    fn hand_out(&mut self, number: u32, use_: FrameUse) -> Frame {
        let info = self.info(number);
        debug_assert!(
            !matches!(
                info.use_,
                FrameUse::User | FrameUse::Cache | FrameUse::Table | FrameUse::Kernel
            ),
            "frame {number} handed out twice"
        );
        info.owners = 1;
        info.use_ = use_;
        info.link = NONE;
        self.free -= 1;
        Frame(number)
    }

    /// Any frame, its contents unspecified: freed, then never used, then zeroed.
    pub fn allocate(&mut self, use_: FrameUse) -> Option<Frame> {
        let number = self.take_unzeroed().or_else(|| self.pop(true))?;
        Some(self.hand_out(number, use_))
    }

    /// A frame for `use_`, and whether it is known to hold zeros (from the zeroed
    /// pool); if not, the caller zeroes it.
    #[inline(always)]
    pub fn allocate_zeroed(&mut self, use_: FrameUse) -> Option<(Frame, bool)> {
        if let Some(number) = self.pop(true) {
            return Some((self.hand_out(number, use_), true));
        }
        self.allocate(use_).map(|f| (f, false))
    }

    /// `count` physically consecutive never-used frames for the kernel (device
    /// rings), counted; frames skipped to find the run go on the free list. The
    /// address of the first, or None.
    pub fn allocate_run(&mut self, count: usize) -> Option<u64> {
        let mut run: Option<(u32, usize)> = None;
        while run.is_none_or(|(_, len)| len < count) {
            let number = Self::index(self.unused.carve()?);
            run = match run {
                Some((start, len)) if start as usize + len == number as usize => {
                    Some((start, len + 1))
                }
                Some((start, len)) => {
                    for n in start..start + len as u32 {
                        self.push(n, false);
                    }
                    Some((number, 1))
                }
                None => Some((number, 1)),
            };
        }
        let (start, len) = run?;
        for n in start..start + len as u32 {
            let frame = self.hand_out(n, FrameUse::Kernel);
            frame.into_counted();
        }
        Some(u64::from(start) * FRAME_SIZE)
    }

    /// Gives back a frame its one owner holds.
    pub fn free(&mut self, frame: Frame) {
        let number = frame.0;
        self.push(number, false);
        self.free += 1;
        debug_assert!(self.free <= self.total, "more frames freed than exist");
    }

    /// A free frame to be zeroed into the pool (unless it is full at `limit`):
    /// its address. The caller zeroes it and calls [`Self::add_zeroed`], under the
    /// same lock — meanwhile it is in no list but still counted free.
    pub fn next_to_zero(&mut self, limit: usize) -> Option<u64> {
        if self.zeroed_count >= limit {
            return None;
        }
        self.take_unzeroed().map(|n| u64::from(n) * FRAME_SIZE)
    }

    /// Puts a frame [`Self::next_to_zero`] gave, zeroed now, into the pool.
    pub fn add_zeroed(&mut self, addr: u64) {
        self.push(Self::index(addr), true);
    }

    /// One more owner of the counted frame at `addr` (a fork's mapping, a task
    /// mapping a cached page). Panics on overflow.
    pub fn share(&mut self, addr: u64) {
        let info = self.info(Self::index(addr));
        debug_assert!(info.owners > 0, "sharing a free frame");
        info.owners = info.owners.checked_add(1).expect("owner count overflow");
    }

    /// One owner of the counted frame at `addr` lets it go; the last one frees it
    /// (true then).
    pub fn release(&mut self, addr: u64) -> bool {
        let number = Self::index(addr);
        let info = self.info(number);
        assert!(
            info.owners > 0,
            "frame {number} released more often than owned"
        );
        info.owners -= 1;
        if info.owners > 0 {
            return false;
        }
        self.push(number, false);
        self.free += 1;
        true
    }

    /// Owners of the frame at `addr` (0 if it is free).
    pub fn owners(&self, addr: u64) -> u32 {
        self.infos[Self::index(addr) as usize].owners
    }

    /// What the frame at `addr` is for.
    pub fn use_of(&self, addr: u64) -> FrameUse {
        self.infos[Self::index(addr) as usize].use_
    }
}

#[cfg(test)]
mod tests;
