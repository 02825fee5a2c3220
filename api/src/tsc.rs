//! The time-stamp counter, read where the app runs: the one hardware access of
//! this crate, so that a benchmark's timer costs what Linux's `lfence; rdtsc` costs
//! (a call into the kernel for it cost 2.6 times as much and inflated every figure).
#![allow(unsafe_code)]

use core::arch::asm;

/// A serialised TSC reading (`lfence; rdtsc; lfence`, as the Linux guest's
/// benchmark reads it): earlier instructions finish before the counter is read,
/// later ones start after. Also a compiler barrier: no memory access moves across.
#[inline(always)]
pub fn read() -> u64 {
    let (low, high): (u32, u32);
    // SAFETY: `lfence` and `rdtsc` touch no memory and no stack, and change only
    // eax and edx (named as outputs); the missing `nomem` only keeps the compiler
    // from moving memory accesses across the reading. `rdtsc` is allowed at every privilege level
    // lazuli runs apps at: the kernel never sets CR4.TSD.
    unsafe {
        asm!(
            "lfence",
            "rdtsc",
            "lfence",
            out("eax") low,
            out("edx") high,
            options(nostack, preserves_flags),
        );
    }
    (u64::from(high) << 32) | u64::from(low)
}
