//! File mappings through the shell (CONTRACTS.md section 9), on disk images the
//! host makes with `mkfs.fat` and `mcopy` and reads back with `mtype`: the
//! playground's `mapf`, `msync`, `fr`, `fw`, `cache` in their exact forms, lazy
//! pages, the end of the file, stores that reach the disk and stores that never
//! do, code run from a file, and `free` + `cache` back where they were.
#[allow(dead_code)]
#[path = "files/support.rs"]
mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use std::{fs, path::Path, process::Command};
use support::{expect_output, fsck, host, output_of, s, scratch, session, tail};

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test(
            "bios::file_mappings_through_the_playground_and_the_disk",
            playground_session,
        ),
        Trial::test(
            "bios::an_exec_line_leaves_its_shared_stores_on_the_image",
            exec_line,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

const PAGE: usize = 4096;

/// The bytes of HALF.BIN: one and a half pages.
fn half() -> Vec<u8> {
    (0..PAGE + PAGE / 2).map(|i| (i * 7 % 251) as u8).collect()
}

/// Four pages holding the `fill` pattern of seed 7 (section 7): page i has
/// `7 × 0x9E3779B97F4A7C15 + i` at offsets 0 and 4088.
fn filled() -> Vec<u8> {
    let mut bytes = vec![0u8; 4 * PAGE];
    for i in 0..4u64 {
        let v = 7u64.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i);
        for at in [0, 4088] {
            let o = i as usize * PAGE + at;
            bytes[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

fn image(dir: &Path) -> Result<String, Failed> {
    let img = dir.join("map.img");
    host("mkfs.fat", &["-C", "-F", "16", s(&img), "32768"])?;
    let put = |name: &str, bytes: &[u8]| -> Result<(), Failed> {
        let local = dir.join(name);
        fs::write(&local, bytes)?;
        host("mcopy", &["-i", s(&img), s(&local), &format!("::{name}")]).map(drop)
    };
    put("HALF.BIN", &half())?;
    put("PAT.BIN", &filled())?;
    // mov eax, 42; ret
    put("CODE.BIN", &[0xb8, 42, 0, 0, 0, 0xc3])?;
    host("mmd", &["-i", s(&img), "::SUB"])?;
    Ok(s(&img).to_string())
}

/// The sum of the numbers before ` frames` and ` pages` in `vm free; cache`.
fn free_plus_cache(lines: &[String], cmd: &str) -> Result<u64, Failed> {
    let out = output_of(lines, cmd).ok_or(format!("no `{cmd}`"))?;
    let number = |line: &str| -> Option<u64> { line.split_whitespace().nth(1)?.parse().ok() };
    match out {
        [free, cache] if free.starts_with("free: ") && cache.starts_with("cache: ") => {
            Ok(number(free).ok_or("free")? + number(cache).ok_or("cache")?)
        }
        _ => Err(format!("`{cmd}`: {out:?}").into()),
    }
}

fn playground_session() -> Result<(), Failed> {
    let dir = scratch("mappings");
    let img = image(&dir)?;
    let steps: &[(&str, &[&str])] = &[
        (
            "vm mapf PAT.BIN 0 16384 r shared; stat; check $+0 16384 7; stat",
            &[
                "mapf(PAT.BIN, 0, 16384, r, shared) = 0x400000",
                "stat: numvp=13 numpp=0 getptsize=1",
                "check(0x400000, 16384, 7) = 4 pages ok",
                "stat: numvp=13 numpp=4 getptsize=4",
            ],
        ),
        (
            "vm mapf HALF.BIN 0 12288 r private; r $+6143; r $+6144; r $+8192",
            &[
                "mapf(HALF.BIN, 0, 12288, r, private) = 0x400000",
                "r 0x4017ff = 80",
                "r 0x401800 = 0",
                "task 4 (vm) killed: page fault at 0x402000 (read, past end of file)",
                "vm: killed: page fault at 0x402000 (read, past end of file)",
            ],
        ),
        (
            "vm mapf HALF.BIN 0 8192 rw shared; w $+0 65; w $+6200 90; msync $+0 8192",
            &[
                "mapf(HALF.BIN, 0, 8192, rw, shared) = 0x400000",
                "w 0x400000 = 65",
                "w 0x401838 = 90",
                "msync(0x400000, 8192) = 0",
            ],
        ),
        (
            "vm mapf HALF.BIN 4096 4096 rw shared; w $+0 66",
            &[
                "mapf(HALF.BIN, 4096, 4096, rw, shared) = 0x400000",
                "w 0x400000 = 66",
            ],
        ),
        (
            "vm mapf HALF.BIN 0 4096 rw shared; w $+1 67; r 0x10",
            &[
                "mapf(HALF.BIN, 0, 4096, rw, shared) = 0x400000",
                "w 0x400001 = 67",
                "task 7 (vm) killed: page fault at 0x10 (read, not mapped)",
                "vm: killed: page fault at 0x10 (read, not mapped)",
            ],
        ),
        (
            "vm mapf HALF.BIN 0 4096 rw private; w $+2 68; r $+2; fr HALF.BIN 2",
            &[
                "mapf(HALF.BIN, 0, 4096, rw, private) = 0x400000",
                "w 0x400002 = 68",
                "r 0x400002 = 68",
                "fr(HALF.BIN, 2) = 14",
            ],
        ),
        (
            "vm fw HALF.BIN 3 69; mapf HALF.BIN 0 4096 rw shared; r $+3; w $+4 70; fr HALF.BIN 4",
            &[
                "fw(HALF.BIN, 3) = 69",
                "mapf(HALF.BIN, 0, 4096, rw, shared) = 0x400000",
                "r 0x400003 = 69",
                "w 0x400004 = 70",
                "fr(HALF.BIN, 4) = 70",
            ],
        ),
        (
            "vm mapf HALF.BIN 0 4096 rw shared; fork { w $+5 71 }; r $+5",
            &[
                "mapf(HALF.BIN, 0, 4096, rw, shared) = 0x400000",
                "w 0x400005 = 71",
                "fork: child exited 0",
                "r 0x400005 = 71",
            ],
        ),
        (
            "vm mapf CODE.BIN 0 4096 rx private; x $+0",
            &[
                "mapf(CODE.BIN, 0, 4096, rx, private) = 0x400000",
                "x 0x400000 returned",
            ],
        ),
        (
            "vm mapf NOPE.BIN 0 4096 r shared; mapf SUB 0 4096 r shared; mapf HALF.BIN 100 4096 r shared; msync 0x400000 4096; fr HALF.BIN 6144",
            &[
                "mapf(NOPE.BIN, 0, 4096, r, shared) = error not_found",
                "mapf(SUB, 0, 4096, r, shared) = error is_directory",
                "mapf(HALF.BIN, 100, 4096, r, shared) = error unaligned",
                "msync(0x400000, 4096) = error not_mapped",
                "fr(HALF.BIN, 6144) = error end_of_file",
            ],
        ),
        (
            "ls",
            &["CODE.BIN 6", "HALF.BIN 6144", "PAT.BIN 16384", "SUB/"],
        ),
    ];
    let mut input = String::from("vm free; cache\n");
    for (cmd, _) in steps {
        input.push_str(cmd);
        input.push('\n');
    }
    input.push_str("sync\nvm free; cache\n");
    let (lines, code) = session(&["--disk", &img], &input)?;
    for (cmd, want) in steps {
        expect_output(&lines, cmd, want)?;
    }
    // Every user ended: the frames are free or cached.
    let first = free_plus_cache(&lines, "vm free; cache")?;
    let at = lines.iter().position(|l| l == "$ sync").ok_or("no sync")?;
    let last = free_plus_cache(&lines[at..], "vm free; cache")?;
    if first != last || code != 0 {
        return Err(format!(
            "free + cache {first} then {last}, exit {code}\n{}",
            tail(&lines)
        )
        .into());
    }
    // What the host reads: shared stores (msync, exit, kill, fw) are there; the
    // private one and the one past the end are not; the size never changed.
    let mut want = half();
    want[0] = 65;
    want[1] = 67;
    want[3] = 69;
    want[4] = 70;
    want[5] = 71;
    want[PAGE] = 66;
    let got = host("mtype", &["-i", &img, "::HALF.BIN"])?;
    if got != want {
        let diff: Vec<usize> = (0..got.len().max(want.len()))
            .filter(|&i| got.get(i) != want.get(i))
            .take(8)
            .collect();
        return Err(format!("HALF.BIN: {} bytes, differs at {diff:?}", got.len()).into());
    }
    fsck(Path::new(&img))?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// `cargo run -- --disk IMG --exec "LINE"`: the stores of a shared mapping are on
/// the image when the runner returns (the task's exit writes them back, and
/// poweroff syncs), a private mapping's are not.
fn exec_line() -> Result<(), Failed> {
    let dir = scratch("mappings-exec");
    let img = image(&dir)?;
    let line =
        "vm mapf HALF.BIN 0 8192 rw shared; w $+4097 88; mapf HALF.BIN 0 4096 rw private; w $+0 89";
    let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args(["--disk", &img, "--exec", line, "--timeout", "120"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let want = [
        "mapf(HALF.BIN, 0, 8192, rw, shared) = 0x400000",
        "w 0x401001 = 88",
        "mapf(HALF.BIN, 0, 4096, rw, private) = 0x402000",
        "w 0x402000 = 89",
    ];
    let got: Vec<&str> = text.lines().collect();
    if got != want || out.status.code() != Some(0) {
        return Err(format!("exec: {:?}, got {got:?}", out.status.code()).into());
    }
    let mut expect = half();
    expect[PAGE + 1] = 88;
    if host("mtype", &["-i", &img, "::HALF.BIN"])? != expect {
        return Err("HALF.BIN on the image is not the shared store alone".into());
    }
    fsck(Path::new(&img))?;
    fs::remove_dir_all(dir)?;
    Ok(())
}
