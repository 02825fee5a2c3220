//! The virtio-blk disk as a [`BlockDevice`], and the asynchronous read tasks use to
//! wait for the device without holding the CPU.
//!
//! Two ways to wait, both woken by the device's interrupt:
//! - [`read_async`] / [`write_async`]: a future; the task yields while the request
//!   is in flight and the executor runs others.
//! - the [`BlockDevice`] methods: the file system crate is synchronous and runs
//!   inside a task's poll, so its requests halt the CPU until the completion
//!   interrupt (`arch::virtio_blk::wait`), no other task running meanwhile. A page
//!   fault that needs the disk waits the same way, polling with interrupts off.
//!   The cost of one such read is what `bench`'s `disk_read_4k` and ktest's
//!   `virtio_sector_read_ticks` measure.
use super::{BlockDevice, IoError, SECTOR, check};
use crate::arch::{pic, virtio_blk};
use alloc::{format, string::String};
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

pub use virtio_blk::{MAX_BYTES, Unit};

/// A virtio disk: the data disk or the swap area.
pub struct VirtioDisk {
    info: virtio_blk::Info,
    unit: Unit,
}

impl VirtioDisk {
    /// The disk `unit` that [`virtio_blk::probe`] set up, its interrupt line open.
    pub fn new(unit: Unit, info: virtio_blk::Info) -> Self {
        pic::open_pci_line(info.irq);
        Self { info, unit }
    }

    /// Runs one request per frame's worth of `len` bytes, retrying while every
    /// slot is taken by tasks' asynchronous requests.
    fn chunks(
        first: u64,
        len: usize,
        mut one: impl FnMut(u64, core::ops::Range<usize>) -> Result<(), IoError>,
    ) -> Result<(), IoError> {
        let mut done = 0;
        while done < len {
            let n = MAX_BYTES.min(len - done);
            match one(first + (done / SECTOR) as u64, done..done + n) {
                Err(IoError::Busy) => x86_64::instructions::interrupts::enable_and_hlt(),
                Err(e) => return Err(e),
                Ok(()) => done += n,
            }
        }
        Ok(())
    }
}

impl BlockDevice for VirtioDisk {
    fn describe(&self) -> String {
        format!("virtio-blk {}", self.info.at)
    }
    fn sectors(&self) -> u64 {
        self.info.sectors
    }
    fn read(&mut self, first: u64, buf: &mut [u8]) -> Result<(), IoError> {
        check(self.sectors(), first, buf.len())?;
        let unit = self.unit;
        Self::chunks(first, buf.len(), |sector, range| {
            let ticket = virtio_blk::start_read(unit, sector, range.len())?;
            virtio_blk::wait(ticket, &mut buf[range])
        })
    }
    fn write(&mut self, first: u64, buf: &[u8]) -> Result<(), IoError> {
        check(self.sectors(), first, buf.len())?;
        let unit = self.unit;
        Self::chunks(first, buf.len(), |sector, range| {
            let ticket = virtio_blk::start_write(unit, sector, &buf[range])?;
            virtio_blk::wait(ticket, &mut [])
        })
    }
    fn flush(&mut self) -> Result<(), IoError> {
        virtio_blk::flush(self.unit)
    }
    fn asynchronous(&self) -> bool {
        true
    }
}

/// Reads `buf.len()` bytes (whole sectors, at most [`MAX_BYTES`]) at sector
/// `first` of `unit`, yielding to other tasks until the device is done.
pub fn read_async(
    unit: Unit,
    first: u64,
    buf: &mut [u8],
) -> impl Future<Output = Result<(), IoError>> + '_ {
    Request {
        unit,
        start: Some(Start::Read(first)),
        ticket: None,
        buf: Buf::In(buf),
    }
}

/// Writes `buf` (whole sectors, at most [`MAX_BYTES`]) at sector `first` of
/// `unit`, yielding until the device is done.
pub fn write_async(
    unit: Unit,
    first: u64,
    buf: &[u8],
) -> impl Future<Output = Result<(), IoError>> + '_ {
    Request {
        unit,
        start: Some(Start::Write(first)),
        ticket: None,
        buf: Buf::Out(buf),
    }
}

enum Start {
    Read(u64),
    Write(u64),
}

enum Buf<'a> {
    In(&'a mut [u8]),
    Out(&'a [u8]),
}

struct Request<'a> {
    unit: Unit,
    start: Option<Start>,
    ticket: Option<virtio_blk::Ticket>,
    buf: Buf<'a>,
}

impl Future for Request<'_> {
    type Output = Result<(), IoError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(start) = this.start.take() {
            let submitted = match (&start, &this.buf) {
                (Start::Read(first), Buf::In(buf)) => {
                    virtio_blk::start_read(this.unit, *first, buf.len())
                }
                (Start::Write(first), Buf::Out(buf)) => {
                    virtio_blk::start_write(this.unit, *first, buf)
                }
                _ => unreachable!("reads fill, writes send"),
            };
            match submitted {
                Ok(ticket) => {
                    // Let the other tasks run once even if the device is quick
                    // (QEMU may finish a request before the notify returns).
                    this.ticket = Some(ticket);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Err(IoError::Busy) => {
                    // Every slot is in flight: try again on the next round.
                    this.start = Some(start);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let ticket = this.ticket.take().expect("polled after completion");
        let out: &mut [u8] = match &mut this.buf {
            Buf::In(buf) => buf,
            Buf::Out(_) => &mut [],
        };
        match virtio_blk::poll(ticket, out, cx.waker()) {
            Ok(ready) => ready,
            Err(ticket) => {
                this.ticket = Some(ticket);
                Poll::Pending
            }
        }
    }
}
