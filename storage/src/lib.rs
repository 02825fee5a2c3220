//! Pure storage logic for lazuli: what the bytes on a disk mean, with no hardware in
//! it — the kernel's block devices read the sectors, this crate reads them.
//!
//! - [`mbr`]: the MBR partition table — where the file system starts on a disk
//!   that has one (a USB stick, an SD card, `sfdisk`'s output), or that it fills
//!   the whole disk.
//!
//! # Missing features
//!
//! - GPT, extended (logical) partitions.
//! - The page cache's dirty tracking (it joins here, host-tested, with the cache).

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

pub mod mbr;

/// Bytes in a sector, the unit every block device reads and writes.
pub const SECTOR_SIZE: usize = 512;
