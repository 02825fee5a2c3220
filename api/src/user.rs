//! Touching your own user memory by address — the `*p = v` of an xv6 user program.
//!
//! These are safe to call: the address is not a Rust reference, and whatever it is,
//! the kernel answers the access — by mapping the page on first touch, or by killing
//! this task (and only it) with a one-line report. They are volatile so the compiler
//! neither drops nor merges the touches that demand paging is about.
#![allow(unsafe_code)]

/// Loads the byte at `addr`.
pub fn load(addr: usize) -> u8 {
    // SAFETY: a bad address faults and the kernel kills the task; no Rust object
    // lives in the user part, so no reference is aliased.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

/// Stores `value` at `addr`.
pub fn store(addr: usize, value: u8) {
    // SAFETY: as for `load`.
    unsafe { core::ptr::write_volatile(addr as *mut u8, value) }
}

/// Loads the 8-byte word at `addr` (which should be 8-aligned).
pub fn load_u64(addr: usize) -> u64 {
    // SAFETY: as for `load`.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Stores the 8-byte word `value` at `addr` (which should be 8-aligned).
pub fn store_u64(addr: usize, value: u64) {
    // SAFETY: as for `load`.
    unsafe { core::ptr::write_volatile(addr as *mut u64, value) }
}

/// Calls the code at `addr` as a function taking and returning nothing (an exec
/// test: a page without exec rights kills the task with `(exec, no-exec)`).
pub fn call(addr: usize) {
    // SAFETY: the kernel answers a fetch from a page it did not map executable by
    // killing the task; code the app wrote itself runs with the app's own rights.
    let f: extern "C" fn() = unsafe { core::mem::transmute(addr) };
    f()
}

/// Executes a breakpoint (`int3`): an exception round trip whose handler does no
/// work — the floor under every fault (`bench null_fault`).
pub fn breakpoint() {
    // SAFETY: lazuli's breakpoint handler only counts and returns.
    unsafe { core::arch::asm!("int3", options(nomem, nostack)) }
}
