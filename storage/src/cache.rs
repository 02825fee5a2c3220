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
use alloc::{collections::BTreeMap, vec::Vec};

/// Bytes in a cached page.
pub const PAGE: u64 = 4096;

/// The cached pages of one file.
#[derive(Debug)]
pub struct FilePages<P> {
    pages: BTreeMap<u64, Entry<P>>,
}

#[derive(Debug)]
struct Entry<P> {
    page: P,
    dirty: bool,
}

impl<P> Default for FilePages<P> {
    fn default() -> Self {
        Self {
            pages: BTreeMap::new(),
        }
    }
}

impl<P> FilePages<P> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached page `index`, if any.
    pub fn get(&self, index: u64) -> Option<&P> {
        self.pages.get(&index).map(|e| &e.page)
    }

    /// Caches `page` as page `index`, clean. A page already there is handed back.
    pub fn insert_clean(&mut self, index: u64, page: P) -> Option<P> {
        self.pages
            .insert(index, Entry { page, dirty: false })
            .map(|e| e.page)
    }

    /// Marks page `index` dirty (it must be cached).
    pub fn mark_dirty(&mut self, index: u64) {
        self.pages
            .get_mut(&index)
            .expect("only a cached page can be dirtied")
            .dirty = true;
    }

    pub fn is_dirty(&self, index: u64) -> bool {
        self.pages.get(&index).is_some_and(|e| e.dirty)
    }

    /// Indices of the dirty pages, in ascending order (the write-back order).
    pub fn dirty(&self) -> Vec<u64> {
        self.pages
            .iter()
            .filter(|(_, e)| e.dirty)
            .map(|(&i, _)| i)
            .collect()
    }

    /// Page `index` reached the disk.
    pub fn mark_clean(&mut self, index: u64) {
        if let Some(e) = self.pages.get_mut(&index) {
            e.dirty = false;
        }
    }

    /// Drops every page that starts at or past `size` (the file was cut to
    /// `size` bytes); returns them for freeing.
    pub fn truncate(&mut self, size: u64) -> Vec<P> {
        let first_gone = size.div_ceil(PAGE);
        let gone = self.pages.split_off(&first_gone);
        gone.into_values().map(|e| e.page).collect()
    }

    /// Drops every clean page that is not `in_use` (a page some task maps must
    /// stay: it *is* that task's view of the file); returns them for freeing.
    pub fn drop_clean(&mut self, in_use: impl Fn(&P) -> bool) -> Vec<P> {
        let (gone, kept): (BTreeMap<_, _>, BTreeMap<_, _>) = core::mem::take(&mut self.pages)
            .into_iter()
            .partition(|(_, e)| !e.dirty && !in_use(&e.page));
        self.pages = kept;
        gone.into_values().map(|e| e.page).collect()
    }

    /// Drops page `index` if it is cached and clean (reclaim); returns it.
    pub fn remove_clean(&mut self, index: u64) -> Option<P> {
        match self.pages.get(&index) {
            Some(e) if !e.dirty => self.pages.remove(&index).map(|e| e.page),
            _ => None,
        }
    }

    /// Drops every page, dirty or not (the file is gone); returns them.
    pub fn drop_all(&mut self) -> Vec<P> {
        core::mem::take(&mut self.pages)
            .into_values()
            .map(|e| e.page)
            .collect()
    }

    /// Pages cached.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
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
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..16u64, any::<u32>()).prop_map(|(i, v)| Op::Insert(i, v)),
            (0..16u64).prop_map(Op::Dirty),
            (0..16u64).prop_map(Op::Clean),
            (0..70_000u64).prop_map(Op::Truncate),
            Just(Op::DropClean),
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
