//! The fault decision for file regions (see `crate::file`).
use super::*;
use crate::file::{FileKey, FileMap, FileSizes};
use crate::region::{Region, RegionSet};

/// File 7 is 1.5 pages long; file 9 is unknown to the kernel.
struct Sizes;
impl FileSizes for Sizes {
    fn size(&self, file: FileKey) -> Option<u64> {
        (file == FileKey(7)).then_some(6144)
    }
}

const AT: u64 = 0x4000_0000;

fn set(shared: bool, prot: Prot, file: u32) -> RegionSet {
    let mut regions = RegionSet::new();
    let map = FileMap::starting_at(FileKey(file), AT, 0, shared);
    regions
        .insert(Region {
            start: AT,
            end: AT + 3 * 4096,
            kind: RegionKind::File(map),
            prot,
        })
        .unwrap();
    regions
}

fn decide(regions: &RegionSet, addr: u64, access: Access, present: bool) -> FaultAction {
    resolve_fault_with(regions, &Sizes, addr, access, present)
}

#[test]
fn a_first_read_maps_the_cached_page_of_the_right_index() {
    let r = set(true, Prot::RW, 7);
    let got = decide(&r, AT + 4096 + 12, Access::Read, false);
    assert_eq!(
        got,
        FaultAction::MapFilePage {
            page: AT + 4096,
            prot: Prot::RW,
            file: FileKey(7),
            index: 1
        }
    );
}

#[test]
fn private_pages_map_without_write_and_a_first_store_copies() {
    let r = set(false, Prot::RW, 7);
    assert_eq!(
        decide(&r, AT, Access::Read, false),
        FaultAction::MapFilePage {
            page: AT,
            prot: Prot::READ,
            file: FileKey(7),
            index: 0
        }
    );
    assert_eq!(
        decide(&r, AT, Access::Write, false),
        FaultAction::CopyFilePage {
            page: AT,
            prot: Prot::RW,
            file: FileKey(7),
            index: 0
        }
    );
    assert_eq!(
        decide(&r, AT, Access::Write, true),
        FaultAction::CopyOnWrite {
            page: AT,
            prot: Prot::RW
        }
    );
}

#[test]
fn a_shared_store_to_a_present_read_only_entry_never_copies() {
    let r = set(true, Prot::RW, 7);
    assert_eq!(
        decide(&r, AT + 8, Access::Write, true),
        FaultAction::MakeWritable {
            page: AT,
            prot: Prot::RW
        }
    );
}

#[test]
fn a_page_wholly_past_the_end_kills_and_the_partial_last_page_maps() {
    let r = set(true, Prot::RW, 7);
    assert!(matches!(
        decide(&r, AT + 4096 + 4095, Access::Write, false),
        FaultAction::MapFilePage { index: 1, .. }
    ));
    let past = decide(&r, AT + 2 * 4096, Access::Read, false);
    assert_eq!(
        past,
        FaultAction::Kill(FaultReport {
            addr: AT + 2 * 4096,
            access: Access::Read,
            why: Why::PastEndOfFile
        })
    );
    if let FaultAction::Kill(report) = past {
        assert_eq!(
            std::format!("{report}"),
            "page fault at 0x40002000 (read, past end of file)"
        );
    }
    // A file the kernel does not know has no pages at all.
    let unknown = set(false, Prot::READ, 9);
    assert!(matches!(
        decide(&unknown, AT, Access::Read, false),
        FaultAction::Kill(FaultReport {
            why: Why::PastEndOfFile,
            ..
        })
    ));
}

#[test]
fn rights_are_checked_before_the_file() {
    let r = set(false, Prot::READ, 7);
    assert!(matches!(
        decide(&r, AT, Access::Write, false),
        FaultAction::Kill(FaultReport {
            why: Why::ReadOnly,
            ..
        })
    ));
    assert!(matches!(
        decide(&r, AT, Access::Exec, false),
        FaultAction::Kill(FaultReport {
            why: Why::NoExec,
            ..
        })
    ));
}

#[test]
fn splitting_a_file_region_keeps_each_page_on_its_file_page() {
    let mut r = set(true, Prot::RW, 7);
    // munmap the middle page: the two halves still show pages 0 and 2.
    r.remove_range(AT + 4096, AT + 2 * 4096);
    assert_eq!(r.len(), 2);
    for (addr, index) in [(AT, 0), (AT + 2 * 4096, 2)] {
        let Some(Region {
            kind: RegionKind::File(map),
            ..
        }) = r.find(addr)
        else {
            panic!("no file region at {addr:#x}");
        };
        assert_eq!(map.page_of(addr), index);
    }
    // Mapping page 1 back in its place joins the three into one region again;
    // a window onto another offset does not join.
    let map = FileMap::starting_at(FileKey(7), AT + 4096, 1, true);
    let middle = Region {
        start: AT + 4096,
        end: AT + 2 * 4096,
        kind: RegionKind::File(map),
        prot: Prot::RW,
    };
    r.insert(middle).unwrap();
    assert_eq!(r.len(), 1);
    let mut other = set(true, Prot::RW, 7);
    other.remove_range(AT + 4096, AT + 2 * 4096);
    let shifted = FileMap::starting_at(FileKey(7), AT + 4096, 5, true);
    other
        .insert(Region {
            kind: RegionKind::File(shifted),
            ..middle
        })
        .unwrap();
    assert_eq!(other.len(), 3);
}
