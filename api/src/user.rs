//! Touching your own user memory by address — the `*p = v` of an xv6 user program —
//! and running code you wrote there, in user mode.
//!
//! Every access goes through the kernel. It first applies the address rule (an
//! address at or above `USER_END` is refused before anything is touched), then makes
//! the access on the task's behalf: the first touch of a page maps it, and an access
//! the task has no right to kills this task (and only it) with a one-line report.
//!
//! The accessors are `async` because a killed access never completes: the task's
//! future stops at that `.await` and the kernel drops it there, so its destructors
//! run, its locks are released and every heap object it owned is freed.
use crate::{Killed, kernel};

/// How many bytes one access moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Width {
    Byte,
    /// 8 bytes, little-endian (the address should be 8-aligned).
    Word,
}

impl Width {
    /// Bytes moved.
    pub const fn bytes(self) -> usize {
        match self {
            Width::Byte => 1,
            Width::Word => 8,
        }
    }
}

/// Loads the byte at `addr`.
pub async fn load(addr: usize) -> u8 {
    // A byte access returns a byte: the kernel zero-extends it.
    finish(kernel().user_read(addr, Width::Byte)).await as u8
}

/// Stores `value` at `addr`.
pub async fn store(addr: usize, value: u8) {
    finish(kernel().user_write(addr, Width::Byte, u64::from(value))).await
}

/// Loads the 8-byte word at `addr`.
pub async fn load_u64(addr: usize) -> u64 {
    finish(kernel().user_read(addr, Width::Word)).await
}

/// Stores the 8-byte word `value` at `addr`.
pub async fn store_u64(addr: usize, value: u64) {
    finish(kernel().user_write(addr, Width::Word, value)).await
}

/// Calls the code at `addr` as a function, in user mode (ring 3), on the task's
/// user stack; returns what it left in `rax` when it returned. What the code does
/// wrong kills this task: a fault, `ud2`, `cli`, a divide by zero. A loop that never
/// ends is preempted by the timer and can be ended with Ctrl-C.
pub async fn call(addr: usize) -> u64 {
    let outcome = kernel().user_call(addr).await;
    finish(outcome).await
}

/// The value, or — the kernel is killing this task — never.
async fn finish<T>(outcome: Result<T, Killed>) -> T {
    match outcome {
        Ok(value) => value,
        Err(Killed) => core::future::pending().await,
    }
}
