//! The swap disk: a sparse raw image made afresh for every boot (CONTRACTS.md
//! section 10), attached as a second virtio-blk device, removed when the runner
//! is done with it. Its contents never outlive the boot that wrote them.
use std::{
    fs,
    path::{Path, PathBuf},
};

/// A swap image for one boot; dropping it deletes the file.
#[derive(Debug)]
pub struct SwapDisk {
    path: PathBuf,
}

impl SwapDisk {
    /// A fresh sparse image of `mib` MiB in `dir`, or None for `mib` 0. One line
    /// for the user if the file cannot be made.
    pub fn fresh(dir: &Path, mib: u64) -> Result<Option<SwapDisk>, String> {
        if mib == 0 {
            return Ok(None);
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = dir.join(format!("lazuli-swap-{}-{nanos}.img", std::process::id()));
        let made = fs::File::create(&path).and_then(|f| f.set_len(mib << 20));
        match made {
            Ok(()) => Ok(Some(SwapDisk { path })),
            Err(e) => {
                let _ = fs::remove_file(&path);
                Err(format!(
                    "lazuli: cannot make the swap disk {}: {e}",
                    path.display()
                ))
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SwapDisk {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_disk_is_sparse_sized_and_gone_when_dropped() {
        let dir = std::env::temp_dir();
        assert!(SwapDisk::fresh(&dir, 0).unwrap().is_none(), "0: no swap");
        let disk = SwapDisk::fresh(&dir, 8).unwrap().expect("8 MiB");
        let path = disk.path().to_path_buf();
        assert_eq!(fs::metadata(&path).unwrap().len(), 8 << 20);
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            assert!(fs::metadata(&path).unwrap().blocks() < 64, "sparse");
        }
        drop(disk);
        assert!(!path.exists());
    }
}
