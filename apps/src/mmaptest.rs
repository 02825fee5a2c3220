//! `mmaptest`: the seed's "comprehensive test program", and more. Every case runs in
//! a fresh task of its own (one mmap region per task is the seed's rule), prints
//! `PASS name` or `FAIL name: why`, and the last line is `mmaptest: N passed, M failed`.
use alloc::{boxed::Box, format, string::String};
use lazuli_api::{
    Access, BoxFuture, ExitStatus, FaultReport, KillReason, Why, fork, free_frames, getptsize,
    mmap, numpp, numvp, println, sbrk, spawn, user, wait,
};
use spin::Mutex;

const PAGE: usize = lazuli_api::PAGE_SIZE;
type Outcome = Result<(), String>;

/// Fails the case with a message unless `left == right`.
macro_rules! check_eq {
    ($left:expr, $right:expr, $what:expr) => {{
        let (l, r) = ($left, $right);
        if l != r {
            return Err(format!("{}: got {:?}, want {:?}", $what, l, r));
        }
    }};
}

struct Case {
    name: &'static str,
    body: fn() -> BoxFuture<Outcome>,
}

macro_rules! case {
    ($name:literal, $f:ident) => {
        Case {
            name: $name,
            body: || Box::pin($f()),
        }
    };
}

static CASES: &[Case] = &[
    case!("mmap(0) returns 0", zero),
    case!("mmap(-1234) returns 0", negative),
    case!("mmap(100) returns 0", not_multiple_100),
    case!("mmap(4097) returns 0", not_multiple_4097),
    case!("mmap(4096) returns the old break, page aligned", old_break),
    case!("a second mmap returns 0", second),
    case!("mmap raises numvp, not numpp", counts_after_mmap),
    case!("mmap leaves getptsize unchanged", ptsize_after_mmap),
    case!("first touch adds one present page", first_touch),
    case!("a written value reads back", read_back),
    case!("re-touching a page is free", retouch),
    case!("a 1 GiB mapping counts only touched pages", sparse),
    case!(
        "fork: child inherits the region and its values",
        fork_inherits
    ),
    case!("fork: present pages are copied, not shared", fork_copies),
    case!("fork: untouched pages stay lazy and independent", fork_lazy),
    case!("a child writing past the region is killed", child_killed),
];

/// Failure messages travel from the case task back to the runner here.
static WHY: Mutex<Option<String>> = Mutex::new(None);

pub async fn main() -> i32 {
    let start_frames = free_frames();
    let (mut passed, mut failed) = (0, 0);
    for case in CASES {
        let body = (case.body)();
        let pid = spawn("mmaptest", async move {
            match body.await {
                Ok(()) => 0,
                Err(why) => {
                    *WHY.lock() = Some(why);
                    1
                }
            }
        });
        let verdict = match wait(pid).await {
            Ok(ExitStatus::Exited(0)) => Ok(()),
            Ok(ExitStatus::Exited(_)) => Err(WHY.lock().take().unwrap_or_default()),
            Ok(ExitStatus::Killed(reason)) => Err(format!("killed: {reason}")),
            Err(e) => Err(format!("wait: {e:?}")),
        };
        tally(case.name, verdict, &mut passed, &mut failed);
    }
    let end_frames = free_frames();
    let frames = if end_frames == start_frames {
        Ok(())
    } else {
        Err(format!("{start_frames} at the start, {end_frames} now"))
    };
    tally(
        "free frames are back to the start value",
        frames,
        &mut passed,
        &mut failed,
    );
    println!("mmaptest: {passed} passed, {failed} failed");
    i32::from(failed > 0)
}

fn tally(name: &str, verdict: Outcome, passed: &mut usize, failed: &mut usize) {
    match verdict {
        Ok(()) => {
            *passed += 1;
            println!("PASS {name}");
        }
        Err(why) => {
            *failed += 1;
            println!("FAIL {name}: {why}");
        }
    }
}

async fn zero() -> Outcome {
    check_eq!(mmap(0), 0, "mmap(0)");
    Ok(())
}

async fn negative() -> Outcome {
    check_eq!(mmap(-1234), 0, "mmap(-1234)");
    Ok(())
}

async fn not_multiple_100() -> Outcome {
    check_eq!(mmap(100), 0, "mmap(100)");
    Ok(())
}

async fn not_multiple_4097() -> Outcome {
    check_eq!(mmap(4097), 0, "mmap(4097)");
    Ok(())
}

async fn old_break() -> Outcome {
    let brk = sbrk(0);
    let a = mmap(4096);
    check_eq!(a, brk, "start");
    check_eq!(a % PAGE, 0, "alignment");
    Ok(())
}

async fn second() -> Outcome {
    check_eq!(mmap(4096) != 0, true, "first mmap succeeds");
    check_eq!(mmap(4096), 0, "second mmap");
    Ok(())
}

async fn counts_after_mmap() -> Outcome {
    let (vp, pp) = (numvp(), numpp());
    mmap(8192);
    check_eq!((numvp(), numpp()), (vp + 2, pp), "(numvp, numpp)");
    Ok(())
}

async fn ptsize_after_mmap() -> Outcome {
    let pt = getptsize();
    mmap(8192);
    check_eq!(getptsize(), pt, "getptsize");
    Ok(())
}

async fn first_touch() -> Outcome {
    let a = mmap(8192);
    let pp = numpp();
    user::store(a, 1).await;
    check_eq!(numpp(), pp + 1, "numpp after touching page 1");
    user::store(a + PAGE, 1).await;
    check_eq!(numpp(), pp + 2, "numpp after touching page 2");
    Ok(())
}

async fn read_back() -> Outcome {
    let a = mmap(8192);
    user::store(a, 42).await;
    user::store(a + PAGE + 5, 43).await;
    check_eq!(
        (user::load(a).await, user::load(a + PAGE + 5).await),
        (42, 43),
        "values"
    );
    Ok(())
}

async fn retouch() -> Outcome {
    let a = mmap(8192);
    user::store(a, 1).await;
    let counts = (numvp(), numpp(), getptsize());
    user::store(a + 8, 2).await;
    check_eq!(
        (numvp(), numpp(), getptsize()),
        counts,
        "counters after re-touch"
    );
    Ok(())
}

async fn sparse() -> Outcome {
    let a = mmap(1 << 30);
    let pp = numpp();
    for off in [0, 400 << 20, (1 << 30) - 1] {
        user::store(a + off, 7).await;
    }
    check_eq!(numpp(), pp + 3, "numpp after 3 touches");
    check_eq!(numvp(), 9 + (1 << 30) / PAGE, "numvp");
    Ok(())
}

async fn child_status(
    child: impl core::future::Future<Output = i32> + 'static,
) -> Result<ExitStatus, String> {
    let pid = fork(child).map_err(|e| format!("fork: {e:?}"))?;
    wait(pid).await.map_err(|e| format!("wait: {e:?}"))
}

async fn fork_inherits() -> Outcome {
    let a = mmap(2 * PAGE as isize);
    user::store(a, b'p').await;
    let status = child_status(async move { i32::from(user::load(a).await != b'p') }).await?;
    check_eq!(status, ExitStatus::Exited(0), "child read 'p'");
    Ok(())
}

async fn fork_copies() -> Outcome {
    let a = mmap(2 * PAGE as isize);
    user::store(a, b'p').await;
    let status = child_status(async move {
        user::store(a, b'c').await;
        i32::from(user::load(a).await != b'c')
    })
    .await?;
    check_eq!(status, ExitStatus::Exited(0), "child wrote 'c'");
    check_eq!(user::load(a).await, b'p', "parent's byte");
    Ok(())
}

async fn fork_lazy() -> Outcome {
    let a = mmap(2 * PAGE as isize);
    user::store(a, 1).await;
    let pp = numpp();
    let status = child_status(async move {
        let before = numpp();
        user::store(a + PAGE, 9).await;
        i32::from(numpp() != before + 1)
    })
    .await?;
    check_eq!(status, ExitStatus::Exited(0), "child faulted page 2 in");
    check_eq!(numpp(), pp, "parent's numpp");
    check_eq!(user::load(a + PAGE).await, 0, "parent's page 2");
    Ok(())
}

async fn child_killed() -> Outcome {
    let a = mmap(PAGE as isize);
    let status = child_status(async move {
        user::store(a + PAGE, 1).await;
        0
    })
    .await?;
    let want = FaultReport {
        addr: (a + PAGE) as u64,
        access: Access::Write,
        why: Why::NotMapped,
    };
    check_eq!(
        status,
        ExitStatus::Killed(KillReason::PageFault(want)),
        "child's end"
    );
    Ok(())
}
