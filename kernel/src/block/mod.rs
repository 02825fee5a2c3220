//! Block devices: whole 512-byte sectors in and out, behind one small trait.
//!
//! Two devices implement it: the virtio-blk disk QEMU attaches ([`virtio`]) and the
//! RAM disk the boot image carries ([`ramdisk`]). [`attach`] picks one at boot —
//! the disk when there is one, else the RAM disk, as on a real PC — and the file
//! system sits on whatever it picked.
pub mod ramdisk;
pub mod swap;
pub mod virtio;

use alloc::{boxed::Box, string::String};
use spin::Mutex;

/// Bytes in a sector.
pub const SECTOR: usize = 512;

/// Why a block request failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoError {
    /// There is no such device.
    NoDevice,
    /// Every request slot is in flight (try again when one completes).
    Busy,
    /// The device reported an error.
    Device,
    /// Sectors past the end of the device, or a length that is not whole sectors.
    OutOfRange,
}

/// A disk: sectors numbered from 0, read and written whole.
pub trait BlockDevice: Send {
    /// What the device is, for `disk`: "virtio-blk 00:04.0", "RAM disk".
    fn describe(&self) -> String;
    /// Sectors on the device.
    fn sectors(&self) -> u64;
    /// Reads `buf.len() / SECTOR` sectors from `first` into `buf`.
    fn read(&mut self, first: u64, buf: &mut [u8]) -> Result<(), IoError>;
    /// Writes `buf` (whole sectors) at `first`.
    fn write(&mut self, first: u64, buf: &[u8]) -> Result<(), IoError>;
    /// Makes every completed write durable.
    fn flush(&mut self) -> Result<(), IoError>;
    /// Whether [`read_async`] can wait for it by yielding (else it reads at once).
    fn asynchronous(&self) -> bool {
        false
    }
}

/// Reads whole sectors from `first` into `buf`, yielding to other tasks while the
/// device works (the RAM disk answers at once).
pub async fn read_async(first: u64, buf: &mut [u8]) -> Result<(), IoError> {
    let (sectors, asynchronous) = with_device(|d| (d.sectors(), d.asynchronous()))?;
    check(sectors, first, buf.len())?;
    if !asynchronous {
        return with_device(|d| d.read(first, buf))?;
    }
    for (i, chunk) in buf.chunks_mut(virtio::MAX_BYTES).enumerate() {
        let at = first + (i * virtio::MAX_BYTES / SECTOR) as u64;
        virtio::read_async(virtio::Unit::Data, at, chunk).await?;
    }
    Ok(())
}

/// Checks a request against the device: whole sectors, all inside it.
pub fn check(device_sectors: u64, first: u64, len: usize) -> Result<(), IoError> {
    let count = (len / SECTOR) as u64;
    let inside = first
        .checked_add(count)
        .is_some_and(|end| end <= device_sectors);
    if !len.is_multiple_of(SECTOR) || !inside {
        return Err(IoError::OutOfRange);
    }
    Ok(())
}

/// The device the file system sits on.
static DEVICE: Mutex<Option<Box<dyn BlockDevice>>> = Mutex::new(None);

/// Attaches the device the file system uses: the virtio disk if the machine has
/// one, else the boot image's RAM disk (if any). Returns whether there is one.
pub fn attach(ramdisk: Option<&'static mut [u8]>) -> bool {
    let found = crate::arch::virtio_blk::probe();
    if let Some(info) = found.swap {
        swap::attach(virtio::VirtioDisk::new(virtio::Unit::Swap, info));
    }
    let device: Option<Box<dyn BlockDevice>> = match found.data {
        Some(info) => Some(Box::new(virtio::VirtioDisk::new(virtio::Unit::Data, info))),
        None => ramdisk.map(|bytes| Box::new(ramdisk::RamDisk::new(bytes)) as Box<dyn BlockDevice>),
    };
    let attached = device.is_some();
    *DEVICE.lock() = device;
    attached
}

/// Runs `f` on the attached device; `NoDevice` if there is none.
pub fn with_device<R>(f: impl FnOnce(&mut dyn BlockDevice) -> R) -> Result<R, IoError> {
    let mut device = DEVICE.lock();
    match device.as_mut() {
        Some(device) => Ok(f(&mut **device)),
        None => Err(IoError::NoDevice),
    }
}
