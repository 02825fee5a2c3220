//! Unit tests for `mprotect`: every error, splitting into three, merging,
//! and the gap and guard rules.

use super::*;
use crate::addr::PAGE_SIZE;
use crate::layout::{GUARD_BOTTOM, MAP_END, STACK_BOTTOM, USER_START};
use crate::region::fresh_task_regions;
use crate::request::USER_SIZE;
use alloc::vec;
use alloc::vec::Vec;

const P: u64 = PAGE_SIZE;
const A: u64 = 0x5000_0000;

fn reg(first: u64, pages: u64, kind: RegionKind, prot: Prot) -> Region {
    Region {
        start: A + first * P,
        end: A + (first + pages) * P,
        kind,
        prot,
    }
}

fn anon(first: u64, pages: u64, prot: Prot) -> Region {
    reg(first, pages, RegionKind::Anon, prot)
}

fn set_of(regions: &[Region]) -> RegionSet {
    let mut set = RegionSet::new();
    for &r in regions {
        set.insert(r).unwrap();
    }
    set
}

fn listed(set: &RegionSet) -> Vec<Region> {
    set.iter().copied().collect()
}

/// Plans and applies `mprotect(addr, len, prot)`.
fn mprotect(set: &mut RegionSet, addr: u64, len: u64, prot: Prot) -> Result<(), VmError> {
    let range = plan_protect(set, addr, len, prot)?;
    set.protect(range.start, range.end, prot);
    Ok(())
}

/// Asserts that `mprotect(addr, len, rx)` fails with `err` and changes nothing.
fn refused(set: &RegionSet, addr: u64, len: u64, err: VmError) {
    let mut after = set.clone();
    assert_eq!(
        mprotect(&mut after, addr, len, Prot::RX),
        Err(err),
        "{addr:#x}+{len:#x}"
    );
    assert_eq!(&after, set);
}

#[test]
fn a_zero_length_mprotect_is_zero_length() {
    refused(&set_of(&[anon(0, 2, Prot::RW)]), A, 0, VmError::ZeroLength);
}

#[test]
fn an_unaligned_mprotect_address_is_unaligned() {
    refused(
        &set_of(&[anon(0, 2, Prot::RW)]),
        A + 8,
        P,
        VmError::Unaligned,
    );
}

#[test]
fn an_mprotect_range_leaving_the_user_part_is_out_of_range() {
    let set = fresh_task_regions();
    refused(&set, 0, P, VmError::OutOfRange);
    refused(&set, MAP_END - P, 2 * P, VmError::OutOfRange);
    refused(&set, USER_START, USER_SIZE + 1, VmError::OutOfRange);
    refused(&set, USER_START, u64::MAX, VmError::OutOfRange);
}

#[test]
fn mprotect_of_the_middle_splits_a_region_into_three() {
    let mut set = set_of(&[anon(0, 5, Prot::RW)]);
    assert_eq!(mprotect(&mut set, A + P, 3 * P, Prot::READ), Ok(()));
    assert_eq!(
        listed(&set),
        vec![
            anon(0, 1, Prot::RW),
            anon(1, 3, Prot::READ),
            anon(4, 1, Prot::RW)
        ]
    );
    assert_eq!(set.pages(), 5);
}

#[test]
fn mprotect_back_to_the_old_rights_merges_the_three_pieces_again() {
    let mut set = set_of(&[anon(0, 5, Prot::RW)]);
    mprotect(&mut set, A + P, 3 * P, Prot::READ).unwrap();
    mprotect(&mut set, A + P, 3 * P, Prot::RW).unwrap();
    assert_eq!(listed(&set), vec![anon(0, 5, Prot::RW)]);
}

#[test]
fn mprotect_of_the_head_or_tail_splits_a_region_in_two() {
    let mut set = set_of(&[anon(0, 4, Prot::RW)]);
    mprotect(&mut set, A, P, Prot::NONE).unwrap();
    mprotect(&mut set, A + 3 * P, 1, Prot::RX).unwrap();
    assert_eq!(
        listed(&set),
        vec![
            anon(0, 1, Prot::NONE),
            anon(1, 2, Prot::RW),
            anon(3, 1, Prot::RX)
        ]
    );
}

#[test]
fn mprotect_across_touching_regions_makes_one_region_of_the_same_kind() {
    let mut set = set_of(&[
        anon(0, 2, Prot::RW),
        anon(2, 2, Prot::READ),
        anon(4, 2, Prot::RX),
    ]);
    mprotect(&mut set, A + P, 4 * P, Prot::RW).unwrap();
    assert_eq!(
        listed(&set),
        vec![anon(0, 5, Prot::RW), anon(5, 1, Prot::RX)]
    );
}

#[test]
fn mprotect_never_merges_regions_of_different_kinds() {
    let heap = reg(0, 2, RegionKind::Heap, Prot::RW);
    let mut set = set_of(&[heap, anon(2, 2, Prot::READ)]);
    mprotect(&mut set, A + 2 * P, 2 * P, Prot::RW).unwrap();
    assert_eq!(listed(&set), vec![heap, anon(2, 2, Prot::RW)]);
}

#[test]
fn mprotect_stores_write_only_as_read_write_like_x86() {
    let mut set = set_of(&[anon(0, 2, Prot::READ)]);
    mprotect(&mut set, A, 2 * P, Prot::WRITE).unwrap();
    assert_eq!(listed(&set), vec![anon(0, 2, Prot::RW)]);
    mprotect(&mut set, A, P, Prot::EXEC).unwrap();
    assert_eq!(set.find(A).unwrap().prot, Prot::RX);
}

#[test]
fn mprotect_with_the_rights_a_region_already_has_changes_nothing() {
    let mut set = set_of(&[anon(0, 3, Prot::RW)]);
    let before = set.clone();
    mprotect(&mut set, A + P, P, Prot::RW).unwrap();
    assert_eq!(set, before);
}

#[test]
fn mprotect_across_a_gap_fails_with_not_mapped_and_changes_nothing() {
    let set = set_of(&[anon(0, 2, Prot::RW), anon(3, 2, Prot::RW)]);
    refused(&set, A, 5 * P, VmError::NotMapped);
    refused(&set, A + P, 3 * P, VmError::NotMapped);
}

#[test]
fn mprotect_of_a_range_sticking_out_of_its_region_is_not_mapped() {
    let set = set_of(&[anon(0, 2, Prot::RW)]);
    refused(&set, A - P, 2 * P, VmError::NotMapped);
    refused(&set, A + P, 2 * P, VmError::NotMapped);
    refused(&set, A + 4 * P, P, VmError::NotMapped);
}

#[test]
fn mprotect_touching_a_guard_region_fails_with_guard_and_changes_nothing() {
    let set = fresh_task_regions();
    refused(&set, GUARD_BOTTOM, P, VmError::Guard);
    refused(&set, GUARD_BOTTOM, 3 * P, VmError::Guard);
    let mut stack_only = set.clone();
    assert_eq!(
        mprotect(&mut stack_only, STACK_BOTTOM, P, Prot::READ),
        Ok(())
    );
}

#[test]
fn a_gap_is_reported_before_a_guard() {
    let set = fresh_task_regions();
    refused(&set, GUARD_BOTTOM - P, 2 * P, VmError::NotMapped);
}

#[test]
fn plan_protect_returns_the_page_rounded_range() {
    let set = set_of(&[anon(0, 4, Prot::RW)]);
    assert_eq!(plan_protect(&set, A, 1, Prot::READ), Ok(A..A + P));
    assert_eq!(
        plan_protect(&set, A, 3 * P - 1, Prot::READ),
        Ok(A..A + 3 * P)
    );
}

#[test]
#[should_panic(expected = "not fully mapped")]
fn protect_panics_on_a_range_with_a_gap() {
    let mut set = set_of(&[anon(0, 1, Prot::RW), anon(2, 1, Prot::RW)]);
    set.protect(A, A + 3 * P, Prot::READ);
}
