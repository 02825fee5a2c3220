//! Where a user page's frame comes from when none is free (CONTRACTS.md section 10).
//!
//! Every frame a fault needs goes through [`AddressSpace::user_frame`]. While the
//! free count is below [`LOW_MARK`] — and always when no frame is left — it
//! reclaims before it allocates, one frame at a time, cheapest first:
//!
//! 1. clean page-cache pages no task maps (dropped; read again on their next use);
//! 2. one resident page of some task, chosen by that space's clock (second chance
//!    over the accessed bits, `lazuli_vm::Clock`) and written out by
//!    `AddressSpace::evict_one` (`swap`): anonymous pages and private copies to a
//!    swap slot, file pages to their file.
//!
//! Whose page: the hand of a clock over the **tasks** moves one task on at every
//! eviction, the faulting task included, so every task gives back pages at the same
//! pace and each one's clock picks its idlest. A task that cannot give one (all its
//! pages shared, or none resident) is passed over. Finer than one global clock
//! over every frame (which would need a reverse map from frames to their
//! mappings), and enough that a memory hog cannot keep its pages by pushing out
//! only its own: everyone's idle pages go, and come back when touched.
//!
//! The kernel never reclaims for itself: the mark keeps frames free for the page
//! tables of a fault, fork's tables and the kernel's own needs.
use super::space::AddressSpace;
use crate::{
    mem::frame::{self, FrameUse},
    mem::paging::OutOfFrames,
    task::sched,
};
use core::sync::atomic::{AtomicU64, Ordering};
use lazuli_api::Pid;
use x86_64::structures::paging::PhysFrame;

/// Below this many free frames every user-page allocation reclaims first: room
/// for a fault's page tables (up to 3), a fork's and the kernel's.
pub const LOW_MARK: usize = 64;

/// Victims one task is asked for before the hand moves on.
const EVICT_TRIES: usize = 8;

/// The task the hand last took a page from (0: none yet).
static HAND: AtomicU64 = AtomicU64::new(0);

impl AddressSpace {
    /// A frame for one of this space's pages (zeroed if asked), reclaiming one
    /// if none is free: counted, its one owner the caller's mapping (which
    /// releases it if it cannot map it after all). Err only when nothing could be
    /// reclaimed.
    #[inline(always)]
    pub fn user_frame(&mut self, zeroed: bool) -> Result<PhysFrame, OutOfFrames> {
        if let Some(f) = user_frame_over(LOW_MARK, zeroed) {
            return Ok(f); // the common case: one lock
        }
        while frame::free_frames() < LOW_MARK && self.reclaim_one() {}
        loop {
            // Below the mark now only if nothing more could be reclaimed: take any.
            if let Some(f) = user_frame_over(0, zeroed) {
                return Ok(f);
            }
            if !self.reclaim_one() {
                return Err(OutOfFrames);
            }
        }
    }

    /// Reclaims until `frames` frames (and the mark) are free, or nothing more
    /// can go: fork calls it for the child's page tables, file faults for the
    /// page the cache may have to read.
    pub fn make_room(&mut self, frames: usize) {
        while frame::free_frames() < frames + LOW_MARK && self.reclaim_one() {}
    }

    /// Frees at least one frame; false if nothing could be reclaimed. `self` is the
    /// active space (its task is in the table with its space taken out).
    fn reclaim_one(&mut self) -> bool {
        if crate::fs::mapped::shed_clean_pages() > 0 {
            return true;
        }
        let me = sched::current().map_or(0, |p| p.0);
        // The table is locked only if nothing else holds it (a fault inside code
        // that holds it would deadlock); then only this space can give pages.
        let Some(mut table) = sched::SCHED.try_lock() else {
            return self.evict_some();
        };
        let after = HAND.load(Ordering::Relaxed);
        let later = table.tasks.range(Pid(after + 1)..);
        let mut pids: alloc::vec::Vec<u64> = later.map(|(p, _)| p.0).collect();
        pids.extend(table.tasks.range(..=Pid(after)).map(|(p, _)| p.0));
        if pids.is_empty() {
            pids.push(me);
        }
        for pid in pids {
            let gave = if pid == me {
                self.evict_some()
            } else {
                let task = table.tasks.get_mut(&Pid(pid));
                task.and_then(|t| t.space.as_mut())
                    .is_some_and(AddressSpace::evict_some)
            };
            if gave {
                HAND.store(pid, Ordering::Relaxed);
                return true;
            }
        }
        false
    }

    /// One page of this space evicted, trying a few victims (one that cannot go
    /// after all leaves the ring).
    fn evict_some(&mut self) -> bool {
        (0..EVICT_TRIES).any(|_| self.evict_one())
    }
}

/// A counted user frame (zeroed if asked) while at least `mark` frames are free.
#[inline(always)]
fn user_frame_over(mark: usize, zeroed: bool) -> Option<PhysFrame> {
    let (f, is_zero) = frame::allocate_over_mark(mark, zeroed, FrameUse::User)?;
    let f = frame::counted(f);
    if zeroed && !is_zero {
        super::fault_timing::filling(|| frame::zero(f)); // the pool was empty
    }
    Some(f)
}
