//! Page tables: the kernel's own, and one per task.
//!
//! [`PageTables`] owns a task's PML4 and every table below it in the user part. It
//! maps through the x86_64 crate's `OffsetPageTable` (tables reached through the
//! physical-memory map) and walks its own tables to free ranges. It knows nothing of
//! regions: what should be mapped is decided in `lazuli_vm`; this is the cache.
mod share;

use super::{
    frame,
    frame::{FrameUse, TableFrames},
    phys_to_virt,
};
use lazuli_vm::{SwapEntry, layout::USER_END};
use spin::Once;
use x86_64::{
    PhysAddr, VirtAddr,
    instructions::tlb,
    registers::control::{Cr3, Cr3Flags},
    structures::paging::{
        Mapper, OffsetPageTable, Page, PageTable, PageTableFlags as Flags, PhysFrame, Size4KiB,
        mapper::MapToError, page_table::PageTableEntry,
    },
};

static KERNEL_ROOT: Once<PhysFrame> = Once::new();

/// Above this many pages, one full TLB flush beats page-by-page `invlpg`.
pub const FLUSH_ALL_PAGES: u64 = 32;

/// Records the boot PML4 (active now) as the kernel's own root.
pub fn init() {
    KERNEL_ROOT.call_once(|| Cr3::read().0);
}

fn kernel_root() -> PhysFrame {
    *KERNEL_ROOT.get().expect("paging::init first")
}

/// The table stored in `frame`, through the physical-memory map.
///
/// # Safety
/// `frame` must hold a page table that nothing else mutates during the borrow.
unsafe fn table(frame: PhysFrame) -> &'static mut PageTable {
    // SAFETY: per the contract; the physical-memory map covers every frame.
    unsafe { &mut *phys_to_virt(frame.start_address()).as_mut_ptr::<PageTable>() }
}

/// Maps one kernel-half page in the kernel root (boot time only: see `mem`).
pub fn map_kernel(addr: u64, frame: PhysFrame, flags: Flags) {
    let root = kernel_root();
    // SAFETY: at boot nothing else touches the kernel root; the offset is the
    // bootloader's physical-memory map.
    let mut mapper = unsafe { OffsetPageTable::new(table(root), phys_to_virt(PhysAddr::new(0))) };
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(addr));
    let mut tables = TableFrames { allocated: 0 };
    // SAFETY: the page is in the kernel window reserved for this use; frame is fresh.
    unsafe { mapper.map_to(page, frame, flags, &mut tables) }
        .expect("kernel mapping")
        .flush();
}

/// Maps one kernel-half page that ring 3 may use (the user-mode trampoline), in a
/// top-level slot of its own so that no other kernel mapping gains the USER bit on
/// its walk. Boot time only, like [`map_kernel`].
pub fn map_kernel_user_page(addr: u64, frame: PhysFrame, flags: Flags) {
    let slot = VirtAddr::new(addr).p4_index();
    // SAFETY: at boot nothing else touches the kernel root; it is only read here.
    let unused = unsafe { table(kernel_root())[slot].is_unused() };
    assert!(unused, "the user page's top-level slot must be its own");
    assert!(flags.contains(Flags::USER_ACCESSIBLE));
    // The mapper gives new parent tables the leaf's PRESENT, WRITABLE and USER bits.
    map_kernel(addr, frame, flags);
}

/// Switches to the kernel's own root (between tasks).
pub fn activate_kernel() {
    activate_root(kernel_root());
}

fn activate_root(root: PhysFrame) {
    if Cr3::read().0 != root {
        // SAFETY: every root we switch to maps the whole kernel half identically.
        unsafe { Cr3::write(root, Cr3Flags::empty()) };
    }
}

/// The kernel ran out of frames while mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutOfFrames;

/// What freeing a range gave back.
#[derive(Debug, Default, Clone, Copy)]
pub struct Freed {
    pub pages: usize,
    pub tables: usize,
}

/// A task's page tables: the root and everything it owns below USER_END.
pub struct PageTables {
    root: PhysFrame,
}

impl PageTables {
    /// A root whose user half is empty and whose kernel half is the kernel's.
    pub fn new() -> Result<Self, OutOfFrames> {
        let root = frame::allocate_zeroed(FrameUse::Table).ok_or(OutOfFrames)?;
        let root = frame::counted(root);
        // SAFETY: `root` is fresh; the kernel root is only read.
        let (new, kernel) = unsafe { (table(root), table(kernel_root())) };
        for i in 256..512 {
            new[i] = kernel[i].clone();
        }
        Ok(Self { root })
    }

    /// Makes this the active address space (CR3), unless it already is.
    pub fn activate(&self) {
        activate_root(self.root);
    }

    fn mapper(&mut self) -> OffsetPageTable<'_> {
        // SAFETY: `&mut self` owns the tables; the offset is the physical-memory map.
        unsafe { OffsetPageTable::new(table(self.root), phys_to_virt(PhysAddr::new(0))) }
    }

    /// Maps `frame` at `page` (whose entry must be unused) with `flags`, creating
    /// tables on the way; adds the number of page-table pages the walk created to
    /// `tables_created` (also when it then fails for want of a frame: those tables
    /// stay, empty, and are counted).
    #[inline(always)]
    pub fn map(
        &mut self,
        page: u64,
        frame: PhysFrame,
        flags: Flags,
        tables_created: &mut usize,
    ) -> Result<(), OutOfFrames> {
        let mapped = self.map_if_unused(page, frame, flags, tables_created)?;
        assert!(mapped, "mapping {page:#x}: its entry is in use");
        Ok(())
    }

    /// The mapper's way, for a page whose walk lacks tables: creates them.
    fn map_with_new_tables(
        &mut self,
        page: u64,
        frame: PhysFrame,
        flags: Flags,
        tables_created: &mut usize,
    ) -> Result<(), OutOfFrames> {
        let page = Page::<Size4KiB>::containing_address(VirtAddr::new(page));
        // User pages carry USER at every level of their walk (the kernel half never).
        let parents = Flags::PRESENT | Flags::WRITABLE | Flags::USER_ACCESSIBLE;
        let mut tables = TableFrames { allocated: 0 };
        // SAFETY: the page is in the user part (which only this struct maps) and was
        // not present (callers map only after a not-present fault or a fresh plan).
        let result = unsafe {
            self.mapper()
                .map_to_with_table_flags(page, frame, flags, parents, &mut tables)
        };
        *tables_created += tables.allocated;
        match result {
            Ok(flush) => {
                // The entry was not present before, and x86 never caches a
                // not-present translation: nothing stale to invalidate.
                flush.ignore();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(OutOfFrames),
            Err(e) => panic!("mapping {:#x}: {e:?}", page.start_address().as_u64()),
        }
    }

    /// Maps `frame` at `page` unless the page's entry is in use (it names a swap
    /// slot, say): then returns Ok(false) and changes nothing. One walk of the
    /// task's own tables when they reach the page (the common case); through the
    /// x86_64 crate's mapper, which creates the missing tables, when they do not.
    #[inline(always)]
    pub fn map_if_unused(
        &mut self,
        page: u64,
        frame: PhysFrame,
        flags: Flags,
        tables_created: &mut usize,
    ) -> Result<bool, OutOfFrames> {
        match self.leaf(page) {
            // Parents made by the mapper here or by fork carry PRESENT, WRITABLE and
            // USER; the entry was not present, so no TLB holds it.
            Some(entry) if entry.is_unused() => entry.set_frame(frame, flags),
            Some(_) => return Ok(false),
            None => self.map_with_new_tables(page, frame, flags, tables_created)?,
        }
        Ok(true)
    }

    /// Calls `visit(address, frame, flags)` for every present page of the user part,
    /// in address order, until it returns false. Visits only present entries: empty
    /// tables are skipped whole, so the cost follows the present pages, not the size
    /// of the regions.
    pub fn for_each_present(&mut self, mut visit: impl FnMut(u64, PhysFrame, Flags) -> bool) {
        self.for_each_present_entry(0, USER_END, |page, entry| {
            visit(page, leaf_frame(entry), entry.flags())
        });
    }

    /// Like [`Self::for_each_present`], limited to [start, end), handing out the
    /// leaf entries themselves. A caller that changes an entry of the active space
    /// must flush that page.
    pub fn for_each_present_entry(
        &mut self,
        start: u64,
        end: u64,
        mut visit: impl FnMut(u64, &mut PageTableEntry) -> bool,
    ) {
        // SAFETY: `&mut self` owns the root and the user-part tables below it.
        unsafe { visit_level(table(self.root), 4, 0, start, end.min(USER_END), &mut visit) };
    }

    /// Calls `visit(address, slot)` for every swapped-out page of the user part.
    pub fn for_each_swapped(&mut self, mut visit: impl FnMut(u64, SwapEntry)) {
        let mut pages = alloc::vec::Vec::new();
        // SAFETY: `&mut self` owns the root and the user-part tables below it.
        unsafe { swapped_level(table(self.root), 4, 0, &mut pages) };
        pages.into_iter().for_each(|(page, slot)| visit(page, slot));
    }

    /// Makes the (unused) entry for `page` name swap `slot`, creating tables on
    /// the way (counted into `tables_created`).
    pub fn place_swapped(
        &mut self,
        page: u64,
        slot: SwapEntry,
        tables_created: &mut usize,
    ) -> Result<(), OutOfFrames> {
        // Frame 0 is never handed out: a placeholder while the walk builds tables.
        let placeholder = PhysFrame::containing_address(PhysAddr::new(0));
        self.map(page, placeholder, Flags::PRESENT, tables_created)?;
        let entry = self.leaf(page).expect("just mapped");
        set_swapped(entry, slot);
        if self.is_active() {
            tlb::flush(VirtAddr::new(page));
        }
        Ok(())
    }

    /// The leaf entry mapping `page`, if its tables exist (the entry may be unused).
    #[inline(always)]
    pub fn leaf(&mut self, page: u64) -> Option<&mut PageTableEntry> {
        let addr = VirtAddr::new(page);
        // SAFETY: `&mut self` owns the tables; each step follows a present entry.
        unsafe {
            let mut t = table(self.root);
            for index in [addr.p4_index(), addr.p3_index(), addr.p2_index()] {
                let entry = &t[index];
                if entry.is_unused() {
                    return None;
                }
                t = table(entry.frame().ok()?);
            }
            Some(&mut t[addr.p1_index()])
        }
    }

    /// Whether this is the address space in CR3 (so changed entries need a flush).
    pub fn is_active(&self) -> bool {
        Cr3::read().0 == self.root
    }

    /// Unmaps every present page in [start, end) (a frame is freed with its last
    /// owner), then frees every table that became empty. The root is kept.
    pub fn free_range(&mut self, start: u64, end: u64) -> Freed {
        let mut freed = Freed::default();
        let end = end.min(USER_END);
        if start >= end {
            return freed;
        }
        // Large ranges: one full flush at the end beats an invlpg per page.
        let flush_all = self.is_active() && (end - start) / lazuli_vm::PAGE_SIZE > FLUSH_ALL_PAGES;
        let flush_each = self.is_active() && !flush_all;
        frame::releasing(|release| {
            // SAFETY: `&mut self` owns the root and the user-part tables below it.
            unsafe {
                free_level(
                    table(self.root),
                    4,
                    0,
                    start,
                    end,
                    flush_each,
                    release,
                    &mut freed,
                )
            };
        });
        if flush_all {
            tlb::flush_all();
        }
        freed
    }
}

impl Drop for PageTables {
    /// Frees everything: the user part's pages and tables, then the root. The caller
    /// must not have this root active (it switches to the kernel's first).
    fn drop(&mut self) {
        assert!(!self.is_active(), "dropping the active address space");
        self.free_range(0, USER_END);
        frame::release(self.root);
    }
}

/// Frees leaves in [start, end) below `t` (a table at `level`, 4 = PML4, whose first
/// entry maps `base`), visiting only the entries that overlap the range. Returns
/// whether `t` is now empty.
///
/// # Safety
/// `t` and every table below it must belong to the caller's address space.
#[allow(clippy::too_many_arguments)]
unsafe fn free_level(
    t: &mut PageTable,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    flush: bool,
    release: &mut frame::Release,
    freed: &mut Freed,
) -> bool {
    let (first, last) = entry_span(level, base, start, end);
    for i in first..last {
        let entry = &mut t[i];
        if entry.is_unused() {
            continue;
        }
        let lo = base + ((i as u64) << (12 + 9 * (level - 1)));
        let child = leaf_frame(entry);
        if level == 1 {
            if let Some(slot) = swapped(entry) {
                // Not present, not counted: its slot loses one user.
                crate::block::swap::release(slot);
                entry.set_unused();
                continue;
            }
            release.release(child);
            entry.set_unused();
            freed.pages += 1;
            if flush {
                tlb::flush(VirtAddr::new(lo));
            }
            // SAFETY: (recursion) the child table is ours, per the contract.
        } else if unsafe {
            free_level(
                table(child),
                level - 1,
                lo,
                start,
                end,
                flush,
                release,
                freed,
            )
        } {
            entry.set_unused();
            release.release(child);
            freed.tables += 1;
        }
    }
    let entries = if level == 4 { 256 } else { 512 };
    t.iter().take(entries).all(|e| e.is_unused())
}

/// The entries of a table at `level` (mapping from `base`) that overlap
/// [start, end): a half-open index range, within the user half at level 4.
fn entry_span(level: u32, base: u64, start: u64, end: u64) -> (usize, usize) {
    let shift = 12 + 9 * (level - 1);
    let entries: u64 = if level == 4 { 256 } else { 512 };
    let first = start.saturating_sub(base) >> shift;
    let last = (end.saturating_sub(base)).div_ceil(1 << shift);
    (first.min(entries) as usize, last.min(entries) as usize)
}

/// Visits present leaves in [start, end) below `t` (a table at `level` whose first
/// entry maps `base`); stops early, returning false, when `visit` does.
///
/// # Safety
/// `t` and every table below it must belong to the caller's address space.
unsafe fn visit_level(
    t: &mut PageTable,
    level: u32,
    base: u64,
    start: u64,
    end: u64,
    visit: &mut impl FnMut(u64, &mut PageTableEntry) -> bool,
) -> bool {
    let span = 1u64 << (12 + 9 * (level - 1));
    let entries = if level == 4 { 256 } else { 512 };
    for (i, entry) in t.iter_mut().enumerate().take(entries) {
        let lo = base + i as u64 * span;
        if entry.is_unused() || lo + span <= start || lo >= end {
            continue;
        }
        let go_on = if level == 1 {
            // A swapped-out page is not present: no walker of present pages sees it.
            swapped(entry).is_some() || visit(lo, entry)
        } else {
            let child = entry.frame().expect("4 KiB pages only");
            // SAFETY: (recursion) the child table is ours, per the contract.
            unsafe { visit_level(table(child), level - 1, lo, start, end, visit) }
        };
        if !go_on {
            return false;
        }
    }
    true
}

/// The swap slot a leaf entry names, if its page is swapped out.
pub fn swapped(entry: &PageTableEntry) -> Option<SwapEntry> {
    SwapEntry::decode(entry.addr().as_u64() | entry.flags().bits())
}

/// Makes a leaf entry name swap `slot` (not present). A caller changing an entry
/// of the active space must flush the page.
pub fn set_swapped(entry: &mut PageTableEntry, slot: SwapEntry) {
    let raw = slot.encode();
    entry.set_addr(
        PhysAddr::new(raw & !0xfff),
        Flags::from_bits_retain(raw & 0xfff),
    );
}

/// The frame a used entry points at. A leaf may be *inaccessible* rather than
/// present — `mprotect(…, none)` clears PRESENT but keeps the frame (and its data) —
/// so leaves are read by address, not through `frame()` (which wants PRESENT).
pub fn leaf_frame(entry: &PageTableEntry) -> PhysFrame {
    PhysFrame::containing_address(entry.addr())
}

/// Collects (address, slot) of the swapped leaves below `t` (a table at `level`
/// whose first entry maps `base`).
///
/// # Safety
/// `t` and every table below it must belong to the caller's address space.
unsafe fn swapped_level(
    t: &PageTable,
    level: u32,
    base: u64,
    out: &mut alloc::vec::Vec<(u64, SwapEntry)>,
) {
    let span = 1u64 << (12 + 9 * (level - 1));
    let entries = if level == 4 { 256 } else { 512 };
    for (i, entry) in t.iter().enumerate().take(entries) {
        let lo = base + i as u64 * span;
        if entry.is_unused() {
            continue;
        }
        if level == 1 {
            if let Some(slot) = swapped(entry) {
                out.push((lo, slot));
            }
        } else {
            let child = entry.frame().expect("4 KiB pages only");
            // SAFETY: (recursion) the child table is ours, per the contract.
            unsafe { swapped_level(table(child), level - 1, lo, out) };
        }
    }
}
