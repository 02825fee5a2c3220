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

const RING: usize = 256;
static BYTES: [AtomicU8; RING] = [const { AtomicU8::new(0) }; RING];
static HEAD: AtomicUsize = AtomicUsize::new(0); // next slot to read
static TAIL: AtomicUsize = AtomicUsize::new(0); // next slot to write
static READER: Mutex<Option<Waker>> = Mutex::new(None);

/// Appends a byte (interrupt context). Drops it if the ring is full.
pub fn push(byte: u8) {
    let tail = TAIL.load(Ordering::Relaxed);
    if tail.wrapping_sub(HEAD.load(Ordering::Acquire)) >= RING {
        return;
    }
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
        *READER.lock() = Some(cx.waker().clone());
        match pop() {
            Some(byte) => Poll::Ready(byte),
            None => Poll::Pending,
        }
    }
}
