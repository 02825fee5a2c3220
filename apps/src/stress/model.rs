//! The reference model a stress worker checks the kernel against: what every page
//! of its map/munmap/mprotect window should be, page by page, plus the break. It is
//! deliberately simpler than the kernel's region set — a map of pages — so the two
//! can disagree only if one of them is wrong.
//!
//! File pages: each worker maps its own file of [`FILE_PAGES`] pages. The bytes
//! stored into it through shared mappings are in [`FileBytes`], one map shared by
//! the worker and its forked children (a child's shared store is the parent's
//! too); a private page, once stored to, is a snapshot of its file page in
//! [`Model::private`], copied with the model at fork like anonymous memory.
use alloc::{collections::BTreeMap, rc::Rc};
use core::cell::RefCell;
use lazuli_api::Prot;

/// Pages in a worker's file; mappings may reach two pages past its end.
pub const FILE_PAGES: u64 = 32;

/// The file's bytes that are not zero, by file offset.
pub type FileBytes = Rc<RefCell<BTreeMap<u64, u8>>>;

/// Which page of the worker's file a mapped page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilePage {
    pub index: u64,
    pub shared: bool,
}

impl FilePage {
    /// Whether the page lies wholly past the end of the file (a touch kills).
    pub fn past_end(&self) -> bool {
        self.index >= FILE_PAGES
    }
}

pub const PAGE: u64 = lazuli_api::PAGE_SIZE as u64;
/// The part of the user space the workers' `map` calls play in.
pub const WINDOW_START: u64 = 0x40_0000;
pub const WINDOW_PAGES: u64 = 4096;
pub const WINDOW_END: u64 = WINDOW_START + WINDOW_PAGES * PAGE;
/// A fresh task's reserved pages: its stack and guard.
pub const FRESH_NUMVP: usize = 9;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageState {
    pub prot: Prot,
    pub guard: bool,
    pub present: bool,
    /// The byte at [`offset`] of the page (everything else reads 0), for
    /// anonymous pages.
    pub value: u8,
    /// The file page it shows, for file mappings.
    pub file: Option<FilePage>,
}

#[derive(Clone, Default)]
pub struct Model {
    pub pages: BTreeMap<u64, PageState>,
    /// Pages the break area holds (sbrk backs them eagerly).
    pub heap_pages: u64,
    /// What stores through shared mappings put in the file.
    pub file_bytes: FileBytes,
    /// Private file pages that were stored to: their own bytes (not zero), by
    /// offset in the page.
    pub private: BTreeMap<u64, BTreeMap<u64, u8>>,
}

/// Where in a page the stress writes its byte: varies with the page.
pub fn offset(page: u64) -> u64 {
    (page / PAGE * 7) % PAGE
}

impl Model {
    /// numvp the kernel should report.
    pub fn numvp(&self) -> usize {
        FRESH_NUMVP + self.pages.len() + self.heap_pages as usize
    }

    /// numpp the kernel should report (the stack is never touched).
    pub fn numpp(&self) -> usize {
        self.pages.values().filter(|p| p.present).count() + self.heap_pages as usize
    }

    /// Present pages that show their file's cached frame (shared, or private and
    /// never stored to): reclaim may drop them, to be read again when touched.
    pub fn droppable_file_pages(&self) -> usize {
        let cached = |(addr, p): (&u64, &PageState)| {
            p.present
                && p.file
                    .is_some_and(|f| f.shared || !self.private.contains_key(addr))
        };
        self.pages.iter().filter(|&e| cached(e)).count()
    }

    /// Whether any page of [start, start + pages·PAGE) is mapped.
    pub fn any_mapped(&self, start: u64, pages: u64) -> bool {
        self.pages
            .range(start..start + pages * PAGE)
            .next()
            .is_some()
    }

    /// Whether every page of the range is mapped.
    pub fn all_mapped(&self, start: u64, pages: u64) -> bool {
        self.pages.range(start..start + pages * PAGE).count() as u64 == pages
    }

    /// First fit: the lowest page-aligned `a >= from` (and >= WINDOW_START) with
    /// `pages` free pages — the rule `map` promises, checked on the window.
    pub fn first_fit(&self, pages: u64, from: u64) -> u64 {
        let mut candidate = from.max(WINDOW_START);
        while let Some((&taken, _)) = self
            .pages
            .range(candidate..candidate + pages * PAGE)
            .next_back()
        {
            candidate = taken + PAGE;
        }
        candidate
    }

    /// Adds fresh (not present) pages.
    pub fn map(&mut self, start: u64, pages: u64, prot: Prot, guard: bool) {
        let prot = if guard { Prot::NONE } else { prot.effective() };
        for i in 0..pages {
            let state = PageState {
                prot,
                guard,
                present: false,
                value: 0,
                file: None,
            };
            self.pages.insert(start + i * PAGE, state);
        }
    }

    /// Removes every page of the range.
    pub fn unmap(&mut self, start: u64, pages: u64) {
        let gone: alloc::vec::Vec<u64> = self
            .pages
            .range(start..start + pages * PAGE)
            .map(|(&a, _)| a)
            .collect();
        for a in gone {
            self.pages.remove(&a);
            self.private.remove(&a);
        }
    }

    /// Adds fresh pages showing file pages `first`, `first + 1`, ….
    pub fn map_file(&mut self, start: u64, pages: u64, prot: Prot, first: u64, shared: bool) {
        self.map(start, pages, prot, false);
        for i in 0..pages {
            let page = self
                .pages
                .get_mut(&(start + i * PAGE))
                .expect("just mapped");
            page.file = Some(FilePage {
                index: first + i,
                shared,
            });
        }
    }

    /// The byte at offset `within` of the mapped page `page`.
    pub fn byte(&self, page: u64, within: u64) -> u8 {
        let state = self.pages[&page];
        match state.file {
            None if within == offset(page) => state.value,
            None => 0,
            Some(f) => match self.private.get(&page) {
                Some(own) => own.get(&within).copied().unwrap_or(0),
                None => self.file_byte(f.index * PAGE + within),
            },
        }
    }

    fn file_byte(&self, at: u64) -> u8 {
        self.file_bytes.borrow().get(&at).copied().unwrap_or(0)
    }

    /// A store of `value` at offset `within` of the mapped page `page`.
    pub fn store(&mut self, page: u64, within: u64, value: u8) {
        let state = self.pages.get_mut(&page).expect("a mapped page");
        state.present = true;
        let Some(f) = state.file else {
            state.value = value;
            return;
        };
        if f.shared {
            set(
                &mut self.file_bytes.borrow_mut(),
                f.index * PAGE + within,
                value,
            );
            return;
        }
        if !self.private.contains_key(&page) {
            // The first store copies the file page as it is now.
            let from = f.index * PAGE;
            let copy = self
                .file_bytes
                .borrow()
                .range(from..from + PAGE)
                .map(|(&at, &v)| (at - from, v))
                .collect();
            self.private.insert(page, copy);
        }
        set(
            self.private.get_mut(&page).expect("just made"),
            within,
            value,
        );
    }

    /// Sets the rights of every page of the range.
    pub fn protect(&mut self, start: u64, pages: u64, prot: Prot) {
        for (_, p) in self.pages.range_mut(start..start + pages * PAGE) {
            p.prot = prot.effective();
        }
    }
}

/// Records a byte (zero bytes are not kept).
fn set(bytes: &mut BTreeMap<u64, u8>, at: u64, value: u8) {
    if value == 0 {
        bytes.remove(&at);
    } else {
        bytes.insert(at, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fit_skips_mapped_pages_and_starts_at_the_window() {
        let mut m = Model::default();
        assert_eq!(m.first_fit(2, 0), WINDOW_START);
        m.map(WINDOW_START + PAGE, 1, Prot::RW, false);
        assert_eq!(m.first_fit(2, 0), WINDOW_START + 2 * PAGE);
        assert_eq!(m.first_fit(1, 0), WINDOW_START);
        assert_eq!(m.first_fit(1, WINDOW_START + PAGE), WINDOW_START + 2 * PAGE);
    }

    #[test]
    fn counters_follow_pages_and_the_heap() {
        let mut m = Model::default();
        m.map(WINDOW_START, 3, Prot::READ, false);
        m.pages.get_mut(&WINDOW_START).unwrap().present = true;
        m.heap_pages = 2;
        assert_eq!((m.numvp(), m.numpp()), (FRESH_NUMVP + 5, 3));
        m.unmap(WINDOW_START, 2);
        assert_eq!((m.numvp(), m.numpp()), (FRESH_NUMVP + 3, 2));
    }
}
