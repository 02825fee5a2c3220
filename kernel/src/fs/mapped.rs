//! The page cache's side of file mappings (CONTRACTS.md section 9).
//!
//! A file region names its file by the cache's id; the pages it shows are the
//! cache's frames. This module answers the VM side's questions — how long is the
//! file (a page wholly past the end kills), which frame holds page N (read from
//! the disk now if need be: a fault cannot yield) — and takes what it reports:
//! which spaces map a file (a mapped file stays cached after its last close) and
//! which pages tasks stored to (dirty, then written back like any dirty page).
//!
//! Lock order: the active address space, then the storage (a fault holds the
//! first and asks for the second, so nothing here calls back into `vm` while it
//! holds the storage).
use super::{STORAGE, Storage, cache::FileId, files, fill, with};
use crate::vm::{active, file::Stored};
use alloc::collections::BTreeSet;
use lazuli_api::fs::{Fd, FileError, MapError, Sharing};
use lazuli_vm::{
    FileKey, FileSizes, MapKind, MapRequest, Placement, Prot, VmError, Why, request::user_range,
};
use x86_64::structures::paging::PhysFrame;

/// Maps `len` bytes of the open file `fd` from `offset` into the calling task.
pub fn map(
    fd: Fd,
    offset: u64,
    len: usize,
    prot: Prot,
    sharing: Sharing,
    at: Placement,
) -> Result<usize, MapError> {
    let shared = sharing == Sharing::Shared;
    let id = with(|s| files::mappable(s, fd, shared && prot.writable()))?;
    let req = MapRequest {
        len: len as u64,
        kind: MapKind::File {
            prot,
            file: id.key(),
            offset,
            shared,
        },
        placement: at,
    };
    let start = active::with(|space| space.map(&req)).unwrap_or(Err(VmError::NotMapped))?;
    Ok(start as usize)
}

/// Writes what the caller stored through shared mappings in [addr, addr + len)
/// to the files. Every page of the range must be mapped.
pub fn msync(addr: usize, len: usize) -> Result<(), MapError> {
    let range = user_range(addr as u64, len as u64)?;
    let stored = active::with(|space| {
        if !space.regions.covers(range.start, range.end) {
            return Err(VmError::NotMapped);
        }
        Ok(space.harvest(range.start, range.end))
    })
    .unwrap_or(Err(VmError::NotMapped))?;
    Ok(write_back(&stored)?)
}

/// An address space started or stopped mapping these files.
pub fn mappers_changed(gained: &[FileKey], lost: &[FileKey]) {
    let _ = with(|s| {
        for &key in gained {
            if let Some(file) = s.cache.get_mut(FileId::from_key(key)) {
                file.mappers += 1;
            }
        }
        for &key in lost {
            let id = FileId::from_key(key);
            if let Some(file) = s.cache.get_mut(id) {
                file.mappers -= 1;
                s.cache.forget_if_unused(id);
            }
        }
        Ok(())
    });
}

/// Marks the `stored` pages dirty and writes their files' dirty pages back.
pub fn write_back(stored: &[Stored]) -> Result<(), FileError> {
    with(|s| {
        mark_stored(s, stored);
        let ids: BTreeSet<FileId> = stored
            .iter()
            .map(|&(key, _, _)| FileId::from_key(key))
            .collect();
        let mut result = Ok(());
        for id in ids {
            if s.cache.get(id).is_some() {
                result = result.and(files::write_back(s, id));
            }
        }
        result
    })
}

/// Marks the `stored` pages dirty in the cache — those it still holds (a page
/// the cache let go, cut off by a truncation, is the task's own now).
pub fn mark_stored(s: &mut Storage, stored: &[Stored]) {
    for &(key, index, frame) in stored {
        if let Some(file) = s.cache.get_mut(FileId::from_key(key))
            && file.pages.get(index) == Some(&frame)
        {
            file.pages.mark_dirty(index);
        }
    }
}

/// The page cache as the fault decision sees it: file sizes.
struct Sizes<'a>(&'a Storage);

impl FileSizes for Sizes<'_> {
    fn size(&self, file: FileKey) -> Option<u64> {
        self.0.cache.get(FileId::from_key(file)).map(|f| f.size)
    }
}

/// Runs the fault decision `decide` with the cache's file sizes. Called from the
/// page-fault handler: the storage lock must be free (a user access never runs
/// while kernel code holds it).
#[inline(always)]
pub fn decide<R>(decide: impl FnOnce(&dyn FileSizes) -> R) -> R {
    let guard = STORAGE
        .try_lock()
        .expect("a user page fault while the storage lock is held");
    match guard.as_ref() {
        Some(storage) => decide(&Sizes(storage)),
        None => decide(&lazuli_vm::NoFiles),
    }
}

/// The cache's frame for page `index` of `file`, read from the disk now (the
/// fault waits, polling) if it is not cached.
#[inline(always)]
pub fn page_for_fault(file: FileKey, index: u64) -> Result<PhysFrame, Why> {
    let mut guard = STORAGE
        .try_lock()
        .expect("a user page fault while the storage lock is held");
    let storage = guard.as_mut().ok_or(Why::Io)?;
    let id = FileId::from_key(file);
    let cached = storage.cache.get(id).ok_or(Why::Io)?;
    // A cached page: one lookup of the file and one of the page (the fill path
    // takes two of each: under TCG those were ~600 of a hit's ~1,100 ticks).
    if let Some(&frame) = cached.pages.get(index) {
        return Ok(frame);
    }
    fetch_for_fault(storage, id, index)
}

/// A page fault's read of a page that is not cached.
#[inline(never)]
fn fetch_for_fault(storage: &mut Storage, id: FileId, index: u64) -> Result<PhysFrame, Why> {
    fill::fetch_now(storage, id, index).map_err(|e| match e {
        FileError::NoMemory => Why::OutOfMemory,
        _ => Why::Io,
    })
}

/// Reclaim's first source: the page cache's clean pages that no task maps (they
/// are read again on their next use). Called from a fault that found no free
/// frame; gives up (0) if the storage is busy. Returns how many it freed.
///
/// A pass looks at every cached page: after one that found nothing, the next
/// [`SHED_SKIP`] calls return 0 at once (while a task maps a large file, every
/// cached page is mapped, and a pass per fault would cost the whole cache each).
pub fn shed_clean_pages() -> usize {
    use core::sync::atomic::{AtomicUsize, Ordering};
    static SKIP: AtomicUsize = AtomicUsize::new(0);
    if SKIP.load(Ordering::Relaxed) > 0 {
        SKIP.fetch_sub(1, Ordering::Relaxed);
        return 0;
    }
    let shed = match STORAGE.try_lock() {
        Some(mut guard) => guard.as_mut().map_or(0, |s| s.cache.drop_clean()),
        None => 0,
    };
    if shed == 0 {
        SKIP.store(SHED_SKIP, Ordering::Relaxed);
    }
    shed
}

/// Reclaims that skip the cache after a fruitless pass over it.
const SHED_SKIP: usize = 1024;

/// Reclaim of a file page one task maps alone (its two owners: the cache and that
/// mapping), which the caller has just unmapped: the page is written to the file
/// first if the mapping `stored` to it (or it was dirty already), then leaves the
/// cache, its next touch reading it again. False — the caller maps it back —
/// if the storage is busy, the cache no longer holds `frame` as that page, or the
/// write failed.
pub fn evict_cached(file: FileKey, index: u64, frame: PhysFrame, stored: bool) -> bool {
    let Some(mut guard) = STORAGE.try_lock() else {
        return false;
    };
    let Some(s) = guard.as_mut() else {
        return false;
    };
    let id = FileId::from_key(file);
    let Some(f) = s.cache.get_mut(id) else {
        return false;
    };
    if f.pages.get(index) != Some(&frame) {
        return false;
    }
    if stored {
        f.pages.mark_dirty(index);
    }
    if f.pages.is_dirty(index) && files::write_back(s, id).is_err() {
        return false;
    }
    match s
        .cache
        .get_mut(id)
        .and_then(|f| f.pages.remove_clean(index))
    {
        Some(page) => {
            super::cache::release(alloc::vec![page]);
            true
        }
        None => false,
    }
}
