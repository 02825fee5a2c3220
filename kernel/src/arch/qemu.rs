//! Leaving the machine: QEMU's isa-debug-exit device, then ACPI, then halt.
use x86_64::instructions::port::Port;

/// Value written to isa-debug-exit on success: QEMU exits with (0x10 << 1) | 1 = 33.
pub const EXIT_SUCCESS: u32 = 0x10;
/// On failure: QEMU exits with 35.
pub const EXIT_FAILURE: u32 = 0x11;

/// Powers off. Under QEMU the process exits with 33 (success) or 35 (failure).
pub fn exit(success: bool) -> ! {
    let code = if success { EXIT_SUCCESS } else { EXIT_FAILURE };
    // SAFETY: port 0xf4 is isa-debug-exit when QEMU has it, unused otherwise; 0x604 is
    // QEMU's ACPI PM1a control block (S5 = 0x2000), harmless on machines without it.
    unsafe {
        Port::<u32>::new(0xf4).write(code);
        Port::<u16>::new(0x604).write(0x2000);
    }
    super::cpu::halt_forever()
}
