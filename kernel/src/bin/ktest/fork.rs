//! fork — copy-on-write (the default) and the seed's eager copy — and wait: present pages copied, untouched pages
//! lazy and independent, counters equal at the fork, kills confined to the child.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::format;
use lazuli_api::{
    ExitStatus, ForkError, Pid, WaitError, fork, fork_copy, free_frames, getptsize, mmap, numpp,
    numvp, user, wait,
};

const PAGE: usize = lazuli_api::PAGE_SIZE;

/// Forks with the seed's eager copy when `COPY`, else copy-on-write (the default).
fn fork_as<const COPY: bool>(
    child: impl core::future::Future<Output = i32> + 'static,
) -> Result<Pid, ForkError> {
    if COPY { fork_copy(child) } else { fork(child) }
}

pub static CASES: &[Case] = &[
    task_case!(
        "fork_child_reads_parent_page_and_writes_its_own_copy",
        present_copied,
        false
    ),
    task_case!(
        "fork_untouched_pages_stay_lazy_and_independent",
        untouched_lazy,
        false
    ),
    task_case!(
        "fork_counters_equal_then_frames_return",
        counters_equal,
        false
    ),
    task_case!(
        "fork_child_killed_past_region_leaves_parent_intact",
        child_killed,
        false
    ),
    task_case!(
        "fork_of_1gib_sparse_region_shares_only_present_pages",
        sparse_fork,
        false
    ),
    task_case!(
        "fork_nested_generations_keep_their_own_memory",
        nested,
        false
    ),
    task_case!(
        "seed_fork_child_reads_parent_page_and_writes_its_own_copy",
        present_copied,
        true
    ),
    task_case!(
        "seed_fork_untouched_pages_stay_lazy_and_independent",
        untouched_lazy,
        true
    ),
    task_case!(
        "seed_fork_counters_equal_then_frames_return",
        counters_equal,
        true
    ),
    task_case!(
        "seed_fork_child_killed_past_region_leaves_parent_intact",
        child_killed,
        true
    ),
    task_case!(
        "seed_fork_of_1gib_sparse_region_copies_only_present_pages",
        sparse_fork,
        true
    ),
    task_case!(
        "seed_fork_nested_generations_keep_their_own_memory",
        nested,
        true
    ),
    task_case!(
        "seed_fork_without_enough_frames_fails_and_leaks_nothing",
        fork_oom
    ),
    task_case!(
        "fork_child_inherits_the_break_and_the_one_region_rule",
        inherits_break
    ),
    task_case!("wait_on_a_stranger_or_twice_is_an_error", wait_errors),
];

async fn exited(pid: Pid) -> Result<i32, alloc::string::String> {
    match wait(pid).await {
        Ok(ExitStatus::Exited(code)) => Ok(code),
        other => Err(format!("child {pid} ended with {other:?}")),
    }
}

async fn present_copied<const COPY: bool>() -> Outcome {
    let a = mmap(3 * PAGE as isize);
    user::store(a, b'p').await;
    let child = fork_as::<COPY>(async move {
        if user::load(a).await != b'p' {
            return 1;
        }
        user::store(a, b'c').await;
        if user::load(a).await == b'c' { 0 } else { 2 }
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        exited(child).await?,
        0,
        "child saw 'p' and then its own 'c'"
    );
    ensure_eq!(
        user::load(a).await,
        b'p',
        "parent's byte after the child wrote"
    );
    Ok(())
}

async fn untouched_lazy<const COPY: bool>() -> Outcome {
    let a = mmap(3 * PAGE as isize);
    user::store(a, 1).await;
    let parent_pp = numpp();
    let child = fork_as::<COPY>(async move {
        let before = numpp();
        user::store(a + PAGE, 0x55).await;
        if numpp() != before + 1 {
            return 1;
        }
        if user::load(a + PAGE).await == 0x55 {
            0
        } else {
            2
        }
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        exited(child).await?,
        0,
        "child faulted its page 1 in (+1 numpp)"
    );
    ensure_eq!(
        numpp(),
        parent_pp,
        "parent numpp unchanged by the child's touch"
    );
    ensure_eq!(user::load(a + PAGE).await, 0, "parent's own page 1 is zero");
    ensure_eq!(numpp(), parent_pp + 1, "and now present in the parent");
    Ok(())
}

async fn counters_equal<const COPY: bool>() -> Outcome {
    let frames = free_frames();
    let a = mmap(16 * PAGE as isize);
    for i in [0, 3, 9] {
        user::store(a + i * PAGE, i as u8).await;
    }
    let mine = (numvp(), numpp(), getptsize());
    let child = fork_as::<COPY>(async move {
        let theirs = (numvp(), numpp(), getptsize());
        if theirs == mine { 0 } else { 1 }
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        exited(child).await?,
        0,
        "child's counters at start equal {mine:?}"
    );
    ensure_eq!(
        free_frames(),
        frames - 3 - 3,
        "only the parent's 3 pages + 3 tables remain"
    );
    Ok(())
}

async fn child_killed<const COPY: bool>() -> Outcome {
    let a = mmap(2 * PAGE as isize);
    user::store(a, 7).await;
    let frames = free_frames();
    let child = fork_as::<COPY>(async move {
        user::store(a + 2 * PAGE, 1).await;
        0
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    let want = format!(
        "killed: page fault at {:#x} (write, not mapped)",
        a + 2 * PAGE
    );
    ensure_eq!(crate::check::ended(wait(child).await), want, "child's end");
    ensure_eq!(user::load(a).await, 7, "parent's memory intact");
    ensure_eq!(free_frames(), frames, "the child's copy was freed");
    Ok(())
}

async fn sparse_fork<const COPY: bool>() -> Outcome {
    let a = mmap(1 << 30);
    for off in [0usize, 300 << 20, (1 << 30) - PAGE] {
        user::store(a + off, 3).await;
    }
    let present = numpp();
    let child = fork_as::<COPY>(async move { i32::from(numpp() != present) })
        .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        exited(child).await?,
        0,
        "child's numpp equals the parent's {present} present pages"
    );
    Ok(())
}

async fn nested<const COPY: bool>() -> Outcome {
    let a = mmap(PAGE as isize);
    user::store(a, b'P').await;
    let child = fork_as::<COPY>(async move {
        user::store(a, b'C').await;
        let grandchild = match fork_as::<COPY>(async move {
            let saw = user::load(a).await;
            user::store(a, b'G').await;
            i32::from(saw != b'C')
        }) {
            Ok(pid) => pid,
            Err(_) => return 10,
        };
        match wait(grandchild).await {
            Ok(ExitStatus::Exited(0)) => {}
            _ => return 11,
        }
        i32::from(user::load(a).await != b'C')
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(
        exited(child).await?,
        0,
        "child and grandchild each saw their parent's byte"
    );
    ensure_eq!(user::load(a).await, b'P', "the first generation's byte");
    Ok(())
}

async fn fork_oom() -> Outcome {
    // A copy cannot fit: with S swap slots, reclaim can move up to S of the
    // parent's pages out (each one copy fewer, one frame more), so a fork of P
    // pages fits F free frames iff P <= F/2 + S.
    let slots = lazuli_api::swap();
    let pages = free_frames() / 2 + (slots.total - slots.used) + 64;
    let a = mmap((pages * PAGE) as isize);
    ensure!(a != 0, "mmap of {pages} pages");
    for i in 0..pages {
        user::store(a + i * PAGE, 1).await;
    }
    let frames = lazuli_api::frames_at_rest();
    let result = fork_copy(async { 0 });
    ensure_eq!(
        result,
        Err(ForkError::NoMemory),
        "seed fork (eager copy) with {pages} present pages"
    );
    ensure_eq!(
        lazuli_api::frames_at_rest(),
        frames,
        "the partial copy was freed (pages moved to swap on the way count as frames)"
    );
    Ok(())
}

async fn inherits_break() -> Outcome {
    let a = mmap(PAGE as isize);
    let brk = lazuli_api::sbrk(0);
    let child = fork(async move {
        if mmap(PAGE as isize) != 0 {
            return 1; // the one-region rule carried over
        }
        i32::from(lazuli_api::sbrk(0) != brk)
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    ensure!(a != 0, "first mmap");
    ensure_eq!(
        exited(child).await?,
        0,
        "child: mmap gives 0 and the break is the parent's"
    );
    Ok(())
}

async fn wait_errors() -> Outcome {
    ensure_eq!(
        wait(Pid(1)).await,
        Err(WaitError::NotChild),
        "waiting on the ktest runner"
    );
    let child = fork(async { 3 }).map_err(|e| format!("fork: {e:?}"))?;
    ensure_eq!(exited(child).await?, 3, "the child's code");
    ensure_eq!(wait(child).await, Err(WaitError::NotChild), "waiting twice");
    Ok(())
}
