//! The FAT crate's view of the disk: a byte stream over the block device, starting
//! at the file system's first sector (0 on a whole-disk volume, the first MBR
//! partition's start otherwise).
//!
//! The crate reads its tables in small pieces (a FAT entry is 2–4 bytes), so the
//! volume keeps a few sectors ([`CACHED_SECTORS`]); writes go straight through to
//! the device (the cache is never dirty). Reads and writes of whole aligned sectors
//! — file data, which the page cache asks for a page at a time — skip it.
use crate::block::{self, IoError, SECTOR};
use alloc::{boxed::Box, vec::Vec};
use lamfat::{IoBase, Read, Seek, SeekFrom, Write};

/// Sectors the volume keeps for the crate's small reads (4 KiB).
pub const CACHED_SECTORS: usize = 8;

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

/// The volume on [`block`]'s attached device.
pub struct Volume {
    /// First sector of the file system on the device.
    start: u64,
    /// Sectors from `start` to the end of the device.
    sectors: u64,
    /// Byte position within the volume.
    pos: u64,
    /// Recently used sectors, most recent last: (sector within the volume, bytes).
    cached: Vec<(u64, Box<[u8; SECTOR]>)>,
}

impl Volume {
    /// The volume from sector `start` of the attached device to its end.
    pub fn new(start: u64) -> Result<Self, IoError> {
        let sectors = block::with_device(|d| d.sectors())?.saturating_sub(start);
        Ok(Self {
            start,
            sectors,
            pos: 0,
            cached: Vec::new(),
        })
    }

    pub fn bytes(&self) -> u64 {
        self.sectors * SECTOR as u64
    }

    /// The cached copy of `sector`, read from the device on a miss.
    fn sector(&mut self, sector: u64) -> Result<&mut [u8; SECTOR], VolumeError> {
        if let Some(at) = self.cached.iter().position(|(s, _)| *s == sector) {
            let hit = self.cached.remove(at);
            self.cached.push(hit);
        } else {
            let mut bytes = Box::new([0u8; SECTOR]);
            device_read(self.start + sector, &mut bytes[..])?;
            if self.cached.len() == CACHED_SECTORS {
                self.cached.remove(0);
            }
            self.cached.push((sector, bytes));
        }
        Ok(&mut self.cached.last_mut().expect("just pushed").1)
    }

    /// Forgets cached copies of sectors `[first, first + count)` (written around the cache).
    fn forget(&mut self, first: u64, count: u64) {
        self.cached
            .retain(|(s, _)| *s < first || *s >= first + count);
    }

    /// Bytes left from the position to the end of the volume, capped at `want`.
    fn available(&self, want: usize) -> usize {
        self.bytes().saturating_sub(self.pos).min(want as u64) as usize
    }
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
        let done = if within == 0 && whole > 0 {
            device_read(self.start + sector, &mut buf[..whole])?;
            whole
        } else {
            let part = n.min(SECTOR - within);
            let bytes = self.sector(sector)?;
            buf[..part].copy_from_slice(&bytes[within..within + part]);
            part
        };
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
        let done = if within == 0 && whole > 0 {
            self.forget(sector, (whole / SECTOR) as u64);
            device_write(self.start + sector, &buf[..whole])?;
            whole
        } else {
            let part = n.min(SECTOR - within);
            let start = self.start;
            let bytes = self.sector(sector)?;
            bytes[within..within + part].copy_from_slice(&buf[..part]);
            let copy = *bytes;
            device_write(start + sector, &copy)?;
            part
        };
        self.pos += done as u64;
        Ok(done)
    }

    fn flush(&mut self) -> Result<(), VolumeError> {
        block::with_device(|d| d.flush())
            .and_then(|r| r)
            .map_err(VolumeError)
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
