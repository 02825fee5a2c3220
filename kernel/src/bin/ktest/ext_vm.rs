//! Beyond the seed: map (anywhere, hint, fixed, no-replace, guard), munmap of any
//! range, mprotect with NX, and copy-on-write accounting.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::{format, string::String, vec::Vec};
use lazuli_api::{
    ExitStatus, Placement, Prot, VmError, fork, free_frames, getptsize, map, map_guard, mprotect,
    munmap, numpp, numvp, regions, user, wait,
};
use lazuli_vm::layout::USER_START;

const PAGE: usize = lazuli_api::PAGE_SIZE;

pub static CASES: &[Case] = &[
    task_case!(
        "map_reserves_lazily_and_many_regions_coexist",
        map_lazy_many
    ),
    task_case!("map_errors_have_their_own_variants", map_errors),
    task_case!("map_hint_takes_the_nearest_free_range_above", map_hint),
    task_case!("map_fixed_replaces_and_noreplace_refuses", map_fixed),
    task_case!(
        "write_to_read_only_page_kills_with_read_only",
        read_only_kills
    ),
    task_case!(
        "write_only_is_read_write_and_none_kills_reads",
        write_only_rules
    ),
    task_case!(
        "munmap_head_tail_and_middle_free_their_frames",
        munmap_parts
    ),
    task_case!(
        "munmap_across_regions_and_gaps_frees_tables_too",
        munmap_spanning
    ),
    task_case!(
        "access_after_munmap_kills_with_not_mapped",
        after_munmap_kills
    ),
    task_case!(
        "mprotect_splits_a_region_and_updates_present_pages",
        mprotect_split
    ),
    task_case!(
        "mprotect_across_a_gap_fails_and_changes_nothing",
        mprotect_gap
    ),
    task_case!("exec_from_a_no_exec_page_kills_and_rwx_runs", nx_kills),
    task_case!("guard_region_kills_on_any_access", guard_kills),
    task_case!(
        "cow_fork_shares_frames_and_first_writes_copy",
        cow_accounting
    ),
    task_case!("cow_last_owner_write_reuses_the_frame", cow_last_owner),
    task_case!(
        "cow_parent_write_while_the_child_sleeps_leaves_the_child_the_old_value",
        cow_parent_write_while_child_sleeps
    ),
    task_case!("cow_fork_storm_returns_every_frame", cow_storm),
];

fn rw() -> Prot {
    Prot::RW
}

async fn map_lazy_many() -> Outcome {
    let (vp, pp, frames) = (numvp(), numpp(), free_frames());
    let a = map(3 * PAGE, rw(), Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    let b = map(5000, Prot::READ, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    ensure!(
        a % PAGE == 0 && a as u64 >= USER_START,
        "{a:#x} aligned, in the user part"
    );
    ensure!(
        b >= a + 3 * PAGE || b + 2 * PAGE <= a,
        "regions {a:#x} and {b:#x} overlap"
    );
    ensure_eq!(
        (numvp(), numpp(), free_frames()),
        (vp + 5, pp, frames),
        "after two maps (5000 rounds to 2 pages)"
    );
    let seed = lazuli_api::mmap(4096);
    ensure!(seed != 0, "the seed mmap still works beside map");
    user::store(a + PAGE, 5).await;
    ensure_eq!(
        (user::load(a + PAGE).await, numpp()),
        (5, pp + 1),
        "(value, numpp)"
    );
    Ok(())
}

async fn map_errors() -> Outcome {
    let cases: [(Placement, usize, VmError); 5] = [
        (Placement::Anywhere, 0, VmError::ZeroLength),
        (Placement::Fixed(0x5000_0001), PAGE, VmError::Unaligned),
        (
            Placement::FixedNoReplace(0x5000_0800),
            PAGE,
            VmError::Unaligned,
        ),
        (
            Placement::Fixed(0xffff_8000_0000_0000),
            PAGE,
            VmError::OutOfRange,
        ),
        (
            Placement::Fixed(0x7fff_ffff_f000),
            2 * PAGE,
            VmError::OutOfRange,
        ),
    ];
    let vp = numvp();
    for (at, len, want) in cases {
        ensure_eq!(map(len, rw(), at), Err(want), "map({len}, rw, {at:?})");
    }
    ensure_eq!(
        map(usize::MAX, rw(), Placement::Anywhere),
        Err(VmError::OutOfRange),
        "huge length"
    );
    ensure_eq!(numvp(), vp, "refused maps reserve nothing");
    Ok(())
}

async fn map_hint() -> Outcome {
    let want: usize = 0x1_0000_0000;
    ensure_eq!(
        map(PAGE, rw(), Placement::Hint((want) as u64)),
        Ok(want),
        "a free hint is taken"
    );
    ensure_eq!(
        map(PAGE, rw(), Placement::Hint((want) as u64)),
        Ok(want + PAGE),
        "a taken hint gives the next range above"
    );
    Ok(())
}

async fn map_fixed() -> Outcome {
    let at: usize = 0x2_0000_0000;
    ensure_eq!(
        map(2 * PAGE, rw(), Placement::Fixed((at) as u64)),
        Ok(at),
        "fixed map"
    );
    user::store(at, 9).await;
    let (frames, tables) = (free_frames(), getptsize());
    ensure_eq!(
        map(PAGE, rw(), Placement::FixedNoReplace((at + PAGE) as u64)),
        Err(VmError::Overlap),
        "noreplace over a region"
    );
    ensure_eq!(
        map(PAGE, Prot::READ, Placement::Fixed((at) as u64)),
        Ok(at),
        "fixed over the region"
    );
    let tables_freed = tables - getptsize(); // its tables emptied, so they went too
    ensure_eq!(
        free_frames(),
        frames + 1 + tables_freed,
        "the replaced page's frame was freed"
    );
    ensure_eq!(user::load(at).await, 0, "the new mapping starts zeroed");
    Ok(())
}

async fn read_only_kills() -> Outcome {
    let status = crate::check::run_task(async {
        let a = map(PAGE, Prot::READ, Placement::Anywhere).unwrap_or(0);
        let seen = user::load(a).await; // reading is fine, and maps a zero page
        user::store(a, seen + 1).await;
        0
    })
    .await;
    let a = USER_START as usize; // the fresh task's first fit
    ensure_eq!(
        status,
        format!("killed: page fault at {a:#x} (write, read-only)"),
        "end"
    );
    Ok(())
}

async fn write_only_rules() -> Outcome {
    let w = map(PAGE, Prot::WRITE, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    user::store(w, 3).await;
    ensure_eq!(
        user::load(w).await,
        3,
        "write-only reads as read+write on x86"
    );
    let status = crate::check::run_task(async {
        let a = map(PAGE, Prot::NONE, Placement::Anywhere).unwrap_or(0);
        i32::from(user::load(a).await)
    })
    .await;
    let a = USER_START as usize;
    ensure_eq!(
        status,
        format!("killed: page fault at {a:#x} (read, no-access)"),
        "none region read"
    );
    Ok(())
}

/// Whether the first byte of page `i` of the `pages` pages at `a` is `want(i)`, all i.
async fn pages_hold(a: usize, pages: usize, want: impl Fn(usize) -> u8) -> bool {
    for i in 0..pages {
        if user::load(a + i * PAGE).await != want(i) {
            return false;
        }
    }
    true
}

/// Maps `pages` pages and touches them all.
async fn touched(pages: usize) -> Result<usize, String> {
    let a = map(pages * PAGE, rw(), Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    for i in 0..pages {
        user::store(a + i * PAGE, i as u8 + 1).await;
    }
    Ok(a)
}

async fn munmap_parts() -> Outcome {
    let a = touched(8).await?;
    let (vp, pp, frames) = (numvp(), numpp(), free_frames());
    munmap(a, PAGE).map_err(|e| format!("head: {e}"))?;
    munmap(a + 7 * PAGE, PAGE).map_err(|e| format!("tail: {e}"))?;
    munmap(a + 3 * PAGE, 2 * PAGE).map_err(|e| format!("middle: {e}"))?;
    ensure_eq!(
        (numvp(), numpp(), free_frames()),
        (vp - 4, pp - 4, frames + 4),
        "after 4 pages unmapped"
    );
    ensure_eq!(
        (user::load(a + PAGE).await, user::load(a + 5 * PAGE).await),
        (2, 6),
        "surviving pages keep their values"
    );
    let pieces = regions()
        .iter()
        .filter(|r| r.start >= a && r.end <= a + 8 * PAGE)
        .count();
    ensure_eq!(pieces, 2, "the region split around the hole");
    ensure_eq!(munmap(a, PAGE), Ok(()), "unmapping nothing is fine");
    ensure_eq!(
        munmap(a + 1, PAGE),
        Err(VmError::Unaligned),
        "unaligned munmap"
    );
    ensure_eq!(munmap(a, 0), Err(VmError::ZeroLength), "zero-length munmap");
    Ok(())
}

async fn munmap_spanning() -> Outcome {
    let pt = getptsize();
    let frames = free_frames();
    let base: usize = 0x3_0000_0000;
    for i in 0..3 {
        let at = base + i * 4 * PAGE; // three 2-page regions with 2-page gaps
        map(2 * PAGE, rw(), Placement::Fixed((at) as u64)).map_err(|e| format!("map: {e}"))?;
        user::store(at, 1).await;
        user::store(at + PAGE, 1).await;
    }
    ensure!(getptsize() > pt, "tables were created");
    munmap(base, 12 * PAGE).map_err(|e| format!("munmap: {e}"))?;
    ensure_eq!(getptsize(), pt, "empty page tables were freed");
    ensure_eq!(free_frames(), frames, "every frame came back");
    Ok(())
}

async fn after_munmap_kills() -> Outcome {
    let status = crate::check::run_task(async {
        let a = map(2 * PAGE, rw(), Placement::Anywhere).unwrap_or(0);
        user::store(a + PAGE, 1).await;
        let _ = munmap(a + PAGE, PAGE);
        i32::from(user::load(a + PAGE).await)
    })
    .await;
    let gone = USER_START as usize + PAGE;
    ensure_eq!(
        status,
        format!("killed: page fault at {gone:#x} (read, not mapped)"),
        "end"
    );
    Ok(())
}

async fn mprotect_split() -> Outcome {
    let a = touched(3).await?;
    mprotect(a + PAGE, PAGE, Prot::READ).map_err(|e| format!("mprotect: {e}"))?;
    let mine: Vec<_> = regions()
        .into_iter()
        .filter(|r| r.start >= a && r.end <= a + 3 * PAGE)
        .collect();
    let prots: Vec<Prot> = mine.iter().map(|r| r.prot).collect();
    ensure_eq!(prots, [Prot::RW, Prot::READ, Prot::RW], "three pieces");
    user::store(a + 2 * PAGE, 1).await; // still writable
    let status = crate::check::run_task(async move {
        let a = touched(3).await.unwrap_or(0);
        let _ = mprotect(a + PAGE, PAGE, Prot::READ);
        user::store(a + PAGE, 1).await; // present page, now read-only
        0
    })
    .await;
    let target = USER_START as usize + PAGE;
    ensure_eq!(
        status,
        format!("killed: page fault at {target:#x} (write, read-only)"),
        "end"
    );
    Ok(())
}

async fn mprotect_gap() -> Outcome {
    let base: usize = 0x4_0000_0000;
    map(PAGE, rw(), Placement::Fixed((base) as u64)).map_err(|e| format!("map: {e}"))?;
    map(PAGE, rw(), Placement::Fixed((base + 2 * PAGE) as u64)).map_err(|e| format!("map: {e}"))?;
    ensure_eq!(
        mprotect(base, 3 * PAGE, Prot::READ),
        Err(VmError::NotMapped),
        "across the gap"
    );
    user::store(base, 1).await; // still writable: nothing changed
    ensure_eq!(
        mprotect(base + 1, PAGE, Prot::READ),
        Err(VmError::Unaligned),
        "unaligned"
    );
    Ok(())
}

async fn nx_kills() -> Outcome {
    let code = map(PAGE, Prot::RWX, Placement::Anywhere).map_err(|e| format!("map: {e}"))?;
    user::store(code, 0xc3).await; // ret
    user::call(code).await;
    let status = crate::check::run_task(async {
        let a = map(PAGE, rw(), Placement::Anywhere).unwrap_or(0);
        user::store(a, 0xc3).await;
        user::call(a).await;
        0
    })
    .await;
    let a = USER_START as usize;
    ensure_eq!(
        status,
        format!("killed: page fault at {a:#x} (exec, no-exec)"),
        "end"
    );
    Ok(())
}

async fn guard_kills() -> Outcome {
    let status = crate::check::run_task(async {
        let g = map_guard(PAGE, Placement::Anywhere).unwrap_or(0);
        i32::from(user::load(g + 8).await)
    })
    .await;
    let g = USER_START as usize + 8;
    ensure_eq!(
        status,
        format!("killed: page fault at {g:#x} (guard page)"),
        "end"
    );
    ensure_eq!(
        mprotect(STACK_GUARD, PAGE, Prot::RW),
        Err(VmError::Guard),
        "guards cannot be mprotected"
    );
    Ok(())
}

const STACK_GUARD: usize = lazuli_vm::layout::GUARD_BOTTOM as usize;

async fn cow_accounting() -> Outcome {
    const N: usize = 16;
    let a = touched(N).await?;
    let frames = free_frames();
    let child = fork(async move {
        let before = free_frames();
        for i in 0..N / 2 {
            user::store(a + i * PAGE, 0xcc).await; // first writes copy
        }
        let copied = before - free_frames();
        let mine = pages_hold(a, N, |i| if i < N / 2 { 0xcc } else { i as u8 + 1 }).await;
        if copied == N / 2 && mine { 0 } else { 1 }
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    let shared_cost = frames - free_frames();
    ensure!(
        shared_cost <= 4,
        "fork took {shared_cost} frames: only the child's tables, no page copies"
    );
    ensure_eq!(
        wait(child).await,
        Ok(ExitStatus::Exited(0)),
        "child: one frame per first write, sees its writes"
    );
    ensure!(
        pages_hold(a, N, |i| i as u8 + 1).await,
        "parent still sees its own values"
    );
    ensure_eq!(
        free_frames(),
        frames,
        "the child's frames and tables are back"
    );
    Ok(())
}

async fn cow_last_owner() -> Outcome {
    let a = touched(4).await?;
    let child = fork(async { 0 }).map_err(|e| format!("fork: {e:?}"))?;
    let _ = wait(child).await;
    let frames = free_frames();
    for i in 0..4 {
        let page = a + i * PAGE;
        ensure_eq!(writable(page), Some(false), "page {i} before the write");
        user::store(page, 7).await; // read-only since the fork, but ours alone now
        ensure_eq!(writable(page), Some(true), "page {i} after the write");
    }
    ensure_eq!(
        free_frames(),
        frames,
        "no copies: write access restored in place"
    );
    Ok(())
}

/// Whether the active space's entry for `page` is writable (None: no entry).
fn writable(page: usize) -> Option<bool> {
    use x86_64::structures::paging::PageTableFlags as Flags;
    lazuli_kernel::vm::active::with(|space| space.leaf_flags(page as u64))
        .flatten()
        .map(|flags| flags.contains(Flags::WRITABLE))
}

async fn cow_parent_write_while_child_sleeps() -> Outcome {
    let a = touched(1).await?; // its first byte is 1
    let child = fork(async move {
        lazuli_api::sleep(30).await;
        i32::from(user::load(a).await)
    })
    .map_err(|e| format!("fork: {e:?}"))?;
    user::store(a, 99).await; // while the child sleeps, sharing the frame
    ensure_eq!(
        crate::check::ended(wait(child).await),
        "exited 1",
        "the sleeping child still sees the old value"
    );
    ensure_eq!(user::load(a).await, 99, "the parent sees its write");
    Ok(())
}

async fn cow_storm() -> Outcome {
    let a = touched(8).await?;
    let frames = free_frames();
    let mut children = Vec::new();
    for k in 0..24usize {
        let child = fork(async move {
            user::store(a + (k % 8) * PAGE, k as u8).await;
            if k % 3 == 0
                && let Ok(grandchild) = fork(async move {
                    user::store(a, 1).await;
                    0
                })
            {
                let _ = wait(grandchild).await;
            }
            i32::from(user::load(a + (k % 8) * PAGE).await != k as u8)
        })
        .map_err(|e| format!("fork {k}: {e:?}"))?;
        children.push(child);
    }
    for (k, child) in children.into_iter().enumerate() {
        ensure_eq!(wait(child).await, Ok(ExitStatus::Exited(0)), "child {k}");
    }
    ensure_eq!(free_frames(), frames, "every frame back after the storm");
    ensure!(
        pages_hold(a, 8, |i| i as u8 + 1).await,
        "parent's pages untouched"
    );
    Ok(())
}
