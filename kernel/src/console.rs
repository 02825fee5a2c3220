//! The console: every line goes to serial and to the framebuffer. Also the `log`
//! facade's sink and the kernel's `kprint!`/`kprintln!` macros.
use core::fmt::{self, Write};

/// Writes text to both consoles.
pub fn write_str(s: &str) {
    crate::arch::uart::write_str(s);
    crate::framebuffer::write_str(s);
}

/// Writes page cells: the characters on serial, coloured squares on the framebuffer.
/// Writes bytes that need not be text (`cat`): exact on serial; the screen shows
/// what is not printable ASCII as `?`.
pub fn write_bytes(bytes: &[u8]) {
    crate::arch::uart::write_bytes(bytes);
    for chunk in bytes.utf8_chunks() {
        crate::framebuffer::write_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            crate::framebuffer::write_str("?");
        }
    }
}

pub fn write_cells(cells: &str) {
    use crate::framebuffer::CellKind;
    crate::arch::uart::write_str(cells);
    let mut buf = [0u8; 4];
    for c in cells.chars() {
        match c {
            '#' | '+' => crate::framebuffer::write_cell(CellKind::Present),
            '.' => crate::framebuffer::write_cell(CellKind::Reserved),
            'x' => crate::framebuffer::write_cell(CellKind::Guard),
            's' => crate::framebuffer::write_cell(CellKind::Swapped),
            other => crate::framebuffer::write_str(other.encode_utf8(&mut buf)),
        }
    }
}

/// Clears both consoles (ANSI "clear screen, cursor home" on serial).
pub fn clear() {
    crate::arch::uart::write_str("\x1b[2J\x1b[H");
    crate::framebuffer::clear();
}

struct Both;
impl Write for Both {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_str(s);
        Ok(())
    }
}

#[doc(hidden)]
pub fn _print(args: fmt::Arguments) {
    let _ = Both.write_fmt(args);
}

/// Prints to serial and the framebuffer.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => ($crate::console::_print(format_args!($($arg)*)));
}

/// Prints to serial and the framebuffer, with a newline.
#[macro_export]
macro_rules! kprintln {
    () => ($crate::kprint!("\n"));
    ($($arg:tt)*) => ($crate::console::_print(format_args!("{}\n", format_args!($($arg)*))));
}

struct Logger;

impl log::Log for Logger {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            _print(format_args!("[{}] {}\n", record.level(), record.args()));
        }
    }
    fn flush(&self) {}
}

static LOGGER: Logger = Logger;

/// Routes the `log` facade to the console (level Info and up).
pub fn init_log() {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(log::LevelFilter::Info);
}
