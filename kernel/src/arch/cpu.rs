//! Small CPU helpers: timestamps, halting, the NX enable, the one-CPU marker, and
//! a deliberate kernel bug for the tests of the panic path.
use x86_64::registers::model_specific::{Efer, EferFlags};

/// A serialised timestamp (`lfence; rdtsc`), for medians in benchmarks and tests.
/// Inline assembly rather than `_mm_lfence`: that intrinsic wants SSE2, which the
/// kernel's target leaves off, so it was never inlined and each reading made a
/// call (~28 ticks under TCG) inside what it timed.
#[inline(always)]
pub fn rdtsc() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: lfence and rdtsc touch no memory and no stack and change only eax
    // and edx (the outputs); rdtsc is allowed at ring 0.
    unsafe {
        core::arch::asm!(
            "lfence",
            "rdtsc",
            out("eax") low,
            out("edx") high,
            options(nostack, preserves_flags),
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}

/// Halts forever with interrupts off: the end of a panic.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// A value kept on lazuli's one CPU: never sent to another, so it may live in a
/// `static` lock even when it is not `Send` (task futures, which apps may fill with
/// `!Send` things).
pub struct OneCpu<T>(pub T);

// SAFETY: lazuli runs on one CPU and never touches a `OneCpu` from interrupt
// handlers: the value is created, used and dropped by the same thread of control.
unsafe impl<T> Send for OneCpu<T> {}

/// Turns on EFER.NXE so page-table entries may carry NO_EXECUTE.
pub fn enable_nx() {
    // SAFETY: setting NXE only gives meaning to bit 63 of page-table entries; the
    // bootloader's tables already use it for the kernel's data segments.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::NO_EXECUTE_ENABLE)) };
}

/// Reads a byte at `addr` from plain kernel code, outside the user-access routines:
/// a deliberate kernel bug, for tests that a fault in kernel code panics.
///
/// # Safety
/// Never sound in itself: only for tests, with an address that is not mapped (the
/// page-fault handler then panics, since the access is not a user access).
#[doc(hidden)]
pub unsafe fn kernel_bug_read(addr: u64) -> u8 {
    // SAFETY: per the contract, `addr` is unmapped: the read faults and panics.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}
