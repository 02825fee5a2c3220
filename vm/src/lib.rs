//! Pure virtual-memory policy for lazuli: what a task's user address space
//! *should* look like, and what to do when the hardware says it doesn't.
//!
//! This crate owns the bookkeeping and the decisions, never the mechanism:
//!
//! - [`addr`]: page arithmetic (`page_down`, `page_up`).
//! - [`layout`]: where the user part of every task lives (with a diagram).
//! - [`prot`]: access rights of a region ([`Prot`]).
//! - [`region`]: a task's reserved regions ([`RegionSet`]); their page sum is `numvp`.
//! - [`fault`]: the "decide" hop of the page-fault path ([`resolve_fault`]).
//! - [`brk`]: the program break shared by the seed `mmap` and `sbrk` ([`Break`]).
//!
//! The extended API, one file per operation, each a pure `plan_*` the kernel
//! calls before touching page tables, then a commit once it has:
//!
//! - [`error`]: [`VmError`], and [`request`]: the argument checks all share.
//! - [`map`]: placement of new regions ([`plan_map`], [`commit_map`]).
//! - [`unmap`]: `munmap` of any aligned range ([`plan_unmap`]).
//! - [`protect`]: `mprotect`, splitting and merging ([`plan_protect`]).
//! - [`cow`]: the copy-on-write decision ([`cow_action`]).
//! - [`pool`]: the frame pool — a record per frame (use, owners, link), the free
//!   and zeroed lists, and [`Frame`], the ownership token frames are handed out as.
//! - [`file`]: file regions, windows onto the page cache ([`FileMap`]).
//! - [`swap`]: where a page written to the swap area is ([`SwapEntry`], in a
//!   not-present page-table entry) and the swap area's slots ([`SwapSlots`]).
//! - [`clock`]: which resident page to evict (second chance, [`Clock`]).
//!
//! There is no hardware here: no page tables, no frames, no `unsafe`. The kernel
//! walks tables and allocates frames; this crate tells it which pages to
//! populate, free or refuse. Everything is tested on the host with `cargo test`.
//!
//! # Missing features
//!
//! - The break does not know about the extended API: `munmap`, `mprotect` or a
//!   `Fixed` map over the heap or the seed region leave [`Break`] unaware,
//!   and `map` regions in the break area make a later `sbrk` fail.
//! - Copy-on-write counts leaf frames only; page-table pages are never shared.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod addr;
pub mod brk;
pub mod clock;
pub mod cow;
pub mod error;
pub mod fault;
pub mod file;
pub mod frames;
pub mod layout;
pub mod map;
pub mod pool;
pub mod prot;
pub mod protect;
pub mod region;
pub mod request;
pub mod swap;
pub mod tlb;
pub mod unmap;

pub use addr::{PAGE_SIZE, is_page_aligned, page_down, page_up};
pub use brk::{Break, SbrkPlan};
pub use clock::{Clock, Verdict};
pub use cow::{CowAction, cow_action};
pub use error::VmError;
pub use fault::{
    Access, FaultAction, FaultReport, Why, decode_error_code, resolve_fault, resolve_fault_with,
};
pub use file::{FileKey, FileMap, FileSizes, ForkPages, NoFiles};
pub use frames::UsableFrames;
pub use map::{MapKind, MapPlan, MapRequest, Placement, commit_map, plan_map};
pub use pool::{Frame, FrameInfo, FramePool, FrameUse};
pub use prot::Prot;
pub use protect::plan_protect;
pub use region::{Overlap, Region, RegionKind, RegionSet, fresh_task_regions};
pub use request::{page_len, user_range};
pub use swap::{SwapEntry, SwapSlots};
pub use tlb::{TlbGrowth, restarts_growth};
pub use unmap::plan_unmap;
