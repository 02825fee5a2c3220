use super::*;
use std::{vec, vec::Vec};

const F: u64 = FRAME_SIZE;

/// A pool over frames 1..=n (frame 0 is never usable), with records for n + 1.
fn pool(n: u64) -> FramePool<Vec<FrameInfo>> {
    let mut unused = UsableFrames::new(u64::MAX);
    unused.add(0, (n + 1) * F);
    FramePool::new(vec![FrameInfo::default(); n as usize + 1], unused)
}

#[test]
fn frames_come_out_once_and_the_free_count_is_exact() {
    let mut p = pool(4);
    assert_eq!((p.free_frames(), p.total()), (4, 4));
    let a = p.allocate(FrameUse::User).expect("a frame");
    let b = p.allocate(FrameUse::Cache).expect("a frame");
    assert_ne!(a, b);
    assert_eq!(p.free_frames(), 2);
    assert_eq!(
        (p.use_of(a.addr()), p.owners(a.addr())),
        (FrameUse::User, 1)
    );
    p.free(a);
    assert_eq!(p.free_frames(), 3);
    let again = p.allocate(FrameUse::Table).expect("a frame");
    assert_eq!(again.addr(), F, "the freed frame is reused first");
    p.free(again);
    p.free(b);
    assert_eq!(p.free_frames(), 4);
}

#[test]
fn exhaustion_is_none_and_freeing_makes_room() {
    let mut p = pool(2);
    let a = p.allocate(FrameUse::User).expect("1");
    let b = p.allocate(FrameUse::User).expect("2");
    assert!(p.allocate(FrameUse::User).is_none());
    p.free(b);
    let c = p.allocate(FrameUse::User).expect("freed");
    p.free(c);
    p.free(a);
}

#[test]
fn freeing_links_through_the_records_not_the_frames() {
    let mut p = pool(3);
    let frames: Vec<Frame> = (0..3)
        .map(|_| p.allocate(FrameUse::User).unwrap())
        .collect();
    let addrs: Vec<u64> = frames.iter().map(Frame::addr).collect();
    frames.into_iter().for_each(|f| p.free(f));
    assert!(
        addrs
            .iter()
            .all(|&a| p.use_of(a) == FrameUse::Free && p.owners(a) == 0)
    );
    // Last freed, first out.
    let out: Vec<u64> = (0..3)
        .map(|_| p.allocate(FrameUse::User).unwrap().into_counted())
        .collect();
    assert_eq!(out, [addrs[2], addrs[1], addrs[0]]);
}

#[test]
fn counted_frames_are_freed_by_their_last_owner() {
    let mut p = pool(2);
    let addr = p.allocate(FrameUse::User).unwrap().into_counted();
    p.share(addr);
    p.share(addr);
    assert_eq!(p.owners(addr), 3);
    assert!(!p.release(addr));
    assert!(!p.release(addr));
    assert_eq!(p.free_frames(), 1);
    assert!(p.release(addr), "the last owner frees it");
    assert_eq!((p.free_frames(), p.use_of(addr)), (2, FrameUse::Free));
}

#[test]
#[should_panic(expected = "released more often than owned")]
fn releasing_a_free_frame_panics() {
    let mut p = pool(1);
    let addr = p.allocate(FrameUse::User).unwrap().into_counted();
    assert!(p.release(addr));
    p.release(addr);
}

#[test]
fn the_zeroed_pool_is_used_last_by_allocate_and_first_by_allocate_zeroed() {
    let mut p = pool(3);
    let z = p.next_to_zero(8).expect("a frame to zero");
    p.add_zeroed(z);
    assert_eq!(
        (p.zeroed_frames(), p.free_frames()),
        (1, 3),
        "pooled frames are free"
    );
    let (f, zeroed) = p.allocate_zeroed(FrameUse::User).unwrap();
    assert!(zeroed && f.addr() == z);
    let (g, zeroed) = p.allocate_zeroed(FrameUse::User).unwrap();
    assert!(!zeroed, "the pool is empty: the caller zeroes");
    p.free(f);
    p.free(g);
    assert_eq!(p.next_to_zero(0), None, "a full pool takes no more");
}

#[test]
fn allocate_falls_back_to_the_zeroed_pool() {
    let mut p = pool(1);
    let z = p.next_to_zero(8).unwrap();
    p.add_zeroed(z);
    let f = p.allocate(FrameUse::Cache).expect("the pooled frame");
    assert_eq!((f.addr(), p.zeroed_frames(), p.free_frames()), (z, 0, 0));
    p.free(f);
}

#[test]
fn runs_are_consecutive_and_skipped_frames_stay_free() {
    let mut unused = UsableFrames::new(u64::MAX);
    unused.add(F, 3 * F); // frames 1, 2
    unused.add(10 * F, 14 * F); // frames 10..14
    let mut p = FramePool::new(vec![FrameInfo::default(); 16], unused);
    let start = p.allocate_run(3).expect("a run");
    assert_eq!(start, 10 * F);
    assert_eq!(p.free_frames(), 3, "6 frames, 3 in the run");
    assert!((10..13).all(|n| p.use_of(n * F) == FrameUse::Kernel));
    assert_eq!(
        p.use_of(F),
        FrameUse::Free,
        "skipped frames went to the free list"
    );
}
