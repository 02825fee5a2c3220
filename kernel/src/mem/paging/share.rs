//! Fork's copy-on-write table copy: the child gets tables of its own whose leaves
//! map the parent's frames, read-only on both sides.
use super::{OutOfFrames, PageTables, leaf_frame, table};
use crate::mem::frame;
use lazuli_vm::SwapEntry;
use x86_64::{
    PhysAddr,
    instructions::tlb,
    structures::paging::{PageTable, PageTableFlags as Flags, PhysFrame},
};

impl PageTables {
    /// Shares every present user page with `child` (fresh, empty) for copy-on-write:
    /// builds the child's tables level by level, each leaf entry mapping the same
    /// frame read-only in both; `share(frame)` is called for each leaf the child
    /// got. Returns (pages shared, tables created). On running out of frames the
    /// child holds a consistent part and is the caller's to drop.
    pub fn share_into(
        &mut self,
        child: &mut PageTables,
        pool: &mut frame::Sharing,
    ) -> (usize, usize, Result<(), OutOfFrames>) {
        let mut counts = (0, 0);
        // SAFETY: `&mut self` and `&mut child` own their roots and user-part tables.
        let result =
            unsafe { share_level(table(self.root), table(child.root), 4, pool, &mut counts) };
        if self.is_active() {
            tlb::flush_all(); // write access was taken away from present pages
        }
        (counts.0, counts.1, result)
    }
}

/// The leaves of [`share_level`]: each used entry of `from` loses WRITABLE and is
/// copied to `to`, its frame shared (a leaf made inaccessible by `mprotect` keeps
/// its frame, so it is shared the same way); a swapped entry's slot gains the
/// child. Read and written as raw words: the loop runs once per present page of a
/// fork, and the entry API's checks cost more than the work.
fn share_leaves(
    from: &mut PageTable,
    to: &mut PageTable,
    pool: &mut frame::Sharing,
    counts: &mut (usize, usize),
) {
    const WRITABLE: u64 = Flags::WRITABLE.bits();
    const ADDRESS: u64 = 0x000f_ffff_ffff_f000;
    let mut shared_pages = 0;
    for (parent, child) in words(from).iter_mut().zip(words(to).iter_mut()) {
        let raw = *parent;
        if raw == 0 {
            continue;
        }
        if let Some(slot) = SwapEntry::decode(raw) {
            crate::block::swap::share(slot); // the child refers to the same slot
            *child = slot.encode();
            continue;
        }
        let shared = raw & !WRITABLE;
        *parent = shared;
        *child = shared;
        pool.share(PhysFrame::containing_address(PhysAddr::new(raw & ADDRESS)));
        shared_pages += 1;
    }
    counts.0 += shared_pages;
}

/// A table's 512 entries as the raw words the hardware reads.
fn words(t: &mut PageTable) -> &mut [u64; 512] {
    // SAFETY: `PageTable` is `repr(C)` around 512 entries, each `repr(transparent)`
    // over a u64: the same bytes, and the borrow is the table's.
    unsafe { &mut *core::ptr::from_mut(t).cast::<[u64; 512]>() }
}

/// Copies the present structure below `from` into `to` (tables at `level`), leaves
/// read-only in both (see [`PageTables::share_into`]); counts (pages, tables).
///
/// # Safety
/// `from` and `to` (and everything below) must be distinct tables the caller owns.
unsafe fn share_level(
    from: &mut PageTable,
    to: &mut PageTable,
    level: u32,
    pool: &mut frame::Sharing,
    counts: &mut (usize, usize),
) -> Result<(), OutOfFrames> {
    if level == 1 {
        share_leaves(from, to, pool, counts);
        return Ok(());
    }
    let entries = if level == 4 { 256 } else { 512 };
    for (i, entry) in from.iter_mut().enumerate().take(entries) {
        if entry.is_unused() {
            continue;
        }
        let frame = leaf_frame(entry);
        let below = pool.table().ok_or(OutOfFrames)?;
        to[i].set_frame(below, entry.flags());
        counts.1 += 1;
        // SAFETY: (recursion) `below` is fresh and ours; `frame` is the parent's.
        unsafe { share_level(table(frame), table(below), level - 1, pool, counts)? };
    }
    Ok(())
}
