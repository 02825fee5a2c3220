//! Helpers of tests/files.rs: host-made images, the host's tools, runner sessions
//! and direct boots.
use lazuli::{
    exec::{self, Send, Step},
    qemu::{Firmware, Machine},
    tools,
};
use libtest_mimic::Failed;
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

/// A fresh scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lazuli-files-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs a host tool; its stdout, or why it failed.
pub fn host(program: &str, args: &[&str]) -> Result<Vec<u8>, Failed> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e} (install dosfstools, mtools and fdisk)"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}

pub fn s(path: &Path) -> &str {
    path.to_str().expect("UTF-8 temp path")
}

/// 300,024 bytes of numbered lines: `cat` must print it whole.
pub fn big_text() -> String {
    (0..11_112)
        .map(|i| format!("line {i:05} of the big file\n"))
        .collect()
}

/// The files every host-made image starts with.
pub fn host_files(dir: &Path) -> Result<(), Failed> {
    fs::write(dir.join("hello.txt"), "hello from the host\n")?;
    fs::write(dir.join("notes.txt"), "in a subdirectory\n")?;
    fs::write(dir.join("big.txt"), big_text())?;
    fs::write(dir.join("gone.txt"), "to be removed\n")?;
    Ok(())
}

/// A 32 MiB FAT16 file system on the whole image, as `mkfs.fat` makes it.
pub fn fat16_image(dir: &Path) -> Result<PathBuf, Failed> {
    let img = dir.join("fat16.img");
    host(
        "mkfs.fat",
        &["-C", "-F", "16", "-n", "HOSTDISK", s(&img), "32768"],
    )?;
    fill(&img, "", dir)?;
    Ok(img)
}

/// Copies the host files in with mtools; `at` is `@@OFFSET` for a partition.
pub fn fill(img: &Path, at: &str, dir: &Path) -> Result<(), Failed> {
    host_files(dir)?;
    let i = format!("{}{at}", s(img));
    host(
        "mcopy",
        &["-i", &i, s(&dir.join("hello.txt")), "::HELLO.TXT"],
    )?;
    host("mcopy", &["-i", &i, s(&dir.join("big.txt")), "::BIG.TXT"])?;
    host("mcopy", &["-i", &i, s(&dir.join("gone.txt")), "::GONE.TXT"])?;
    host("mmd", &["-i", &i, "::SUB"])?;
    host(
        "mcopy",
        &["-i", &i, s(&dir.join("notes.txt")), "::SUB/NOTES.TXT"],
    )?;
    Ok(())
}

/// A file's bytes as mtools reads them from the image.
pub fn mtype(image: &str, file: &str) -> Result<Vec<u8>, Failed> {
    host("mtype", &["-i", image, &format!("::{file}")])
}

/// Runs the runner with `args`, typing `input` (then `poweroff`) at its prompt.
/// The output's lines and the exit code.
pub fn session(args: &[&str], input: &str) -> Result<(Vec<String>, i32), Failed> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args(args)
        .args(["--headless", "--timeout", "150"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let script = format!("{input}poweroff\n");
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let lines = text.lines().map(str::to_string).collect();
    Ok((lines, out.status.code().unwrap_or(-1)))
}

/// The output lines of command `cmd` in a session (after `$ cmd`, before the next
/// prompt).
pub fn output_of<'a>(lines: &'a [String], cmd: &str) -> Option<&'a [String]> {
    let start = lines.iter().position(|l| l == &format!("$ {cmd}"))? + 1;
    let len = lines[start..].iter().position(|l| l.starts_with("$ "))?;
    Some(&lines[start..start + len])
}

pub fn expect_output(lines: &[String], cmd: &str, want: &[&str]) -> Result<(), Failed> {
    match output_of(lines, cmd) {
        Some(got) if got == want => Ok(()),
        got => Err(format!(
            "`{cmd}`: want {want:?}, got {got:?}\n--- session ---\n{}",
            tail(lines)
        )
        .into()),
    }
}

/// The end of a long session, for failure messages.
pub fn tail(lines: &[String]) -> String {
    let from = lines.len().saturating_sub(60);
    lines[from..].join("\n")
}

pub fn fsck(image: &Path) -> Result<(), Failed> {
    host("fsck.fat", &["-n", s(image)]).map(drop)
}

pub fn firmware_args(firmware: Firmware) -> Vec<&'static str> {
    match firmware {
        Firmware::Bios => vec![],
        Firmware::Uefi => vec!["--uefi"],
    }
}

pub fn assert_bytes(got: &[u8], want: &[u8], what: &str) -> Result<(), Failed> {
    if got != want {
        return Err(format!(
            "{what}: host read {:?}, want {:?}",
            String::from_utf8_lossy(got),
            String::from_utf8_lossy(want)
        )
        .into());
    }
    Ok(())
}

/// Boots the kernel with QEMU arguments `extra` (a disk the runner would refuse),
/// types `input` and powers off; the output's lines.
pub fn direct_boot(extra: &[&str], input: &[&str]) -> Result<Vec<String>, Failed> {
    let tools = tools::ensure(false)?;
    let files = lazuli::kernel("lazuli").ok_or("no lazuli image")?;
    let machine = Machine::headless(files.bios.clone(), Firmware::Bios);
    let mut command = machine.command(&tools);
    command.args(extra);
    let mut steps: Vec<Step> = input
        .iter()
        .map(|line| Step {
            expect: "$ ".into(),
            send: Send::Text(format!("{line}\n")),
        })
        .collect();
    steps.push(Step {
        expect: "$ ".into(),
        send: Send::Text("poweroff\n".into()),
    });
    let outcome = exec::scripted(
        command,
        &steps,
        Some(Duration::from_secs(120)),
        &mut std::io::sink(),
    )?;
    Ok(outcome.text().lines().map(str::to_string).collect())
}

pub fn data_drive(img: &Path, opts: &str) -> [String; 4] {
    [
        "-drive".into(),
        format!("if=none,id=data,format=raw,{opts}file={}", s(img)),
        "-device".into(),
        "virtio-blk-pci,drive=data".into(),
    ]
}
