//! `pressure [ROUNDS]`: memory-pressure runs. Each round lets three tasks touch
//! pages until frames run out, then a copy-on-write fork storm whose children write
//! every shared page. Tasks must die with `out of memory` (never another reason), the
//! kernel and this task must live on, and free frames must come back after every
//! round. Ends by proving a fresh task still maps and touches memory.
//! Meant for a small machine: `cargo run -- --memory 64 --exec pressure`.
use alloc::{format, string::String, vec::Vec};
use lazuli_api::{
    ExitStatus, KillReason, Pid, Why, fork, free_frames, mmap, println, spawn, user, wait,
    yield_now,
};

const PAGE: usize = lazuli_api::PAGE_SIZE;
const HOGS: usize = 3;
const STORM: usize = 8;

pub async fn main(args: String) -> i32 {
    let rounds = args.trim().parse::<usize>().unwrap_or(3);
    let baseline = free_frames();
    let mut killed = 0;
    for round in 1..=rounds {
        let result = match hogs().await {
            Ok(k) => storm().await.map(|s| k + s),
            Err(e) => Err(e),
        };
        match result {
            Ok(k) => killed += k,
            Err(why) => return fail(round, &why),
        }
        let now = free_frames();
        if now != baseline {
            return fail(round, &format!("free frames {now}, were {baseline} before"));
        }
    }
    if let Err(why) = still_usable().await {
        return fail(rounds, &why);
    }
    println!(
        "pressure: {rounds} rounds, {killed} tasks killed (out of memory), free frames back to {baseline}"
    );
    0
}

fn fail(round: usize, why: &str) -> i32 {
    println!("pressure: FAIL in round {round}: {why}");
    1
}

/// Whether a task's end is an out-of-memory kill (at a fault, or at its creation).
fn out_of_memory(status: &Result<ExitStatus, lazuli_api::WaitError>) -> bool {
    match status {
        Ok(ExitStatus::Killed(KillReason::OutOfMemory)) => true,
        Ok(ExitStatus::Killed(KillReason::PageFault(report))) => report.why == Why::OutOfMemory,
        _ => false,
    }
}

/// Three tasks touch a 1 GiB region each, page by page, until they are killed.
async fn hogs() -> Result<usize, String> {
    let pids: Vec<Pid> = (0..HOGS)
        .map(|_| {
            spawn("hog", async {
                let a = mmap(1 << 30);
                for i in 0..(1usize << 18) {
                    user::store(a + i * PAGE, 1).await;
                    if i % 64 == 0 {
                        yield_now().await; // let the hogs race for the last frames
                    }
                }
                0 // only if 1 GiB fitted: not on a small machine
            })
        })
        .collect();
    let mut killed = 0;
    for pid in pids {
        let status = wait(pid).await;
        if !out_of_memory(&status) {
            return Err(format!(
                "hog {pid} ended with {status:?}, not out of memory"
            ));
        }
        killed += 1;
    }
    Ok(killed)
}

/// A parent holding a third of free memory forks children that each write every
/// shared page (each write copies): the later ones run out of memory.
async fn storm() -> Result<usize, String> {
    let pages = free_frames() / 3;
    let pid = spawn("storm", async move {
        let a = mmap((pages * PAGE) as isize);
        for i in 0..pages {
            user::store(a + i * PAGE, (i % 251) as u8).await;
        }
        let mut children = Vec::new();
        for _ in 0..STORM {
            match fork(async move {
                for i in 0..pages {
                    user::store(a + i * PAGE, 0xee).await;
                    if i % 64 == 0 {
                        yield_now().await; // all children copy at once
                    }
                }
                0
            }) {
                Ok(pid) => children.push(pid),
                Err(_) => break, // no frames even for the child's tables
            }
        }
        let mut killed = 0;
        for child in children {
            match wait(child).await {
                Ok(ExitStatus::Exited(0)) => {}
                status if out_of_memory(&status) => killed += 1,
                _ => return -1,
            }
        }
        let mut intact = true;
        for i in 0..pages {
            intact &= user::load(a + i * PAGE).await == (i % 251) as u8;
        }
        if intact { killed } else { -2 }
    });
    match wait(pid).await {
        Ok(ExitStatus::Exited(k)) if k >= 0 => Ok(k as usize),
        Ok(ExitStatus::Exited(-1)) => {
            Err("a storm child died of something else than out of memory".into())
        }
        Ok(ExitStatus::Exited(_)) => Err("the storm parent's pages changed".into()),
        other => Err(format!("the storm parent ended with {other:?}")),
    }
}

/// A fresh task can still map, touch and read back memory.
async fn still_usable() -> Result<(), String> {
    let pid = spawn("after", async {
        let a = mmap(16 * PAGE as isize);
        for i in 0..16 {
            user::store(a + i * PAGE, i as u8 + 1).await;
        }
        let mut intact = true;
        for i in 0..16 {
            intact &= user::load(a + i * PAGE).await == i as u8 + 1;
        }
        i32::from(!intact)
    });
    match wait(pid).await {
        Ok(ExitStatus::Exited(0)) => Ok(()),
        other => Err(format!(
            "a fresh task after the pressure ended with {other:?}"
        )),
    }
}
