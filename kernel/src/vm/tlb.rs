//! Flushes that let the emulator's software TLB grow with the working set
//! (`lazuli_vm::tlb` explains why): growing spaces restart the schedule, timer
//! ticks that interrupt ring 3 follow it. A full flush is always correct; these
//! only cost a refill.
use lazuli_vm::{TlbGrowth, restarts_growth};
use spin::Mutex;

static GROWTH: Mutex<TlbGrowth> = Mutex::new(TlbGrowth::new());

/// A space has `present` pages now, one more than before.
pub fn grew(present: usize) {
    if restarts_growth(present) {
        GROWTH.lock().restart();
    }
}

/// A timer tick interrupted ring 3: true if the whole TLB should be flushed now.
pub fn on_user_tick() -> bool {
    GROWTH.try_lock().is_some_and(|mut g| g.user_tick())
}
