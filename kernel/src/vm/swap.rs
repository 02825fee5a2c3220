//! Reclaim and swap-in for an address space (CONTRACTS.md section 10).
//!
//! When a fault of this space finds no free frame, [`AddressSpace::user_frame`]
//! reclaims one instead of failing: first the page cache's clean pages that no
//! task maps (read again on their next use), then one of this space's own
//! anonymous pages, chosen by the clock (`lazuli_vm::Clock`: second chance over
//! the entries' accessed bits) and written to a swap slot. Order: unmap (the entry
//! names the slot now), flush, write, then free the frame — the page is never
//! reachable while its bytes are in flight. A page shared copy-on-write (more
//! than one owner) is **skipped**, never evicted: without a reverse map its other
//! mappings could not be told. Page-table pages and kernel frames are never candidates.
//!
//! A touch of a swapped page faults (not present); the fault path finds the slot
//! in the entry and [`AddressSpace::swap_in`] reads it back into a fresh frame.
//! numpp counts present pages: a page written out leaves it and comes back with
//! the swap-in. Exit, kill and munmap release the slots of swapped pages, fork
//! shares them (`mem::paging`).
//!
//! Not yet: reclaim from other tasks' spaces (a task under pressure evicts its own
//! pages only), a low-water mark with reclaim ahead of need, dirty file pages.
use super::space::{AddressSpace, flags_for};
use crate::{
    block::swap,
    mem::{
        frame,
        paging::{OutOfFrames, leaf_frame, set_swapped, swapped},
    },
};
use lazuli_vm::{FileKey, Prot, RegionKind, RegionSet, SwapEntry, Verdict};
use x86_64::structures::paging::{PageTableFlags as Flags, PhysFrame};

/// Free frames reclaim keeps: a fault's page-table pages (up to 3) and room for
/// the kernel, so that reclaim itself never starts from nothing.
const RESERVE: usize = 16;

/// Victims one reclaim tries before it gives up.
const EVICT_TRIES: usize = 8;

/// Why a swap-in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapInError {
    OutOfFrames,
    Io,
}

impl AddressSpace {
    /// A frame for one of this space's pages (zeroed if asked), reclaiming one
    /// if none is free. Err only when nothing could be reclaimed.
    pub fn user_frame(&mut self, zeroed: bool) -> Result<PhysFrame, OutOfFrames> {
        // Keep a few frames free for what the fault needs besides the page (the
        // tables of its walk) and for the kernel itself.
        while frame::free_frames() < RESERVE && self.reclaim_one() {}
        loop {
            let got = if zeroed {
                frame::allocate_zeroed()
            } else {
                frame::allocate()
            };
            if let Some(f) = got {
                return Ok(f);
            }
            if !self.reclaim_one() {
                return Err(OutOfFrames);
            }
        }
    }

    /// Reclaims until `frames` frames (and the reserve) are free, or nothing more
    /// can go: fork calls it for the child's page tables.
    pub fn make_room(&mut self, frames: usize) {
        while frame::free_frames() < frames + RESERVE && self.reclaim_one() {}
    }

    /// Frees at least one frame; false if nothing could be reclaimed.
    fn reclaim_one(&mut self) -> bool {
        if crate::fs::mapped::shed_clean_pages() > 0 {
            return true;
        }
        // A victim that cannot go after all leaves the ring; try a few more.
        (0..EVICT_TRIES).any(|_| self.evict_one())
    }

    /// Evicts one idle page of this space: an anonymous page (or a private copy)
    /// to the swap area, or a file page it alone maps back to its file.
    fn evict_one(&mut self) -> bool {
        let active = self.tables.is_active();
        let tables = &mut self.tables;
        let regions = &self.regions;
        let victim = self.resident.select(|page| {
            let Some(entry) = tables.leaf(page) else {
                return Verdict::Gone;
            };
            let flags = entry.flags();
            if entry.is_unused() || swapped(entry).is_some() || !flags.contains(Flags::PRESENT) {
                return Verdict::Gone;
            }
            let owners = frame::owners(leaf_frame(entry));
            if owners > 1 && !(owners == 2 && file_page(regions, page).is_some()) {
                // Shared copy-on-write, or a file page others map too: skipped,
                // and out of the ring, so that scans stay short; a write that
                // makes it private again puts it back (`cow`).
                return Verdict::Gone;
            }
            if flags.contains(Flags::ACCESSED) {
                entry.set_flags(flags - Flags::ACCESSED);
                if active {
                    x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(page));
                }
                return Verdict::Referenced;
            }
            Verdict::Idle
        });
        let Some(page) = victim else {
            return false;
        };
        let entry = self.tables.leaf(page).expect("the victim is present");
        if frame::owners(leaf_frame(entry)) == 2
            && let Some((file, index, shared)) = file_page(&self.regions, page)
        {
            return self.evict_file_page(page, file, index, shared);
        }
        let Some(slot) = swap::allocate() else {
            self.resident.insert(page); // still resident; the area is full
            return false;
        };
        let entry = self.tables.leaf(page).expect("the victim is present");
        let (old, flags) = (leaf_frame(entry), entry.flags());
        set_swapped(entry, slot);
        self.flush(page);
        let written = frame::with_contents(old, |bytes| swap::write_page(slot, bytes));
        if written.is_err() {
            // Put the page back as it was: nothing was lost.
            let entry = self.tables.leaf(page).expect("just swapped");
            entry.set_frame(old, flags);
            swap::release(slot);
            self.resident.insert(page);
            return false;
        }
        frame::release(old);
        self.present -= 1;
        true
    }

    /// Evicts a file page this space alone maps (the cache is its other owner):
    /// unmapped and flushed first, written to the file if it was stored to, then
    /// dropped from the cache; its next touch reads it again. Mapped back if the
    /// cache cannot let it go.
    fn evict_file_page(&mut self, page: u64, file: FileKey, index: u64, shared: bool) -> bool {
        let entry = self.tables.leaf(page).expect("the victim is present");
        let (old, flags) = (leaf_frame(entry), entry.flags());
        entry.set_unused();
        self.flush(page);
        let stored = shared && flags.contains(Flags::DIRTY);
        if crate::fs::mapped::evict_cached(file, index, old, stored) {
            frame::release(old); // this mapping's share: the last one
            self.present -= 1;
            return true;
        }
        // Not the cache's page after all (a private copy shared by fork), or the
        // write failed: mapped back, and left out of the ring (skipped, like
        // other shared pages).
        let entry = self.tables.leaf(page).expect("just unmapped");
        entry.set_frame(old, flags);
        self.flush(page);
        false
    }

    /// The swap slot the entry for `page` names, if the page is swapped out.
    pub fn swapped_slot(&mut self, page: u64) -> Option<SwapEntry> {
        self.tables.leaf(page).and_then(|e| swapped(e))
    }

    /// Brings `page` back from `slot` into a fresh frame mapped with `prot`.
    pub fn swap_in(&mut self, page: u64, slot: SwapEntry, prot: Prot) -> Result<(), SwapInError> {
        let fresh = self
            .user_frame(false)
            .map_err(|_| SwapInError::OutOfFrames)?;
        let read = frame::with_contents(fresh, |bytes| swap::read_page(slot, bytes));
        if read.is_err() {
            frame::free(fresh);
            return Err(SwapInError::Io);
        }
        let entry = self.tables.leaf(page).expect("a swapped page has tables");
        entry.set_frame(fresh, flags_for(prot));
        swap::release(slot);
        self.present += 1;
        self.resident.insert(page);
        Ok(())
    }
}

/// The file page `page` shows, if it lies in a file region: (file, index, shared).
fn file_page(regions: &RegionSet, page: u64) -> Option<(FileKey, u64, bool)> {
    match regions.find(page)?.kind {
        RegionKind::File(map) => Some((map.file, map.page_of(page), map.shared)),
        _ => None,
    }
}
