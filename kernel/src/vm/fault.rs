//! The page-fault path after the trap: decide (pure, `lazuli_vm::resolve_fault`), then
//! apply — allocate a frame, zero it, map it with the region's flags — or report why
//! the task must die.
use super::active;
use lazuli_vm::{Access, FaultAction, FaultReport, Why, resolve_fault};
use spin::Mutex;

/// Satisfies a fault on `addr`, or says why it cannot be.
pub fn handle(addr: u64, access: Access, present: bool) -> Result<(), FaultReport> {
    let outcome =
        active::try_with(
            |space| match resolve_fault(&space.regions, addr, access, present) {
                FaultAction::MapZeroed { page, prot } => {
                    space.map_zeroed(page, prot).map_err(|_| FaultReport {
                        addr,
                        access,
                        why: Why::OutOfMemory,
                    })
                }
                FaultAction::CopyOnWrite { page, prot } => {
                    space.resolve_cow(page, prot).map_err(|_| FaultReport {
                        addr,
                        access,
                        why: Why::OutOfMemory,
                    })
                }
                FaultAction::Kill(report) => Err(report),
            },
        );
    // No active space (kernel context) or its lock held (a kernel bug): not mapped.
    outcome.unwrap_or(Err(FaultReport {
        addr,
        access,
        why: Why::NotMapped,
    }))
}

static LAST_KILL: Mutex<Option<FaultReport>> = Mutex::new(None);

/// Remembers why the running task is being killed (fault handler).
pub fn record_kill(report: FaultReport) {
    *LAST_KILL.lock() = Some(report);
}

/// The reason recorded by the last kill (executor, after the escape).
pub fn take_kill() -> Option<FaultReport> {
    LAST_KILL.lock().take()
}
