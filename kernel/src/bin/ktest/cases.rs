//! The case table and the loop that runs it.
//!
//! A case is either plain code run inside the ktest task, or a future run as a task
//! of its own (fresh address space), whose verdict comes back through [`VERDICT`].
use crate::{
    bad_input, base, ext_vm, fault_timing, fork, mapping, protection, seed_vm, storage, swap,
};
use alloc::string::String;
use lazuli_api::{BoxFuture, ExitStatus};
use lazuli_kernel::kprintln;
use spin::Mutex;

pub type Outcome = Result<(), String>;

pub enum Body {
    /// Runs in the ktest runner task.
    Inline(fn() -> Outcome),
    /// Runs as its own task with a fresh address space.
    Task(fn() -> BoxFuture<Outcome>),
}

pub struct Case {
    pub name: &'static str,
    pub body: Body,
}

static VERDICT: Mutex<Option<Outcome>> = Mutex::new(None);

fn all() -> impl Iterator<Item = &'static Case> {
    base::CASES
        .iter()
        .chain(seed_vm::CASES)
        .chain(fork::CASES)
        .chain(ext_vm::CASES)
        .chain(bad_input::CASES)
        .chain(protection::CASES)
        .chain(fault_timing::CASES)
        .chain(storage::CASES)
        .chain(mapping::CASES)
        .chain(swap::CASES)
}

/// Runs every case; returns how many failed.
pub async fn run_all() -> usize {
    let (mut passed, mut failed) = (0, 0);
    let boot_frames = lazuli_api::free_frames();
    for case in all() {
        let outcome = match &case.body {
            Body::Inline(f) => f(),
            Body::Task(f) => run_as_task(case.name, f()).await,
        };
        match outcome {
            Ok(()) => {
                passed += 1;
                kprintln!("test {} ... ok", case.name);
            }
            Err(why) => {
                failed += 1;
                kprintln!("test {} ... FAILED: {}", case.name, why);
            }
        }
    }
    // Every case task has ended: their frames and page tables must all be back
    // (file pages the cache still holds are not free, but they are accounted for).
    let now = lazuli_api::free_frames() + lazuli_api::fs::cache_pages();
    if now == boot_frames {
        passed += 1;
        kprintln!("test free_frames_return_to_the_boot_value ... ok");
    } else {
        failed += 1;
        kprintln!(
            "test free_frames_return_to_the_boot_value ... FAILED: {boot_frames} before, {now} after"
        );
    }
    kprintln!("ktest: {passed} passed, {failed} failed");
    failed
}

async fn run_as_task(name: &str, body: BoxFuture<Outcome>) -> Outcome {
    let pid = lazuli_api::spawn(name, async move {
        let outcome = body.await;
        let code = i32::from(outcome.is_err());
        *VERDICT.lock() = Some(outcome);
        code
    });
    match lazuli_api::wait(pid).await {
        Ok(ExitStatus::Exited(_)) => VERDICT.lock().take().unwrap_or(Err("no verdict".into())),
        Ok(ExitStatus::Killed(reason)) => Err(alloc::format!("case task killed: {reason}")),
        Err(e) => Err(alloc::format!("wait: {e:?}")),
    }
}
