//! The legacy interrupt controllers (8259 PIC pair) and the PIT timer.
//!
//! OVMF leaves both PIC masks closed and `pic8259` restores whatever masks it found,
//! so the masks are written explicitly here: timer, keyboard, cascade and COM1 open.
use pic8259::ChainedPics;
use spin::Mutex;
use x86_64::instructions::port::Port;

pub const PIC_1_OFFSET: u8 = 32;
pub const PIC_2_OFFSET: u8 = PIC_1_OFFSET + 8;

/// Interrupt vectors of the lines lazuli uses.
#[derive(Clone, Copy)]
#[repr(u8)]
pub enum Irq {
    Timer = PIC_1_OFFSET,
    Keyboard = PIC_1_OFFSET + 1,
    Serial = PIC_1_OFFSET + 4,
}

/// Timer interrupts per second.
pub const TIMER_HZ: u32 = 1000;
const PIT_HZ: u32 = 1_193_182;

// SAFETY (of the `new`): 32..48 do not collide with CPU exception vectors.
static PICS: Mutex<ChainedPics> =
    Mutex::new(unsafe { ChainedPics::new(PIC_1_OFFSET, PIC_2_OFFSET) });

/// Remaps the PICs, opens the lines lazuli uses and starts the PIT at [`TIMER_HZ`].
pub fn init() {
    let mut pics = PICS.lock();
    // SAFETY: the PIC and PIT ports are the standard PC ones; interrupts are still off.
    unsafe {
        pics.initialize();
        // Bit set = masked. Master: open IRQ0 timer, IRQ1 keyboard, IRQ2 cascade, IRQ4 COM1.
        pics.write_masks(!0b0001_0111, 0xff);
        let divisor = (PIT_HZ / TIMER_HZ) as u16;
        Port::<u8>::new(0x43).write(0x34); // channel 0, lo/hi byte, mode 2 (rate generator)
        Port::<u8>::new(0x40).write(divisor as u8);
        Port::<u8>::new(0x40).write((divisor >> 8) as u8);
    }
}

/// The lines PCI devices' INTx pins are routed to on a PC (the firmware picks one
/// per slot and writes it to the device's configuration register 0x3C).
pub const PCI_LINES: [u8; 4] = [5, 9, 10, 11];

/// The vector of PIC line `line` (0–15).
pub const fn vector(line: u8) -> u8 {
    PIC_1_OFFSET + line
}

/// Unmasks a PCI device's line (one of [`PCI_LINES`]) once its handler is ready.
pub fn open_pci_line(line: u8) {
    assert!(
        PCI_LINES.contains(&line),
        "IRQ {line} is not a PCI line lazuli handles"
    );
    let mut pics = PICS.lock();
    // SAFETY: reading and writing the masks only changes which lines are delivered;
    // the line's vector has a handler (interrupts::pci_line).
    unsafe {
        let [master, slave] = pics.read_masks();
        if line < 8 {
            pics.write_masks(master & !(1 << line), slave);
        } else {
            pics.write_masks(master, slave & !(1 << (line - 8)));
        }
    }
}

/// Acknowledges PIC line `line` (both controllers for the slave's lines).
pub fn end_of_line(line: u8) {
    // SAFETY: called at the end of that line's handler.
    unsafe { PICS.lock().notify_end_of_interrupt(vector(line)) };
}

/// Acknowledges an interrupt so the PIC sends the next one.
pub fn end_of_interrupt(irq: Irq) {
    // SAFETY: called at the end of that IRQ's handler.
    unsafe { PICS.lock().notify_end_of_interrupt(irq as u8) };
}
