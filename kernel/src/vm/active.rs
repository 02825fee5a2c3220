//! The active address space: the one in CR3, belonging to the task being polled.
//!
//! The executor moves a task's `AddressSpace` in here before polling it and takes it
//! back after; system calls and the page-fault handler reach it through [`with`].
//! Between polls the slot is empty and CR3 holds the kernel's root.
use super::space::AddressSpace;
use crate::mem::paging;
use spin::Mutex;

static ACTIVE: Mutex<Option<AddressSpace>> = Mutex::new(None);

/// Makes `space` the active one: CR3 switch (skipped if already loaded) and slot.
pub fn install(space: AddressSpace) {
    space.activate();
    let old = ACTIVE.lock().replace(space);
    assert!(old.is_none(), "an address space was already active");
}

/// Takes the active space back out of the slot. CR3 still points at it, so that the
/// next install of the same space costs no TLB flush; call [`deactivate`] before
/// dropping it.
pub fn take() -> Option<AddressSpace> {
    ACTIVE.lock().take()
}

/// Loads the kernel's root into CR3.
pub fn deactivate() {
    paging::activate_kernel();
}

/// Runs `f` on the active space, or returns None between polls.
pub fn with<R>(f: impl FnOnce(&mut AddressSpace) -> R) -> Option<R> {
    ACTIVE.lock().as_mut().map(f)
}

/// The slot was locked: the code that was interrupted holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Locked;

/// Like [`with`], but gives up instead of spinning if the slot is locked — for the
/// page-fault handler, which may interrupt code holding it.
#[inline(always)]
pub fn try_with<R>(f: impl FnOnce(&mut AddressSpace) -> R) -> Result<Option<R>, Locked> {
    let mut slot = ACTIVE.try_lock().ok_or(Locked)?;
    Ok(slot.as_mut().map(f))
}
