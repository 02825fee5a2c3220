//! A task's address space: its page tables, its regions, its break, and the counters
//! `numpp` and `getptsize` kept exactly as the tables change.
use super::swap::SwapInError;
use crate::mem::{
    frame,
    paging::{OutOfFrames, PageTables},
};
use alloc::collections::BTreeSet;
use lazuli_vm::{Break, Clock, FileKey, Prot, RegionSet, fresh_task_regions};
use x86_64::structures::paging::PageTableFlags as Flags;

pub struct AddressSpace {
    pub(super) tables: PageTables,
    pub regions: RegionSet,
    pub brk: Break,
    pub(super) present: usize,
    pub(super) table_pages: usize,
    /// The files this space's regions map (the page cache counts this space as
    /// one mapper of each; see `file`).
    pub(super) files: BTreeSet<FileKey>,
    /// Resident anonymous pages, in the order reclaim looks at them (see `swap`).
    pub(super) resident: Clock<u64>,
}

impl AddressSpace {
    /// A fresh task's space: empty user part, the stack and its guard reserved.
    pub fn new() -> Result<Self, OutOfFrames> {
        Ok(Self {
            tables: PageTables::new()?,
            regions: fresh_task_regions(),
            brk: Break::new(),
            present: 0,
            table_pages: 1,
            files: BTreeSet::new(),
            resident: Clock::new(),
        })
    }

    /// Loads this space into CR3 (no-op if it is already there).
    pub fn activate(&self) {
        self.tables.activate();
    }

    /// Reserved pages of the user part.
    pub fn numvp(&self) -> usize {
        self.regions.pages() as usize
    }

    /// Present 4 KiB pages of the user part.
    pub fn numpp(&self) -> usize {
        self.present
    }

    /// Page-table pages: the root plus every table below it in the user part.
    pub fn getptsize(&self) -> usize {
        self.table_pages
    }

    /// Addresses of the present pages of the user part, in order.
    pub fn present_pages(&mut self) -> alloc::vec::Vec<usize> {
        let mut pages = alloc::vec::Vec::with_capacity(self.present);
        self.tables.for_each_present(|page, _, _| {
            pages.push(page as usize);
            true
        });
        pages
    }

    /// Addresses of the user part's pages that are in the swap area, in order.
    pub fn swapped_pages(&mut self) -> alloc::vec::Vec<usize> {
        let mut pages = alloc::vec::Vec::new();
        self.tables
            .for_each_swapped(|page, _| pages.push(page as usize));
        pages
    }

    /// The flags of the entry mapping `page`, if its tables exist and it is used
    /// (for tests that look at what the hardware sees).
    pub fn leaf_flags(&mut self, page: u64) -> Option<Flags> {
        let entry = self.tables.leaf(page)?;
        (!entry.is_unused()).then(|| entry.flags())
    }

    /// Backs an anonymous `page` at its first touch with a freshly zeroed frame
    /// mapped with `prot` — or, if its entry names a swap slot (the page was
    /// written out), with the page read back into that same frame.
    #[inline(always)]
    pub fn map_zeroed(&mut self, page: u64, prot: Prot) -> Result<(), SwapInError> {
        let frame = self
            .user_frame(true)
            .map_err(|_| SwapInError::OutOfFrames)?;
        let flags = flags_for(prot);
        match self
            .tables
            .map_if_unused(page, frame, flags, &mut self.table_pages)
        {
            Ok(true) => {
                self.became_resident(page);
                Ok(())
            }
            Ok(false) => {
                let slot = self
                    .swapped_slot(page)
                    .expect("an anonymous entry in use is swapped");
                self.swap_in_to(page, slot, prot, frame)
            }
            Err(OutOfFrames) => {
                frame::release(frame);
                Err(SwapInError::OutOfFrames)
            }
        }
    }

    /// Bookkeeping for a page that just got a frame of its own in this space (a
    /// first touch, a file page, a page back from swap): numpp, the TLB-growth
    /// schedule, and the reclaim clock.
    #[inline(always)]
    pub(super) fn became_resident(&mut self, page: u64) {
        self.present += 1;
        super::tlb::grew(self.present);
        self.join_clock(page);
    }

    /// Puts a page of this space's own in the reclaim clock. The clock is not told
    /// when pages go (the hand drops them when it meets them); an insert into a
    /// ring far longer than the pages present first drops the entries of pages
    /// no longer present, so that churn without memory pressure stays bounded.
    #[inline(always)]
    pub(super) fn join_clock(&mut self, page: u64) {
        let tables = &mut self.tables;
        self.resident.insert(page, self.present, |p| {
            tables
                .leaf(p)
                .is_some_and(|e| e.flags().contains(Flags::PRESENT))
        });
    }

    /// Flushes `page` from the TLB if this space is the active one.
    pub(super) fn flush(&self, page: u64) {
        if self.tables.is_active() {
            x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(page));
        }
    }

    /// Flushes the whole TLB (non-global entries) if this space is the active one.
    pub(super) fn flush_all(&self) {
        if self.tables.is_active() {
            x86_64::instructions::tlb::flush_all();
        }
    }

    /// Unmaps [start, end): frees its present frames and the tables left empty.
    pub fn unmap(&mut self, start: u64, end: u64) {
        let freed = self.tables.free_range(start, end);
        self.present -= freed.pages;
        self.table_pages -= freed.tables;
    }
}

/// Page-table flags for a region's protection: USER always, NX on everything not
/// executable.
/// No access at all is an entry without PRESENT that keeps its frame (x86 cannot
/// express "present but unreadable"); such a page still counts in numpp.
pub(super) fn flags_for(prot: Prot) -> Flags {
    if !prot.readable() {
        return Flags::empty();
    }
    let mut flags = Flags::PRESENT | Flags::USER_ACCESSIBLE;
    if prot.writable() {
        flags |= Flags::WRITABLE;
    }
    if !prot.executable() {
        flags |= Flags::NO_EXECUTE;
    }
    flags
}
