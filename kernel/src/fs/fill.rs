//! Filling the page cache from the disk while the reading task yields.
//!
//! A miss is planned under the storage lock — which pages to read (the missing
//! page and up to [`READ_AHEAD`] − 1 missing pages after it), and where their bytes
//! lie on the volume (the file's extents, asked of the FAT crate once and kept until
//! the disk copy changes) — then the reads go to the device with the lock released,
//! so the task awaits the completion interrupt and other tasks run (even other file
//! calls). Back under the lock the pages go into the cache, unless the disk copy
//! changed meanwhile (a write-back, a truncation: the file's generation moved), in
//! which case the fill is planned again; a page someone cached meanwhile (a writer,
//! another reader) is kept, the fresh copy dropped.
//!
//! File data on the device is always current when the lock is free: write-back
//! writes whole pages to it and flushes the volume's sector cache at the end.
use super::{
    Storage,
    cache::{FileId, PAGE},
    with,
};
use crate::{
    block::{self, SECTOR},
    mem::frame,
};
use alloc::{vec, vec::Vec};
use lazuli_api::fs::FileError;
use lazuli_storage::layout;
use x86_64::structures::paging::PhysFrame;

/// Pages one miss reads at most (64 KiB).
pub const READ_AHEAD: u64 = 16;

struct Plan {
    generation: u64,
    first: u64,
    count: u64,
    /// Bytes of the range that are on the disk (the rest reads as zeros).
    on_disk: usize,
    reads: Vec<layout::Read>,
    volume_start: u64,
}

/// Makes page `index` of file `id` cached, reading it from the disk if need be.
pub async fn fetch(id: FileId, index: u64) -> Result<(), FileError> {
    loop {
        let Some(plan) = with(|s| plan(s, id, index, READ_AHEAD))? else {
            return Ok(());
        };
        let mut data = vec![0u8; (plan.count * PAGE) as usize];
        for r in &plan.reads {
            let sector = plan.volume_start + r.volume_offset / SECTOR as u64;
            block::read_async(sector, &mut data[r.into..r.into + r.len])
                .await
                .map_err(|_| FileError::Io)?;
        }
        // Slack of the last cluster past the end of the file is not the file's.
        data[plan.on_disk..].fill(0);
        if with(|s| insert(s, id, &plan, &data))? {
            return Ok(());
        }
    }
}

/// Page `index` of file `id`, read into the cache now if it is not there, the
/// caller holding the storage lock throughout — for the page-fault path, which
/// cannot yield: it waits for the disk polling, interrupts off, as
/// `disk_read_4k_polled` measures. Reads that one page only: a first touch
/// brings in one page, and a fault keeps interrupts off no longer than it must.
pub fn fetch_now(s: &mut Storage, id: FileId, index: u64) -> Result<PhysFrame, FileError> {
    if let Some(plan) = plan(s, id, index, 1)? {
        let mut data = vec![0u8; (plan.count * PAGE) as usize];
        for r in &plan.reads {
            let sector = plan.volume_start + r.volume_offset / SECTOR as u64;
            block::with_device(|d| d.read(sector, &mut data[r.into..r.into + r.len]))
                .and_then(|read| read)
                .map_err(|_| FileError::Io)?;
        }
        data[plan.on_disk..].fill(0);
        // The lock was held: the disk copy cannot have changed.
        insert(s, id, &plan, &data)?;
    }
    s.cache
        .file(id)
        .pages
        .get(index)
        .copied()
        .ok_or(FileError::Io)
}

/// What to read for a miss on page `index` (and up to `ahead` − 1 missing pages
/// after it); None if nothing is to be read (the page is cached, or lies past
/// the disk copy and is cached as zeros now).
fn plan(s: &mut Storage, id: FileId, index: u64, ahead: u64) -> Result<Option<Plan>, FileError> {
    let file = s.cache.file(id);
    if file.pages.get(index).is_some() {
        return Ok(None);
    }
    if index * PAGE >= file.on_disk {
        let page = frame::allocate_zeroed(frame::FrameUse::Cache).ok_or(FileError::NoMemory)?;
        let page = frame::counted(page); // the cache's
        file.pages.insert_clean(index, page);
        return Ok(None);
    }
    if file.extents.is_none() {
        let path = file.path.clone();
        let extents = s.extents(&path)?;
        s.cache.file(id).extents = Some(extents);
    }
    let volume_start = s.volume_start();
    let file = s.cache.file(id);
    let last = (file.on_disk - 1) / PAGE;
    let mut count = 1;
    while count < ahead && index + count <= last && file.pages.get(index + count).is_none() {
        count += 1;
    }
    let (start, end) = (index * PAGE, ((index + count) * PAGE).min(file.on_disk));
    let extents = file.extents.as_deref().unwrap_or_default();
    Ok(Some(Plan {
        generation: file.generation,
        first: index,
        count,
        on_disk: (end - start) as usize,
        reads: layout::reads(extents, start, end, block::virtio::MAX_BYTES),
        volume_start,
    }))
}

/// Caches the pages read for `plan`; false if the disk copy changed meanwhile.
fn insert(s: &mut Storage, id: FileId, plan: &Plan, data: &[u8]) -> Result<bool, FileError> {
    let file = s.cache.file(id);
    if file.generation != plan.generation {
        return Ok(false);
    }
    for (i, chunk) in data.chunks(PAGE as usize).enumerate() {
        let index = plan.first + i as u64;
        if file.pages.get(index).is_some() {
            continue;
        }
        let page =
            frame::counted(frame::allocate(frame::FrameUse::Cache).ok_or(FileError::NoMemory)?);
        frame::with_contents(page, |b| b.copy_from_slice(chunk));
        file.pages.insert_clean(index, page);
    }
    Ok(true)
}
