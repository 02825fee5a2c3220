//! The program break, shared by the seed `mmap` and `sbrk` (xv6 semantics).
//!
//! The break area starts at `BREAK_START` and grows up towards `BREAK_LIMIT`:
//!
//! ```text
//!   BREAK_START        heap_floor                          brk
//!   |  sbrk heap (eager)  |  seed mmap region (lazy)  |  sbrk heap (eager)  |
//! ```
//!
//! `mmap(n)` reserves `n` bytes at the (page-rounded) break without backing
//! them and moves the break past them; it succeeds once per task. `sbrk`
//! moves the break either way; the pages it adds are backed eagerly by the
//! kernel. The break never drops below the heap floor: the end of the seed
//! region, or `BREAK_START` before there is one.
//!
//! `sbrk` is split in two so that the kernel can fail cleanly in between:
//! [`Break::plan_sbrk`] says which pages to populate or free and changes
//! nothing; after the kernel did it, [`Break::commit_sbrk`] records the result.
//!
//! Not handled yet: regions the extended API places inside the break area;
//! a shrinking `sbrk` removes whatever regions lie in its unmap range.

use core::ops::Range;

use crate::addr::{is_page_aligned, page_up};
use crate::layout::{BREAK_LIMIT, BREAK_START};
use crate::prot::Prot;
use crate::region::{Region, RegionKind, RegionSet};

/// A task's program break and whether its one seed `mmap` has happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// The current break (any byte address, not necessarily page aligned).
    brk: u64,
    /// True once the seed `mmap` has succeeded.
    mmap_used: bool,
    /// The lowest break `sbrk` may reach.
    heap_floor: u64,
}

/// The pages an `sbrk` needs: populate `map`, or free `unmap` (the other one
/// is empty; both are empty when the page-rounded break does not move).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbrkPlan {
    pub old_brk: u64,
    pub new_brk: u64,
    pub map: Range<u64>,
    pub unmap: Range<u64>,
}

impl Default for Break {
    fn default() -> Self {
        Break::new()
    }
}

impl Break {
    /// A fresh task's break: at `BREAK_START`, no seed `mmap` yet.
    pub const fn new() -> Self {
        Break {
            brk: BREAK_START,
            mmap_used: false,
            heap_floor: BREAK_START,
        }
    }

    /// The current break: what `sbrk(0)` returns.
    pub fn current(&self) -> u64 {
        self.brk
    }

    /// True once the seed `mmap` has succeeded (a second call fails).
    pub fn mmap_used(&self) -> bool {
        self.mmap_used
    }

    /// The lowest break `sbrk` may reach: the end of the seed region, or
    /// `BREAK_START` before there is one.
    pub fn floor(&self) -> u64 {
        self.heap_floor
    }

    /// The seed call: reserves `nbytes` at the page-rounded break as an rw
    /// Mmap region in `regions`, moves the break to its end and returns it.
    /// `None` (changing nothing) unless `nbytes` is a positive multiple of 4096,
    /// this is the first success, and the region fits below `BREAK_LIMIT` without overlap.
    pub fn mmap(&mut self, regions: &mut RegionSet, nbytes: isize) -> Option<Region> {
        if self.mmap_used || nbytes <= 0 {
            return None;
        }
        let len = u64::try_from(nbytes).ok()?;
        if !is_page_aligned(len) {
            return None;
        }
        let start = page_up(self.brk)?;
        let end = start.checked_add(len)?;
        if end > BREAK_LIMIT {
            return None;
        }
        let region = Region {
            start,
            end,
            kind: RegionKind::Mmap,
            prot: Prot::RW,
        };
        regions.insert(region).ok()?;
        self.brk = end;
        self.heap_floor = end;
        self.mmap_used = true;
        Some(region)
    }

    /// Plans `sbrk(delta)`: `None` if the new break would fall below the floor,
    /// pass `BREAK_LIMIT`, overflow, or grow onto an existing region.
    /// Pure: the kernel populates `map` / frees `unmap`, then calls `commit_sbrk`.
    pub fn plan_sbrk(&self, regions: &RegionSet, delta: isize) -> Option<SbrkPlan> {
        let new_brk = self.brk.checked_add_signed(i64::try_from(delta).ok()?)?;
        if new_brk < self.heap_floor || new_brk > BREAK_LIMIT {
            return None;
        }
        let old_top = page_up(self.brk)?;
        let new_top = page_up(new_brk)?;
        let map = old_top..new_top.max(old_top);
        let unmap = new_top.min(old_top)..old_top;
        if regions.overlaps(map.start, map.end) {
            return None;
        }
        Some(SbrkPlan {
            old_brk: self.brk,
            new_brk,
            map,
            unmap,
        })
    }

    /// Records a planned `sbrk` once the kernel has populated or freed its
    /// pages: adds `map` as an rw Heap region, removes `unmap`, moves the break.
    /// Panics if `plan` was not made from this break and these regions.
    pub fn commit_sbrk(&mut self, regions: &mut RegionSet, plan: &SbrkPlan) {
        assert_eq!(plan.old_brk, self.brk, "commit_sbrk: stale plan");
        if !plan.map.is_empty() {
            let heap = Region {
                start: plan.map.start,
                end: plan.map.end,
                kind: RegionKind::Heap,
                prot: Prot::RW,
            };
            regions
                .insert(heap)
                .expect("commit_sbrk: the heap range was free when planned");
        }
        if !plan.unmap.is_empty() {
            regions.remove_range(plan.unmap.start, plan.unmap.end);
        }
        self.brk = plan.new_brk;
    }
}

#[cfg(test)]
mod tests;
