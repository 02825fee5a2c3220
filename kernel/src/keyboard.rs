//! PS/2 keyboard decoding: turns scancode-set-1 bytes from port 0x60 into the ASCII
//! bytes of the input stream, with `pc-keyboard`'s US 104-key layout.
//!
//! Owns: the decoder state (shift and caps-lock state, half-received multi-byte
//! scancodes) in a `spin::Mutex`. Ctrl+letter is mapped to its control code, of
//! which only Ctrl+C (0x03, the interrupt byte) is kept.
//!
//! Does not: read the port, acknowledge the interrupt or queue the bytes (the IRQ 1
//! handler does that), set the keyboard LEDs, or produce anything but printable ASCII,
//! `\n`, `\t`, backspace `0x08` and Ctrl-C `0x03`: arrows, Escape, Delete, F-keys and
//! other control codes are dropped.

use pc_keyboard::{DecodedKey, HandleControl, Keyboard, ScancodeSet1, layouts::Us104Key};
use spin::Mutex;
use x86_64::instructions::interrupts;

static DECODER: Mutex<Keyboard<Us104Key, ScancodeSet1>> = Mutex::new(Keyboard::new(
    ScancodeSet1::new(),
    Us104Key,
    HandleControl::MapLettersToUnicode,
));

/// Feeds one byte read from port 0x60. Returns the byte to append to the input stream
/// once a key press completes, or None (key release, prefix byte, modifier, a key with
/// no ASCII meaning, or a byte the decoder rejects).
///
/// Meant for the IRQ 1 handler; takes the lock with interrupts disabled, so a call from
/// elsewhere cannot deadlock against the handler.
#[must_use]
pub fn on_scancode(code: u8) -> Option<u8> {
    interrupts::without_interrupts(|| {
        let mut decoder = DECODER.lock();
        let event = decoder.add_byte(code).ok().flatten()?;
        match decoder.process_keyevent(event)? {
            DecodedKey::Unicode(ch) => input_byte(ch),
            DecodedKey::RawKey(_) => None,
        }
    })
}

/// The input-stream byte for a decoded character, if it is one the shell accepts.
fn input_byte(ch: char) -> Option<u8> {
    match ch {
        ' '..='~' | '\n' | '\t' | '\x08' | '\x03' => Some(ch as u8),
        _ => None,
    }
}
