//! Unit tests for the seed mmap and sbrk.

use super::*;
use crate::addr::PAGE_SIZE;
use crate::region::fresh_task_regions;
use alloc::vec::Vec;

const P: u64 = PAGE_SIZE;
const BS: u64 = BREAK_START;

fn fresh() -> (Break, RegionSet) {
    (Break::new(), fresh_task_regions())
}

/// Plans and commits `sbrk(delta)`, returning the plan.
fn sbrk(b: &mut Break, regions: &mut RegionSet, delta: isize) -> Option<SbrkPlan> {
    let plan = b.plan_sbrk(regions, delta)?;
    b.commit_sbrk(regions, &plan);
    Some(plan)
}

fn kinds(regions: &RegionSet) -> Vec<(u64, u64, RegionKind)> {
    regions.iter().map(|r| (r.start, r.end, r.kind)).collect()
}

#[test]
fn a_new_break_sits_at_break_start_with_no_seed_mmap() {
    let b = Break::new();
    assert_eq!(b.current(), BREAK_START);
    assert_eq!(b.floor(), BREAK_START);
    assert!(!b.mmap_used());
    assert_eq!(Break::default(), b);
}

#[test]
fn the_seed_mmap_rejects_sizes_that_are_not_positive_multiples_of_a_page() {
    for nbytes in [
        0,
        -1234,
        100,
        1234,
        4097,
        -4096,
        4095,
        isize::MAX,
        isize::MIN,
        -1,
    ] {
        let (mut b, mut regions) = fresh();
        assert_eq!(b.mmap(&mut regions, nbytes), None, "mmap({nbytes})");
        assert_eq!((b, regions), fresh(), "mmap({nbytes}) changed state");
    }
}

#[test]
fn the_seed_mmap_of_one_page_returns_a_region_at_the_old_break() {
    let (mut b, mut regions) = fresh();
    let r = b.mmap(&mut regions, 4096).unwrap();
    assert_eq!(
        r,
        Region {
            start: BS,
            end: BS + P,
            kind: RegionKind::Mmap,
            prot: Prot::RW
        }
    );
    assert_eq!(b.current(), BS + P);
    assert_eq!(b.floor(), BS + P);
    assert!(b.mmap_used());
    assert_eq!(regions.find(BS), Some(r));
}

#[test]
fn the_seed_mmap_of_two_pages_adds_two_to_numvp() {
    let (mut b, mut regions) = fresh();
    assert_eq!(regions.pages(), 9);
    b.mmap(&mut regions, 8192).unwrap();
    assert_eq!(regions.pages(), 11);
}

#[test]
fn a_second_seed_mmap_fails_and_changes_nothing() {
    let (mut b, mut regions) = fresh();
    b.mmap(&mut regions, 4096).unwrap();
    let before = (b.clone(), regions.clone());
    assert_eq!(b.mmap(&mut regions, 4096), None);
    assert_eq!(b.mmap(&mut regions, 8192), None);
    assert_eq!((b, regions), before);
}

#[test]
fn a_failed_seed_mmap_does_not_use_up_the_one_call() {
    let (mut b, mut regions) = fresh();
    assert_eq!(b.mmap(&mut regions, 100), None);
    assert!(!b.mmap_used());
    assert_eq!(b.mmap(&mut regions, 4096).map(|r| r.start), Some(BS));
}

#[test]
fn the_seed_mmap_may_end_exactly_at_the_break_limit_but_not_past_it() {
    let limit_bytes = isize::try_from(BREAK_LIMIT - BS).unwrap();
    let (mut b, mut regions) = fresh();
    assert_eq!(b.mmap(&mut regions, limit_bytes + 4096), None);
    let r = b.mmap(&mut regions, limit_bytes).unwrap();
    assert_eq!((r.start, r.end), (BS, BREAK_LIMIT));
    assert_eq!(b.current(), BREAK_LIMIT);
}

#[test]
fn the_largest_page_multiple_isize_is_too_big_for_the_seed_mmap() {
    let (mut b, mut regions) = fresh();
    assert_eq!(b.mmap(&mut regions, isize::MAX - 4095), None);
    assert!(!b.mmap_used());
}

#[test]
fn the_seed_mmap_reports_address_overflow_as_none() {
    let mut regions = RegionSet::new();
    let mut near_top = Break {
        brk: u64::MAX - 100,
        mmap_used: false,
        heap_floor: BS,
    };
    assert_eq!(near_top.mmap(&mut regions, 4096), None);
    let mut aligned = Break {
        brk: u64::MAX - (2 * P - 1),
        mmap_used: false,
        heap_floor: BS,
    };
    assert_eq!(aligned.mmap(&mut regions, 4 * 4096), None);
    assert!(regions.is_empty());
}

#[test]
fn the_seed_mmap_fails_on_a_range_already_taken() {
    let (mut b, mut regions) = fresh();
    regions
        .insert(Region {
            start: BS + P,
            end: BS + 2 * P,
            kind: RegionKind::Mmap,
            prot: Prot::READ,
        })
        .unwrap();
    let before = regions.clone();
    assert_eq!(b.mmap(&mut regions, 8192), None);
    assert_eq!(regions, before);
    assert_eq!(b, Break::new());
}

#[test]
fn the_seed_mmap_after_sbrk_starts_at_the_page_rounded_break() {
    let (mut b, mut regions) = fresh();
    sbrk(&mut b, &mut regions, 10).unwrap();
    let r = b.mmap(&mut regions, 4096).unwrap();
    assert_eq!(r.start, BS + P);
    assert_eq!(b.current(), BS + 2 * P);
    assert_eq!(
        kinds(&regions)[..2],
        [
            (BS, BS + P, RegionKind::Heap),
            (BS + P, BS + 2 * P, RegionKind::Mmap)
        ]
    );
}

#[test]
fn sbrk_zero_plans_no_change_and_returns_the_break() {
    let (b, regions) = fresh();
    let plan = b.plan_sbrk(&regions, 0).unwrap();
    assert_eq!(
        plan,
        SbrkPlan {
            old_brk: BS,
            new_brk: BS,
            map: BS..BS,
            unmap: BS..BS
        }
    );
}

#[test]
fn planning_sbrk_changes_nothing() {
    let (b, regions) = fresh();
    let before = (b.clone(), regions.clone());
    b.plan_sbrk(&regions, 8192).unwrap();
    assert_eq!((b, regions), before);
}

#[test]
fn sbrk_growth_maps_the_pages_between_the_rounded_old_and_new_breaks() {
    let (mut b, mut regions) = fresh();
    let plan = sbrk(&mut b, &mut regions, 1).unwrap();
    assert_eq!(
        (plan.old_brk, plan.new_brk, plan.map.clone()),
        (BS, BS + 1, BS..BS + P)
    );
    assert!(plan.unmap.is_empty());
    assert_eq!(b.current(), BS + 1);
    assert_eq!(regions.pages(), 10);
    // Still inside the page already mapped: nothing to populate.
    let plan = sbrk(&mut b, &mut regions, 4095).unwrap();
    assert!(plan.map.is_empty() && plan.unmap.is_empty());
    assert_eq!(b.current(), BS + P);
    let plan = sbrk(&mut b, &mut regions, 1).unwrap();
    assert_eq!(plan.map, BS + P..BS + 2 * P);
    assert_eq!(regions.pages(), 11);
}

#[test]
fn successive_sbrk_growths_make_one_heap_region() {
    let (mut b, mut regions) = fresh();
    sbrk(&mut b, &mut regions, 4096).unwrap();
    sbrk(&mut b, &mut regions, 3 * 4096).unwrap();
    let heap: Vec<_> = regions
        .iter()
        .filter(|r| r.kind == RegionKind::Heap)
        .collect();
    assert_eq!(heap.len(), 1);
    assert_eq!(
        (heap[0].start, heap[0].end, heap[0].prot),
        (BS, BS + 4 * P, Prot::RW)
    );
}

#[test]
fn sbrk_shrinking_unmaps_the_pages_no_longer_under_the_break() {
    let (mut b, mut regions) = fresh();
    sbrk(&mut b, &mut regions, 3 * 4096).unwrap();
    let plan = sbrk(&mut b, &mut regions, -4097).unwrap();
    assert_eq!((plan.old_brk, plan.new_brk), (BS + 3 * P, BS + 2 * P - 1));
    assert!(plan.map.is_empty());
    assert_eq!(plan.unmap, BS + 2 * P..BS + 3 * P);
    assert_eq!(regions.pages(), 11);
    assert_eq!(regions.find(BS + 2 * P), None);
    assert_eq!(b.current(), BS + 2 * P - 1);
}

#[test]
fn sbrk_back_to_the_floor_removes_the_whole_heap() {
    let (mut b, mut regions) = fresh();
    sbrk(&mut b, &mut regions, 5000).unwrap();
    let plan = sbrk(&mut b, &mut regions, -5000).unwrap();
    assert_eq!(plan.unmap, BS..BS + 2 * P);
    assert_eq!((b, regions), fresh());
}

#[test]
fn sbrk_may_not_go_below_break_start() {
    let (b, regions) = fresh();
    assert_eq!(b.plan_sbrk(&regions, -1), None);
    assert_eq!(b.plan_sbrk(&regions, isize::MIN), None);
}

#[test]
fn sbrk_may_not_shrink_into_the_seed_mmap_region() {
    let (mut b, mut regions) = fresh();
    b.mmap(&mut regions, 8192).unwrap();
    assert_eq!(b.plan_sbrk(&regions, -1), None);
    sbrk(&mut b, &mut regions, 100).unwrap();
    assert_eq!(b.plan_sbrk(&regions, -101), None);
    let plan = sbrk(&mut b, &mut regions, -100).unwrap();
    assert_eq!(plan.unmap, BS + 2 * P..BS + 3 * P);
    assert_eq!(regions.pages(), 11);
}

#[test]
fn the_heap_above_the_seed_region_stays_a_separate_region() {
    let (mut b, mut regions) = fresh();
    sbrk(&mut b, &mut regions, 4096).unwrap();
    b.mmap(&mut regions, 4096).unwrap();
    sbrk(&mut b, &mut regions, 4096).unwrap();
    assert_eq!(
        kinds(&regions)[..3],
        [
            (BS, BS + P, RegionKind::Heap),
            (BS + P, BS + 2 * P, RegionKind::Mmap),
            (BS + 2 * P, BS + 3 * P, RegionKind::Heap)
        ]
    );
    assert_eq!(regions.pages(), 12);
}

#[test]
fn sbrk_may_reach_the_break_limit_but_not_pass_it() {
    let (mut b, mut regions) = fresh();
    let room = isize::try_from(BREAK_LIMIT - BS).unwrap();
    assert_eq!(b.plan_sbrk(&regions, room + 1), None);
    assert_eq!(b.plan_sbrk(&regions, isize::MAX), None);
    let plan = sbrk(&mut b, &mut regions, room).unwrap();
    assert_eq!(plan.map, BS..BREAK_LIMIT);
    assert_eq!(b.plan_sbrk(&regions, 1), None);
}

#[test]
fn sbrk_may_not_grow_onto_an_existing_region() {
    let (b, mut regions) = fresh();
    regions
        .insert(Region {
            start: BS + 2 * P,
            end: BS + 3 * P,
            kind: RegionKind::Mmap,
            prot: Prot::RW,
        })
        .unwrap();
    assert!(b.plan_sbrk(&regions, 8192).is_some());
    assert_eq!(b.plan_sbrk(&regions, 8193), None);
}

#[test]
#[should_panic(expected = "stale plan")]
fn committing_a_stale_plan_panics() {
    let (mut b, mut regions) = fresh();
    let plan = b.plan_sbrk(&regions, 4096).unwrap();
    b.commit_sbrk(&mut regions, &plan);
    b.commit_sbrk(&mut regions, &plan);
}
