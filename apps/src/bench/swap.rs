//! Swap figures: `disk_read_4k` — one page read from the swap disk the way a
//! swap-in reads it (polled, interrupts off), the floor under `swap_in`;
//! `swap_out` — evicting one present anonymous page as reclaim does (unmap, flush,
//! write to a slot, free), timed in the kernel; `swap_in` — the fault of a touch
//! that brings such a page back (a frame, the read, the mapping), timed around the
//! touch. Without a swap area (`--swap 0`) it says so and prints none of them.
use super::{PAGE, Plan, Samples, report, sample};
use alloc::vec::Vec;
use lazuli_api::{Placement, Prot, diag, map, munmap, println, user};

pub async fn run(plan: Plan) -> bool {
    if lazuli_api::swap().total == 0 {
        println!("bench swap: no swap area (--swap 0)");
        return true;
    }
    let reads: Option<Vec<u64>> = (0..plan.n(200, 8))
        .map(|_| diag::swap_read_ticks())
        .collect();
    let Some(reads) = reads else {
        println!("bench disk_read_4k: the swap disk failed");
        return false;
    };
    report("disk_read_4k", &Samples::from(reads));

    let pages = plan.n(512, 16);
    let Ok(a) = map(pages * PAGE, Prot::RW, Placement::Anywhere) else {
        println!("bench swap_out: no address space for {pages} pages");
        return false;
    };
    let value = |i: usize| (i % 251) as u8 + 1;
    for i in 0..pages {
        user::store(a + i * PAGE, value(i)).await;
    }
    let outs: Option<Vec<u64>> = (0..pages)
        .map(|i| diag::swap_out_ticks(a + i * PAGE))
        .collect();
    let Some(outs) = outs else {
        println!("bench swap_out: a page could not be evicted");
        return false;
    };
    let ins = sample(pages, async |i| {
        core::hint::black_box(user::load(a + i * PAGE).await);
    })
    .await;
    let mut whole = true;
    for i in 0..pages {
        whole &= user::load(a + i * PAGE).await == value(i);
    }
    let _ = munmap(a, pages * PAGE);
    if !whole {
        println!("bench swap_in: a page came back changed");
        return false;
    }
    report("swap_out", &Samples::from(outs));
    report("swap_in", &ins);
    true
}
