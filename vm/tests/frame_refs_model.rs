//! Property test: `FrameRefs` against a plain list of owner counts, over
//! random fork-like shares and unmap-like releases of a few frames. A frame
//! whose last owner released it is freed, and (as the allocator would hand
//! it out again) starts over with one owner.

use lazuli_vm::{CowAction, FrameRefs, cow_action};
use proptest::prelude::*;

const FRAMES: usize = 6;

#[derive(Clone, Debug)]
enum Op {
    Share(usize),
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..FRAMES).prop_map(Op::Share),
        (0..FRAMES).prop_map(Op::Release),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn frame_refs_count_owners_like_a_list_of_counts(ops in prop::collection::vec(op(), 1..80)) {
        let mut refs = FrameRefs::new(FRAMES);
        let mut owners = [1u32; FRAMES];
        for op in &ops {
            match *op {
                Op::Share(f) => {
                    refs.share(f);
                    owners[f] += 1;
                }
                Op::Release(f) => {
                    let last = refs.release(f);
                    prop_assert_eq!(last, owners[f] == 1);
                    owners[f] = if last { 1 } else { owners[f] - 1 };
                }
            }
            for (f, &n) in owners.iter().enumerate() {
                prop_assert_eq!(refs.count(f), n);
                prop_assert_eq!(refs.is_shared(f), n > 1);
                let want = if n > 1 { CowAction::CopyPage } else { CowAction::ReuseInPlace };
                prop_assert_eq!(cow_action(refs.count(f)), want);
            }
        }
    }
}
