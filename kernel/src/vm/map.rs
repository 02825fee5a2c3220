//! The extended mapping calls on an address space: `map` (any number of regions,
//! placed anywhere, at a hint, or fixed), `munmap` of any page range, and `mprotect`.
//! Arguments are checked and placements decided by `lazuli_vm` (pure); here the
//! page tables follow: frames freed on unmap, present entries re-flagged on protect.
use super::space::{AddressSpace, flags_for};
use crate::mem::{
    frame,
    paging::{FLUSH_ALL_PAGES, leaf_frame},
};
use alloc::vec::Vec;
use lazuli_vm::{MapRequest, Prot, VmError, commit_map, plan_map, plan_protect, plan_unmap};
use x86_64::structures::paging::PageTableFlags as Flags;

impl AddressSpace {
    /// Reserves a region as `req` asks; returns its start. Allocates no frame; a
    /// `Fixed` request first unmaps what it replaces.
    pub fn map(&mut self, req: &MapRequest) -> Result<u64, VmError> {
        let plan = plan_map(&self.regions, req)?;
        let stored: Vec<_> = plan
            .replaced
            .iter()
            .flat_map(|r| self.harvest(r.start, r.end))
            .collect();
        commit_map(&mut self.regions, &plan);
        for r in &plan.replaced {
            self.unmap(r.start, r.end);
        }
        self.settle_files(stored);
        Ok(plan.region.start)
    }

    /// Drops [addr, addr + len) from every region; frees its present frames and
    /// the page tables left empty; a later access faults as not mapped.
    pub fn munmap(&mut self, addr: u64, len: u64) -> Result<(), VmError> {
        let range = plan_unmap(&self.regions, addr, len)?;
        let stored = self.harvest(range.start, range.end);
        self.regions.remove_range(range.start, range.end);
        self.unmap(range.start, range.end);
        self.settle_files(stored);
        Ok(())
    }

    /// Changes the rights of [addr, addr + len), splitting regions as needed and
    /// updating present entries. A shared (copy-on-write) frame stays read-only.
    pub fn mprotect(&mut self, addr: u64, len: u64, prot: Prot) -> Result<(), VmError> {
        let range = plan_protect(&self.regions, addr, len, prot)?;
        self.regions.protect(range.start, range.end, prot);
        let flags = flags_for(prot.effective());
        // The pages whose entries changed, to flush one by one; past the array's
        // size, one full flush is cheaper.
        let mut changed = [0u64; FLUSH_ALL_PAGES as usize];
        let mut count = 0;
        self.tables
            .for_each_present_entry(range.start, range.end, |page, entry| {
                let shared = frame::owners(leaf_frame(entry)) > 1;
                // The dirty bit stays: a shared file page's stores are still owed
                // to the file (see `file`).
                let dirty = entry.flags() & Flags::DIRTY;
                entry.set_flags(
                    dirty
                        | if shared {
                            flags - Flags::WRITABLE
                        } else {
                            flags
                        },
                );
                if let Some(slot) = changed.get_mut(count) {
                    *slot = page;
                }
                count += 1;
                true
            });
        if count > changed.len() {
            self.flush_all();
        } else {
            changed[..count].iter().for_each(|&page| self.flush(page));
        }
        Ok(())
    }
}
