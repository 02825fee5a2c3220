//! Paging figures: first touch, re-touch, the exception floor, zeroing, the seed
//! `mmap` call, and `munmap`.
use super::timed::{self, Access};
use super::{PAGE, Plan, Samples, report, sample};
use alloc::{vec, vec::Vec};
use lazuli_api::diag::{breakpoint, pool_refill_ticks, timestamp, zero_page_ticks};
use lazuli_api::{ExitStatus, Placement, Prot, map, mmap, munmap, spawn, user, wait};
use spin::Mutex;

/// Samples gathered by short-lived tasks (one per sample).
static GATHERED: Mutex<Vec<u64>> = Mutex::new(Vec::new());

/// Frames the kernel keeps zeroed ahead of time (its ZERO_POOL): the first this many
/// first touches after an idle moment find a zeroed frame ready.
const ZERO_POOL: usize = 4096;

/// Pages of `retouch_16384`.
const RETOUCH_BIG: usize = 16384;

pub async fn run(plan: Plan) -> bool {
    let n = plan.n(4096, 256);
    let total = ZERO_POOL + n;
    let base = mmap((total * PAGE) as isize);
    if base == 0 {
        return false;
    }
    // Idle for a moment so the kernel fills its pool of zeroed frames, then touch
    // pool + n pages from user mode, each store timed there as the Linux guest's
    // figure is: the first n are served from the pool, the last n are not.
    lazuli_api::sleep(100).await;
    let Some(touches) = timed::first_accesses(base, total, Access::Store).await else {
        return false;
    };
    let (pooled, unpooled) = in_order(&touches, n, ZERO_POOL);
    report("first_touch", &pooled);
    report("first_touch_unpooled", &unpooled);
    // The pool is empty now: what its refill costs the idle CPU, per frame.
    let refill: Vec<u64> = (0..plan.n(1024, 64)).map(|_| pool_refill_ticks()).collect();
    if refill.contains(&0) {
        return false; // the pool was full: the touches above did not drain it
    }
    report("pool_refill", &Samples::from(refill));
    // The same first touches again, each split into the kernel's part and the CPU's.
    lazuli_api::sleep(100).await; // the pool fills again
    let Ok(again) = map(total * PAGE, Prot::RW, Placement::Anywhere) else {
        return false;
    };
    let Some(parts) = timed::first_accesses_split(again, total, Access::Store).await else {
        return false;
    };
    timed::report_parts("first_touch", None, &parts[..n]);
    let unpooled = &parts[ZERO_POOL..ZERO_POOL + n];
    timed::report_parts("first_touch_unpooled", Some("zero"), unpooled);
    if munmap(again, total * PAGE).is_err() {
        return false;
    }
    // Re-touch as a bulk loop in user mode (as the Linux-guest figure is measured: a
    // user program's loop of stores): per-page cost of one pass over the pages, the
    // cost of an empty user-mode call taken off. Over 256 pages (the Linux figure's
    // small region) and over all n pages (more than QEMU's software TLB holds when
    // nothing makes it grow).
    let Ok(ret) = timed::user_code(&[0xc3]).await else {
        return false;
    };
    let empty = sample(plan.n(64, 8), async |_| {
        user::call(ret).await;
    })
    .await;
    report("user_call", &empty);
    // And over 16,384 pages of their own (64 MiB: Linux's bulk re-touch figure).
    let big = RETOUCH_BIG * PAGE;
    let Ok(big_base) = map(big, Prot::RW, Placement::Anywhere) else {
        return false;
    };
    for i in 0..RETOUCH_BIG {
        user::store(big_base + i * PAGE, 1).await;
    }
    let regions = [
        ("retouch", base, 256.min(n)),
        ("retouch_all", base, n),
        ("retouch_16384", big_base, RETOUCH_BIG),
    ];
    for (name, base, pages) in regions {
        let Ok(pass) = timed::user_code(&store_loop(base, pages)).await else {
            return false;
        };
        let passes = sample(plan.n(32, 4), async |_| {
            user::call(pass).await;
        })
        .await;
        let per_page: Vec<u64> = passes
            .raw()
            .iter()
            .map(|t| t.saturating_sub(empty.median()) / pages as u64)
            .collect();
        report(name, &Samples::from(per_page));
    }
    let _ = munmap(big_base, big);
    report("null_fault", &sample(n, async |_| breakpoint()).await);
    let zero: Vec<u64> = (0..plan.n(1024, 64)).map(|_| zero_page_ticks()).collect();
    report("zero_page", &Samples::from(zero));
    for (name, len) in [("mmap_call_4k", PAGE), ("mmap_call_1g", 1 << 30)] {
        if !mmap_call(name, len, plan.n(64, 8)).await {
            return false;
        }
    }
    for (pages, full, short) in [(1, 64, 8), (256, 16, 4), (16384, 3, 1)] {
        let Some(s) = munmap_figure(pages, plan.n(full, short)).await else {
            return false;
        };
        report(&alloc::format!("munmap_{pages}"), &s);
    }
    true
}

/// x86-64 code that stores 2 to the first byte of each of `pages` pages from `base`,
/// then returns: `movabs rdi, base; mov ecx, pages; 1: mov byte [rdi], 2;
/// add rdi, 4096; dec ecx; jnz 1b; ret`.
fn store_loop(base: usize, pages: usize) -> Vec<u8> {
    let mut code = vec![0x48, 0xbf];
    code.extend_from_slice(&(base as u64).to_le_bytes());
    code.push(0xb9);
    code.extend_from_slice(&(pages as u32).to_le_bytes());
    code.extend_from_slice(&[0xc6, 0x07, 0x02]); // the loop starts here, at 15
    code.extend_from_slice(&[0x48, 0x81, 0xc7, 0x00, 0x10, 0x00, 0x00]);
    code.extend_from_slice(&[0xff, 0xc9]);
    code.extend_from_slice(&[0x75, 0xf2]); // back to 15 from 29
    code.push(0xc3);
    code
}

/// Samples [0, n) and [from, from + n) of `s`, in the order they were taken.
fn in_order(s: &Samples, n: usize, from: usize) -> (Samples, Samples) {
    let raw = s.raw();
    (
        Samples::from(raw[..n].to_vec()),
        Samples::from(raw[from..from + n].to_vec()),
    )
}

/// The seed call in fresh tasks (one region per task), one sample each.
async fn mmap_call(name: &str, len: usize, n: usize) -> bool {
    GATHERED.lock().clear();
    for _ in 0..n {
        let pid = spawn("bench", async move {
            let t0 = timestamp();
            let a = mmap(len as isize);
            let ticks = timestamp() - t0;
            GATHERED.lock().push(ticks);
            i32::from(a == 0)
        });
        if wait(pid).await != Ok(ExitStatus::Exited(0)) {
            return false;
        }
    }
    let ticks = core::mem::take(&mut *GATHERED.lock());
    report(name, &Samples::from(ticks));
    true
}

/// Maps and touches `pages` pages, then times their munmap; `n` rounds.
async fn munmap_figure(pages: usize, n: usize) -> Option<Samples> {
    let mut ticks = Vec::with_capacity(n);
    for _ in 0..n {
        let a = map(pages * PAGE, Prot::RW, Placement::Anywhere).ok()?;
        for i in 0..pages {
            user::store(a + i * PAGE, 1).await;
        }
        let t0 = timestamp();
        munmap(a, pages * PAGE).ok()?;
        ticks.push(timestamp() - t0);
    }
    Some(Samples::from(ticks))
}
