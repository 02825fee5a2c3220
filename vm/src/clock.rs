//! Choosing a resident page to evict: the clock, or second chance.
//!
//! Resident pages stand in a ring; a hand goes round it. At each page the kernel
//! looks at the hardware's accessed bit (and clears it): a page used since the
//! hand last passed gets a second chance and the hand moves on; an idle page is
//! the victim. Pages that cannot go now (a page with I/O in flight, one the kernel
//! chooses not to evict) are passed over, and entries whose page is no longer
//! resident (unmapped, freed, evicted by another path) are dropped when the hand
//! meets them — so nothing has to be removed from the ring when a page goes, and
//! every event costs O(1) but the scan. Without memory pressure the hand never
//! moves, though: a task that maps, touches and unmaps memory over and over would
//! grow its ring (and the kernel heap) without bound. So an insert into a ring of
//! more than twice the pages resident (plus [`SLACK`]) tidies it first.
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

/// Entries beyond twice the pages resident that a ring may hold before an insert
/// tidies it.
pub const SLACK: usize = 64;

/// The ring of resident pages, the hand at its front.
#[derive(Clone, Debug, Default)]
pub struct Clock<T> {
    ring: VecDeque<T>,
}

impl<T: Copy + Ord> Clock<T> {
    pub fn new() -> Self {
        Clock {
            ring: VecDeque::new(),
        }
    }

    /// A page became resident: it joins the ring just behind the hand (the last
    /// place the hand will look). `resident` is how many pages the caller has
    /// resident now. If the ring holds `2 * resident + SLACK` entries or more,
    /// it is tidied first: the entries of pages `still_resident` denies go, and
    /// so do repeats (a page unmapped and touched again has two); what stays is
    /// at most the pages resident, so over time tidying costs O(log n) an insert.
    #[inline(always)]
    pub fn insert(&mut self, page: T, resident: usize, still_resident: impl FnMut(T) -> bool) {
        if self.ring.len() >= resident.saturating_mul(2).saturating_add(SLACK) {
            self.tidy(still_resident);
        }
        self.ring.push_back(page);
    }

    /// Drops the entries of pages no longer resident and all repeats, in place.
    /// The ring is left in page order (the hand then goes round the address
    /// space, as many clocks do); the accessed bits it reads are unchanged.
    #[cold]
    #[inline(never)]
    fn tidy(&mut self, mut still_resident: impl FnMut(T) -> bool) {
        let entries = self.ring.make_contiguous();
        entries.sort_unstable();
        let mut kept = 0;
        for i in 0..entries.len() {
            let page = entries[i];
            let repeat = kept > 0 && entries[kept - 1] == page;
            if !repeat && still_resident(page) {
                entries[kept] = page;
                kept += 1;
            }
        }
        self.ring.truncate(kept);
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
    use std::{
        collections::{BTreeMap, BTreeSet},
        vec::Vec,
    };

    #[test]
    fn a_used_page_gets_a_second_chance_and_an_idle_one_goes() {
        let mut clock = Clock::new();
        for page in 0..3u64 {
            clock.insert(page, 3, |_| true);
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
        clock.insert(1u64, 2, |_| true);
        clock.insert(2u64, 2, |_| true);
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

    #[test]
    fn churn_without_pressure_keeps_the_ring_to_the_pages_resident() {
        // A task maps 100 pages, touches them, unmaps them, 1,000 times over at
        // the same addresses, and the hand never runs.
        let mut clock = Clock::new();
        let mut resident = BTreeSet::new();
        for _ in 0..1000 {
            for page in 0..100u64 {
                resident.insert(page);
                clock.insert(page, resident.len(), |p| resident.contains(&p));
            }
            resident.clear();
        }
        assert!(
            clock.len() < 2 * 100 + SLACK,
            "{} entries for 100 pages",
            clock.len()
        );
    }

    #[test]
    fn tidying_keeps_every_resident_page_once_and_drops_the_rest() {
        let mut clock = Clock::new();
        // 40 entries for 10 pages: each page 4 times; pages 0..5 went since.
        for _ in 0..4 {
            for page in 0..10u64 {
                clock.insert(page, 10, |_| true);
            }
        }
        let resident = |p: u64| p >= 5;
        // 5 resident: 40 >= 2 * 5 + SLACK is false, so no tidy yet.
        clock.insert(7, 5, resident);
        assert_eq!(clock.len(), 41);
        for _ in 0..SLACK {
            clock.insert(7, 5, resident);
        }
        // The insert that found 2 * 5 + SLACK entries (the 34th of them) tidied
        // the ring to 5..10, once each and in page order; the rest were pushed.
        let mut left = Vec::new();
        let none = clock.select(|p| {
            left.push(p);
            Verdict::Gone
        });
        assert_eq!(none, None);
        let mut want: Vec<u64> = (5..10).collect();
        want.extend([7; 31]);
        assert_eq!(left, want);
    }

    proptest! {
        /// However pages come and go, an insert leaves the ring holding at most
        /// twice the pages resident plus SLACK, and every resident page that was
        /// inserted is still in it.
        #[test]
        fn the_ring_stays_bounded_and_loses_no_resident_page(
            events in proptest::collection::vec((any::<bool>(), 0u64..64), 1..600),
        ) {
            let mut clock = Clock::new();
            let mut resident = BTreeSet::new();
            for (touch, page) in events {
                if touch {
                    if resident.insert(page) {
                        clock.insert(page, resident.len(), |p| resident.contains(&p));
                        prop_assert!(clock.len() <= 2 * resident.len() + SLACK);
                    }
                } else {
                    resident.remove(&page); // unmapped: the ring is not told
                }
            }
            let mut ring = BTreeSet::new();
            clock.select(|p| {
                ring.insert(p);
                Verdict::Pinned
            });
            prop_assert!(resident.is_subset(&ring), "a resident page left the ring");
        }


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
                clock.insert(i, pages.len(), |_| true);
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
