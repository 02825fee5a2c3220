//! Open files: the app API's handles, their positions, and reads and writes through
//! the page cache.
//!
//! A handle belongs to the task that opened it; for any other task its number is
//! `BadHandle`. A read of a
//! page the cache lacks reads it (and up to [`READ_AHEAD`] following pages, in one
//! pass over the file's clusters) from the disk; a write makes its pages dirty and
//! grows the size at once. Closing writes the file's dirty pages back.
use super::{
    Node, Storage,
    cache::{self, FileId, PAGE, bytes_in_file, pages_of},
    path::Path,
    with,
};
use crate::{mem::frame, task};
use alloc::{collections::BTreeMap, vec, vec::Vec};
use lazuli_api::{
    Pid,
    fs::{DirEntry, EntryKind, Fd, FileError, OpenOptions},
};
use x86_64::structures::paging::PhysFrame;

/// Pages read in one pass when a read misses.
pub const READ_AHEAD: u64 = 16;
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

pub fn read(fd: Fd, buf: &mut [u8]) -> Result<usize, FileError> {
    with(|s| {
        let h = s.files.get(fd)?;
        if !h.read {
            return Err(FileError::NotReadable);
        }
        let (id, pos) = (h.file, h.pos);
        let size = s.cache.file(id).size;
        let n = size.saturating_sub(pos).min(buf.len() as u64) as usize;
        let mut done = 0;
        for (index, range) in pages_of(pos, n) {
            let page = cached_page(s, id, index)?;
            let len = range.len();
            frame::with_contents(page, |bytes| {
                buf[done..done + len].copy_from_slice(&bytes[range])
            });
            done += len;
        }
        s.files.get(fd)?.pos += n as u64;
        Ok(n)
    })
}

pub fn write(fd: Fd, buf: &[u8]) -> Result<usize, FileError> {
    with(|s| {
        let h = s.files.get(fd)?;
        if !h.write {
            return Err(FileError::NotWritable);
        }
        let (id, pos) = (h.file, h.pos);
        let end = pos.checked_add(buf.len() as u64).filter(|&e| e <= MAX_SIZE);
        let end = end.ok_or(FileError::TooLarge)?;
        let mut done = 0;
        for (index, range) in pages_of(pos, buf.len()) {
            let whole = range.len() == PAGE as usize;
            let page = match s.cache.file(id).pages.get(index) {
                Some(&page) => page,
                // A page wholly overwritten need not be read first.
                None if whole => insert_zeroed(s, id, index)?,
                None => cached_page(s, id, index)?,
            };
            let len = range.len();
            frame::with_contents(page, |bytes| {
                bytes[range].copy_from_slice(&buf[done..done + len])
            });
            done += len;
            let file = s.cache.file(id);
            file.pages.mark_dirty(index);
            file.size = file.size.max(pos + done as u64);
        }
        s.files.get(fd)?.pos = end;
        Ok(buf.len())
    })
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

/// Writes the file's dirty pages to the disk, in page order, and marks them clean.
fn write_back(s: &mut Storage, id: FileId) -> Result<(), FileError> {
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
    let writes: Vec<(u64, PhysFrame, usize)> = dirty
        .iter()
        .map(|&(index, page)| (index * PAGE, page, bytes_in_file(index, size)))
        .filter(|&(_, _, len)| len > 0)
        .collect();
    if let Err(e) = s.write_pages(&path, &writes) {
        forget_unwritten(s, id, &path);
        return Err(e);
    }
    for (index, _) in dirty {
        s.cache.file(id).pages.mark_clean(index);
    }
    Ok(())
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
}

/// Page `index` of the file, read from the disk (with read-ahead) on a miss.
fn cached_page(s: &mut Storage, id: FileId, index: u64) -> Result<PhysFrame, FileError> {
    if let Some(&page) = s.cache.file(id).pages.get(index) {
        return Ok(page);
    }
    let file = s.cache.file(id);
    let (path, size) = (file.path.clone(), file.size);
    if index * PAGE >= size {
        return insert_zeroed(s, id, index);
    }
    // The run of missing pages from `index`, inside the file, at most READ_AHEAD.
    let last_in_file = (size - 1) / PAGE;
    let mut count = 1;
    while count < READ_AHEAD
        && index + count <= last_in_file
        && s.cache.file(id).pages.get(index + count).is_none()
    {
        count += 1;
    }
    let mut data = vec![0u8; (count * PAGE) as usize];
    s.read_pages(&path, index, &mut data)?;
    for (i, chunk) in data.chunks(PAGE as usize).enumerate() {
        let page = frame::allocate().ok_or(FileError::NoMemory)?;
        frame::with_contents(page, |b| b.copy_from_slice(chunk));
        s.cache.file(id).pages.insert_clean(index + i as u64, page);
    }
    Ok(*s.cache.file(id).pages.get(index).expect("just read"))
}

/// A zero page cached as page `index` (a page past the disk's copy of the file).
fn insert_zeroed(s: &mut Storage, id: FileId, index: u64) -> Result<PhysFrame, FileError> {
    let page = frame::allocate_zeroed().ok_or(FileError::NoMemory)?;
    s.cache.file(id).pages.insert_clean(index, page);
    Ok(page)
}
