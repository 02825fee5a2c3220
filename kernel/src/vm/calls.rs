//! The VM system calls, on the active (calling task's) address space. Arguments are
//! checked by the pure policy (`lazuli_vm::Break`) before anything is touched.
use super::active;
use alloc::vec::Vec;
use lazuli_api::RegionView;
use lazuli_vm::{MapKind, MapRequest, Placement, Prot, VmError};

/// The seed `mmap`: the start of a new lazily backed region, or 0.
pub fn mmap(nbytes: isize) -> usize {
    active::with(|space| {
        let region = space.brk.mmap(&mut space.regions, nbytes)?;
        Some(region.start as usize)
    })
    .flatten()
    .unwrap_or(0)
}

/// xv6 `sbrk`: the old break, or `usize::MAX` (nothing changed) on failure.
pub fn sbrk(delta: isize) -> usize {
    active::with(|space| {
        let plan = space.brk.plan_sbrk(&space.regions, delta)?;
        let mut page = plan.map.start;
        while page < plan.map.end {
            if space.map_zeroed(page, lazuli_vm::Prot::RW).is_err() {
                space.unmap(plan.map.start, page);
                return None;
            }
            page += lazuli_vm::PAGE_SIZE;
        }
        space.unmap(plan.unmap.start, plan.unmap.end);
        space.brk.commit_sbrk(&mut space.regions, &plan);
        Some(plan.old_brk as usize)
    })
    .flatten()
    .unwrap_or(usize::MAX)
}

/// Decodes a `map` call at the API edge; errors come from `lazuli_vm`'s checks.
pub fn map(len: usize, kind: MapKind, at: Placement) -> Result<usize, VmError> {
    let req = MapRequest {
        len: len as u64,
        kind,
        placement: at,
    };
    active::with(|s| s.map(&req))
        .unwrap_or(Err(VmError::NotMapped))
        .map(|a| a as usize)
}

pub fn munmap(addr: usize, len: usize) -> Result<(), VmError> {
    active::with(|s| s.munmap(addr as u64, len as u64)).unwrap_or(Err(VmError::NotMapped))
}

pub fn mprotect(addr: usize, len: usize, prot: Prot) -> Result<(), VmError> {
    active::with(|s| s.mprotect(addr as u64, len as u64, prot)).unwrap_or(Err(VmError::NotMapped))
}

pub fn numvp() -> usize {
    active::with(|s| s.numvp()).unwrap_or(0)
}

pub fn numpp() -> usize {
    active::with(|s| s.numpp()).unwrap_or(0)
}

pub fn getptsize() -> usize {
    active::with(|s| s.getptsize()).unwrap_or(0)
}

/// The active space's regions, for pictures.
pub fn regions() -> Vec<RegionView> {
    active::with(|s| {
        s.regions
            .iter()
            .map(|r| RegionView {
                start: r.start as usize,
                end: r.end as usize,
                kind: r.kind,
                prot: r.prot,
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Addresses of the active space's present pages, in order.
pub fn present_pages() -> Vec<usize> {
    active::with(|s| s.present_pages()).unwrap_or_default()
}

pub fn swapped_pages() -> Vec<usize> {
    active::with(|s| s.swapped_pages()).unwrap_or_default()
}
