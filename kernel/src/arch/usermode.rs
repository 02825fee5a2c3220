//! User mode: running code in user pages at ring 3, and coming back.
//!
//! [`run`] loads a [`UserRegs`] and enters ring 3 with `iretq`. It returns when the
//! CPU next comes back to the kernel for a reason the caller must act on:
//!
//! - [`Exit::Syscall`]: the code executed `int 0x80` (the syscall gate, the only
//!   gate ring 3 may use). `rax` holds the call number; see [`SYS_RETURN`].
//! - [`Exit::Preempted`]: the timer interrupted it; the caller should let other
//!   tasks run, then call [`run`] again with the same registers.
//! - [`Exit::Killed`]: it did something wrong — an exception, or a page fault the
//!   fault path could not satisfy — and must not resume.
//!
//! Page faults the fault path satisfies, and the keyboard and serial interrupts,
//! return straight to ring 3 without leaving [`run`].
//!
//! How the way back works, and why it is sound. `lazuli_enter_user` pushes the
//! callee-saved registers on the kernel stack and saves that stack pointer; every
//! trap from ring 3 arrives on the TSS's ring-0 stack (`gdt`), never on the kernel
//! stack, so the frames of the task's poll stay untouched below the saved pointer.
//! The timer and syscall entries are assembly: they store all the user registers in
//! the [`UserRegs`] and switch back to the saved kernel stack, popping the
//! callee-saved registers, so [`run`] returns as an ordinary call. An exception
//! handler (Rust, `x86-interrupt`) that decides to kill calls [`leave_killed`],
//! which switches back the same way; it abandons only that handler's own frame and
//! the CPU's trap frame on the trap stack — no destructor, no lock (the handlers
//! drop theirs before calling) — and the trap stack starts empty at the next trap.
//!
//! The code comes back from a plain `ret` through the trampoline: one read-only,
//! executable page in the kernel half, the only kernel-half page with the USER bit
//! (as Linux's vsyscall page), holding `mov rdi, rax; xor eax, eax; int 0x80`. The
//! return address pushed on the user stack is the trampoline's.
//!
//! Regions never cover the top user page (`lazuli_vm::layout::MAP_END`), so code
//! cannot run off the end of the user half into the non-canonical hole, and [`run`]
//! refuses to enter at a rip or rsp that `iretq` would fault on.
//!
//! Does not (yet): save SSE or x87 state (the kernel never touches those registers,
//! but two tasks running user code would share them), `syscall`/`sysret`, or
//! give user code anything but `SYS_RETURN`.
use super::{gdt, pic, pic::Irq};
use crate::mem::{frame, paging};
use core::arch::global_asm;
use lazuli_api::{Access, Exception, FaultReport, KillReason, Why};
use spin::Mutex;
use x86_64::structures::paging::PageTableFlags as Flags;

/// The interrupt vector of the syscall gate.
pub const SYSCALL_VECTOR: u8 = 0x80;

/// Syscall 0: the called code is done; `rdi` holds its result.
pub const SYS_RETURN: u64 = 0;

/// Where the trampoline page is mapped (PML4 slot 510, otherwise unused).
pub const TRAMPOLINE: u64 = 0xffff_ff00_0000_0000;

/// `mov rdi, rax; xor eax, eax; int 0x80; ud2`.
const TRAMPOLINE_CODE: [u8; 9] = [0x48, 0x89, 0xc7, 0x31, 0xc0, 0xcd, 0x80, 0x0f, 0x0b];

/// RFLAGS for user code: interrupts on, IOPL 0 (so `cli`, `hlt`, `in`, `out` fault).
const USER_RFLAGS: u64 = 0x202;

/// The user registers while the code is not running. Offsets are used by the
/// assembly below: keep the order.
#[repr(C)]
#[derive(Clone, Debug, Default)]
pub struct UserRegs {
    pub rax: u64,
    pub rbx: u64,
    pub rcx: u64,
    pub rdx: u64,
    pub rsi: u64,
    pub rdi: u64,
    pub rbp: u64,
    pub r8: u64,
    pub r9: u64,
    pub r10: u64,
    pub r11: u64,
    pub r12: u64,
    pub r13: u64,
    pub r14: u64,
    pub r15: u64,
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

impl UserRegs {
    /// Registers that start running at `rip` with the stack at `rsp`, in ring 3.
    pub fn new(rip: u64, rsp: u64) -> Self {
        let selectors = gdt::selectors();
        Self {
            rip,
            rsp,
            cs: u64::from(selectors.user_code.0),
            ss: u64::from(selectors.user_data.0),
            rflags: USER_RFLAGS,
            ..Self::default()
        }
    }
}

/// Why [`run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Syscall,
    Preempted,
    Killed(KillReason),
}

const EXIT_SYSCALL: u64 = 1;
const EXIT_TIMER: u64 = 2;
const EXIT_KILLED: u64 = 3;

/// Why the code running now must die (exception handler → [`run`]).
static KILLED: Mutex<Option<KillReason>> = Mutex::new(None);

global_asm!(
    ".global lazuli_enter_user",
    ".global lazuli_timer_entry",
    ".global lazuli_syscall_entry",
    ".global lazuli_leave_user",
    ".pushsection .bss",
    ".balign 8",
    "lazuli_kernel_rsp: .zero 8",
    "lazuli_user_regs: .zero 8",
    ".popsection",
    // rdi = *mut UserRegs. Returns (in rax) an EXIT_* code, interrupts off.
    "lazuli_enter_user:",
    "    push rbx",
    "    push rbp",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rip + lazuli_user_regs], rdi",
    "    mov [rip + lazuli_kernel_rsp], rsp",
    "    push qword ptr [rdi + 0x98]", // ss
    "    push qword ptr [rdi + 0x90]", // rsp
    "    push qword ptr [rdi + 0x88]", // rflags
    "    push qword ptr [rdi + 0x80]", // cs
    "    push qword ptr [rdi + 0x78]", // rip
    "    mov rax, [rdi + 0x00]",
    "    mov rbx, [rdi + 0x08]",
    "    mov rcx, [rdi + 0x10]",
    "    mov rdx, [rdi + 0x18]",
    "    mov rsi, [rdi + 0x20]",
    "    mov rbp, [rdi + 0x30]",
    "    mov r8, [rdi + 0x38]",
    "    mov r9, [rdi + 0x40]",
    "    mov r10, [rdi + 0x48]",
    "    mov r11, [rdi + 0x50]",
    "    mov r12, [rdi + 0x58]",
    "    mov r13, [rdi + 0x60]",
    "    mov r14, [rdi + 0x68]",
    "    mov r15, [rdi + 0x70]",
    "    mov rdi, [rdi + 0x28]",
    "    iretq",
    // The timer vector. From ring 0: the ordinary handler. From ring 3: save and leave.
    "lazuli_timer_entry:",
    "    test qword ptr [rsp + 8], 3",
    "    jz {timer_in_kernel}",
    "    push rax",
    "    mov eax, {exit_timer}",
    "    jmp 2f",
    // The syscall gate (DPL 3). From ring 0 it is a kernel bug.
    "lazuli_syscall_entry:",
    "    test qword ptr [rsp + 8], 3",
    "    jz {syscall_in_kernel}",
    "    push rax",
    "    mov eax, {exit_syscall}",
    // Stack: user rax, then the CPU's frame (rip, cs, rflags, rsp, ss).
    "2:",
    "    push rdi",
    "    mov rdi, [rip + lazuli_user_regs]",
    "    mov [rdi + 0x08], rbx",
    "    mov [rdi + 0x10], rcx",
    "    mov [rdi + 0x18], rdx",
    "    mov [rdi + 0x20], rsi",
    "    mov [rdi + 0x30], rbp",
    "    mov [rdi + 0x38], r8",
    "    mov [rdi + 0x40], r9",
    "    mov [rdi + 0x48], r10",
    "    mov [rdi + 0x50], r11",
    "    mov [rdi + 0x58], r12",
    "    mov [rdi + 0x60], r13",
    "    mov [rdi + 0x68], r14",
    "    mov [rdi + 0x70], r15",
    "    pop qword ptr [rdi + 0x28]", // rdi
    "    pop qword ptr [rdi + 0x00]", // rax
    "    pop qword ptr [rdi + 0x78]", // rip
    "    pop qword ptr [rdi + 0x80]", // cs
    "    pop qword ptr [rdi + 0x88]", // rflags
    "    pop qword ptr [rdi + 0x90]", // rsp
    "    pop qword ptr [rdi + 0x98]", // ss
    // rdi = EXIT_* code: back to the kernel stack saved on entry.
    "    mov edi, eax",
    "lazuli_leave_user:",
    "    cld", // user code may have set DF; the kernel's ABI wants it clear
    "    mov rax, rdi",
    "    mov rsp, [rip + lazuli_kernel_rsp]",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbp",
    "    pop rbx",
    "    ret",
    timer_in_kernel = sym super::interrupts::timer,
    syscall_in_kernel = sym super::interrupts::syscall_from_kernel,
    exit_timer = const EXIT_TIMER,
    exit_syscall = const EXIT_SYSCALL,
);

unsafe extern "sysv64" {
    fn lazuli_enter_user(regs: *mut UserRegs) -> u64;
    fn lazuli_leave_user(code: u64) -> !;
    pub(super) fn lazuli_timer_entry();
    pub(super) fn lazuli_syscall_entry();
}

/// Maps the trampoline page. Boot time, before the first task copies the kernel half.
pub fn init() {
    let page =
        frame::allocate_zeroed(frame::FrameUse::Kernel).expect("a frame for the user trampoline");
    let page = frame::counted(page); // the kernel's for good
    frame::write_bytes(page, &TRAMPOLINE_CODE);
    paging::map_kernel_user_page(TRAMPOLINE, page, Flags::PRESENT | Flags::USER_ACCESSIBLE);
}

/// Runs user code with `regs` until it traps for a reason the caller handles;
/// `regs` then holds its registers (for a preemption or a syscall: where to go on).
/// Must be called from a task's poll with interrupts on and no lock held.
pub fn run(regs: &mut UserRegs) -> Exit {
    // `iretq` refuses a non-canonical rip (a #GP in ring 0): such code is dead. (A
    // canonical kernel-half rip is fine: the trampoline's, after a preemption right
    // at its first instruction; any other faults in ring 3 as not user memory.)
    if !is_canonical(regs.rip) {
        return Exit::Killed(KillReason::PageFault(FaultReport {
            addr: regs.rip,
            access: Access::Exec,
            why: Why::NotUserMemory,
        }));
    }
    if !is_canonical(regs.rsp) {
        return Exit::Killed(KillReason::Exception {
            kind: Exception::GeneralProtection,
            rip: regs.rip,
        });
    }
    x86_64::instructions::interrupts::disable();
    // SAFETY: `regs` is valid for the call; ring-3 code runs with the selectors,
    // RFLAGS (IOPL 0) and stack it was given, in the active address space whose
    // kernel half is not user-accessible; every way back restores this stack with
    // the callee-saved registers (see the module doc).
    let code = unsafe { lazuli_enter_user(regs) };
    gdt::restore_kernel_data_segments();
    let exit = match code {
        EXIT_SYSCALL => Exit::Syscall,
        EXIT_TIMER => {
            if crate::vm::tlb::on_user_tick() {
                x86_64::instructions::tlb::flush_all(); // let QEMU's TLB grow (vm::tlb)
            }
            crate::time::tick();
            pic::end_of_interrupt(Irq::Timer);
            Exit::Preempted
        }
        EXIT_KILLED => Exit::Killed(
            KILLED
                .lock()
                .take()
                .expect("a killing handler left its reason"),
        ),
        other => panic!("unknown user-mode exit {other}"),
    };
    x86_64::instructions::interrupts::enable();
    exit
}

/// Whether `addr` is canonical (bits 63..47 all equal).
fn is_canonical(addr: u64) -> bool {
    let top = addr >> 47;
    top == 0 || top == 0x1_ffff
}

/// Leaves user mode for good: [`run`] returns `Exit::Killed(reason)`. Only for an
/// exception handler entered from ring 3, holding no lock and owning no heap object:
/// its own frame is abandoned (module doc).
pub fn leave_killed(reason: KillReason) -> ! {
    *KILLED.try_lock().expect("the kill slot is free in a trap") = Some(reason);
    // SAFETY: we are in a trap from ring 3 taken inside `run`, so the saved kernel
    // stack pointer is that of the live `lazuli_enter_user` call; see the module doc.
    unsafe { lazuli_leave_user(EXIT_KILLED) }
}
