//! `stress SEED OPS`: randomized VM stress against a reference model.
//!
//! A deterministic PRNG (seeded by SEED) drives [`WORKERS`] tasks at once, each in
//! its own address space: map (anywhere, hinted, fixed, no-replace, guard), munmap
//! of partial ranges, mprotect, sbrk, writes, read-checks, copy-on-write and eager
//! forks whose children run checked steps of their own, and deliberate bad accesses
//! in children whose kill reasons must be exactly the predicted ones. After every
//! step numvp and numpp must equal the model's. At the end every frame and every
//! byte of kernel heap must be back. Output:
//! `stress: N ops, 0 mismatches, free frames back to B`, or the first mismatch with
//! the command that replays it.
mod model;
mod ops;
mod rng;

use alloc::{format, string::String, vec::Vec};
use core::sync::atomic::{AtomicUsize, Ordering};
use lazuli_api::{ExitStatus, free_frames, heap, println, spawn, wait, yield_now};
use ops::Worker;
use rng::Rng;
use spin::Mutex;

/// Tasks running at once.
pub const WORKERS: u64 = 4;

static OPS: AtomicUsize = AtomicUsize::new(0);
static FIRST: Mutex<Option<String>> = Mutex::new(None);
static CHILD: Mutex<Option<String>> = Mutex::new(None);

fn record_child_mismatch(why: String) {
    *CHILD.lock() = Some(why);
}

fn take_child_mismatch() -> String {
    CHILD.lock().take().unwrap_or_default()
}

pub async fn main(args: String) -> i32 {
    let mut words = args.split_whitespace();
    let seed = words.next().map_or(Ok(42), str::parse::<u64>);
    let ops = words.next().map_or(Ok(10_000), str::parse::<usize>);
    let (Ok(seed), Ok(ops)) = (seed, ops) else {
        println!("stress: usage: stress [SEED [OPS]]");
        return 2;
    };
    // A warm-up round first: the kernel's task table and queues keep the capacity
    // they grew to, which is not a leak; the baseline is taken after it.
    let warm_up = run_round(seed ^ 0x5eed, 200 * WORKERS as usize).await;
    let frames = free_frames();
    let heap_before = heap().used;
    OPS.store(0, Ordering::Relaxed);
    let first = match warm_up {
        Some(why) => Some(format!("(warm-up) {why}")),
        None => run_round(seed, ops).await,
    };
    let done = OPS.load(Ordering::Relaxed);
    let (frames_now, heap_now) = (free_frames(), heap().used);
    let leak = if frames_now != frames {
        Some(format!(
            "free frames {frames_now}, were {frames} before (a leak)"
        ))
    } else if heap_now != heap_before {
        Some(format!(
            "kernel heap in use {heap_now} bytes, was {heap_before} before (a leak)"
        ))
    } else {
        None
    };
    match first.or(leak) {
        None => {
            println!("stress: {done} ops, 0 mismatches, free frames back to {frames}");
            0
        }
        Some(why) => {
            println!("stress: mismatch: {why} — replay with: stress {seed} {ops}");
            1
        }
    }
}

/// Runs `ops` operations over [`WORKERS`] tasks; the first mismatch, if any.
async fn run_round(seed: u64, ops: usize) -> Option<String> {
    *FIRST.lock() = None;
    let mut seeds = Rng::new(seed);
    let mut pids = Vec::new();
    for w in 0..WORKERS {
        let share = ops / WORKERS as usize + usize::from((w as usize) < ops % WORKERS as usize);
        let worker = Worker {
            rng: Rng::new(seeds.next()),
            model: model::Model::default(),
        };
        pids.push((w, spawn("stress", run_worker(w, worker, share))));
    }
    let mut bad_end = None;
    for (w, pid) in pids {
        match wait(pid).await {
            Ok(ExitStatus::Exited(_)) => {}
            other => bad_end = bad_end.or(Some(format!("worker {w} ended with {other:?}"))),
        }
    }
    FIRST.lock().take().or(bad_end)
}

async fn run_worker(id: u64, mut worker: Worker, ops: usize) -> i32 {
    for i in 0..ops {
        if FIRST.lock().is_some() {
            return 1; // another worker already found one: stop early
        }
        if let Err(why) = worker.step(0).await {
            *FIRST.lock() = Some(format!("worker {id}, op {i}: {why}"));
            return 1;
        }
        OPS.fetch_add(1, Ordering::Relaxed);
        yield_now().await; // interleave the workers' address spaces
    }
    0
}
