//! When to flush the whole TLB so that the emulator's software TLB can grow.
//!
//! Under QEMU's TCG every guest access goes through a software TLB per MMU mode
//! (ring 3 has its own). It starts at 256 entries and is resized **only at a full
//! flush**: doubled when more than 70% of its entries were used since the last one,
//! shrunk when a 100 ms window saw less than 30% (accel/tcg/cputlb.c,
//! `tlb_mmu_resize_locked`). Linux flushes the whole TLB at every switch between
//! processes, so its TLB follows its working set; a kernel that only ever flushes
//! single pages (`invlpg`) keeps 256 entries for good, and a ring-3 loop over more
//! pages misses on every access (~560 ticks a page over 16,384 pages, against
//! Linux's 67).
//!
//! [`TlbGrowth`] decides, at each timer tick that interrupts ring 3, whether to
//! flush: at ring-3 ticks 1, 3, 7, 15, … after a restart — each interval twice the
//! last, up to [`MAX_INTERVAL`] ticks — so a working set that outgrew the TLB gets
//! the doublings it needs within a few dozen milliseconds, and a steady one pays a
//! refill about once a second. The kernel restarts the sequence when a space's
//! present pages reach a power of two from 256 on (its working set may have
//! outgrown the TLB).

/// The longest interval between growth flushes, in ring-3 timer ticks.
pub const MAX_INTERVAL: u64 = 1024;

/// Present pages from which a doubling restarts the flushes (QEMU's first size).
pub const FIRST_SIZE: usize = 256;

/// The flush schedule: ring-3 ticks seen, the tick of the next flush, the
/// interval after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlbGrowth {
    ticks: u64,
    next: u64,
    interval: u64,
}

impl Default for TlbGrowth {
    fn default() -> Self {
        Self::new()
    }
}

impl TlbGrowth {
    /// A fresh schedule: the first ring-3 tick flushes.
    pub const fn new() -> Self {
        TlbGrowth {
            ticks: 0,
            next: 1,
            interval: 2,
        }
    }

    /// The working set may have grown: flush soon and often again.
    pub fn restart(&mut self) {
        *self = TlbGrowth {
            ticks: self.ticks,
            next: self.ticks + 1,
            interval: 2,
        };
    }

    /// One timer tick that interrupted ring 3; true if the TLB is to be flushed.
    pub fn user_tick(&mut self) -> bool {
        self.ticks += 1;
        if self.ticks < self.next {
            return false;
        }
        self.next = self.ticks + self.interval;
        self.interval = (self.interval * 2).min(MAX_INTERVAL);
        true
    }
}

/// Whether a space that now has `present` pages (one more than before) should
/// restart the schedule: at every power of two from [`FIRST_SIZE`] on.
pub fn restarts_growth(present: usize) -> bool {
    present >= FIRST_SIZE && present.is_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn flushes(g: &mut TlbGrowth, ticks: u64) -> Vec<u64> {
        let mut at = Vec::new();
        for _ in 0..ticks {
            if g.user_tick() {
                at.push(g.ticks);
            }
        }
        at
    }

    #[test]
    fn flushes_come_at_doubling_intervals_then_once_per_max_interval() {
        let mut g = TlbGrowth::new();
        let got = flushes(&mut g, 4096);
        assert_eq!(
            &got[..11],
            &[1, 3, 7, 15, 31, 63, 127, 255, 511, 1023, 2047]
        );
        assert_eq!(got[11], 2047 + MAX_INTERVAL);
    }

    #[test]
    fn a_restart_makes_the_next_tick_flush_and_the_intervals_short_again() {
        let mut g = TlbGrowth::new();
        flushes(&mut g, 5000);
        g.restart();
        let base = g.ticks;
        let got: Vec<u64> = flushes(&mut g, 20).into_iter().map(|t| t - base).collect();
        assert_eq!(got, [1, 3, 7, 15]);
    }

    #[test]
    fn restarts_at_powers_of_two_from_256() {
        assert!(!restarts_growth(128));
        assert!(restarts_growth(256));
        assert!(!restarts_growth(257));
        assert!(restarts_growth(16384));
    }
}
