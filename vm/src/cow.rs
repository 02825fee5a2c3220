//! Copy-on-write for fork: what the first write to a shared page should do,
//! given how many mappings own its frame (the owner counts live in the frame
//! pool's records, [`crate::FramePool`]). Pure: nothing is copied or mapped.
//!
//! How the kernel uses it:
//!
//! - **fork**: each present page of the parent is mapped in the child to the
//!   *same* frame; both entries lose their write bit; [`FramePool::share`](crate::FramePool::share)
//!   counts the new owner.
//! - **write fault**: [`crate::resolve_fault`] answers
//!   [`FaultAction::CopyOnWrite`](crate::FaultAction::CopyOnWrite) for a
//!   write to a present page of a writable region. [`cow_action`] on the
//!   frame's [`FramePool::owners`](crate::FramePool::owners) then says: [`CowAction::CopyPage`] (still
//!   shared: copy into a fresh frame, map it writable, release the old
//!   frame) or [`CowAction::ReuseInPlace`] (the last owner: set the write bit
//!   back on the entry, nothing copied).
//! - **unmap and exit**: each present page's frame is released with
//!   [`FramePool::release`](crate::FramePool::release); the frame goes back to the allocator only when
//!   that was its last owner.
//!
//! Not here yet: counting the owners of page-table pages (only leaf frames
//! are shared), and sharing the frames of the break's eagerly backed heap
//! differently from lazily backed regions (they are treated alike).

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
/// [`FramePool::owners`](crate::FramePool::owners) gives it): copy while shared, reuse when alone (0 counts as alone).
pub fn cow_action(owners: u32) -> CowAction {
    if owners > 1 {
        CowAction::CopyPage
    } else {
        CowAction::ReuseInPlace
    }
}

#[cfg(test)]
mod tests;
