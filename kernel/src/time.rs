//! Time: the PIT tick count and a timer-driven `sleep`.
//!
//! The timer interrupt only counts. Sleepers wait in a deadline-ordered map that task
//! code and the executor touch (never the interrupt handler); the executor wakes the
//! due ones between polls.
use crate::arch::pic::TIMER_HZ;
use alloc::collections::BTreeMap;
use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
};
use spin::Mutex;

static TICKS: AtomicU64 = AtomicU64::new(0);

/// A sleeper's place in the queue: its deadline, then a number that keeps equal
/// deadlines apart.
type SleepKey = (u64, u64);

/// Sleepers by deadline. A `Sleep` that is dropped before its deadline (its task
/// ended or was killed) removes its own entry.
static SLEEPERS: Mutex<BTreeMap<SleepKey, Waker>> = Mutex::new(BTreeMap::new());
static NEXT_SLEEPER: AtomicU64 = AtomicU64::new(0);

/// Called by the timer interrupt.
pub fn tick() {
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Timer ticks since interrupts were enabled.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Milliseconds since boot (timer resolution).
pub fn uptime_ms() -> u64 {
    ticks() * 1000 / TIMER_HZ as u64
}

/// Wakes every sleeper whose deadline has passed. Executor context.
pub fn wake_due() {
    let now = ticks();
    let mut sleepers = SLEEPERS.lock();
    while let Some(entry) = sleepers.first_entry() {
        if entry.key().0 > now {
            break;
        }
        entry.remove().wake();
    }
}

/// Whether a sleeper is due (so the executor should not halt).
pub fn any_due() -> bool {
    let now = ticks();
    SLEEPERS
        .lock()
        .first_key_value()
        .is_some_and(|(key, _)| key.0 <= now)
}

/// Resolves once at least `ms` milliseconds have passed.
pub fn sleep(ms: u64) -> Sleep {
    Sleep {
        deadline: ticks() + ms.saturating_mul(TIMER_HZ as u64).div_ceil(1000),
        key: None,
    }
}

pub struct Sleep {
    deadline: u64,
    /// Its entry in `SLEEPERS`, once registered.
    key: Option<SleepKey>,
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            SLEEPERS.lock().remove(&key);
        }
    }
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if ticks() >= self.deadline {
            return Poll::Ready(());
        }
        let key = match self.key {
            Some(key) => key,
            None => {
                let key = (self.deadline, NEXT_SLEEPER.fetch_add(1, Ordering::Relaxed));
                self.key = Some(key);
                key
            }
        };
        // (Re-)register: the entry may have been woken and removed early by a
        // spurious poll, or the waker may have changed.
        SLEEPERS.lock().insert(key, cx.waker().clone());
        Poll::Pending
    }
}
