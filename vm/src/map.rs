//! `map`: where a new region of the extended API goes, and what it replaces.
//!
//! A request names a length, rights, a [`Placement`] and whether the region
//! is a guard. [`plan_map`] decides without changing anything; the kernel
//! unmaps the pages of [`MapPlan::replaced`] (only `Fixed` replaces), then
//! [`commit_map`] records the result. Pages of the new region are not
//! touched: they are backed lazily by the fault path.
//!
//! Placement rules:
//! - `Anywhere`: the lowest free range of the user part that fits (first fit
//!   over `[USER_START, MAP_END)` minus the regions).
//! - `Hint(a)`: the lowest free range at or above `a`; if none fits above,
//!   the lowest one from `USER_START` (the search wraps). The hint is only a
//!   hint, as in Linux: an unaligned hint is rounded *down* to its page and a
//!   hint outside the user part is not an error (below `USER_START` the
//!   search starts at `USER_START`; above the user part it wraps).
//! - `Fixed(a)`: exactly at `a`, replacing whatever overlaps (any kind,
//!   guard regions too). `a` must be page aligned.
//! - `FixedNoReplace(a)`: exactly at `a`, or [`VmError::Overlap`] if any
//!   region overlaps. `a` must be page aligned.
//!
//! Lengths are rounded up to whole pages. Errors, in the order of
//! [`crate::error`]: `ZeroLength`, `OutOfRange` (length), `Unaligned` (a file
//! offset, then fixed placements), `OutOfRange` (fixed range leaving the user part),
//! `Overlap` (`FixedNoReplace`), `NoMemory` (`Anywhere`/`Hint`, no room).
//!
//! Regions made by `map` have kind [`RegionKind::Anon`] (or
//! [`RegionKind::File`] for a file) and the effective
//! rights of the request (write or exec imply read, as on x86_64); a guard
//! request makes a [`RegionKind::Guard`] region with no access, whatever
//! `prot` says. Not handled yet: the break does not know about `map`
//! regions placed in the break area (a later `sbrk` simply fails on them).

use alloc::vec::Vec;

use crate::addr::{PAGE_SIZE, is_page_aligned, page_down, page_up};
use crate::error::VmError;
use crate::file::{FileKey, FileMap};
use crate::layout::{MAP_END, USER_START};
use crate::prot::Prot;
use crate::region::{Region, RegionKind, RegionSet};
use crate::request::{page_len, user_range};

/// Where a `map` request wants its region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The lowest free range that fits.
    Anywhere,
    /// The nearest free range at or above this address (rounded down to its
    /// page), else the lowest one.
    Hint(u64),
    /// Exactly here, replacing what overlaps.
    Fixed(u64),
    /// Exactly here, or `Overlap` if anything is in the way.
    FixedNoReplace(u64),
}

/// A `map` call with its arguments decoded: length in bytes (rounded up to
/// pages), rights, placement, and whether to make a guard region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapRequest {
    pub len: u64,
    pub kind: MapKind,
    pub placement: Placement,
}

/// What a new region holds: memory with some rights, a window onto a file, or
/// a guard that kills on any access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// Anonymous zero-filled memory with these rights.
    Memory(Prot),
    /// The pages of `file` from byte `offset` (a multiple of the page size),
    /// shared or private (see [`crate::file`]), with these rights.
    File {
        prot: Prot,
        file: FileKey,
        offset: u64,
        shared: bool,
    },
    /// Guard pages: no access, ever; a touch is reported as `(guard page)`.
    Guard,
}

/// What a `map` will do: the new region, and the pieces of existing regions
/// it replaces (non-empty only for `Fixed`), clipped to the new range and in
/// address order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapPlan {
    /// The region to add; its `start` is what `map` returns.
    pub region: Region,
    /// Ranges the kernel must unmap (free their present pages) first.
    pub replaced: Vec<Region>,
}

impl RegionSet {
    /// First fit: the lowest `a >= from` (rounded up to a page, and at least
    /// `USER_START`) such that `[a, a + len)` is free and ends by `MAP_END`.
    /// Panics unless `len` is a non-zero multiple of `PAGE_SIZE`.
    pub fn find_free(&self, len: u64, from: u64) -> Option<u64> {
        assert!(
            len > 0 && is_page_aligned(len),
            "RegionSet::find_free: bad length {len:#x}"
        );
        let mut cursor = page_up(from)?.max(USER_START);
        for r in self.regions_in(cursor, MAP_END) {
            let end = cursor.checked_add(len).filter(|&e| e <= MAP_END)?;
            if end <= r.start {
                return Some(cursor);
            }
            cursor = cursor.max(r.end);
        }
        let end = cursor.checked_add(len)?;
        (end <= MAP_END).then_some(cursor)
    }
}

/// Decides where `req` goes and what it replaces; changes nothing.
/// Errors as listed in the module doc, checked in that order.
pub fn plan_map(regions: &RegionSet, req: &MapRequest) -> Result<MapPlan, VmError> {
    let len = page_len(req.len)?;
    if let MapKind::File { offset, .. } = req.kind
        && !is_page_aligned(offset)
    {
        return Err(VmError::Unaligned);
    }
    let (start, replaced) = match req.placement {
        Placement::Anywhere => (first_fit(regions, len, USER_START)?, Vec::new()),
        Placement::Hint(hint) => (first_fit(regions, len, page_down(hint))?, Vec::new()),
        Placement::Fixed(addr) => {
            let range = user_range(addr, len)?;
            let replaced = regions
                .regions_in(range.start, range.end)
                .map(|r| Region {
                    start: r.start.max(range.start),
                    end: r.end.min(range.end),
                    ..*r
                })
                .collect();
            (range.start, replaced)
        }
        Placement::FixedNoReplace(addr) => {
            let range = user_range(addr, len)?;
            if regions.overlaps(range.start, range.end) {
                return Err(VmError::Overlap);
            }
            (range.start, Vec::new())
        }
    };
    let (kind, prot) = match req.kind {
        MapKind::Guard => (RegionKind::Guard, Prot::NONE),
        MapKind::Memory(prot) => (RegionKind::Anon, prot.effective()),
        MapKind::File {
            prot,
            file,
            offset,
            shared,
        } => {
            let first = offset / PAGE_SIZE;
            let map = FileMap::starting_at(file, start, first, shared);
            (RegionKind::File(map), prot.effective())
        }
    };
    let region = Region {
        start,
        end: start + len,
        kind,
        prot,
    };
    Ok(MapPlan { region, replaced })
}

/// Records a planned `map`: removes the `replaced` ranges, then inserts the
/// region (merging with touching regions of the same kind and prot, as
/// [`RegionSet::insert`] does). Panics if `plan` is stale for `regions`.
pub fn commit_map(regions: &mut RegionSet, plan: &MapPlan) {
    for r in &plan.replaced {
        regions.remove_range(r.start, r.end);
    }
    regions
        .insert(plan.region)
        .expect("commit_map: stale plan, the range is no longer free");
}

/// First fit at or above `from`, wrapping to `USER_START`; `NoMemory` if the
/// user part has no free range of `len` bytes at all.
fn first_fit(regions: &RegionSet, len: u64, from: u64) -> Result<u64, VmError> {
    regions
        .find_free(len, from)
        .or_else(|| regions.find_free(len, USER_START))
        .ok_or(VmError::NoMemory)
}

#[cfg(test)]
mod tests;
