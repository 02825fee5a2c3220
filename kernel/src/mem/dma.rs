//! Memory a device reads and writes by physical address (DMA), and device registers
//! mapped into the kernel (MMIO).
//!
//! - [`physical`] turns a kernel pointer into the physical address a device needs,
//!   through the active page tables (the kernel half is the same in every task).
//!   A buffer whose pages are not physically consecutive has no such address: the
//!   caller bounces it through a frame.
//! - [`map_registers`] maps a device's register window (a PCI BAR) uncached into a
//!   kernel window of its own. Boot time only, like every kernel-half mapping
//!   (see `mem`): drivers are probed before the first task.
use super::{paging, phys_to_virt};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::{
    PhysAddr, VirtAddr,
    registers::control::Cr3,
    structures::paging::{
        OffsetPageTable, PageTable, PageTableFlags as Flags, PhysFrame, Translate,
    },
};

/// Where device registers are mapped: a top-level slot above the heap.
const MMIO_START: u64 = 0xffff_d000_0000_0000;
const MMIO_SIZE: u64 = 1 << 30;
static MMIO_NEXT: AtomicU64 = AtomicU64::new(MMIO_START);

/// The physical address of `len` bytes at `ptr`, if they are mapped and physically
/// consecutive.
pub fn physical(ptr: *const u8, len: usize) -> Option<PhysAddr> {
    let start = VirtAddr::new(ptr as u64);
    let (root, _) = Cr3::read();
    // SAFETY: the active root is a valid page table; it is only read here, and the
    // physical-memory map covers every table it points to.
    let tables = unsafe {
        OffsetPageTable::new(
            &mut *phys_to_virt(root.start_address()).as_mut_ptr::<PageTable>(),
            phys_to_virt(PhysAddr::new(0)),
        )
    };
    let first = tables.translate_addr(start)?;
    // Check every later page of the buffer continues the run.
    let mut page = start.align_down(4096u64) + 4096u64;
    while page.as_u64() < start.as_u64() + len as u64 {
        let expected = first + (page - start);
        if tables.translate_addr(page) != Some(expected) {
            return None;
        }
        page += 4096u64;
    }
    Some(first)
}

/// Maps the `size` bytes of device registers at `phys` uncached; returns where.
pub fn map_registers(phys: PhysAddr, size: usize) -> VirtAddr {
    let first = phys.align_down(4096u64);
    let pages = (phys + size as u64 - first).div_ceil(4096);
    let base = MMIO_NEXT.fetch_add(pages * 4096, Ordering::Relaxed);
    assert!(
        base + pages * 4096 <= MMIO_START + MMIO_SIZE,
        "MMIO window full"
    );
    let flags = Flags::PRESENT
        | Flags::WRITABLE
        | Flags::NO_EXECUTE
        | Flags::NO_CACHE
        | Flags::WRITE_THROUGH;
    for i in 0..pages {
        let frame = PhysFrame::containing_address(first + i * 4096);
        paging::map_kernel(base + i * 4096, frame, flags);
    }
    VirtAddr::new(base + (phys - first))
}

/// The kernel pointer to the start of `frame` (through the physical-memory map).
pub fn frame_ptr(frame: PhysFrame) -> *mut u8 {
    phys_to_virt(frame.start_address()).as_mut_ptr()
}
