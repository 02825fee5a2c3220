//! Reclaim and swap (CONTRACTS.md section 10) on a 64 MiB machine, through the
//! shell: more memory than the machine has, filled and read back page by page
//! with `fill`/`check`; a fork of a swapped task; a kill with pages in swap; the
//! old out-of-memory kill with `--swap 0`; a file larger than memory mapped
//! private and read twice, and one mapped shared, filled and checked by the host;
//! `stress` and `pressure` under pressure; `show`'s swapped cells. The big runs
//! are ignored in a plain `cargo test`: `cargo test -- --ignored` runs them (CI
//! does, once).
#[allow(dead_code)]
#[path = "files/support.rs"]
mod support;

use libtest_mimic::{Arguments, Failed, Trial};
use std::fs;
use support::{expect_output, host, s, scratch, session, tail};

fn main() {
    let args = Arguments::from_args();
    let long = |name: &str, run: fn() -> Result<(), Failed>| {
        Trial::test(name, run).with_ignored_flag(true)
    };
    let trials = vec![
        Trial::test("bios::without_swap_the_toucher_dies_out_of_memory", no_swap),
        Trial::test("bios::show_draws_swapped_pages_as_s", show_swapped),
        Trial::test(
            "bios::pages_in_swap_come_back_with_their_bytes_on_touch",
            swapped_come_back,
        ),
        // The big runs: `cargo test -- --ignored` (CI runs them once).
        long(
            "bios::192_mib_filled_and_checked_in_64_mib",
            more_than_memory,
        ),
        long(
            "bios::a_fork_of_a_swapped_task_keeps_both_copies",
            fork_swapped,
        ),
        long(
            "bios::a_96_mib_file_mapped_private_is_read_twice_in_64_mib",
            big_file,
        ),
        long(
            "bios::a_96_mib_shared_mapping_filled_in_64_mib_reaches_the_file_whole",
            big_shared_file,
        ),
        long(
            "bios::stress_of_20000_ops_beside_40_mib_held_in_64_mib",
            stress_under_pressure,
        ),
        long(
            "bios::pressure_with_swap_every_task_survives",
            pressure_with_swap,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

const MEMORY: &[&str] = &["--memory", "64"];

/// `swap: U of T pages used` → U.
fn swap_used(line: &str) -> Option<u64> {
    line.strip_prefix("swap: ")?.split(' ').next()?.parse().ok()
}

fn out<'a>(lines: &'a [String], cmd: &str) -> Result<&'a [String], Failed> {
    support::output_of(lines, cmd).ok_or_else(|| format!("no `{cmd}`\n{}", tail(lines)).into())
}

/// 192 MiB in 64 MiB: every page right, the swap area in use meanwhile; then a
/// task killed with 64 MiB of pages, many in swap. After each, every slot and
/// every frame is back.
fn more_than_memory() -> Result<(), Failed> {
    let fill = "vm map 201326592 rw; fill $+0 201326592 3; check $+0 201326592 3; swap";
    let kill = "vm map 67108864 rw; fill $+0 67108864 1; swap; r 0x10";
    let input = format!("free\n{fill}\nswap\nfree\n{kill}\nswap\nfree\n");
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &input)?;
    let filled = out(&lines, fill)?;
    let want_head = [
        "map(201326592, rw) = 0x400000",
        "fill(0x400000, 201326592, 3) = 49152 pages",
        "check(0x400000, 201326592, 3) = 49152 pages ok",
    ];
    if filled.len() != 4 || filled[..3] != want_head {
        return Err(format!("`{fill}`: {filled:?}").into());
    }
    let used = swap_used(&filled[3]).ok_or(format!("swap line {:?}", filled[3]))?;
    if used < 49152 - 13312 {
        return Err(format!("only {used} pages in swap: 192 MiB do not fit 64 MiB").into());
    }
    let killed = out(&lines, kill)?;
    if !killed
        .iter()
        .any(|l| l == "vm: killed: page fault at 0x10 (read, not mapped)")
        || !killed.iter().any(|l| swap_used(l).is_some_and(|u| u > 0))
    {
        return Err(format!("`{kill}`: {killed:?}").into());
    }
    // After each task: no slot in use, the boot's free frames back.
    let swaps: Vec<&String> = lines
        .iter()
        .filter(|l| l.starts_with("swap: 0 of "))
        .collect();
    let frees: Vec<&String> = lines.iter().filter(|l| l.starts_with("free: ")).collect();
    if swaps.len() < 2 || frees.len() != 3 || frees.iter().any(|f| f != &frees[0]) || code != 0 {
        return Err(format!(
            "swap {swaps:?}, free {frees:?}, exit {code}\n{}",
            tail(&lines)
        )
        .into());
    }
    Ok(())
}

/// A 96 MiB task, mostly swapped, forks; the child rewrites half and both check
/// their own data.
fn fork_swapped() -> Result<(), Failed> {
    let cmd = "vm map 100663296 rw; fill $+0 100663296 5; fork { check $+0 100663296 5; fill $+0 50331648 6; check $+0 50331648 6 }; check $+0 100663296 5";
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\nswap\n"))?;
    expect_output(
        &lines,
        cmd,
        &[
            "map(100663296, rw) = 0x400000",
            "fill(0x400000, 100663296, 5) = 24576 pages",
            "check(0x400000, 100663296, 5) = 24576 pages ok",
            "fill(0x400000, 50331648, 6) = 12288 pages",
            "check(0x400000, 50331648, 6) = 12288 pages ok",
            "fork: child exited 0",
            "check(0x400000, 100663296, 5) = 24576 pages ok",
        ],
    )?;
    expect_output(&lines, "swap", &["swap: 0 of 131072 pages used"])?;
    if code != 0 {
        return Err(format!("exit {code}").into());
    }
    Ok(())
}

/// `--swap 0`: a task touching more than memory is killed `(out of memory)`, and
/// the machine goes on.
/// 80 MiB filled in 64 MiB, then read back: every page that went to the swap area
/// comes back through the fault of its next touch (the first-touch path finds the
/// entry in use and reads the slot) with the bytes `fill` wrote.
fn swapped_come_back() -> Result<(), Failed> {
    let cmd = "vm map 83886080 rw; fill $+0 83886080 5; swap; check $+0 83886080 5";
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\n"))?;
    let got = out(&lines, cmd)?;
    let spilled = got.get(2).and_then(|l| swap_used(l)).unwrap_or(0);
    let checked =
        got.get(3).map(String::as_str) == Some("check(0x400000, 83886080, 5) = 20480 pages ok");
    if spilled == 0 || !checked || code != 0 {
        return Err(format!("`{cmd}` (exit {code}): {got:?}").into());
    }
    Ok(())
}

fn no_swap() -> Result<(), Failed> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args([
            "--memory",
            "64",
            "--swap",
            "0",
            "--no-disk",
            "--timeout",
            "120",
        ])
        .args(["--exec", "vm map 100663296 rw; fill $+0 100663296 1; swap"])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let lines: Vec<&str> = text.lines().collect();
    let killed = lines
        .iter()
        .any(|l| l.starts_with("vm: killed: page fault at 0x") && l.ends_with(" (out of memory)"));
    if !killed || out.status.code() != Some(1) {
        return Err(format!("exit {:?}: {lines:?}", out.status.code()).into());
    }
    Ok(())
}

/// A 96 MiB file (the `fill` pattern of seed 9, made on the host) mapped private
/// and checked twice in 64 MiB: its clean pages leave the cache under pressure and
/// are read again.
fn big_file() -> Result<(), Failed> {
    let dir = scratch("swap-big-file");
    let img = image_with_big_file(&dir, &pattern(BIG_PAGES, 9))?;
    let cmd = "vm mapf BIG.BIN 0 100663296 r private; check $+0 100663296 9; check $+0 100663296 9";
    let mut args = vec!["--disk", s(&img)];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\n"))?;
    expect_output(
        &lines,
        cmd,
        &[
            "mapf(BIG.BIN, 0, 100663296, r, private) = 0x400000",
            "check(0x400000, 100663296, 9) = 24576 pages ok",
            "check(0x400000, 100663296, 9) = 24576 pages ok",
        ],
    )?;
    if code != 0 {
        return Err(format!("exit {code}").into());
    }
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// Pages in BIG.BIN: 96 MiB.
const BIG_PAGES: u64 = 96 * 256;

/// `pages` pages holding the `fill` pattern of `seed` (zeros elsewhere).
fn pattern(pages: u64, seed: u64) -> Vec<u8> {
    let mut bytes = vec![0u8; (pages * 4096) as usize];
    for i in 0..pages {
        let v = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i);
        for at in [0, 4088] {
            let o = (i * 4096) as usize + at;
            bytes[o..o + 8].copy_from_slice(&v.to_le_bytes());
        }
    }
    bytes
}

/// A 256 MiB FAT32 image, made by the host's tools, holding BIG.BIN = `bytes`.
fn image_with_big_file(dir: &std::path::Path, bytes: &[u8]) -> Result<std::path::PathBuf, Failed> {
    fs::write(dir.join("big.bin"), bytes)?;
    let img = dir.join("big.img");
    host("mkfs.fat", &["-C", "-F", "32", s(&img), "262144"])?;
    host(
        "mcopy",
        &["-i", s(&img), s(&dir.join("big.bin")), "::BIG.BIN"],
    )?;
    fs::remove_file(dir.join("big.bin"))?;
    Ok(img)
}

/// A 96 MiB file of zeros mapped shared and filled in 64 MiB: the dirty pages
/// reclaim takes go to the file (by extent), the rest at `msync`; then the host
/// reads the file (`mtype`) and finds the pattern on every page, and `fsck.fat`
/// no error. Checked in the kernel too, after the pages went and came back.
fn big_shared_file() -> Result<(), Failed> {
    let dir = scratch("swap-big-shared");
    let img = image_with_big_file(&dir, &vec![0u8; (BIG_PAGES * 4096) as usize])?;
    let cmd = "vm mapf BIG.BIN 0 100663296 rw shared; fill $+0 100663296 4; check $+0 100663296 4; msync $+0 100663296";
    let mut args = vec!["--disk", s(&img)];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\n"))?;
    expect_output(
        &lines,
        cmd,
        &[
            "mapf(BIG.BIN, 0, 100663296, rw, shared) = 0x400000",
            "fill(0x400000, 100663296, 4) = 24576 pages",
            "check(0x400000, 100663296, 4) = 24576 pages ok",
            "msync(0x400000, 100663296) = 0",
        ],
    )?;
    if code != 0 {
        return Err(format!("exit {code}").into());
    }
    let got = support::mtype(s(&img), "BIG.BIN")?;
    support::assert_bytes(&got, &pattern(BIG_PAGES, 4), "BIG.BIN as the host reads it")?;
    support::fsck(&img)?;
    fs::remove_dir_all(dir)?;
    Ok(())
}

/// `stress` beside a task holding 40 MiB of a 64 MiB machine: every task's pages
/// go to swap and come back (thousands each way), and the model finds no mismatch.
fn stress_under_pressure() -> Result<(), Failed> {
    let cmd = "stress 42 20000 40";
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\n"))?;
    let got = out(&lines, cmd)?;
    let traffic = got
        .iter()
        .find_map(|l| l.strip_prefix("stress: beside 40 MiB held: "))
        .ok_or_else(|| format!("no traffic line\n{}", tail(&lines)))?;
    let numbers: Vec<u64> = traffic.split(' ').filter_map(|w| w.parse().ok()).collect();
    let last = got.last().map(String::as_str).unwrap_or("");
    let passed = last.starts_with("stress: 20000 ops, 0 mismatches, free frames back to ");
    if numbers.len() != 2 || numbers.iter().any(|&n| n < 1000) || !passed || code != 0 {
        return Err(format!("`{cmd}` (exit {code}):\n{}", tail(&lines)).into());
    }
    Ok(())
}

/// `pressure` with swap: its hogs and storm ask for more than RAM and all survive.
fn pressure_with_swap() -> Result<(), Failed> {
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, "pressure 1\n")?;
    let got = out(&lines, "pressure 1")?;
    let ok = got.last().is_some_and(|l| {
        l.starts_with("pressure: 1 rounds, 8 tasks survived past RAM (up to ")
            && l.contains(" free frames), free frames back to ")
    });
    if !ok || code != 0 {
        return Err(format!("`pressure 1` (exit {code}):\n{}", tail(&lines)).into());
    }
    Ok(())
}

/// 48 MiB touched on a 64 MiB machine: `show` names the swapped cell kind and
/// draws some of the region's cells as `s`.
fn show_swapped() -> Result<(), Failed> {
    let cmd = "vm map 50331648 rw; fill $+0 50331648 2; show";
    let mut args = vec!["--no-disk"];
    args.extend(MEMORY);
    let (lines, code) = session(&args, &format!("{cmd}\n"))?;
    let got = out(&lines, cmd)?;
    let legend = "(# present, + partly present, . reserved, x guard, s swapped)";
    let header = got
        .iter()
        .any(|l| l.starts_with("show: 3 regions, numvp=12297 ") && l.ends_with(legend));
    let row = got
        .iter()
        .find(|l| l.contains(" anon ") || l.contains(" mmap "));
    let drawn = row.is_some_and(|r| r.contains("12288 pages [") && r.contains('s'));
    if !header || !drawn || code != 0 {
        return Err(format!("`{cmd}` (exit {code}): {got:?}").into());
    }
    Ok(())
}
