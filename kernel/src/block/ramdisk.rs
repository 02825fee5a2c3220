//! The RAM disk: the data-disk image the bootloader loaded next to the kernel
//! (build.rs makes it from `disk/`), read and written in memory. On a real PC it is
//! where the files come from; what is written lasts until power-off.
use super::{BlockDevice, IoError, SECTOR, check};
use alloc::string::String;

pub struct RamDisk {
    bytes: &'static mut [u8],
}

impl RamDisk {
    pub fn new(bytes: &'static mut [u8]) -> Self {
        Self { bytes }
    }

    fn range(&self, first: u64, len: usize) -> Result<core::ops::Range<usize>, IoError> {
        check(self.sectors(), first, len)?;
        let start = first as usize * SECTOR;
        Ok(start..start + len)
    }
}

impl BlockDevice for RamDisk {
    fn describe(&self) -> String {
        String::from("RAM disk")
    }
    fn sectors(&self) -> u64 {
        (self.bytes.len() / SECTOR) as u64
    }
    fn read(&mut self, first: u64, buf: &mut [u8]) -> Result<(), IoError> {
        let range = self.range(first, buf.len())?;
        buf.copy_from_slice(&self.bytes[range]);
        Ok(())
    }
    fn write(&mut self, first: u64, buf: &[u8]) -> Result<(), IoError> {
        let range = self.range(first, buf.len())?;
        self.bytes[range].copy_from_slice(buf);
        Ok(())
    }
    fn flush(&mut self) -> Result<(), IoError> {
        Ok(())
    }
}
