//! `bench`: what demand paging costs, in TSC ticks (under TCG: host ticks).
//!
//! Prints a calibration line, then `bench NAME: median=… p99=… n=…` per figure.
//! Each sample is one operation timed alone with serialised `rdtsc`, timer overhead
//! included (the calibration line says how much that is). `bench short` takes fewer
//! samples (CI proves the bench runs; figures come from the full run).
use alloc::{string::String, vec::Vec};
use lazuli_api::{ExitStatus, fork, mmap, println, spawn, timestamp, uptime_ms, user, wait};

const PAGE: usize = 4096;

pub async fn main(args: String) -> i32 {
    let n = if args.trim() == "short" { 256 } else { 4096 };
    calibrate();
    // One region for the paging figures: n pages, touched one by one.
    let base = mmap((n * PAGE) as isize);
    if base == 0 {
        println!("bench: mmap({}) failed", n * PAGE);
        return 1;
    }
    report(
        "first_touch",
        sample(n, |i| user::store(base + i * PAGE, 1)),
    );
    report("retouch", sample(n, |i| user::store(base + i * PAGE, 2)));
    // fork figures, each in a fresh task with its own region (one mmap per task).
    let forks = if n > 256 { 64 } else { 8 };
    let figures: [(&'static str, usize, usize); 2] =
        [("fork_present_3", 3 * PAGE, 3), ("fork_sparse", 1 << 30, 3)];
    for (name, len, touched) in figures {
        let pid = spawn("bench", fork_figure(name, len, touched, forks));
        if wait(pid).await != Ok(ExitStatus::Exited(0)) {
            println!("bench: {name} failed");
            return 1;
        }
    }
    0
}

/// Times `fork` of a task whose `len`-byte region has `touched` present pages
/// spread over it (the child exits at once; it is waited outside the timing).
async fn fork_figure(name: &'static str, len: usize, touched: usize, n: usize) -> i32 {
    let base = mmap(len as isize);
    if base == 0 {
        return 1;
    }
    let stride = len / touched;
    for i in 0..touched {
        user::store(base + i * stride, 1);
    }
    let mut ticks = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = timestamp();
        let child = fork(async { 0 });
        ticks.push(timestamp() - t0);
        match child {
            Ok(pid) => {
                let _ = wait(pid).await;
            }
            Err(_) => return 1,
        }
    }
    ticks.sort_unstable();
    report(name, Samples(ticks));
    0
}

/// Timer overhead and the TSC rate (measured against the 1 kHz PIT).
fn calibrate() {
    let overhead = sample(1024, |_| {});
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
fn sample(n: usize, mut op: impl FnMut(usize)) -> Samples {
    let mut ticks = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = timestamp();
        op(i);
        ticks.push(timestamp() - t0);
    }
    ticks.sort_unstable();
    Samples(ticks)
}

struct Samples(Vec<u64>);

impl Samples {
    fn median(&self) -> u64 {
        self.0[self.0.len() / 2]
    }
    fn p99(&self) -> u64 {
        self.0[(self.0.len() * 99 / 100).min(self.0.len() - 1)]
    }
}

fn report(name: &str, s: Samples) {
    println!(
        "bench {name}: median={} p99={} n={}",
        s.median(),
        s.p99(),
        s.0.len()
    );
}
