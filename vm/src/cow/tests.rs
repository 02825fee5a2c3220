//! Unit tests for frame reference counts and the copy-on-write decision.

use super::*;

#[test]
fn a_new_table_gives_every_frame_one_owner() {
    let refs = FrameRefs::new(8);
    assert_eq!(refs.frames(), 8);
    for frame in 0..8 {
        assert_eq!(refs.count(frame), 1);
        assert!(!refs.is_shared(frame));
    }
    assert_eq!(FrameRefs::default().frames(), 0);
}

#[test]
fn sharing_a_frame_once_gives_it_two_owners() {
    let mut refs = FrameRefs::new(4);
    refs.share(2);
    assert_eq!(refs.count(2), 2);
    assert!(refs.is_shared(2));
    assert_eq!(refs.count(1), 1);
    assert_eq!(refs.count(3), 1);
}

#[test]
fn releasing_the_only_owner_frees_the_frame() {
    let mut refs = FrameRefs::new(4);
    assert!(refs.release(0));
    assert_eq!(refs, FrameRefs::new(4));
}

#[test]
fn a_frame_shared_by_three_is_freed_by_the_third_release_only() {
    let mut refs = FrameRefs::new(4);
    refs.share(1);
    refs.share(1);
    assert_eq!(refs.count(1), 3);
    assert!(!refs.release(1));
    assert_eq!(refs.count(1), 2);
    assert!(!refs.release(1));
    assert_eq!(refs.count(1), 1);
    assert!(!refs.is_shared(1));
    assert!(refs.release(1));
    assert_eq!(refs, FrameRefs::new(4));
}

#[test]
fn frames_are_counted_independently() {
    let mut refs = FrameRefs::new(3);
    refs.share(0);
    refs.share(2);
    refs.share(2);
    assert!(!refs.release(0));
    assert_eq!((refs.count(0), refs.count(1), refs.count(2)), (1, 1, 3));
}

#[test]
fn fork_then_both_writes_copies_once_and_reuses_once() {
    // Parent and child share frame 5 after fork.
    let mut refs = FrameRefs::new(8);
    refs.share(5);
    // The child writes first: still shared, so it copies and drops the frame.
    assert_eq!(cow_action(refs.count(5)), CowAction::CopyPage);
    assert!(!refs.release(5));
    // The parent writes next: it is the last owner and keeps the frame.
    assert_eq!(cow_action(refs.count(5)), CowAction::ReuseInPlace);
    assert_eq!(refs.count(5), 1);
}

#[test]
fn the_cow_decision_copies_while_shared_and_reuses_when_alone() {
    assert_eq!(cow_action(0), CowAction::ReuseInPlace);
    assert_eq!(cow_action(1), CowAction::ReuseInPlace);
    assert_eq!(cow_action(2), CowAction::CopyPage);
    assert_eq!(cow_action(u32::MAX), CowAction::CopyPage);
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn sharing_a_frame_outside_the_table_panics() {
    FrameRefs::new(2).share(2);
}
