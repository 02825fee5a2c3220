//! The kernel side of virtual memory: address spaces and the fault path's last hop.
//!
//! The policy (regions, the seed's break, the fault decision) is pure and lives in the
//! `lazuli_vm` crate; this module applies its answers to real frames and page tables.
//!
//! - `space`  — `AddressSpace`: page tables + region set + break + counters
//! - `active` — the address space of the task being polled (the one in CR3)
//! - `fault`  — decide with `lazuli_vm::resolve_fault`, then map a zeroed frame or kill
//! - `fault_timing` — the handler's share of each fault, timed for `bench`
//! - `fork`   — copy-on-write and eager copies of a space for `fork`
//! - `cow`    — the copy-on-write fault
//! - `map`    — `map`, `munmap`, `mprotect`
//! - `file`   — file regions: cached pages mapped, stores harvested for write-back
//! - `reclaim` — when a frame is short: clean cache pages, then a page of each task in turn
//! - `swap`   — one page evicted (by its space's clock) to a swap slot or its file; swap-in
//! - `tlb`    — full flushes that let QEMU's software TLB grow with the working set
//! - `calls`  — the VM system calls on the active space

pub mod active;
pub mod calls;
pub mod cow;
pub mod fault;
pub mod fault_timing;
pub mod file;
pub mod fork;
pub mod map;
pub mod reclaim;
pub mod space;
pub mod swap;
pub mod tlb;
