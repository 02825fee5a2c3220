//! fork's copy of an address space, in two flavours:
//!
//! - [`AddressSpace::fork_cow`] (the default): every present page is shared, read-only
//!   in both, its frame's owner count raised; the first write on either side copies
//!   (see `cow`). Costs one entry per present page and no frame.
//! - [`AddressSpace::fork_copy`] (the seed's): every present page is copied into a
//!   fresh frame at once.
//!
//! Both keep the regions, the break and the one-region rule, leave untouched pages
//! lazy, and walk present entries only (cost follows present pages, not region size).
//! Counters follow CONTRACTS.md: a shared page is present in both tasks.
use super::space::AddressSpace;
use crate::mem::{
    frame,
    paging::{OutOfFrames, PageTables},
};
use lazuli_vm::ForkPages;

impl AddressSpace {
    /// A child with the same layout and no pages yet.
    fn empty_child(&self) -> Result<Self, OutOfFrames> {
        let tables = PageTables::new()?;
        let files: alloc::vec::Vec<_> = self.files.iter().copied().collect();
        crate::fs::mapped::mappers_changed(&files, &[]);
        Ok(Self {
            tables,
            regions: self.regions.clone(),
            brk: self.brk.clone(),
            present: 0,
            table_pages: 1,
            files: self.files.clone(),
            resident: self.resident.clone(),
        })
    }

    /// The seed's fork: a private copy of every present page — except the pages
    /// of shared file mappings, which stay the file's one copy in both. On
    /// running out of frames the partial copy is freed and nothing leaks.
    pub fn fork_copy(&mut self) -> Result<Self, OutOfFrames> {
        // Room for a copy of every present page and the tables first: the walk
        // below cannot reclaim (it holds the tables). Pages reclaim takes from
        // this space on the way are swapped by then, and the child shares the slot.
        self.make_room(self.present + self.table_pages);
        let mut child = self.empty_child()?;
        let mut result = Ok(());
        let regions = &self.regions;
        self.tables.for_each_present(|page, frame, flags| {
            let kind = regions.find(page).map(|r| r.kind);
            if kind.is_some_and(|k| k.fork_pages() == ForkPages::Share) {
                frame::share(frame);
                match child.tables.map(page, frame, flags, &mut child.table_pages) {
                    Ok(()) => child.present += 1,
                    Err(e) => {
                        frame::release(frame);
                        result = Err(e);
                    }
                }
                return result.is_ok();
            }
            let Some(copy) = frame::allocate(frame::FrameUse::User) else {
                result = Err(OutOfFrames);
                return false;
            };
            let copy = frame::counted(copy);
            frame::copy(frame, copy);
            match child.tables.map(page, copy, flags, &mut child.table_pages) {
                Ok(()) => child.present += 1,
                Err(e) => {
                    frame::release(copy);
                    result = Err(e);
                }
            }
            result.is_ok()
        });
        if result.is_ok() {
            // Pages in the swap area: the child refers to the same slots.
            let mut swapped = alloc::vec::Vec::new();
            self.tables
                .for_each_swapped(|page, slot| swapped.push((page, slot)));
            for (page, slot) in swapped {
                crate::block::swap::share(slot);
                if let Err(e) = child
                    .tables
                    .place_swapped(page, slot, &mut child.table_pages)
                {
                    crate::block::swap::release(slot);
                    result = Err(e);
                    break;
                }
            }
        }
        result.map(|()| child) // on Err, dropping `child` frees what was copied
    }

    /// Copy-on-write fork: present pages shared read-only. Needs frames only for the
    /// child's page tables, which are built by copying the parent's structure (not
    /// page by page through the mapper). On running out, the child is dropped (its
    /// shares released) and the parent keeps its pages, some now read-only — the
    /// next write to them just restores write access (the owner count is back to 1).
    pub fn fork_cow(&mut self) -> Result<Self, OutOfFrames> {
        // The child's tables (as many as ours) may have to come from reclaim.
        self.make_room(self.table_pages);
        let mut child = self.empty_child()?;
        let (pages, tables, result) =
            frame::sharing(|pool| self.tables.share_into(&mut child.tables, pool));
        child.present = pages;
        child.table_pages += tables;
        result.map(|()| child)
    }
}
