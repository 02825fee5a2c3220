//! File mappings (CONTRACTS.md section 9) from inside the kernel: lazy pages read
//! through the page cache, the end of the file, stores reaching the disk (read
//! here sector by sector, past the cache) on msync, munmap, exit and kill, sharing
//! between tasks, private copies, coherence with read and write, code run from a
//! mapping, and the frames coming back.
use crate::cases::{Case, Outcome};
use crate::{ensure, ensure_eq, task_case};
use alloc::{format, string::String, vec, vec::Vec};
use lazuli_api::fs::{self, File, FileError, MapError, OpenOptions, Sharing};
use lazuli_api::{
    ExitStatus, Placement, Prot, VmError, fork, free_frames, getptsize, munmap, numpp, numvp, user,
    wait, yield_now,
};
use lazuli_kernel::{block, fs::path::Path};

const PAGE: usize = lazuli_api::PAGE_SIZE;

pub static CASES: &[Case] = &[
    task_case!("file_mapping_is_lazy_one_page_per_first_touch", lazy),
    task_case!("file_mapping_errors_are_checked", errors),
    task_case!(
        "a_file_of_one_and_a_half_pages_ends_where_it_ends",
        end_of_file
    ),
    task_case!(
        "shared_stores_reach_the_disk_on_msync_munmap_exit_and_kill",
        stores_reach_disk
    ),
    task_case!("private_stores_never_reach_the_file", private_stays),
    task_case!(
        "tasks_and_children_mapping_shared_see_each_other_at_once",
        sharing
    ),
    task_case!("read_write_and_mappings_see_one_page_cache", coherence),
    task_case!("code_runs_from_an_rx_private_mapping", exec_from_file),
    task_case!("file_frames_come_back_when_every_user_ended", frames_back),
];

/// The byte at offset `i` of the test files.
fn pattern(i: usize) -> u8 {
    (i * 7 + i / PAGE) as u8
}

fn err<E: core::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Creates (or replaces) `path` with `bytes`, on the disk once closed.
async fn make_file(path: &str, bytes: &[u8]) -> Outcome {
    let mut file = File::open(path, OpenOptions::REPLACE).map_err(err)?;
    file.write(bytes).await.map_err(err)?;
    file.close().map_err(err)
}

fn patterned(len: usize) -> Vec<u8> {
    (0..len).map(pattern).collect()
}

/// Maps `path` as the playground's `mapf` does (opened for writing only when the
/// mapping is shared and writable).
fn mapf(
    path: &str,
    offset: u64,
    len: usize,
    prot: Prot,
    sharing: Sharing,
) -> Result<usize, MapError> {
    let write = sharing == Sharing::Shared && prot.writable();
    let options = OpenOptions {
        read: true,
        write,
        ..OpenOptions::default()
    };
    let file = File::open(path, options)?;
    file.map(offset, len, prot, sharing, Placement::Anywhere)
}

/// The byte at `offset` of `path` as the disk holds it, read by sector through
/// the file's clusters (never through the page cache).
fn disk_byte(path: &str, offset: u64) -> Result<u8, String> {
    let path = Path::parse(path).map_err(err)?;
    let (extents, start) =
        lazuli_kernel::fs::with(|s| Ok((s.extents(&path)?, s.volume_start()))).map_err(err)?;
    let mut left = offset;
    for e in extents {
        if left < e.len {
            let at = e.volume_offset + left;
            let mut sector = [0u8; block::SECTOR];
            let first = start + at / block::SECTOR as u64;
            block::with_device(|d| d.read(first, &mut sector))
                .map_err(err)?
                .map_err(err)?;
            return Ok(sector[(at % block::SECTOR as u64) as usize]);
        }
        left -= e.len;
    }
    Err(format!("offset {offset} is past the file's clusters"))
}

async fn read_byte(path: &str, offset: u64) -> Result<u8, String> {
    let mut file = File::open(path, OpenOptions::READ).map_err(err)?;
    file.seek(offset).map_err(err)?;
    let mut b = [0u8];
    ensure_eq!(
        file.read(&mut b).await.map_err(err)?,
        1,
        "one byte at {offset}"
    );
    Ok(b[0])
}

/// How a child ended, as text.
async fn ended(pid: Result<lazuli_api::Pid, lazuli_api::ForkError>) -> Result<String, String> {
    match wait(pid.map_err(err)?).await.map_err(err)? {
        ExitStatus::Exited(code) => Ok(format!("exited {code}")),
        ExitStatus::Killed(reason) => Ok(format!("killed: {reason}")),
    }
}

async fn lazy() -> Outcome {
    make_file("MAPLAZY.BIN", &patterned(4 * PAGE)).await?;
    fs::drop_cache();
    let (vp, pp, pt, cached) = (numvp(), numpp(), getptsize(), fs::cache_pages());
    let a = mapf("MAPLAZY.BIN", 0, 4 * PAGE, Prot::READ, Sharing::Shared).map_err(err)?;
    ensure_eq!(numvp(), vp + 4, "mapf reserves the pages");
    ensure_eq!(
        (numpp(), getptsize(), fs::cache_pages()),
        (pp, pt, cached),
        "and reads nothing"
    );
    for i in 0..4 {
        let at = i * PAGE + 5 + i;
        ensure_eq!(user::load(a + at).await, pattern(at), "byte {at}");
        ensure_eq!(numpp(), pp + i + 1, "first touch of page {i}");
        ensure_eq!(
            fs::cache_pages(),
            cached + i + 1,
            "one page read for page {i}"
        );
    }
    ensure_eq!(user::load(a).await, pattern(0), "re-touch");
    ensure_eq!(numpp(), pp + 4, "a re-touch maps nothing");
    munmap(a, 4 * PAGE).map_err(err)?;
    ensure_eq!((numvp(), numpp()), (vp, pp), "munmap");
    Ok(())
}

async fn errors() -> Outcome {
    make_file("MAPERR.BIN", &patterned(PAGE)).await?;
    let reader = File::open("MAPERR.BIN", OpenOptions::READ).map_err(err)?;
    let at = Placement::Anywhere;
    let shared = Sharing::Shared;
    ensure_eq!(
        reader.map(100, PAGE, Prot::READ, shared, at),
        Err(MapError::Vm(VmError::Unaligned)),
        "offset"
    );
    ensure_eq!(
        reader.map(0, 0, Prot::READ, shared, at),
        Err(MapError::Vm(VmError::ZeroLength)),
        "length"
    );
    ensure_eq!(
        reader.map(0, PAGE, Prot::RW, shared, at),
        Err(MapError::File(FileError::NotWritable)),
        "a shared writable mapping needs the file open for writing"
    );
    ensure!(
        reader.map(0, PAGE, Prot::RW, Sharing::Private, at).is_ok(),
        "a private one does not"
    );
    let writer = File::open(
        "MAPERR.BIN",
        OpenOptions {
            write: true,
            ..OpenOptions::default()
        },
    )
    .map_err(err)?;
    ensure_eq!(
        writer.map(0, PAGE, Prot::READ, shared, at),
        Err(MapError::File(FileError::NotReadable)),
        "a mapping reads"
    );
    ensure_eq!(
        mapf("NOSUCH.BIN", 0, PAGE, Prot::READ, shared),
        Err(MapError::File(FileError::NotFound)),
        "missing"
    );
    ensure_eq!(
        mapf("DOCS", 0, PAGE, Prot::READ, shared),
        Err(MapError::File(FileError::IsADirectory)),
        "directory"
    );
    ensure_eq!(
        format!("{}", MapError::File(FileError::IsADirectory)),
        "is_directory",
        "name"
    );
    ensure_eq!(
        fs::msync(0x1001, PAGE),
        Err(MapError::Vm(VmError::Unaligned)),
        "msync"
    );
    ensure_eq!(
        fs::msync(0x7000_0000, PAGE),
        Err(MapError::Vm(VmError::NotMapped)),
        "msync"
    );
    Ok(())
}

async fn end_of_file() -> Outcome {
    let original = patterned(PAGE + PAGE / 2);
    make_file("HALF.BIN", &original).await?;
    let a = mapf("HALF.BIN", 0, 3 * PAGE, Prot::READ, Sharing::Shared).map_err(err)?;
    ensure_eq!(user::load(a + 6143).await, pattern(6143), "the last byte");
    ensure_eq!(
        user::load(a + 6144).await,
        0,
        "past the end, in the last page"
    );
    ensure_eq!(user::load(a + 8191).await, 0, "the last page's last byte");
    let third = a + 2 * PAGE;
    let killed = ended(fork(async move {
        user::load(third + 8).await;
        0
    }))
    .await?;
    ensure_eq!(
        killed,
        format!(
            "killed: page fault at {:#x} (read, past end of file)",
            third + 8
        ),
        "a page wholly past the end"
    );
    // A shared store past the end never reaches the file, nor grows it.
    let b = mapf("HALF.BIN", 0, 2 * PAGE, Prot::RW, Sharing::Shared).map_err(err)?;
    user::store(b + 6200, 0x5a).await;
    fs::msync(b, 2 * PAGE).map_err(err)?;
    munmap(b, 2 * PAGE).map_err(err)?;
    munmap(a, 3 * PAGE).map_err(err)?;
    let file = File::open("HALF.BIN", OpenOptions::READ).map_err(err)?;
    ensure_eq!(file.size().map_err(err)?, 6144, "the size");
    drop(file);
    fs::sync().map_err(err)?;
    fs::drop_cache();
    let mut back = File::open("HALF.BIN", OpenOptions::READ).map_err(err)?;
    ensure!(
        back.read_to_end().await.map_err(err)? == original,
        "the file changed"
    );
    // Growing the file later does not make the stray byte part of it.
    let mut grow = File::open(
        "HALF.BIN",
        OpenOptions {
            write: true,
            ..OpenOptions::default()
        },
    )
    .map_err(err)?;
    let c = mapf("HALF.BIN", 0, 2 * PAGE, Prot::RW, Sharing::Shared).map_err(err)?;
    user::store(c + 6200, 0x5b).await;
    grow.seek(8000).map_err(err)?;
    grow.write(&[1]).await.map_err(err)?;
    ensure_eq!(
        read_byte("HALF.BIN", 6200).await?,
        0,
        "grown over a stray store"
    );
    munmap(c, 2 * PAGE).map_err(err)?;
    Ok(())
}

async fn stores_reach_disk() -> Outcome {
    make_file("SYNC.BIN", &vec![0u8; 4 * PAGE]).await?;
    let a = mapf("SYNC.BIN", 0, 4 * PAGE, Prot::RW, Sharing::Shared).map_err(err)?;
    user::store(a, 11).await;
    fs::msync(a, PAGE).map_err(err)?;
    ensure_eq!(disk_byte("SYNC.BIN", 0)?, 11, "after msync, still mapped");
    user::store(a + PAGE, 22).await;
    user::store(a + 2 * PAGE + 1, 33).await;
    munmap(a + PAGE, PAGE).map_err(err)?;
    ensure_eq!(
        disk_byte("SYNC.BIN", PAGE as u64)?,
        22,
        "after a partial munmap"
    );
    ensure_eq!(
        disk_byte("SYNC.BIN", 2 * PAGE as u64 + 1)?,
        0,
        "pages still mapped wait"
    );
    let last = a + 3 * PAGE;
    let exit = ended(fork(async move {
        user::store(last, 44).await;
        0
    }))
    .await?;
    ensure_eq!(exit, "exited 0", "child");
    ensure_eq!(
        disk_byte("SYNC.BIN", 3 * PAGE as u64)?,
        44,
        "after the child's exit"
    );
    let kill = ended(fork(async move {
        user::store(last + 1, 55).await;
        user::load(0x10).await;
        0
    }))
    .await?;
    ensure!(
        kill.starts_with("killed: page fault at 0x10"),
        "child: {kill}"
    );
    ensure_eq!(
        disk_byte("SYNC.BIN", 3 * PAGE as u64 + 1)?,
        55,
        "after the child's kill"
    );
    munmap(a, 4 * PAGE).map_err(err)?;
    ensure_eq!(
        disk_byte("SYNC.BIN", 2 * PAGE as u64 + 1)?,
        33,
        "after the last munmap"
    );
    Ok(())
}

async fn private_stays() -> Outcome {
    make_file("PRIV.BIN", &patterned(2 * PAGE)).await?;
    // Opened read-only, mapped private and written.
    let p = mapf("PRIV.BIN", 0, 2 * PAGE, Prot::RW, Sharing::Private).map_err(err)?;
    ensure_eq!(user::load(p + 5).await, pattern(5), "reads the file");
    user::store(p + 5, 99).await;
    user::store(p + PAGE, 98).await; // a first touch that is a store
    ensure_eq!(user::load(p + 5).await, 99, "its own copy");
    ensure_eq!(
        read_byte("PRIV.BIN", 5).await?,
        pattern(5),
        "the file through read"
    );
    // A fork child gets the private pages copy-on-write.
    let child = ended(fork(async move {
        let before = user::load(p + 5).await;
        user::store(p + 5, 97).await;
        i32::from(before != 99 || user::load(p + 5).await != 97)
    }))
    .await?;
    ensure_eq!(
        child,
        "exited 0",
        "child saw the parent's copy, then its own"
    );
    ensure_eq!(user::load(p + 5).await, 99, "the parent's copy");
    munmap(p, 2 * PAGE).map_err(err)?;
    fs::sync().map_err(err)?;
    ensure_eq!(disk_byte("PRIV.BIN", 5)?, pattern(5), "on the disk");
    ensure_eq!(
        disk_byte("PRIV.BIN", PAGE as u64)?,
        pattern(PAGE),
        "on the disk"
    );
    Ok(())
}

async fn sharing() -> Outcome {
    make_file("SHARE.BIN", &vec![0u8; 2 * PAGE]).await?;
    let a = mapf("SHARE.BIN", 0, 2 * PAGE, Prot::RW, Sharing::Shared).map_err(err)?;
    // Another task, its own address space, its own mapping of the file.
    let other = lazuli_api::spawn("mapper", async {
        let Ok(b) = mapf("SHARE.BIN", 0, 2 * PAGE, Prot::RW, Sharing::Shared) else {
            return 2;
        };
        user::store(b, 77).await;
        for _ in 0..1000 {
            if user::load(b + 1).await == 88 {
                return 0;
            }
            yield_now().await;
        }
        1
    });
    let mut seen = false;
    for _ in 0..1000 {
        if user::load(a).await == 77 {
            seen = true;
            break;
        }
        yield_now().await;
    }
    ensure!(seen, "the other task's store never showed");
    user::store(a + 1, 88).await;
    let status = wait(other).await.map_err(err)?;
    ensure_eq!(
        status,
        ExitStatus::Exited(0),
        "the other task saw this one's store"
    );
    // A fork child inherits the mapping shared: its store shows in the parent,
    // and its numpp counts the shared page.
    let parent_pp = numpp();
    let child = ended(fork(async move {
        user::store(a + PAGE, 5).await;
        i32::from(numpp() != parent_pp + 1)
    }))
    .await?;
    ensure_eq!(child, "exited 0", "child's numpp");
    ensure_eq!(user::load(a + PAGE).await, 5, "the child's store");
    ensure_eq!(
        read_byte("SHARE.BIN", PAGE as u64).await?,
        5,
        "through read"
    );
    munmap(a, 2 * PAGE).map_err(err)?;
    Ok(())
}

async fn coherence() -> Outcome {
    make_file("COHERE.BIN", &vec![0u8; PAGE]).await?;
    let a = mapf("COHERE.BIN", 0, PAGE, Prot::RW, Sharing::Shared).map_err(err)?;
    let mut file = File::open(
        "COHERE.BIN",
        OpenOptions {
            read: true,
            write: true,
            ..OpenOptions::default()
        },
    )
    .map_err(err)?;
    // A write before the page's first touch, then one after.
    file.seek(10).map_err(err)?;
    file.write(&[42]).await.map_err(err)?;
    ensure_eq!(user::load(a + 10).await, 42, "write, then load");
    file.seek(11).map_err(err)?;
    file.write(&[43]).await.map_err(err)?;
    ensure_eq!(
        user::load(a + 11).await,
        43,
        "write to a mapped page, then load"
    );
    user::store(a + 20, 44).await;
    file.seek(20).map_err(err)?;
    let mut b = [0u8];
    file.read(&mut b).await.map_err(err)?;
    ensure_eq!(b[0], 44, "store, then read");
    munmap(a, PAGE).map_err(err)?;
    Ok(())
}

async fn exec_from_file() -> Outcome {
    // mov eax, 42; ret
    make_file("CODE.BIN", &[0xb8, 42, 0, 0, 0, 0xc3]).await?;
    let code = mapf("CODE.BIN", 0, PAGE, Prot::RX, Sharing::Private).map_err(err)?;
    ensure_eq!(user::call(code).await, 42, "the code's result");
    let pp = numpp();
    ensure!(pp >= 1, "the code page is present");
    Ok(())
}

async fn frames_back() -> Outcome {
    make_file("FRAMES.BIN", &patterned(8 * PAGE)).await?;
    fs::sync().map_err(err)?;
    fs::drop_cache();
    let base = free_frames() + fs::cache_pages();
    let user = lazuli_api::spawn("frames", async {
        let (Ok(s), Ok(p)) = (
            mapf("FRAMES.BIN", 0, 8 * PAGE, Prot::RW, Sharing::Shared),
            mapf("FRAMES.BIN", 0, 8 * PAGE, Prot::RW, Sharing::Private),
        ) else {
            return 1;
        };
        for i in 0..8 {
            user::store(s + i * PAGE, i as u8).await;
            user::store(p + i * PAGE + 1, i as u8).await;
        }
        let child = fork(async move {
            user::store(s + 1, 1).await;
            user::store(p + 2, 1).await;
            0
        });
        match child {
            Ok(pid) => i32::from(wait(pid).await != Ok(ExitStatus::Exited(0))),
            Err(_) => 1,
        }
    });
    ensure_eq!(
        wait(user).await.map_err(err)?,
        ExitStatus::Exited(0),
        "the user"
    );
    ensure_eq!(free_frames() + fs::cache_pages(), base, "free + cache");
    fs::drop_cache();
    ensure_eq!(fs::cache_pages(), 0, "the cache gives back every frame");
    ensure_eq!(free_frames(), base, "free");
    Ok(())
}
