//! A task's reserved regions: the stack, its guard, the heap, the seed mmap
//! region and the regions of the extended `map`, kept as disjoint
//! page-aligned ranges in a [`RegionSet`].
//!
//! The set is the answer to "is this address part of the task, and with
//! which rights?". Its page total is `numvp`. It records reservations only:
//! whether a page is present (backed by a frame) is the page table's business
//! and is not tracked here.
//!
//! Invariants of a [`RegionSet`], kept by every operation:
//! - regions are page aligned, non-empty and never overlap;
//! - two regions that touch differ in kind or prot (touching regions of the
//!   same kind and prot are merged into one on insert);
//! - the running page total equals the sum of the regions' pages.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;

use crate::addr::{PAGE_SIZE, is_page_aligned};
use crate::layout::{GUARD_BOTTOM, STACK_BOTTOM, STACK_TOP};
use crate::prot::Prot;

/// What a region is for. Kinds decide merging and the guard-page kill.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RegionKind {
    /// The task's stack, below `STACK_TOP`.
    Stack,
    /// No-access pages below the stack; any touch kills.
    Guard,
    /// The sbrk heap, eagerly backed.
    Heap,
    /// The region made by the seed `mmap(n)`, lazily backed.
    Mmap,
    /// A region made by the extended `map`, lazily backed.
    Anon,
    /// A window onto a file's cached pages (see [`crate::file`]), lazily backed.
    File(crate::file::FileMap),
}

impl fmt::Display for RegionKind {
    /// Lowercase name: `stack`, `guard`, `heap`, `mmap`, `anon`, `file`; honours width.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            RegionKind::Stack => "stack",
            RegionKind::Guard => "guard",
            RegionKind::Heap => "heap",
            RegionKind::Mmap => "mmap",
            RegionKind::Anon => "anon",
            RegionKind::File(_) => "file",
        })
    }
}

/// The half-open range `[start, end)` of user pages with one kind and prot.
/// Well formed when both ends are page aligned and `start < end`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Region {
    pub start: u64,
    pub end: u64,
    pub kind: RegionKind,
    pub prot: Prot,
}

impl Region {
    /// Number of pages in the region.
    pub const fn pages(&self) -> u64 {
        self.len() / PAGE_SIZE
    }

    /// True when `start <= addr < end`.
    pub const fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }

    /// Length in bytes.
    #[expect(
        clippy::len_without_is_empty,
        reason = "a well-formed region is never empty"
    )]
    pub const fn len(&self) -> u64 {
        self.end - self.start
    }

    /// True when both ends are page aligned and `start < end`, the shape a
    /// [`RegionSet`] requires.
    pub const fn is_well_formed(&self) -> bool {
        is_page_aligned(self.start) && is_page_aligned(self.end) && self.start < self.end
    }

    /// True when `self` and `other` have the same kind and prot, so that
    /// touching they would be one region.
    fn same_sort(&self, other: &Region) -> bool {
        self.kind == other.kind && self.prot == other.prot
    }
}

impl fmt::Display for Region {
    /// `0xSTART-0xEND kind prot`, e.g. `0x40000000-0x40002000 mmap rw`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:#x}-{:#x} {} {}",
            self.start, self.end, self.kind, self.prot
        )
    }
}

/// Returned by [`RegionSet::insert`] when the new region would overlap a
/// region already in the set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap;

impl fmt::Display for Overlap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("overlaps an existing region")
    }
}

/// A task's regions, keyed by start address, with a running page total.
///
/// [`RegionSet::find`] remembers the region it found last, as Linux's `find_vma`
/// long did (`mmap_cache`, then the per-thread `vmacache`): a fault is most often
/// in the region of the one before, which then costs no tree search. Every change
/// to the set forgets it.
#[derive(Clone, Default, Debug)]
pub struct RegionSet {
    by_start: BTreeMap<u64, Region>,
    pages: u64,
    last_found: Cell<Option<Region>>,
}

impl PartialEq for RegionSet {
    /// The same regions (which region `find` remembers does not matter).
    fn eq(&self, other: &Self) -> bool {
        self.by_start == other.by_start
    }
}

impl Eq for RegionSet {}

impl RegionSet {
    /// An empty set: no regions, zero pages.
    pub const fn new() -> Self {
        RegionSet {
            by_start: BTreeMap::new(),
            pages: 0,
            last_found: Cell::new(None),
        }
    }

    /// Adds `r`, merging it with a touching neighbour of the same kind and
    /// prot. Returns `Err(Overlap)` and changes nothing if `r` overlaps any
    /// region. Panics if `r` is not well formed (a caller bug).
    pub fn insert(&mut self, r: Region) -> Result<(), Overlap> {
        assert!(
            r.is_well_formed(),
            "RegionSet::insert: malformed region {r:?}"
        );
        if self.overlaps(r.start, r.end) {
            return Err(Overlap);
        }
        self.last_found.set(None); // it may be merged away
        self.pages += r.pages();
        let mut merged = r;
        if let Some((_, &left)) = self.by_start.range(..r.start).next_back()
            && left.end == r.start
            && left.same_sort(&r)
        {
            self.by_start.remove(&left.start);
            merged.start = left.start;
        }
        if let Some(&right) = self.by_start.get(&r.end)
            && right.same_sort(&r)
        {
            self.by_start.remove(&right.start);
            merged.end = right.end;
        }
        self.by_start.insert(merged.start, merged);
        Ok(())
    }

    /// The region containing `addr`, if any: O(1) when it is the one found last,
    /// O(log n) otherwise.
    #[inline(always)]
    pub fn find(&self, addr: u64) -> Option<Region> {
        if let Some(r) = self.last_found.get().filter(|r| r.contains(addr)) {
            return Some(r);
        }
        let found = self
            .by_start
            .range(..=addr)
            .next_back()
            .map(|(_, r)| *r)
            .filter(|r| r.contains(addr));
        if found.is_some() {
            self.last_found.set(found);
        }
        found
    }

    /// True when some region shares at least one byte with `[start, end)`.
    /// An empty range overlaps nothing.
    pub fn overlaps(&self, start: u64, end: u64) -> bool {
        if start >= end {
            return false;
        }
        // Regions are disjoint and sorted, so the last one starting before
        // `end` is the one reaching furthest up.
        self.by_start
            .range(..end)
            .next_back()
            .is_some_and(|(_, r)| r.end > start)
    }

    /// True when every byte of `[start, end)` lies in some region (the
    /// regions may be several, touching). True for an empty range.
    pub fn covers(&self, start: u64, end: u64) -> bool {
        let mut covered = start;
        for r in self.regions_in(start, end) {
            if r.start > covered {
                return false;
            }
            covered = r.end;
        }
        covered >= end
    }

    /// The regions in ascending address order.
    pub fn iter(&self) -> impl Iterator<Item = &Region> {
        self.by_start.values()
    }

    /// The regions sharing at least one byte with `[start, end)`, in
    /// ascending address order, unclipped. Empty for an empty or reversed range.
    pub fn regions_in(&self, start: u64, end: u64) -> impl Iterator<Item = &Region> {
        let end = end.max(start);
        let straddling = self
            .by_start
            .range(..start)
            .next_back()
            .map(|(_, r)| r)
            .filter(move |r| start < end && r.end > start);
        straddling
            .into_iter()
            .chain(self.by_start.range(start..end).map(|(_, r)| r))
    }

    /// Number of regions (after merging).
    pub fn len(&self) -> usize {
        self.by_start.len()
    }

    /// True when the set holds no region.
    pub fn is_empty(&self) -> bool {
        self.by_start.is_empty()
    }

    /// Sum of the regions' pages: the task's `numvp`. O(1).
    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Removes `[start, end)` from every region it touches, splitting regions
    /// that stick out on either side, and returns the removed pieces in
    /// address order. Panics unless both ends are page aligned and `start <= end`.
    pub fn remove_range(&mut self, start: u64, end: u64) -> Vec<Region> {
        assert!(
            is_page_aligned(start) && is_page_aligned(end) && start <= end,
            "RegionSet::remove_range: bad range {start:#x}..{end:#x}"
        );
        self.last_found.set(None);
        let mut removed = Vec::new();
        let touched: Vec<u64> = self.regions_in(start, end).map(|r| r.start).collect();
        for key in touched {
            let r = self.by_start.remove(&key).expect("key was just listed");
            self.pages -= r.pages();
            if r.start < start {
                self.put(Region { end: start, ..r });
            }
            if r.end > end {
                self.put(Region { start: end, ..r });
            }
            removed.push(Region {
                start: r.start.max(start),
                end: r.end.min(end),
                ..r
            });
        }
        removed
    }

    /// Removes every region.
    pub fn clear(&mut self) {
        self.last_found.set(None);
        self.by_start.clear();
        self.pages = 0;
    }

    /// Stores a piece cut from a region that was in the set: it cannot
    /// overlap anything nor need merging, since its neighbours are unchanged.
    fn put(&mut self, r: Region) {
        self.pages += r.pages();
        self.by_start.insert(r.start, r);
    }
}

impl fmt::Display for RegionSet {
    /// One region per line in address order, as [`Region`] displays it,
    /// then `N pages`: a picture for the playground's `show`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in self.iter() {
            writeln!(f, "{r}")?;
        }
        write!(f, "{} pages", self.pages)
    }
}

/// The regions of a fresh task: the stack `[STACK_BOTTOM, STACK_TOP)` rw and
/// the guard `[GUARD_BOTTOM, STACK_BOTTOM)` with no access. 9 pages of `numvp`.
pub fn fresh_task_regions() -> RegionSet {
    let mut set = RegionSet::new();
    let guard = Region {
        start: GUARD_BOTTOM,
        end: STACK_BOTTOM,
        kind: RegionKind::Guard,
        prot: Prot::NONE,
    };
    let stack = Region {
        start: STACK_BOTTOM,
        end: STACK_TOP,
        kind: RegionKind::Stack,
        prot: Prot::RW,
    };
    set.insert(guard)
        .expect("an empty set has room for the guard");
    set.insert(stack).expect("the stack sits above the guard");
    set
}

#[cfg(test)]
mod tests;
