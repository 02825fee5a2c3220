//! Property tests: the seed mmap and sbrk against a model of the break kept
//! in `i128` (so it cannot overflow), over random call sequences. After every
//! call the break area must be covered exactly up to the rounded break.

use lazuli_vm::layout::{BREAK_LIMIT, BREAK_START};
use lazuli_vm::{Break, PAGE_SIZE, Prot, RegionKind, fresh_task_regions, page_up};
use proptest::prelude::*;

const P: i128 = PAGE_SIZE as i128;

#[derive(Clone, Debug)]
enum Call {
    Mmap(isize),
    Sbrk(isize),
}

/// Sizes that hit every rule: small page multiples (some negative),
/// arbitrary small numbers, huge values and anything at all.
fn size() -> impl Strategy<Value = isize> {
    let limit = (BREAK_LIMIT - BREAK_START) as isize;
    prop_oneof![
        4 => (-8isize..40).prop_map(|n| n * 4096),
        4 => -20_000isize..20_000,
        1 => limit - 8192..limit + 8192,
        1 => any::<isize>(),
    ]
}

fn call() -> impl Strategy<Value = Call> {
    prop_oneof![1 => size().prop_map(Call::Mmap), 4 => size().prop_map(Call::Sbrk)]
}

/// The break as xv6 would describe it, with a seed region once mmap succeeded.
#[derive(Debug, Default)]
struct Model {
    brk: i128,
    floor: i128,
    seed: Option<(i128, i128)>,
}

fn round_up(a: i128) -> i128 {
    (a + P - 1) / P * P
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_break_area_is_covered_exactly_up_to_the_rounded_break(calls in prop::collection::vec(call(), 1..40)) {
        let start = i128::from(BREAK_START);
        let limit = i128::from(BREAK_LIMIT);
        let mut b = Break::new();
        let mut regions = fresh_task_regions();
        let mut m = Model { brk: start, floor: start, seed: None };
        for call in &calls {
            match *call {
                Call::Mmap(nbytes) => {
                    let at = round_up(m.brk);
                    let n = nbytes as i128;
                    let ok = m.seed.is_none() && n > 0 && n % P == 0 && at + n <= limit;
                    let got = b.mmap(&mut regions, nbytes);
                    prop_assert_eq!(got.map(|r| (i128::from(r.start), i128::from(r.end))), ok.then_some((at, at + n)));
                    if ok {
                        m.seed = Some((at, at + n));
                        m.brk = at + n;
                        m.floor = at + n;
                    }
                }
                Call::Sbrk(delta) => {
                    let new = m.brk + delta as i128;
                    let ok = m.floor <= new && new <= limit;
                    let pages_before = regions.pages();
                    let plan = b.plan_sbrk(&regions, delta);
                    prop_assert_eq!(plan.is_some(), ok, "sbrk({}) from {:#x}", delta, m.brk);
                    if let Some(plan) = plan {
                        prop_assert_eq!(i128::from(plan.old_brk), m.brk);
                        prop_assert_eq!(i128::from(plan.new_brk), new);
                        prop_assert!(plan.map.is_empty() || plan.unmap.is_empty());
                        b.commit_sbrk(&mut regions, &plan);
                        let grown = (plan.map.end - plan.map.start) / PAGE_SIZE;
                        let shrunk = (plan.unmap.end - plan.unmap.start) / PAGE_SIZE;
                        prop_assert_eq!(regions.pages(), pages_before + grown - shrunk);
                        m.brk = new;
                    }
                }
            }
            prop_assert_eq!(i128::from(b.current()), m.brk);
            prop_assert_eq!(i128::from(b.floor()), m.floor);
            prop_assert_eq!(b.mmap_used(), m.seed.is_some());
            let top = page_up(b.current()).unwrap();
            prop_assert_eq!(regions.pages(), 9 + (top - BREAK_START) / PAGE_SIZE);
            // Every region of the break area lies below the rounded break, is rw,
            // and is the seed region exactly when the model says so.
            for r in regions.iter().filter(|r| r.start < BREAK_LIMIT) {
                prop_assert!(BREAK_START <= r.start && r.end <= top, "{} outside the break area", r);
                prop_assert_eq!(r.prot, Prot::RW);
                let is_seed = m.seed == Some((i128::from(r.start), i128::from(r.end)));
                prop_assert_eq!(r.kind == RegionKind::Mmap, is_seed, "{}", r);
            }
        }
    }
}
