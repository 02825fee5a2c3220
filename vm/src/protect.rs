//! `mprotect`: changing the rights of a range of pages, splitting regions
//! at the ends of the range and merging the result with equal neighbours.
//!
//! Every page of the range must be in some region: a range that crosses a
//! gap fails with [`VmError::NotMapped`] and changes nothing (Linux answers
//! `ENOMEM` the same way). A range touching a guard region fails with
//! [`VmError::Guard`]: a guard is a reservation whose whole point is to kill
//! on access, so it cannot be made accessible. To get rid of a guard, unmap
//! it or map over it with `Fixed`. When a range has both a gap and a guard,
//! `NotMapped` wins.
//!
//! Any mix of rights may be asked for; it is stored as its effective rights
//! (write or exec imply read, so write-only becomes `rw`), which is what the
//! hardware enforces and what lets equal neighbours merge.
//!
//! [`plan_protect`] checks and changes nothing; the kernel then calls
//! [`RegionSet::protect`] with the range and rewrites the entries of the
//! present pages in it. A frame shared copy-on-write must stay read-only in
//! the page table even when the new rights allow writing: the write fault
//! resolves it (see [`crate::cow`]).

use core::ops::Range;

use crate::error::VmError;
use crate::prot::Prot;
use crate::region::{Region, RegionKind, RegionSet};
use crate::request::user_range;

/// The page range `mprotect(addr, len, prot)` changes: `len` rounded up to
/// pages. The range checks of [`user_range`], then `NotMapped` if a page is
/// in no region, then `Guard` if a page is in a guard region. Any prot is fine.
pub fn plan_protect(
    regions: &RegionSet,
    addr: u64,
    len: u64,
    _prot: Prot,
) -> Result<Range<u64>, VmError> {
    let range = user_range(addr, len)?;
    if !regions.covers(range.start, range.end) {
        return Err(VmError::NotMapped);
    }
    if regions
        .regions_in(range.start, range.end)
        .any(|r| r.kind == RegionKind::Guard)
    {
        return Err(VmError::Guard);
    }
    Ok(range)
}

impl RegionSet {
    /// Gives `[start, end)` the effective rights of `prot`: splits regions
    /// at both ends and merges equal neighbours (same kind and prot). Panics
    /// if the range is unaligned or not fully covered: plan it first.
    pub fn protect(&mut self, start: u64, end: u64, prot: Prot) {
        assert!(
            self.covers(start, end),
            "RegionSet::protect: {start:#x}..{end:#x} is not fully mapped"
        );
        let prot = prot.effective();
        for piece in self.remove_range(start, end) {
            // Re-inserting piece by piece merges each one with the piece
            // before it and, at the ends, with the regions outside the range.
            self.insert(Region { prot, ..piece })
                .expect("a piece just removed is free");
        }
    }
}

#[cfg(test)]
mod tests;
