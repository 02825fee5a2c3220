//! The copy-on-write fault: a write to a present, read-only page of a writable
//! region. The decision (`lazuli_vm::cow_action`) depends on how many mappings own
//! the frame: while shared, copy it into a fresh frame; when alone, just restore
//! write access. numpp does not change either way (the page was already present).
use super::space::{AddressSpace, flags_for};
use crate::mem::{frame, paging::OutOfFrames};
use lazuli_vm::{CowAction, Prot, cow_action};
use x86_64::structures::paging::PageTableFlags as Flags;

impl AddressSpace {
    /// Gives this space a private, writable `page` (mapped with `prot`).
    pub fn resolve_cow(&mut self, page: u64, prot: Prot) -> Result<(), OutOfFrames> {
        let entry = self
            .tables
            .leaf(page)
            .expect("a copy-on-write page is present");
        let old = entry.frame().expect("present");
        let flags = flags_for(prot) | Flags::WRITABLE;
        match cow_action(frame::owners(old)) {
            CowAction::ReuseInPlace => {
                entry.set_flags(flags);
                self.join_clock(page); // private again: reclaim may take it
            }
            CowAction::CopyPage => {
                let new = self.user_frame(false)?;
                // Reclaim may have changed the tables: find the entry again.
                let entry = self
                    .tables
                    .leaf(page)
                    .expect("a copy-on-write page is present");
                super::fault_timing::filling(|| frame::copy(old, new));
                entry.set_frame(new, flags);
                frame::release(old);
                self.join_clock(page);
            }
        }
        self.flush(page);
        Ok(())
    }
}
