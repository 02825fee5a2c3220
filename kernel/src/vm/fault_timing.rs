//! The kernel's share of a page fault, timed for `bench`: while armed, each fault
//! the trap satisfies for ring-3 code records the ticks from the handler's first
//! instructions to its return, and of those the ticks spent filling the new frame
//! (zeroing it when the pool of zeroed frames is empty; the copy of a copy-on-write
//! or private file fault). `bench` times the same faults from ring 3
//! (the whole access); the difference is what the CPU — here QEMU's TCG — spends
//! outside the kernel: the walk that fails, delivering #PF from ring 3, `iretq`,
//! the walk of the retried access. That part, and a fill's 4 KiB, bound the fault
//! figures from below whatever the rest of the handler costs.
//!
//! Disarmed, the fault path pays one load and a branch at each end.
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};
use lazuli_api::diag::FaultTicks;

/// Faults one arming can record (a `bench` pass times at most this many).
pub const CAPACITY: usize = 8192;

static ARMED: AtomicBool = AtomicBool::new(false);
/// Faults recorded since arming (the slot of the fault being handled).
static SEEN: AtomicUsize = AtomicUsize::new(0);
static HANDLER: [AtomicU32; CAPACITY] = [const { AtomicU32::new(0) }; CAPACITY];
static FILL: [AtomicU32; CAPACITY] = [const { AtomicU32::new(0) }; CAPACITY];

/// When a fault's handling started, if timing is armed.
#[derive(Clone, Copy)]
pub struct Started(Option<u64>);

/// Starts recording: the faults from now on, in order.
pub fn arm() {
    SEEN.store(0, Relaxed);
    ARMED.store(true, Relaxed);
}

/// Stops recording; the ticks of the faults since [`arm`], or None if there were
/// more than [`CAPACITY`].
pub fn disarm() -> Option<Vec<FaultTicks>> {
    ARMED.store(false, Relaxed);
    let seen = SEEN.load(Relaxed);
    (seen <= CAPACITY).then(|| {
        (0..seen)
            .map(|i| FaultTicks {
                handler: u64::from(HANDLER[i].load(Relaxed)),
                fill: u64::from(FILL[i].load(Relaxed)),
            })
            .collect()
    })
}

/// Called first by the page-fault handler.
#[inline(always)]
pub fn start() -> Started {
    if !ARMED.load(Relaxed) {
        return Started(None);
    }
    // The slot may hold a fill of a fault that never finished here (one of the
    // kernel's user accesses): this fault's own starts at 0.
    if let Some(fill) = FILL.get(SEEN.load(Relaxed)) {
        fill.store(0, Relaxed);
    }
    Started(Some(crate::arch::cpu::rdtsc()))
}

/// Called by the page-fault handler as it returns from a satisfied ring-3 fault.
#[inline(always)]
pub fn finish(started: Started) {
    if let Started(Some(t0)) = started {
        let i = SEEN.fetch_add(1, Relaxed);
        if let Some(slot) = HANDLER.get(i) {
            slot.store(ticks_since(t0), Relaxed);
        }
    }
}

/// Runs `fill` (a fault zeroing or copying into its new frame), timing it if
/// timing is armed.
#[inline(always)]
pub fn filling<R>(fill: impl FnOnce() -> R) -> R {
    if !ARMED.load(Relaxed) {
        return fill();
    }
    let t0 = crate::arch::cpu::rdtsc();
    let result = fill();
    if let Some(slot) = FILL.get(SEEN.load(Relaxed)) {
        slot.store(ticks_since(t0), Relaxed);
    }
    result
}

fn ticks_since(t0: u64) -> u32 {
    let ticks = crate::arch::cpu::rdtsc().saturating_sub(t0);
    u32::try_from(ticks).unwrap_or(u32::MAX)
}
