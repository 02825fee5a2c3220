//! The IDT: CPU exceptions and the three PIC lines lazuli uses.
//!
//! The page-fault handler is the first hop of the fault path ("trap"): it decodes CR2
//! and the error code and hands them to `vm::fault`, which decides and applies. When
//! the answer is "kill", the handler sends the task out through `guard`.
use crate::{
    arch::{gdt, guard, pic, pic::Irq},
    input, time, vm,
};
use lazuli_vm::decode_error_code;
use spin::Lazy;
use x86_64::{
    VirtAddr,
    instructions::port::Port,
    registers::control::Cr2,
    structures::idt::{InterruptDescriptorTable, InterruptStackFrame, PageFaultErrorCode},
};

static IDT: Lazy<InterruptDescriptorTable> = Lazy::new(|| {
    let mut idt = InterruptDescriptorTable::new();
    idt.breakpoint.set_handler_fn(breakpoint);
    idt.invalid_opcode.set_handler_fn(invalid_opcode);
    idt.general_protection_fault
        .set_handler_fn(general_protection);
    idt.page_fault.set_handler_fn(page_fault);
    // SAFETY: the IST index names the stack reserved for double faults in the TSS.
    unsafe {
        idt.double_fault
            .set_handler_fn(double_fault)
            .set_stack_index(gdt::DOUBLE_FAULT_IST);
    }
    idt[Irq::Timer as u8].set_handler_fn(timer);
    idt[Irq::Keyboard as u8].set_handler_fn(keyboard);
    idt[Irq::Serial as u8].set_handler_fn(serial);
    idt
});

pub fn init() {
    IDT.load();
}

/// Counts breakpoints, so a test can see that `int3` reached the handler and returned.
pub static BREAKPOINTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

extern "x86-interrupt" fn breakpoint(_frame: InterruptStackFrame) {
    BREAKPOINTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
}

extern "x86-interrupt" fn invalid_opcode(frame: InterruptStackFrame) {
    panic!(
        "invalid opcode at {:#x}",
        frame.instruction_pointer.as_u64()
    );
}

extern "x86-interrupt" fn general_protection(frame: InterruptStackFrame, code: u64) {
    panic!(
        "general protection fault (code {code:#x}) at {:#x}",
        frame.instruction_pointer.as_u64()
    );
}

extern "x86-interrupt" fn double_fault(frame: InterruptStackFrame, _code: u64) -> ! {
    panic!("double fault at {:#x}", frame.instruction_pointer.as_u64());
}

extern "x86-interrupt" fn page_fault(mut frame: InterruptStackFrame, code: PageFaultErrorCode) {
    let addr = Cr2::read_raw();
    let (access, present) = decode_error_code(code.bits());
    let Err(report) = vm::fault::handle(addr, access, present) else {
        return; // mapped: the instruction retries
    };
    if !guard::is_armed() {
        panic!(
            "kernel {report} outside any task, rip {:#x}",
            frame.instruction_pointer.as_u64()
        );
    }
    vm::fault::record_kill(report);
    let rsp = frame.stack_pointer.as_u64();
    // SAFETY: we rewrite only rip and rsp of our own interrupt frame: iretq then lands
    // in the escape trampoline, on the same (still valid) stack, aligned as after a call.
    unsafe {
        frame.as_mut().update(|f| {
            f.instruction_pointer = VirtAddr::new(guard::escape_trampoline as *const () as u64);
            f.stack_pointer = VirtAddr::new((rsp & !0xf) - 8);
        });
    }
}

extern "x86-interrupt" fn timer(_frame: InterruptStackFrame) {
    time::tick();
    pic::end_of_interrupt(Irq::Timer);
}

extern "x86-interrupt" fn keyboard(_frame: InterruptStackFrame) {
    // SAFETY: port 0x60 is the PS/2 data port; reading it acknowledges the byte.
    let scancode: u8 = unsafe { Port::new(0x60).read() };
    if let Some(byte) = crate::keyboard::on_scancode(scancode) {
        input::push(byte);
    }
    pic::end_of_interrupt(Irq::Keyboard);
}

extern "x86-interrupt" fn serial(_frame: InterruptStackFrame) {
    // With the ring full, bytes stay in the UART (and QEMU holds back the rest):
    // the reader drains them when it finds the ring empty.
    crate::serial::drain_received();
    pic::end_of_interrupt(Irq::Serial);
}
