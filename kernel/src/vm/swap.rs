//! Reclaim and swap-in for an address space (CONTRACTS.md section 10).
//!
//! `reclaim` decides when and whose; this is how one page goes: [`AddressSpace::
//! evict_one`] takes the idlest page of the space's clock (`lazuli_vm::Clock`:
//! second chance over the entries' accessed bits) and writes an anonymous page or
//! a private copy to a swap slot, a file page to its file. Order: unmap (the entry
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
use super::space::{AddressSpace, flags_for};
use crate::{
    block::swap,
    mem::{
        frame::{self, FrameUse},
        paging::{leaf_frame, set_swapped, swapped},
    },
};
use lazuli_vm::{FileKey, Prot, RegionKind, RegionSet, SwapEntry, Verdict};
use x86_64::structures::paging::{PageTableFlags as Flags, PhysFrame};

/// Why a page could not be backed: a swap-in, or a first touch that found its
/// page in swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapInError {
    OutOfFrames,
    Io,
}

impl AddressSpace {
    /// Evicts one idle page of this space: an anonymous page (or a private copy)
    /// to the swap area, or a file page it alone maps back to its file.
    pub(super) fn evict_one(&mut self) -> bool {
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
            let frame = leaf_frame(entry);
            if !matches!(frame::use_of(frame), FrameUse::User | FrameUse::Cache) {
                // The record says it is not a task's page (never so today): a
                // table or kernel frame is never evicted.
                return Verdict::Pinned;
            }
            let owners = frame::owners(frame);
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
        if self.write_out(page) {
            return true;
        }
        self.join_clock(page); // still resident: the area is full, or the write failed
        false
    }

    /// Writes the anonymous page (or private copy) at `page`, present and owned
    /// by this space alone, to a fresh swap slot: unmap (the entry names the
    /// slot), flush, write, free. False, with the page as it was, if no slot is
    /// free or the write fails.
    fn write_out(&mut self, page: u64) -> bool {
        let Some(slot) = swap::allocate() else {
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
            return false;
        }
        frame::release(old);
        self.present -= 1;
        true
    }

    /// Evicts this space's page at `addr` now (the benchmark's `swap_out`): the
    /// ticks [`Self::write_out`] took, or None unless the page is present,
    /// anonymous (or a private copy) and this space's alone.
    pub fn swap_out_now(&mut self, addr: u64) -> Option<u64> {
        let page = lazuli_vm::page_down(addr);
        let entry = self.tables.leaf(page)?;
        let present = entry.flags().contains(Flags::PRESENT) && swapped(entry).is_none();
        if !present || frame::owners(leaf_frame(entry)) != 1 {
            return None;
        }
        let t0 = crate::arch::cpu::rdtsc();
        let done = self.write_out(page);
        let ticks = crate::arch::cpu::rdtsc() - t0;
        done.then_some(ticks) // the ring forgets the page lazily (`Gone`)
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
        self.swap_in_to(page, slot, prot, fresh)
    }

    /// Reads `page` back from `slot` into `fresh` (a counted frame the caller got
    /// for it) and maps it with `prot`; `fresh` is released if the read fails.
    pub(super) fn swap_in_to(
        &mut self,
        page: u64,
        slot: SwapEntry,
        prot: Prot,
        fresh: PhysFrame,
    ) -> Result<(), SwapInError> {
        let read = frame::with_contents(fresh, |bytes| swap::read_page(slot, bytes));
        if read.is_err() {
            frame::release(fresh);
            return Err(SwapInError::Io);
        }
        let entry = self.tables.leaf(page).expect("a swapped page has tables");
        entry.set_frame(fresh, flags_for(prot));
        swap::release(slot);
        self.became_resident(page);
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
