//! The FAT crate's view of the disk: a byte stream over the block device, starting
//! at the file system's first sector (0 on a whole-disk volume, the first MBR
//! partition's start otherwise).
//!
//! Two small buffers keep the device requests few, as the FAT crate reads and
//! writes in small pieces (a FAT entry is 2–4 bytes, a cluster may be 512 bytes):
//! - **sectors** ([`CACHED_SECTORS`] of them): the pieces the crate reads and
//!   writes less than a sector at a time — FAT entries, directory entries, the boot
//!   sector. Written back, not through: a dirty sector goes to the device when it
//!   is evicted and at [`Write::flush`] (which the crate calls when a file is
//!   flushed or closed) and when the volume is dropped (unmount);
//! - **read-ahead** ([`READ_AHEAD`] bytes): a read of whole sectors (file data)
//!   fetches up to that much from the device in one request, so the crate's
//!   cluster-by-cluster reads of a file become a few large ones;
//! - **write-behind** (as much again): whole-sector writes that continue each
//!   other wait and go to the device as one request, sent by the first write that
//!   does not continue them, and at every flush.
//!
//! All three are allocated once, at mount, and reused: the kernel heap a volume
//! holds does not change with what it is asked (section 7's heap check). They live
//! beside the crate's [`Volume`] handle, not in it, so that whole pages of a file
//! can also be written without the crate ([`write_through`]: write-back by extent,
//! which needs no walk of the FAT chain) through the same buffers.
//!
//! Coherence: the buffers never disagree with each other or with what the crate
//! wrote. Every write updates the copies of its sectors in all three; a fresh
//! read-ahead takes the cache's dirty sectors and the waiting writes over the
//! device's. Durability of the device itself (its flush) is
//! `fs::sync`'s business.
use crate::block::{self, IoError, SECTOR};
use alloc::{boxed::Box, vec::Vec};
use lamfat::{IoBase, Read, Seek, SeekFrom, Write};
use spin::Mutex;

/// Sectors kept for the crate's small reads and writes (8 KiB).
pub const CACHED_SECTORS: usize = 16;
/// Bytes one read-ahead fetches (as much as one device request moves).
pub const READ_AHEAD: usize = block::virtio::MAX_BYTES;

/// An I/O error as the FAT crate carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VolumeError(pub IoError);

impl lamfat::IoError for VolumeError {
    fn is_interrupted(&self) -> bool {
        false
    }
    fn new_unexpected_eof_error() -> Self {
        VolumeError(IoError::OutOfRange)
    }
    fn new_write_zero_error() -> Self {
        VolumeError(IoError::OutOfRange)
    }
}

/// The sector number of a cache slot that holds no sector yet.
const EMPTY: u64 = u64::MAX;

struct Cached {
    sector: u64,
    bytes: Box<[u8; SECTOR]>,
    dirty: bool,
}

/// The volume on [`block`]'s attached device, as the FAT crate reads, writes and
/// seeks it: a position over the mounted [`Buffers`].
pub struct Volume {
    /// Byte position within the volume.
    pos: u64,
}

/// The mounted volume's extent and buffers.
struct Buffers {
    /// First sector of the file system on the device.
    start: u64,
    /// Sectors from `start` to the end of the device.
    sectors: u64,
    /// Recently used sectors, most recent last.
    cached: Vec<Cached>,
    /// The last read-ahead: its first sector and its bytes (empty for none).
    ahead: (u64, Vec<u8>),
    /// Whole-sector writes not sent yet: consecutive ones (a file's clusters, as
    /// the crate writes them one by one) go to the device as one request.
    pending: (u64, Vec<u8>),
}

static BUFFERS: Mutex<Option<Buffers>> = Mutex::new(None);

/// Runs `f` on the mounted volume's buffers.
fn with_buffers<R>(
    f: impl FnOnce(&mut Buffers) -> Result<R, VolumeError>,
) -> Result<R, VolumeError> {
    match BUFFERS.lock().as_mut() {
        Some(b) => f(b),
        None => Err(VolumeError(IoError::NoDevice)),
    }
}

/// Writes whole sectors from sector `first` of the volume as the crate's writes
/// go (consecutive ones become one request; [`send_writes`] sends the last),
/// keeping the buffers coherent. For data of a file whose clusters are already
/// allocated: the write-back by extent, which needs no walk of the FAT chain.
pub fn write_through(first: u64, buf: &[u8]) -> Result<(), IoError> {
    with_buffers(|b| {
        let whole = buf.len().is_multiple_of(SECTOR);
        if !whole || first + (buf.len() / SECTOR) as u64 > b.sectors {
            return Err(VolumeError(IoError::OutOfRange));
        }
        b.write_sectors(first, buf)
    })
    .map_err(|VolumeError(e)| e)
}

/// Sends the whole-sector writes still waiting to the device.
pub fn send_writes() -> Result<(), IoError> {
    with_buffers(Buffers::send_pending).map_err(|VolumeError(e)| e)
}

fn device_read(first: u64, buf: &mut [u8]) -> Result<(), VolumeError> {
    block::with_device(|d| d.read(first, buf))
        .and_then(|r| r)
        .map_err(VolumeError)
}

fn device_write(first: u64, buf: &[u8]) -> Result<(), VolumeError> {
    block::with_device(|d| d.write(first, buf))
        .and_then(|r| r)
        .map_err(VolumeError)
}

impl Volume {
    /// The volume from sector `start` of the attached device to its end (its
    /// buffers replace those of a volume mounted before).
    pub fn new(start: u64) -> Result<Self, IoError> {
        let sectors = block::with_device(|d| d.sectors())?.saturating_sub(start);
        *BUFFERS.lock() = Some(Buffers {
            start,
            sectors,
            cached: (0..CACHED_SECTORS)
                .map(|_| Cached {
                    sector: EMPTY,
                    bytes: Box::new([0u8; SECTOR]),
                    dirty: false,
                })
                .collect(),
            ahead: (0, Vec::with_capacity(READ_AHEAD)),
            pending: (0, Vec::with_capacity(2 * READ_AHEAD)),
        });
        Ok(Self { pos: 0 })
    }

    /// Bytes in the volume.
    fn bytes(&self) -> u64 {
        BUFFERS
            .lock()
            .as_ref()
            .map_or(0, |b| b.sectors * SECTOR as u64)
    }

    /// Bytes left from the position to the end of the volume, capped at `want`.
    fn available(&self, want: usize) -> usize {
        self.bytes().saturating_sub(self.pos).min(want as u64) as usize
    }
}

impl Buffers {
    /// The cached copy of `sector`, read from the device on a miss.
    fn sector(&mut self, sector: u64) -> Result<&mut Cached, VolumeError> {
        if let Some(at) = self.cached.iter().position(|c| c.sector == sector) {
            let hit = self.cached.remove(at);
            self.cached.push(hit);
        } else {
            // The least recently used slot (the first) takes the sector.
            let mut slot = self.cached.remove(0);
            if slot.dirty {
                // A pending write of this sector is older: make it agree.
                patch(&mut self.pending, slot.sector, &slot.bytes[..]);
                let written = device_write(self.start + slot.sector, &slot.bytes[..]);
                if let Err(e) = written {
                    self.cached.insert(0, slot);
                    return Err(e);
                }
                slot.dirty = false;
            }
            slot.sector = EMPTY;
            let read = self.read_sectors(sector, &mut slot.bytes[..]);
            if read.is_ok() {
                slot.sector = sector;
            }
            self.cached.push(slot);
            read?;
        }
        Ok(self.cached.last_mut().expect("just pushed"))
    }

    /// Whole sectors from `first`, through the read-ahead window.
    fn read_sectors(&mut self, first: u64, buf: &mut [u8]) -> Result<(), VolumeError> {
        let count = (buf.len() / SECTOR) as u64;
        let (at, window) = (self.ahead.0, self.ahead.1.len() / SECTOR);
        if !(first >= at && first + count <= at + window as u64) {
            let want = READ_AHEAD.max(buf.len());
            let left = (self.sectors - first) as usize * SECTOR;
            let mut fresh = core::mem::take(&mut self.ahead.1);
            fresh.clear();
            fresh.resize(want.min(left), 0);
            let read = device_read(self.start + first, &mut fresh);
            if read.is_err() {
                fresh.clear();
            }
            self.ahead = (first, fresh);
            read?;
            // Writes not sent yet are newer than the device's copies.
            let (at, bytes) = (self.pending.0, core::mem::take(&mut self.pending.1));
            for (i, sector) in bytes.chunks(SECTOR).enumerate() {
                self.patch_window(at + i as u64, sector);
            }
            self.pending.1 = bytes;
            // The cache's dirty sectors are newer than the device's copies.
            let dirty: Vec<(u64, [u8; SECTOR])> = self
                .cached
                .iter()
                .filter(|c| c.dirty)
                .map(|c| (c.sector, *c.bytes))
                .collect();
            for (sector, bytes) in dirty {
                self.patch_window(sector, &bytes);
            }
        }
        let offset = (first - self.ahead.0) as usize * SECTOR;
        buf.copy_from_slice(&self.ahead.1[offset..offset + buf.len()]);
        Ok(())
    }

    /// Puts the new contents of `sector` into the read-ahead window if it holds it.
    fn patch_window(&mut self, sector: u64, bytes: &[u8]) {
        patch(&mut self.ahead, sector, bytes);
    }

    /// Writes whole sectors from `first`, keeping the buffers coherent; the
    /// device gets them with the next write that does not continue them.
    fn write_sectors(&mut self, first: u64, buf: &[u8]) -> Result<(), VolumeError> {
        for (i, bytes) in buf.chunks(SECTOR).enumerate() {
            let sector = first + i as u64;
            self.patch_window(sector, bytes);
            if let Some(c) = self.cached.iter_mut().find(|c| c.sector == sector) {
                c.bytes.copy_from_slice(bytes);
                c.dirty = false;
            }
        }
        let (at, run) = (&self.pending.0, &self.pending.1);
        let continues = !run.is_empty() && at + (run.len() / SECTOR) as u64 == first;
        if !(continues && run.len() + buf.len() <= READ_AHEAD) {
            self.send_pending()?;
            self.pending.0 = first;
        }
        self.pending.1.extend_from_slice(buf);
        Ok(())
    }

    /// Sends the pending whole-sector writes to the device.
    fn send_pending(&mut self) -> Result<(), VolumeError> {
        if self.pending.1.is_empty() {
            return Ok(());
        }
        let run = core::mem::take(&mut self.pending.1);
        let sent = device_write(self.start + self.pending.0, &run);
        self.pending.1 = run;
        self.pending.1.clear();
        sent
    }

    /// Writes every dirty cached sector to the device.
    fn write_dirty(&mut self) -> Result<(), VolumeError> {
        self.send_pending()?;
        for c in self.cached.iter_mut().filter(|c| c.dirty) {
            device_write(self.start + c.sector, &c.bytes[..])?;
            c.dirty = false;
        }
        Ok(())
    }
}

/// Puts the new contents of `sector` into a run of sectors `(first, bytes)` if it
/// holds that sector.
fn patch(run: &mut (u64, Vec<u8>), sector: u64, bytes: &[u8]) {
    let count = (run.1.len() / SECTOR) as u64;
    if (run.0..run.0 + count).contains(&sector) {
        let at = (sector - run.0) as usize * SECTOR;
        run.1[at..at + SECTOR].copy_from_slice(bytes);
    }
}

impl Drop for Volume {
    /// Unmounting: what the crate wrote last (its information sector, the clean
    /// mark) is still in the sector cache.
    fn drop(&mut self) {
        if let Err(e) = with_buffers(Buffers::write_dirty) {
            log::error!("volume: writing cached sectors at unmount failed: {e:?}");
        }
    }
}

impl IoBase for Volume {
    type Error = VolumeError;
}

impl Read for Volume {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, VolumeError> {
        let n = self.available(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let sector = self.pos / SECTOR as u64;
        let within = (self.pos % SECTOR as u64) as usize;
        let whole = n / SECTOR * SECTOR;
        let done = with_buffers(|b| {
            if within == 0 && whole > 0 {
                b.read_sectors(sector, &mut buf[..whole])?;
                Ok(whole)
            } else {
                let part = n.min(SECTOR - within);
                let cached = b.sector(sector)?;
                buf[..part].copy_from_slice(&cached.bytes[within..within + part]);
                Ok(part)
            }
        })?;
        self.pos += done as u64;
        Ok(done)
    }
}

impl Write for Volume {
    fn write(&mut self, buf: &[u8]) -> Result<usize, VolumeError> {
        let n = self.available(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let sector = self.pos / SECTOR as u64;
        let within = (self.pos % SECTOR as u64) as usize;
        let whole = n / SECTOR * SECTOR;
        let done = with_buffers(|b| {
            if within == 0 && whole > 0 {
                b.write_sectors(sector, &buf[..whole])?;
                Ok(whole)
            } else {
                let part = n.min(SECTOR - within);
                let cached = b.sector(sector)?;
                cached.bytes[within..within + part].copy_from_slice(&buf[..part]);
                cached.dirty = true;
                let bytes = *cached.bytes;
                b.patch_window(sector, &bytes);
                patch(&mut b.pending, sector, &bytes);
                Ok(part)
            }
        })?;
        self.pos += done as u64;
        Ok(done)
    }

    /// Writes the dirty cached sectors (the crate flushes at every file flush).
    fn flush(&mut self) -> Result<(), VolumeError> {
        with_buffers(Buffers::write_dirty)
    }
}

impl Seek for Volume {
    fn seek(&mut self, pos: SeekFrom) -> Result<u64, VolumeError> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
            SeekFrom::End(delta) => self.bytes().checked_add_signed(delta),
        };
        match target {
            Some(at) if at <= self.bytes() => {
                self.pos = at;
                Ok(at)
            }
            _ => Err(VolumeError(IoError::OutOfRange)),
        }
    }
}
