//! Pure storage logic for lazuli: what the bytes on a disk mean, with no hardware in
//! it — the kernel's block devices read the sectors, this crate reads them.
//!
//! - [`mbr`]: the MBR partition table — where the file system starts on a disk
//!   that has one (a USB stick, an SD card, `sfdisk`'s output), or that it fills
//!   the whole disk.
//!
//! - [`cache`]: the page cache's bookkeeping — which pages of a file are cached and
//!   dirty, and how much of each belongs in the file at write-back;
//! - [`layout`]: the device reads that fetch a range of a file from its extents;
//! - [`clock`]: the CMOS real-time clock's registers as a checked calendar time.
//!
//! # Missing features
//!
//! - GPT, extended (logical) partitions.

#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod cache;
pub mod clock;
pub mod layout;
pub mod mbr;

/// Bytes in a sector, the unit every block device reads and writes.
pub const SECTOR_SIZE: usize = 512;
