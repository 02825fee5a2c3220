//! The physical frame allocator: O(1) allocate and free, with an exact free count.
//!
//! The pool itself is pure and host-tested (`lazuli_vm::FramePool`): one 12-byte
//! record per physical frame — what it is for ([`FrameUse`]), its owner count
//! (the copy-on-write counts, the page cache's share), a list link — with the
//! free and zeroed lists linked through the records, so freeing a frame never
//! touches it. This module puts the records in memory at boot (at the start of
//! the first usable region that holds them: like Linux's `mem_map`, 3 KiB per
//! MiB of RAM), locks the pool, and zeroes frames.
//!
//! Frames come out as [`Frame`] tokens (not `Copy`, `#[must_use]`): freed with
//! [`free`], or handed to the owner counts with [`counted`] when a mapping, the
//! cache, a page table or the kernel keeps them; then [`release`] by the last
//! owner frees them.
//!
//! While the CPU would otherwise halt, the executor calls [`prezero`], which zeroes
//! free frames into the pool's zeroed list (up to [`ZERO_POOL`]), so a first-touch
//! fault usually finds its zeroed frame ready. Pooled frames are free frames.
use super::phys_to_virt;
use bootloader_api::info::{MemoryRegionKind, MemoryRegions};
use lazuli_vm::{FrameInfo, FramePool, UsableFrames};
use spin::{Mutex, MutexGuard};
use x86_64::{
    PhysAddr,
    structures::paging::{FrameAllocator as FrameSource, PhysFrame, Size4KiB},
};

pub use lazuli_vm::{Frame, FrameUse};

/// Memory above this is left unused (its records would cost 3 MiB a GiB more).
/// Plenty for a teaching kernel under QEMU.
const MAX_PHYS: u64 = 4 << 30;
const FRAME: u64 = lazuli_vm::PAGE_SIZE;
/// How many frames are kept zeroed ahead of time (16 MiB).
pub const ZERO_POOL: usize = 4096;

type Records = &'static mut [FrameInfo];
type Pool = FramePool<Records>;

static FRAMES: Mutex<Option<Pool>> = Mutex::new(None);

/// Takes the usable regions of the boot memory map and places the frame records
/// at the start of the first one that holds them all. Frame 0 is never used.
pub fn init(regions: &MemoryRegions) {
    let usable = || {
        regions
            .iter()
            .filter(|r| r.kind == MemoryRegionKind::Usable)
            .map(|r| {
                (
                    r.start.div_ceil(FRAME).max(1) * FRAME,
                    r.end.min(MAX_PHYS) / FRAME * FRAME,
                )
            })
            .filter(|(start, end)| start < end)
    };
    let top = usable().map(|(_, end)| end).max().expect("usable memory");
    let count = (top / FRAME) as usize;
    let bytes = (count * core::mem::size_of::<FrameInfo>()) as u64;
    let home_frames = bytes.div_ceil(FRAME);
    let mut unused = UsableFrames::new(MAX_PHYS);
    let mut home = None;
    for (start, end) in usable() {
        if home.is_none() && (end - start) / FRAME >= home_frames {
            home = Some(start);
            unused.add(start + home_frames * FRAME, end);
        } else {
            unused.add(start, end);
        }
    }
    let home = home.expect("a usable region that holds the frame records");
    let records = phys_to_virt(PhysAddr::new(home)).as_mut_ptr::<FrameInfo>();
    // SAFETY: [home, home + home_frames frames) is usable RAM that the pool never
    // hands out (left out of `unused`), mapped by the physical-memory map and used
    // by nothing else, for good ('static). All-zero bytes are valid records (an
    // untouched frame), so zeroing makes every one of them initialised.
    let records: Records = unsafe {
        core::ptr::write_bytes(records.cast::<u8>(), 0, (home_frames * FRAME) as usize);
        core::slice::from_raw_parts_mut(records, count)
    };
    *FRAMES.lock() = Some(FramePool::new(records, unused));
}

fn pool() -> MutexGuard<'static, Option<Pool>> {
    FRAMES.lock()
}

#[inline(always)]
fn with<R>(f: impl FnOnce(&mut Pool) -> R) -> R {
    f(pool().as_mut().expect("frame::init at boot"))
}

fn to_phys(addr: u64) -> PhysFrame {
    PhysFrame::containing_address(PhysAddr::new(addr))
}

/// The physical frame a token stands for (to copy into it, say, before it is
/// counted).
pub fn phys(frame: &Frame) -> PhysFrame {
    to_phys(frame.addr())
}

/// Hands `frame` to the owner counts (one owner: the caller's mapping, cache
/// entry or table); the last [`release`] frees it.
pub fn counted(frame: Frame) -> PhysFrame {
    to_phys(frame.into_counted())
}

/// `count` physically consecutive zeroed frames for the kernel (device rings and
/// buffers), counted, from memory never handed out yet. Boot-time use.
pub fn allocate_contiguous(count: usize) -> Option<PhysFrame> {
    let start = with(|p| p.allocate_run(count))?;
    for i in 0..count as u64 {
        zero(to_phys(start + i * FRAME));
    }
    Some(to_phys(start))
}

/// One frame for `use_` with unspecified contents, or None when memory is exhausted.
pub fn allocate(use_: FrameUse) -> Option<Frame> {
    with(|p| p.allocate(use_))
}

/// One frame for `use_` filled with zeros: from the pool when it has one, else
/// zeroed now.
pub fn allocate_zeroed(use_: FrameUse) -> Option<Frame> {
    let (frame, zeroed) = with(|p| p.allocate_zeroed(use_))?;
    if !zeroed {
        zero(phys(&frame));
    }
    Some(frame)
}

/// A frame for `use_` only while at least `mark` frames are free: the check and
/// the allocation under one lock, for the fault path; None sends the caller to
/// reclaim. With `zeroed`, from the pool of zeroed frames if it has one; the flag
/// returned says whether the frame is zero (else the caller zeroes it, so that
/// the fault path can time its zeroing).
#[inline(always)]
pub fn allocate_over_mark(mark: usize, zeroed: bool, use_: FrameUse) -> Option<(Frame, bool)> {
    with(|p| {
        if p.free_frames() < mark {
            None
        } else if zeroed {
            p.allocate_zeroed(use_)
        } else {
            p.allocate(use_).map(|f| (f, false))
        }
    })
}

/// Idle work: zeroes up to `budget` free frames into the pool. Returns how many.
pub fn prezero(budget: usize) -> usize {
    let mut done = 0;
    while done < budget {
        let mut guard = pool();
        let p = guard.as_mut().expect("frame::init at boot");
        let Some(addr) = p.next_to_zero(ZERO_POOL) else {
            break;
        };
        zero(to_phys(addr));
        p.add_zeroed(addr);
        done += 1;
    }
    done
}

/// Gives back a frame nothing maps or refers to.
pub fn free(frame: Frame) {
    with(|p| p.free(frame));
}

/// Frames free right now.
pub fn free_frames() -> usize {
    with(|p| p.free_frames())
}

/// Frames the allocator manages in all.
pub fn total_frames() -> usize {
    with(|p| p.total())
}

/// Fills a frame with zeros: 64 rounds of eight 8-byte stores. Under TCG that is
/// half the cost of `rep stosq`, which QEMU runs one iteration per pass through its
/// translated block (zero_page 1,680 -> 818 ticks); TCG has no fast `rep stosb`.
pub fn zero(frame: PhysFrame) {
    let dst = phys_to_virt(frame.start_address()).as_mut_ptr::<u64>();
    // SAFETY: the frame is allocated to the caller and mapped at `dst` by the
    // physical-memory map; 64 rounds of 64 bytes is exactly one frame.
    unsafe {
        core::arch::asm!(
            "2:",
            "mov qword ptr [rdi], rax",
            "mov qword ptr [rdi + 8], rax",
            "mov qword ptr [rdi + 16], rax",
            "mov qword ptr [rdi + 24], rax",
            "mov qword ptr [rdi + 32], rax",
            "mov qword ptr [rdi + 40], rax",
            "mov qword ptr [rdi + 48], rax",
            "mov qword ptr [rdi + 56], rax",
            "add rdi, 64",
            "dec ecx",
            "jnz 2b",
            inout("ecx") 64u32 => _,
            inout("rdi") dst => _,
            in("rax") 0u64,
            options(nostack)
        );
    }
}

/// The pool locked across a copy-on-write fork, which shares thousands of pages
/// and makes the child's tables: one lock for the whole batch.
pub struct Sharing<'a> {
    pool: &'a mut Pool,
}

impl Sharing<'_> {
    /// Counts one more owner of the counted `frame`.
    pub fn share(&mut self, frame: PhysFrame) {
        self.pool.share(frame.start_address().as_u64());
    }

    /// A zeroed, counted page-table frame; None when memory is exhausted.
    pub fn table(&mut self) -> Option<PhysFrame> {
        let (frame, zeroed) = self.pool.allocate_zeroed(FrameUse::Table)?;
        let frame = counted(frame);
        if !zeroed {
            zero(frame);
        }
        Some(frame)
    }
}

/// Runs `f` with the pool locked once for a fork's batch of shares and tables.
pub fn sharing<R>(f: impl FnOnce(&mut Sharing) -> R) -> R {
    with(|pool| f(&mut Sharing { pool }))
}

/// Counts one more owner of the counted `frame` (a page-cache frame mapped into a task).
#[inline(always)]
pub fn share(frame: PhysFrame) {
    with(|p| p.share(frame.start_address().as_u64()));
}

/// The pool locked across a teardown, so each freed page costs no locking.
pub struct Release<'a> {
    pool: &'a mut Pool,
}

impl Release<'_> {
    /// One owner of `frame` (a mapping, a table) lets it go; the last frees it.
    pub fn release(&mut self, frame: PhysFrame) {
        self.pool.release(frame.start_address().as_u64());
    }
}

/// Runs `f` with the pool locked once for a whole batch of releases.
pub fn releasing<R>(f: impl FnOnce(&mut Release) -> R) -> R {
    with(|pool| f(&mut Release { pool }))
}

/// How many owners `frame` has (mappings, the cache, a table; 0 if free).
pub fn owners(frame: PhysFrame) -> u32 {
    with(|p| p.owners(frame.start_address().as_u64()))
}

/// What `frame` is for.
pub fn use_of(frame: PhysFrame) -> FrameUse {
    with(|p| p.use_of(frame.start_address().as_u64()))
}

/// One owner of `frame` lets it go; the frame is freed with its last owner.
pub fn release(frame: PhysFrame) {
    with(|p| p.release(frame.start_address().as_u64()));
}

/// Copies the 4 KiB of `src` into `dst`: 128 rounds of four 8-byte loads and
/// stores (unrolled, like [`zero`], rather than `rep movsq`).
pub fn copy(src: PhysFrame, dst: PhysFrame) {
    let from = phys_to_virt(src.start_address()).as_ptr::<u64>();
    let to = phys_to_virt(dst.start_address()).as_mut_ptr::<u64>();
    // SAFETY: both frames are mapped by the physical-memory map and are distinct
    // (dst was just allocated to the caller); 128 rounds of 32 bytes is one frame.
    unsafe {
        core::arch::asm!(
            "2:",
            "mov rax, qword ptr [rsi]",
            "mov rdx, qword ptr [rsi + 8]",
            "mov r8, qword ptr [rsi + 16]",
            "mov r9, qword ptr [rsi + 24]",
            "mov qword ptr [rdi], rax",
            "mov qword ptr [rdi + 8], rdx",
            "mov qword ptr [rdi + 16], r8",
            "mov qword ptr [rdi + 24], r9",
            "add rsi, 32",
            "add rdi, 32",
            "dec ecx",
            "jnz 2b",
            inout("ecx") 128u32 => _,
            inout("rsi") from => _,
            inout("rdi") to => _,
            out("rax") _,
            out("rdx") _,
            out("r8") _,
            out("r9") _,
            options(nostack)
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
    let Some(frame) = allocate(FrameUse::Kernel) else {
        return 0;
    };
    let t0 = crate::arch::cpu::rdtsc();
    zero(phys(&frame));
    let ticks = crate::arch::cpu::rdtsc() - t0;
    free(frame);
    ticks
}

/// Ticks of one [`prezero`] step, one frame into the pool (for the benchmark: what
/// refilling the pool costs the idle CPU per frame). 0 if the pool is full.
pub fn prezero_ticks() -> u64 {
    let t0 = crate::arch::cpu::rdtsc();
    let done = prezero(1);
    let ticks = crate::arch::cpu::rdtsc() - t0;
    if done == 1 { ticks } else { 0 }
}

/// Adapter for the x86_64 crate's mapper, which allocates page-table frames (and
/// zeroes them itself): counted table frames, freed by their release. Counts what
/// it hands out so callers can keep getptsize exact.
pub struct TableFrames {
    pub allocated: usize,
}

// SAFETY: frames come from the allocator, so each is unused and handed out once.
unsafe impl FrameSource<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame> {
        let frame = counted(allocate(FrameUse::Table)?);
        self.allocated += 1;
        Some(frame)
    }
}
