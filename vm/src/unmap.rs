//! `munmap`: which range to drop from a task's regions.
//!
//! Any page-aligned range of the user part may be unmapped: whole regions,
//! the head or tail of one, a hole in the middle (the region splits in two),
//! or a range spanning several regions and the gaps between them. Regions of
//! every kind may be unmapped, guard regions and the stack included (the
//! user asked for it; a later touch is then `not mapped`).
//!
//! Unmapping a range that holds no region is not an error: it succeeds and
//! frees nothing, as on Linux.
//!
//! [`plan_unmap`] only checks the arguments; the kernel then calls
//! [`RegionSet::remove_range`] on the range (which returns the removed
//! pieces) and frees the present pages in it. Not handled yet: the break
//! does not notice when `munmap` removes part of the heap or the seed region.

use core::ops::Range;

use crate::error::VmError;
use crate::region::RegionSet;
use crate::request::user_range;

/// The page range `munmap(addr, len)` removes: `len` rounded up to pages.
/// `ZeroLength`, `OutOfRange`, `Unaligned` (addr) or `OutOfRange` (leaves the
/// user part), in that order; `Ok` even if the range holds no region.
pub fn plan_unmap(_regions: &RegionSet, addr: u64, len: u64) -> Result<Range<u64>, VmError> {
    // The regions do not matter today: any aligned user range may be
    // unmapped. They are taken so that rules about them (say, sealed
    // regions) can come without changing the kernel's call.
    user_range(addr, len)
}

#[cfg(test)]
mod tests;
