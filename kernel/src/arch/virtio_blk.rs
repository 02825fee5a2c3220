//! The virtio-blk disks: found on PCI, driven by virtio-drivers' `VirtIOBlk`, with
//! lazuli's frames and page tables as its HAL and completions by interrupt.
//!
//! The HAL (frames, addresses, PCI configuration access) is `virtio_hal`.
//!
//! Two [`Unit`]s: the data disk (the file system) and the swap area, told apart
//! by the device's serial number — the runner names the swap disk
//! [`SWAP_SERIAL`]; any other virtio-blk device (the first one found) is the data
//! disk. Each has its own queue, slots and buffers.
//!
//! Requests go through four *slots*. A slot owns the consecutive frames its data
//! moves through (at most [`MAX_BYTES`] per request) and its request header and status byte, so a
//! request in flight never points into memory its submitter may free: a task killed
//! while its read is in flight abandons the slot, and the slot is given back when
//! the device finishes. Each slot uses three of the queue's sixteen descriptors.
//!
//! Completion: the device raises its INTx line (level-triggered, shared, routed by
//! the firmware to the line in configuration register 0x3C); [`on_interrupt`]
//! acknowledges it, reaps every finished request and wakes the waiting tasks. A
//! waiter that cannot yield ([`wait`]: the file system runs inside a poll) halts
//! until the next interrupt, or, with interrupts off (a fault handler), polls the
//! used ring. The device is locked only with interrupts off, so the interrupt
//! handler always finds it free.
use super::virtio_hal::{FrameHal, PortAccess};
use crate::{
    arch::pci,
    block::IoError,
    mem::{dma, frame},
};
use core::{
    ptr::NonNull,
    task::{Poll, Waker},
};
use spin::Mutex;
use virtio_drivers::{
    device::blk::{BlkReq, BlkResp, RespStatus, VirtIOBlk},
    transport::pci::{
        PciTransport,
        bus::{DeviceFunction, PciRoot},
    },
};
use x86_64::{instructions::interrupts, structures::paging::PhysFrame};

/// Bytes one request moves at most: a slot's buffer, 16 consecutive frames.
pub const MAX_BYTES: usize = 64 * 1024;
const SLOT_FRAMES: usize = MAX_BYTES / 4096;
const SLOTS: usize = 4;
const VIRTIO_VENDOR: u16 = 0x1af4;
/// Transitional and modern virtio-blk PCI device ids.
const BLK_DEVICES: [u16; 2] = [0x1001, 0x1042];

/// The serial number (virtio-blk's device id) of the swap disk.
pub const SWAP_SERIAL: &[u8] = b"lazuli-swap";

/// Which disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// The disk the file system lives on.
    Data,
    /// The swap area.
    Swap,
}

impl Unit {
    fn index(self) -> usize {
        match self {
            Unit::Data => 0,
            Unit::Swap => 1,
        }
    }
}

/// What the probe found.
#[derive(Clone, Copy, Debug)]
pub struct Info {
    pub at: pci::Location,
    pub sectors: u64,
    /// The PIC line the device interrupts on.
    pub irq: u8,
}

/// A request in flight. Redeem it with [`poll`] or [`wait`]; dropping it abandons
/// the request (the slot comes back when the device is done with it).
#[derive(Debug)]
pub struct Ticket {
    unit: Unit,
    slot: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Free,
    InFlight,
    Done,
    /// In flight, but nobody waits for it any more.
    Abandoned,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Direction {
    Read,
    Write,
}

struct Slot {
    state: State,
    direction: Direction,
    token: u16,
    len: usize,
    data: PhysFrame,
    status: Result<(), IoError>,
    waker: Option<Waker>,
}

/// The request header and status byte of one slot, where the device reads them.
#[repr(C)]
struct Header {
    req: BlkReq,
    resp: BlkResp,
}

struct Disk {
    blk: VirtIOBlk<FrameHal, PciTransport>,
    headers: NonNull<[Header; SLOTS]>,
    slots: [Slot; SLOTS],
}

// SAFETY: lazuli runs on one CPU; a disk is only reached through `DISKS`' lock.
unsafe impl Send for Disk {}

static DISKS: Mutex<[Option<Disk>; 2]> = Mutex::new([None, None]);

/// Runs `f` on the disk `unit` with interrupts off (so the interrupt handler
/// never finds the lock taken). None if there is no such disk.
fn with_disk<R>(unit: Unit, f: impl FnOnce(&mut Disk) -> R) -> Option<R> {
    interrupts::without_interrupts(|| DISKS.lock()[unit.index()].as_mut().map(f))
}

/// What [`probe`] found: the data disk and the swap disk, each if present.
#[derive(Clone, Copy, Debug, Default)]
pub struct Found {
    pub data: Option<Info>,
    pub swap: Option<Info>,
}

/// Finds the virtio-blk devices and sets up the data disk (the first that is not
/// the swap disk) and the swap disk (serial [`SWAP_SERIAL`]). Boot time, once.
pub fn probe() -> Found {
    let mut found = Found::default();
    let functions = pci::scan()
        .into_iter()
        .filter(|f| f.vendor == VIRTIO_VENDOR && BLK_DEVICES.contains(&f.device));
    for function in functions {
        let Some((mut disk, info)) = set_up(function.at) else {
            continue;
        };
        let mut serial = [0u8; 20];
        let len = disk.blk.device_id(&mut serial).unwrap_or(0);
        let unit = if &serial[..len] == SWAP_SERIAL {
            Unit::Swap
        } else {
            Unit::Data
        };
        let slot = match unit {
            Unit::Data => &mut found.data,
            Unit::Swap => &mut found.swap,
        };
        if slot.is_none() {
            *slot = Some(info);
            DISKS.lock()[unit.index()] = Some(disk);
        }
        // A second device of the same kind is left alone (its frames stay used).
    }
    found
}

/// Sets up the virtio-blk device at `at`: its queue, slots and interrupts.
fn set_up(at: pci::Location) -> Option<(Disk, Info)> {
    // Memory space on, bus mastering on (the firmware may leave it off), INTx on.
    let command = pci::read(at, 0x04);
    pci::write(at, 0x04, (command | 0b110) & !(1 << 10));
    let irq = pci::read(at, 0x3c) as u8;
    let mut root = PciRoot::new(PortAccess);
    let df = DeviceFunction {
        bus: at.bus,
        device: at.device,
        function: at.function,
    };
    let transport = PciTransport::new::<FrameHal, _>(&mut root, df).ok()?;
    let mut blk = VirtIOBlk::<FrameHal, _>::new(transport).ok()?;
    blk.enable_interrupts();
    let sectors = blk.capacity();
    let headers_frame = frame::counted(frame::allocate_zeroed(frame::FrameUse::Kernel)?);
    let headers = NonNull::new(dma::frame_ptr(headers_frame).cast::<[Header; SLOTS]>())?;
    let slot = || -> Option<Slot> {
        Some(Slot {
            state: State::Free,
            direction: Direction::Read,
            token: 0,
            len: 0,
            data: frame::allocate_contiguous(SLOT_FRAMES)?,
            status: Ok(()),
            waker: None,
        })
    };
    let slots = [slot()?, slot()?, slot()?, slot()?];
    let disk = Disk {
        blk,
        headers,
        slots,
    };
    Some((disk, Info { at, sectors, irq }))
}

impl Disk {
    /// The slot's header and data buffer (its frames are consecutive and mapped
    /// consecutively by the physical-memory map), as the driver wants them.
    fn parts(&mut self, slot: usize) -> (&mut Header, &mut [u8]) {
        let len = self.slots[slot].len;
        // SAFETY: the headers frame and each slot's data frame belong to the disk
        // alone; `&mut self` makes these the only references to them.
        unsafe {
            let header = &mut self.headers.as_mut()[slot];
            let data = core::slice::from_raw_parts_mut(dma::frame_ptr(self.slots[slot].data), len);
            (header, data)
        }
    }

    /// Starts a request of `len` bytes at `sector` in a free slot; a write's
    /// bytes (`out`) are copied into the slot first.
    fn submit(
        &mut self,
        unit: Unit,
        direction: Direction,
        sector: u64,
        len: usize,
        out: &[u8],
    ) -> Result<Ticket, IoError> {
        let slot = self
            .slots
            .iter()
            .position(|s| s.state == State::Free)
            .ok_or(IoError::Busy)?;
        self.slots[slot].len = len;
        self.slots[slot].direction = direction;
        let disk: *mut Disk = self;
        let (header, data) = self.parts(slot);
        if direction == Direction::Write {
            data.copy_from_slice(out);
        }
        // SAFETY: `disk` is `self`; `parts` borrowed only the slot's own memory,
        // which the driver does not otherwise reach.
        let blk = unsafe { &mut (*disk).blk };
        // SAFETY: header and data stay untouched by anyone but the device until
        // `reap` completes this token with the same buffers.
        let token = unsafe {
            match direction {
                Direction::Read => {
                    blk.read_blocks_nb(sector as usize, &mut header.req, data, &mut header.resp)
                }
                Direction::Write => {
                    blk.write_blocks_nb(sector as usize, &mut header.req, data, &mut header.resp)
                }
            }
        }
        .map_err(|_| IoError::Device)?;
        let s = &mut self.slots[slot];
        s.token = token;
        s.state = State::InFlight;
        s.waker = None;
        Ok(Ticket { unit, slot })
    }

    /// Completes every request the device has finished (waking their tasks when
    /// `wake`: never from the interrupt handler, see [`on_interrupt`]).
    fn reap(&mut self, wake: bool) {
        while let Some(token) = self.blk.peek_used() {
            let Some(slot) = self.slots.iter().position(|s| {
                s.token == token && matches!(s.state, State::InFlight | State::Abandoned)
            }) else {
                panic!("virtio-blk finished token {token}, which no slot holds");
            };
            let direction = self.slots[slot].direction;
            let disk: *mut Disk = self;
            let (header, data) = self.parts(slot);
            // SAFETY: as in `submit`; these are the buffers submitted with `token`.
            let blk = unsafe { &mut (*disk).blk };
            // SAFETY: the same buffers as at submission, for this very token.
            let done = unsafe {
                match direction {
                    Direction::Read => {
                        blk.complete_read_blocks(token, &header.req, data, &mut header.resp)
                    }
                    Direction::Write => {
                        blk.complete_write_blocks(token, &header.req, data, &mut header.resp)
                    }
                }
            };
            let ok = done.is_ok() && header.resp.status() == RespStatus::OK;
            let s = &mut self.slots[slot];
            s.status = if ok { Ok(()) } else { Err(IoError::Device) };
            s.state = match s.state {
                State::Abandoned => State::Free,
                _ => State::Done,
            };
        }
        if wake {
            self.wake_done();
        }
    }

    /// Wakes the tasks whose requests are done.
    fn wake_done(&mut self) {
        for s in &mut self.slots {
            if s.state == State::Done
                && let Some(waker) = s.waker.take()
            {
                waker.wake();
            }
        }
    }

    /// The result of a finished request (reads copied into `out`), freeing its slot.
    fn redeem(
        &mut self,
        ticket: &Ticket,
        out: &mut [u8],
        waker: Option<&Waker>,
    ) -> Poll<Result<(), IoError>> {
        self.reap(true);
        let slot = ticket.slot;
        if self.slots[slot].state != State::Done {
            if let Some(waker) = waker {
                self.slots[slot].waker = Some(waker.clone());
            }
            return Poll::Pending;
        }
        let status = self.slots[slot].status;
        if self.slots[slot].direction == Direction::Read && status.is_ok() {
            let (_, data) = self.parts(slot);
            out.copy_from_slice(&data[..out.len()]);
        }
        self.slots[slot].state = State::Free;
        Poll::Ready(status)
    }
}

/// Starts reading `len` bytes (a multiple of 512, at most [`MAX_BYTES`]) at
/// `sector` of `unit`.
pub fn start_read(unit: Unit, sector: u64, len: usize) -> Result<Ticket, IoError> {
    with_disk(unit, |d| d.submit(unit, Direction::Read, sector, len, &[]))
        .unwrap_or(Err(IoError::NoDevice))
}

/// Starts writing `data` (a multiple of 512, at most [`MAX_BYTES`]) at `sector`
/// of `unit`.
pub fn start_write(unit: Unit, sector: u64, data: &[u8]) -> Result<Ticket, IoError> {
    with_disk(unit, |d| {
        d.submit(unit, Direction::Write, sector, data.len(), data)
    })
    .unwrap_or(Err(IoError::NoDevice))
}

/// Whether `ticket`'s request is done: its result (a read's bytes copied into
/// `out`), or Pending with `waker` woken when it is.
pub fn poll(
    ticket: Ticket,
    out: &mut [u8],
    waker: &Waker,
) -> Result<Poll<Result<(), IoError>>, Ticket> {
    match with_disk(ticket.unit, |d| d.redeem(&ticket, out, Some(waker))) {
        Some(Poll::Pending) => Err(ticket),
        Some(ready) => {
            core::mem::forget(ticket);
            Ok(ready)
        }
        None => Ok(Poll::Ready(Err(IoError::NoDevice))),
    }
}

/// Waits for `ticket`'s request without yielding: halts until the next interrupt
/// (or, with interrupts off, polls the used ring).
pub fn wait(ticket: Ticket, out: &mut [u8]) -> Result<(), IoError> {
    let enabled = interrupts::are_enabled();
    loop {
        interrupts::disable();
        let ready = DISKS.lock()[ticket.unit.index()]
            .as_mut()
            .map(|d| d.redeem(&ticket, out, None));
        match ready {
            Some(Poll::Pending) if enabled => interrupts::enable_and_hlt(),
            Some(Poll::Pending) => core::hint::spin_loop(),
            done => {
                if enabled {
                    interrupts::enable();
                }
                core::mem::forget(ticket);
                return match done {
                    Some(Poll::Ready(result)) => result,
                    _ => Err(IoError::NoDevice),
                };
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let slot = self.slot;
        with_disk(self.unit, |d| {
            d.reap(true);
            let s = &mut d.slots[slot];
            s.waker = None;
            s.state = match s.state {
                State::Done => State::Free,
                State::InFlight => State::Abandoned,
                other => other,
            };
        });
    }
}

/// Asks the device to make every completed write durable. Waits for requests in
/// flight first (the driver's flush needs the queue to itself).
pub fn flush(unit: Unit) -> Result<(), IoError> {
    loop {
        let idle = with_disk(unit, |d| {
            d.reap(true);
            d.slots.iter().all(|s| s.state == State::Free)
        });
        match idle {
            None => return Err(IoError::NoDevice),
            Some(true) => break,
            Some(false) => interrupts::enable_and_hlt(),
        }
    }
    with_disk(unit, |d| d.blk.flush().map_err(|_| IoError::Device))
        .unwrap_or(Err(IoError::NoDevice))
}

/// Interrupts the disk has raised (for tests: completions come by interrupt).
pub static INTERRUPTS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

/// Set by the interrupt handler when it completed requests whose tasks need waking.
static COMPLETED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The device's interrupt: acknowledge it (the line is level-triggered) and reap.
/// Waking a task takes the executor's ready-queue lock, which the interrupted code
/// may hold: the handler only flags the completions, and the executor wakes the
/// tasks ([`wake_completed`]) between polls.
pub fn on_interrupt() {
    for disk in DISKS.lock().iter_mut().flatten() {
        if disk.blk.ack_interrupt().is_empty() {
            continue; // a shared line: another device's interrupt
        }
        INTERRUPTS.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        disk.reap(false);
        COMPLETED.store(true, core::sync::atomic::Ordering::Release);
    }
}

/// Whether completions wait for [`wake_completed`] (the executor does not halt then).
pub fn completions_pending() -> bool {
    COMPLETED.load(core::sync::atomic::Ordering::Acquire)
}

/// Executor context: wakes the tasks whose requests the interrupt handler completed.
pub fn wake_completed() {
    if COMPLETED.swap(false, core::sync::atomic::Ordering::AcqRel) {
        with_disk(Unit::Data, |d| d.wake_done());
        with_disk(Unit::Swap, |d| d.wake_done());
    }
}
