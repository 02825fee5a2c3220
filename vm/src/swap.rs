//! The swap area's bookkeeping: which slot holds a page written out, how a
//! page-table entry says so, and which slots are in use.
//!
//! **Entries.** A page written to the swap area leaves its page-table entry not
//! present (the hardware ignores every other bit then) holding the slot number
//! where a frame address would be, and [`SWAPPED`] — one of the bits x86_64 leaves
//! to the OS — so that the fault path tells it from a page never touched (an
//! empty entry) and from a page made inaccessible by `mprotect(…, none)` (not
//! present, but holding its frame, [`SWAPPED`] clear).
//!
//! **Slots.** [`SwapSlots`] hands out slot numbers and counts the entries that
//! refer to each: fork copies a swapped entry into the child and adds one; exit,
//! kill, `munmap` and a swap-in each take one away; the slot is free with its last.
use alloc::{vec, vec::Vec};

/// Bit 0 of an entry: present.
const PRESENT: u64 = 1;
/// The OS-available bit 9 of an entry: set (with PRESENT clear) when the entry
/// names a swap slot.
pub const SWAPPED: u64 = 1 << 9;
/// Slots an entry can name: 40 bits where a frame number would be.
pub const MAX_SLOTS: u64 = 1 << 40;

/// A swap slot named by a not-present page-table entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SwapEntry(pub u64);

impl SwapEntry {
    /// The raw entry that names this slot. Panics past [`MAX_SLOTS`].
    pub fn encode(self) -> u64 {
        assert!(self.0 < MAX_SLOTS, "swap slot {} out of range", self.0);
        (self.0 << 12) | SWAPPED
    }

    /// The slot a raw entry names, if it is a swapped entry (not present, the
    /// [`SWAPPED`] bit set).
    pub fn decode(raw: u64) -> Option<SwapEntry> {
        if raw & PRESENT != 0 || raw & SWAPPED == 0 {
            return None;
        }
        Some(SwapEntry((raw >> 12) & (MAX_SLOTS - 1)))
    }
}

/// The swap area's slots: how many entries refer to each, and the free ones.
#[derive(Clone, Debug)]
pub struct SwapSlots {
    /// Entries referring to each slot (0: free).
    refs: Vec<u32>,
    /// Free slots, the next to hand out last (lowest first when fresh).
    free: Vec<u64>,
}

impl SwapSlots {
    /// `slots` free slots (a swap area of `slots` pages). Panics past [`MAX_SLOTS`].
    pub fn new(slots: u64) -> Self {
        assert!(slots <= MAX_SLOTS, "a swap area of {slots} pages");
        SwapSlots {
            refs: vec![0; slots as usize],
            free: (0..slots).rev().collect(),
        }
    }

    /// Slots in all.
    pub fn total(&self) -> u64 {
        self.refs.len() as u64
    }

    /// Slots in use.
    pub fn used(&self) -> u64 {
        self.total() - self.free.len() as u64
    }

    /// A free slot, now referred to once; None when the area is full.
    pub fn allocate(&mut self) -> Option<SwapEntry> {
        let slot = self.free.pop()?;
        self.refs[slot as usize] = 1;
        Some(SwapEntry(slot))
    }

    /// One more entry refers to `slot` (fork copied it). Panics if it is free.
    pub fn share(&mut self, slot: SwapEntry) {
        let refs = &mut self.refs[slot.0 as usize];
        assert!(*refs > 0, "sharing free swap slot {}", slot.0);
        *refs = refs.checked_add(1).expect("swap slot refs overflow");
    }

    /// Entries referring to `slot`.
    pub fn refs(&self, slot: SwapEntry) -> u32 {
        self.refs[slot.0 as usize]
    }

    /// One entry stops referring to `slot`; true if that was the last (the slot
    /// is free again). Panics if it was free.
    pub fn release(&mut self, slot: SwapEntry) -> bool {
        let refs = &mut self.refs[slot.0 as usize];
        assert!(*refs > 0, "releasing free swap slot {}", slot.0);
        *refs -= 1;
        if *refs == 0 {
            self.free.push(slot.0);
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn a_swapped_entry_is_told_from_an_empty_and_an_inaccessible_one() {
        assert_eq!(SwapEntry::decode(0), None, "never touched");
        // mprotect(none): frame kept, no flags (a dirty bit may stay).
        assert_eq!(SwapEntry::decode(0x1234_5000 | 1 << 6), None);
        assert_eq!(SwapEntry::decode(0x1234_5000 | PRESENT | SWAPPED), None);
        assert_eq!(SwapEntry::decode(SwapEntry(7).encode()), Some(SwapEntry(7)));
    }

    #[test]
    fn slots_are_handed_out_lowest_first_and_come_back() {
        let mut s = SwapSlots::new(3);
        assert_eq!(s.allocate(), Some(SwapEntry(0)));
        assert_eq!(s.allocate(), Some(SwapEntry(1)));
        s.share(SwapEntry(1));
        assert_eq!(s.used(), 2);
        assert!(!s.release(SwapEntry(1)), "one sharer left");
        assert!(s.release(SwapEntry(1)));
        assert_eq!(s.allocate(), Some(SwapEntry(1)), "reused");
        assert_eq!(s.allocate(), Some(SwapEntry(2)));
        assert_eq!(s.allocate(), None, "full");
        assert_eq!((s.used(), s.total()), (3, 3));
    }

    #[test]
    #[should_panic(expected = "releasing free swap slot")]
    fn releasing_a_free_slot_is_a_bug() {
        SwapSlots::new(2).release(SwapEntry(1));
    }

    proptest! {
        #[test]
        fn every_slot_round_trips_through_an_entry(slot in 0..MAX_SLOTS) {
            let raw = SwapEntry(slot).encode();
            prop_assert_eq!(raw & PRESENT, 0, "never looks present");
            prop_assert_eq!(SwapEntry::decode(raw), Some(SwapEntry(slot)));
        }

        #[test]
        fn no_present_or_flagless_entry_decodes(addr in 0u64..(1 << 52), flags in 0u64..0x200) {
            let frame = addr & !0xfff;
            prop_assert_eq!(SwapEntry::decode(frame | flags | PRESENT), None);
            prop_assert_eq!(SwapEntry::decode(frame | (flags & !PRESENT)), None);
        }

        /// Against a model of reference counts: the same slots in use, the same
        /// answers, and no slot handed out twice while in use.
        #[test]
        fn slots_match_a_model(ops in proptest::collection::vec((0u8..3, 0usize..64), 1..300)) {
            let mut s = SwapSlots::new(16);
            let mut model: BTreeMap<u64, u32> = BTreeMap::new();
            for (op, pick) in ops {
                let live: std::vec::Vec<u64> = model.keys().copied().collect();
                match op {
                    0 => match s.allocate() {
                        Some(slot) => {
                            prop_assert!(!model.contains_key(&slot.0), "slot {} in use", slot.0);
                            model.insert(slot.0, 1);
                        }
                        None => prop_assert_eq!(model.len(), 16),
                    },
                    1 if !live.is_empty() => {
                        let slot = live[pick % live.len()];
                        s.share(SwapEntry(slot));
                        *model.get_mut(&slot).unwrap() += 1;
                    }
                    2 if !live.is_empty() => {
                        let slot = live[pick % live.len()];
                        let refs = model.get_mut(&slot).unwrap();
                        *refs -= 1;
                        let last = *refs == 0;
                        if last {
                            model.remove(&slot);
                        }
                        prop_assert_eq!(s.release(SwapEntry(slot)), last);
                    }
                    _ => {}
                }
                prop_assert_eq!(s.used(), model.len() as u64);
                for (&slot, &refs) in &model {
                    prop_assert_eq!(s.refs(SwapEntry(slot)), refs);
                }
            }
        }
    }
}
