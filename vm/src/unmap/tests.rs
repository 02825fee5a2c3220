//! Unit tests for `munmap`: every error, and head, tail, middle and spanning
//! ranges applied with `remove_range`.

use super::*;
use crate::addr::PAGE_SIZE;
use crate::layout::{GUARD_BOTTOM, MAP_END, STACK_BOTTOM, USER_START};
use crate::prot::Prot;
use crate::region::{Region, RegionKind, fresh_task_regions};
use crate::request::USER_SIZE;
use alloc::vec;
use alloc::vec::Vec;

const P: u64 = PAGE_SIZE;
const A: u64 = 0x5000_0000;

fn anon(first: u64, pages: u64, prot: Prot) -> Region {
    Region {
        start: A + first * P,
        end: A + (first + pages) * P,
        kind: RegionKind::Anon,
        prot,
    }
}

fn set_of(regions: &[Region]) -> RegionSet {
    let mut set = RegionSet::new();
    for &r in regions {
        set.insert(r).unwrap();
    }
    set
}

/// Plans and applies `munmap(addr, len)`, returning the removed pieces.
fn munmap(set: &mut RegionSet, addr: u64, len: u64) -> Result<Vec<Region>, VmError> {
    let range = plan_unmap(set, addr, len)?;
    Ok(set.remove_range(range.start, range.end))
}

fn listed(set: &RegionSet) -> Vec<Region> {
    set.iter().copied().collect()
}

#[test]
fn a_zero_length_munmap_is_zero_length() {
    let set = set_of(&[anon(0, 2, Prot::RW)]);
    assert_eq!(plan_unmap(&set, A, 0), Err(VmError::ZeroLength));
    assert_eq!(plan_unmap(&set, A + 1, 0), Err(VmError::ZeroLength));
}

#[test]
fn an_unaligned_munmap_address_is_unaligned() {
    let set = set_of(&[anon(0, 2, Prot::RW)]);
    assert_eq!(plan_unmap(&set, A + 1, P), Err(VmError::Unaligned));
    assert_eq!(plan_unmap(&set, A + P - 1, P), Err(VmError::Unaligned));
}

#[test]
fn a_munmap_range_leaving_the_user_part_is_out_of_range() {
    let set = fresh_task_regions();
    for (addr, len) in [
        (0, P),
        (USER_START - P, 2 * P),
        (MAP_END - P, 2 * P),
        (MAP_END, P),
        (USER_START, u64::MAX),
        (USER_START, USER_SIZE + 1),
    ] {
        assert_eq!(
            plan_unmap(&set, addr, len),
            Err(VmError::OutOfRange),
            "{addr:#x}+{len:#x}"
        );
    }
}

#[test]
fn the_munmap_length_is_rounded_up_to_whole_pages() {
    let set = RegionSet::new();
    assert_eq!(plan_unmap(&set, A, 1), Ok(A..A + P));
    assert_eq!(plan_unmap(&set, A, P + 1), Ok(A..A + 2 * P));
    assert_eq!(plan_unmap(&set, A, 2 * P), Ok(A..A + 2 * P));
}

#[test]
fn munmap_of_a_whole_region_removes_it() {
    let mut set = set_of(&[anon(0, 3, Prot::RW)]);
    assert_eq!(munmap(&mut set, A, 3 * P), Ok(vec![anon(0, 3, Prot::RW)]));
    assert!(set.is_empty());
    assert_eq!(set.pages(), 0);
}

#[test]
fn munmap_of_the_head_keeps_the_tail() {
    let mut set = set_of(&[anon(0, 4, Prot::RW)]);
    assert_eq!(munmap(&mut set, A, P), Ok(vec![anon(0, 1, Prot::RW)]));
    assert_eq!(listed(&set), vec![anon(1, 3, Prot::RW)]);
}

#[test]
fn munmap_of_the_tail_keeps_the_head() {
    let mut set = set_of(&[anon(0, 4, Prot::RW)]);
    assert_eq!(
        munmap(&mut set, A + 2 * P, 2 * P),
        Ok(vec![anon(2, 2, Prot::RW)])
    );
    assert_eq!(listed(&set), vec![anon(0, 2, Prot::RW)]);
}

#[test]
fn munmap_of_a_hole_in_the_middle_splits_the_region_in_two() {
    let mut set = set_of(&[anon(0, 5, Prot::RX)]);
    assert_eq!(
        munmap(&mut set, A + P, 3 * P - 7),
        Ok(vec![anon(1, 3, Prot::RX)])
    );
    assert_eq!(
        listed(&set),
        vec![anon(0, 1, Prot::RX), anon(4, 1, Prot::RX)]
    );
    assert_eq!(set.pages(), 2);
}

#[test]
fn munmap_spanning_regions_and_gaps_removes_every_piece_in_between() {
    let mut set = set_of(&[
        anon(0, 3, Prot::RW),
        anon(4, 2, Prot::READ),
        anon(7, 3, Prot::RW),
    ]);
    assert_eq!(
        munmap(&mut set, A + 2 * P, 6 * P),
        Ok(vec![
            anon(2, 1, Prot::RW),
            anon(4, 2, Prot::READ),
            anon(7, 1, Prot::RW)
        ])
    );
    assert_eq!(
        listed(&set),
        vec![anon(0, 2, Prot::RW), anon(8, 2, Prot::RW)]
    );
    assert_eq!(set.pages(), 4);
}

#[test]
fn munmap_of_a_range_holding_no_region_succeeds_and_frees_nothing() {
    let mut set = set_of(&[anon(0, 1, Prot::RW), anon(5, 1, Prot::RW)]);
    let before = set.clone();
    assert_eq!(munmap(&mut set, A + P, 4 * P), Ok(vec![]));
    assert_eq!(munmap(&mut set, USER_START, P), Ok(vec![]));
    assert_eq!(set, before);
}

#[test]
fn munmap_may_remove_the_stack_guard() {
    let mut set = fresh_task_regions();
    let removed = munmap(&mut set, GUARD_BOTTOM, P).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].kind, RegionKind::Guard);
    assert_eq!(set.find(GUARD_BOTTOM), None);
    assert_eq!(set.find(STACK_BOTTOM).unwrap().kind, RegionKind::Stack);
    assert_eq!(set.pages(), 8);
}
