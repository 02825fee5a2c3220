//! Choosing a resident page to evict: the clock, or second chance.
//!
//! Resident pages stand in a ring; a hand goes round it. At each page the kernel
//! looks at the hardware's accessed bit (and clears it): a page used since the
//! hand last passed gets a second chance and the hand moves on; an idle page is
//! the victim. Pages that cannot go now (a page with I/O in flight, one the kernel
//! chooses not to evict) are passed over, and entries whose page is no longer
//! resident (unmapped, freed, evicted by another path) are dropped when the hand
//! meets them — so nothing has to be removed from the ring when a page goes, and
//! every event costs O(1) but the scan.
//!
//! The scan gives up after two full turns: by then every page that could go has
//! had its bit cleared once and been met again, so none can.
use alloc::collections::VecDeque;

/// What the kernel says about the page under the hand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Used since the hand last passed (its accessed bit, now cleared, was set).
    Referenced,
    /// Not used since: evict it.
    Idle,
    /// Cannot be evicted now; keep it in the ring.
    Pinned,
    /// No longer resident: drop it from the ring.
    Gone,
}

/// The ring of resident pages, the hand at its front.
#[derive(Clone, Debug, Default)]
pub struct Clock<T> {
    ring: VecDeque<T>,
}

impl<T: Copy> Clock<T> {
    pub fn new() -> Self {
        Clock {
            ring: VecDeque::new(),
        }
    }

    /// A page became resident: it joins the ring just behind the hand (the last
    /// place the hand will look).
    pub fn insert(&mut self, page: T) {
        self.ring.push_back(page);
    }

    /// Entries in the ring (some may be gone, not yet met).
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Moves the hand until `look` finds an idle page, and takes it out of the
    /// ring; None if two full turns found none.
    pub fn select(&mut self, mut look: impl FnMut(T) -> Verdict) -> Option<T> {
        let mut budget = 2 * self.ring.len();
        while budget > 0 {
            budget -= 1;
            let page = self.ring.pop_front()?;
            match look(page) {
                Verdict::Idle => return Some(page),
                Verdict::Gone => {}
                Verdict::Referenced | Verdict::Pinned => self.ring.push_back(page),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::{collections::BTreeMap, vec::Vec};

    #[test]
    fn a_used_page_gets_a_second_chance_and_an_idle_one_goes() {
        let mut clock = Clock::new();
        for page in 0..3u64 {
            clock.insert(page);
        }
        let mut accessed = [true, false, true];
        let victim = clock.select(|p| {
            let bit = core::mem::replace(&mut accessed[p as usize], false);
            if bit {
                Verdict::Referenced
            } else {
                Verdict::Idle
            }
        });
        assert_eq!(victim, Some(1));
        // Page 0 had its chance: unless it is used again, it is next.
        let next = clock.select(|p| {
            let bit = core::mem::replace(&mut accessed[p as usize], false);
            if bit {
                Verdict::Referenced
            } else {
                Verdict::Idle
            }
        });
        assert_eq!(next, Some(0), "2 gets its second chance; 0 already had one");
    }

    #[test]
    fn pinned_pages_stay_and_gone_pages_leave() {
        let mut clock = Clock::new();
        clock.insert(1u64);
        clock.insert(2u64);
        assert_eq!(
            clock.select(|p| if p == 1 {
                Verdict::Gone
            } else {
                Verdict::Pinned
            }),
            None
        );
        assert_eq!(
            clock.len(),
            1,
            "the gone page was dropped, the pinned one kept"
        );
    }

    proptest! {
        /// Against a model: the victim is idle (its bit clear when met, not
        /// pinned), a page is never chosen twice while in the ring, pages gone
        /// are never chosen, and the scan finds a victim whenever one exists.
        #[test]
        fn the_victim_is_always_an_idle_resident_page(
            pages in proptest::collection::vec((any::<bool>(), 0u8..8), 1..40),
            rounds in 1usize..20,
        ) {
            let mut clock = Clock::new();
            // page -> (accessed, pinned, resident)
            let mut state: BTreeMap<usize, (bool, bool, bool)> = BTreeMap::new();
            for (i, &(accessed, kind)) in pages.iter().enumerate() {
                clock.insert(i);
                state.insert(i, (accessed, kind == 0, kind != 1));
            }
            for _ in 0..rounds {
                let evictable = state.values().any(|&(_, pinned, resident)| resident && !pinned);
                let mut met: Vec<usize> = Vec::new();
                let victim = clock.select(|p| {
                    met.push(p);
                    let s = state.get_mut(&p).unwrap();
                    if !s.2 {
                        return Verdict::Gone;
                    }
                    if s.1 {
                        return Verdict::Pinned;
                    }
                    if core::mem::replace(&mut s.0, false) {
                        Verdict::Referenced
                    } else {
                        Verdict::Idle
                    }
                });
                match victim {
                    Some(v) => {
                        let s = state[&v];
                        prop_assert!(s.2 && !s.1, "victim {v} not an evictable resident page");
                        state.get_mut(&v).unwrap().2 = false; // evicted
                    }
                    None => prop_assert!(!evictable, "no victim, yet one was evictable"),
                }
            }
        }
    }
}
