//! COM1 (0x3f8): the serial console. Output only here; input arrives via IRQ 4.
use core::fmt::Write;
use spin::Mutex;
use uart_16550::SerialPort;

static COM1: Mutex<Option<SerialPort>> = Mutex::new(None);

pub fn init() {
    // SAFETY: 0x3f8 is COM1 on every PC we boot on; nothing else drives it.
    let mut port = unsafe { SerialPort::new(0x3f8) };
    port.init();
    *COM1.lock() = Some(port);
}

pub fn write_str(s: &str) {
    if let Some(p) = COM1.lock().as_mut() {
        let _ = p.write_str(s);
    }
}
