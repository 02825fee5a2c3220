//! The kernel's accesses to user memory on a task's behalf: the only kernel
//! instructions allowed to fault on a user address.
//!
//! Four leaf routines in assembly sit between `lazuli_user_access_start` and
//! `lazuli_user_access_fixup`. The page-fault handler recognises a fault whose
//! instruction lies there ([`faulted_in_access`]): it satisfies the fault as for any
//! user access when it can (the instruction retries), and otherwise calls
//! [`fail_access`], which records the report and resumes the routine at
//! `lazuli_user_access_fixup`. The fixup returns "failed" to the Rust caller like an
//! ordinary `ret` — each routine is a leaf that pushes nothing, so the return
//! address is still on top of the stack — and no Rust frame is ever skipped.
//!
//! The address rule is applied here, before any instruction runs: an access that
//! would reach `USER_END` or beyond is refused with `(ACCESS, not user memory)`, so
//! these routines can never read or write the kernel half (and never meet a
//! non-canonical address, which would raise #GP instead of #PF).
use core::arch::global_asm;
use lazuli_vm::{Access, FaultReport, Why, layout::USER_END};
use spin::Mutex;
use x86_64::{VirtAddr, structures::idt::InterruptStackFrame};

global_asm!(
    ".global lazuli_user_access_start",
    ".global lazuli_user_access_fixup",
    ".global lazuli_user_read8",
    ".global lazuli_user_read64",
    ".global lazuli_user_write8",
    ".global lazuli_user_write64",
    "lazuli_user_access_start:",
    // Each returns (rax = value read, rdx = 0 ok / 1 failed); rdi = address,
    // rsi = value to write.
    "lazuli_user_read8:",
    "    xor edx, edx",
    "    movzx eax, byte ptr [rdi]",
    "    ret",
    "lazuli_user_read64:",
    "    xor edx, edx",
    "    mov rax, qword ptr [rdi]",
    "    ret",
    "lazuli_user_write8:",
    "    xor edx, edx",
    "    xor eax, eax",
    "    mov byte ptr [rdi], sil",
    "    ret",
    "lazuli_user_write64:",
    "    xor edx, edx",
    "    xor eax, eax",
    "    mov qword ptr [rdi], rsi",
    "    ret",
    "lazuli_user_access_fixup:",
    "    xor eax, eax",
    "    mov edx, 1",
    "    ret",
);

/// What a routine returns, in rax:rdx.
#[repr(C)]
struct Outcome {
    value: u64,
    failed: u64,
}

unsafe extern "sysv64" {
    fn lazuli_user_access_start();
    fn lazuli_user_access_fixup();
    fn lazuli_user_read8(addr: u64) -> Outcome;
    fn lazuli_user_read64(addr: u64) -> Outcome;
    fn lazuli_user_write8(addr: u64, value: u64) -> Outcome;
    fn lazuli_user_write64(addr: u64, value: u64) -> Outcome;
}

/// The report of the access that failed last, from the fault handler to the routine's
/// caller. One CPU, and no interrupt handler makes user accesses, so the handler's
/// write and the caller's read are never interleaved with another access.
static FAILED: Mutex<Option<FaultReport>> = Mutex::new(None);

/// Bytes one access moves: 1 or 8.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Byte,
    Word,
}

impl Size {
    fn bytes(self) -> u64 {
        match self {
            Size::Byte => 1,
            Size::Word => 8,
        }
    }
}

/// Refuses accesses that would touch `USER_END` or above.
fn check(addr: u64, size: Size, access: Access) -> Result<(), FaultReport> {
    match addr.checked_add(size.bytes()) {
        Some(end) if end <= USER_END => Ok(()),
        _ => Err(FaultReport {
            addr,
            access,
            why: Why::NotUserMemory,
        }),
    }
}

/// Turns a routine's outcome into the value or the handler's report.
fn finish(outcome: Outcome) -> Result<u64, FaultReport> {
    if outcome.failed == 0 {
        return Ok(outcome.value);
    }
    Err(FAILED
        .lock()
        .take()
        .expect("a failed user access left its report"))
}

/// Reads `size` bytes (zero-extended) at user address `addr`.
pub fn read(addr: u64, size: Size) -> Result<u64, FaultReport> {
    check(addr, size, Access::Read)?;
    // SAFETY: `addr..addr + size` lies below USER_END (checked), so the routine
    // touches no kernel memory; a fault there is answered by the page-fault handler
    // (mapped and retried, or redirected to the fixup, which returns normally).
    let outcome = unsafe {
        match size {
            Size::Byte => lazuli_user_read8(addr),
            Size::Word => lazuli_user_read64(addr),
        }
    };
    finish(outcome)
}

/// Writes the low `size` bytes of `value` at user address `addr`.
pub fn write(addr: u64, size: Size, value: u64) -> Result<(), FaultReport> {
    check(addr, size, Access::Write)?;
    // SAFETY: as for `read`; user memory holds no Rust object, so nothing aliases.
    let outcome = unsafe {
        match size {
            Size::Byte => lazuli_user_write8(addr, value),
            Size::Word => lazuli_user_write64(addr, value),
        }
    };
    finish(outcome).map(|_| ())
}

/// Whether the instruction at `rip` is one of the user-access routines' accesses.
pub fn faulted_in_access(rip: u64) -> bool {
    let start = lazuli_user_access_start as *const () as u64;
    let fixup = lazuli_user_access_fixup as *const () as u64;
    (start..fixup).contains(&rip)
}

/// Makes the interrupted user access return "failed" with `report` (fault handler,
/// only for a frame whose rip passed [`faulted_in_access`]).
pub fn fail_access(frame: &mut InterruptStackFrame, report: FaultReport) {
    *FAILED
        .try_lock()
        .expect("no user access is reading its report during a fault") = Some(report);
    let fixup = lazuli_user_access_fixup as *const () as u64;
    // SAFETY: only rip changes, to the fixup of the routine that faulted: it returns
    // with the stack exactly as the routine had it (they push nothing).
    unsafe {
        frame
            .as_mut()
            .update(|f| f.instruction_pointer = VirtAddr::new(fixup));
    }
}
