//! Tasks: async futures, each with its own address space, run by one executor.
//!
//! A task is polled with its address space active and inside a fault guard
//! (`arch::guard`). If a page fault in the poll cannot be satisfied, the task is
//! killed on the spot: the guard abandons the poll, the executor frees the future's
//! box without running its destructor (its state is mid-poll and not safe to drop —
//! heap objects the future owns are not reclaimed), frees its address space (frames and page tables, exactly), records
//! `Killed(reason)` and wakes its waiter. Kernel locks are never held while task code
//! touches its user memory (API calls copy nothing from it), so a kill leaves no
//! kernel lock held; a lock the *app* held across the faulting access stays held.

pub mod executor;
pub mod sched;

pub use sched::{current, spawn};
