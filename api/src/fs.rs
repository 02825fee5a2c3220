//! Files: the disk's FAT file system, through the kernel's page cache.
//!
//! Paths name entries from the root, `/` between components (a leading `/` is
//! optional); names are case-insensitive and listed as stored. A [`File`] is closed
//! when it is dropped — also when its task is killed — and closing writes its dirty
//! pages back to the disk. Contracts: CONTRACTS.md section 8.
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

/// Frames the page cache holds (all files).
pub fn cache_pages() -> usize {
    files().cache_pages()
}

/// Gives back every clean cached page; returns how many it gave back.
pub fn drop_cache() -> usize {
    files().drop_cache()
}
