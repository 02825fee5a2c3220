//! Files: the disk's FAT file system, through the kernel's page cache.
//!
//! Paths name entries from the root, `/` between components (a leading `/` is
//! optional); names are case-insensitive and listed as stored. A [`File`] is closed
//! when it is dropped — also when its task is killed — and closing writes its dirty
//! pages back to the disk. Contracts: CONTRACTS.md section 8.
use crate::{Placement, Prot, VmError};
use alloc::{boxed::Box, string::String, vec::Vec};
use core::{future::Future, pin::Pin};

/// A file call that may wait for the disk: the task yields until it is done.
pub type IoFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// Why a file call failed. Displays as the reason in `CMD: PATH: REASON`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileError {
    NotFound,
    IsADirectory,
    NotADirectory,
    /// Something of that name is already there.
    Exists,
    /// The kernel had no frame for the page cache.
    NoMemory,
    NoSpace,
    /// Empty, too long, `.`/`..`, or characters FAT does not allow.
    InvalidName,
    /// No disk and no RAM disk: there is no file system.
    NoDisk,
    /// The device or the file system's structures failed.
    Io,
    /// The file was not opened for reading (or writing).
    NotReadable,
    NotWritable,
    /// FAT files end at 4 GiB - 1.
    TooLarge,
    /// Not an open file of the calling task.
    BadHandle,
}

impl core::fmt::Display for FileError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            FileError::NotFound => "not found",
            FileError::IsADirectory => "is a directory",
            FileError::NotADirectory => "not a directory",
            FileError::Exists => "exists",
            FileError::NoMemory => "out of memory",
            FileError::NoSpace => "no space",
            FileError::InvalidName => "invalid name",
            FileError::NoDisk => "no disk",
            FileError::Io => "I/O error",
            FileError::NotReadable => "not open for reading",
            FileError::NotWritable => "not open for writing",
            FileError::TooLarge => "file too large",
            FileError::BadHandle => "bad file handle",
        })
    }
}

impl FileError {
    /// The variant's name in snake_case, as the VM playground prints it after
    /// `error ` (`not_found`, `is_directory`, …): section 9 of CONTRACTS.md.
    pub fn name(&self) -> &'static str {
        match self {
            FileError::NotFound => "not_found",
            FileError::IsADirectory => "is_directory",
            FileError::NotADirectory => "not_directory",
            FileError::Exists => "exists",
            FileError::NoMemory => "no_memory",
            FileError::NoSpace => "no_space",
            FileError::InvalidName => "invalid_name",
            FileError::NoDisk => "no_disk",
            FileError::Io => "io_error",
            FileError::NotReadable => "not_readable",
            FileError::NotWritable => "not_writable",
            FileError::TooLarge => "too_large",
            FileError::BadHandle => "bad_handle",
        }
    }
}

/// Whether a file mapping's stores go to the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Stores go to the file's one cached copy: every task mapping it shared sees
    /// them at once, and they reach the disk on `msync`, `munmap`, exit, `sync`.
    Shared,
    /// The first store to a page gives the task its own copy; the file never changes.
    Private,
}

/// Why `map` of a file or `msync` was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapError {
    /// The range or placement (the VM API's checks: `unaligned` for an offset too).
    Vm(VmError),
    /// The file: not readable, a shared writable mapping of a file not open for
    /// writing, a failed write-back.
    File(FileError),
}

impl From<VmError> for MapError {
    fn from(e: VmError) -> Self {
        MapError::Vm(e)
    }
}

impl From<FileError> for MapError {
    fn from(e: FileError) -> Self {
        MapError::File(e)
    }
}

impl core::fmt::Display for MapError {
    /// The snake_case name, as the playground prints it after `error `.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MapError::Vm(e) => write!(f, "{e}"),
            MapError::File(e) => f.write_str(e.name()),
        }
    }
}

/// How to open a file (the fields of POSIX `open`'s flags that FAT can honour).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    pub read: bool,
    pub write: bool,
    /// Make the file if it does not exist.
    pub create: bool,
    /// Cut the file to length 0 (needs `write`).
    pub truncate: bool,
}

impl OpenOptions {
    /// Read only.
    pub const READ: OpenOptions = OpenOptions {
        read: true,
        write: false,
        create: false,
        truncate: false,
    };
    /// Write, creating or truncating: what `write PATH TEXT` does.
    pub const REPLACE: OpenOptions = OpenOptions {
        read: false,
        write: true,
        create: true,
        truncate: true,
    };
}

/// A kernel handle number; only meaningful to the task that opened it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fd(pub u32);

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub kind: EntryKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    File { size: u64 },
    Directory,
}

/// What `disk` prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskInfo {
    /// The device: "virtio-blk 00:04.0", "RAM disk".
    pub device: String,
    pub bytes: u64,
    /// "FAT12", "FAT16" or "FAT32".
    pub file_system: &'static str,
    pub free_bytes: u64,
}

/// The kernel's side of files. Implemented once, by the kernel.
pub trait Files: Sync {
    fn open(&self, path: &str, options: OpenOptions) -> Result<Fd, FileError>;
    fn read<'a>(&self, fd: Fd, buf: &'a mut [u8]) -> IoFuture<'a, Result<usize, FileError>>;
    fn write<'a>(&self, fd: Fd, buf: &'a [u8]) -> IoFuture<'a, Result<usize, FileError>>;
    fn seek(&self, fd: Fd, offset: u64) -> Result<(), FileError>;
    fn size(&self, fd: Fd) -> Result<u64, FileError>;
    fn close(&self, fd: Fd) -> Result<(), FileError>;
    fn list(&self, path: &str) -> Result<Vec<DirEntry>, FileError>;
    fn remove(&self, path: &str) -> Result<(), FileError>;
    fn mkdir(&self, path: &str) -> Result<(), FileError>;
    fn sync(&self) -> Result<(), FileError>;
    fn disk(&self) -> Result<DiskInfo, FileError>;
    /// Maps `len` bytes of the open file `fd` from `offset` into the caller.
    fn map(
        &self,
        fd: Fd,
        offset: u64,
        len: usize,
        prot: Prot,
        sharing: Sharing,
        at: Placement,
    ) -> Result<usize, MapError>;
    /// Writes the dirty shared file pages of [addr, addr + len) back to their files.
    fn msync(&self, addr: usize, len: usize) -> Result<(), MapError>;
    /// Frames the page cache holds.
    fn cache_pages(&self) -> usize;
    /// Gives back every clean cached page; returns how many.
    fn drop_cache(&self) -> usize;
}

static FILES: spin::Once<&'static dyn Files> = spin::Once::new();

pub(crate) fn install(files: &'static dyn Files) {
    FILES.call_once(|| files);
}

fn files() -> &'static dyn Files {
    *FILES
        .get()
        .expect("lazuli-api used before the kernel installed itself")
}

/// An open file. Reads and writes move a position, as POSIX `read`/`write` do.
#[derive(Debug)]
pub struct File {
    fd: Fd,
}

impl File {
    pub fn open(path: &str, options: OpenOptions) -> Result<File, FileError> {
        files().open(path, options).map(|fd| File { fd })
    }
    /// Reads at most `buf.len()` bytes at the position; 0 at the end of the file.
    /// Bytes not in the page cache come from the disk while the task yields.
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize, FileError> {
        files().read(self.fd, buf).await
    }
    /// Writes all of `buf` at the position, growing the file as needed (into the
    /// page cache: the disk gets it at close, `sync` or power-off).
    pub async fn write(&mut self, buf: &[u8]) -> Result<usize, FileError> {
        files().write(self.fd, buf).await
    }
    /// Moves the position (past the end is allowed: a later write fills the gap
    /// with zeros).
    pub fn seek(&mut self, offset: u64) -> Result<(), FileError> {
        files().seek(self.fd, offset)
    }
    pub fn size(&self) -> Result<u64, FileError> {
        files().size(self.fd)
    }
    /// Closes the file, writing its dirty pages back, and says whether that worked
    /// (dropping a `File` does the same and forgets the answer).
    pub fn close(self) -> Result<(), FileError> {
        let fd = self.fd;
        core::mem::forget(self);
        files().close(fd)
    }
    /// Maps `len` bytes (rounded up to pages) of the file from `offset` (a
    /// multiple of 4096) with `prot`, placed by `at`; returns the start. Nothing
    /// is read now: each page comes through the page cache on its first touch, and
    /// a page wholly past the end of the file kills its toucher. The mapping
    /// outlives the `File`. Needs the file open for reading, and for writing too
    /// if the mapping is shared and writable.
    pub fn map(
        &self,
        offset: u64,
        len: usize,
        prot: Prot,
        sharing: Sharing,
        at: Placement,
    ) -> Result<usize, MapError> {
        files().map(self.fd, offset, len, prot, sharing, at)
    }
    /// Reads the whole rest of the file.
    pub async fn read_to_end(&mut self) -> Result<Vec<u8>, FileError> {
        let mut all = Vec::new();
        let mut chunk = alloc::vec![0u8; 16 * 1024];
        loop {
            let n = self.read(&mut chunk).await?;
            if n == 0 {
                return Ok(all);
            }
            all.extend_from_slice(&chunk[..n]);
        }
    }
}

impl Drop for File {
    fn drop(&mut self) {
        let _ = files().close(self.fd);
    }
}

/// The entries of directory `path` ("" or "/" is the root), sorted by name.
pub fn list(path: &str) -> Result<Vec<DirEntry>, FileError> {
    files().list(path)
}

/// Removes the file `path` (a directory is `IsADirectory`).
pub fn remove(path: &str) -> Result<(), FileError> {
    files().remove(path)
}

/// Makes the directory `path`; its parent must exist.
pub fn mkdir(path: &str) -> Result<(), FileError> {
    files().mkdir(path)
}

/// Writes every dirty page and file-system buffer to the disk.
pub fn sync() -> Result<(), FileError> {
    files().sync()
}

/// The device and file system the files live on.
pub fn disk() -> Result<DiskInfo, FileError> {
    files().disk()
}

/// Writes the dirty pages of the shared file mappings in [addr, addr + len)
/// (addr page aligned, every page mapped) to their files.
pub fn msync(addr: usize, len: usize) -> Result<(), MapError> {
    files().msync(addr, len)
}

/// Frames the page cache holds (all files).
pub fn cache_pages() -> usize {
    files().cache_pages()
}

/// Gives back every clean cached page; returns how many it gave back.
pub fn drop_cache() -> usize {
    files().drop_cache()
}
