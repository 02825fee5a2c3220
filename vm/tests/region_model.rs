//! Property tests: `RegionSet` against a model that is obviously right, a map
//! from page number to (kind, prot), over random insert / remove_range /
//! clear sequences on a small window of pages so that regions collide,
//! touch and merge often.

use std::collections::BTreeMap;

use lazuli_vm::{Overlap, PAGE_SIZE, Prot, Region, RegionKind, RegionSet};
use proptest::prelude::*;

const BASE: u64 = 0x1000_0000;
const WINDOW: u64 = 48;
/// Pages checked after each step: the window plus the furthest an op reaches.
const CHECKED: u64 = WINDOW + 24;

type Model = BTreeMap<u64, (RegionKind, Prot)>;

#[derive(Clone, Debug)]
enum Op {
    Insert {
        first: u64,
        pages: u64,
        kind: RegionKind,
        prot: Prot,
    },
    Remove {
        first: u64,
        pages: u64,
    },
    Overlaps {
        first: u64,
        pages: u64,
    },
    Clear,
}

fn addr(page: u64) -> u64 {
    BASE + page * PAGE_SIZE
}

fn kind() -> impl Strategy<Value = RegionKind> {
    prop_oneof![
        3 => Just(RegionKind::Mmap),
        2 => Just(RegionKind::Anon),
        2 => Just(RegionKind::Heap),
        1 => Just(RegionKind::Stack),
        1 => Just(RegionKind::Guard),
    ]
}

fn prot() -> impl Strategy<Value = Prot> {
    prop_oneof![3 => Just(Prot::RW), 1 => Just(Prot::READ), 1 => Just(Prot::NONE), 1 => Just(Prot::RX)]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..WINDOW, 1..=8u64, kind(), prot()).prop_map(|(first, pages, kind, prot)| Op::Insert { first, pages, kind, prot }),
        4 => (0..WINDOW + 4, 0..=12u64).prop_map(|(first, pages)| Op::Remove { first, pages }),
        2 => (0..WINDOW + 4, 0..=12u64).prop_map(|(first, pages)| Op::Overlaps { first, pages }),
        1 => Just(Op::Clear),
    ]
}

/// The maximal runs of consecutive pages with one kind and prot: the only
/// region list a merged, non-overlapping set may hold.
fn runs(model: &Model) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    for (&page, &(kind, prot)) in model {
        match out.last_mut() {
            Some(r) if r.end == addr(page) && r.kind == kind && r.prot == prot => {
                r.end += PAGE_SIZE
            }
            _ => out.push(Region {
                start: addr(page),
                end: addr(page + 1),
                kind,
                prot,
            }),
        }
    }
    out
}

/// Every page of `regions`, in order, with its kind and prot.
fn expand(regions: &[Region]) -> Vec<(u64, (RegionKind, Prot))> {
    regions
        .iter()
        .flat_map(|r| {
            (r.start..r.end)
                .step_by(PAGE_SIZE as usize)
                .map(move |a| ((a - BASE) / PAGE_SIZE, (r.kind, r.prot)))
        })
        .collect()
}

fn step(set: &mut RegionSet, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Insert {
            first,
            pages,
            kind,
            prot,
        } => {
            let range = first..first + pages;
            let free = range.clone().all(|p| !model.contains_key(&p));
            let got = set.insert(Region {
                start: addr(first),
                end: addr(first + pages),
                kind,
                prot,
            });
            prop_assert_eq!(got, if free { Ok(()) } else { Err(Overlap) });
            if free {
                model.extend(range.map(|p| (p, (kind, prot))));
            }
        }
        Op::Remove { first, pages } => {
            let removed = set.remove_range(addr(first), addr(first + pages));
            let expected: Vec<_> = model
                .range(first..first + pages)
                .map(|(&p, &v)| (p, v))
                .collect();
            prop_assert!(
                removed.windows(2).all(|w| w[0].end <= w[1].start),
                "pieces out of order: {:?}",
                removed
            );
            prop_assert!(removed.iter().all(Region::is_well_formed));
            prop_assert_eq!(expand(&removed), expected);
            model.retain(|p, _| !(first..first + pages).contains(p));
        }
        Op::Overlaps { first, pages } => {
            let expected = model.range(first..first + pages).next().is_some();
            prop_assert_eq!(set.overlaps(addr(first), addr(first + pages)), expected);
        }
        Op::Clear => {
            set.clear();
            model.clear();
        }
    }
    Ok(())
}

fn check(set: &RegionSet, model: &Model) -> Result<(), TestCaseError> {
    let listed: Vec<Region> = set.iter().copied().collect();
    for r in &listed {
        prop_assert!(r.is_well_formed(), "malformed {:?}", r);
    }
    for w in listed.windows(2) {
        prop_assert!(w[0].end <= w[1].start, "overlap or disorder: {:?}", w);
        prop_assert!(
            w[0].end < w[1].start || w[0].kind != w[1].kind || w[0].prot != w[1].prot,
            "touching regions of one sort not merged: {:?}",
            w
        );
    }
    prop_assert_eq!(&listed, &runs(model));
    prop_assert_eq!(set.pages(), model.len() as u64);
    prop_assert_eq!(set.len(), listed.len());
    prop_assert_eq!(set.is_empty(), model.is_empty());
    for page in 0..CHECKED {
        let want = model.get(&page).copied();
        for a in [addr(page), addr(page) + 1, addr(page + 1) - 1] {
            let got = set.find(a);
            prop_assert_eq!(got.map(|r| (r.kind, r.prot)), want, "find({:#x})", a);
            // The whole region as listed: what `find` remembers from before the
            // last change (a region since merged, split or gone) must not answer.
            let listed_one = listed.iter().find(|r| r.contains(a)).copied();
            prop_assert_eq!(got, listed_one, "find({:#x}) after a change", a);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn region_set_agrees_with_a_page_model_after_any_sequence(ops in prop::collection::vec(op(), 1..64)) {
        let mut set = RegionSet::new();
        let mut model = Model::new();
        for op in &ops {
            step(&mut set, &mut model, op)?;
            check(&set, &model)?;
        }
    }

    #[test]
    fn a_clone_is_independent_of_its_original(ops in prop::collection::vec(op(), 1..32), more in prop::collection::vec(op(), 1..32)) {
        let mut set = RegionSet::new();
        let mut model = Model::new();
        for op in &ops {
            step(&mut set, &mut model, op)?;
        }
        let (snapshot, snapshot_model) = (set.clone(), model.clone());
        for op in &more {
            step(&mut set, &mut model, op)?;
        }
        check(&snapshot, &snapshot_model)?;
    }
}
