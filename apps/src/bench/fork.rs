//! fork figures: forking N present pages (copy-on-write and the seed's eager copy),
//! a sparse 1 GiB region, the copy-on-write fault, and tearing an address space down.
use super::timed::{self, Access};
use super::{PAGE, Plan, Samples, report};
use alloc::{format, vec::Vec};
use lazuli_api::diag::{last_teardown_ticks, timestamp};
use lazuli_api::{ExitStatus, Pid, Placement, Prot, fork, fork_copy, map, spawn, user, wait};

pub async fn run(plan: Plan) -> bool {
    for (pages, full, short) in [(1, 32, 4), (3, 32, 4), (256, 32, 4), (16384, 16, 1)] {
        for (flavour, copy) in [("cow", false), ("copy", true)] {
            let name = format!("fork_present_{pages}_{flavour}");
            let n = plan.n(full, short);
            if !in_task(fork_figure(name, pages * PAGE, pages, copy, n)).await {
                return false;
            }
        }
    }
    for (flavour, copy) in [("cow", false), ("copy", true)] {
        let name = format!("fork_sparse_{flavour}");
        if !in_task(fork_figure(name, 1 << 30, 3, copy, plan.n(32, 4))).await {
            return false;
        }
    }
    if !in_task(cow_fault(plan.n(1024, 64))).await {
        return false;
    }
    for (pages, full, short) in [(1, 16, 2), (256, 8, 2), (16384, 3, 1)] {
        let mut ticks = Vec::new();
        for _ in 0..plan.n(full, short) {
            if !in_task(touch_and_exit(pages)).await {
                return false;
            }
            ticks.push(last_teardown_ticks());
        }
        report(&format!("exit_free_{pages}"), &Samples::from(ticks));
    }
    true
}

/// Runs `body` in a fresh task; true if it exited 0.
async fn in_task(body: impl core::future::Future<Output = i32> + 'static) -> bool {
    let pid = spawn("bench", body);
    wait(pid).await == Ok(ExitStatus::Exited(0))
}

/// Maps `len` bytes with `touched` present pages spread over them, then times `n`
/// forks (each child exits at once and is waited outside the timing).
async fn fork_figure(
    name: alloc::string::String,
    len: usize,
    touched: usize,
    copy: bool,
    n: usize,
) -> i32 {
    let Ok(base) = map(len, Prot::RW, Placement::Anywhere) else {
        return 1;
    };
    let stride = len / touched;
    for i in 0..touched {
        user::store(base + i * stride, 1).await;
    }
    let mut ticks = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = timestamp();
        let child: Result<Pid, _> = if copy {
            fork_copy(async { 0 })
        } else {
            fork(async { 0 })
        };
        ticks.push(timestamp() - t0);
        let Ok(pid) = child else { return 1 };
        let _ = wait(pid).await;
    }
    report(&name, &Samples::from(ticks));
    0
}

/// The first write to pages shared with a live parent: each one copies. Twice:
/// `cow_fault`, then the same split into the kernel's part and the CPU's.
async fn cow_fault(pages: usize) -> i32 {
    if cow_pass(pages, false).await != 0 {
        return 1;
    }
    cow_pass(pages, true).await
}

async fn cow_pass(pages: usize, split: bool) -> i32 {
    let Ok(base) = map(pages * PAGE, Prot::RW, Placement::Anywhere) else {
        return 1;
    };
    for i in 0..pages {
        user::store(base + i * PAGE, 1).await;
    }
    let child = fork(async move {
        // The parent is blocked in wait: every frame here has two owners. Each
        // first store is timed in user mode, as the Linux guest's figure is.
        let timed = if split {
            let split = timed::first_accesses_split(base, pages, Access::Store).await;
            split.map(|parts| timed::report_parts("cow_fault", Some("copy"), &parts))
        } else {
            let touches = timed::first_accesses(base, pages, Access::Store).await;
            touches.map(|s| report("cow_fault", &s))
        };
        i32::from(timed.is_none())
    });
    let Ok(pid) = child else { return 1 };
    i32::from(wait(pid).await != Ok(ExitStatus::Exited(0)))
}

/// Touches `pages` pages and exits: the executor times the teardown.
async fn touch_and_exit(pages: usize) -> i32 {
    let Ok(base) = map(pages * PAGE, Prot::RW, Placement::Anywhere) else {
        return 1;
    };
    for i in 0..pages {
        user::store(base + i * PAGE, 1).await;
    }
    0
}
