//! Tasks: async futures, each with its own address space, run by one executor.
//!
//! A task is polled with its address space active. A task dies when its own access
//! fails (a user accessor or its ring-3 code: the kernel marks it and its code gets
//! `Killed`) or when Ctrl-C ends the foreground command. Either way the executor
//! drops its future — a plain drop, between polls or after the poll returned, so
//! every destructor runs and nothing it owned stays allocated — then frees its
//! address space (frames and page tables, exactly), records `Killed(reason)` and
//! wakes its waiter. See `executor` for why this cannot hang.

pub mod executor;
pub mod sched;

pub use sched::{current, kill_current, spawn};
