//! `bench`: what demand paging costs, in TSC ticks (under TCG: host ticks).
//!
//! Prints a calibration line (timer overhead, TSC rate), then one line per figure:
//! `bench NAME: median=… p99=… n=…`. Each sample times one operation alone with
//! serialised `rdtsc` (`lfence; rdtsc; lfence`, read inline by the app); the timer
//! overhead is included in every figure, as in the Linux-guest baselines. Figures that need a
//! fresh address space (the seed `mmap`, exits) run in tasks of their own.
//! Storage figures (disk reads, 1 MiB through the file API) come next, from
//! `storage`, then file-mapping faults, from `mapping`, and swap last, from `swap`.
//! `bench short` takes few samples: CI runs it to prove the bench works; figures
//! come from the full run (`cargo run --release -- --exec bench`, docs/BENCHMARKS.md).
mod fork;
mod mapping;
mod paging;
mod storage;
mod swap;
mod timed;

use alloc::{string::String, vec::Vec};
use lazuli_api::{diag::timestamp, println, uptime_ms};

pub const PAGE: usize = lazuli_api::PAGE_SIZE;

/// How many samples each figure takes.
#[derive(Clone, Copy)]
pub struct Plan {
    pub short: bool,
}

impl Plan {
    /// `full` samples normally, `short` in short mode.
    pub fn n(self, full: usize, short: usize) -> usize {
        if self.short { short } else { full }
    }
}

pub async fn main(args: String) -> i32 {
    let plan = match args.trim() {
        "" => Plan { short: false },
        "short" => Plan { short: true },
        _ => {
            println!("bench: usage: bench [short]");
            return 2;
        }
    };
    calibrate().await;
    let steps = [
        paging::run(plan).await,
        fork::run(plan).await,
        storage::run(plan).await,
        mapping::run(plan).await,
        swap::run(plan).await,
    ];
    if steps.iter().all(|&ok| ok) {
        0
    } else {
        println!("bench: a figure could not be measured");
        1
    }
}

/// Timer overhead and the TSC rate (against the 1 kHz PIT). The overhead is two
/// readings back to back, as the Linux guest's benchmark takes it.
async fn calibrate() {
    let pairs: Vec<u64> = (0..1024)
        .map(|_| {
            let t0 = timestamp();
            timestamp() - t0
        })
        .collect();
    let overhead = Samples::from(pairs);
    let (t0, ms0) = (timestamp(), uptime_ms());
    while uptime_ms() < ms0 + 50 {}
    let mhz = (timestamp() - t0) / (uptime_ms() - ms0) / 1000;
    println!(
        "bench calibration: timer overhead median={} p99={}, tsc={} MHz",
        overhead.median(),
        overhead.p99(),
        mhz
    );
}

/// Times `op(i)` for i in 0..n, one sample each.
pub async fn sample(n: usize, mut op: impl AsyncFnMut(usize)) -> Samples {
    let mut ticks = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = timestamp();
        op(i).await;
        ticks.push(timestamp() - t0);
    }
    Samples::from(ticks)
}

/// Tick counts, kept in the order taken and sorted for the statistics.
pub struct Samples {
    raw: Vec<u64>,
    sorted: Vec<u64>,
}

impl From<Vec<u64>> for Samples {
    fn from(raw: Vec<u64>) -> Self {
        let mut sorted = raw.clone();
        sorted.sort_unstable();
        Samples { raw, sorted }
    }
}

impl Samples {
    /// The samples in the order they were taken.
    pub fn raw(&self) -> &[u64] {
        &self.raw
    }
    /// The samples, sorted.
    pub fn sorted(&self) -> &[u64] {
        &self.sorted
    }
    pub fn median(&self) -> u64 {
        self.sorted.get(self.sorted.len() / 2).copied().unwrap_or(0)
    }
    pub fn p99(&self) -> u64 {
        let i = (self.sorted.len() * 99 / 100).min(self.sorted.len().saturating_sub(1));
        self.sorted.get(i).copied().unwrap_or(0)
    }
}

/// Prints one figure in the bench's line form.
pub fn report(name: &str, s: &Samples) {
    println!(
        "bench {name}: median={} p99={} n={}",
        s.median(),
        s.p99(),
        s.sorted().len()
    );
}
