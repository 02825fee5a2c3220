//! The kernel heap: a fixed 16 MiB window in the kernel half, mapped at boot and
//! managed by linked_list_allocator.
use super::{frame, paging};
use linked_list_allocator::LockedHeap;
use x86_64::structures::paging::PageTableFlags as Flags;

pub const HEAP_START: u64 = 0xffff_c000_0000_0000;
pub const HEAP_SIZE: u64 = 16 * 1024 * 1024;

#[global_allocator]
static ALLOCATOR: LockedHeap = LockedHeap::empty();

/// Maps the heap window and hands it to the allocator.
pub fn init() {
    let flags = Flags::PRESENT | Flags::WRITABLE | Flags::NO_EXECUTE;
    let mut page = HEAP_START;
    while page < HEAP_START + HEAP_SIZE {
        let frame =
            frame::allocate(frame::FrameUse::Kernel).expect("no frames for the kernel heap");
        let frame = frame::counted(frame); // the kernel's for good
        paging::map_kernel(page, frame, flags);
        page += lazuli_vm::PAGE_SIZE;
    }
    // SAFETY: the window was just mapped, is used by nothing else, and stays mapped.
    unsafe {
        ALLOCATOR
            .lock()
            .init(HEAP_START as *mut u8, HEAP_SIZE as usize)
    };
}

/// Bytes of heap in use (for leak checks in tests).
pub fn used() -> usize {
    ALLOCATOR.lock().used()
}
