//! CONTRACTS.md section 8 as users meet it: disk images made here by the host's own
//! tools (`mkfs.fat`, `sfdisk`, `mtools`), attached with `--disk`, used through the
//! shell (`--exec` and piped sessions), then read back by those tools — what lazuli
//! wrote must be byte-exact and pass `fsck.fat -n`.
//!
//! Needs dosfstools, mtools and fdisk (`.ci/run` installs them).
use lazuli::qemu::Firmware;
use libtest_mimic::{Arguments, Failed, Trial};
use std::{
    fs,
    io::Write,
    process::{Command, Stdio},
    time::Duration,
};

#[path = "files/support.rs"]
mod support;
use support::*;

fn main() {
    let args = Arguments::from_args();
    let trials: Vec<(&str, Case)> = vec![
        ("bios::fat16_whole_disk_read_written_and_read_again", || {
            fat16_session(Firmware::Bios)
        }),
        ("uefi::fat16_whole_disk_read_written_and_read_again", || {
            fat16_session(Firmware::Uefi)
        }),
        ("bios::fat32_in_an_mbr_partition", fat32_partitioned),
        ("bios::every_error_line_of_section_8", error_lines),
        ("bios::a_full_disk_is_no_space_and_fails", no_space),
        (
            "bios::a_disk_without_a_file_system_is_no_disk",
            no_file_system,
        ),
        ("bios::a_read_only_disk_gives_io_error", read_only),
        ("bios::no_disk_uses_the_ram_disk", || {
            ram_disk(Firmware::Bios)
        }),
        ("uefi::no_disk_uses_the_ram_disk", || {
            ram_disk(Firmware::Uefi)
        }),
        (
            "a_missing_or_unreadable_disk_is_one_line_before_qemu",
            bad_disk_flags,
        ),
        ("images_writes_a_data_disk_fsck_accepts", images_data_disk),
    ];
    let trials = trials
        .into_iter()
        .map(|(name, f)| Trial::test(name, f))
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// One test: a function that boots what it needs.
type Case = fn() -> Result<(), Failed>;

/// `ls` and `cat` of what the host wrote (a 300 KB file whole); `write`, `mkdir`
/// and `rm` seen by the host, fsck-clean; a second boot reads the first's writes.
fn fat16_session(firmware: Firmware) -> Result<(), Failed> {
    let dir = scratch(&format!("fat16-{}", firmware.name()));
    let img = fat16_image(&dir)?;
    let mut args = firmware_args(firmware);
    args.extend(["--disk", s(&img)]);
    let input = "ls\nls SUB\ncat HELLO.TXT\ncat sub/notes.txt\ncat BIG.TXT\n\
                 write NEW.TXT written  by lazuli\nmkdir NEWDIR\nwrite NEWDIR/IN.TXT inside\n\
                 rm GONE.TXT\nls\ndisk\n";
    let (lines, code) = session(&args, input)?;
    let big = big_text();
    let big_lines: Vec<&str> = big.lines().collect();
    expect_output(
        &lines,
        "ls",
        &["BIG.TXT 300024", "GONE.TXT 14", "HELLO.TXT 20", "SUB/"],
    )?;
    expect_output(&lines, "ls SUB", &["NOTES.TXT 18"])?;
    expect_output(&lines, "cat HELLO.TXT", &["hello from the host"])?;
    expect_output(&lines, "cat sub/notes.txt", &["in a subdirectory"])?;
    expect_output(&lines, "cat BIG.TXT", &big_lines)?;
    expect_output(&lines, "write NEW.TXT written  by lazuli", &[])?;
    expect_output(&lines, "rm GONE.TXT", &[])?;
    // The second `ls`, after the writes and the removal.
    let after_rm = lines
        .iter()
        .position(|l| l == "$ rm GONE.TXT")
        .ok_or("no `rm GONE.TXT` in the session")?;
    expect_output(
        &lines[after_rm..],
        "ls",
        &[
            "BIG.TXT 300024",
            "HELLO.TXT 20",
            "NEW.TXT 19",
            "NEWDIR/",
            "SUB/",
        ],
    )?;
    let disk_line = output_of(&lines, "disk").unwrap_or_default();
    if disk_line.len() != 1
        || !disk_line[0].starts_with("disk: virtio-blk ")
        || !disk_line[0].contains("FAT16")
    {
        return Err(format!("disk: {disk_line:?}").into());
    }
    if code != 0 {
        return Err(format!("exit {code}\n{}", tail(&lines)).into());
    }
    // The host reads exactly what lazuli wrote, and the volume is clean.
    assert_bytes(
        &mtype(s(&img), "NEW.TXT")?,
        b"written  by lazuli\n",
        "NEW.TXT",
    )?;
    assert_bytes(
        &mtype(s(&img), "NEWDIR/IN.TXT")?,
        b"inside\n",
        "NEWDIR/IN.TXT",
    )?;
    // Time stamps come from the guest's clock (QEMU's RTC is the host's UTC).
    let listing = String::from_utf8(host("mdir", &["-i", s(&img), "::NEW.TXT"])?)?;
    let year = String::from_utf8(host("date", &["-u", "+%Y"])?)?;
    let stamped = listing
        .lines()
        .any(|l| l.starts_with("NEW      TXT") && l.contains(&format!(" {}-", year.trim())));
    if !stamped {
        return Err(format!("NEW.TXT is not stamped with this year:\n{listing}").into());
    }
    if mtype(s(&img), "GONE.TXT").is_ok() {
        return Err("GONE.TXT is still on the disk".into());
    }
    fsck(&img)?;
    // A second boot reads what the first wrote.
    let (lines, _) = session(&args, "cat NEW.TXT\nls NEWDIR\n")?;
    expect_output(&lines, "cat NEW.TXT", &["written  by lazuli"])?;
    expect_output(&lines, "ls NEWDIR", &["IN.TXT 7"])?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// FAT32 in the first partition of an MBR table (as on a USB stick).
fn fat32_partitioned() -> Result<(), Failed> {
    let dir = scratch("fat32");
    let img = dir.join("stick.img");
    fs::File::create(&img)?.set_len(64 << 20)?;
    let mut sfdisk = Command::new("sfdisk")
        .args(["--quiet", s(&img)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("sfdisk: {e} (install fdisk)"))?;
    sfdisk
        .stdin
        .take()
        .expect("piped")
        .write_all(b"start=2048, type=c\n")?;
    if !sfdisk.wait()?.success() {
        return Err("sfdisk failed".into());
    }
    // 63 MiB from sector 2048; one sector per cluster keeps FAT32 legal at this size.
    host(
        "mkfs.fat",
        &["-F", "32", "-s", "1", "--offset", "2048", s(&img), "64512"],
    )?;
    fill(&img, "@@1M", &dir)?;
    let (lines, code) = session(
        &["--disk", s(&img)],
        "ls\ncat HELLO.TXT\nwrite STICK.TXT on fat32\nmkdir D32\ndisk\n",
    )?;
    expect_output(
        &lines,
        "ls",
        &["BIG.TXT 300024", "GONE.TXT 14", "HELLO.TXT 20", "SUB/"],
    )?;
    expect_output(&lines, "cat HELLO.TXT", &["hello from the host"])?;
    let disk_line = output_of(&lines, "disk").unwrap_or_default();
    if !disk_line.first().is_some_and(|l| l.contains("FAT32")) || code != 0 {
        return Err(format!("exit {code}, disk: {disk_line:?}\n{}", tail(&lines)).into());
    }
    let image = format!("{}@@1M", s(&img));
    assert_bytes(&mtype(&image, "STICK.TXT")?, b"on fat32\n", "STICK.TXT")?;
    host("mdir", &["-i", &image, "::D32"])?;
    // fsck.fat reads a file system at the start of a file: check the partition's copy.
    let part = dir.join("part.img");
    let bytes = fs::read(&img)?;
    fs::write(&part, &bytes[1 << 20..])?;
    fsck(&part)?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// Each REASON of section 8 that a healthy disk can give, in `CMD: PATH: REASON`.
fn error_lines() -> Result<(), Failed> {
    let dir = scratch("errors");
    let img = fat16_image(&dir)?;
    let cases = [
        ("cat NOPE.TXT", "cat: NOPE.TXT: not found"),
        ("cat SUB", "cat: SUB: is a directory"),
        ("ls HELLO.TXT", "ls: HELLO.TXT: not a directory"),
        ("ls NOPE", "ls: NOPE: not found"),
        ("cat HELLO.TXT/X", "cat: HELLO.TXT/X: not a directory"),
        ("mkdir SUB", "mkdir: SUB: exists"),
        ("mkdir NOPE/D", "mkdir: NOPE/D: not found"),
        ("write BAD*.TXT x", "write: BAD*.TXT: invalid name"),
        ("write SUB hi", "write: SUB: is a directory"),
        ("write NOPE/X.TXT hi", "write: NOPE/X.TXT: not found"),
        ("rm SUB", "rm: SUB: is a directory"),
        ("rm NOPE.TXT", "rm: NOPE.TXT: not found"),
        ("cat ../X", "cat: ../X: invalid name"),
    ];
    let input: String = cases.iter().map(|(cmd, _)| format!("{cmd}\n")).collect();
    let (lines, _) = session(&["--disk", s(&img)], &(input + "ls\n"))?;
    for (cmd, want) in cases {
        expect_output(&lines, cmd, &[want])?;
    }
    // Nothing the errors did changed the disk.
    expect_output(
        &lines,
        "ls",
        &["BIG.TXT 300024", "GONE.TXT 14", "HELLO.TXT 20", "SUB/"],
    )?;
    fsck(&img)?;
    // A failing command fails `--exec`.
    let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args([
            "--disk",
            s(&img),
            "--exec",
            "cat NOPE.TXT",
            "--timeout",
            "120",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    if text.trim_end() != "cat: NOPE.TXT: not found" || out.status.success() {
        return Err(format!("--exec cat NOPE.TXT: {text:?}, {:?}", out.status).into());
    }
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// A full FAT12 floppy image: `write` says `no space` and `--exec` fails.
fn no_space() -> Result<(), Failed> {
    let dir = scratch("full");
    let img = dir.join("full.img");
    host("mkfs.fat", &["-C", "-F", "12", s(&img), "360"])?;
    // Fill every free cluster: mtools says how many bytes are free.
    let listing = String::from_utf8(host("mdir", &["-i", s(&img), "::"])?)?;
    let free: u64 = listing
        .lines()
        .find_map(|l| l.trim().strip_suffix("bytes free"))
        .and_then(|n| n.split_whitespace().collect::<String>().parse().ok())
        .ok_or(format!("no free count in {listing:?}"))?;
    fs::write(dir.join("fill"), vec![b'f'; free as usize])?;
    host(
        "mcopy",
        &["-i", s(&img), s(&dir.join("fill")), "::FILL.BIN"],
    )?;
    let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args([
            "--disk",
            s(&img),
            "--exec",
            "write NEW.TXT hello",
            "--timeout",
            "120",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    if text.trim_end() != "write: NEW.TXT: no space" || out.status.success() {
        return Err(format!(
            "want `write: NEW.TXT: no space` and failure, got {text:?}, {:?}",
            out.status
        )
        .into());
    }
    fsck(&img)?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// A virtio disk with no file system: every file command says `no disk`.
fn no_file_system() -> Result<(), Failed> {
    let dir = scratch("nofs");
    let img = dir.join("zeros.img");
    fs::File::create(&img)?.set_len(8 << 20)?;
    let drive = data_drive(&img, "");
    let extra: Vec<&str> = drive.iter().map(String::as_str).collect();
    let lines = direct_boot(&extra, &["ls", "cat HELLO.TXT", "disk", "sync"])?;
    expect_output(&lines, "ls", &["ls: /: no disk"])?;
    expect_output(&lines, "cat HELLO.TXT", &["cat: HELLO.TXT: no disk"])?;
    expect_output(&lines, "disk", &["disk: no disk"])?;
    expect_output(&lines, "sync", &["sync: no disk"])?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// A disk QEMU attaches read-only: reading works, writing is an `I/O error`.
fn read_only() -> Result<(), Failed> {
    let dir = scratch("ro");
    let img = fat16_image(&dir)?;
    let drive = data_drive(&img, "readonly=on,");
    let extra: Vec<&str> = drive.iter().map(String::as_str).collect();
    let lines = direct_boot(&extra, &["cat HELLO.TXT", "write NEW.TXT x"])?;
    expect_output(&lines, "cat HELLO.TXT", &["hello from the host"])?;
    expect_output(&lines, "write NEW.TXT x", &["write: NEW.TXT: I/O error"])?;
    fsck(&img)?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// `--no-disk`: the files come from the boot image's RAM disk (disk/ of the
/// repository), and writes work until power-off.
fn ram_disk(firmware: Firmware) -> Result<(), Failed> {
    let mut args = firmware_args(firmware);
    args.push("--no-disk");
    let (lines, code) = session(
        &args,
        "ls\ncat HELLO.TXT\ndisk\nwrite R.TXT in ram\ncat R.TXT\n",
    )?;
    expect_output(
        &lines,
        "ls",
        &[
            "DOCS/",
            "HELLO.TXT 21",
            "PATTERN.BIN 8192",
            "README.TXT 525",
        ],
    )?;
    expect_output(&lines, "cat HELLO.TXT", &["Hello from the disk!"])?;
    expect_output(&lines, "cat R.TXT", &["in ram"])?;
    let disk_line = output_of(&lines, "disk").unwrap_or_default();
    if !disk_line
        .first()
        .is_some_and(|l| l.starts_with("disk: RAM disk, 4096 KiB, FAT12"))
        || code != 0
    {
        return Err(format!("exit {code}, disk: {disk_line:?}").into());
    }
    Ok(())
}

/// A missing or garbage `--disk` is one line on stderr and no boot.
fn bad_disk_flags() -> Result<(), Failed> {
    let dir = scratch("flags");
    let garbage = dir.join("garbage.img");
    fs::write(&garbage, vec![0x5a; 64 * 1024])?;
    let missing = dir.join("missing.img");
    for (path, reason) in [
        (&missing, "no such file"),
        (&garbage, "no FAT12/16/32 file system"),
    ] {
        let started = std::time::Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
            .args(["--disk", s(path), "--exec", "ls"])
            .output()?;
        let err = String::from_utf8_lossy(&out.stderr);
        let want = format!("lazuli: --disk {}: {reason}", s(path));
        let one_line = err.lines().count() == 1 && err.starts_with(&want);
        if !one_line || out.status.success() || !out.stdout.is_empty() {
            return Err(format!(
                "want one line starting {want:?}, got {err:?} (stdout {:?})",
                out.stdout.len()
            )
            .into());
        }
        if started.elapsed() > Duration::from_secs(10) {
            return Err("the runner took too long: QEMU must not start".into());
        }
    }
    fs::remove_dir_all(dir)?;
    Ok(())
}

fn images_data_disk() -> Result<(), Failed> {
    let dir = scratch("images");
    let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args(["--images", s(&dir)])
        .output()?;
    let listed = String::from_utf8_lossy(&out.stdout);
    let disk = dir.join("lazuli-disk.img");
    if !out.status.success() || !listed.lines().any(|l| l == s(&disk)) {
        return Err(format!("--images printed {listed:?}").into());
    }
    fsck(&disk)?;
    assert_bytes(
        &mtype(s(&disk), "HELLO.TXT")?,
        b"Hello from the disk!\n",
        "HELLO.TXT",
    )?;
    fs::remove_dir_all(dir)?;
    Ok(())
}
