//! The page cache's bookkeeping for one file: which 4 KiB pages are cached, which of
//! them are dirty, and how many of a page's bytes belong to the file. Generic over
//! what holds a page (a frame in the kernel, a byte vector in the tests), so the
//! rules are tested here without hardware.
//!
//! The rules:
//! - a page is cached clean when read from the disk, and made dirty by a write;
//! - write-back visits dirty pages in index order (so a file grows front to back)
//!   and writes [`bytes_in_file`] bytes of each: never past the end of the file;
//! - truncation drops the pages wholly past the new end, dirty or not;
//! - only clean pages nobody maps may be dropped to free memory.
use alloc::{boxed::Box, collections::BTreeMap, vec::Vec};

/// Bytes in a cached page.
pub const PAGE: u64 = 4096;

/// Pages per chunk of a file's index.
const CHUNK: u64 = 64;

/// The cached pages of one file: chunks of [`CHUNK`] consecutive page slots, in a
/// map by chunk number. A lookup (the page fault on a cached file page makes one)
/// searches 64 times fewer keys than a map of pages would, then indexes an array:
/// under TCG a map of 4,096 single pages took ~340 ticks a lookup.
#[derive(Debug)]
pub struct FilePages<P> {
    chunks: BTreeMap<u64, Box<Chunk<P>>>,
    len: usize,
}

#[derive(Debug)]
struct Chunk<P> {
    slots: [Option<Entry<P>>; CHUNK as usize],
    used: usize,
}

#[derive(Debug)]
struct Entry<P> {
    page: P,
    dirty: bool,
}

/// The chunk number of page `index` and its slot in the chunk.
fn split(index: u64) -> (u64, usize) {
    (index / CHUNK, (index % CHUNK) as usize)
}

impl<P> Chunk<P> {
    fn new() -> Box<Self> {
        Box::new(Chunk {
            slots: core::array::from_fn(|_| None),
            used: 0,
        })
    }

    /// Takes the entries of slots `from..` for which `gone` holds, in order.
    fn take(&mut self, from: usize, mut gone: impl FnMut(&Entry<P>) -> bool) -> Vec<P> {
        let mut taken = Vec::new();
        for slot in &mut self.slots[from..] {
            if slot.as_ref().is_some_and(&mut gone)
                && let Some(e) = slot.take()
            {
                taken.push(e.page);
            }
        }
        self.used -= taken.len();
        taken
    }
}

impl<P> Default for FilePages<P> {
    fn default() -> Self {
        Self {
            chunks: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<P> FilePages<P> {
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&self, index: u64) -> Option<&Entry<P>> {
        let (chunk, slot) = split(index);
        self.chunks.get(&chunk)?.slots[slot].as_ref()
    }

    fn entry_mut(&mut self, index: u64) -> Option<&mut Entry<P>> {
        let (chunk, slot) = split(index);
        self.chunks.get_mut(&chunk)?.slots[slot].as_mut()
    }

    /// The cached page `index`, if any.
    pub fn get(&self, index: u64) -> Option<&P> {
        self.entry(index).map(|e| &e.page)
    }

    /// Caches `page` as page `index`, clean. A page already there is handed back.
    pub fn insert_clean(&mut self, index: u64, page: P) -> Option<P> {
        let (chunk, slot) = split(index);
        let chunk = self.chunks.entry(chunk).or_insert_with(Chunk::new);
        let old = chunk.slots[slot].replace(Entry { page, dirty: false });
        if old.is_none() {
            chunk.used += 1;
            self.len += 1;
        }
        old.map(|e| e.page)
    }

    /// Marks page `index` dirty (it must be cached).
    pub fn mark_dirty(&mut self, index: u64) {
        self.entry_mut(index)
            .expect("only a cached page can be dirtied")
            .dirty = true;
    }

    pub fn is_dirty(&self, index: u64) -> bool {
        self.entry(index).is_some_and(|e| e.dirty)
    }

    /// Indices of the dirty pages, in ascending order (the write-back order).
    pub fn dirty(&self) -> Vec<u64> {
        let mut dirty = Vec::new();
        for (&chunk, c) in &self.chunks {
            for (slot, e) in c.slots.iter().enumerate() {
                if e.as_ref().is_some_and(|e| e.dirty) {
                    dirty.push(chunk * CHUNK + slot as u64);
                }
            }
        }
        dirty
    }

    /// Page `index` reached the disk.
    pub fn mark_clean(&mut self, index: u64) {
        if let Some(e) = self.entry_mut(index) {
            e.dirty = false;
        }
    }

    /// Drops every page that starts at or past `size` (the file was cut to
    /// `size` bytes); returns them for freeing, in index order.
    pub fn truncate(&mut self, size: u64) -> Vec<P> {
        let (first, from) = split(size.div_ceil(PAGE));
        let mut gone = Vec::new();
        // The chunk holding the new end keeps its slots before it.
        if from > 0
            && let Some(c) = self.chunks.get_mut(&first)
        {
            gone = c.take(from, |_| true);
            if c.used == 0 {
                self.chunks.remove(&first);
            }
        }
        let later = self.chunks.split_off(&(first + u64::from(from > 0)));
        for (_, mut c) in later {
            gone.extend(c.take(0, |_| true));
        }
        self.len -= gone.len();
        gone
    }

    /// Drops every clean page that is not `in_use` (a page some task maps must
    /// stay: it *is* that task's view of the file); returns them for freeing.
    pub fn drop_clean(&mut self, in_use: impl Fn(&P) -> bool) -> Vec<P> {
        let mut gone = Vec::new();
        for c in self.chunks.values_mut() {
            gone.extend(c.take(0, |e| !e.dirty && !in_use(&e.page)));
        }
        self.chunks.retain(|_, c| c.used > 0);
        self.len -= gone.len();
        gone
    }

    /// Drops page `index` if it is cached and clean (reclaim); returns it.
    pub fn remove_clean(&mut self, index: u64) -> Option<P> {
        let (chunk, slot) = split(index);
        let c = self.chunks.get_mut(&chunk)?;
        if c.slots[slot].as_ref().is_none_or(|e| e.dirty) {
            return None;
        }
        let page = c.slots[slot].take().map(|e| e.page);
        c.used -= 1;
        if c.used == 0 {
            self.chunks.remove(&chunk);
        }
        self.len -= 1;
        page
    }

    /// Drops every page, dirty or not (the file is gone); returns them.
    pub fn drop_all(&mut self) -> Vec<P> {
        let mut gone = Vec::new();
        for (_, mut c) in core::mem::take(&mut self.chunks) {
            gone.extend(c.take(0, |_| true));
        }
        self.len = 0;
        gone
    }

    /// Pages cached.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// How many bytes of page `index` belong to a file of `size` bytes: what
/// write-back writes (0 for a page wholly past the end).
pub fn bytes_in_file(index: u64, size: u64) -> usize {
    let start = index.saturating_mul(PAGE);
    size.saturating_sub(start).min(PAGE) as usize
}

/// The pages a byte range `[offset, offset + len)` touches, as (page index, range
/// within the page) pairs.
pub fn pages_of(offset: u64, len: usize) -> impl Iterator<Item = (u64, core::ops::Range<usize>)> {
    let end = offset.saturating_add(len as u64);
    let mut at = offset;
    core::iter::from_fn(move || {
        if at >= end {
            return None;
        }
        let index = at / PAGE;
        let within = (at % PAGE) as usize;
        let n = (PAGE - at % PAGE).min(end - at) as usize;
        at += n as u64;
        Some((index, within..within + n))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap as Model;

    #[test]
    fn write_back_length_stops_at_the_end_of_the_file() {
        assert_eq!(bytes_in_file(0, 0), 0);
        assert_eq!(bytes_in_file(0, 100), 100);
        assert_eq!(bytes_in_file(0, 4096), 4096);
        assert_eq!(bytes_in_file(1, 4096), 0);
        assert_eq!(bytes_in_file(1, 6144), 2048);
        assert_eq!(bytes_in_file(u64::MAX, u64::MAX), 0);
    }

    #[test]
    fn ranges_split_at_page_boundaries() {
        let parts: Vec<_> = pages_of(4000, 5000).collect();
        assert_eq!(parts, [(0, 4000..4096), (1, 0..4096), (2, 0..808)]);
        assert_eq!(pages_of(8192, 0).count(), 0);
    }

    #[test]
    fn only_a_clean_page_is_removed_alone() {
        let mut f = FilePages::new();
        f.insert_clean(0, 'a');
        f.insert_clean(1, 'b');
        f.mark_dirty(1);
        assert_eq!(f.remove_clean(1), None, "dirty: it must be written first");
        assert_eq!(f.remove_clean(2), None, "not cached");
        assert_eq!(f.remove_clean(0), Some('a'));
        assert_eq!((f.len(), f.get(0)), (1, None));
    }

    #[test]
    fn truncation_keeps_the_page_holding_the_new_end() {
        let mut f = FilePages::new();
        for i in 0..4 {
            f.insert_clean(i, i);
            f.mark_dirty(i);
        }
        assert_eq!(f.truncate(4097), [2, 3]);
        assert_eq!(f.dirty(), [0, 1]);
        assert_eq!(f.truncate(0), [0, 1]);
        assert!(f.is_empty());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u32),
        Dirty(u64),
        Clean(u64),
        Truncate(u64),
        DropClean,
        RemoveClean(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            // Indices over four chunks of the index, and both ends of a chunk.
            (0..200u64, any::<u32>()).prop_map(|(i, v)| Op::Insert(i, v)),
            (0..200u64).prop_map(Op::Dirty),
            (0..200u64).prop_map(Op::Clean),
            (0..210 * PAGE).prop_map(Op::Truncate),
            Just(Op::DropClean),
            (0..200u64).prop_map(Op::RemoveClean),
        ]
    }

    proptest! {
        /// Against a model map: the same pages cached, the same dirty set, and
        /// every page handed back exactly once.
        #[test]
        fn matches_a_model(ops in proptest::collection::vec(op(), 1..200)) {
            let mut f = FilePages::new();
            let mut model: Model<u64, (u32, bool)> = Model::new();
            let mut returned = 0usize;
            let mut inserted = 0usize;
            for op in ops {
                match op {
                    Op::Insert(i, v) => {
                        inserted += 1;
                        let old = f.insert_clean(i, v);
                        prop_assert_eq!(old, model.insert(i, (v, false)).map(|e| e.0));
                        returned += old.is_some() as usize;
                    }
                    Op::Dirty(i) => if let Some(e) = model.get_mut(&i) {
                        e.1 = true;
                        f.mark_dirty(i);
                    },
                    Op::Clean(i) => {
                        if let Some(e) = model.get_mut(&i) { e.1 = false; }
                        f.mark_clean(i);
                    }
                    Op::Truncate(size) => {
                        let gone = f.truncate(size);
                        let keep = size.div_ceil(PAGE);
                        let expect: Vec<u32> = model.split_off(&keep).into_values().map(|e| e.0).collect();
                        prop_assert_eq!(&gone, &expect);
                        returned += gone.len();
                    }
                    Op::RemoveClean(i) => {
                        let expect = match model.get(&i) {
                            Some(&(v, false)) => { model.remove(&i); Some(v) }
                            _ => None,
                        };
                        let gone = f.remove_clean(i);
                        prop_assert_eq!(gone, expect);
                        returned += gone.is_some() as usize;
                    }
                    Op::DropClean => {
                        // Odd values stand for pages some task maps.
                        let gone = f.drop_clean(|v| v % 2 == 1);
                        let expect: Vec<u32> = model.iter().filter(|e| !e.1.1 && e.1.0 % 2 == 0).map(|e| e.1.0).collect();
                        model.retain(|_, e| e.1 || e.0 % 2 == 1);
                        prop_assert_eq!(&gone, &expect);
                        returned += gone.len();
                    }
                }
                let dirty: Vec<u64> = model.iter().filter(|e| e.1.1).map(|e| *e.0).collect();
                prop_assert_eq!(f.dirty(), dirty);
                prop_assert_eq!(f.len(), model.len());
                for (i, (v, _)) in &model {
                    prop_assert_eq!(f.get(*i), Some(v));
                }
            }
            returned += f.drop_all().len();
            prop_assert_eq!(returned, inserted);
        }
    }
}
