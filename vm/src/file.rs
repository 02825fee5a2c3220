//! File regions: a range of user pages that is a window onto a file's pages in
//! the kernel's page cache (CONTRACTS.md section 9).
//!
//! A region names the file by an opaque [`FileKey`] (the kernel's page-cache id)
//! and says where in the file it looks through [`FileMap::base`]: the file page
//! that user page 0 *would* show. Page `addr` of the region shows file page
//! `base + addr / PAGE_SIZE`. Stored that way the mapping survives splitting as
//! it is: the two halves left by an `munmap` or `mprotect` in the middle keep the
//! same `base` and so still show the right file pages, and two touching regions
//! with the same file, base and sharing merge exactly when their file pages
//! continue each other.
//!
//! - **shared**: every task mapping the file sees one copy, the cache's frame;
//!   stores go to it (the kernel writes dirty pages back). Fork keeps it shared.
//! - **private**: reads see the cache's frame until the first store, which gives
//!   the task its own copy ([`crate::FaultAction::CopyOnWrite`]); the file never
//!   changes. Fork shares private copies copy-on-write, like anonymous memory.
use crate::addr::PAGE_SIZE;

/// The kernel's name for a cached file: opaque to the VM policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileKey(pub u32);

/// How a region maps a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMap {
    pub file: FileKey,
    /// The file page user page 0 would show (may be negative: only pages inside
    /// the region are ever looked up).
    pub base: i64,
    pub shared: bool,
}

impl FileMap {
    /// The mapping of a region starting at `start` (page aligned) that shows file
    /// page `first_page` there.
    pub fn starting_at(file: FileKey, start: u64, first_page: u64, shared: bool) -> FileMap {
        FileMap {
            file,
            base: first_page as i64 - (start / PAGE_SIZE) as i64,
            shared,
        }
    }

    /// The file page that the user page holding `addr` shows.
    pub fn page_of(&self, addr: u64) -> u64 {
        (self.base + (addr / PAGE_SIZE) as i64) as u64
    }
}

/// The kernel's answer to "how long is this file?", for the fault decision.
pub trait FileSizes {
    /// The file's size in bytes; None if the kernel knows no such file.
    fn size(&self, file: FileKey) -> Option<u64>;
}

/// No files at all: what anonymous-only callers pass.
pub struct NoFiles;

impl FileSizes for NoFiles {
    fn size(&self, _: FileKey) -> Option<u64> {
        None
    }
}

/// What fork does with a region's present pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkPages {
    /// Parent and child map the same frames read-only; the first store on either
    /// side copies (anonymous memory, private file pages).
    CopyOnWrite,
    /// Parent and child map the same frames with the region's rights (shared file
    /// mappings: stores by either are seen by both).
    Share,
}

impl crate::region::RegionKind {
    /// How fork treats this kind's present pages.
    pub fn fork_pages(&self) -> ForkPages {
        match self {
            crate::region::RegionKind::File(FileMap { shared: true, .. }) => ForkPages::Share,
            _ => ForkPages::CopyOnWrite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_shows_its_first_page_at_its_start() {
        let m = FileMap::starting_at(FileKey(3), 0x4000_0000, 5, true);
        assert_eq!(m.page_of(0x4000_0000), 5);
        assert_eq!(m.page_of(0x4000_0fff), 5);
        assert_eq!(m.page_of(0x4000_1000), 6);
        // A region low in memory showing a page early in the file: base < 0.
        let low = FileMap::starting_at(FileKey(1), 0x40_0000, 0, false);
        assert!(low.base < 0);
        assert_eq!(low.page_of(0x40_2000), 2);
    }

    #[test]
    fn shared_file_pages_are_shared_by_fork_and_the_rest_copied_on_write() {
        use crate::region::RegionKind;
        let shared = RegionKind::File(FileMap::starting_at(FileKey(0), 0, 0, true));
        let private = RegionKind::File(FileMap::starting_at(FileKey(0), 0, 0, false));
        assert_eq!(shared.fork_pages(), ForkPages::Share);
        assert_eq!(private.fork_pages(), ForkPages::CopyOnWrite);
        assert_eq!(RegionKind::Anon.fork_pages(), ForkPages::CopyOnWrite);
    }

    fn file_request(offset: u64, len: u64, placement: crate::Placement) -> crate::MapRequest {
        crate::MapRequest {
            len,
            kind: crate::MapKind::File {
                prot: crate::Prot::READ,
                file: FileKey(7),
                offset,
                shared: true,
            },
            placement,
        }
    }

    #[test]
    fn a_file_mapping_shows_the_page_of_its_offset_at_its_start() {
        use crate::{Placement, RegionKind, RegionSet, commit_map, plan_map};
        let mut set = RegionSet::new();
        let plan = plan_map(
            &set,
            &file_request(3 * PAGE_SIZE, 5000, Placement::Anywhere),
        )
        .expect("room");
        let start = plan.region.start;
        assert_eq!(plan.region.end - start, 2 * PAGE_SIZE, "whole pages");
        let RegionKind::File(map) = plan.region.kind else {
            panic!("a file region")
        };
        assert_eq!((map.file, map.shared), (FileKey(7), true));
        assert_eq!(map.page_of(start), 3);
        assert_eq!(map.page_of(start + PAGE_SIZE), 4);
        commit_map(&mut set, &plan);
        assert_eq!(set.pages(), 2, "numvp grows by the pages");
    }

    #[test]
    fn a_file_offset_must_start_a_page_and_is_checked_after_the_length() {
        use crate::{Placement, RegionSet, VmError, plan_map};
        let set = RegionSet::new();
        let at = Placement::Anywhere;
        assert_eq!(
            plan_map(&set, &file_request(100, PAGE_SIZE, at)),
            Err(VmError::Unaligned)
        );
        assert_eq!(
            plan_map(&set, &file_request(100, 0, at)),
            Err(VmError::ZeroLength)
        );
        assert_eq!(
            plan_map(
                &set,
                &file_request(PAGE_SIZE, PAGE_SIZE, Placement::Fixed(1))
            ),
            Err(VmError::Unaligned),
            "the address too"
        );
    }

    #[test]
    fn two_mappings_of_following_pages_merge_and_others_do_not() {
        use crate::{Placement, RegionSet, commit_map, plan_map};
        let mut set = RegionSet::new();
        let base = crate::layout::USER_START + 16 * PAGE_SIZE;
        let first = file_request(0, PAGE_SIZE, Placement::FixedNoReplace(base));
        let plan = plan_map(&set, &first).unwrap();
        commit_map(&mut set, &plan);
        // The next page of the file, right after: one region.
        let next = file_request(
            PAGE_SIZE,
            PAGE_SIZE,
            Placement::FixedNoReplace(base + PAGE_SIZE),
        );
        let plan = plan_map(&set, &next).unwrap();
        commit_map(&mut set, &plan);
        assert_eq!(set.len(), 1);
        // The same file page again after them: a region of its own.
        let again = file_request(
            0,
            PAGE_SIZE,
            Placement::FixedNoReplace(base + 2 * PAGE_SIZE),
        );
        let plan = plan_map(&set, &again).unwrap();
        commit_map(&mut set, &plan);
        assert_eq!(set.len(), 2);
    }
}
