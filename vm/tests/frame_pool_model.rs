//! Property test: the frame pool against a model — a map from frame numbers to
//! owner counts — over random allocations (plain and zeroed), frees, shares and
//! releases, and idle zeroing. No frame is ever handed out while held, the free
//! count is always the model's, and every owner count and use agrees.

use lazuli_vm::{Frame, FrameInfo, FramePool, FrameUse, UsableFrames};
use proptest::prelude::*;
use std::collections::BTreeMap;

const FRAMES: u64 = 8;
const F: u64 = 4096;

#[derive(Clone, Debug)]
enum Op {
    Allocate(bool),
    Count,
    Free(usize),
    Share(usize),
    Release(usize),
    Zero,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<bool>().prop_map(Op::Allocate),
        Just(Op::Count),
        (0..16usize).prop_map(Op::Free),
        (0..16usize).prop_map(Op::Share),
        (0..16usize).prop_map(Op::Release),
        Just(Op::Zero),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_pool_hands_out_counts_and_takes_back_like_the_model(ops in prop::collection::vec(op(), 1..120)) {
        let mut unused = UsableFrames::new(u64::MAX);
        unused.add(F, (FRAMES + 1) * F);
        let mut pool = FramePool::new(vec![FrameInfo::default(); FRAMES as usize + 1], unused);
        // Held frames not yet counted (their tokens), and counted ones by address.
        let mut held: Vec<Frame> = Vec::new();
        let mut counted: BTreeMap<u64, u32> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Allocate(zeroed) => {
                    let got = if zeroed {
                        pool.allocate_zeroed(FrameUse::User).map(|(f, _)| f)
                    } else {
                        pool.allocate(FrameUse::User)
                    };
                    let in_use = held.len() + counted.len();
                    prop_assert_eq!(got.is_some(), in_use < FRAMES as usize);
                    if let Some(f) = got {
                        prop_assert!(!counted.contains_key(&f.addr()), "handed out while counted");
                        prop_assert!(held.iter().all(|h| h.addr() != f.addr()), "handed out twice");
                        held.push(f);
                    }
                }
                Op::Count => {
                    if let Some(f) = held.pop() {
                        counted.insert(f.into_counted(), 1);
                    }
                }
                Op::Free(i) => {
                    if !held.is_empty() {
                        let f = held.remove(i % held.len());
                        pool.free(f);
                    }
                }
                Op::Share(i) => {
                    let at = i % counted.len().max(1);
                    if let Some((&addr, n)) = counted.iter_mut().nth(at) {
                        pool.share(addr);
                        *n += 1;
                    }
                }
                Op::Release(i) => {
                    if let Some((&addr, &n)) = counted.iter().nth(i % counted.len().max(1)) {
                        prop_assert_eq!(pool.release(addr), n == 1);
                        if n == 1 { counted.remove(&addr); } else { counted.insert(addr, n - 1); }
                    }
                }
                Op::Zero => {
                    if let Some(addr) = pool.next_to_zero(4) {
                        pool.add_zeroed(addr);
                    }
                }
            }
            let in_use = held.len() + counted.len();
            prop_assert_eq!(pool.free_frames(), FRAMES as usize - in_use);
            prop_assert!(pool.zeroed_frames() <= 4.min(pool.free_frames()));
            for (&addr, &n) in &counted {
                prop_assert_eq!(pool.owners(addr), n);
                prop_assert_eq!(pool.use_of(addr), FrameUse::User);
            }
        }
        for f in held { pool.free(f); }
        for (addr, n) in counted { for _ in 0..n { pool.release(addr); } }
        prop_assert_eq!(pool.free_frames(), FRAMES as usize);
    }
}
