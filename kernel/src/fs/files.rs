//! Open files: the app API's handles, their positions, and reads and writes through
//! the page cache.
//!
//! A handle belongs to the task that opened it; for any other task its number is
//! `BadHandle`. A read of a page the cache lacks fills it from the disk while the
//! task yields (`fill`); a write makes its pages dirty and grows the size at once
//! (reading first only a page it changes in part). Closing writes the file's dirty
//! pages back.
use super::{
    Node, Storage,
    cache::{self, FileId, PAGE, bytes_in_file, pages_of},
    fill,
    path::Path,
    with,
};
use crate::{mem::frame, task};
use alloc::{collections::BTreeMap, vec::Vec};
use lazuli_api::{
    Pid,
    fs::{DirEntry, EntryKind, Fd, FileError, OpenOptions},
};
use x86_64::structures::paging::PhysFrame;

/// FAT's largest file.
const MAX_SIZE: u64 = u32::MAX as u64;

struct Handle {
    owner: Pid,
    file: FileId,
    pos: u64,
    read: bool,
    write: bool,
}

#[derive(Default)]
pub struct OpenFiles {
    handles: BTreeMap<u32, Handle>,
    next: u32,
}

fn caller() -> Pid {
    task::current().unwrap_or(Pid(0))
}

impl OpenFiles {
    fn get(&mut self, fd: Fd) -> Result<&mut Handle, FileError> {
        match self.handles.get_mut(&fd.0) {
            Some(h) if h.owner == caller() => Ok(h),
            _ => Err(FileError::BadHandle),
        }
    }
}

pub fn open(text: &str, options: OpenOptions) -> Result<Fd, FileError> {
    let path = Path::parse(text)?;
    if options.truncate && !options.write {
        return Err(FileError::NotWritable);
    }
    with(|s| {
        let size = match s.stat(&path)? {
            Some(Node::Directory) => return Err(FileError::IsADirectory),
            Some(Node::File { .. }) | None if path.must_be_directory() => {
                return Err(FileError::NotADirectory);
            }
            Some(Node::File { size }) => size,
            None if options.create && options.write => {
                s.create_or_truncate(&path, false)?;
                0
            }
            None => return Err(FileError::NotFound),
        };
        let id = match s.cache.lookup(&path) {
            Some(id) => id,
            None => s.cache.insert(path.clone(), size),
        };
        if options.truncate {
            s.truncate_to(&path, 0)?;
            let file = s.cache.file(id);
            file.size = 0;
            file.disk_changed(0);
            cache::release(file.pages.truncate(0));
        }
        s.cache.file(id).opens += 1;
        let fd = s.files.next;
        s.files.next = s.files.next.wrapping_add(1);
        s.files.handles.insert(
            fd,
            Handle {
                owner: caller(),
                file: id,
                pos: 0,
                // Neither asked for: reading is what `open` means by default.
                read: options.read || !options.write,
                write: options.write,
            },
        );
        Ok(Fd(fd))
    })
}

pub async fn read(fd: Fd, buf: &mut [u8]) -> Result<usize, FileError> {
    let (id, pos, n) = with(|s| {
        let h = s.files.get(fd)?;
        if !h.read {
            return Err(FileError::NotReadable);
        }
        let (id, pos) = (h.file, h.pos);
        let size = s.cache.file(id).size;
        Ok((
            id,
            pos,
            size.saturating_sub(pos).min(buf.len() as u64) as usize,
        ))
    })?;
    let mut done = 0;
    for (index, range) in pages_of(pos, n) {
        let len = range.len();
        let out = &mut buf[done..done + len];
        loop {
            let copied = with(|s| {
                Ok(s.cache.file(id).pages.get(index).map(|&page| {
                    frame::with_contents(page, |bytes| out.copy_from_slice(&bytes[range.clone()]))
                }))
            })?;
            if copied.is_some() {
                break;
            }
            fill::fetch(id, index).await?;
        }
        done += len;
    }
    with(|s| {
        s.files.get(fd)?.pos = pos + n as u64;
        Ok(n)
    })
}

pub async fn write(fd: Fd, buf: &[u8]) -> Result<usize, FileError> {
    let (id, pos, end) = with(|s| {
        let h = s.files.get(fd)?;
        if !h.write {
            return Err(FileError::NotWritable);
        }
        let end = h
            .pos
            .checked_add(buf.len() as u64)
            .filter(|&e| e <= MAX_SIZE);
        let (id, pos, end) = (h.file, h.pos, end.ok_or(FileError::TooLarge)?);
        zero_past_end(s.cache.file(id), end);
        Ok((id, pos, end))
    })?;
    let mut done = 0;
    for (index, range) in pages_of(pos, buf.len()) {
        let len = range.len();
        let bytes = &buf[done..done + len];
        loop {
            let written = with(|s| {
                let file = s.cache.file(id);
                let page = match file.pages.get(index) {
                    Some(&page) => page,
                    // A page wholly overwritten, or with nothing on the disk, need
                    // not be read first.
                    None if len == PAGE as usize || index * PAGE >= file.on_disk => {
                        let page = frame::allocate_zeroed(frame::FrameUse::Cache)
                            .ok_or(FileError::NoMemory)?;
                        let page = frame::counted(page); // the cache's
                        file.pages.insert_clean(index, page);
                        page
                    }
                    None => return Ok(false),
                };
                frame::with_contents(page, |b| b[range.clone()].copy_from_slice(bytes));
                file.pages.mark_dirty(index);
                file.size = file.size.max(pos + (done + len) as u64);
                Ok(true)
            })?;
            if written {
                break;
            }
            fill::fetch(id, index).await?;
        }
        done += len;
    }
    with(|s| {
        s.files.get(fd)?.pos = end;
        Ok(buf.len())
    })
}

/// Before the file grows to `end`: the bytes of its last page past the old end
/// are made zero again. A shared mapping may have stored there (never part of
/// the file); growing must not make those bytes file contents.
fn zero_past_end(file: &mut cache::CachedFile, end: u64) {
    let tail = (file.size % PAGE) as usize;
    if end <= file.size || tail == 0 {
        return;
    }
    if let Some(&page) = file.pages.get(file.size / PAGE) {
        frame::with_contents(page, |b| b[tail..].fill(0));
    }
}

pub fn seek(fd: Fd, offset: u64) -> Result<(), FileError> {
    if offset > MAX_SIZE {
        return Err(FileError::TooLarge);
    }
    with(|s| {
        s.files.get(fd)?.pos = offset;
        Ok(())
    })
}

pub fn size(fd: Fd) -> Result<u64, FileError> {
    with(|s| {
        let id = s.files.get(fd)?.file;
        Ok(s.cache.file(id).size)
    })
}

pub fn close(fd: Fd) -> Result<(), FileError> {
    with(|s| {
        let id = s.files.get(fd)?.file;
        s.files.handles.remove(&fd.0);
        let written = write_back(s, id);
        s.cache.file(id).opens -= 1;
        s.cache.forget_if_unused(id);
        written
    })
}

/// Directory entries, with the sizes of files lazuli has grown but not yet
/// written back.
pub fn list(text: &str) -> Result<Vec<DirEntry>, FileError> {
    let path = Path::parse(text)?;
    with(|s| {
        if let Some(Node::File { .. }) = s.stat(&path)? {
            return Err(FileError::NotADirectory);
        }
        let mut entries = s.list(&path)?;
        for entry in &mut entries {
            if let EntryKind::File { size } = &mut entry.kind {
                let child = Path::parse(&alloc::format!("{}/{}", path.as_str(), entry.name))?;
                if let Some(id) = s.cache.lookup(&child) {
                    *size = s.cache.file(id).size;
                }
            }
        }
        Ok(entries)
    })
}

pub fn remove(text: &str) -> Result<(), FileError> {
    let path = Path::parse(text)?;
    with(|s| {
        if path.must_be_directory() && s.stat(&path)? != Some(Node::Directory) {
            return Err(FileError::NotADirectory);
        }
        s.remove_file(&path)?;
        if let Some(id) = s.cache.lookup(&path) {
            s.cache.unlink(id);
        }
        Ok(())
    })
}

pub fn mkdir(text: &str) -> Result<(), FileError> {
    let path = Path::parse(text)?;
    with(|s| s.mkdir(&path))
}

/// Writes the dirty pages of every cached file.
pub fn write_back_all(s: &mut Storage) -> Result<(), FileError> {
    let mut result = Ok(());
    for id in s.cache.ids() {
        result = result.and(write_back(s, id));
    }
    result
}

/// The file the caller's handle `fd` names, for a mapping: it must be open for
/// reading, and for writing too if the mapping's stores are to reach it.
pub fn mappable(s: &mut Storage, fd: Fd, stores_reach_file: bool) -> Result<FileId, FileError> {
    let h = s.files.get(fd)?;
    if !h.read {
        return Err(FileError::NotReadable);
    }
    if stores_reach_file && !h.write {
        return Err(FileError::NotWritable);
    }
    Ok(h.file)
}

/// Writes the file's dirty pages to the disk, in page order, and marks them clean.
pub fn write_back(s: &mut Storage, id: FileId) -> Result<(), FileError> {
    let file = s.cache.file(id);
    if file.removed {
        return Ok(());
    }
    let (path, size) = (file.path.clone(), file.size);
    let dirty: Vec<(u64, PhysFrame)> = file
        .pages
        .dirty()
        .into_iter()
        .map(|index| {
            (
                index,
                *file.pages.get(index).expect("dirty pages are cached"),
            )
        })
        .collect();
    let on_disk = file.on_disk;
    let (direct, through): (Vec<_>, Vec<_>) = dirty
        .iter()
        .map(|&(index, page)| (index * PAGE, page, bytes_in_file(index, size)))
        .filter(|&(_, _, len)| len > 0)
        .partition(|&(offset, _, len)| len == PAGE as usize && offset + PAGE <= on_disk);
    let written = write_by_extent(s, id, &path, &direct).and_then(|()| match through.is_empty() {
        true => Ok(()), // not even an open: the crate's seek walks the chain
        false => s.write_pages(&path, &through),
    });
    if let Err(e) = written {
        forget_unwritten(s, id, &path);
        return Err(e);
    }
    let writes = direct.len() + through.len();
    let file = s.cache.file(id);
    for (index, _) in dirty {
        file.pages.mark_clean(index);
    }
    if writes > 0 {
        file.disk_changed(file.size);
    }
    Ok(())
}

/// Writes whole pages that lie inside the disk copy of the file (their clusters
/// allocated) straight to their sectors, found in the file's extents — no walk of
/// the FAT chain per page, which the crate's seek would make (a page evicted from
/// a 96 MiB shared mapping would cost a walk of 24,576 clusters). Goes through the
/// volume's buffers, so the crate sees the new bytes; the directory entry (size,
/// time) is not touched.
fn write_by_extent(
    s: &mut Storage,
    id: FileId,
    path: &Path,
    pages: &[(u64, PhysFrame, usize)],
) -> Result<(), FileError> {
    if pages.is_empty() {
        return Ok(());
    }
    if s.cache.file(id).extents.is_none() {
        let extents = s.extents(path)?;
        s.cache.file(id).extents = Some(extents);
    }
    let extents = s.cache.file(id).extents.as_deref().unwrap_or_default();
    let max = crate::block::virtio::MAX_BYTES;
    for &(offset, page, _) in pages {
        let runs = lazuli_storage::layout::reads(extents, offset, offset + PAGE, max);
        let covered: usize = runs.iter().map(|r| r.len).sum();
        if covered != PAGE as usize {
            return Err(FileError::Io); // the extents do not cover the disk copy
        }
        frame::with_contents(page, |bytes| {
            runs.iter().try_for_each(|r| {
                let sector = r.volume_offset / crate::block::SECTOR as u64;
                super::volume::write_through(sector, &bytes[r.into..r.into + r.len])
            })
        })
        .map_err(|_| FileError::Io)?;
    }
    super::volume::send_writes().map_err(|_| FileError::Io)
}

/// A write-back failed (no space, a device error): the error is reported once,
/// and the file becomes what the disk holds — its cached pages dropped, its size
/// the disk's — so later syncs do not fail over and over on the same pages.
fn forget_unwritten(s: &mut Storage, id: FileId, path: &Path) {
    let on_disk = match s.stat(path) {
        Ok(Some(Node::File { size })) => size,
        _ => 0,
    };
    let file = s.cache.file(id);
    cache::release(file.pages.drop_all());
    file.size = on_disk;
    file.disk_changed(on_disk);
}
