//! Unit tests for the copy-on-write decision.

use super::*;

#[test]
fn the_cow_decision_copies_while_shared_and_reuses_when_alone() {
    assert_eq!(cow_action(0), CowAction::ReuseInPlace);
    assert_eq!(cow_action(1), CowAction::ReuseInPlace);
    assert_eq!(cow_action(2), CowAction::CopyPage);
    assert_eq!(cow_action(u32::MAX), CowAction::CopyPage);
}
