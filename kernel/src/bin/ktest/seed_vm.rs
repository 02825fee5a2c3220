//! The seed VM (issue: per-task address spaces, lazy mmap, the fault path, counters):
//! each case runs as a fresh task and asserts on counters, values, kill reasons and
//! free frames.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::{format, string::String};
use lazuli_api::{ExitStatus, free_frames, getptsize, mmap, numpp, numvp, sbrk, user};
use lazuli_vm::layout::{BREAK_START, GUARD_BOTTOM, STACK_TOP};

const PAGE: usize = lazuli_api::PAGE_SIZE;

pub static CASES: &[Case] = &[
    task_case!("fresh_task_has_9_reserved_0_present_1_table", fresh_task),
    task_case!("mmap_rejects_the_seed_error_sizes", mmap_errors),
    task_case!("mmap_returns_the_old_break_once", mmap_once),
    task_case!(
        "mmap_is_lazy_and_first_touch_maps_one_page",
        mmap_lazy_counters
    ),
    task_case!("sparse_1gib_mapping_counts_only_touched_pages", sparse_gib),
    task_case!("stack_pages_fault_in_lazily", stack_lazy),
    task_case!("sbrk_backs_pages_eagerly_and_shrinks", sbrk_eager),
    task_case!(
        "two_tasks_see_their_own_memory_at_one_address",
        same_address
    ),
    task_case!("write_past_the_region_kills_with_not_mapped", kill_past_end),
    task_case!(
        "read_below_the_region_kills_with_not_mapped",
        kill_below_start
    ),
    task_case!(
        "kernel_half_access_kills_with_not_user_memory",
        kill_kernel_half
    ),
    task_case!("null_page_read_kills", kill_null),
    task_case!("stack_guard_page_kills", kill_guard),
    task_case!(
        "touching_more_pages_than_frames_kills_with_out_of_memory",
        kill_oom
    ),
];

async fn fresh_task() -> Outcome {
    ensure_eq!(
        (numvp(), numpp(), getptsize()),
        (9, 0, 1),
        "(numvp, numpp, getptsize)"
    );
    Ok(())
}

async fn mmap_errors() -> Outcome {
    for n in [0, -1234, 100, 1234, 4097, -4096, isize::MAX, isize::MIN] {
        ensure_eq!(mmap(n), 0, "mmap({n})");
    }
    ensure_eq!(numvp(), 9, "failed calls reserve nothing");
    Ok(())
}

async fn mmap_once() -> Outcome {
    let brk = sbrk(0);
    let a = mmap(4096);
    ensure_eq!(a, brk, "mmap(4096) starts at the old break");
    ensure!(a.is_multiple_of(PAGE), "{a:#x} is page aligned");
    ensure_eq!(sbrk(0), brk + PAGE, "the break moved past the region");
    ensure_eq!(mmap(4096), 0, "a second mmap");
    Ok(())
}

async fn mmap_lazy_counters() -> Outcome {
    let (vp, pp, pt) = (numvp(), numpp(), getptsize());
    let frames = free_frames();
    let a = mmap(8192);
    ensure!(a != 0, "mmap(8192) failed");
    ensure_eq!(
        (numvp(), numpp(), getptsize()),
        (vp + 2, pp, pt),
        "after mmap(8192)"
    );
    ensure_eq!(free_frames(), frames, "mmap allocated no frame");
    user::store(a, 42).await;
    ensure_eq!(user::load(a).await, 42, "value read back");
    // The break area is in a PML4 slot of its own: PDPT, PD and PT were created.
    ensure_eq!(
        (numpp(), getptsize()),
        (pp + 1, pt + 3),
        "after the first touch"
    );
    user::store(a + PAGE + 7, 1).await;
    ensure_eq!(
        (numpp(), getptsize()),
        (pp + 2, pt + 3),
        "after touching page 2"
    );
    user::store(a + 100, 43).await;
    ensure_eq!(user::load(a + PAGE + 7).await, 1, "page 2 value");
    ensure_eq!(
        (numvp(), numpp(), getptsize()),
        (vp + 2, pp + 2, pt + 3),
        "re-touch changed nothing"
    );
    ensure_eq!(
        user::load(a + 200).await,
        0,
        "untouched bytes of a mapped page are zero"
    );
    Ok(())
}

async fn sparse_gib() -> Outcome {
    let pp = numpp();
    let a = mmap(1 << 30);
    ensure!(a != 0, "mmap(1 GiB) failed");
    ensure_eq!(
        numvp(),
        9 + (1 << 30) / PAGE,
        "numvp counts the whole region"
    );
    for (i, off) in [0usize, 512 << 20, (1 << 30) - 1].into_iter().enumerate() {
        user::store(a + off, i as u8 + 1).await;
    }
    ensure_eq!(numpp(), pp + 3, "three scattered touches");
    ensure_eq!(user::load(a + (512 << 20)).await, 2, "middle value");
    Ok(())
}

async fn stack_lazy() -> Outcome {
    let top = STACK_TOP as usize;
    user::store(top - 8, 9).await;
    ensure_eq!(
        (numpp(), user::load(top - 8).await),
        (1, 9),
        "(numpp, value) after a stack touch"
    );
    Ok(())
}

async fn sbrk_eager() -> Outcome {
    let (vp, pp) = (numvp(), numpp());
    let old = sbrk(8192);
    ensure_eq!(old, BREAK_START as usize, "sbrk returns the old break");
    ensure_eq!(
        (numvp(), numpp()),
        (vp + 2, pp + 2),
        "sbrk backs both pages at once"
    );
    user::store(old + 5000, 7).await;
    ensure_eq!(user::load(old + 5000).await, 7, "heap value");
    ensure_eq!(sbrk(-8192), old + 8192, "shrinking returns the old break");
    ensure_eq!((numvp(), numpp()), (vp, pp), "shrinking freed both pages");
    ensure_eq!(sbrk(-4096), usize::MAX, "shrinking below the start fails");
    Ok(())
}

async fn same_address() -> Outcome {
    let child = |value: u8| async move {
        let a = mmap(4096);
        user::store(a, value).await;
        for _ in 0..3 {
            lazuli_api::yield_now().await; // let the other task write the same address
        }
        if user::load(a).await == value { 0 } else { 1 }
    };
    let pids = [
        lazuli_api::spawn("same-a", child(b'A')),
        lazuli_api::spawn("same-b", child(b'B')),
    ];
    for pid in pids {
        ensure_eq!(
            lazuli_api::wait(pid).await,
            Ok(ExitStatus::Exited(0)),
            "task {pid} read its own byte"
        );
    }
    Ok(())
}

/// Spawns `body` as a task, expects it killed with exactly `reason`, and the free
/// frame count back where it was.
async fn expect_kill(
    body: impl core::future::Future<Output = i32> + 'static,
    reason: String,
) -> Outcome {
    let frames = free_frames();
    let pid = lazuli_api::spawn("victim", body);
    let status = lazuli_api::wait(pid).await;
    ensure_eq!(
        crate::check::ended(status),
        format!("killed: {reason}"),
        "victim's end"
    );
    ensure_eq!(free_frames(), frames, "free frames after the kill");
    Ok(())
}

async fn kill_past_end() -> Outcome {
    let end = BREAK_START as usize + 2 * PAGE;
    let body = async {
        let a = mmap(2 * PAGE as isize);
        user::store(a, 1).await; // some real pages to free
        user::store(a + 2 * PAGE, 1).await;
        0
    };
    expect_kill(body, format!("page fault at {end:#x} (write, not mapped)")).await
}

async fn kill_below_start() -> Outcome {
    let below = BREAK_START as usize - 1;
    let body = async move {
        let a = mmap(PAGE as isize);
        user::store(a, 1).await;
        i32::from(user::load(a - 1).await)
    };
    expect_kill(body, format!("page fault at {below:#x} (read, not mapped)")).await
}

async fn kill_kernel_half() -> Outcome {
    let addr = 0xffff_9000_0000_0000usize;
    expect_kill(
        async move { user::load(addr).await.into() },
        format!("page fault at {addr:#x} (read, not user memory)"),
    )
    .await
}

async fn kill_null() -> Outcome {
    expect_kill(
        async { user::load(0).await.into() },
        "page fault at 0x0 (read, not mapped)".into(),
    )
    .await
}

async fn kill_guard() -> Outcome {
    let addr = GUARD_BOTTOM as usize + 16;
    let body = async move {
        user::store(STACK_TOP as usize - 1, 1).await;
        user::store(addr, 1).await;
        0
    };
    expect_kill(body, format!("page fault at {addr:#x} (guard page)")).await
}

async fn kill_oom() -> Outcome {
    let frames = free_frames();
    // More pages than there are frames and swap slots together (ktest boots with
    // a swap disk: the hog's pages go there until it is full).
    let pages = frames + lazuli_api::swap().total + 16;
    let body = async move {
        let a = mmap((pages * PAGE) as isize);
        for i in 0..pages {
            user::store(a + i * PAGE, 1).await;
        }
        0
    };
    let pid = lazuli_api::spawn("hog", body);
    match lazuli_api::wait(pid).await {
        Ok(ExitStatus::Killed(reason)) => {
            let text = alloc::format!("{reason}");
            ensure!(text.ends_with("(out of memory)"), "reason {text:?}")
        }
        other => return Err(format!("hog ended with {other:?}")),
    }
    ensure_eq!(free_frames(), frames, "every frame came back");
    ensure_eq!(lazuli_api::swap().used, 0, "every swap slot came back");
    Ok(())
}
