//! Builds a FAT disk image from a folder on the host: the data disk
//! (`target/lazuli-disk.img`) and the RAM disk the boot images carry both come from
//! the repository's `disk/` folder through here.
//!
//! The file system is made and filled by `lamfat` (a kept FAT crate), on the whole
//! image, no partition table: what `mkfs.fat` makes. The FAT type follows from the
//! size (FAT12 for a few MiB, FAT16 up to ~512 MiB). Entries go in sorted by name, so
//! the same folder always gives the same image.
//!
//! This file is compiled twice: into the runner (`lazuli::disk_image`) and into
//! build.rs (by `#[path]`), so it uses nothing but std and lamfat.

use std::{
    fs,
    io::{self, Seek, Write},
    path::Path,
};

/// Size of the data disk the runner attaches by default.
pub const DATA_DISK_BYTES: u64 = 32 << 20;
/// Size of the RAM disk the boot images carry (loaded into memory at boot).
pub const RAM_DISK_BYTES: u64 = 4 << 20;
/// The volume label both images get.
const LABEL: &[u8; 11] = b"LAZULI     ";

/// Makes `image` (replacing it) as a FAT file system of `bytes` bytes holding the
/// files and folders under `folder`.
pub fn build(folder: &Path, image: &Path, bytes: u64) -> io::Result<()> {
    let partial = image.with_extension("img.partial");
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&partial)?;
    file.set_len(bytes)?;
    let options = lamfat::FormatVolumeOptions::new().volume_label(*LABEL);
    lamfat::format_volume(&mut lamfat::StdIoWrapper::new(&mut file), options)
        .map_err(io::Error::from)?;
    file.seek(io::SeekFrom::Start(0))?;
    {
        let fs = lamfat::FileSystem::new(&mut file, lamfat::FsOptions::new())?;
        copy_folder(folder, &fs.root_dir())?;
        fs.unmount()?;
    }
    file.sync_all()?;
    drop(file);
    fs::rename(&partial, image)
}

type Dir<'a, 'f> = lamfat::Dir<
    'a,
    lamfat::StdIoWrapper<&'f mut fs::File>,
    lamfat::DefaultTimeProvider,
    lamfat::LossyOemCpConverter,
>;

/// Copies every entry of `from` (recursively, sorted by name) into `to`.
fn copy_folder(from: &Path, to: &Dir) -> io::Result<()> {
    let mut entries = fs::read_dir(from)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        let name = name.to_str().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a UTF-8 name", entry.path().display()),
            )
        })?;
        if entry.file_type()?.is_dir() {
            copy_folder(&entry.path(), &to.create_dir(name)?)?;
        } else {
            let mut file = to.create_file(name)?;
            file.truncate()?;
            file.write_all(&fs::read(entry.path())?)?;
            file.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lazuli-image-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Runs a host tool; None when it is not installed (the test then says so).
    fn run(program: &str, args: &[&str]) -> Option<std::process::Output> {
        Command::new(program).args(args).output().ok()
    }

    #[test]
    fn the_repository_disk_folder_makes_an_image_fsck_accepts_and_mtools_reads() {
        let dir = scratch("repo");
        let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("disk");
        for (name, bytes) in [("data.img", DATA_DISK_BYTES), ("ram.img", RAM_DISK_BYTES)] {
            let image = dir.join(name);
            build(&folder, &image, bytes).unwrap();
            assert_eq!(fs::metadata(&image).unwrap().len(), bytes);
            let image = image.to_str().unwrap();
            let Some(fsck) = run("fsck.fat", &["-n", image]) else {
                panic!("fsck.fat not installed (apt-get install dosfstools)");
            };
            assert!(
                fsck.status.success(),
                "fsck.fat -n {image}: {}",
                String::from_utf8_lossy(&fsck.stdout)
            );
            let hello = run("mtype", &["-i", image, "::HELLO.TXT"]).expect("mtools installed");
            assert_eq!(
                hello.stdout,
                fs::read(folder.join("HELLO.TXT")).unwrap(),
                "{name}"
            );
            let notes = run("mtype", &["-i", image, "::DOCS/NOTES.TXT"]).unwrap();
            assert_eq!(
                notes.stdout,
                fs::read(folder.join("DOCS/NOTES.TXT")).unwrap()
            );
            let pattern = run("mtype", &["-i", image, "::PATTERN.BIN"]).unwrap();
            assert_eq!(
                pattern.stdout,
                fs::read(folder.join("PATTERN.BIN")).unwrap()
            );
        }
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_error_and_leaves_no_image() {
        let dir = scratch("missing");
        let image = dir.join("x.img");
        assert!(build(&dir.join("nope"), &image, RAM_DISK_BYTES).is_err());
        assert!(!image.exists());
        fs::remove_dir_all(dir).unwrap();
    }
}
