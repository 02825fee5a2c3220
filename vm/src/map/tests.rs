//! Unit tests for `map`: every placement, every error, first fit and commit.

use super::*;
use crate::addr::PAGE_SIZE;
use crate::layout::{GUARD_BOTTOM, STACK_TOP};
use crate::region::fresh_task_regions;
use crate::request::USER_SIZE;
use alloc::vec;

const P: u64 = PAGE_SIZE;
const U: u64 = USER_START;

fn req(len: u64, placement: Placement) -> MapRequest {
    MapRequest {
        len,
        kind: MapKind::Memory(Prot::RW),
        placement,
    }
}

fn anon(start: u64, pages: u64, prot: Prot) -> Region {
    Region {
        start,
        end: start + pages * P,
        kind: RegionKind::Anon,
        prot,
    }
}

fn kinded(start: u64, pages: u64, kind: RegionKind) -> Region {
    Region {
        start,
        end: start + pages * P,
        kind,
        prot: Prot::RW,
    }
}

fn set_of(regions: &[Region]) -> RegionSet {
    let mut set = RegionSet::new();
    for &r in regions {
        set.insert(r).unwrap();
    }
    set
}

/// Plans and commits `req`, returning the start of the new region.
fn map(set: &mut RegionSet, req: MapRequest) -> Result<u64, VmError> {
    let plan = plan_map(set, &req)?;
    commit_map(set, &plan);
    Ok(plan.region.start)
}

fn start_of(set: &RegionSet, req: MapRequest) -> Result<u64, VmError> {
    plan_map(set, &req).map(|plan| plan.region.start)
}

const PLACEMENTS: [Placement; 4] = [
    Placement::Anywhere,
    Placement::Hint(U),
    Placement::Fixed(U),
    Placement::FixedNoReplace(U),
];

#[test]
fn a_zero_length_is_refused_with_zero_length_for_every_placement() {
    let set = fresh_task_regions();
    for placement in PLACEMENTS {
        assert_eq!(plan_map(&set, &req(0, placement)), Err(VmError::ZeroLength));
    }
    assert_eq!(
        plan_map(&set, &req(0, Placement::Fixed(1))),
        Err(VmError::ZeroLength)
    );
}

#[test]
fn a_length_longer_than_the_user_part_is_out_of_range_for_every_placement() {
    let set = RegionSet::new();
    for placement in PLACEMENTS {
        for len in [USER_SIZE + 1, u64::MAX, u64::MAX - P + 2] {
            assert_eq!(
                plan_map(&set, &req(len, placement)),
                Err(VmError::OutOfRange)
            );
        }
    }
}

#[test]
fn lengths_are_rounded_up_to_whole_pages() {
    let set = RegionSet::new();
    for (len, pages) in [(1, 1), (P - 1, 1), (P, 1), (P + 1, 2), (3 * P, 3)] {
        let plan = plan_map(&set, &req(len, Placement::Anywhere)).unwrap();
        assert_eq!(plan.region.pages(), pages, "len {len}");
    }
}

#[test]
fn map_anywhere_in_a_fresh_task_takes_the_bottom_of_the_user_part() {
    let mut set = fresh_task_regions();
    assert_eq!(map(&mut set, req(2 * P, Placement::Anywhere)), Ok(U));
    assert_eq!(map(&mut set, req(P, Placement::Anywhere)), Ok(U + 2 * P));
    assert_eq!(set.pages(), 9 + 3);
}

#[test]
fn map_anywhere_takes_the_lowest_hole_that_fits_skipping_smaller_ones() {
    // Holes of 1, 3 and 2 pages above USER_START, then free space.
    let set = set_of(&[
        kinded(U + P, 1, RegionKind::Heap),
        kinded(U + 5 * P, 1, RegionKind::Heap),
        kinded(U + 8 * P, 1, RegionKind::Heap),
    ]);
    assert_eq!(start_of(&set, req(P, Placement::Anywhere)), Ok(U));
    assert_eq!(
        start_of(&set, req(2 * P, Placement::Anywhere)),
        Ok(U + 2 * P)
    );
    assert_eq!(
        start_of(&set, req(3 * P, Placement::Anywhere)),
        Ok(U + 2 * P)
    );
    assert_eq!(
        start_of(&set, req(4 * P, Placement::Anywhere)),
        Ok(U + 9 * P)
    );
}

#[test]
fn regions_made_by_map_are_anon_with_the_effective_rights_of_the_request() {
    let set = RegionSet::new();
    for (asked, got) in [
        (Prot::RW, Prot::RW),
        (Prot::READ, Prot::READ),
        (Prot::NONE, Prot::NONE),
        (Prot::WRITE, Prot::RW),
        (Prot::EXEC, Prot::RX),
        (Prot::WRITE | Prot::EXEC, Prot::RWX),
    ] {
        let plan = plan_map(
            &set,
            &MapRequest {
                kind: MapKind::Memory(asked),
                ..req(P, Placement::Anywhere)
            },
        )
        .unwrap();
        assert_eq!(plan.region, anon(U, 1, got), "{asked}");
        assert_eq!(plan.replaced, vec![]);
    }
}

#[test]
fn a_guard_request_makes_a_no_access_guard_region_whatever_the_prot() {
    let mut set = RegionSet::new();
    let guard = MapRequest {
        kind: MapKind::Guard,
        ..req(2 * P, Placement::Fixed(U + P))
    };
    assert_eq!(map(&mut set, guard), Ok(U + P));
    let r = set.find(U + P).unwrap();
    assert_eq!(
        (r.kind, r.prot, r.pages()),
        (RegionKind::Guard, Prot::NONE, 2)
    );
}

#[test]
fn a_hint_on_a_free_range_is_taken_as_is() {
    let set = fresh_task_regions();
    let at = 0x5000_0000;
    assert_eq!(start_of(&set, req(4 * P, Placement::Hint(at))), Ok(at));
}

#[test]
fn an_unaligned_hint_is_rounded_down_to_its_page() {
    let set = fresh_task_regions();
    let at = 0x5000_0000;
    assert_eq!(start_of(&set, req(P, Placement::Hint(at + 1))), Ok(at));
    assert_eq!(start_of(&set, req(P, Placement::Hint(at + P - 1))), Ok(at));
}

#[test]
fn a_hint_inside_a_region_gets_the_nearest_free_range_above_it() {
    let at = 0x5000_0000;
    let set = set_of(&[anon(at, 4, Prot::RW), anon(at + 5 * P, 1, Prot::READ)]);
    // One page fits in the hole between the two regions, two do not.
    assert_eq!(
        start_of(&set, req(P, Placement::Hint(at + P))),
        Ok(at + 4 * P)
    );
    assert_eq!(
        start_of(&set, req(2 * P, Placement::Hint(at + P))),
        Ok(at + 6 * P)
    );
}

#[test]
fn a_hint_with_no_room_above_it_wraps_to_the_lowest_free_range() {
    let set = fresh_task_regions();
    // Above the stack there is exactly MAP_END - STACK_TOP of free space.
    let above = MAP_END - STACK_TOP;
    assert_eq!(
        start_of(&set, req(above, Placement::Hint(GUARD_BOTTOM))),
        Ok(STACK_TOP)
    );
    assert_eq!(
        start_of(&set, req(above + P, Placement::Hint(GUARD_BOTTOM))),
        Ok(U)
    );
    assert_eq!(
        start_of(&set, req(P, Placement::Hint(MAP_END - P))),
        Ok(MAP_END - P)
    );
}

#[test]
fn a_hint_outside_the_user_part_is_not_an_error() {
    let set = fresh_task_regions();
    for hint in [0, U - P, MAP_END, u64::MAX] {
        assert_eq!(
            start_of(&set, req(P, Placement::Hint(hint))),
            Ok(U),
            "{hint:#x}"
        );
    }
}

#[test]
fn fixed_on_a_free_range_maps_exactly_there_and_replaces_nothing() {
    let mut set = fresh_task_regions();
    let at = 0x6000_0000;
    let plan = plan_map(&set, &req(2 * P, Placement::Fixed(at))).unwrap();
    assert_eq!(plan.replaced, vec![]);
    commit_map(&mut set, &plan);
    assert_eq!(set.find(at), Some(anon(at, 2, Prot::RW)));
    assert_eq!(set.pages(), 11);
}

#[test]
fn fixed_over_regions_replaces_exactly_the_overlapped_pieces() {
    let at = 0x6000_0000;
    let heap = kinded(at, 3, RegionKind::Heap);
    let ro = anon(at + 4 * P, 2, Prot::READ);
    let tail = anon(at + 7 * P, 3, Prot::RX);
    let mut set = set_of(&[heap, ro, tail]);
    let plan = plan_map(&set, &req(6 * P, Placement::Fixed(at + 2 * P))).unwrap();
    assert_eq!(
        plan.replaced,
        vec![
            kinded(at + 2 * P, 1, RegionKind::Heap),
            ro,
            anon(at + 7 * P, 1, Prot::RX)
        ]
    );
    commit_map(&mut set, &plan);
    let listed: Vec<Region> = set.iter().copied().collect();
    assert_eq!(
        listed,
        vec![
            kinded(at, 2, RegionKind::Heap),
            anon(at + 2 * P, 6, Prot::RW),
            anon(at + 8 * P, 2, Prot::RX)
        ]
    );
    assert_eq!(set.pages(), 10);
}

#[test]
fn fixed_may_replace_a_guard_region() {
    let mut set = fresh_task_regions();
    assert_eq!(
        map(&mut set, req(P, Placement::Fixed(GUARD_BOTTOM))),
        Ok(GUARD_BOTTOM)
    );
    assert_eq!(set.find(GUARD_BOTTOM).unwrap().kind, RegionKind::Anon);
    assert_eq!(set.pages(), 9);
}

#[test]
fn fixed_placements_refuse_an_unaligned_address() {
    let set = RegionSet::new();
    for addr in [U + 1, U + P - 1, u64::MAX] {
        assert_eq!(
            start_of(&set, req(P, Placement::Fixed(addr))),
            Err(VmError::Unaligned)
        );
        assert_eq!(
            start_of(&set, req(P, Placement::FixedNoReplace(addr))),
            Err(VmError::Unaligned)
        );
    }
}

#[test]
fn fixed_ranges_leaving_the_user_part_are_out_of_range() {
    let set = RegionSet::new();
    let cases = [
        (0, P),
        (U - P, P),
        (U - P, 2 * P),
        (MAP_END - P, 2 * P),
        (MAP_END, P),
        (u64::MAX - P + 1, P),
        (U + P, USER_SIZE),
    ];
    for (addr, len) in cases {
        for placement in [Placement::Fixed(addr), Placement::FixedNoReplace(addr)] {
            assert_eq!(
                start_of(&set, req(len, placement)),
                Err(VmError::OutOfRange),
                "{placement:?} {len:#x}"
            );
        }
    }
    assert_eq!(start_of(&set, req(USER_SIZE, Placement::Fixed(U))), Ok(U));
}

#[test]
fn no_replace_on_a_free_range_maps_exactly_there() {
    let mut set = fresh_task_regions();
    let at = 0x6000_0000;
    assert_eq!(map(&mut set, req(P, Placement::FixedNoReplace(at))), Ok(at));
    assert_eq!(
        map(&mut set, req(P, Placement::FixedNoReplace(at + P))),
        Ok(at + P)
    );
    assert_eq!(set.find(at), Some(anon(at, 2, Prot::RW)));
}

#[test]
fn no_replace_overlapping_even_one_page_is_overlap() {
    let at = 0x6000_0000;
    let set = set_of(&[anon(at, 2, Prot::RW)]);
    for (addr, pages) in [(at - P, 2), (at + P, 5), (at, 1), (at - 4 * P, 10)] {
        assert_eq!(
            start_of(&set, req(pages * P, Placement::FixedNoReplace(addr))),
            Err(VmError::Overlap),
            "{addr:#x}+{pages}"
        );
    }
    assert_eq!(
        start_of(&set, req(4 * P, Placement::FixedNoReplace(at - 4 * P))),
        Ok(at - 4 * P)
    );
}

#[test]
fn when_no_free_range_is_long_enough_anywhere_and_hint_fail_with_no_memory() {
    let mut set = set_of(&[kinded(U, USER_SIZE / P - 2, RegionKind::Heap)]);
    assert_eq!(
        start_of(&set, req(3 * P, Placement::Anywhere)),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        start_of(&set, req(3 * P, Placement::Hint(U))),
        Err(VmError::NoMemory)
    );
    assert_eq!(
        map(&mut set, req(2 * P, Placement::Hint(U))),
        Ok(MAP_END - 2 * P)
    );
    assert_eq!(
        start_of(&set, req(P, Placement::Anywhere)),
        Err(VmError::NoMemory)
    );
}

#[test]
fn commit_map_merges_with_touching_anon_regions_of_the_same_prot() {
    let mut set = RegionSet::new();
    assert_eq!(map(&mut set, req(P, Placement::Anywhere)), Ok(U));
    assert_eq!(
        map(&mut set, req(P, Placement::Fixed(U + 2 * P))),
        Ok(U + 2 * P)
    );
    assert_eq!(map(&mut set, req(P, Placement::Anywhere)), Ok(U + P));
    assert_eq!(
        set.iter().copied().collect::<Vec<_>>(),
        vec![anon(U, 3, Prot::RW)]
    );
    let ro = MapRequest {
        kind: MapKind::Memory(Prot::READ),
        ..req(P, Placement::Anywhere)
    };
    assert_eq!(map(&mut set, ro), Ok(U + 3 * P));
    assert_eq!(set.len(), 2);
}

#[test]
#[should_panic(expected = "stale plan")]
fn commit_map_panics_on_a_plan_made_before_the_range_was_taken() {
    let mut set = RegionSet::new();
    let plan = plan_map(&set, &req(P, Placement::Anywhere)).unwrap();
    set.insert(kinded(U, 1, RegionKind::Heap)).unwrap();
    commit_map(&mut set, &plan);
}

#[test]
fn find_free_starts_at_user_start_and_rounds_from_up_to_a_page() {
    let set = RegionSet::new();
    assert_eq!(set.find_free(P, 0), Some(U));
    assert_eq!(set.find_free(P, U + 1), Some(U + P));
    assert_eq!(set.find_free(P, U + P), Some(U + P));
}

#[test]
fn find_free_never_returns_a_range_past_the_user_part() {
    let set = RegionSet::new();
    assert_eq!(set.find_free(P, MAP_END - P), Some(MAP_END - P));
    assert_eq!(set.find_free(2 * P, MAP_END - P), None);
    assert_eq!(set.find_free(P, MAP_END), None);
    assert_eq!(set.find_free(P, u64::MAX), None);
    assert_eq!(set.find_free(USER_SIZE, 0), Some(U));
}

#[test]
fn find_free_skips_a_region_straddling_from() {
    let set = set_of(&[anon(U + P, 3, Prot::RW)]);
    assert_eq!(set.find_free(P, U + 2 * P), Some(U + 4 * P));
    assert_eq!(set.find_free(P, U), Some(U));
    assert_eq!(set.find_free(2 * P, U), Some(U + 4 * P));
}

#[test]
#[should_panic(expected = "bad length")]
fn find_free_panics_on_a_length_that_is_not_whole_pages() {
    RegionSet::new().find_free(P + 1, U);
}
