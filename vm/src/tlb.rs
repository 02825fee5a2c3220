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
//! flush: at each of the first [`BURST`] ring-3 ticks after a restart (that many
//! doublings, 256 → 65,536 entries, within as many milliseconds), then with
//! intervals twice the last, up to [`MAX_INTERVAL`] ticks — so a working set that
//! outgrew the TLB gets its doublings at once, and a steady one pays a refill about
//! once a second. The kernel restarts the sequence when a space's
//! present pages reach a power of two from 256 on (its working set may have
//! outgrown the TLB).

/// Ring-3 ticks in a row that flush after a restart.
pub const BURST: u64 = 8;

/// The longest interval between growth flushes, in ring-3 timer ticks.
pub const MAX_INTERVAL: u64 = 1024;

/// Present pages from which a doubling restarts the flushes (QEMU's first size).
pub const FIRST_SIZE: usize = 256;

/// The flush schedule: ring-3 ticks seen, the tick of the next flush, the
/// interval after the burst, the burst's flushes left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TlbGrowth {
    ticks: u64,
    next: u64,
    interval: u64,
    burst_left: u64,
}

impl Default for TlbGrowth {
    fn default() -> Self {
        Self::new()
    }
}

impl TlbGrowth {
    /// A fresh schedule: a burst from the first ring-3 tick on.
    pub const fn new() -> Self {
        TlbGrowth {
            ticks: 0,
            next: 1,
            interval: 1,
            burst_left: BURST,
        }
    }

    /// The working set may have grown: a burst again from the next tick.
    pub fn restart(&mut self) {
        *self = TlbGrowth {
            ticks: self.ticks,
            next: self.ticks + 1,
            ..TlbGrowth::new()
        };
    }

    /// One timer tick that interrupted ring 3; true if the TLB is to be flushed.
    pub fn user_tick(&mut self) -> bool {
        self.ticks += 1;
        if self.ticks < self.next {
            return false;
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
        }
        if self.burst_left == 0 {
            self.interval = (self.interval * 2).min(MAX_INTERVAL);
        }
        self.next = self.ticks + self.interval;
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

    /// The ring-3 ticks (counted from `from`) at which `ticks` more ticks flush.
    fn flushes(g: &mut TlbGrowth, ticks: u64, from: u64) -> Vec<u64> {
        let mut at = Vec::new();
        for _ in 0..ticks {
            if g.user_tick() {
                at.push(g.ticks - from);
            }
        }
        at
    }

    #[test]
    fn a_burst_then_doubling_intervals_then_once_per_max_interval() {
        let mut g = TlbGrowth::new();
        let got = flushes(&mut g, 4096, 0);
        let want = [
            1, 2, 3, 4, 5, 6, 7, 8, 10, 14, 22, 38, 70, 134, 262, 518, 1030,
        ];
        assert_eq!(&got[..want.len()], &want);
        assert_eq!(got[want.len()], 1030 + MAX_INTERVAL);
    }

    #[test]
    fn a_restart_brings_the_burst_back() {
        let mut g = TlbGrowth::new();
        flushes(&mut g, 5000, 0);
        g.restart();
        let from = g.ticks;
        assert_eq!(flushes(&mut g, 15, from), [1, 2, 3, 4, 5, 6, 7, 8, 10, 14]);
    }

    #[test]
    fn restarts_at_powers_of_two_from_256() {
        assert!(!restarts_growth(128));
        assert!(restarts_growth(256));
        assert!(!restarts_growth(257));
        assert!(restarts_growth(16384));
    }
}
