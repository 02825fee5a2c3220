//! The bad-input table (docs/BAD_INPUT.md): the rows no other case file covers.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use lazuli_api::{
    ForkError, Placement, Prot, VmError, fork, free_frames, map, mmap, mprotect, munmap, numvp,
    sbrk, spawn, user, wait,
};
use lazuli_vm::layout::{BREAK_LIMIT, BREAK_START};

const PAGE: usize = lazuli_api::PAGE_SIZE;

pub static CASES: &[Case] = &[
    task_case!("mmap_of_1_and_4095_bytes_returns_0", mmap_small),
    task_case!("mmap_crossing_the_break_limit_returns_0", mmap_too_big),
    task_case!(
        "mmap_overflowing_the_break_arithmetic_returns_0",
        mmap_overflow
    ),
    task_case!("first_and_last_byte_of_a_region_work", region_edges),
    task_case!(
        "sbrk_growing_past_the_limit_fails_and_changes_nothing",
        sbrk_limit
    ),
    task_case!("extended_api_edges_have_their_errors", extended_edges),
    task_case!(
        "cow_fork_without_frames_fails_and_leaks_nothing",
        cow_fork_oom
    ),
    task_case!("a_killed_task_leaks_no_heap", kill_leaks_no_heap),
    task_case!(
        "map_touch_unmap_churn_keeps_the_heap_bounded",
        churn_keeps_heap_bounded
    ),
];

async fn mmap_small() -> Outcome {
    ensure_eq!((mmap(1), mmap(4095)), (0, 0), "(mmap(1), mmap(4095))");
    ensure_eq!(numvp(), 9, "nothing reserved");
    Ok(())
}

async fn mmap_too_big() -> Outcome {
    let fits = (BREAK_LIMIT - BREAK_START) as isize;
    ensure_eq!(
        mmap(fits + PAGE as isize),
        0,
        "one page more than the break area"
    );
    ensure_eq!(mmap(fits), BREAK_START as usize, "exactly the break area");
    Ok(())
}

async fn mmap_overflow() -> Outcome {
    let big = isize::MAX - (PAGE as isize - 1); // a multiple of 4096
    ensure_eq!(mmap(big), 0, "mmap({big})");
    ensure_eq!(sbrk(0), BREAK_START as usize, "the break did not move");
    Ok(())
}

async fn region_edges() -> Outcome {
    let a = mmap(2 * PAGE as isize);
    user::store(a, 1).await;
    user::store(a + 2 * PAGE - 1, 2).await;
    ensure_eq!(
        (user::load(a).await, user::load(a + 2 * PAGE - 1).await),
        (1, 2),
        "first and last byte"
    );
    Ok(())
}

async fn sbrk_limit() -> Outcome {
    let too_far = (BREAK_LIMIT - BREAK_START) as isize + PAGE as isize;
    let frames = free_frames();
    ensure_eq!(sbrk(too_far), usize::MAX, "sbrk past the limit");
    ensure_eq!(sbrk(isize::MIN), usize::MAX, "sbrk(isize::MIN)");
    ensure_eq!(
        (sbrk(0), free_frames()),
        (BREAK_START as usize, frames),
        "(break, free frames)"
    );
    Ok(())
}

async fn extended_edges() -> Outcome {
    let kernel_half = 0xffff_8000_0000_0000usize;
    ensure_eq!(
        munmap(kernel_half, PAGE),
        Err(VmError::OutOfRange),
        "munmap of the kernel half"
    );
    ensure_eq!(
        munmap(0, PAGE),
        Err(VmError::OutOfRange),
        "munmap of the null page"
    );
    ensure_eq!(
        mprotect(0x4000_0000, 0, Prot::READ),
        Err(VmError::ZeroLength),
        "zero-length mprotect"
    );
    ensure_eq!(
        map(PAGE, Prot::RW, Placement::Fixed(usize::MAX as u64 & !0xfff)),
        Err(VmError::OutOfRange),
        "fixed at the top of the address space"
    );
    ensure_eq!(
        munmap(0x4000_0000, usize::MAX),
        Err(VmError::OutOfRange),
        "munmap length overflows"
    );
    Ok(())
}

async fn cow_fork_oom() -> Outcome {
    // Take frames until only two are left: a fork needs a root and tables.
    let a = mmap(1 << 30);
    let mut i = 0;
    while free_frames() > 2 {
        user::store(a + i * PAGE, 1).await;
        i += 1;
    }
    let frames = free_frames();
    let result = fork(async { 0 });
    ensure_eq!(
        result.map(|_| ()),
        Err(ForkError::NoMemory),
        "copy-on-write fork with 2 free frames"
    );
    ensure_eq!(free_frames(), frames, "nothing leaked");
    ensure!(user::load(a).await == 1, "our memory is intact");
    Ok(())
}

async fn kill_leaks_no_heap() -> Outcome {
    // Warm up the task table and the waker map so their growth is not counted.
    let _ = wait(spawn("warm", async { 0 })).await;
    let heap = lazuli_api::heap().used;
    let pid = spawn("victim", async {
        user::store(0x10, 1).await;
        0
    });
    let killed =
        crate::check::ended(wait(pid).await) == "killed: page fault at 0x10 (write, not mapped)";
    ensure!(killed, "the victim was killed for its write");
    ensure_eq!(lazuli_api::heap().used, heap, "heap in use after the kill");
    Ok(())
}

/// The reclaim clock is not told when pages go: without memory pressure its hand
/// never runs, and a task that maps, touches and unmaps memory over and over once
/// grew it by 8 bytes a page touched, until the kernel heap ran out (a panic).
async fn churn_keeps_heap_bounded() -> Outcome {
    const PAGES: usize = 1024;
    let round = async || -> Result<(), VmError> {
        let a = map(PAGES * PAGE, Prot::RW, Placement::Anywhere)?;
        for i in 0..PAGES {
            user::store(a + i * PAGE, 1).await;
        }
        munmap(a, PAGES * PAGE)
    };
    round().await.map_err(|e| alloc::format!("{e:?}"))?;
    let heap = lazuli_api::heap().used;
    for _ in 0..64 {
        round().await.map_err(|e| alloc::format!("{e:?}"))?;
    }
    // 64 rounds of 1,024 pages: 512 KiB of ring entries if none were dropped.
    let grown = lazuli_api::heap().used.saturating_sub(heap);
    ensure!(
        grown < 32 * 1024,
        "the heap grew by {grown} bytes over 64 rounds"
    );
    Ok(())
}
