//! The executor: polls ready tasks, one at a time, each in its own address space;
//! ends the tasks that were killed; halts the CPU when nothing is ready.
//!
//! How a kill works (and why it cannot hang). A task dies in one of two ways:
//!
//! - *Its own access failed* — a user accessor or its ring-3 code. The kernel
//!   marks it (`sched::kill_current`) and returns `Killed` to its code, whose
//!   future then never completes. When the poll returns (normally: no frame is
//!   skipped), the executor sees the mark and ends the task.
//! - *Ctrl-C* — between polls, the executor finds an interrupt byte in the input
//!   while a foreground task exists, and ends the foreground task and its
//!   descendants, wherever they wait.
//!
//! Ending a task drops its future like any other value, so destructors run, locks
//! the app held are released, and every heap object it owned is freed; then its
//! address space is freed and its waiter learns `Killed(reason)`. The tasks it
//! forked or spawned that still run go with it (`parent killed`): nothing a killed
//! command started outlives it. No step waits for anything, and a fault in kernel
//! code anywhere on this path is a panic.
use super::sched::{self, READY, SCHED, set_current};
use crate::{input, kprintln, time, vm};
use alloc::{collections::BTreeMap, sync::Arc, task::Wake, vec, vec::Vec};
use core::{
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
};
use lazuli_api::{ExitStatus, KillReason, Pid};
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
        crate::arch::virtio_blk::wake_completed();
        // One round: the tasks ready now. Those they wake (a task preempted in user
        // mode wakes itself) wait for the next round, after sleepers and readers.
        let round = READY.lock().len();
        for _ in 0..round {
            interrupt_foreground(&mut wakers);
            let next = READY.lock().pop_front();
            let Some(pid) = next else { break };
            let waker = wakers
                .entry(pid)
                .or_insert_with(|| Arc::new(TaskWaker(pid)).into())
                .clone();
            for gone in poll_task(pid, &waker) {
                wakers.remove(&gone);
            }
        }
        interrupt_foreground(&mut wakers);
        if done() {
            return;
        }
        // Idle: zero frames ahead of time (a few at a time, then look again).
        if READY.lock().is_empty() && crate::mem::frame::prezero(PREZERO_BATCH) > 0 {
            continue;
        }
        interrupts::disable();
        if READY.lock().is_empty()
            && !input::pending()
            && !time::any_due()
            && !crate::arch::virtio_blk::completions_pending()
        {
            interrupts::enable_and_hlt();
        } else {
            interrupts::enable();
        }
    }
}

/// Ctrl-C: if an interrupt byte waits and a foreground task runs, ends that task
/// and its descendants with `interrupted` (and consumes the byte).
fn interrupt_foreground(wakers: &mut BTreeMap<Pid, Waker>) {
    if !input::interrupt_pending() {
        return;
    }
    let Some(foreground) = sched::foreground() else {
        return; // the shell reads the byte itself: it drops the line being typed
    };
    if !input::take_interrupt() {
        return;
    }
    let group = SCHED.lock().group(foreground);
    for pid in group {
        end_waiting(pid, KillReason::Interrupted);
        wakers.remove(&pid);
    }
    // (The group was the foreground task and all its descendants: none is left.)
}

/// Ends a task that is not being polled: drops its future and frees its space.
fn end_waiting(pid: Pid, reason: KillReason) {
    let taken = {
        let mut sched = SCHED.lock();
        sched
            .tasks
            .get_mut(&pid)
            .map(|t| (t.future.take(), t.space.take()))
    };
    let Some((future, space)) = taken else {
        return;
    };
    // CR3 may still hold the last polled task's space: leave it before this task's
    // destructors run and its space goes.
    vm::active::deactivate();
    // Its destructors (closing its files, say) act for the task: make it current.
    let before = sched::current();
    set_current(Some(pid));
    drop(future);
    set_current(before);
    drop(space);
    report_kill(pid, reason);
    SCHED.lock().finish(pid, ExitStatus::Killed(reason));
}

/// The console line for a kill.
fn report_kill(pid: Pid, reason: KillReason) {
    let name = SCHED
        .lock()
        .tasks
        .get(&pid)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    kprintln!("task {pid} ({name}) killed: {reason}");
}

/// Ends the live descendants of a task that was just killed, deepest last; returns
/// them (their wakers can go).
fn end_descendants(pid: Pid) -> Vec<Pid> {
    let mut group = SCHED.lock().group(pid);
    group.retain(|&p| p != pid);
    for &child in &group {
        end_waiting(child, KillReason::ParentKilled);
    }
    group
}

/// Polls one task; returns the tasks that are gone now — none while it is pending;
/// itself when it ended now or had already ended (a stale wake-up), with the
/// descendants a kill took along — so their wakers can be dropped.
fn poll_task(pid: Pid, waker: &Waker) -> Vec<Pid> {
    let taken = {
        let mut sched = SCHED.lock();
        match sched.tasks.get_mut(&pid) {
            Some(t) => t.future.take().zip(t.space.take()),
            None => None, // a stale wake-up of a task that has ended
        }
    };
    let Some((mut future, space)) = taken else {
        return vec![pid];
    };

    vm::active::install(space);
    set_current(Some(pid));
    let outcome = future.0.as_mut().poll(&mut Context::from_waker(waker));
    let doomed = sched::take_doomed();
    let mut gone = vec![pid];
    let status = match (outcome, doomed) {
        (_, Some(reason)) => {
            report_kill(pid, reason);
            ExitStatus::Killed(reason)
        }
        (Poll::Ready(code), None) => ExitStatus::Exited(code),
        (Poll::Pending, None) => {
            set_current(None);
            let space = vm::active::take().expect("the polled task's space");
            let mut sched = SCHED.lock();
            let task = sched
                .tasks
                .get_mut(&pid)
                .expect("a polled task stays in the table");
            task.future = Some(future);
            task.space = Some(space);
            return Vec::new();
        }
    };
    // Ended: drop the future while its memory is still active (a plain drop, also
    // for a killed task — its poll returned normally), then free the space.
    drop(future);
    let _ = sched::take_doomed(); // nothing a destructor did may kill the next task
    set_current(None);
    let space = vm::active::take().expect("the polled task's space");
    vm::active::deactivate();
    let t0 = crate::arch::cpu::rdtsc();
    drop(space); // frees its frames and page tables
    LAST_TEARDOWN.store(crate::arch::cpu::rdtsc() - t0, Ordering::Relaxed);
    if matches!(status, ExitStatus::Killed(_)) {
        gone.extend(end_descendants(pid));
    }
    SCHED.lock().finish(pid, status);
    gone
}
