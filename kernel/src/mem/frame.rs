//! The physical frame allocator: O(1) allocate and free, with an exact free count.
//!
//! Free frames come from two places: frames freed earlier, kept on an intrusive list
//! (each free frame stores the address of the next one in its first 8 bytes, written
//! through the physical-memory map — xv6's `kalloc` idea), and frames never handed out
//! yet, taken in order from the bootloader's usable regions. Neither needs the heap or
//! a boot-time pass over all memory.
//!
//! A third list holds frames zeroed ahead of time: while the CPU would otherwise
//! halt, the executor calls [`prezero`], which moves frames onto it (up to
//! [`ZERO_POOL`]), so a first-touch fault usually finds its zeroed frame ready.
//! Pooled frames are free frames: the free count includes them.
use super::phys_to_virt;
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use lazuli_vm::{FrameRefs, UsableFrames};
use spin::Mutex;
use x86_64::{
    PhysAddr,
    structures::paging::{FrameAllocator as FrameSource, PhysFrame, Size4KiB},
};

/// Memory above this is left unused: the owner counts (4 bytes a frame, on the
/// 16 MiB heap) cover frames below it. Plenty for a teaching kernel under QEMU.
const MAX_PHYS: u64 = 4 << 30;
const NONE: u64 = u64::MAX;
const FRAME: u64 = lazuli_vm::PAGE_SIZE;
/// How many frames are kept zeroed ahead of time (16 MiB).
pub const ZERO_POOL: usize = 4096;

/// All physical frames the kernel hands out.
pub struct FrameAllocator {
    /// Frames never handed out yet (pure bookkeeping, host-tested in lazuli_vm).
    unused: UsableFrames,
    freed_head: u64,
    zeroed_head: u64,
    zeroed: usize,
    free: usize,
    total: usize,
}

static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator {
    unused: UsableFrames::new(MAX_PHYS),
    freed_head: NONE,
    zeroed_head: NONE,
    zeroed: 0,
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
        fa.unused.add(region.start, region.end);
    }
    fa.total = fa.unused.total();
    fa.free = fa.total;
}

impl FrameAllocator {
    /// Pops the head of a frame list (`head` is `freed_head` or `zeroed_head`).
    fn pop(head: &mut u64) -> Option<u64> {
        if *head == NONE {
            return None;
        }
        let frame = *head;
        // SAFETY: every frame on a list is ours and holds the next link.
        *head = unsafe { *phys_to_virt(PhysAddr::new(frame)).as_ptr::<u64>() };
        Some(frame)
    }

    /// Pushes a frame that nothing refers to any more onto a list.
    fn push(head: &mut u64, frame: u64) {
        // SAFETY: the frame is free, so its first word may hold the list link.
        unsafe { *phys_to_virt(PhysAddr::new(frame)).as_mut_ptr::<u64>() = *head };
        *head = frame;
    }

    /// A frame never handed out yet, carved from the usable regions.
    fn carve(&mut self) -> Option<u64> {
        self.unused.carve()
    }

    /// Any frame: freed ones first (so recently used memory is reused), then new
    /// ones, then the zeroed pool.
    fn allocate(&mut self) -> Option<PhysFrame> {
        let frame = match Self::pop(&mut self.freed_head).or_else(|| self.carve()) {
            Some(frame) => frame,
            None => {
                let frame = Self::pop(&mut self.zeroed_head)?;
                self.zeroed -= 1;
                frame
            }
        };
        self.free -= 1;
        Some(PhysFrame::containing_address(PhysAddr::new(frame)))
    }

    /// A frame from the zeroed pool (its link word cleared), if the pool has one.
    fn allocate_prezeroed(&mut self) -> Option<PhysFrame> {
        let frame = Self::pop(&mut self.zeroed_head)?;
        self.zeroed -= 1;
        self.free -= 1;
        // SAFETY: the frame is now ours; only its first word (the link) was written.
        unsafe { *phys_to_virt(PhysAddr::new(frame)).as_mut_ptr::<u64>() = 0 };
        Some(PhysFrame::containing_address(PhysAddr::new(frame)))
    }

    fn deallocate(&mut self, frame: PhysFrame) {
        Self::push(&mut self.freed_head, frame.start_address().as_u64());
        self.free += 1;
        debug_assert!(self.free <= self.total, "more frames freed than exist");
    }

    /// Zeroes one free frame (freed or new) into the pool; false if none is left
    /// or the pool is full.
    fn prezero_one(&mut self) -> bool {
        if self.zeroed >= ZERO_POOL {
            return false;
        }
        let Some(frame) = Self::pop(&mut self.freed_head).or_else(|| self.carve()) else {
            return false;
        };
        zero(PhysFrame::containing_address(PhysAddr::new(frame)));
        Self::push(&mut self.zeroed_head, frame);
        self.zeroed += 1;
        true
    }
}

/// `count` physically consecutive zeroed frames (device rings and buffers), carved
/// from memory never handed out yet; frames skipped to find a run go on the free
/// list. Boot-time use: the carve order of a fresh region is address order.
pub fn allocate_contiguous(count: usize) -> Option<PhysFrame> {
    let mut fa = FRAMES.lock();
    let mut run: Option<(u64, usize)> = None;
    while run.is_none_or(|(_, len)| len < count) {
        let frame = fa.carve()?;
        run = match run {
            Some((start, len)) if start + len as u64 * FRAME == frame => Some((start, len + 1)),
            Some((start, len)) => {
                for i in 0..len as u64 {
                    FrameAllocator::push(&mut fa.freed_head, start + i * FRAME);
                }
                Some((frame, 1))
            }
            None => Some((frame, 1)),
        };
    }
    let (start, len) = run?;
    fa.free -= len;
    drop(fa);
    for i in 0..len as u64 {
        zero(PhysFrame::containing_address(PhysAddr::new(
            start + i * FRAME,
        )));
    }
    Some(PhysFrame::containing_address(PhysAddr::new(start)))
}

/// One frame with unspecified contents, or None when memory is exhausted.
pub fn allocate() -> Option<PhysFrame> {
    FRAMES.lock().allocate()
}

/// One frame filled with zeros: from the pool when it has one, else zeroed now.
pub fn allocate_zeroed() -> Option<PhysFrame> {
    let mut frames = FRAMES.lock();
    if let Some(frame) = frames.allocate_prezeroed() {
        return Some(frame);
    }
    let frame = frames.allocate()?;
    drop(frames);
    zero(frame);
    Some(frame)
}

/// Idle work: zeroes up to `budget` free frames into the pool. Returns how many.
pub fn prezero(budget: usize) -> usize {
    let mut done = 0;
    while done < budget && FRAMES.lock().prezero_one() {
        done += 1;
    }
    done
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

/// Runs `f` with a `share` function that counts one more owner of a frame, taking
/// the owner-count lock once for the whole batch (fork shares thousands of pages).
pub fn sharing<R>(f: impl FnOnce(&mut dyn FnMut(PhysFrame)) -> R) -> R {
    let mut refs = REFS.lock();
    let refs = refs.as_mut().expect("frame::init_refs at boot");
    f(&mut |frame| refs.share(number(frame)))
}

/// Counts one more owner of `frame` (a page-cache frame mapped into a task).
pub fn share(frame: PhysFrame) {
    with_refs(|r| r.share(number(frame)));
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
    releasing(|r| r.release(frame));
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

/// Copies `bytes` (at most one frame's worth) to the start of `frame`, which the
/// caller owns and nothing else maps yet (boot-time set-up of special pages).
pub fn write_bytes(frame: PhysFrame, bytes: &[u8]) {
    assert!(bytes.len() as u64 <= FRAME, "one frame holds {FRAME} bytes");
    let to = phys_to_virt(frame.start_address()).as_mut_ptr::<u8>();
    // SAFETY: the frame is mapped by the physical-memory map, owned by the caller,
    // and at least `bytes.len()` long; `bytes` lives elsewhere (the kernel image).
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), to, bytes.len()) };
}

/// Runs `f` on the 4 KiB of `frame`, which the caller owns (a page-cache page, a
/// device buffer): nothing else writes it during the call.
pub fn with_contents<R>(frame: PhysFrame, f: impl FnOnce(&mut [u8; 4096]) -> R) -> R {
    let bytes = phys_to_virt(frame.start_address()).as_mut_ptr::<[u8; 4096]>();
    // SAFETY: the physical-memory map covers the frame; the caller owns it, and on
    // one CPU nothing else touches it while `f` runs.
    f(unsafe { &mut *bytes })
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
