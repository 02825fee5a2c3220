//! The fault decision for file regions against a model written from CONTRACTS.md
//! section 9: a window of `pages` pages onto file page `first` on, shared or
//! private, over a file of `size` bytes; after any split by munmap the pages left
//! still show the same file pages.
use lazuli_vm::{
    Access, FaultAction, FileKey, FileMap, FileSizes, PAGE_SIZE, Prot, Region, RegionKind,
    RegionSet, Why, resolve_fault_with,
};
use proptest::prelude::*;

const AT: u64 = 0x4000_0000;
const FILE: FileKey = FileKey(4);

struct Size(u64);
impl FileSizes for Size {
    fn size(&self, file: FileKey) -> Option<u64> {
        (file == FILE).then_some(self.0)
    }
}

/// What the contract says a touch of page `p` (0-based in the window) does.
fn model(
    p: u64,
    first: u64,
    size: u64,
    shared: bool,
    prot: Prot,
    access: Access,
    present: bool,
) -> Expect {
    let prot = prot.effective();
    let allowed = match access {
        Access::Read => prot.readable(),
        Access::Write => prot.writable(),
        Access::Exec => prot.executable(),
    };
    if !allowed {
        return Expect::KilledNotPastEof;
    }
    if present {
        return match (access, shared) {
            (Access::Write, true) => Expect::Writable,
            (Access::Write, false) => Expect::Copy,
            _ => Expect::KilledNotPastEof,
        };
    }
    let index = first + p;
    if index * PAGE_SIZE >= size {
        return Expect::PastEof;
    }
    match (access, shared) {
        (Access::Write, false) => Expect::OwnCopyOf(index),
        _ => Expect::Cached(index, shared && prot.writable()),
    }
}

#[derive(Debug, PartialEq)]
enum Expect {
    /// Map the cache's page `index`; writable iff the bool.
    Cached(u64, bool),
    OwnCopyOf(u64),
    Copy,
    Writable,
    PastEof,
    KilledNotPastEof,
}

fn seen(action: FaultAction) -> Expect {
    match action {
        FaultAction::MapFilePage {
            index, prot, file, ..
        } => {
            assert_eq!(file, FILE);
            Expect::Cached(index, prot.writable())
        }
        FaultAction::CopyFilePage { index, .. } => Expect::OwnCopyOf(index),
        FaultAction::CopyOnWrite { .. } => Expect::Copy,
        FaultAction::MakeWritable { .. } => Expect::Writable,
        FaultAction::Kill(r) if r.why == Why::PastEndOfFile => Expect::PastEof,
        FaultAction::Kill(_) => Expect::KilledNotPastEof,
        FaultAction::MapZeroed { .. } => panic!("a file page zero-filled"),
    }
}

fn prot() -> impl Strategy<Value = Prot> {
    (0u8..8).prop_map(|bits| {
        let mut p = Prot::NONE;
        for (bit, right) in [(1, Prot::READ), (2, Prot::WRITE), (4, Prot::EXEC)] {
            if bits & bit != 0 {
                p |= right;
            }
        }
        p.effective()
    })
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![Just(Access::Read), Just(Access::Write), Just(Access::Exec)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn file_faults_follow_the_contract(
        pages in 1u64..12,
        first in 0u64..8,
        size in 0u64..20 * PAGE_SIZE,
        shared in any::<bool>(),
        prot in prot(),
        holes in proptest::collection::vec(0u64..12, 0..4),
        touch in 0u64..12,
        access in access(),
        present in any::<bool>(),
    ) {
        let mut regions = RegionSet::new();
        let kind = RegionKind::File(FileMap::starting_at(FILE, AT, first, shared));
        regions.insert(Region { start: AT, end: AT + pages * PAGE_SIZE, kind, prot }).unwrap();
        for h in holes.iter().filter(|&&h| h < pages) {
            regions.remove_range(AT + h * PAGE_SIZE, AT + (h + 1) * PAGE_SIZE);
        }
        let addr = AT + touch * PAGE_SIZE + 123;
        let action = resolve_fault_with(&regions, &Size(size), addr, access, present);
        let gone = touch >= pages || holes.contains(&touch);
        if gone {
            prop_assert!(matches!(action, FaultAction::Kill(r) if r.why == Why::NotMapped), "{:?}", action);
        } else {
            prop_assert_eq!(seen(action), model(touch, first, size, shared, prot, access, present));
        }
    }
}
