//! The framebuffer text console: glyphs from `noto-sans-mono-bitmap` drawn into the
//! pixel buffer the bootloader hands over.
//!
//! Owns: the `FrameBuffer` (after [`init`]), the cursor, the text colour, and the
//! drawing of characters and coloured cells. It understands `\n`, `\r`, `\t` (stops every
//! 8 columns) and backspace `\x08` (steps back one cell and erases it, never past the
//! start of the line); long lines wrap and the screen scrolls one text line at a time by
//! moving bytes with `copy_within`. A character the font lacks is drawn as `�`.
//!
//! Pixel formats: `Rgb`, `Bgr`, `U8` (grey) and `Unknown { .. }` bit positions, with 1 to
//! 4 bytes per pixel; `stride` is counted in pixels.
//!
//! Locking and panics: all state sits in one `spin::Mutex`, and every function here takes
//! it with interrupts disabled, so an interrupt handler that prints can never spin on a
//! lock held by the code it interrupted (lazuli runs on one CPU). The price: interrupts
//! wait for one call, at most a scroll (about a millisecond under QEMU TCG) per line.
//! The panic handler calls [`write_panic`], which uses `try_lock` and never waits. The
//! lock can only be busy then if the panic struck while it was held, i.e. inside this
//! module or inside a `Display` impl being formatted into it; the console's state
//! is then suspect, so the message goes to serial only. No `force_unlock`, no `unsafe`.
//!
//! Does not (yet): keep a text buffer (no redraw, no scrollback), read input, draw a
//! cursor, interpret escape sequences, or use a back buffer in RAM.

use bootloader_api::info::{FrameBuffer, FrameBufferInfo, PixelFormat};
use core::fmt::{self, Write};
use noto_sans_mono_bitmap::{FontWeight, RasterHeight, RasterizedChar};
use spin::Mutex;
use x86_64::instructions::interrupts;

const WEIGHT: FontWeight = FontWeight::Regular;
const HEIGHT: RasterHeight = RasterHeight::Size16;
/// Width of one character cell in pixels (the font is monospaced).
const CELL_W: usize = noto_sans_mono_bitmap::get_raster_width(WEIGHT, HEIGHT);
/// Height of one character cell: the glyph raster plus two pixels between lines.
const CELL_H: usize = HEIGHT.val() + 2;
/// Blank border around the text area, in pixels.
const MARGIN: usize = 8;
/// Tab stops every this many columns.
const TAB: usize = 8;

type Rgb = (u8, u8, u8);

/// Deep lapis blue.
const BACKGROUND: Rgb = (0x0c, 0x16, 0x33);
const FOREGROUND: Rgb = (0xdc, 0xe2, 0xee);
/// Colour of text written by [`write_panic`].
const PANIC_FG: Rgb = (0xff, 0x6b, 0x6b);

/// What one cell of an address-space picture shows (see [`write_cell`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// A mapped, present page: a solid teal square.
    Present,
    /// Reserved but not present: a grey outline.
    Reserved,
    /// A guard page: a solid red square.
    Guard,
    /// Pages in the swap area: an amber square.
    Swapped,
}

static CONSOLE: Mutex<Option<Console>> = Mutex::new(None);

/// Takes the bootloader's framebuffer, clears it to the background colour and puts the
/// cursor top-left. Calling it again replaces the previous framebuffer.
pub fn init(fb: &'static mut FrameBuffer) {
    let info = fb.info();
    let console = Console::new(fb.buffer_mut(), info);
    with_console(|slot| {
        *slot = Some(console);
        if let Some(c) = slot.as_mut() {
            c.clear();
        }
    });
}

/// Draws `s` at the cursor. Does nothing before [`init`].
pub fn write_str(s: &str) {
    with_console(|slot| {
        if let Some(c) = slot.as_mut() {
            c.write(s);
        }
    });
}

/// Writes a panic message in red if the console is free. Never waits: returns false (and
/// draws nothing) when not initialised or when the console lock is held, i.e. the panic
/// struck inside a console call. Meant for the panic handler, after it wrote to serial.
pub fn write_panic(args: fmt::Arguments) -> bool {
    interrupts::without_interrupts(|| {
        let Some(mut slot) = CONSOLE.try_lock() else {
            return false;
        };
        let Some(c) = slot.as_mut() else {
            return false;
        };
        let fg = c.fg;
        c.fg = PANIC_FG;
        let _ = c.write_fmt(args);
        c.fg = fg;
        true
    })
}

/// Clears the screen to the background colour and puts the cursor top-left.
pub fn clear() {
    with_console(|slot| {
        if let Some(c) = slot.as_mut() {
            c.clear();
        }
    });
}

/// Draws one character-cell-sized square for `kind` (with a one-pixel gap around it) at
/// the cursor and advances the cursor like a character, wrapping and scrolling.
pub fn write_cell(kind: CellKind) {
    with_console(|slot| {
        if let Some(c) = slot.as_mut() {
            c.put_cell(kind);
        }
    });
}

/// Runs `f` on the console slot with the lock held and interrupts disabled.
fn with_console<R>(f: impl FnOnce(&mut Option<Console>) -> R) -> R {
    interrupts::without_interrupts(|| f(&mut CONSOLE.lock()))
}

struct Console {
    buf: &'static mut [u8],
    /// Bytes per pixel, 1 to 4 (anything else leaves the console without cells).
    bpp: usize,
    /// Bytes from one pixel row to the next.
    pitch: usize,
    /// Visible pixel rows that fit in `buf`.
    height: usize,
    width: usize,
    format: PixelFormat,
    cols: usize,
    rows: usize,
    /// Cursor in cells. `col == cols` means "wrap before the next character", so a line
    /// exactly `cols` long followed by `\n` does not leave an empty line.
    col: usize,
    row: usize,
    fg: Rgb,
}

impl Console {
    /// Describes `buf` with `info`, trusting only what fits in the slice.
    fn new(buf: &'static mut [u8], info: FrameBufferInfo) -> Console {
        let bpp = info.bytes_per_pixel;
        let pitch = info.stride.max(info.width) * bpp;
        // A pixel size we cannot draw leaves the console without cells: a no-op.
        let usable = (1..=4).contains(&bpp) && pitch > 0;
        let height = if usable {
            info.height.min(buf.len() / pitch)
        } else {
            0
        };
        let width = if usable { info.width } else { 0 };
        Console {
            buf,
            bpp,
            pitch,
            height,
            width,
            format: info.pixel_format,
            cols: width.saturating_sub(2 * MARGIN) / CELL_W,
            rows: height.saturating_sub(2 * MARGIN) / CELL_H,
            col: 0,
            row: 0,
            fg: FOREGROUND,
        }
    }

    fn clear(&mut self) {
        self.fill(0, 0, self.width, self.height, BACKGROUND);
        self.col = 0;
        self.row = 0;
    }

    fn write(&mut self, s: &str) {
        for ch in s.chars() {
            self.put_char(ch);
        }
    }

    fn put_char(&mut self, ch: char) {
        match ch {
            '\n' => self.new_line(),
            '\r' => self.col = 0,
            '\t' => {
                self.put_glyph(' ');
                while !self.col.is_multiple_of(TAB) && self.col < self.cols {
                    self.put_glyph(' ');
                }
            }
            '\x08' => {
                if self.col > 0 {
                    self.col -= 1;
                    let (x, y) = self.cell_origin();
                    self.fill(x, y, CELL_W, CELL_H, BACKGROUND);
                }
            }
            _ => self.put_glyph(ch),
        }
    }

    /// Draws `ch` (or the placeholder) in the cursor cell and advances the cursor.
    fn put_glyph(&mut self, ch: char) {
        if !self.advance_to_free_cell() {
            return;
        }
        let glyph = raster(ch);
        let (x0, y0) = self.cell_origin();
        let (bpp, format, fg) = (self.bpp, self.format, self.fg);
        let (bg_px, fg_px) = (encode(format, BACKGROUND), encode(format, fg));
        for (dy, line) in glyph.raster().iter().enumerate() {
            let start = (y0 + dy) * self.pitch + x0 * bpp;
            let row = &mut self.buf[start..start + line.len() * bpp];
            for (px, &alpha) in row.chunks_exact_mut(bpp).zip(*line) {
                let colour = match alpha {
                    0 => bg_px,
                    255 => fg_px,
                    _ => encode(format, blend(BACKGROUND, fg, alpha)),
                };
                px.copy_from_slice(&colour[..bpp]);
            }
        }
        self.col += 1;
    }

    /// Draws a cell picture for `kind` in the cursor cell and advances the cursor.
    fn put_cell(&mut self, kind: CellKind) {
        if !self.advance_to_free_cell() {
            return;
        }
        let (x, y) = self.cell_origin();
        self.fill(x, y, CELL_W, CELL_H, BACKGROUND);
        // A square as wide as the cell, centred vertically, inside a one-pixel gap.
        let side = CELL_W - 2;
        let (sx, sy) = (x + 1, y + (CELL_H - side) / 2);
        match kind {
            CellKind::Present => self.fill(sx, sy, side, side, (0x2e, 0xc4, 0xa6)),
            CellKind::Guard => self.fill(sx, sy, side, side, (0xe0, 0x4f, 0x4f)),
            CellKind::Swapped => self.fill(sx, sy, side, side, (0xe8, 0xa8, 0x38)),
            CellKind::Reserved => {
                let grey = (0x6a, 0x75, 0x8a);
                self.fill(sx, sy, side, 1, grey);
                self.fill(sx, sy + side - 1, side, 1, grey);
                self.fill(sx, sy, 1, side, grey);
                self.fill(sx + side - 1, sy, 1, side, grey);
            }
        }
        self.col += 1;
    }

    /// Wraps a full line before drawing; false if the screen has no cells at all.
    fn advance_to_free_cell(&mut self) -> bool {
        if self.cols == 0 || self.rows == 0 {
            return false;
        }
        if self.col >= self.cols {
            self.new_line();
        }
        true
    }

    fn new_line(&mut self) {
        self.col = 0;
        if self.row + 1 < self.rows {
            self.row += 1;
        } else {
            self.scroll();
        }
    }

    /// Moves every text line up by one with a single `copy_within` and clears the last.
    fn scroll(&mut self) {
        if self.rows == 0 {
            return;
        }
        let line = CELL_H * self.pitch;
        let top = MARGIN * self.pitch;
        let end = top + self.rows * line;
        self.buf.copy_within(top + line..end, top);
        let last = MARGIN + (self.rows - 1) * CELL_H;
        self.fill(0, last, self.width, CELL_H, BACKGROUND);
        self.row = self.rows - 1;
    }

    /// Top-left pixel of the cursor cell.
    fn cell_origin(&self) -> (usize, usize) {
        (MARGIN + self.col * CELL_W, MARGIN + self.row * CELL_H)
    }

    /// Paints a rectangle: its first pixel row pixel by pixel, the others by copying it.
    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize, colour: Rgb) {
        let w = w.min(self.width.saturating_sub(x));
        let h = h.min(self.height.saturating_sub(y));
        if w == 0 || h == 0 {
            return;
        }
        let px = encode(self.format, colour);
        let start = y * self.pitch + x * self.bpp;
        let len = w * self.bpp;
        for chunk in self.buf[start..start + len].chunks_exact_mut(self.bpp) {
            chunk.copy_from_slice(&px[..self.bpp]);
        }
        for row in 1..h {
            let at = start + row * self.pitch;
            self.buf.copy_within(start..start + len, at);
        }
    }
}

impl Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write(s);
        Ok(())
    }
}

/// The glyph for `ch`, or the replacement character if the font lacks it.
fn raster(ch: char) -> RasterizedChar {
    noto_sans_mono_bitmap::get_raster(ch, WEIGHT, HEIGHT)
        .or_else(|| noto_sans_mono_bitmap::get_raster('\u{fffd}', WEIGHT, HEIGHT))
        .expect("the font has U+FFFD (feature unicode-specials)")
}

/// The bytes of one pixel of `colour` in `format` (the first bytes-per-pixel are used).
fn encode(format: PixelFormat, (r, g, b): Rgb) -> [u8; 4] {
    let (rp, gp, bp) = match format {
        PixelFormat::Rgb => (0, 8, 16),
        PixelFormat::Bgr => (16, 8, 0),
        PixelFormat::Unknown {
            red_position,
            green_position,
            blue_position,
        } => (red_position, green_position, blue_position),
        // U8 and any format added later: one grey level in every byte.
        _ => {
            let grey = (77 * u32::from(r) + 150 * u32::from(g) + 29 * u32::from(b)) >> 8;
            return [grey as u8; 4];
        }
    };
    let at = |v: u8, pos: u8| u32::from(v).checked_shl(u32::from(pos)).unwrap_or(0);
    (at(r, rp) | at(g, gp) | at(b, bp)).to_le_bytes()
}

/// Mixes `bg` towards `fg` by `alpha` (0 = all background, 255 = all foreground).
fn blend(bg: Rgb, fg: Rgb, alpha: u8) -> Rgb {
    let a = u32::from(alpha);
    let mix = |b: u8, f: u8| ((u32::from(b) * (255 - a) + u32::from(f) * a) / 255) as u8;
    (mix(bg.0, fg.0), mix(bg.1, fg.1), mix(bg.2, fg.2))
}
