//! The page-fault path after the trap: decide (pure, `lazuli_vm::resolve_fault`), then
//! apply — allocate a frame, zero it, map it with the region's flags; for a file
//! region map the page cache's frame (or a private copy of it) — or report why
//! the access must fail. Only the task's own accesses come here (ring-3 code or the
//! user-access routines); the trap panics for any other fault.
use super::active;
use super::space::AddressSpace;
use super::swap::SwapInError;
use crate::fs::mapped;
use lazuli_vm::{Access, FaultAction, FaultReport, Prot, Why, resolve_fault, resolve_fault_with};

/// Satisfies a fault of the task's own access on `addr`, or says why it cannot be.
pub fn handle(addr: u64, access: Access, present: bool) -> Result<(), FaultReport> {
    match active::try_with(|space| satisfy(space, addr, access, present)) {
        Ok(Some(result)) => result,
        // A user access outside any task: the caller was kernel code, not a task.
        Ok(None) => panic!("user access outside any task: {addr:#x} ({access})"),
        Err(active::Locked) => {
            panic!("user access at {addr:#x} ({access}) while the address-space lock is held")
        }
    }
}

/// Decides the fault on the active `space` and applies the decision. Inlined whole
/// into [`handle`]: under TCG every call and return between translated blocks
/// costs ~28 ticks (a probe of 1,000 calls to an empty function), so the fault's
/// common paths are kept in one function.
#[inline(always)]
fn satisfy(
    space: &mut AddressSpace,
    addr: u64,
    access: Access,
    present: bool,
) -> Result<(), FaultReport> {
    let report = |why| FaultReport { addr, access, why };
    let oom = |_| report(Why::OutOfMemory);
    let action = if space.maps_files() {
        mapped::decide(|files| resolve_fault_with(&space.regions, files, addr, access, present))
    } else {
        resolve_fault(&space.regions, addr, access, present)
    };
    let backing = |e| match e {
        SwapInError::OutOfFrames => report(Why::OutOfMemory),
        SwapInError::Io => report(Why::Io),
    };
    let file_page = matches!(
        action,
        FaultAction::MapFilePage { .. } | FaultAction::CopyFilePage { .. }
    );
    if !present && file_page && crate::block::swap::may_hold_pages() {
        // A private copy of a file page may have been written to the swap area.
        let page = lazuli_vm::page_down(addr);
        if let Some(slot) = space.swapped_slot(page) {
            let prot = space.regions.find(addr).map_or(Prot::NONE, |r| r.prot);
            return space.swap_in(page, slot, prot).map_err(backing);
        }
    }
    match action {
        // Also brings back an anonymous page that was written to swap.
        FaultAction::MapZeroed { page, prot } => space.map_zeroed(page, prot).map_err(backing),
        FaultAction::CopyOnWrite { page, prot } => space.resolve_cow(page, prot).map_err(oom),
        FaultAction::MapFilePage {
            page,
            prot,
            file,
            index,
        } => {
            space.make_room(1); // the page may have to be read into the cache
            let frame = mapped::page_for_fault(file, index).map_err(report)?;
            space.map_cached(page, frame, prot).map_err(oom)
        }
        FaultAction::CopyFilePage {
            page,
            prot,
            file,
            index,
        } => {
            space.make_room(1);
            let frame = mapped::page_for_fault(file, index).map_err(report)?;
            space.map_copy(page, frame, prot).map_err(oom)
        }
        FaultAction::MakeWritable { page, prot } => {
            space.make_writable(page, prot);
            Ok(())
        }
        FaultAction::Kill(report) => Err(report),
    }
}

/// What a fault in kernel code (a bug) would mean, for its panic message. Looks at
/// the active regions only if their lock is free; changes nothing.
pub fn explain(addr: u64, access: Access, present: bool) -> FaultReport {
    let not_mapped = FaultReport {
        addr,
        access,
        why: Why::NotMapped,
    };
    let decided = active::try_with(|space| resolve_fault(&space.regions, addr, access, present));
    match decided {
        Ok(Some(FaultAction::Kill(report))) => report,
        Ok(None) if addr >= lazuli_vm::layout::USER_END => FaultReport {
            why: Why::NotUserMemory,
            ..not_mapped
        },
        _ => not_mapped,
    }
}
