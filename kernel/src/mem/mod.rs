//! Physical memory, the kernel heap and page tables.
//!
//! ```text
//!  virtual address space of every task (one PML4 per task)
//!
//!  0xffff_ffff_ffff_ffff ┌──────────────────────────────┐
//!                        │ kernel half: PML4 entries    │ shared by every task: the
//!                        │ 256..512, copied from the    │ kernel image and stack, boot
//!                        │ boot PML4 at task creation   │ info, framebuffer, the map of
//!  HEAP_START            │   kernel heap (16 MiB)       │ all physical memory (at a
//!                        │   physical memory map        │ bootloader-chosen offset)
//!  0xffff_8000_0000_0000 ├──────────────────────────────┤
//!                        │ (non-canonical hole)         │
//!  0x0000_8000_0000_0000 ├──────────────────────────────┤ USER_END
//!                        │ user part: the task's own    │ see lazuli_vm::layout
//!                        │ regions (stack, break, mmap) │
//!  0x0000_0000_0040_0000 ├──────────────────────────────┤ USER_START
//!                        │ never mapped (null page)     │
//!  0x0                   └──────────────────────────────┘
//! ```
//!
//! Nothing is added to the kernel half after boot (the heap is mapped before the first
//! task), so copying its 256 top-level entries once per task keeps every task in sync.

pub mod dma;
pub mod frame;
pub mod heap;
pub mod paging;

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::{PhysAddr, VirtAddr};

static PHYS_OFFSET: AtomicU64 = AtomicU64::new(0);

/// Records where the bootloader mapped all of physical memory.
pub fn set_phys_offset(offset: u64) {
    PHYS_OFFSET.store(offset, Ordering::Relaxed);
}

/// The kernel-half virtual address at which physical address `pa` can be accessed.
pub fn phys_to_virt(pa: PhysAddr) -> VirtAddr {
    VirtAddr::new(PHYS_OFFSET.load(Ordering::Relaxed) + pa.as_u64())
}

/// The RAM disk the bootloader loaded next to the kernel, as the one slice that
/// refers to it. Call once, at boot, with the boot info's address and length.
pub fn take_ramdisk(addr: u64, len: u64) -> &'static mut [u8] {
    static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    assert!(
        !TAKEN.swap(true, Ordering::Relaxed),
        "the RAM disk is taken once"
    );
    // SAFETY: the bootloader mapped `len` bytes at `addr` read-write for the kernel
    // and nothing else refers to them; the flag above makes this the only slice.
    unsafe { core::slice::from_raw_parts_mut(addr as *mut u8, len as usize) }
}
