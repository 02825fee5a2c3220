//! Disks and files (CONTRACTS.md section 8) from inside the kernel: the virtio disk
//! moves sectors by interrupt, a task waiting for it lets others run, the page
//! cache gives its frames back, and the file API checks what it is handed.
//!
//! tests/kernel.rs boots ktest with a scratch copy of the data disk (made from
//! `disk/`) as its virtio-blk device.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::{format, vec, vec::Vec};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use lazuli_api::fs::{self, EntryKind, File, FileError, OpenOptions};
use lazuli_kernel::{
    arch::virtio_blk::INTERRUPTS,
    block::{self, IoError, SECTOR, virtio},
};

pub static CASES: &[Case] = &[
    task_case!("virtio_reads_the_boot_sector_by_interrupt", boot_sector),
    task_case!("virtio_writes_sectors_and_reads_them_back", write_read_back),
    task_case!(
        "a_task_waiting_for_the_disk_or_a_file_read_lets_another_run",
        io_yields
    ),
    task_case!("virtio_rejects_requests_past_the_end", past_the_end),
    task_case!("files_of_disk_folder_read_through_the_cache", disk_files),
    task_case!("cache_frames_come_back_when_dropped", cache_frames_return),
    task_case!("file_api_checks_every_argument", file_api_edges),
    task_case!("writes_grow_files_and_close_writes_back", write_and_reopen),
    task_case!("another_task_cannot_use_a_handle", foreign_handle),
];

/// The disk is the virtio one (ktest is booted with it), and sector 0 is a FAT
/// boot sector; the read completed by interrupt.
async fn boot_sector() -> Outcome {
    let name = block::with_device(|d| d.describe()).map_err(|e| format!("{e:?}"))?;
    ensure!(name.starts_with("virtio-blk "), "the disk is {name}");
    let before = INTERRUPTS.load(Ordering::Relaxed);
    let mut sector = [0u8; SECTOR];
    block::with_device(|d| d.read(0, &mut sector))
        .map_err(|e| format!("{e:?}"))?
        .map_err(|e| format!("{e:?}"))?;
    ensure_eq!(sector[510..], [0x55, 0xaa], "boot signature");
    ensure_eq!(&sector[54..59], b"FAT16", "file-system type field");
    let mut again = [0u8; SECTOR];
    virtio::read_async(virtio::Unit::Data, 0, &mut again)
        .await
        .map_err(|e| format!("{e:?}"))?;
    ensure!(
        again == sector,
        "the asynchronous read returned other bytes"
    );
    let after = INTERRUPTS.load(Ordering::Relaxed);
    ensure!(
        after >= before + 2,
        "two reads, {} interrupts",
        after - before
    );
    Ok(())
}

/// The last sector of the disk: beyond the FAT16 volume's last cluster, so
/// rewriting it (and putting it back) cannot disturb the file system.
fn scratch_sector() -> Result<u64, IoError> {
    block::with_device(|d| d.sectors() - 1)
}

async fn write_read_back() -> Outcome {
    let at = scratch_sector().map_err(|e| format!("{e:?}"))?;
    let mut saved = [0u8; SECTOR];
    virtio::read_async(virtio::Unit::Data, at, &mut saved)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let pattern: Vec<u8> = (0..SECTOR).map(|i| (i * 7 + 3) as u8).collect();
    virtio::write_async(virtio::Unit::Data, at, &pattern)
        .await
        .map_err(|e| format!("{e:?}"))?;
    let mut back = [0u8; SECTOR];
    block::with_device(|d| d.read(at, &mut back))
        .map_err(|e| format!("{e:?}"))?
        .map_err(|e| format!("{e:?}"))?;
    virtio::write_async(virtio::Unit::Data, at, &saved)
        .await
        .map_err(|e| format!("{e:?}"))?;
    ensure!(
        back[..] == pattern[..],
        "read back other bytes than written"
    );
    // A multi-sector read straddling frames goes through in pieces, in order.
    let mut big = vec![0u8; 3 * 4096 + SECTOR];
    block::with_device(|d| d.read(0, &mut big))
        .map_err(|e| format!("{e:?}"))?
        .map_err(|e| format!("{e:?}"))?;
    ensure_eq!(big[510..512], [0x55, 0xaa], "sector 0 first");
    Ok(())
}

static SPINS: AtomicU64 = AtomicU64::new(0);
static STOP: AtomicBool = AtomicBool::new(false);

/// While this task awaits 64 device reads, and then a file read that misses the
/// page cache, a second task keeps running.
async fn io_yields() -> Outcome {
    SPINS.store(0, Ordering::Relaxed);
    STOP.store(false, Ordering::Relaxed);
    let spinner = lazuli_api::spawn("spinner", async {
        while !STOP.load(Ordering::Relaxed) {
            SPINS.fetch_add(1, Ordering::Relaxed);
            lazuli_api::yield_now().await;
        }
        0
    });
    let mut buf = vec![0u8; 4096];
    let mut while_waiting = 0;
    for i in 0..64 {
        let before = SPINS.load(Ordering::Relaxed);
        virtio::read_async(virtio::Unit::Data, i * 8, &mut buf)
            .await
            .map_err(|e| format!("{e:?}"))?;
        while_waiting += SPINS.load(Ordering::Relaxed) - before;
    }
    // A file read that misses the cache waits the same way.
    fs::drop_cache();
    let before = SPINS.load(Ordering::Relaxed);
    let pattern = read_all("PATTERN.BIN").await?;
    let during_file_read = SPINS.load(Ordering::Relaxed) - before;
    STOP.store(true, Ordering::Relaxed);
    ensure_eq!(pattern.len(), 8192, "PATTERN.BIN read");
    ensure!(
        during_file_read > 0,
        "the other task never ran while a file read waited for the disk"
    );
    let ended = lazuli_api::wait(spinner).await;
    ensure!(
        matches!(ended, Ok(lazuli_api::ExitStatus::Exited(0))),
        "spinner: {ended:?}"
    );
    ensure!(
        while_waiting >= 64,
        "the other task ran {while_waiting} times during 64 reads"
    );
    Ok(())
}

async fn past_the_end() -> Outcome {
    let sectors = block::with_device(|d| d.sectors()).map_err(|e| format!("{e:?}"))?;
    let mut buf = [0u8; SECTOR];
    let read = block::with_device(|d| d.read(sectors, &mut buf)).map_err(|e| format!("{e:?}"))?;
    ensure_eq!(read, Err(IoError::OutOfRange), "a read past the end");
    let odd = block::with_device(|d| d.read(0, &mut buf[..100])).map_err(|e| format!("{e:?}"))?;
    ensure_eq!(odd, Err(IoError::OutOfRange), "a read of part of a sector");
    Ok(())
}

/// The repository's disk/ folder, as build.rs put it on the image.
async fn disk_files() -> Outcome {
    let names: Vec<_> = fs::list("/")
        .map_err(|e| format!("{e}"))?
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    ensure!(
        names
            .iter()
            .any(|(n, k)| n == "DOCS" && *k == EntryKind::Directory),
        "{names:?}"
    );
    ensure!(
        names
            .iter()
            .any(|(n, k)| n == "PATTERN.BIN" && *k == EntryKind::File { size: 8192 }),
        "{names:?}"
    );
    let bytes = read_all("pattern.bin").await?;
    ensure_eq!(bytes.len(), 8192, "PATTERN.BIN size");
    let wrong = (0..8192).find(|&i| bytes[i] != ((i * 7 + i / 256) % 256) as u8);
    ensure!(wrong.is_none(), "PATTERN.BIN differs at byte {wrong:?}");
    let notes = read_all("/docs//NOTES.TXT").await?;
    ensure!(
        notes.starts_with(b"A file in a subdirectory"),
        "DOCS/NOTES.TXT"
    );
    Ok(())
}

/// Reading fills the cache with frames; dropping it gives every one back.
async fn cache_frames_return() -> Outcome {
    fs::drop_cache();
    let (free0, cache0) = (lazuli_api::free_frames(), fs::cache_pages());
    ensure_eq!(cache0, 0, "an empty cache after a drop");
    let mut file = File::open("PATTERN.BIN", OpenOptions::READ).map_err(|e| format!("{e}"))?;
    file.read_to_end().await.map_err(|e| format!("{e}"))?;
    ensure_eq!(fs::cache_pages(), 2, "8 KiB cached in two pages");
    ensure_eq!(
        lazuli_api::free_frames(),
        free0 - 2,
        "the cache's frames are not free"
    );
    drop(file);
    ensure_eq!(fs::cache_pages(), 2, "closing keeps clean pages cached");
    ensure_eq!(fs::drop_cache(), 2, "dropping gives back both");
    ensure_eq!(lazuli_api::free_frames(), free0, "every frame back");
    Ok(())
}

async fn file_api_edges() -> Outcome {
    use FileError::*;
    let open = |p: &str, o| File::open(p, o).map(drop);
    ensure_eq!(
        open("NOPE.TXT", OpenOptions::READ),
        Err(NotFound),
        "missing"
    );
    ensure_eq!(
        open("DOCS", OpenOptions::READ),
        Err(IsADirectory),
        "a directory"
    );
    ensure_eq!(open("/", OpenOptions::READ), Err(IsADirectory), "the root");
    ensure_eq!(
        open("HELLO.TXT/X", OpenOptions::READ),
        Err(NotADirectory),
        "through a file"
    );
    ensure_eq!(
        open("HELLO.TXT/", OpenOptions::READ),
        Err(NotADirectory),
        "a file written as a directory"
    );
    ensure_eq!(
        open("NEWFILE.TXT/", OpenOptions::REPLACE),
        Err(NotADirectory),
        "creating a file written as a directory"
    );
    ensure_eq!(fs::remove("HELLO.TXT/"), Err(NotADirectory), "remove FILE/");
    ensure_eq!(
        open("NODIR/X.TXT", OpenOptions::REPLACE),
        Err(NotFound),
        "missing parent"
    );
    ensure_eq!(open("../X", OpenOptions::READ), Err(InvalidName), "dot-dot");
    ensure_eq!(
        open("A\u{1}B", OpenOptions::READ),
        Err(InvalidName),
        "a control character"
    );
    let long = "X".repeat(300);
    ensure_eq!(
        open(&long, OpenOptions::REPLACE),
        Err(InvalidName),
        "a 300-character name"
    );
    ensure_eq!(
        open("A*B.TXT", OpenOptions::REPLACE),
        Err(InvalidName),
        "a star"
    );
    let truncate_only = OpenOptions {
        truncate: true,
        ..OpenOptions::READ
    };
    ensure_eq!(
        open("HELLO.TXT", truncate_only),
        Err(NotWritable),
        "truncate needs write"
    );
    let mut ro = File::open("HELLO.TXT", OpenOptions::READ).map_err(|e| format!("{e}"))?;
    ensure_eq!(
        ro.write(b"x").await,
        Err(NotWritable),
        "writing a read-only handle"
    );
    ensure_eq!(ro.seek(u64::MAX), Err(TooLarge), "seek past FAT's limit");
    ro.seek(1 << 20).map_err(|e| format!("{e}"))?;
    let mut buf = [0u8; 8];
    ensure_eq!(ro.read(&mut buf).await, Ok(0), "reading past the end");
    ensure_eq!(fs::list("HELLO.TXT"), Err(NotADirectory), "list a file");
    ensure_eq!(fs::list("NOPE"), Err(NotFound), "list a missing dir");
    ensure_eq!(fs::remove("DOCS"), Err(IsADirectory), "remove a directory");
    ensure_eq!(
        fs::remove("NOPE.TXT"),
        Err(NotFound),
        "remove a missing file"
    );
    ensure_eq!(fs::mkdir("DOCS"), Err(Exists), "mkdir over a directory");
    ensure_eq!(fs::mkdir("HELLO.TXT"), Err(Exists), "mkdir over a file");
    ensure_eq!(
        fs::mkdir("NODIR/SUB"),
        Err(NotFound),
        "mkdir without a parent"
    );
    Ok(())
}

/// A sparse write (a gap of zeros), read back through the cache, then from the
/// disk after the cache is dropped; removing it leaves nothing behind.
async fn write_and_reopen() -> Outcome {
    let e = |e: FileError| format!("{e}");
    let mut f = File::open("KT_GROW.BIN", OpenOptions::REPLACE).map_err(e)?;
    f.write(b"head").await.map_err(e)?;
    f.seek(10_000).map_err(e)?;
    f.write(b"tail").await.map_err(e)?;
    ensure_eq!(f.size(), Ok(10_004), "size after a write past a gap");
    f.close().map_err(e)?;
    fs::drop_cache();
    ensure_eq!(fs::cache_pages(), 0, "nothing dirty is left after close");
    let all = read_all("KT_GROW.BIN").await?;
    ensure_eq!(all.len(), 10_004, "length on the disk");
    ensure!(all.starts_with(b"head") && all.ends_with(b"tail"), "ends");
    ensure!(
        all[4..10_000].iter().all(|&b| b == 0),
        "the gap reads as zeros"
    );
    let listed = fs::list("/").map_err(e)?;
    ensure!(
        listed
            .iter()
            .any(|d| d.name == "KT_GROW.BIN" && d.kind == EntryKind::File { size: 10_004 }),
        "listed size"
    );
    fs::remove("kt_grow.bin").map_err(e)?;
    ensure_eq!(
        File::open("KT_GROW.BIN", OpenOptions::READ).map(drop),
        Err(FileError::NotFound),
        "removed"
    );
    fs::sync().map_err(e)?;
    Ok(())
}

/// A handle number means nothing to another task: it can neither read nor close it.
async fn foreign_handle() -> Outcome {
    use lazuli_kernel::fs::files;
    let fd = files::open("HELLO.TXT", OpenOptions::READ).map_err(|e| format!("{e}"))?;
    let child = lazuli_api::spawn("other", async move {
        let mut buf = [0u8; 4];
        match (files::read(fd, &mut buf).await, files::close(fd)) {
            (Err(FileError::BadHandle), Err(FileError::BadHandle)) => 0,
            _ => 1,
        }
    });
    let ended = crate::check::ended(lazuli_api::wait(child).await);
    ensure_eq!(ended, "exited 0", "the other task is refused");
    let mut buf = [0u8; 4];
    ensure_eq!(
        files::read(fd, &mut buf).await,
        Ok(4),
        "the owner still reads"
    );
    ensure_eq!(files::close(fd), Ok(()), "and closes");
    Ok(())
}

/// The whole file at `path`, read through the file API.
async fn read_all(path: &str) -> Result<Vec<u8>, alloc::string::String> {
    let mut f = File::open(path, OpenOptions::READ).map_err(|e| format!("{path}: {e}"))?;
    f.read_to_end().await.map_err(|e| format!("{path}: {e}"))
}
