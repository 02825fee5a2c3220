//! The file system: FAT (through the `lamfat` crate) on the attached block device,
//! with lazuli's page cache above it and the app API's open files on top.
//!
//! ```text
//!   apps: lazuli_api::fs (File, list, remove, mkdir, sync)
//!     │
//!   files.rs   open files (per task), positions, sizes
//!     │
//!   cache.rs   the page cache: 4 KiB pages keyed by (file, page index), each a frame
//!     │        (bookkeeping in lazuli_storage::cache, host-tested)
//!   mapped.rs  file mappings: sizes and pages for faults, stores written back
//!   fill.rs    misses read from the disk by extent, the task yielding meanwhile
//!   mod.rs     paths → lamfat: directories, file data by page, write-back
//!     │
//!   volume.rs  byte stream over sectors, the partition offset, 8 cached sectors
//!     │
//!   block/     virtio-blk or the RAM disk
//! ```
//!
//! Everything is under one lock ([`STORAGE`]): one file-system call at a time.
//! Reads of file data that miss the cache release it and yield while the disk
//! works (`fill`). The rest — directories, the FAT, write-back — runs lamfat, which
//! is synchronous: such a call waits for the disk by halting until the completion
//! interrupt, other tasks not running meanwhile (see `block::virtio`). Durability: lamfat marks the
//! volume dirty when it first changes it; [`sync`] writes every dirty page, then
//! unmounts (which writes FAT32's information sector and clears the dirty mark),
//! flushes the device and mounts again — so `fsck.fat -n` accepts the disk after
//! every `sync` and `poweroff`.
//!
//! File mappings map the cache's frames into tasks (`mapped`, and `vm::file`).
//! Time stamps come from the real-time clock (`clock`). Missing: rename,
//! permissions (FAT has none).
pub mod cache;
pub mod clock;
pub mod files;
pub mod fill;
pub mod mapped;
pub mod path;
pub mod volume;

use alloc::{string::String, vec::Vec};
use clock::RtcClock;
use lamfat::{FsOptions, LossyOemCpConverter};
use lazuli_api::fs::{DirEntry, DiskInfo, EntryKind, FileError};
use spin::Mutex;
use volume::{Volume, VolumeError};
use x86_64::structures::paging::PhysFrame;

type Fat = lamfat::FileSystem<Volume, RtcClock, LossyOemCpConverter>;
type Dir<'a> = lamfat::Dir<'a, Volume, RtcClock, LossyOemCpConverter>;
type Entry<'a> = lamfat::DirEntry<'a, Volume, RtcClock, LossyOemCpConverter>;
type FatError = lamfat::Error<VolumeError>;

/// The mounted file system, the page cache and the open files.
pub struct Storage {
    fat: Fat,
    /// First sector of the volume on the device.
    start: u64,
    pub cache: cache::Cache,
    pub files: files::OpenFiles,
}

static STORAGE: Mutex<Option<Storage>> = Mutex::new(None);

/// Runs `f` on the storage; `NoDisk` when nothing is mounted.
pub fn with<R>(f: impl FnOnce(&mut Storage) -> Result<R, FileError>) -> Result<R, FileError> {
    match STORAGE.lock().as_mut() {
        Some(storage) => f(storage),
        None => Err(FileError::NoDisk),
    }
}

/// Why mounting failed.
#[derive(Debug)]
pub enum MountError {
    NoDevice,
    /// Sector 0 could not be read.
    Io,
    /// No FAT file system where the partition table (or its absence) says.
    NotFat,
}

/// Mounts the FAT volume of the attached device (whole disk or first partition).
pub fn mount() -> Result<(), MountError> {
    let mut sector0 = [0u8; crate::block::SECTOR];
    let sectors = crate::block::with_device(|d| {
        d.read(0, &mut sector0)?;
        Ok(d.sectors())
    })
    .map_err(|_| MountError::NoDevice)?
    .map_err(|_: crate::block::IoError| MountError::Io)?;
    let (start, _) = lazuli_storage::mbr::volume_start(&sector0, sectors);
    let fat = open_fat(start).map_err(|_| MountError::NotFat)?;
    *STORAGE.lock() = Some(Storage {
        fat,
        start,
        cache: cache::Cache::default(),
        files: files::OpenFiles::default(),
    });
    Ok(())
}

fn open_fat(start: u64) -> Result<Fat, FatError> {
    let volume = Volume::new(start).map_err(|e| lamfat::Error::Io(VolumeError(e)))?;
    Fat::new(volume, FsOptions::new().time_provider(RtcClock))
}

/// A lamfat error as the app API says it.
fn error(e: FatError) -> FileError {
    match e {
        lamfat::Error::NotFound => FileError::NotFound,
        lamfat::Error::AlreadyExists => FileError::Exists,
        lamfat::Error::NotEnoughSpace => FileError::NoSpace,
        lamfat::Error::InvalidFileNameLength | lamfat::Error::UnsupportedFileNameCharacter => {
            FileError::InvalidName
        }
        _ => FileError::Io,
    }
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    File { size: u64 },
    Directory,
}

impl Storage {
    /// The directory at `components` (the root for none).
    fn dir(&self, components: &[&str]) -> Result<Dir<'_>, FileError> {
        let mut dir = self.fat.root_dir();
        for name in components {
            dir = match find(&dir, name)? {
                Some((Node::Directory, entry)) => entry.to_dir(),
                Some((Node::File { .. }, _)) => return Err(FileError::NotADirectory),
                None => return Err(FileError::NotFound),
            };
        }
        Ok(dir)
    }

    /// What `path` names, or None if its parent exists but it does not.
    pub fn stat(&self, path: &path::Path) -> Result<Option<Node>, FileError> {
        let Some((last, parents)) = path.split_last() else {
            return Ok(Some(Node::Directory));
        };
        Ok(find(&self.dir(&parents)?, last)?.map(|(node, _)| node))
    }

    /// The entries of the directory `path`, sorted by name.
    pub fn list(&self, path: &path::Path) -> Result<Vec<DirEntry>, FileError> {
        let dir = self.dir(&path.components())?;
        let mut entries = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(error)?;
            let name = entry.file_name();
            if name == "." || name == ".." {
                continue;
            }
            let kind = if entry.is_dir() {
                EntryKind::Directory
            } else {
                EntryKind::File { size: entry.len() }
            };
            entries.push(DirEntry { name, kind });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Creates the empty file `path` (its parent must exist), or empties it.
    pub fn create_or_truncate(&self, path: &path::Path, truncate: bool) -> Result<(), FileError> {
        let (last, parents) = path.split_last().ok_or(FileError::IsADirectory)?;
        let mut file = self.dir(&parents)?.create_file(last).map_err(error)?;
        if truncate {
            file.truncate().map_err(error)?;
        }
        Ok(())
    }

    pub fn mkdir(&self, path: &path::Path) -> Result<(), FileError> {
        let (last, parents) = path.split_last().ok_or(FileError::Exists)?;
        let dir = self.dir(&parents)?;
        if find(&dir, last)?.is_some() {
            return Err(FileError::Exists);
        }
        dir.create_dir(last).map(drop).map_err(error)
    }

    /// Removes the file `path` from the disk.
    pub fn remove_file(&self, path: &path::Path) -> Result<(), FileError> {
        let (last, parents) = path.split_last().ok_or(FileError::IsADirectory)?;
        let dir = self.dir(&parents)?;
        match find(&dir, last)? {
            None => Err(FileError::NotFound),
            Some((Node::Directory, _)) => Err(FileError::IsADirectory),
            Some((Node::File { .. }, _)) => dir.remove(last).map_err(error),
        }
    }

    /// Where the file `path`'s bytes lie on the volume, cluster by cluster.
    pub fn extents(
        &self,
        path: &path::Path,
    ) -> Result<Vec<lazuli_storage::layout::Extent>, FileError> {
        let mut file = self.dir(&[])?.open_file(path.as_str()).map_err(error)?;
        // The crate gives one extent per cluster: consecutive clusters are merged,
        // so that a file written in one go is one extent (a fault looks its page
        // up in this list).
        let mut merged: Vec<lazuli_storage::layout::Extent> = Vec::new();
        for e in file.extents() {
            let e = e.map_err(error)?;
            match merged.last_mut() {
                Some(last) if last.volume_offset + last.len == e.offset => {
                    last.len += u64::from(e.size)
                }
                _ => merged.push(lazuli_storage::layout::Extent {
                    volume_offset: e.offset,
                    len: u64::from(e.size),
                }),
            }
        }
        Ok(merged)
    }

    /// First sector of the volume on the device.
    pub fn volume_start(&self) -> u64 {
        self.start
    }

    /// Writes `pages` — (offset, frame, bytes of it that belong to the file) in
    /// ascending order — into the file `path`, in one pass: a file shorter than an
    /// offset is first grown to it with zeros.
    pub fn write_pages(
        &self,
        path: &path::Path,
        pages: &[(u64, PhysFrame, usize)],
    ) -> Result<(), FileError> {
        use lamfat::{Seek, SeekFrom, Write};
        let mut file = self.dir(&[])?.open_file(path.as_str()).map_err(error)?;
        let mut end = file.seek(SeekFrom::End(0)).map_err(error)?;
        let zeros = [0u8; 512];
        let mut bytes = Vec::with_capacity(cache::PAGE as usize);
        for &(offset, page, len) in pages {
            while end < offset {
                let n = zeros.len().min((offset - end) as usize);
                file.write_all(&zeros[..n]).map_err(error)?;
                end += n as u64;
            }
            file.seek(SeekFrom::Start(offset)).map_err(error)?;
            bytes.clear();
            crate::mem::frame::with_contents(page, |b| bytes.extend_from_slice(&b[..len]));
            file.write_all(&bytes).map_err(error)?;
            end = end.max(offset + len as u64);
        }
        file.flush().map_err(error)
    }

    /// Cuts the file `path` on the disk to `size` bytes.
    pub fn truncate_to(&self, path: &path::Path, size: u64) -> Result<(), FileError> {
        use lamfat::{Seek, SeekFrom};
        let mut file = self.dir(&[])?.open_file(path.as_str()).map_err(error)?;
        file.seek(SeekFrom::Start(size)).map_err(error)?;
        file.truncate().map_err(error)
    }

    pub fn disk(&self) -> Result<DiskInfo, FileError> {
        let stats = self.fat.stats().map_err(error)?;
        let device = crate::block::with_device(|d| {
            (d.describe(), d.sectors() * crate::block::SECTOR as u64)
        })
        .map_err(|_| FileError::NoDisk)?;
        Ok(DiskInfo {
            device: device.0,
            bytes: device.1,
            file_system: match self.fat.fat_type() {
                lamfat::FatType::Fat12 => "FAT12",
                lamfat::FatType::Fat16 => "FAT16",
                lamfat::FatType::Fat32 => "FAT32",
            },
            free_bytes: u64::from(stats.free_clusters()) * u64::from(stats.cluster_size()),
        })
    }
}

/// The entry `name` of `dir` (names compare ignoring ASCII case; long or short).
fn find<'a>(dir: &Dir<'a>, name: &str) -> Result<Option<(Node, Entry<'a>)>, FileError> {
    for entry in dir.iter() {
        let entry = entry.map_err(error)?;
        if entry.file_name().eq_ignore_ascii_case(name)
            || entry.short_file_name().eq_ignore_ascii_case(name)
        {
            let node = if entry.is_dir() {
                Node::Directory
            } else {
                Node::File { size: entry.len() }
            };
            return Ok(Some((node, entry)));
        }
    }
    Ok(None)
}

/// Writes every dirty page, then makes the volume clean on the disk: unmounts it
/// (information sector written, dirty mark cleared), flushes the device, and
/// mounts it again.
pub fn sync() -> Result<(), FileError> {
    // What tasks stored through shared mappings is dirty too (harvested first:
    // the address spaces come before the storage in the lock order).
    let stored = crate::vm::file::harvest_everywhere();
    let mut guard = STORAGE.lock();
    let storage = guard.as_mut().ok_or(FileError::NoDisk)?;
    mapped::mark_stored(storage, &stored);
    files::write_back_all(storage)?;
    let Storage {
        fat,
        start,
        mut cache,
        files,
    } = guard.take().expect("checked above");
    let unmounted = fat.unmount().map_err(error);
    let flushed = crate::block::with_device(|d| d.flush())
        .map_err(|_| FileError::NoDisk)
        .and_then(|r| r.map_err(|_| FileError::Io));
    match open_fat(start) {
        Ok(fat) => {
            *guard = Some(Storage {
                fat,
                start,
                cache,
                files,
            });
            unmounted.and(flushed)
        }
        Err(e) => {
            // The volume is gone: nothing can be written back any more.
            cache.drop_everything();
            Err(error(e))
        }
    }
}

/// A short description for the boot line: "FAT16 on virtio-blk 00:04.0".
pub fn describe() -> Option<String> {
    with(|s| {
        s.disk()
            .map(|d| alloc::format!("{} on {}", d.file_system, d.device))
    })
    .ok()
}
