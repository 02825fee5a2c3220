//! The table as `sfdisk` writes it, a FAT boot sector that is not one, and any bytes.
use super::*;
use proptest::prelude::*;

/// A sector with a table holding `entries` (status, kind, start, sectors).
fn table(entries: &[(u8, u8, u32, u32)]) -> [u8; SECTOR_SIZE] {
    let mut s = [0u8; SECTOR_SIZE];
    for (i, &(status, kind, start, sectors)) in entries.iter().enumerate() {
        let at = TABLE + i * ENTRY;
        s[at] = status;
        s[at + 4] = kind;
        s[at + 8..at + 12].copy_from_slice(&start.to_le_bytes());
        s[at + 12..at + 16].copy_from_slice(&sectors.to_le_bytes());
    }
    s[510] = 0x55;
    s[511] = 0xaa;
    s
}

#[test]
fn an_sfdisk_table_with_one_fat32_partition_at_1_mib_is_read() {
    // `echo 'start=2048, type=c' | sfdisk d.img` on a 64 MiB image.
    let disk = 64 * 2048;
    let s = table(&[(0x00, 0x0c, 2048, disk as u32 - 2048)]);
    let parts = parse(&s, disk).unwrap();
    assert_eq!(
        parts[0],
        Some(Partition {
            kind: 0x0c,
            start: 2048,
            sectors: disk - 2048,
            bootable: false
        })
    );
    assert_eq!(parts[1..], [None, None, None]);
    assert_eq!(volume_start(&s, disk), (2048, disk - 2048));
}

#[test]
fn a_whole_disk_fat_boot_sector_is_not_a_table() {
    // A FAT boot sector: a jump, then the BPB and boot code where the table would
    // be; it ends in 0x55 0xAA too.
    let mut s = [0u8; SECTOR_SIZE];
    s[0..3].copy_from_slice(&[0xeb, 0x3c, 0x90]);
    s[3..11].copy_from_slice(b"mkfs.fat");
    s[TABLE..510].fill(0xf4); // boot code bytes
    s[510] = 0x55;
    s[511] = 0xaa;
    assert_eq!(parse(&s, 1000), Err(NotATable::BadStatus));
    assert_eq!(volume_start(&s, 1000), (0, 1000));
}

#[test]
fn no_signature_means_the_whole_disk() {
    let s = [0u8; SECTOR_SIZE];
    assert_eq!(parse(&s, 100), Err(NotATable::NoSignature));
    assert_eq!(volume_start(&s, 100), (0, 100));
}

#[test]
fn a_first_partition_that_leaves_the_disk_or_is_empty_is_refused() {
    assert_eq!(
        parse(&table(&[(0, 0x0c, 2048, 10_000)]), 5000),
        Err(NotATable::NoFirstPartition)
    );
    assert_eq!(
        parse(&table(&[(0, 0x0c, 2048, 0)]), 5000),
        Err(NotATable::NoFirstPartition)
    );
    assert_eq!(
        parse(&table(&[(0, 0x0c, 0, 100)]), 5000),
        Err(NotATable::NoFirstPartition)
    );
    assert_eq!(
        parse(&table(&[(0, 0, 0, 0), (0, 0x0c, 2048, 100)]), 5000),
        Err(NotATable::NoFirstPartition)
    );
}

#[test]
fn the_bootable_flag_and_later_slots_are_kept() {
    let s = table(&[(0x80, 0x06, 63, 1000), (0, 0x83, 1063, 500)]);
    let parts = parse(&s, 4096).unwrap();
    assert!(parts[0].unwrap().bootable);
    assert_eq!(parts[1].map(|p| (p.kind, p.start)), Some((0x83, 1063)));
}

proptest! {
    #[test]
    fn any_sector_gives_a_volume_inside_the_disk(
        bytes in prop::collection::vec(any::<u8>(), SECTOR_SIZE),
        signed in any::<bool>(),
        disk in 1u64..1 << 40,
    ) {
        let mut s = [0u8; SECTOR_SIZE];
        s.copy_from_slice(&bytes);
        if signed {
            s[510] = 0x55;
            s[511] = 0xaa;
        }
        let (start, sectors) = volume_start(&s, disk);
        prop_assert!(start.checked_add(sectors).is_some_and(|end| end <= disk));
        prop_assert!(sectors > 0);
    }
}
