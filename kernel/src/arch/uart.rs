//! COM1 (0x3f8): the serial console (the UART itself, so it lives in `arch`). Writes are polled; received bytes raise IRQ 4
//! (the UART's "data available" interrupt, which `uart_16550` enables) and are read
//! by [`receive`] from that handler.
use core::fmt::Write;
use spin::Mutex;
use uart_16550::SerialPort;
use x86_64::instructions::port::Port;

static COM1: Mutex<Option<SerialPort>> = Mutex::new(None);
const COM1_BASE: u16 = 0x3f8;

/// Programs COM1 (this resets its FIFOs: input sent before the kernel announced
/// itself may be lost — firmware may even have consumed it — so hosts wait for the
/// first prompt before typing).
pub fn init() {
    // SAFETY: 0x3f8 is COM1 on every PC lazuli boots on; nothing else drives it.
    let mut port = unsafe { SerialPort::new(COM1_BASE) };
    port.init();
    *COM1.lock() = Some(port);
}

/// Moves bytes that arrived while interrupts were off into the input stream (their
/// interrupt edge came before the PIC listened).
pub fn drain_received() {
    while crate::input::has_room() {
        match receive() {
            Some(byte) => crate::input::push(byte),
            None => break,
        }
    }
}

/// Writes text, turning `\n` into `\r\n` for terminals.
pub fn write_str(s: &str) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if let Some(port) = COM1.lock().as_mut() {
            let _ = port.write_str(s);
        }
    });
}

/// Writes bytes as they are (no backspace handling), `\n` as `\r\n`: a file's
/// contents, which need not be text.
pub fn write_bytes(bytes: &[u8]) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        if let Some(port) = COM1.lock().as_mut() {
            for &b in bytes {
                if b == b'\n' {
                    port.send_raw(b'\r');
                }
                port.send_raw(b);
            }
        }
    });
}

/// Writes text even if a panicking context holds the port's lock.
pub fn write_str_panicking(s: &str) {
    // SAFETY: used only on the way to halting; a torn line beats a silent hang.
    unsafe { COM1.force_unlock() };
    write_str(s);
}

/// One received byte, if the UART holds one. `\r` becomes `\n`, DEL becomes backspace.
pub fn receive() -> Option<u8> {
    // SAFETY: reading COM1's line status and data registers has no other effect than
    // consuming the received byte, which is what we want.
    let byte = unsafe {
        if Port::<u8>::new(COM1_BASE + 5).read() & 1 == 0 {
            return None;
        }
        Port::<u8>::new(COM1_BASE).read()
    };
    Some(match byte {
        b'\r' => b'\n',
        0x7f => 0x08,
        b => b,
    })
}
