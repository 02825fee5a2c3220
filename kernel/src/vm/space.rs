//! A task's address space: its page tables, its regions, its break, and the counters
//! `numpp` and `getptsize` kept exactly as the tables change.
use crate::mem::{
    frame,
    paging::{OutOfFrames, PageTables},
};
use lazuli_vm::{Break, Prot, RegionSet, fresh_task_regions};
use x86_64::structures::paging::PageTableFlags as Flags;

pub struct AddressSpace {
    tables: PageTables,
    pub regions: RegionSet,
    pub brk: Break,
    present: usize,
    table_pages: usize,
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

    /// Maps a freshly zeroed frame at `page` with `prot`.
    pub fn map_zeroed(&mut self, page: u64, prot: Prot) -> Result<(), OutOfFrames> {
        let frame = frame::allocate_zeroed().ok_or(OutOfFrames)?;
        let result = self
            .tables
            .map(page, frame, flags_for(prot), &mut self.table_pages);
        match result {
            Ok(()) => {
                self.present += 1;
                Ok(())
            }
            Err(e) => {
                frame::free(frame);
                Err(e)
            }
        }
    }

    /// A copy for a forked child: the same regions and break, and a private copy of
    /// every present page (same address, same flags). Pages never touched stay lazy.
    /// Walks present entries only. On running out of frames the partial copy is
    /// freed and nothing leaks.
    pub fn fork(&mut self) -> Result<Self, OutOfFrames> {
        let mut child = Self {
            tables: PageTables::new()?,
            regions: self.regions.clone(),
            brk: self.brk.clone(),
            present: 0,
            table_pages: 1,
        };
        let mut result = Ok(());
        self.tables.for_each_present(|page, frame, flags| {
            let Some(copy) = frame::allocate() else {
                result = Err(OutOfFrames);
                return false;
            };
            frame::copy(frame, copy);
            match child.tables.map(page, copy, flags, &mut child.table_pages) {
                Ok(()) => child.present += 1,
                Err(e) => {
                    frame::free(copy);
                    result = Err(e);
                }
            }
            result.is_ok()
        });
        result.map(|()| child) // on Err, dropping `child` frees what was copied
    }

    /// Unmaps [start, end): frees its present frames and the tables left empty.
    pub fn unmap(&mut self, start: u64, end: u64) {
        let freed = self.tables.free_range(start, end);
        self.present -= freed.pages;
        self.table_pages -= freed.tables;
    }
}

/// Page-table flags for a region's protection. NX on everything not executable.
fn flags_for(prot: Prot) -> Flags {
    let mut flags = Flags::PRESENT;
    if prot.writable() {
        flags |= Flags::WRITABLE;
    }
    if !prot.executable() {
        flags |= Flags::NO_EXECUTE;
    }
    flags
}
