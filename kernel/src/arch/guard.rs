//! The escape hatch that lets a page fault abandon a task's poll.
//!
//! Tasks are futures polled on the kernel stack. When a fault inside a poll cannot be
//! satisfied, the task must stop *now*: the faulting instruction can never complete.
//! [`guarded`] saves a small context (callee-saved registers, stack pointer, return
//! address, RFLAGS) before running the poll; the page-fault handler, deciding to
//! kill, rewrites its interrupt frame so that `iretq` lands in [`escape_trampoline`],
//! which restores that context and makes [`guarded`] return `Err(Abandoned)`.
//! Everything the poll had on the stack is abandoned without running destructors —
//! the caller must leak the future (its state is mid-poll, not safe to drop).
//!
//! This is `setjmp`/`longjmp`, limited to one level: a single CPU polls one task at a
//! time and a guarded poll never nests.
use core::{
    arch::global_asm,
    cell::UnsafeCell,
    sync::atomic::{AtomicBool, Ordering},
};

/// What `lazuli_guard_enter` saves: rbx, rbp, r12–r15, rsp, rip, rflags.
#[repr(C)]
struct Context {
    regs: [u64; 9],
}

struct ContextCell(UnsafeCell<Context>);
// SAFETY: one CPU; the context is written by `guard_enter` and read by `guard_escape`,
// never concurrently (the escape happens on the same CPU, after the enter).
unsafe impl Sync for ContextCell {}

static CONTEXT: ContextCell = ContextCell(UnsafeCell::new(Context { regs: [0; 9] }));
static ARMED: AtomicBool = AtomicBool::new(false);

global_asm!(
    ".global lazuli_guard_enter",
    "lazuli_guard_enter:",
    // rdi = context, rsi = function, rdx = its argument
    "mov [rdi + 0x00], rbx",
    "mov [rdi + 0x08], rbp",
    "mov [rdi + 0x10], r12",
    "mov [rdi + 0x18], r13",
    "mov [rdi + 0x20], r14",
    "mov [rdi + 0x28], r15",
    "lea rax, [rsp + 8]",
    "mov [rdi + 0x30], rax", // rsp as it will be after our `ret`
    "mov rax, [rsp]",
    "mov [rdi + 0x38], rax", // our return address
    "pushfq",
    "pop rax",
    "mov [rdi + 0x40], rax",
    "sub rsp, 8", // keep the callee's stack 16-byte aligned
    "mov rdi, rdx",
    "call rsi",
    "add rsp, 8",
    "xor eax, eax",
    "ret",
    "",
    ".global lazuli_guard_escape",
    "lazuli_guard_escape:",
    // rdi = context
    "mov rbx, [rdi + 0x00]",
    "mov rbp, [rdi + 0x08]",
    "mov r12, [rdi + 0x10]",
    "mov r13, [rdi + 0x18]",
    "mov r14, [rdi + 0x20]",
    "mov r15, [rdi + 0x28]",
    "mov rsp, [rdi + 0x30]",
    "push qword ptr [rdi + 0x40]",
    "popfq",
    "mov eax, 1",
    "jmp qword ptr [rdi + 0x38]",
);

unsafe extern "C" {
    fn lazuli_guard_enter(ctx: *mut Context, f: extern "C" fn(*mut u8), arg: *mut u8) -> u64;
    fn lazuli_guard_escape(ctx: *const Context) -> !;
}

/// The guarded code was abandoned by [`escape_trampoline`].
#[derive(Debug)]
pub struct Abandoned;

/// Runs `f`; returns `Err(Abandoned)` if a fault handler escaped out of it.
pub fn guarded<F: FnOnce()>(f: F) -> Result<(), Abandoned> {
    extern "C" fn call<F: FnOnce()>(data: *mut u8) {
        // SAFETY: `data` is the `&mut Option<F>` passed below, alive for the call.
        let slot = unsafe { &mut *(data as *mut Option<F>) };
        if let Some(f) = slot.take() {
            f();
        }
    }
    let mut slot = Some(f);
    assert!(
        !ARMED.swap(true, Ordering::SeqCst),
        "guarded polls never nest"
    );
    // SAFETY: the context is ours (not armed before); `call::<F>` matches the argument.
    let escaped = unsafe { lazuli_guard_enter(CONTEXT.0.get(), call::<F>, (&raw mut slot).cast()) };
    ARMED.store(false, Ordering::SeqCst);
    if escaped == 0 { Ok(()) } else { Err(Abandoned) }
}

/// Whether a guarded poll is running (a fault now may escape instead of panicking).
pub fn is_armed() -> bool {
    ARMED.load(Ordering::SeqCst)
}

/// Frees the storage of a future whose poll was abandoned, without running its
/// destructor (its state is mid-poll: dropping could free things twice). Heap
/// objects the future owned stay allocated; the future's own box does not.
pub fn free_abandoned<T: ?Sized>(future: core::pin::Pin<alloc::boxed::Box<T>>) {
    let layout = core::alloc::Layout::for_value(&*future);
    // SAFETY: the pointee is never moved: its storage is released in place below.
    let raw = alloc::boxed::Box::into_raw(unsafe { core::pin::Pin::into_inner_unchecked(future) });
    if layout.size() != 0 {
        // SAFETY: `raw` came from a Box with this layout, allocated by the global
        // allocator; nothing refers to it any more (the poll that did is gone).
        unsafe { alloc::alloc::dealloc(raw.cast::<u8>(), layout) };
    }
}

/// Where a killing fault handler sends `iretq`: straight back into [`guarded`].
pub extern "C" fn escape_trampoline() -> ! {
    // SAFETY: only reached while armed (the fault handler checks), so CONTEXT holds
    // the live frame of `guarded`, which is still on this stack below us.
    unsafe { lazuli_guard_escape(CONTEXT.0.get()) }
}
