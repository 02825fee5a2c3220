//! The optional third argument of `stress`: a task that holds HOLD_MIB of memory
//! while the workers run, so that on a small machine (`--memory 64`) their faults
//! find no free frame and reclaim must take pages from every task — the workers'
//! (which the model then checks when they come back from swap) and the holder's.
//! The holder fills its region with the `fill` pattern, re-reads one page after
//! another while the round lasts (bringing its own pages back in), and checks the
//! whole region at the end.
use crate::vm::pattern::pattern_value;
use core::sync::atomic::{AtomicBool, Ordering};
use lazuli_api::{ExitStatus, Pid, mmap, spawn, user, wait, yield_now};

const PAGE: usize = lazuli_api::PAGE_SIZE;
const SEED: u64 = 0x401d;

static DONE: AtomicBool = AtomicBool::new(false);

/// A holder of `mib` MiB, running until [`Holder::finish`].
pub struct Holder(Pid);

impl Holder {
    /// Spawns the holder; it has filled its region before the first worker runs
    /// long (it yields every 64 pages).
    pub fn start(mib: usize) -> Holder {
        DONE.store(false, Ordering::Relaxed);
        let pages = mib * 256;
        Holder(spawn("hold", async move {
            let a = mmap((pages * PAGE) as isize);
            for i in 0..pages {
                user::store_u64(a + i * PAGE, pattern_value(SEED, i as u64)).await;
                if i % 64 == 0 {
                    yield_now().await;
                }
            }
            let mut next = 0;
            while !DONE.load(Ordering::Relaxed) {
                if user::load_u64(a + next * PAGE).await != pattern_value(SEED, next as u64) {
                    return 1;
                }
                next = (next + 1) % pages;
                yield_now().await;
            }
            for i in 0..pages {
                if user::load_u64(a + i * PAGE).await != pattern_value(SEED, i as u64) {
                    return 1;
                }
            }
            0
        }))
    }

    /// Ends the holder; Err says what went wrong if its memory did not hold.
    pub async fn finish(self) -> Result<(), alloc::string::String> {
        DONE.store(true, Ordering::Relaxed);
        match wait(self.0).await {
            Ok(ExitStatus::Exited(0)) => Ok(()),
            Ok(ExitStatus::Exited(_)) => Err("the holder's pages changed".into()),
            other => Err(alloc::format!("the holder ended with {other:?}")),
        }
    }
}
