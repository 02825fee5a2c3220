//! The IDT: CPU exceptions, the three PIC lines lazuli uses, and the syscall gate.
//!
//! The rule for every exception: it kills a task only when the faulting instruction
//! is the task's own — code running in ring 3, or one of the kernel's user-access
//! routines (`user_access`). Anywhere else in kernel code (an API call's own code,
//! the allocator, an interrupt handler, the kill path itself) it is a kernel bug and
//! panics with the report. Nothing here waits for a lock, so no fault can hang.
//!
//! The page-fault handler is the first hop of the fault path ("trap"): it decodes CR2
//! and the error code and hands them to `vm::fault`, which decides and applies.
use crate::{
    arch::{gdt, pic, pic::Irq, user_access, usermode},
    input, time, vm,
};
use lazuli_api::{Exception, KillReason};
use lazuli_vm::decode_error_code;
use spin::Lazy;
use x86_64::{
    PrivilegeLevel, VirtAddr,
    instructions::port::Port,
    registers::control::Cr2,
    structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode},
};

static IDT: Lazy<InterruptDescriptorTable> = Lazy::new(|| {
    let mut idt = InterruptDescriptorTable::new();
    idt.divide_error.set_handler_fn(divide_error);
    idt.debug.set_handler_fn(debug);
    idt.breakpoint.set_handler_fn(breakpoint);
    idt.overflow.set_handler_fn(overflow);
    idt.bound_range_exceeded.set_handler_fn(bound_range);
    idt.invalid_opcode.set_handler_fn(invalid_opcode);
    idt.device_not_available
        .set_handler_fn(device_not_available);
    idt.invalid_tss.set_handler_fn(invalid_tss);
    idt.segment_not_present.set_handler_fn(segment_not_present);
    idt.stack_segment_fault.set_handler_fn(stack_segment);
    idt.general_protection_fault
        .set_handler_fn(general_protection);
    idt.page_fault.set_handler_fn(page_fault);
    idt.x87_floating_point.set_handler_fn(x87_floating_point);
    idt.alignment_check.set_handler_fn(alignment_check);
    idt.simd_floating_point.set_handler_fn(simd_floating_point);
    idt.machine_check.set_handler_fn(machine_check);
    // SAFETY: the IST index names the stack reserved for double faults in the TSS.
    unsafe {
        idt.double_fault
            .set_handler_fn(double_fault)
            .set_stack_index(gdt::DOUBLE_FAULT_IST);
    }
    let timer_entry = usermode::lazuli_timer_entry as *const () as u64;
    let syscall_entry = usermode::lazuli_syscall_entry as *const () as u64;
    // SAFETY: both are interrupt entry points (usermode's assembly): from ring 0 they
    // jump to an `x86-interrupt` handler with the CPU's frame untouched; from ring 3
    // they leave user mode. The syscall gate is the only one ring 3 may use.
    unsafe {
        idt[Irq::Timer as u8].set_handler_addr(VirtAddr::new(timer_entry));
        idt[usermode::SYSCALL_VECTOR]
            .set_handler_addr(VirtAddr::new(syscall_entry))
            .set_privilege_level(PrivilegeLevel::Ring3);
    }
    idt[Irq::Keyboard as u8].set_handler_fn(keyboard);
    idt[Irq::Serial as u8].set_handler_fn(serial);
    idt[pic::vector(5)].set_handler_fn(pci_line_5);
    idt[pic::vector(9)].set_handler_fn(pci_line_9);
    idt[pic::vector(10)].set_handler_fn(pci_line_10);
    idt[pic::vector(11)].set_handler_fn(pci_line_11);
    idt
});

pub fn init() {
    IDT.load();
}

/// Whether the CPU was running ring-3 code when the trap came.
fn from_user(frame: &InterruptStackFrame) -> bool {
    frame.code_segment.rpl() == PrivilegeLevel::Ring3
}

/// An exception other than a page fault: kills ring-3 code, panics in the kernel.
fn exception(frame: &InterruptStackFrame, kind: Exception, code: Option<u64>) -> ! {
    let rip = frame.instruction_pointer.as_u64();
    if from_user(frame) {
        usermode::leave_killed(KillReason::Exception { kind, rip });
    }
    match code {
        Some(code) => panic!("{kind} (code {code:#x}) at {rip:#x}"),
        None => panic!("{kind} at {rip:#x}"),
    }
}

/// Handlers that only say which exception it was.
macro_rules! exception_handlers {
    ($($name:ident => $kind:ident),* $(,)?) => {$(
        extern "x86-interrupt" fn $name(frame: InterruptStackFrame) {
            exception(&frame, Exception::$kind, None)
        }
    )*};
    (code: $($name:ident => $kind:ident),* $(,)?) => {$(
        extern "x86-interrupt" fn $name(frame: InterruptStackFrame, code: u64) {
            exception(&frame, Exception::$kind, Some(code))
        }
    )*};
}

exception_handlers! {
    divide_error => DivideError,
    debug => Debug,
    overflow => Overflow,
    bound_range => BoundRange,
    invalid_opcode => InvalidOpcode,
    device_not_available => DeviceNotAvailable,
    x87_floating_point => X87FloatingPoint,
    simd_floating_point => SimdFloatingPoint,
}

exception_handlers! { code:
    invalid_tss => InvalidTss,
    segment_not_present => SegmentNotPresent,
    stack_segment => StackSegment,
    general_protection => GeneralProtection,
    alignment_check => AlignmentCheck,
}

/// Counts breakpoints, so a test can see that `int3` reached the handler and returned.
pub static BREAKPOINTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

extern "x86-interrupt" fn breakpoint(frame: InterruptStackFrame) {
    if from_user(&frame) {
        // Unreachable through `int3` (its gate is ring 0: ring 3 gets #GP), but a
        // breakpoint from ring 3 would be the task's own.
        exception(&frame, Exception::Breakpoint, None);
    }
    BREAKPOINTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, _code: u64) -> ! {
    panic!("double fault at {:#x}", frame.instruction_pointer.as_u64());
}

extern "x86-interrupt" fn machine_check(frame: InterruptStackFrame) -> ! {
    panic!("machine check at {:#x}", frame.instruction_pointer.as_u64());
}

extern "x86-interrupt" fn page_fault(mut frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let started = vm::fault_timing::start();
    let addr = Cr2::read_raw();
    let (access, present) = decode_error_code(code.bits());
    let rip = frame.instruction_pointer.as_u64();
    if from_user(&frame) {
        if let Err(report) = vm::fault::handle(addr, access, present) {
            usermode::leave_killed(KillReason::PageFault(report));
        }
        vm::fault_timing::finish(started);
        return; // mapped: the instruction retries
    }
    if user_access::faulted_in_access(rip) {
        if let Err(report) = vm::fault::handle(addr, access, present) {
            user_access::fail_access(&mut frame, report);
        }
        return;
    }
    let report = vm::fault::explain(addr, access, present);
    match crate::task::current() {
        None => panic!("kernel {report} outside any task, rip {rip:#x}"),
        Some(pid) => panic!("kernel {report} in kernel code for task {pid}, rip {rip:#x}"),
    }
}

/// The timer, taken in ring 0 (from ring 3, `usermode` handles it).
pub(super) extern "x86-interrupt" fn timer(_frame: InterruptStackFrame) {
    time::tick();
    pic::end_of_interrupt(Irq::Timer);
}

/// `int 0x80` executed by kernel code: a bug.
pub(super) extern "x86-interrupt" fn syscall_from_kernel(frame: InterruptStackFrame) {
    panic!(
        "syscall gate entered from ring 0 at {:#x}",
        frame.instruction_pointer.as_u64()
    );
}

extern "x86-interrupt" fn keyboard(_frame: InterruptStackFrame) {
    // SAFETY: port 0x60 is the PS/2 data port; reading it acknowledges the byte.
    let scancode: u8 = unsafe { Port::new(0x60).read() };
    if let Some(byte) = crate::keyboard::on_scancode(scancode) {
        input::push(byte);
    }
    pic::end_of_interrupt(Irq::Keyboard);
}

/// A PCI line: the disk is the only PCI device that interrupts (lines are shared,
/// so a line lazuli opened may also carry others' interrupts; the disk's handler
/// only acts on its own ISR status).
fn pci_line(line: u8) {
    crate::arch::virtio_blk::on_interrupt();
    pic::end_of_line(line);
}

macro_rules! pci_line_handlers {
    ($($name:ident => $line:literal),* $(,)?) => {$(
        extern "x86-interrupt" fn $name(_frame: InterruptStackFrame) {
            pci_line($line)
        }
    )*};
}

pci_line_handlers! {
    pci_line_5 => 5,
    pci_line_9 => 9,
    pci_line_10 => 10,
    pci_line_11 => 11,
}

extern "x86-interrupt" fn serial(_frame: InterruptStackFrame) {
    // With the ring full, bytes stay in the UART (and QEMU holds back the rest):
    // the reader drains them when it finds the ring empty.
    crate::arch::uart::drain_received();
    pic::end_of_interrupt(Irq::Serial);
}
