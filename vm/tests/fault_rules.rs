//! Property tests: `resolve_fault` over random regions, addresses and
//! accesses obeys the rules of the fault decision.

use lazuli_vm::layout::is_user;
use lazuli_vm::{
    Access, FaultAction, PAGE_SIZE, Prot, Region, RegionKind, RegionSet, Why, page_down,
    resolve_fault,
};
use proptest::prelude::*;

const BASE: u64 = 0x4000_0000;

fn kind() -> impl Strategy<Value = RegionKind> {
    prop_oneof![
        Just(RegionKind::Mmap),
        Just(RegionKind::Anon),
        Just(RegionKind::Heap),
        Just(RegionKind::Stack),
        Just(RegionKind::Guard)
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

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::Read), Just(Access::Write), Just(Access::Exec)]
}

fn regions() -> impl Strategy<Value = RegionSet> {
    prop::collection::vec((0u64..32, 1u64..4, kind(), prot()), 0..8).prop_map(|specs| {
        let mut set = RegionSet::new();
        for (first, pages, kind, prot) in specs {
            let start = BASE + first * PAGE_SIZE;
            let _ = set.insert(Region {
                start,
                end: start + pages * PAGE_SIZE,
                kind,
                prot,
            });
        }
        set
    })
}

fn allowed(prot: Prot, access: Access) -> bool {
    let p = prot.effective();
    match access {
        Access::Read => p.readable(),
        Access::Write => p.writable(),
        Access::Exec => p.executable(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn the_fault_decision_follows_the_rules(
        set in regions(),
        offset in 0u64..40 * PAGE_SIZE,
        access in access(),
        present in any::<bool>(),
    ) {
        let addr = BASE - 4 * PAGE_SIZE + offset;
        let action = resolve_fault(&set, addr, access, present);
        match (set.find(addr).filter(|_| is_user(addr)), action) {
            (None, FaultAction::Kill(report)) => prop_assert_eq!(report.why, Why::NotMapped),
            (Some(r), FaultAction::MapZeroed { page, prot }) => {
                prop_assert!(!present, "mapped over a present page");
                prop_assert_ne!(r.kind, RegionKind::Guard);
                prop_assert!(allowed(r.prot, access));
                prop_assert_eq!(page, page_down(addr));
                prop_assert_eq!(prot, r.prot);
            }
            (Some(r), FaultAction::CopyOnWrite { page, prot }) => {
                prop_assert!(present, "copy-on-write of a page that is not there");
                prop_assert_eq!(prot, r.prot);
                prop_assert_eq!(access, Access::Write);
                prop_assert_ne!(r.kind, RegionKind::Guard);
                prop_assert!(allowed(r.prot, access));
                prop_assert_eq!(page, page_down(addr));
            }
            (Some(r), FaultAction::Kill(report)) => {
                prop_assert_eq!((report.addr, report.access), (addr, access));
                let why = report.why;
                if r.kind == RegionKind::Guard {
                    prop_assert_eq!(why, Why::GuardPage);
                } else if allowed(r.prot, access) {
                    prop_assert!(present, "an allowed first touch was refused");
                    prop_assert_ne!(access, Access::Write, "an allowed write to a present page was not copy-on-write");
                } else {
                    prop_assert!(matches!(why, Why::ReadOnly | Why::NoAccess | Why::NoExec), "{:?}", why);
                }
            }
            (_, file @ (FaultAction::MapFilePage { .. }
                | FaultAction::CopyFilePage { .. }
                | FaultAction::MakeWritable { .. })) => {
                prop_assert!(false, "a file answer without file regions: {:?}", file)
            }
            (None, action) => prop_assert!(false, "mapped outside any region: {:?}", action),
        }
    }
}
