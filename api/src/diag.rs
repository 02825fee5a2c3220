//! Diagnostics: hooks for benchmarks and tests, kept apart from the app API proper.
//! Nothing here changes what a task can do; it only measures the kernel.
use alloc::vec::Vec;
use spin::Once;

/// What the kernel offers benchmarks and tests. Implemented once, by the kernel.
pub trait Diagnostics: Sync {
    /// Ticks to zero one frame with the fault path's method.
    fn zero_page_ticks(&self) -> u64;
    /// Ticks of the idle work that puts one free frame into the zeroed pool; 0
    /// when the pool is full.
    fn pool_refill_ticks(&self) -> u64;
    /// Ticks spent freeing the address space of the task that ended last.
    fn last_teardown_ticks(&self) -> u64;
    /// Executes `int3`, an exception round trip whose handler only counts.
    fn breakpoint(&self);
    /// Starts timing the kernel's share of each ring-3 page fault (see
    /// [`fault_handler_ticks`]).
    fn arm_fault_timing(&self);
    /// Stops timing; the ticks of each such fault since arming, in order, or None
    /// if there were more than the kernel keeps.
    fn fault_handler_ticks(&self) -> Option<Vec<FaultTicks>>;
    /// Ticks for one synchronous read of `bytes` (whole sectors) from the start of
    /// the disk, as the file system waits for it (halting until the completion
    /// interrupt), or `polled` as a fault handler would (interrupts off, polling
    /// the device); None without a disk.
    fn disk_read_ticks(&self, bytes: usize, polled: bool) -> Option<u64>;
    /// Ticks for reading one page from the swap disk as swap-in does; None
    /// without a swap area.
    fn swap_read_ticks(&self) -> Option<u64>;
    /// Evicts the caller's page at `addr` to the swap area now, as reclaim does;
    /// the ticks it took, or None if the page cannot go (not present, shared,
    /// a file page, no swap area).
    fn swap_out_ticks(&self, addr: usize) -> Option<u64>;
}

/// The kernel's share of one ring-3 page fault, in ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FaultTicks {
    /// From the handler's first instructions to its return.
    pub handler: u64,
    /// Of those, filling the new frame: zeroing it (when the kernel's pool of
    /// zeroed frames was empty) or copying into it (copy-on-write, a private file
    /// page); 0 if the fault did neither.
    pub fill: u64,
}

static DIAGNOSTICS: Once<&'static dyn Diagnostics> = Once::new();

pub(crate) fn install(diagnostics: &'static dyn Diagnostics) {
    DIAGNOSTICS.call_once(|| diagnostics);
}

fn diagnostics() -> &'static dyn Diagnostics {
    *DIAGNOSTICS
        .get()
        .expect("lazuli-api diagnostics used before the kernel installed them")
}

/// A serialised TSC reading (`lfence; rdtsc; lfence`), for measuring in ticks. Read inline,
/// without a call into the kernel.
#[inline(always)]
pub fn timestamp() -> u64 {
    crate::tsc::read()
}

/// Ticks the kernel takes to zero one frame with the fault path's method (a frame
/// is taken, zeroed, given back) — `bench zero_page`.
pub fn zero_page_ticks() -> u64 {
    diagnostics().zero_page_ticks()
}

/// Ticks the kernel's idle work takes to put one free frame into its pool of
/// zeroed frames (taking it, zeroing it, listing it), timed in the kernel; 0 when
/// the pool is full — `bench pool_refill`.
pub fn pool_refill_ticks() -> u64 {
    diagnostics().pool_refill_ticks()
}

/// Ticks the kernel spent freeing the address space of the task that ended last
/// (frames, page tables, root) — `bench exit_free_N`.
pub fn last_teardown_ticks() -> u64 {
    diagnostics().last_teardown_ticks()
}

/// An exception round trip whose handler does no work: the floor under every
/// fault (`bench null_fault`).
pub fn breakpoint() {
    diagnostics().breakpoint()
}

/// Starts timing the kernel's share of each page fault taken by ring-3 code: from
/// the handler's first instructions to its return. For splitting a fault figure
/// into the kernel's part and the CPU's (the emulator's) part.
pub fn arm_fault_timing() {
    diagnostics().arm_fault_timing()
}

/// Stops the timing [`arm_fault_timing`] started; the kernel's ticks of each ring-3
/// page fault since, in order, or None if there were more than the kernel keeps.
pub fn fault_handler_ticks() -> Option<Vec<FaultTicks>> {
    diagnostics().fault_handler_ticks()
}

/// Ticks for one read of `bytes` from the start of the disk, waited for the way
/// the file system waits (`bench disk_read_512`, `disk_read_4k`), or `polled` with
/// interrupts off as a fault handler must (`disk_read_4k_polled`); None without a
/// disk.
pub fn disk_read_ticks(bytes: usize, polled: bool) -> Option<u64> {
    diagnostics().disk_read_ticks(bytes, polled)
}

/// Ticks for one page read from the swap disk the way swap-in reads it (polled,
/// interrupts off): the floor under `bench swap_in` (`disk_read_4k`). None
/// without a swap area.
pub fn swap_read_ticks() -> Option<u64> {
    diagnostics().swap_read_ticks()
}

/// Evicts the caller's anonymous page at `addr` to the swap area now, exactly as
/// reclaim would (unmap, flush, write, free) — `bench swap_out`; its next touch
/// is a swap-in. The ticks it took, or None if the page cannot go (not present,
/// shared copy-on-write, a file page, no swap area).
pub fn swap_out_ticks(addr: usize) -> Option<u64> {
    diagnostics().swap_out_ticks(addr)
}
