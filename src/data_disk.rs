//! The data disk the runner attaches: which image, made when, and the check that
//! it holds a file system lazuli can read — done here, on the host, so a wrong
//! `--disk` is one clear line before QEMU starts (CONTRACTS.md section 8).
use crate::{DATA_DISK, cli::DiskChoice};
use std::{
    fs,
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

/// `target/lazuli-disk.img`: next to the build's own directories, found from the
/// runner's executable (`target/<profile>/lazuli`), so a custom target dir works.
pub fn default_path() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let target = exe
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf);
    target.join("lazuli-disk.img")
}

/// The image QEMU gets for `choice`, made or checked as it says; Err is the one
/// line for the user.
pub fn resolve(choice: &DiskChoice) -> Result<Option<PathBuf>, String> {
    let (path, fresh) = match choice {
        DiskChoice::None => return Ok(None),
        DiskChoice::Path(path) => {
            check(path).map_err(|why| format!("lazuli: --disk {}: {why}", path.display()))?;
            return Ok(Some(path.clone()));
        }
        DiskChoice::Default => (default_path(), false),
        DiskChoice::Fresh => (default_path(), true),
    };
    if fresh || !path.exists() {
        copy_sparse(Path::new(DATA_DISK), &path)
            .map_err(|e| format!("lazuli: cannot make {}: {e}", path.display()))?;
    }
    check(&path).map_err(|why| {
        format!(
            "lazuli: {}: {why} (--fresh-disk remakes it)",
            path.display()
        )
    })?;
    Ok(Some(path))
}

/// Copies the built image, leaving its runs of zeros as holes.
pub fn copy_sparse(from: &Path, to: &Path) -> io::Result<()> {
    let mut input = fs::File::open(from)?;
    let partial = to.with_extension("img.partial");
    let mut output = fs::File::create(&partial)?;
    let mut block = vec![0u8; 64 * 1024];
    let len = input.metadata()?.len();
    loop {
        let n = input.read(&mut block)?;
        if n == 0 {
            break;
        }
        if block[..n].iter().all(|&b| b == 0) {
            output.seek(SeekFrom::Current(n as i64))?;
        } else {
            output.write_all(&block[..n])?;
        }
    }
    output.set_len(len)?;
    drop(output);
    fs::rename(partial, to)
}

/// Whether `path` is a raw image holding a FAT file system lazuli can mount: on
/// the whole disk or in the first MBR partition. Err says why not.
pub fn check(path: &Path) -> Result<(), String> {
    let mut file = fs::File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => "no such file".to_string(),
        _ => format!("cannot read it: {e}"),
    })?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a file".into());
    }
    let mut sector = [0u8; lazuli_storage::SECTOR_SIZE];
    file.read_exact(&mut sector)
        .map_err(|_| "too small to hold a file system".to_string())?;
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let sectors = size / lazuli_storage::SECTOR_SIZE as u64;
    let (start, _) = lazuli_storage::mbr::volume_start(&sector, sectors);
    let mut window = Window {
        file,
        start: start * lazuli_storage::SECTOR_SIZE as u64,
    };
    window.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let fat = lamfat::FileSystem::new(window, lamfat::FsOptions::new())
        .map_err(|_| "no FAT12/16/32 file system on it (whole disk or first MBR partition)")?;
    fat.root_dir()
        .iter()
        .try_for_each(|entry| entry.map(drop))
        .map_err(|e| format!("its root directory cannot be read: {e}"))
}

/// The volume's bytes within the image, read-only.
struct Window {
    file: fs::File,
    start: u64,
}

impl Read for Window {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

impl Write for Window {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("the check only reads"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for Window {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let at = match pos {
            SeekFrom::Start(at) => self.file.seek(SeekFrom::Start(self.start + at))?,
            other => self.file.seek(other)?,
        };
        Ok(at.saturating_sub(self.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lazuli-data-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn the_built_data_disk_passes_and_copies_sparse() {
        let dir = scratch("built");
        let copy = dir.join("copy.img");
        copy_sparse(Path::new(DATA_DISK), &copy).unwrap();
        assert_eq!(fs::read(&copy).unwrap(), fs::read(DATA_DISK).unwrap());
        check(&copy).unwrap();
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn missing_empty_and_garbage_images_are_one_line_reasons() {
        let dir = scratch("bad");
        assert_eq!(check(&dir.join("nope.img")).unwrap_err(), "no such file");
        fs::write(dir.join("empty.img"), b"").unwrap();
        assert!(
            check(&dir.join("empty.img"))
                .unwrap_err()
                .contains("too small")
        );
        fs::write(dir.join("zeros.img"), vec![0u8; 1 << 20]).unwrap();
        assert!(
            check(&dir.join("zeros.img"))
                .unwrap_err()
                .contains("no FAT")
        );
        assert_eq!(check(&dir).unwrap_err(), "not a file");
        let err = resolve(&DiskChoice::Path(dir.join("nope.img"))).unwrap_err();
        assert!(err.starts_with("lazuli: --disk ") && err.ends_with("nope.img: no such file"));
        assert!(!err.contains('\n'));
        fs::remove_dir_all(dir).unwrap();
    }
}
