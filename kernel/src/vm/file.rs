//! File regions on an address space: mapping a cached file page on a first touch,
//! finding the pages a task stored to through shared mappings, and keeping the page
//! cache told which files this space maps.
//!
//! A shared file page is the cache's own frame, mapped writable: stores go straight
//! into the file's one copy, and the hardware's dirty bit in the entry is the only
//! record that one happened. [`AddressSpace::harvest`] turns those bits into dirty
//! cache pages (clearing them, so the next store sets them again) before every
//! write-back a mapping owes: `msync`, `munmap`, the end of the task, `sync`.
//! A private file page is the cache's frame mapped read-only until the first
//! store, which copies it (the copy-on-write path: the cache is an owner too).
use super::space::{AddressSpace, flags_for};
use crate::{
    fs::mapped,
    mem::{frame, paging::OutOfFrames},
};
use alloc::{collections::BTreeSet, vec::Vec};
use lazuli_vm::{FileKey, FileMap, Prot, RegionKind, layout::USER_END};
use x86_64::structures::paging::{PageTableFlags as Flags, PhysFrame};

/// A page a task stored to through a shared mapping: file, page index, and the
/// frame the task maps there (the cache's page, unless the cache has let it go).
pub type Stored = (FileKey, u64, PhysFrame);

impl AddressSpace {
    /// Whether any region of this space maps a file (the fault path then asks the
    /// page cache for sizes).
    pub fn maps_files(&self) -> bool {
        !self.files.is_empty()
    }

    /// Maps the cache's `frame` at `page` (not present) with `prot`: one more owner.
    #[inline(always)]
    pub fn map_cached(
        &mut self,
        page: u64,
        frame: PhysFrame,
        prot: Prot,
    ) -> Result<(), OutOfFrames> {
        frame::share(frame);
        let result = self
            .tables
            .map(page, frame, flags_for(prot), &mut self.table_pages);
        match result {
            Ok(()) => self.became_resident(page),
            Err(_) => frame::release(frame),
        }
        result
    }

    /// Maps a private copy of the cache's `frame` at `page` (not present).
    pub fn map_copy(&mut self, page: u64, frame: PhysFrame, prot: Prot) -> Result<(), OutOfFrames> {
        // Held while reclaim may run, so that it cannot drop the page being copied.
        frame::share(frame);
        let copy = self.user_frame(false);
        let copy = copy.inspect(|&copy| super::fault_timing::filling(|| frame::copy(frame, copy)));
        frame::release(frame);
        let copy = copy?;
        let result = self
            .tables
            .map(page, copy, flags_for(prot), &mut self.table_pages);
        match result {
            Ok(()) => self.became_resident(page),
            Err(_) => frame::release(copy),
        }
        result
    }

    /// A store to a present, read-only page of a shared file region: the entry
    /// gets write access back (the frame is the file's, never copied).
    pub fn make_writable(&mut self, page: u64, prot: Prot) {
        let entry = self.tables.leaf(page).expect("a present page has tables");
        // Keep the dirty bit: stores made before the entry lost write access (a
        // fork took it) are still to be harvested.
        let dirty = entry.flags() & Flags::DIRTY;
        entry.set_flags(flags_for(prot) | dirty);
        self.flush(page);
    }

    /// The pages of shared file regions in [start, end) stored to since the last
    /// harvest (their entries' dirty bits, now cleared), in address order.
    pub fn harvest(&mut self, start: u64, end: u64) -> Vec<Stored> {
        let mut stored = Vec::new();
        if self.files.is_empty() {
            return stored;
        }
        let active = self.tables.is_active();
        let shared: Vec<(u64, u64, FileMap)> = self
            .regions
            .regions_in(start, end)
            .filter_map(|r| match r.kind {
                RegionKind::File(map) if map.shared => {
                    Some((r.start.max(start), r.end.min(end), map))
                }
                _ => None,
            })
            .collect();
        for (from, to, map) in shared {
            self.tables.for_each_present_entry(from, to, |page, entry| {
                let flags = entry.flags();
                if flags.contains(Flags::DIRTY) {
                    let frame = crate::mem::paging::leaf_frame(entry);
                    entry.set_flags(flags - Flags::DIRTY);
                    if active {
                        // The TLB may hold the entry as dirty; without the flush a
                        // later store would not set the bit again.
                        x86_64::instructions::tlb::flush(x86_64::VirtAddr::new(page));
                    }
                    stored.push((map.file, map.page_of(page), frame));
                }
                true
            });
        }
        stored
    }

    /// Brings the page cache's count of mappers up to date with this space's
    /// regions: files newly mapped gain this space, files no longer mapped lose it.
    pub fn note_files(&mut self) {
        let now: BTreeSet<FileKey> = self
            .regions
            .iter()
            .filter_map(|r| match r.kind {
                RegionKind::File(map) => Some(map.file),
                _ => None,
            })
            .collect();
        if now == self.files {
            return;
        }
        let gained: Vec<FileKey> = now.difference(&self.files).copied().collect();
        let lost: Vec<FileKey> = self.files.difference(&now).copied().collect();
        mapped::mappers_changed(&gained, &lost);
        self.files = now;
    }

    /// After regions changed and their pages were unmapped: the `stored` pages
    /// (harvested before) go to their files, and the mapper counts follow.
    pub fn settle_files(&mut self, stored: Vec<Stored>) {
        if !stored.is_empty() {
            // munmap cannot fail for a failed write-back (as in POSIX): the
            // error reaches the next msync or sync of the file, not this caller.
            let _ = mapped::write_back(&stored);
        }
        self.note_files();
    }

    /// The end of the space (exit or kill): what was stored through shared
    /// mappings goes to the files, which then forget this space.
    pub(super) fn release_files(&mut self) {
        if self.files.is_empty() {
            return;
        }
        let stored = self.harvest(0, USER_END);
        if !stored.is_empty() {
            let _ = mapped::write_back(&stored);
        }
        self.regions.clear();
        self.note_files();
    }
}

impl Drop for AddressSpace {
    fn drop(&mut self) {
        self.release_files();
    }
}

/// Every task's stores through shared mappings, harvested (for `sync`): the
/// active space's and those of every task not being polled.
pub fn harvest_everywhere() -> Vec<Stored> {
    let mut stored = super::active::with(|s| s.harvest(0, USER_END)).unwrap_or_default();
    let mut sched = crate::task::sched::SCHED.lock();
    for task in sched.tasks.values_mut() {
        if let Some(space) = task.space.as_mut() {
            stored.extend(space.harvest(0, USER_END));
        }
    }
    stored
}
