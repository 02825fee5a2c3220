//! The physical frame allocator: O(1) allocate and free, with an exact free count.
//!
//! Free frames come from two places: frames freed earlier, kept on an intrusive list
//! (each free frame stores the address of the next one in its first 8 bytes, written
//! through the physical-memory map — xv6's `kalloc` idea), and frames never handed out
//! yet, taken in order from the bootloader's usable regions. Neither needs the heap or
//! a boot-time pass over all memory.
use super::phys_to_virt;
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use lazuli_vm::FrameRefs;
use spin::Mutex;
use x86_64::{
    PhysAddr,
    structures::paging::{FrameAllocator as FrameSource, PhysFrame, Size4KiB},
};

const MAX_RANGES: usize = 64;
/// Memory above this is left unused: the owner counts (4 bytes a frame, on the
/// 16 MiB heap) cover frames below it. Plenty for a teaching kernel under QEMU.
const MAX_PHYS: u64 = 4 << 30;
const NONE: u64 = u64::MAX;
const FRAME: u64 = 4096;

/// All physical frames the kernel hands out.
pub struct FrameAllocator {
    ranges: [(u64, u64); MAX_RANGES],
    range_count: usize,
    cursor: usize, // range being carved
    next: u64,     // next never-used frame in ranges[cursor]
    freed_head: u64,
    free: usize,
    total: usize,
}

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator {
    ranges: [(0, 0); MAX_RANGES],
    range_count: 0,
    cursor: 0,
    next: 0,
    freed_head: NONE,
    free: 0,
    total: 0,
});

/// Takes the usable regions of the boot memory map. Frame 0 is never used.
pub fn init(regions: &MemoryRegions) {
    let mut fa = FRAMES.lock();
    for region in regions
        .iter()
        .filter(|r| r.kind == MemoryRegionKind::Usable)
    {
        let start = region.start.div_ceil(FRAME).max(1) * FRAME;
        let end = region.end.min(MAX_PHYS) / FRAME * FRAME;
        if start >= end || fa.range_count == MAX_RANGES {
            continue;
        }
        let i = fa.range_count;
        fa.ranges[i] = (start, end);
        fa.range_count += 1;
        fa.total += ((end - start) / FRAME) as usize;
    }
    fa.free = fa.total;
    fa.next = fa.ranges[0].0;
}

impl FrameAllocator {
    fn allocate(&mut self) -> Option<PhysFrame> {
        if self.freed_head != NONE {
            let frame = self.freed_head;
            // SAFETY: every frame on the freed list is ours and holds the next link.
            self.freed_head = unsafe { *phys_to_virt(PhysAddr::new(frame)).as_ptr::<u64>() };
            self.free -= 1;
            return Some(PhysFrame::containing_address(PhysAddr::new(frame)));
        }
        while self.cursor < self.range_count {
            let (_, end) = self.ranges[self.cursor];
            if self.next < end {
                let frame = self.next;
                self.next += FRAME;
                self.free -= 1;
                return Some(PhysFrame::containing_address(PhysAddr::new(frame)));
            }
            self.cursor += 1;
            if self.cursor < self.range_count {
                self.next = self.ranges[self.cursor].0;
            }
        }
        None
    }

    fn deallocate(&mut self, frame: PhysFrame) {
        let pa = frame.start_address().as_u64();
        // SAFETY: the caller gives the frame back; nothing else refers to it now, so
        // its first word may hold the list link.
        unsafe { *phys_to_virt(frame.start_address()).as_mut_ptr::<u64>() = self.freed_head };
        self.freed_head = pa;
        self.free += 1;
        debug_assert!(self.free <= self.total, "more frames freed than exist");
    }
}

/// One frame with unspecified contents, or None when memory is exhausted.
pub fn allocate() -> Option<PhysFrame> {
    FRAMES.lock().allocate()
}

/// One frame filled with zeros.
pub fn allocate_zeroed() -> Option<PhysFrame> {
    let frame = allocate()?;
    zero(frame);
    Some(frame)
}

/// Gives a frame back. It must not be mapped or referenced anywhere any more.
pub fn free(frame: PhysFrame) {
    FRAMES.lock().deallocate(frame);
}

/// Frames free right now.
pub fn free_frames() -> usize {
    FRAMES.lock().free
}

/// Frames the allocator manages in all.
pub fn total_frames() -> usize {
    FRAMES.lock().total
}

/// Fills a frame with zeros with `rep stosq` (TCG has no fast `rep stosb`).
pub fn zero(frame: PhysFrame) {
    let dst = phys_to_virt(frame.start_address()).as_mut_ptr::<u64>();
    // SAFETY: the frame is allocated to the caller and mapped at `dst` by the
    // physical-memory map; 512 quadwords is exactly one frame.
    unsafe {
        core::arch::asm!(
            "rep stosq",
            inout("rcx") 512usize => _,
            inout("rdi") dst => _,
            in("rax") 0u64,
            options(nostack, preserves_flags)
        );
    }
}

/// Owners of shared (copy-on-write) frames. Frames nobody shares cost nothing here.
static REFS: Mutex<Option<FrameRefs>> = Mutex::new(None);

/// Sizes the owner counts for every frame (needs the heap).
pub fn init_refs() {
    *REFS.lock() = Some(FrameRefs::new((MAX_PHYS / FRAME) as usize));
}

fn with_refs<R>(f: impl FnOnce(&mut FrameRefs) -> R) -> R {
    f(REFS.lock().as_mut().expect("frame::init_refs at boot"))
}

fn number(frame: PhysFrame) -> usize {
    (frame.start_address().as_u64() / FRAME) as usize
}

/// One more mapping owns `frame` (a copy-on-write share).
pub fn share(frame: PhysFrame) {
    with_refs(|r| r.share(number(frame)));
}

/// Runs `f` with a `share` function that counts one more owner of a frame, taking
/// the owner-count lock once for the whole batch (fork shares thousands of pages).
pub fn sharing<R>(f: impl FnOnce(&mut dyn FnMut(PhysFrame)) -> R) -> R {
    let mut refs = REFS.lock();
    let refs = refs.as_mut().expect("frame::init_refs at boot");
    f(&mut |frame| refs.share(number(frame)))
}

/// Both allocator locks, held across a teardown so each freed page costs no locking.
pub struct Release<'a> {
    refs: spin::MutexGuard<'a, Option<FrameRefs>>,
    frames: spin::MutexGuard<'a, FrameAllocator>,
}

impl Release<'_> {
    /// One mapping of `frame` goes away; frees it with its last owner.
    pub fn release(&mut self, frame: PhysFrame) {
        let last = self
            .refs
            .as_mut()
            .expect("frame::init_refs at boot")
            .release(number(frame));
        if last {
            self.frames.deallocate(frame);
        }
    }

    /// Gives back a frame that was never shared (a page-table page).
    pub fn free(&mut self, frame: PhysFrame) {
        self.frames.deallocate(frame);
    }
}

/// Runs `f` with the allocator locked once for a whole batch of releases.
pub fn releasing<R>(f: impl FnOnce(&mut Release) -> R) -> R {
    let refs = REFS.lock();
    let frames = FRAMES.lock();
    f(&mut Release { refs, frames })
}

/// How many mappings own `frame` (1 if it is not shared).
pub fn owners(frame: PhysFrame) -> u32 {
    with_refs(|r| r.count(number(frame)))
}

/// One mapping of `frame` goes away; the frame is freed with its last owner.
pub fn release(frame: PhysFrame) {
    if with_refs(|r| r.release(number(frame))) {
        free(frame);
    }
}

/// Copies the 4 KiB of `src` into `dst` with `rep movsq`.
pub fn copy(src: PhysFrame, dst: PhysFrame) {
    let from = phys_to_virt(src.start_address()).as_ptr::<u64>();
    let to = phys_to_virt(dst.start_address()).as_mut_ptr::<u64>();
    // SAFETY: both frames are mapped by the physical-memory map and are distinct
    // (dst was just allocated to the caller); 512 quadwords is one frame.
    unsafe {
        core::arch::asm!(
            "rep movsq",
            inout("rcx") 512usize => _,
            inout("rsi") from => _,
            inout("rdi") to => _,
            options(nostack, preserves_flags)
        );
    }
}

/// Ticks to zero one frame with [`zero`] (for the benchmark): takes a frame,
/// times the zeroing, gives it back. 0 if no frame is free.
pub fn zero_ticks() -> u64 {
    let Some(frame) = allocate() else { return 0 };
    let t0 = crate::arch::cpu::rdtsc();
    zero(frame);
    let ticks = crate::arch::cpu::rdtsc() - t0;
    free(frame);
    ticks
}

/// Adapter for the x86_64 crate's mapper, which allocates page-table frames (and
/// zeroes them itself). Counts what it hands out so callers can keep getptsize exact.
pub struct TableFrames {
    pub allocated: usize,
}

// SAFETY: frames come from the allocator, so each is unused and handed out once.
unsafe impl FrameSource<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        let frame = allocate()?;
        self.allocated += 1;
        Some(frame)
    }
}
