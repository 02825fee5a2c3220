//! The executor: polls ready tasks, one at a time, each in its own address space and
//! inside a fault guard; halts the CPU when nothing is ready.
use super::sched::{READY, SCHED, set_current};
use crate::{arch::guard, input, kprintln, time, vm};
use alloc::{collections::BTreeMap, string::ToString, sync::Arc, task::Wake};
use core::{
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
};
use lazuli_api::{ExitStatus, Pid};
use x86_64::instructions::interrupts;

/// Frames zeroed per idle round: ~16 × 1.6k ticks, short enough not to delay a
/// task that becomes ready meanwhile.
const PREZERO_BATCH: usize = 16;

static LAST_TEARDOWN: AtomicU64 = AtomicU64::new(0);

/// Ticks spent freeing the last ended task's address space.
pub fn last_teardown_ticks() -> u64 {
    LAST_TEARDOWN.load(Ordering::Relaxed)
}

struct TaskWaker(Pid);

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        READY.lock().push_back(self.0);
    }
}

/// Runs tasks until `done()` holds after a round (never, for the real kernel).
pub fn run_until(mut done: impl FnMut() -> bool) {
    let mut wakers: BTreeMap<Pid, Waker> = BTreeMap::new();
    loop {
        time::wake_due();
        input::wake_reader();
        loop {
            let next = READY.lock().pop_front();
            let Some(pid) = next else { break };
            let waker = wakers
                .entry(pid)
                .or_insert_with(|| Arc::new(TaskWaker(pid)).into())
                .clone();
            if poll_task(pid, &waker) {
                wakers.remove(&pid);
            }
        }
        if done() {
            return;
        }
        // Idle: zero frames ahead of time (a few at a time, then look again).
        if READY.lock().is_empty() && crate::mem::frame::prezero(PREZERO_BATCH) > 0 {
            continue;
        }
        interrupts::disable();
        if READY.lock().is_empty() && !input::pending() && !time::any_due() {
            interrupts::enable_and_hlt();
        } else {
            interrupts::enable();
        }
    }
}

/// Polls one task; returns whether it is gone (it ended now, or had already ended
/// and this was a stale wake-up), so its waker can be dropped.
fn poll_task(pid: Pid, waker: &Waker) -> bool {
    let taken = {
        let mut sched = SCHED.lock();
        match sched.tasks.get_mut(&pid) {
            Some(t) => t.future.take().zip(t.space.take()),
            None => None, // a stale wake-up of a task that has ended
        }
    };
    let Some((future, space)) = taken else {
        return true;
    };

    vm::active::install(space);
    set_current(Some(pid));
    let mut slot = Some(future);
    let mut outcome = Poll::Pending;
    let mut cx = Context::from_waker(waker);
    let run = guard::guarded(|| {
        if let Some(f) = slot.as_mut() {
            outcome = f.0.as_mut().poll(&mut cx);
            if outcome.is_ready() {
                slot = None; // drop the finished future while its memory is active
            }
        }
    });
    set_current(None);
    let space = vm::active::take().expect("the polled task's space");

    let status = match (run, outcome) {
        (Ok(()), Poll::Pending) => {
            let mut sched = SCHED.lock();
            let task = sched
                .tasks
                .get_mut(&pid)
                .expect("a polled task stays in the table");
            task.future = slot;
            task.space = Some(space);
            return false;
        }
        (Ok(()), Poll::Ready(code)) => ExitStatus::Exited(code),
        (Err(guard::Abandoned), _) => {
            if let Some(future) = slot {
                // Mid-poll state: not safe to drop (see the task module); free its box.
                guard::free_abandoned(future.0);
            }
            let reason = vm::fault::take_kill().map_or("killed".to_string(), |r| r.to_string());
            let name = SCHED
                .lock()
                .tasks
                .get(&pid)
                .map(|t| t.name.clone())
                .unwrap_or_default();
            kprintln!("task {pid} ({name}) killed: {reason}");
            ExitStatus::Killed(reason)
        }
    };
    vm::active::deactivate();
    let t0 = crate::arch::cpu::rdtsc();
    drop(space); // frees its frames and page tables
    LAST_TEARDOWN.store(crate::arch::cpu::rdtsc() - t0, Ordering::Relaxed);
    SCHED.lock().finish(pid, status);
    true
}
