//! The console input stream: keyboard and serial bytes, in arrival order, in one queue.
//!
//! Interrupt handlers push into a fixed ring (no allocation, no locks shared with task
//! code); tasks read with [`read_byte`]. Wake-ups are not done from interrupt context:
//! the executor calls [`wake_reader`] between polls.
use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicU8, AtomicUsize, Ordering},
    task::{Context, Poll, Waker},
};
use spin::Mutex;

const RING: usize = 4096;
static BYTES: [AtomicU8; RING] = [const { AtomicU8::new(0) }; RING];
static HEAD: AtomicUsize = AtomicUsize::new(0); // next slot to read
static TAIL: AtomicUsize = AtomicUsize::new(0); // next slot to write
static READER: Mutex<Option<Waker>> = Mutex::new(None);

/// Whether the ring has room for another byte.
pub fn has_room() -> bool {
    TAIL.load(Ordering::Relaxed)
        .wrapping_sub(HEAD.load(Ordering::Acquire))
        < RING
}

/// Appends a byte (interrupt context). Drops it if the ring is full — serial input
/// is not read then (see [`has_room`]), so only keystrokes can be lost.
pub fn push(byte: u8) {
    if !has_room() {
        return;
    }
    let tail = TAIL.load(Ordering::Relaxed);
    BYTES[tail % RING].store(byte, Ordering::Relaxed);
    TAIL.store(tail.wrapping_add(1), Ordering::Release);
}

fn pop() -> Option<u8> {
    let head = HEAD.load(Ordering::Relaxed);
    if head == TAIL.load(Ordering::Acquire) {
        return None;
    }
    let byte = BYTES[head % RING].load(Ordering::Relaxed);
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
    ReadByte
}

pub struct ReadByte;

impl Future for ReadByte {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if let Some(byte) = pop() {
            return Poll::Ready(byte);
        }
        // Serial bytes left in the UART while the ring was full raise no new
        // interrupt: collect them now.
        x86_64::instructions::interrupts::without_interrupts(crate::serial::drain_received);
        if let Some(byte) = pop() {
            return Poll::Ready(byte);
        }
        *READER.lock() = Some(cx.waker().clone());
        match pop() {
            Some(byte) => Poll::Ready(byte),
            None => Poll::Pending,
        }
    }
}
