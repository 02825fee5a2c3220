//! `stress SEED OPS`: randomized VM stress against a reference model.
//!
//! A deterministic PRNG (seeded by SEED) drives [`WORKERS`] tasks at once, each in
//! its own address space: map (anywhere, hinted, fixed, no-replace, guard, and
//! shared or private windows onto the worker's own file, some reaching past its
//! end), munmap of partial ranges, mprotect, sbrk, writes, read-checks,
//! copy-on-write and eager forks whose children run checked steps of their own,
//! and deliberate bad accesses in children whose kill reasons must be exactly the
//! predicted ones. After every step numvp and numpp must equal the model's; at a
//! worker's end its file, read through the file API, must hold exactly what its
//! shared stores put there. At the end every frame (free or in the page cache,
//! less the swap slots in use: `frames_at_rest`) and every byte of kernel heap
//! must be back. Without a disk the workers map no files. `stress SEED OPS MIB`
//! also keeps MIB MiB filled in another task during the round (`hold`): on a
//! small machine with swap, every task's pages then go out and come back. Output:
//! `stress: N ops, 0 mismatches, free frames back to B`, or the first mismatch with
//! the command that replays it.
mod hold;
mod model;
mod ops;
mod rng;

use alloc::{format, string::String, vec::Vec};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use lazuli_api::fs::{self, File, OpenOptions};
use lazuli_api::{ExitStatus, frames_at_rest, heap, println, spawn, wait, yield_now};
use ops::Worker;
use rng::Rng;
use spin::Mutex;

/// Tasks running at once.
pub const WORKERS: u64 = 4;

static OPS: AtomicUsize = AtomicUsize::new(0);
/// A holder runs beside the workers (reclaim may take any task's pages).
static PRESSURE: AtomicBool = AtomicBool::new(false);

fn under_pressure() -> bool {
    PRESSURE.load(Ordering::Relaxed)
}
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
    let hold = words.next().map_or(Ok(0), str::parse::<usize>);
    let (Ok(seed), Ok(ops), Ok(hold @ 0..=4096), None) = (seed, ops, hold, words.next()) else {
        println!("stress: usage: stress [SEED [OPS [HOLD_MIB]]]");
        return 2;
    };
    // A warm-up round first: the kernel's task table and queues keep the capacity
    // they grew to, which is not a leak; the baseline is taken after it.
    let warm_up = round(seed ^ 0x5eed, 200 * WORKERS as usize, hold.min(1), false).await;
    let frames = frames_at_rest();
    let heap_before = heap().used;
    OPS.store(0, Ordering::Relaxed);
    let first = match warm_up {
        Some(why) => Some(format!("(warm-up) {why}")),
        None => round(seed, ops, hold, true).await,
    };
    let done = OPS.load(Ordering::Relaxed);
    let (frames_now, heap_now) = (frames_at_rest(), heap().used);
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
            let again = if hold > 0 {
                format!(" {hold}")
            } else {
                String::new()
            };
            println!("stress: mismatch: {why} — replay with: stress {seed} {ops}{again}");
            1
        }
    }
}

/// The file worker `w` maps.
fn file_name(w: u64) -> String {
    format!("STRESS{w}.BIN")
}

/// Makes worker `w`'s file: [`model::FILE_PAGES`] pages of zeros. False if there
/// is no file system to make it on.
async fn make_file(w: u64) -> bool {
    let Ok(mut file) = File::open(&file_name(w), OpenOptions::REPLACE) else {
        return false;
    };
    let zeros = alloc::vec![0u8; (model::FILE_PAGES * model::PAGE) as usize];
    file.write(&zeros).await.is_ok() && file.close().is_ok()
}

/// A round beside a holder of `hold` MiB (none if 0); the first mismatch, if any.
/// With `report`, prints the swap traffic of the round (the proof it swapped).
async fn round(seed: u64, ops: usize, hold: usize, report: bool) -> Option<String> {
    if hold == 0 {
        return run_round(seed, ops).await;
    }
    PRESSURE.store(true, Ordering::Relaxed);
    let before = lazuli_api::swap();
    let holder = hold::Holder::start(hold);
    let first = run_round(seed, ops).await;
    let first = first.or(holder.finish().await.err());
    let after = lazuli_api::swap();
    report.then(|| {
        println!(
            "stress: beside {hold} MiB held: {} pages swapped out, {} swapped in",
            after.written - before.written,
            after.read - before.read
        )
    });
    first
}

/// Runs `ops` operations over [`WORKERS`] tasks; the first mismatch, if any.
async fn run_round(seed: u64, ops: usize) -> Option<String> {
    *FIRST.lock() = None;
    let mut seeds = Rng::new(seed);
    let mut pids = Vec::new();
    let mut files = true;
    for w in 0..WORKERS {
        files &= make_file(w).await;
    }
    for w in 0..WORKERS {
        let share = ops / WORKERS as usize + usize::from((w as usize) < ops % WORKERS as usize);
        let worker = Worker {
            rng: Rng::new(seeds.next()),
            model: model::Model::default(),
            file: None,
        };
        pids.push((w, spawn("stress", run_worker(w, worker, share, files))));
    }
    let mut bad_end = None;
    for (w, pid) in pids {
        match wait(pid).await {
            Ok(ExitStatus::Exited(_)) => {}
            other => bad_end = bad_end.or(Some(format!("worker {w} ended with {other:?}"))),
        }
    }
    for w in 0..WORKERS {
        let _ = fs::remove(&file_name(w));
    }
    FIRST.lock().take().or(bad_end)
}

async fn run_worker(id: u64, mut worker: Worker, ops: usize, files: bool) -> i32 {
    if files {
        let options = OpenOptions {
            read: true,
            write: true,
            ..OpenOptions::default()
        };
        worker.file = File::open(&file_name(id), options).ok();
    }
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
    if let Err(why) = worker.verify_file().await {
        *FIRST.lock() = Some(format!("worker {id}, at the end: {why}"));
        return 1;
    }
    0
}
