//! The MBR partition table: four 16-byte entries at byte 446 of sector 0, and the
//! signature 0x55 0xAA at bytes 510–511.
//!
//! A FAT volume's own boot sector also ends in 0x55 0xAA, so the signature alone
//! does not say "partitioned": [`volume_start`] treats sector 0 as a partition
//! table only when its entries are well formed (status 0x00 or 0x80, a non-empty
//! first partition inside the disk), and otherwise as a whole-disk file system —
//! the two layouts `mkfs.fat` and `sfdisk` + `mkfs.fat --offset` make.
use crate::SECTOR_SIZE;

const TABLE: usize = 446;
const ENTRY: usize = 16;
const SIGNATURE: [u8; 2] = [0x55, 0xaa];

/// One primary partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// The type byte (0x0b/0x0c FAT32, 0x04/0x06/0x0e FAT16, 0x01 FAT12, …).
    pub kind: u8,
    /// First sector (LBA).
    pub start: u64,
    /// Sectors.
    pub sectors: u64,
    pub bootable: bool,
}

/// Why sector 0 is not a partition table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotATable {
    /// No 0x55 0xAA at its end.
    NoSignature,
    /// A status byte other than 0x00 or 0x80: the sector is something else (a FAT
    /// boot sector's code, say).
    BadStatus,
    /// No partition in the first slot, or one that is empty or leaves the disk.
    NoFirstPartition,
}

fn u32_at(sector: &[u8; SECTOR_SIZE], at: usize) -> u64 {
    let bytes = [sector[at], sector[at + 1], sector[at + 2], sector[at + 3]];
    u64::from(u32::from_le_bytes(bytes))
}

/// The four entries of a partition table in `sector` (the disk's first), checked
/// against a disk of `disk_sectors`; `None` for an unused slot.
pub fn parse(
    sector: &[u8; SECTOR_SIZE],
    disk_sectors: u64,
) -> Result<[Option<Partition>; 4], NotATable> {
    if sector[SECTOR_SIZE - 2..] != SIGNATURE {
        return Err(NotATable::NoSignature);
    }
    let mut table = [None; 4];
    for (slot, entry) in table.iter_mut().enumerate() {
        let at = TABLE + slot * ENTRY;
        let status = sector[at];
        if status != 0x00 && status != 0x80 {
            return Err(NotATable::BadStatus);
        }
        let kind = sector[at + 4];
        let start = u32_at(sector, at + 8);
        let sectors = u32_at(sector, at + 12);
        if kind != 0 && sectors != 0 {
            *entry = Some(Partition {
                kind,
                start,
                sectors,
                bootable: status == 0x80,
            });
        }
    }
    match table[0] {
        Some(p) if p.start > 0 && p.start.saturating_add(p.sectors) <= disk_sectors => Ok(table),
        _ => Err(NotATable::NoFirstPartition),
    }
}

/// Where the file system lives on a disk whose first sector is `sector`: the first
/// partition's (start, sectors) if the disk is partitioned, else the whole disk.
pub fn volume_start(sector: &[u8; SECTOR_SIZE], disk_sectors: u64) -> (u64, u64) {
    match parse(sector, disk_sectors) {
        Ok([Some(first), ..]) => (first.start, first.sectors),
        _ => (0, disk_sectors),
    }
}

#[cfg(test)]
mod tests;
