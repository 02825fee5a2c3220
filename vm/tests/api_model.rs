//! Property tests of the extended API: random sequences of `map` (every
//! placement, guards too), `munmap` and `mprotect` on a fresh task, planned
//! and committed as the kernel does, against a model that is obviously
//! right: a map from page number to (kind, prot), with first fit written as
//! "the lowest page whose next n pages are all free".
//!
//! After every call: the region list is exactly the maximal runs of the
//! model (so regions never overlap and equal neighbours are merged), the page
//! total and `find` agree with the model, `find_free` is the model's first
//! fit, and a refused call changed nothing.

use std::collections::BTreeMap;

use lazuli_vm::layout::{GUARD_BOTTOM, MAP_END, STACK_TOP, USER_START};
use lazuli_vm::request::USER_SIZE;
use lazuli_vm::{
    MapKind, MapRequest, PAGE_SIZE, Placement, Prot, Region, RegionKind, RegionSet, VmError,
    commit_map, fresh_task_regions, plan_map, plan_protect, plan_unmap,
};
use proptest::prelude::*;

const P: u64 = PAGE_SIZE;
const FIRST: u64 = USER_START / P;
const LAST: u64 = MAP_END / P;

type Model = BTreeMap<u64, (RegionKind, Prot)>;

#[derive(Clone, Debug)]
enum Op {
    Map(MapRequest),
    Unmap { addr: u64, len: u64 },
    Protect { addr: u64, len: u64, prot: Prot },
}

/// Where calls aim: the bottom of the user part (where first fit puts
/// things), around the stack and its guard, the top edge, or anywhere.
fn addr() -> impl Strategy<Value = u64> {
    let near = |base: u64, pages: u64| {
        (0..pages, prop_oneof![6 => Just(0u64), 1 => 1..P])
            .prop_map(move |(page, offset)| base + page * P + offset)
    };
    prop_oneof![
        8 => near(USER_START - 2 * P, 40),
        3 => near(GUARD_BOTTOM - 6 * P, 18),
        2 => near(MAP_END - 6 * P, 8),
        1 => any::<u64>(),
    ]
}

/// Lengths: a few pages (zero included), odd byte counts, and a few that
/// can never fit (longer than the user part, or overflowing when rounded).
fn len() -> impl Strategy<Value = u64> {
    prop_oneof![
        8 => (0..=10u64).prop_map(|pages| pages * P),
        3 => 1..10 * P,
        1 => prop_oneof![Just(USER_SIZE + 1), Just(u64::MAX), USER_SIZE + 1..=u64::MAX],
    ]
}

/// Ranges for `mprotect`, which needs every page mapped: mostly a few
/// aligned pages at the bottom of the user part, where first fit packs
/// regions, else anything `addr()` and `len()` make.
fn mapped_range() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![
        3 => (0..16u64, 1..=4u64).prop_map(|(page, pages)| (USER_START + page * P, pages * P)),
        2 => (addr(), len()),
    ]
}

fn prot() -> impl Strategy<Value = Prot> {
    (0u8..8).prop_map(|bits| {
        let mut p = Prot::NONE;
        for (bit, right) in [(1, Prot::READ), (2, Prot::WRITE), (4, Prot::EXEC)] {
            if bits & bit != 0 {
                p |= right;
            }
        }
        p
    })
}

fn placement() -> impl Strategy<Value = Placement> {
    prop_oneof![
        3 => Just(Placement::Anywhere),
        2 => addr().prop_map(Placement::Hint),
        2 => addr().prop_map(Placement::Fixed),
        2 => addr().prop_map(Placement::FixedNoReplace),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let request = (len(), prot(), placement(), prop::bool::weighted(0.15)).prop_map(
        |(len, prot, placement, guard)| MapRequest {
            len,
            kind: if guard {
                MapKind::Guard
            } else {
                MapKind::Memory(prot)
            },
            placement,
        },
    );
    prop_oneof![
        5 => request.prop_map(Op::Map),
        3 => (addr(), len()).prop_map(|(addr, len)| Op::Unmap { addr, len }),
        3 => (mapped_range(), prot()).prop_map(|((addr, len), prot)| Op::Protect { addr, len, prot }),
    ]
}

/// Pages in `len` bytes, as the model reads the length rules.
fn model_pages(len: u64) -> Result<u64, VmError> {
    if len == 0 {
        return Err(VmError::ZeroLength);
    }
    let pages = (u128::from(len) + u128::from(P) - 1) / u128::from(P);
    if pages * u128::from(P) > u128::from(USER_SIZE) {
        return Err(VmError::OutOfRange);
    }
    Ok(pages as u64)
}

/// The pages `first..first + n` named by `(addr, len)`, or the error.
fn model_range(addr: u64, len: u64) -> Result<(u64, u64), VmError> {
    let n = model_pages(len)?;
    if !addr.is_multiple_of(P) {
        return Err(VmError::Unaligned);
    }
    let (first, end) = (addr / P, addr / P + n);
    if first < FIRST || end > LAST {
        return Err(VmError::OutOfRange);
    }
    Ok((first, n))
}

/// First fit: the lowest page `p >= from` whose pages `p..p + n` are all
/// free and end by the top of the user part.
fn model_fit(model: &Model, n: u64, from: u64) -> Option<u64> {
    let mut candidate = from.max(FIRST);
    loop {
        if candidate.checked_add(n)? > LAST {
            return None;
        }
        match model.range(candidate..candidate + n).next_back() {
            Some((&taken, _)) => candidate = taken + 1,
            None => return Some(candidate),
        }
    }
}

/// The maximal runs of consecutive pages with one kind and prot.
fn runs<'a>(pages: impl Iterator<Item = (&'a u64, &'a (RegionKind, Prot))>) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    for (&page, &(kind, prot)) in pages {
        match out.last_mut() {
            Some(r) if r.end == page * P && r.kind == kind && r.prot == prot => r.end += P,
            _ => out.push(Region {
                start: page * P,
                end: (page + 1) * P,
                kind,
                prot,
            }),
        }
    }
    out
}

/// Every page of `regions` with its kind and prot, in order.
fn expand(regions: &[Region]) -> Vec<(u64, (RegionKind, Prot))> {
    regions
        .iter()
        .flat_map(|r| (r.start / P..r.end / P).map(move |p| (p, (r.kind, r.prot))))
        .collect()
}

fn model_map(model: &Model, req: &MapRequest) -> Result<(Region, Vec<Region>), VmError> {
    let (first, n, replaced) = match req.placement {
        Placement::Anywhere => {
            let n = model_pages(req.len)?;
            let first = model_fit(model, n, FIRST).ok_or(VmError::NoMemory)?;
            (first, n, vec![])
        }
        Placement::Hint(hint) => {
            let n = model_pages(req.len)?;
            let first = model_fit(model, n, hint / P)
                .or_else(|| model_fit(model, n, FIRST))
                .ok_or(VmError::NoMemory)?;
            (first, n, vec![])
        }
        Placement::Fixed(addr) => {
            let (first, n) = model_range(addr, req.len)?;
            (first, n, runs(model.range(first..first + n)))
        }
        Placement::FixedNoReplace(addr) => {
            let (first, n) = model_range(addr, req.len)?;
            if model.range(first..first + n).next().is_some() {
                return Err(VmError::Overlap);
            }
            (first, n, vec![])
        }
    };
    let (kind, prot) = match req.kind {
        MapKind::Guard => (RegionKind::Guard, Prot::NONE),
        MapKind::Memory(prot) => (RegionKind::Anon, prot.effective()),
        MapKind::File { .. } => unreachable!("the model makes no file mappings"),
    };
    let region = Region {
        start: first * P,
        end: (first + n) * P,
        kind,
        prot,
    };
    Ok((region, replaced))
}

fn step(set: &mut RegionSet, model: &mut Model, op: &Op) -> Result<(), TestCaseError> {
    let before = set.clone();
    let refused = match *op {
        Op::Map(req) => {
            let expected = model_map(model, &req);
            let got = plan_map(set, &req).map(|plan| {
                commit_map(set, &plan);
                (plan.region, plan.replaced)
            });
            prop_assert_eq!(&got, &expected);
            if let Ok((region, _)) = got {
                let pages = region.start / P..region.end / P;
                model.retain(|p, _| !pages.contains(p));
                model.extend(pages.map(|p| (p, (region.kind, region.prot))));
            }
            got.is_err()
        }
        Op::Unmap { addr, len } => {
            let expected = model_range(addr, len).map(|(first, n)| first * P..(first + n) * P);
            let got = plan_unmap(set, addr, len);
            prop_assert_eq!(&got, &expected);
            if let Ok(range) = &got {
                let removed = set.remove_range(range.start, range.end);
                let pages = range.start / P..range.end / P;
                let want: Vec<_> = model.range(pages.clone()).map(|(&p, &v)| (p, v)).collect();
                prop_assert_eq!(expand(&removed), want);
                model.retain(|p, _| !pages.contains(p));
            }
            got.is_err()
        }
        Op::Protect { addr, len, prot } => {
            let expected = model_range(addr, len).and_then(|(first, n)| {
                let pages = first..first + n;
                if model.range(pages.clone()).count() as u64 != n {
                    Err(VmError::NotMapped)
                } else if model
                    .range(pages)
                    .any(|(_, &(k, _))| k == RegionKind::Guard)
                {
                    Err(VmError::Guard)
                } else {
                    Ok(first * P..(first + n) * P)
                }
            });
            let got = plan_protect(set, addr, len, prot);
            prop_assert_eq!(&got, &expected);
            if let Ok(range) = &got {
                set.protect(range.start, range.end, prot);
                for page in range.start / P..range.end / P {
                    model.get_mut(&page).expect("covered").1 = prot.effective();
                }
            }
            got.is_err()
        }
    };
    if refused {
        prop_assert_eq!(&*set, &before, "a refused call changed the regions");
    }
    Ok(())
}

/// Pages whose `find` is checked: the three windows the calls aim at.
fn watched_pages() -> impl Iterator<Item = u64> {
    (FIRST - 2..FIRST + 44)
        .chain(GUARD_BOTTOM / P - 8..STACK_TOP / P + 12)
        .chain(LAST - 8..LAST + 2)
}

fn check(set: &RegionSet, model: &Model) -> Result<(), TestCaseError> {
    let listed: Vec<Region> = set.iter().copied().collect();
    for w in listed.windows(2) {
        prop_assert!(w[0].end <= w[1].start, "overlap or disorder: {:?}", w);
        prop_assert!(
            w[0].end < w[1].start || w[0].kind != w[1].kind || w[0].prot != w[1].prot,
            "equal neighbours not merged: {:?}",
            w
        );
    }
    prop_assert_eq!(&listed, &runs(model.iter()));
    prop_assert_eq!(set.pages(), model.len() as u64);
    for page in watched_pages() {
        let got = set.find(page * P + 7).map(|r| (r.kind, r.prot));
        prop_assert_eq!(got, model.get(&page).copied(), "find({:#x})", page * P);
    }
    for n in 1..=4 {
        prop_assert_eq!(
            set.find_free(n * P, USER_START).map(|a| a / P),
            model_fit(model, n, FIRST),
            "first fit of {} pages",
            n
        );
    }
    Ok(())
}

fn fresh_model() -> Model {
    let mut model = Model::new();
    for r in fresh_task_regions().iter() {
        model.extend((r.start / P..r.end / P).map(|p| (p, (r.kind, r.prot))));
    }
    model
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn map_munmap_and_mprotect_agree_with_a_page_model_after_any_sequence(
        ops in prop::collection::vec(op(), 1..48),
    ) {
        let mut set = fresh_task_regions();
        let mut model = fresh_model();
        check(&set, &model)?;
        for op in &ops {
            step(&mut set, &mut model, op)?;
            check(&set, &model)?;
        }
    }

    #[test]
    fn first_fit_returns_the_lowest_address_where_the_request_fits(
        ops in prop::collection::vec(op(), 0..32),
        pages in 1..12u64,
        from in addr(),
    ) {
        let mut set = fresh_task_regions();
        let mut model = fresh_model();
        for op in &ops {
            step(&mut set, &mut model, op)?;
        }
        let got = set.find_free(pages * P, from);
        prop_assert_eq!(got.map(|a| a / P), model_fit(&model, pages, from.div_ceil(P)));
        if let Some(a) = got {
            prop_assert!(!set.overlaps(a, a + pages * P));
            prop_assert!(a >= from && a >= USER_START && a + pages * P <= MAP_END);
            // Nothing lower (at or above `from`) fits.
            let lower_fits = (from.div_ceil(P).max(FIRST)..a / P)
                .any(|p| !set.overlaps(p * P, (p + pages) * P));
            prop_assert!(!lower_fits);
        }
    }
}
