//! The page cache: every file's data in whole 4 KiB pages keyed by (file, page
//! index), each page a frame. Reads and writes of the file API go through it, and
//! file mappings map these very frames into tasks (`mapped`).
//!
//! Frames: the cache is one owner of each of its frames (the owner counts of
//! `mem::frame`, which copy-on-write uses too), and every page-table entry that
//! maps one is another. Dropping a page releases the cache's share: a page some
//! task still maps lives on, owned by it alone, and is freed with its last
//! mapping. Clean pages are dropped for memory only when nobody maps them.
//!
//! A file gets a [`FileId`] the first time it is opened and keeps it while it has
//! cached pages or open handles; every spelling of its path (FAT names ignore case)
//! finds the same id. Dirty pages are written back by `files::write_back` (on
//! close, `sync` and `poweroff`); clean pages can be dropped at any time.
//! Which pages are dirty, and how much of each is file, is
//! `lazuli_storage::cache`'s bookkeeping (host-tested).
use super::path::Path;
use crate::mem::frame;
use alloc::{collections::BTreeMap, string::String, vec::Vec};
use lazuli_storage::{cache::FilePages, layout::Extent};
use lazuli_vm::FileKey;
use x86_64::structures::paging::PhysFrame;

pub use lazuli_storage::cache::{PAGE, bytes_in_file, pages_of};

/// A cached file's identity (opaque outside the kernel).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FileId(u32);

impl FileId {
    /// The name file regions of the VM policy know it by.
    pub fn key(self) -> FileKey {
        FileKey(self.0)
    }

    pub fn from_key(key: FileKey) -> FileId {
        FileId(key.0)
    }
}

/// One file the cache knows.
pub struct CachedFile {
    pub path: Path,
    /// The file's size as lazuli sees it (the disk catches up at write-back).
    pub size: u64,
    /// Open handles.
    pub opens: usize,
    /// Address spaces with a region mapping it.
    pub mappers: usize,
    /// Removed from the disk while open: its pages are never written back.
    pub removed: bool,
    pub pages: FilePages<PhysFrame>,
    /// The size of the file's copy on the disk.
    pub on_disk: u64,
    /// Where that copy lies on the volume (computed on the first miss).
    pub extents: Option<Vec<Extent>>,
    /// Bumped whenever the disk copy changes, so a fill that read the disk while
    /// the cache was unlocked knows its bytes may be stale.
    pub generation: u64,
}

impl CachedFile {
    /// The disk copy changed (written back, truncated): now `on_disk` bytes long.
    /// Its clusters are looked up again only if its length changed (a write-back
    /// within the file moves no cluster).
    pub fn disk_changed(&mut self, on_disk: u64) {
        if on_disk != self.on_disk {
            self.extents = None;
        }
        self.on_disk = on_disk;
        self.generation += 1;
    }
}

#[derive(Default)]
pub struct Cache {
    ids: BTreeMap<String, FileId>,
    files: BTreeMap<FileId, CachedFile>,
    next: u32,
}

impl Cache {
    /// The id of the file at `path`, if the cache knows it.
    pub fn lookup(&self, path: &Path) -> Option<FileId> {
        self.ids.get(&path.key()).copied()
    }

    /// Starts caching the file at `path`, `size` bytes long.
    pub fn insert(&mut self, path: Path, size: u64) -> FileId {
        let id = FileId(self.next);
        self.next += 1;
        self.ids.insert(path.key(), id);
        self.files.insert(
            id,
            CachedFile {
                path,
                size,
                opens: 0,
                mappers: 0,
                removed: false,
                pages: FilePages::new(),
                on_disk: size,
                extents: None,
                generation: 0,
            },
        );
        id
    }

    pub fn file(&mut self, id: FileId) -> &mut CachedFile {
        self.files
            .get_mut(&id)
            .expect("a live handle names a cached file")
    }

    /// The file `id`, if the cache still knows it (a mapping's file may be gone
    /// if the volume failed).
    pub fn get(&self, id: FileId) -> Option<&CachedFile> {
        self.files.get(&id)
    }

    pub fn get_mut(&mut self, id: FileId) -> Option<&mut CachedFile> {
        self.files.get_mut(&id)
    }

    /// The file was removed from the disk: its path no longer finds it, and once
    /// nobody has it open it is gone with its pages.
    ///
    /// Its handles keep what is cached; pages not cached read as zeros (the
    /// clusters went back to the file system, and may hold another file by now).
    pub fn unlink(&mut self, id: FileId) {
        let key = self.file(id).path.key();
        self.ids.remove(&key);
        let file = self.file(id);
        file.removed = true;
        file.disk_changed(0);
        self.forget_if_unused(id);
    }

    /// Drops a file nobody has open or mapped that has no pages left (or was
    /// removed).
    pub fn forget_if_unused(&mut self, id: FileId) {
        let unused = self.get(id).is_some_and(|file| {
            file.opens == 0 && file.mappers == 0 && (file.removed || file.pages.is_empty())
        });
        if unused {
            let mut file = self.files.remove(&id).expect("just seen");
            release(file.pages.drop_all());
            if !file.removed {
                self.ids.remove(&file.path.key());
            }
        }
    }

    /// Frames the cache holds.
    pub fn frames(&self) -> usize {
        self.files.values().map(|f| f.pages.len()).sum()
    }

    /// Gives back every clean page of every file that no task maps; returns how
    /// many.
    pub fn drop_clean(&mut self) -> usize {
        let mut dropped = 0;
        let ids: alloc::vec::Vec<FileId> = self.files.keys().copied().collect();
        for id in ids {
            let gone = self
                .file(id)
                .pages
                .drop_clean(|&page| frame::owners(page) > 1);
            dropped += gone.len();
            release(gone);
            self.forget_if_unused(id);
        }
        dropped
    }

    /// Every file whose pages may need writing back.
    pub fn ids(&self) -> alloc::vec::Vec<FileId> {
        self.files.keys().copied().collect()
    }

    /// Frees every page, dirty or not (the volume is gone).
    pub fn drop_everything(&mut self) {
        for (_, mut file) in core::mem::take(&mut self.files) {
            release(file.pages.drop_all());
        }
        self.ids.clear();
    }
}

/// Drops the cache's share of pages it no longer holds: each frame is freed
/// unless a task still maps it.
pub fn release(frames: alloc::vec::Vec<PhysFrame>) {
    frame::releasing(|r| frames.into_iter().for_each(|f| r.release(f)));
}
