//! Unit tests for regions and the region set.

use super::*;
use crate::layout::USER_START;
use alloc::vec;
use alloc::vec::Vec;
use std::string::ToString;

const B: u64 = 0x1000_0000;
const P: u64 = PAGE_SIZE;

/// A region of `pages` pages starting `first` pages above `B`.
fn reg(first: u64, pages: u64, kind: RegionKind, prot: Prot) -> Region {
    Region {
        start: B + first * P,
        end: B + (first + pages) * P,
        kind,
        prot,
    }
}

fn mmap(first: u64, pages: u64) -> Region {
    reg(first, pages, RegionKind::Mmap, Prot::RW)
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

#[test]
fn a_region_is_its_half_open_range() {
    let r = mmap(0, 2);
    assert_eq!(r.len(), 2 * P);
    assert_eq!(r.pages(), 2);
    assert!(!r.contains(B - 1));
    assert!(r.contains(B));
    assert!(r.contains(B + 2 * P - 1));
    assert!(!r.contains(B + 2 * P));
}

#[test]
fn only_aligned_non_empty_regions_are_well_formed() {
    assert!(mmap(0, 1).is_well_formed());
    assert!(
        !Region {
            end: B,
            ..mmap(0, 1)
        }
        .is_well_formed()
    );
    assert!(
        !Region {
            start: B + 1,
            ..mmap(0, 1)
        }
        .is_well_formed()
    );
    assert!(
        !Region {
            end: B + P + 1,
            ..mmap(0, 1)
        }
        .is_well_formed()
    );
    assert!(
        !Region {
            start: B + P,
            end: B,
            ..mmap(0, 1)
        }
        .is_well_formed()
    );
}

#[test]
fn regions_and_kinds_display_as_range_kind_and_prot() {
    assert_eq!(
        Region {
            start: 0x4000_0000,
            end: 0x4000_2000,
            kind: RegionKind::Mmap,
            prot: Prot::RW
        }
        .to_string(),
        "0x40000000-0x40002000 mmap rw"
    );
    assert_eq!(RegionKind::Stack.to_string(), "stack");
    assert_eq!(RegionKind::Guard.to_string(), "guard");
    assert_eq!(RegionKind::Heap.to_string(), "heap");
    assert_eq!(RegionKind::Mmap.to_string(), "mmap");
}

#[test]
fn a_new_set_is_empty_with_no_pages() {
    let set = RegionSet::new();
    assert!(set.is_empty());
    assert_eq!(set.len(), 0);
    assert_eq!(set.pages(), 0);
    assert_eq!(set.find(B), None);
    assert_eq!(set.iter().count(), 0);
    assert_eq!(RegionSet::default(), set);
}

#[test]
fn an_inserted_region_is_found_at_every_byte_and_nowhere_else() {
    let set = set_of(&[mmap(1, 2)]);
    assert_eq!(set.len(), 1);
    assert_eq!(set.pages(), 2);
    assert_eq!(set.find(B + P - 1), None);
    assert_eq!(set.find(B + P), Some(mmap(1, 2)));
    assert_eq!(set.find(B + 2 * P + 123), Some(mmap(1, 2)));
    assert_eq!(set.find(B + 3 * P - 1), Some(mmap(1, 2)));
    assert_eq!(set.find(B + 3 * P), None);
}

#[test]
fn find_returns_none_in_a_gap_between_regions() {
    let set = set_of(&[mmap(0, 1), mmap(3, 1)]);
    assert_eq!(set.find(B + P), None);
    assert_eq!(set.find(B + 2 * P + 5), None);
    assert_eq!(set.find(B + 3 * P), Some(mmap(3, 1)));
    assert_eq!(set.find(0), None);
    assert_eq!(set.find(u64::MAX), None);
}

#[test]
fn insert_rejects_every_kind_of_overlap_and_changes_nothing() {
    let base = set_of(&[mmap(4, 4)]);
    let clashes = [
        mmap(4, 4),  // identical
        mmap(2, 3),  // covers the head
        mmap(7, 3),  // covers the tail
        mmap(5, 1),  // inside
        mmap(0, 12), // covers all
        reg(5, 1, RegionKind::Heap, Prot::READ),
    ];
    for clash in clashes {
        let mut set = base.clone();
        assert_eq!(set.insert(clash), Err(Overlap), "{clash}");
        assert_eq!(set, base, "{clash}");
    }
}

#[test]
fn insert_accepts_regions_that_only_touch_a_neighbour() {
    let mut set = set_of(&[mmap(4, 4)]);
    assert_eq!(set.insert(reg(2, 2, RegionKind::Heap, Prot::RW)), Ok(()));
    assert_eq!(set.insert(reg(8, 2, RegionKind::Heap, Prot::RW)), Ok(()));
    assert_eq!(set.len(), 3);
    assert_eq!(set.pages(), 8);
}

#[test]
fn insert_merges_with_a_left_neighbour_of_the_same_kind_and_prot() {
    let set = set_of(&[mmap(0, 2), mmap(2, 3)]);
    assert_eq!(listed(&set), vec![mmap(0, 5)]);
    assert_eq!(set.pages(), 5);
}

#[test]
fn insert_merges_with_a_right_neighbour_of_the_same_kind_and_prot() {
    let set = set_of(&[mmap(2, 3), mmap(0, 2)]);
    assert_eq!(listed(&set), vec![mmap(0, 5)]);
    assert_eq!(set.pages(), 5);
}

#[test]
fn insert_into_a_hole_merges_both_neighbours_into_one_region() {
    let set = set_of(&[mmap(0, 2), mmap(3, 2), mmap(2, 1)]);
    assert_eq!(listed(&set), vec![mmap(0, 5)]);
    assert_eq!(set.len(), 1);
    assert_eq!(set.pages(), 5);
}

#[test]
fn insert_keeps_touching_regions_of_another_kind_or_prot_apart() {
    let heap = reg(2, 1, RegionKind::Heap, Prot::RW);
    let read_only = reg(3, 1, RegionKind::Mmap, Prot::READ);
    let set = set_of(&[mmap(0, 2), heap, read_only]);
    assert_eq!(listed(&set), vec![mmap(0, 2), heap, read_only]);
    assert_eq!(set.pages(), 4);
}

#[test]
fn insert_does_not_merge_across_a_gap() {
    let set = set_of(&[mmap(0, 1), mmap(2, 1)]);
    assert_eq!(set.len(), 2);
}

#[test]
#[should_panic(expected = "malformed region")]
fn insert_panics_on_an_unaligned_region() {
    let _ = RegionSet::new().insert(Region {
        start: B + 1,
        ..mmap(0, 1)
    });
}

#[test]
#[should_panic(expected = "malformed region")]
fn insert_panics_on_an_empty_region() {
    let _ = RegionSet::new().insert(Region {
        end: B,
        ..mmap(0, 1)
    });
}

#[test]
fn iter_lists_regions_in_address_order() {
    let set = set_of(&[
        mmap(6, 1),
        reg(0, 1, RegionKind::Heap, Prot::RW),
        mmap(3, 1),
    ]);
    let starts: Vec<u64> = set.iter().map(|r| r.start).collect();
    assert_eq!(starts, vec![B, B + 3 * P, B + 6 * P]);
}

#[test]
fn overlaps_sees_any_shared_byte_but_not_touching_ends() {
    let set = set_of(&[mmap(2, 2)]);
    assert!(!set.overlaps(B, B + 2 * P));
    assert!(set.overlaps(B, B + 2 * P + 1));
    assert!(set.overlaps(B + 3 * P, B + 3 * P + 1));
    assert!(!set.overlaps(B + 4 * P, B + 9 * P));
    assert!(set.overlaps(0, u64::MAX));
    assert!(set.overlaps(B + 2 * P + 7, B + 2 * P + 8));
}

#[test]
fn overlaps_is_false_for_an_empty_or_reversed_range() {
    let set = set_of(&[mmap(2, 2)]);
    assert!(!set.overlaps(B + 2 * P, B + 2 * P));
    assert!(!set.overlaps(B + 3 * P, B + 2 * P));
}

#[test]
fn overlaps_finds_a_region_after_a_gap_inside_the_range() {
    let set = set_of(&[mmap(0, 1), mmap(5, 1)]);
    assert!(set.overlaps(B + P, B + 6 * P));
    assert!(!set.overlaps(B + P, B + 5 * P));
}

#[test]
fn remove_range_cuts_the_head_of_a_region() {
    let mut set = set_of(&[mmap(0, 4)]);
    assert_eq!(set.remove_range(B, B + P), vec![mmap(0, 1)]);
    assert_eq!(listed(&set), vec![mmap(1, 3)]);
    assert_eq!(set.pages(), 3);
}

#[test]
fn remove_range_cuts_the_tail_of_a_region() {
    let mut set = set_of(&[mmap(0, 4)]);
    assert_eq!(set.remove_range(B + 3 * P, B + 6 * P), vec![mmap(3, 1)]);
    assert_eq!(listed(&set), vec![mmap(0, 3)]);
    assert_eq!(set.pages(), 3);
}

#[test]
fn remove_range_in_the_middle_splits_a_region_in_two() {
    let mut set = set_of(&[mmap(0, 5)]);
    assert_eq!(set.remove_range(B + P, B + 3 * P), vec![mmap(1, 2)]);
    assert_eq!(listed(&set), vec![mmap(0, 1), mmap(3, 2)]);
    assert_eq!(set.pages(), 3);
}

#[test]
fn remove_range_of_a_whole_region_deletes_it() {
    let mut set = set_of(&[mmap(0, 2), reg(4, 1, RegionKind::Heap, Prot::RW)]);
    assert_eq!(set.remove_range(B, B + 2 * P), vec![mmap(0, 2)]);
    assert_eq!(listed(&set), vec![reg(4, 1, RegionKind::Heap, Prot::RW)]);
    assert_eq!(set.pages(), 1);
}

#[test]
fn remove_range_spanning_regions_and_gaps_returns_each_piece_in_order() {
    let heap = |first, pages| reg(first, pages, RegionKind::Heap, Prot::RW);
    let ro = |first, pages| reg(first, pages, RegionKind::Mmap, Prot::READ);
    let mut set = set_of(&[heap(0, 3), ro(4, 2), mmap(7, 3)]);
    let removed = set.remove_range(B + 2 * P, B + 8 * P);
    assert_eq!(removed, vec![heap(2, 1), ro(4, 2), mmap(7, 1)]);
    assert_eq!(listed(&set), vec![heap(0, 2), mmap(8, 2)]);
    assert_eq!(set.pages(), 4);
}

#[test]
fn remove_range_over_a_gap_removes_nothing() {
    let mut set = set_of(&[mmap(0, 1), mmap(5, 1)]);
    let before = set.clone();
    assert_eq!(set.remove_range(B + P, B + 5 * P), vec![]);
    assert_eq!(set, before);
}

#[test]
fn remove_range_of_an_empty_range_removes_nothing() {
    let mut set = set_of(&[mmap(0, 4)]);
    assert_eq!(set.remove_range(B + P, B + P), vec![]);
    assert_eq!(listed(&set), vec![mmap(0, 4)]);
}

#[test]
fn reinserting_a_removed_piece_restores_the_single_region() {
    let mut set = set_of(&[mmap(0, 5)]);
    let removed = set.remove_range(B + 2 * P, B + 3 * P);
    assert_eq!(set.len(), 2);
    set.insert(removed[0]).unwrap();
    assert_eq!(listed(&set), vec![mmap(0, 5)]);
    assert_eq!(set.pages(), 5);
}

#[test]
#[should_panic(expected = "bad range")]
fn remove_range_panics_on_an_unaligned_end() {
    set_of(&[mmap(0, 4)]).remove_range(B, B + 5);
}

#[test]
#[should_panic(expected = "bad range")]
fn remove_range_panics_on_a_reversed_range() {
    set_of(&[mmap(0, 4)]).remove_range(B + P, B);
}

#[test]
fn clear_removes_every_region_and_page() {
    let mut set = set_of(&[mmap(0, 1), mmap(5, 2)]);
    set.clear();
    assert!(set.is_empty());
    assert_eq!(set.pages(), 0);
    assert_eq!(set.find(B), None);
}

#[test]
fn a_fresh_task_has_a_stack_and_a_guard_and_nine_pages() {
    let set = fresh_task_regions();
    let guard = Region {
        start: GUARD_BOTTOM,
        end: STACK_BOTTOM,
        kind: RegionKind::Guard,
        prot: Prot::NONE,
    };
    let stack = Region {
        start: STACK_BOTTOM,
        end: STACK_TOP,
        kind: RegionKind::Stack,
        prot: Prot::RW,
    };
    assert_eq!(listed(&set), vec![guard, stack]);
    assert_eq!(set.pages(), 9);
    assert_eq!(set.find(STACK_TOP - 1), Some(stack));
    assert_eq!(set.find(STACK_BOTTOM - 1), Some(guard));
    assert_eq!(set.find(GUARD_BOTTOM - 1), None);
    assert_eq!(set.find(STACK_TOP), None);
    assert_eq!(set.find(USER_START), None);
}

#[test]
fn anon_regions_display_their_kind_as_anon() {
    assert_eq!(RegionKind::Anon.to_string(), "anon");
    assert_eq!(
        reg(0, 1, RegionKind::Anon, Prot::RX).to_string(),
        "0x10000000-0x10001000 anon rx"
    );
}

#[test]
fn regions_of_another_kind_do_not_merge_with_anon_ones() {
    let anon = reg(2, 2, RegionKind::Anon, Prot::RW);
    let set = set_of(&[mmap(0, 2), anon, reg(4, 1, RegionKind::Anon, Prot::RW)]);
    assert_eq!(
        listed(&set),
        vec![mmap(0, 2), reg(2, 3, RegionKind::Anon, Prot::RW)]
    );
}

#[test]
fn regions_in_lists_every_region_sharing_a_byte_with_the_range_unclipped() {
    let heap = reg(0, 3, RegionKind::Heap, Prot::RW);
    let ro = reg(4, 2, RegionKind::Mmap, Prot::READ);
    let set = set_of(&[heap, ro, mmap(7, 3)]);
    let within = |start, end| -> Vec<Region> { set.regions_in(start, end).copied().collect() };
    assert_eq!(within(B + 2 * P, B + 8 * P), vec![heap, ro, mmap(7, 3)]);
    assert_eq!(within(B + P, B + 2 * P), vec![heap]);
    assert_eq!(within(B + 3 * P, B + 4 * P), vec![]);
    assert_eq!(within(B + 3 * P, B + 4 * P + 1), vec![ro]);
    assert_eq!(within(B + 6 * P, B + 7 * P), vec![]);
    assert_eq!(within(0, u64::MAX), vec![heap, ro, mmap(7, 3)]);
}

#[test]
fn regions_in_an_empty_or_reversed_range_is_empty() {
    let set = set_of(&[mmap(0, 4)]);
    assert_eq!(set.regions_in(B + P, B + P).count(), 0);
    assert_eq!(set.regions_in(B + 2 * P, B + P).count(), 0);
}

#[test]
fn a_set_displays_one_region_per_line_then_its_page_total() {
    let set = set_of(&[mmap(0, 2), reg(4, 1, RegionKind::Guard, Prot::NONE)]);
    assert_eq!(
        set.to_string(),
        "0x10000000-0x10002000 mmap rw\n0x10004000-0x10005000 guard none\n3 pages"
    );
    assert_eq!(RegionSet::new().to_string(), "0 pages");
}

#[test]
fn covers_needs_every_byte_of_the_range_in_some_region() {
    let heap = reg(0, 2, RegionKind::Heap, Prot::RW);
    let set = set_of(&[heap, mmap(2, 2), mmap(5, 1)]);
    assert!(set.covers(B, B + 4 * P));
    assert!(set.covers(B + P, B + 3 * P + 1));
    assert!(set.covers(B + 5 * P, B + 6 * P));
    assert!(!set.covers(B, B + 5 * P));
    assert!(!set.covers(B + 3 * P, B + 6 * P));
    assert!(!set.covers(B - 1, B + P));
    assert!(!set.covers(B + 5 * P, B + 6 * P + 1));
    assert!(!set.covers(B + 7 * P, B + 8 * P));
}

#[test]
fn an_empty_range_is_covered_even_where_nothing_is_mapped() {
    let set = RegionSet::new();
    assert!(set.covers(B, B));
    assert!(set.covers(B + P, B));
}

#[test]
fn find_forgets_the_region_it_remembered_when_the_set_changes() {
    let mut set = set_of(&[mmap(0, 2)]);
    assert_eq!(set.find(B), Some(mmap(0, 2))); // remembered now
    set.insert(mmap(2, 2)).unwrap(); // merges with it
    assert_eq!(set.find(B), Some(mmap(0, 4)));
    set.remove_range(B + P, B + 2 * P); // splits it
    assert_eq!(set.find(B), Some(mmap(0, 1)));
    assert_eq!(set.find(B + P), None);
    set.clear();
    assert_eq!(set.find(B), None);
}

#[test]
fn which_region_find_remembers_does_not_make_sets_unequal() {
    let a = set_of(&[mmap(0, 1), mmap(4, 1)]);
    let b = a.clone();
    a.find(B);
    b.find(B + 4 * P);
    assert_eq!(a, b);
}
