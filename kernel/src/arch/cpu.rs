//! Small CPU helpers: timestamps, halting, the NX enable.
use x86_64::registers::model_specific::{Efer, EferFlags};

/// A serialised timestamp (`lfence; rdtsc`), for medians in benchmarks and tests.
#[inline(always)]
pub fn rdtsc() -> u64 {
    // SAFETY: lfence and rdtsc have no memory effects; rdtsc is allowed at ring 0.
    unsafe {
        core::arch::x86_64::_mm_lfence();
        core::arch::x86_64::_rdtsc()
    }
}

/// Halts forever with interrupts off: the end of a panic.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Turns on EFER.NXE so page-table entries may carry NO_EXECUTE.
pub fn enable_nx() {
    // SAFETY: setting NXE only gives meaning to bit 63 of page-table entries; the
    // bootloader's tables already use it for the kernel's data segments.
    unsafe { Efer::update(|flags| flags.insert(EferFlags::NO_EXECUTE_ENABLE)) };
}
