//! `pressure [ROUNDS]`: memory-pressure runs, for a small machine
//! (`cargo run -- --memory 64 --exec pressure`).
//!
//! Without swap (`--swap 0`) each round lets three tasks touch pages until frames
//! run out, then a copy-on-write fork storm whose children write every shared
//! page. Tasks must die with `out of memory` (never another reason).
//!
//! With swap the same two shapes ask for half as much again as the free frames —
//! three tasks filling half of them each, a storm of four children each writing
//! all of a parent's third — and every task must **survive** and read back what
//! it wrote, its pages having gone to the swap area and come back.
//!
//! Either way the kernel and this task live on, the frames come back after every
//! round (`frames_at_rest`), and a fresh task still maps and touches memory.
use alloc::{format, string::String, vec::Vec};
use lazuli_api::{
    ExitStatus, KillReason, Pid, Why, fork, frames_at_rest, free_frames, mmap, println, spawn,
    swap, user, wait, yield_now,
};

const PAGE: usize = lazuli_api::PAGE_SIZE;
const HOGS: usize = 3;
const STORM: usize = 8;
/// Storm children with swap: with the parent, 5/3 of the free frames.
const SWAP_STORM: usize = 4;

pub async fn main(args: String) -> i32 {
    let rounds = match args.trim() {
        "" => 3,
        words => match words.parse::<usize>() {
            Ok(rounds @ 1..=100) => rounds,
            _ => {
                println!("pressure: usage: pressure [ROUNDS] (1 to 100)");
                return 2;
            }
        },
    };
    let swapping = swap().total > 0;
    let baseline = frames_at_rest();
    let (mut killed, mut survived, mut wanted, mut free) = (0, 0, 0, 0);
    for round in 1..=rounds {
        let result = if swapping {
            free = free_frames();
            survivors().await.map(|(tasks, pages)| {
                survived += tasks;
                wanted = wanted.max(pages);
            })
        } else {
            match hogs().await {
                Ok(k) => storm().await.map(|s| killed += k + s),
                Err(e) => Err(e),
            }
        };
        if let Err(why) = result {
            return fail(round, &why);
        }
        let now = frames_at_rest();
        if now != baseline {
            return fail(round, &format!("free frames {now}, were {baseline} before"));
        }
    }
    if let Err(why) = still_usable().await {
        return fail(rounds, &why);
    }
    if swapping {
        println!(
            "pressure: {rounds} rounds, {survived} tasks survived past RAM (up to {wanted} pages for {free} free frames), free frames back to {baseline}"
        );
    } else {
        println!(
            "pressure: {rounds} rounds, {killed} tasks killed (out of memory), free frames back to {baseline}"
        );
    }
    0
}

/// One round with swap: hogs that together want 1.5× the free frames, then a
/// storm whose copies want 5/3 of them. Every task must end with its data whole.
/// Ok((tasks that survived, most pages wanted at once)).
async fn survivors() -> Result<(usize, usize), String> {
    let free = free_frames();
    let each = free / 2;
    let pids: Vec<Pid> = (0..HOGS)
        .map(|h| {
            spawn("hog", async move {
                let a = mmap((each * PAGE) as isize);
                let value = |i: usize| ((i + h) % 251) as u8 + 1;
                for i in 0..each {
                    user::store(a + i * PAGE, value(i)).await;
                    if i % 64 == 0 {
                        yield_now().await; // the hogs' pages go out in turn
                    }
                }
                for i in 0..each {
                    if user::load(a + i * PAGE).await != value(i) {
                        return 1;
                    }
                }
                0
            })
        })
        .collect();
    for pid in pids {
        match wait(pid).await {
            Ok(ExitStatus::Exited(0)) => {}
            other => return Err(format!("hog {pid} ended with {other:?}, not whole")),
        }
    }
    let storm = free / 3;
    let children = storm_with_swap(storm).await?;
    Ok((
        HOGS + 1 + children,
        (HOGS * each).max((1 + children) * storm),
    ))
}

/// A parent with `pages` written pages forks [`SWAP_STORM`] children that each
/// write all of them; all must exit 0 and the parent keep its data. Ok(children).
async fn storm_with_swap(pages: usize) -> Result<usize, String> {
    let pid = spawn("storm", async move {
        let a = mmap((pages * PAGE) as isize);
        for i in 0..pages {
            user::store(a + i * PAGE, (i % 251) as u8).await;
        }
        let mut children = Vec::new();
        for c in 0..SWAP_STORM {
            let Ok(pid) = fork(async move {
                for i in 0..pages {
                    user::store(a + i * PAGE, 0xe0 + c as u8).await;
                    if i % 64 == 0 {
                        yield_now().await;
                    }
                }
                for i in 0..pages {
                    if user::load(a + i * PAGE).await != 0xe0 + c as u8 {
                        return 1;
                    }
                }
                0
            }) else {
                return -1;
            };
            children.push(pid);
        }
        for child in children {
            if wait(child).await != Ok(ExitStatus::Exited(0)) {
                return -1;
            }
        }
        for i in 0..pages {
            if user::load(a + i * PAGE).await != (i % 251) as u8 {
                return -2;
            }
        }
        0
    });
    match wait(pid).await {
        Ok(ExitStatus::Exited(0)) => Ok(SWAP_STORM),
        Ok(ExitStatus::Exited(-1)) => Err("a storm child was not whole, or not forked".into()),
        Ok(ExitStatus::Exited(_)) => Err("the storm parent's pages changed".into()),
        other => Err(format!("the storm parent ended with {other:?}")),
    }
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
