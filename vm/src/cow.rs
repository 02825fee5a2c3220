//! Copy-on-write bookkeeping for fork: how many address spaces map a frame,
//! and what the first write to a shared page should do. Pure: frames are
//! plain numbers here, and nothing is copied or mapped.
//!
//! How the kernel uses it:
//!
//! - **fork**: each present page of the parent is mapped in the child to the
//!   *same* frame; both entries lose their write bit; [`FrameRefs::share`]
//!   counts the new owner.
//! - **write fault**: [`crate::resolve_fault`] answers
//!   [`FaultAction::CopyOnWrite`](crate::FaultAction::CopyOnWrite) for a
//!   write to a present page of a writable region. [`cow_action`] on the
//!   frame's [`FrameRefs::count`] then says: [`CowAction::CopyPage`] (still
//!   shared: copy into a fresh frame, map it writable, release the old
//!   frame) or [`CowAction::ReuseInPlace`] (the last owner: set the write bit
//!   back on the entry, nothing copied).
//! - **unmap and exit**: each present page's frame is released with
//!   [`FrameRefs::release`]; the frame goes back to the allocator only when
//!   that was its last owner.
//!
//! Not here yet: counting the owners of page-table pages (only leaf frames
//! are shared), and sharing the frames of the break's eagerly backed heap
//! differently from lazily backed regions (they are treated alike).

use alloc::vec;
use alloc::vec::Vec;

/// Owners of every frame, indexed by frame number (physical address / 4096).
/// A frame nobody shares has one owner and costs no bookkeeping: the table
/// stores owners beyond the first, so all zeros means "no frame is shared".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameRefs {
    extra: Vec<u32>,
}

impl FrameRefs {
    /// A table for frame numbers `0..frames`, every frame with a single owner.
    pub fn new(frames: usize) -> Self {
        FrameRefs {
            extra: vec![0; frames],
        }
    }

    /// How many frame numbers the table covers.
    pub fn frames(&self) -> usize {
        self.extra.len()
    }

    /// Counts one more mapping of `frame` (a single owner becomes two).
    /// Panics if `frame` is out of the table or the count would overflow.
    pub fn share(&mut self, frame: usize) {
        let extra = &mut self.extra[frame];
        *extra = extra
            .checked_add(1)
            .expect("FrameRefs::share: owner count overflow");
    }

    /// Owners of `frame`: at least 1 (the table cannot tell a frame in use
    /// by one task from a free one). Panics if `frame` is out of the table.
    pub fn count(&self, frame: usize) -> u32 {
        self.extra[frame] + 1
    }

    /// True when more than one mapping owns `frame`, so writes must copy.
    pub fn is_shared(&self, frame: usize) -> bool {
        self.extra[frame] > 0
    }

    /// Drops one owner of `frame`. True if that was the last one: the caller
    /// frees the frame. Panics if `frame` is out of the table.
    pub fn release(&mut self, frame: usize) -> bool {
        let extra = &mut self.extra[frame];
        if *extra == 0 {
            true
        } else {
            *extra -= 1;
            false
        }
    }
}

/// What to do about a write to a present copy-on-write page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CowAction {
    /// Others still map the frame: copy it into a fresh frame, map that one
    /// writable in place of the old, and release the old frame.
    CopyPage,
    /// The faulting task is the only owner: make the entry writable again.
    ReuseInPlace,
}

/// The copy-on-write decision for a frame with `owners` owners (as
/// [`FrameRefs::count`] gives it): copy while shared, reuse when alone (0 counts as alone).
pub fn cow_action(owners: u32) -> CowAction {
    if owners > 1 {
        CowAction::CopyPage
    } else {
        CowAction::ReuseInPlace
    }
}

#[cfg(test)]
mod tests;
