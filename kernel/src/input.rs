//! The console input stream: keyboard and serial bytes, in arrival order, in one queue.
//!
//! Interrupt handlers push into a fixed ring (no allocation, no locks shared with task
//! code); tasks read with [`read_byte`]. Wake-ups are not done from interrupt context:
//! the executor calls [`wake_reader`] between polls.
//!
//! Ctrl-C is the byte [`INTERRUPT`] (0x03), kept in the ring in order like any other.
//! While a foreground command runs ([`set_interruptible`]) no reader is given it: the
//! executor takes it out with [`take_interrupt`] and ends the command, leaving the
//! bytes around it for the next reader (type-ahead). With no foreground command the
//! shell reads it as a byte and drops the line being typed.
use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering},
    task::{Context, Poll, Waker},
};
use spin::Mutex;

/// Bytes the input ring holds.
pub const RING: usize = 4096;
static BYTES: [AtomicU8; RING] = [const { AtomicU8::new(0) }; RING];
static HEAD: AtomicUsize = AtomicUsize::new(0); // next slot to read
static TAIL: AtomicUsize = AtomicUsize::new(0); // next slot to write
static READER: Mutex<Option<Waker>> = Mutex::new(None);

/// Ctrl-C.
pub const INTERRUPT: u8 = 0x03;
/// How many [`INTERRUPT`] bytes the ring holds.
static INTERRUPTS: AtomicUsize = AtomicUsize::new(0);
/// Whether a foreground command runs (so an interrupt byte is not for readers).
static INTERRUPTIBLE: AtomicBool = AtomicBool::new(false);

/// Says whether a foreground command runs, for which Ctrl-C is meant.
pub fn set_interruptible(on: bool) {
    INTERRUPTIBLE.store(on, Ordering::Relaxed);
}

/// Whether a Ctrl-C byte waits in the ring.
pub fn interrupt_pending() -> bool {
    INTERRUPTS.load(Ordering::Acquire) > 0
}

/// Removes the oldest Ctrl-C byte from the ring, keeping every other byte in its
/// order; false if there is none. Task or executor context (it is the reader).
pub fn take_interrupt() -> bool {
    x86_64::instructions::interrupts::without_interrupts(|| {
        // The producer (an interrupt handler) cannot run now: the ring is ours.
        let head = HEAD.load(Ordering::Relaxed);
        let tail = TAIL.load(Ordering::Acquire);
        let mut at = head;
        while at != tail && BYTES[at % RING].load(Ordering::Relaxed) != INTERRUPT {
            at = at.wrapping_add(1);
        }
        if at == tail {
            return false;
        }
        // Shift the bytes before it up by one, over it, and drop the first slot.
        while at != head {
            let before = at.wrapping_sub(1);
            let byte = BYTES[before % RING].load(Ordering::Relaxed);
            BYTES[at % RING].store(byte, Ordering::Relaxed);
            at = before;
        }
        HEAD.store(head.wrapping_add(1), Ordering::Release);
        INTERRUPTS.fetch_sub(1, Ordering::AcqRel);
        true
    })
}

/// Bytes the ring holds now.
fn queued() -> usize {
    TAIL.load(Ordering::Relaxed)
        .wrapping_sub(HEAD.load(Ordering::Acquire))
}

/// Whether the ring has room for another ordinary byte. The last slot is kept for
/// Ctrl-C, so a ring full of unread type-ahead still takes a keyboard Ctrl-C.
pub fn has_room() -> bool {
    queued() < RING - 1
}

/// Appends a byte (interrupt context). Drops it if the ring is full — serial input
/// is not read then (see [`has_room`]), so only keystrokes can be lost; Ctrl-C has
/// the last slot to itself.
pub fn push(byte: u8) {
    let fits = if byte == INTERRUPT {
        queued() < RING
    } else {
        has_room()
    };
    if !fits {
        return;
    }
    let tail = TAIL.load(Ordering::Relaxed);
    BYTES[tail % RING].store(byte, Ordering::Relaxed);
    if byte == INTERRUPT {
        INTERRUPTS.fetch_add(1, Ordering::AcqRel);
    }
    TAIL.store(tail.wrapping_add(1), Ordering::Release);
}

/// The next byte for a reader: none while it is a Ctrl-C meant for the executor.
fn pop() -> Option<u8> {
    let head = HEAD.load(Ordering::Relaxed);
    if head == TAIL.load(Ordering::Acquire) {
        return None;
    }
    let byte = BYTES[head % RING].load(Ordering::Relaxed);
    if byte == INTERRUPT {
        if INTERRUPTIBLE.load(Ordering::Relaxed) {
            return None;
        }
        INTERRUPTS.fetch_sub(1, Ordering::AcqRel);
    }
    HEAD.store(head.wrapping_add(1), Ordering::Release);
    Some(byte)
}

/// Whether bytes are waiting.
pub fn pending() -> bool {
    HEAD.load(Ordering::Acquire) != TAIL.load(Ordering::Acquire)
}

/// Wakes the task waiting for input, if bytes arrived. Executor context only.
pub fn wake_reader() {
    if pending()
        && let Some(waker) = READER.lock().take()
    {
        waker.wake();
    }
}

/// The next input byte.
pub fn read_byte() -> ReadByte {
    ReadByte { waiting: false }
}

pub struct ReadByte {
    /// Whether this reader's waker sits in `READER`.
    waiting: bool,
}

impl Drop for ReadByte {
    /// A reader that goes away (its task ended or was killed) takes its waker along.
    fn drop(&mut self) {
        if self.waiting {
            READER.lock().take();
        }
    }
}

impl Future for ReadByte {
    type Output = u8;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if let Some(byte) = pop() {
            return Poll::Ready(byte);
        }
        // Serial bytes left in the UART while the ring was full raise no new
        // interrupt: collect them now.
        x86_64::instructions::interrupts::without_interrupts(crate::arch::uart::drain_received);
        if let Some(byte) = pop() {
            return Poll::Ready(byte);
        }
        *READER.lock() = Some(cx.waker().clone());
        self.waiting = true;
        match pop() {
            Some(byte) => Poll::Ready(byte),
            None => Poll::Pending,
        }
    }
}
