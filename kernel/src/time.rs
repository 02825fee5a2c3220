//! Time: the PIT tick count and a timer-driven `sleep`.
//!
//! The timer interrupt only counts. Sleepers wait in a deadline-ordered heap that task
//! code and the executor touch (never the interrupt handler); the executor wakes the
//! due ones between polls.
use crate::arch::pic::TIMER_HZ;
use alloc::collections::BinaryHeap;
use core::{
    cmp::Reverse,
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
};
use spin::Mutex;

static TICKS: AtomicU64 = AtomicU64::new(0);

struct Sleeper {
    deadline: u64,
    waker: Waker,
}
impl PartialEq for Sleeper {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}
impl Eq for Sleeper {}
impl PartialOrd for Sleeper {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Sleeper {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.deadline.cmp(&other.deadline)
    }
}

static SLEEPERS: Mutex<BinaryHeap<Reverse<Sleeper>>> = Mutex::new(BinaryHeap::new());

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
    while sleepers.peek().is_some_and(|s| s.0.deadline <= now) {
        if let Some(Reverse(s)) = sleepers.pop() {
            s.waker.wake();
        }
    }
}

/// Whether a sleeper is due (so the executor should not halt).
pub fn any_due() -> bool {
    let now = ticks();
    SLEEPERS.lock().peek().is_some_and(|s| s.0.deadline <= now)
}

/// Resolves once at least `ms` milliseconds have passed.
pub fn sleep(ms: u64) -> Sleep {
    Sleep {
        deadline: ticks() + ms.saturating_mul(TIMER_HZ as u64).div_ceil(1000),
        registered: false,
    }
}

pub struct Sleep {
    deadline: u64,
    registered: bool,
}

impl Future for Sleep {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if ticks() >= self.deadline {
            return Poll::Ready(());
        }
        if !self.registered {
            self.registered = true;
            let sleeper = Sleeper {
                deadline: self.deadline,
                waker: cx.waker().clone(),
            };
            SLEEPERS.lock().push(Reverse(sleeper));
        }
        Poll::Pending
    }
}
