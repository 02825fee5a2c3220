//! The shell and the `vm` playground as users see them: each trial runs one line
//! through the runner (`cargo run -- --exec LINE`) on the real kernel and checks the
//! exact output forms of CONTRACTS.md sections 2 and 3, and the exit status.
#[path = "shell/bench_figures.rs"]
mod bench_figures;

use bench_figures::bench_prints_every_figure;
use libtest_mimic::{Arguments, Failed, Trial};
use std::process::Command;

/// A test: the line to run, then a check of (output lines, runner exit code).
type Check = fn(&[String], i32) -> Result<(), String>;

fn main() {
    let args = Arguments::from_args();
    let case = |&(name, firmware, line, check): &(&str, &'static str, &'static str, Check)| {
        Trial::test(format!("{firmware}::{name}"), move || {
            exec_case(firmware, line, check)
        })
    };
    let mut trials: Vec<Trial> = EXEC_CASES.iter().map(case).collect();
    // The long runs: `cargo test -- --ignored` (CI runs them once, README).
    trials.extend(LONG_CASES.iter().map(|c| case(c).with_ignored_flag(true)));
    trials.push(Trial::test(
        "bios::pressure_at_64_mib_kills_only_out_of_memory",
        pressure_at_64_mib,
    ));
    libtest_mimic::run(&args, trials).exit();
}

/// Cases too long for every developer's `cargo test` (ignored unless asked for).
const LONG_CASES: &[(&str, &str, &str, Check)] = &[(
    "stress_of_20000_ops_with_file_mappings_has_no_mismatch",
    "bios",
    "stress 42 20000",
    |out, code| stress_passed(out, code, 20000),
)];

/// The last line is `stress: OPS ops, 0 mismatches, free frames back to B`.
fn stress_passed(out: &[String], code: i32, ops: usize) -> Result<(), String> {
    let last = out.last().map(String::as_str).unwrap_or("");
    let want = format!("stress: {ops} ops, 0 mismatches, free frames back to ");
    expect(
        last.starts_with(&want) && code == 0,
        &format!("`{want}B`"),
        out,
        code,
    )
}

const EXEC_CASES: &[(&str, &str, &str, Check)] = &[
    (
        "help_lists_every_command",
        "bios",
        "help",
        help_lists_every_command,
    ),
    ("fresh_task_numvp_is_9", "bios", "numvp", |out, code| {
        exact(out, code, 0, &["9"])
    }),
    ("fresh_task_numpp_is_0", "bios", "numpp", |out, code| {
        exact(out, code, 0, &["0"])
    }),
    (
        "fresh_task_getptsize_is_1",
        "bios",
        "getptsize",
        |out, code| exact(out, code, 0, &["1"]),
    ),
    ("mmaptest_passes", "bios", "mmaptest", mmaptest_passes),
    (
        "bench_short_prints_every_figure",
        "bios",
        "bench short",
        bench_prints_every_figure,
    ),
    (
        "bench_with_a_bad_argument_prints_its_usage",
        "bios",
        "bench fast",
        |out, code| exact(out, code, 1, &["bench: usage: bench [short]"]),
    ),
    ("mmaptest_passes", "uefi", "mmaptest", mmaptest_passes),
    (
        "stress_of_4000_ops_with_file_mappings_has_no_mismatch",
        "bios",
        "stress 42 4000",
        |out, code| stress_passed(out, code, 4000),
    ),
    (
        "swap_counts_the_pages_of_the_512_mib_swap_disk",
        "bios",
        "swap",
        |out, code| exact(out, code, 0, &["swap: 0 of 131072 pages used"]),
    ),
    (
        "unknown_command_fails_with_one_line",
        "bios",
        "frobnicate",
        |out, code| exact(out, code, 1, &["unknown command: frobnicate (try help)"]),
    ),
    (
        "vm_seed_error_table",
        "bios",
        "vm mmap 0; mmap -1234; mmap 100; mmap 1234; mmap 4097; mmap 4096; mmap 4096",
        |out, code| {
            let want = [
                "mmap(0) = 0",
                "mmap(-1234) = 0",
                "mmap(100) = 0",
                "mmap(1234) = 0",
                "mmap(4097) = 0",
                "mmap(4096) = 0x40000000",
                "mmap(4096) = 0",
            ];
            exact(out, code, 0, &want)
        },
    ),
    (
        "vm_every_command_prints_its_form",
        "bios",
        "vm mmap 8192; stat; w $+0 97; stat; r $+0; r $+4096; sbrk 4096; sbrk -4096; sbrk -8192",
        |out, code| {
            let want = [
                "mmap(8192) = 0x40000000",
                "stat: numvp=11 numpp=0 getptsize=1",
                "w 0x40000000 = 97",
                "stat: numvp=11 numpp=1 getptsize=4",
                "r 0x40000000 = 97",
                "r 0x40001000 = 0",
                "sbrk(4096) = 0x40002000",
                "sbrk(-4096) = 0x40003000",
                "sbrk(-8192) = -1",
            ];
            exact(out, code, 0, &want)
        },
    ),
    ("vm_free_prints_frames", "bios", "vm free", |out, code| {
        let ok = out.len() == 1
            && out[0]
                .strip_prefix("free: ")
                .and_then(|r| r.strip_suffix(" frames"))
                .is_some_and(|n| n.parse::<u64>().is_ok_and(|n| n > 1000));
        expect(ok && code == 0, "one line `free: N frames`", out, code)
    }),
    (
        "vm_fork_script_runs_child_lines_then_reports",
        "bios",
        "vm mmap 8192; w $+0 112; fork { r $+0; w $+0 99; r $+0; fork { r $+0 } }; r $+0",
        |out, code| {
            let want = [
                "mmap(8192) = 0x40000000",
                "w 0x40000000 = 112",
                "r 0x40000000 = 112",
                "w 0x40000000 = 99",
                "r 0x40000000 = 99",
                "r 0x40000000 = 99",
                "fork: child exited 0",
                "fork: child exited 0",
                "r 0x40000000 = 112",
            ];
            exact(out, code, 0, &want)
        },
    ),
    (
        "vm_child_killed_is_reported_and_parent_goes_on",
        "bios",
        "vm mmap 4096; fork { w $+4096 1 }; stat",
        |out, code| {
            let reason = "page fault at 0x40001000 (write, not mapped)";
            let ok = out.len() == 4
                && out[1].ends_with(&format!("(vm) killed: {reason}"))
                && out[2] == format!("fork: child killed: {reason}")
                && out[3].starts_with("stat: numvp=10 ")
                && code == 0;
            expect(
                ok,
                "kernel kill line, `fork: child killed: REASON`, then stat",
                out,
                code,
            )
        },
    ),
    (
        "vm_bad_access_ends_the_script",
        "bios",
        "vm mmap 4096; w $-1 1; stat",
        |out, code| {
            let reason = "page fault at 0x3fffffff (write, not mapped)";
            let ok = out.len() == 3
                && out[0] == "mmap(4096) = 0x40000000"
                && out[1].starts_with("task ")
                && out[1].ends_with(&format!("(vm) killed: {reason}"))
                && out[2] == format!("vm: killed: {reason}")
                && code == 1;
            expect(
                ok,
                "the kill line and `vm: killed: REASON`, no stat, exit 1",
                out,
                code,
            )
        },
    ),
    (
        "vm_show_draws_regions_as_cells",
        "bios",
        "vm mmap 8192; w $+4096 1; show",
        |out, code| {
            let want = [
                "mmap(8192) = 0x40000000",
                "w 0x40001000 = 1",
                "show: 3 regions, numvp=11 numpp=1 (# present, + partly present, . reserved, x guard)",
                "  0x000040000000-0x000040002000 mmap   rw          2 pages [.#]",
                "  0x7ffeffff7000-0x7ffeffff8000 guard  none        1 page  [x]",
                "  0x7ffeffff8000-0x7fff00000000 stack  rw          8 pages [........]",
            ];
            exact(out, code, 0, &want)
        },
    ),
    (
        "vm_map_munmap_mprotect_print_their_forms",
        "bios",
        "vm map 8192 rw; map 4096 r at $+0; map 4096 r at $+0 noreplace; map 4096 r at $+0 fixed; \
         map 0 rw; map 4096 rwq; munmap $+0 4096; munmap $+1 4096; mprotect 0x400000 4096 r; \
         mprotect 0x400000 12288 r; map 4096 rwx; w $+0 195; x $+0",
        |out, code| {
            let want = [
                "map(8192, rw) = 0x400000",
                "map(4096, r) = 0x402000",
                "map(4096, r) = error overlap",
                "map(4096, r) = 0x402000",
                "map(0, rw) = error zero_length",
                "map(4096, rwq) = error bad_prot",
                "munmap(0x402000, 4096) = 0",
                "munmap(0x402001, 4096) = error unaligned",
                "mprotect(0x400000, 4096, r) = 0",
                "mprotect(0x400000, 12288, r) = error not_mapped",
                "map(4096, rwx) = 0x402000",
                "w 0x402000 = 195",
                "x 0x402000 returned",
            ];
            exact(out, code, 0, &want)
        },
    ),
    (
        "vm_exec_from_no_exec_page_kills",
        "bios",
        "vm map 4096 rw; w $+0 195; x $+0",
        |out, code| killed(out, code, 2, "page fault at 0x400000 (exec, no-exec)"),
    ),
    (
        "vm_write_to_read_only_page_kills",
        "bios",
        "vm map 4096 r; r $+0; w $+0 1",
        |out, code| killed(out, code, 2, "page fault at 0x400000 (write, read-only)"),
    ),
    (
        "vm_guard_region_kills_and_shows",
        "bios",
        "vm map 4096 guard; show; r $+0",
        |out, code| {
            let drawn = out
                .iter()
                .any(|l| l == "  0x000000400000-0x000000401000 guard  none        1 page  [x]");
            let end = killed(
                &out[out.len().saturating_sub(2)..],
                code,
                0,
                "page fault at 0x400000 (guard page)",
            );
            expect(
                drawn && end.is_ok(),
                "a guard row in show, then a guard-page kill",
                out,
                code,
            )
        },
    ),
    (
        "vm_bad_script_says_why",
        "bios",
        "vm w 12 1",
        |out, code| {
            exact(
                out,
                code,
                1,
                &["vm: parse error: bad address \"12\" (0x… or $+OFF)"],
            )
        },
    ),
];

/// Runs `line` with `cargo run -- --exec` (the built runner) and checks it.
fn exec_case(firmware: &str, line: &str, check: Check) -> Result<(), Failed> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lazuli"));
    command.args(["--exec", line, "--timeout", "120", "--no-disk"]);
    if firmware == "uefi" {
        command.arg("--uefi");
    }
    let out = command.output().map_err(|e| format!("runner: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let code = out.status.code().unwrap_or(-1);
    check(&lines, code).map_err(|why| {
        format!(
            "{why}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into()
    })
}

/// A 64 MiB machine: tasks run out of memory, die with `out of memory` only, the
/// kernel lives (a later task works, `poweroff` follows), and frames come back.
fn pressure_at_64_mib() -> Result<(), Failed> {
    let out = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args([
            "--memory",
            "64",
            "--exec",
            "pressure 2",
            "--timeout",
            "120",
            "--no-disk",
            // Without swap: the old world, where touching past RAM kills.
            "--swap",
            "0",
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let last = lines.last().map(String::as_str).unwrap_or("");
    let kill_lines = || lines.iter().filter(|l| l.contains(" killed: "));
    let ok = last.starts_with("pressure: 2 rounds, ")
        && last.contains(" tasks killed (out of memory), free frames back to ")
        && kill_lines().count() > 0
        && kill_lines().all(|l| l.ends_with("(out of memory)"))
        && out.status.code() == Some(0);
    let code = out.status.code().unwrap_or(-1);
    expect(
        ok,
        "kills by out of memory only, then the pressure summary",
        &lines,
        code,
    )
    .map_err(Failed::from)
}

fn expect(ok: bool, what: &str, out: &[String], code: i32) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(format!(
            "want {what}\n--- got (exit {code}) ---\n{}",
            out.join("\n")
        ))
    }
}

fn exact(out: &[String], code: i32, want_code: i32, want: &[&str]) -> Result<(), String> {
    expect(
        out == want && code == want_code,
        &format!("exit {want_code} and exactly:\n{}", want.join("\n")),
        out,
        code,
    )
}

/// After `skip` lines, the kernel's kill line and `vm: killed: REASON`; exit 1.
fn killed(out: &[String], code: i32, skip: usize, reason: &str) -> Result<(), String> {
    let ok = out.len() == skip + 2
        && out[skip].starts_with("task ")
        && out[skip].ends_with(&format!("(vm) killed: {reason}"))
        && out[skip + 1] == format!("vm: killed: {reason}")
        && code == 1;
    expect(
        ok,
        &format!("the kill line and `vm: killed: {reason}`, exit 1"),
        out,
        code,
    )
}

fn help_lists_every_command(out: &[String], code: i32) -> Result<(), String> {
    let commands = [
        "numvp",
        "numpp",
        "getptsize",
        "mmaptest",
        "vm",
        "free",
        "ps",
        "heap",
        "bench",
        "hello",
        "ls",
        "cat",
        "write",
        "rm",
        "mkdir",
        "sync",
        "disk",
        "cache",
        "clear",
        "help",
        "poweroff",
    ];
    let missing: Vec<_> = commands
        .iter()
        .filter(|c| !out.iter().any(|l| l.split_whitespace().next() == Some(**c)))
        .collect();
    expect(
        missing.is_empty() && code == 0,
        &format!("a line for each command; missing {missing:?}"),
        out,
        code,
    )
}

/// Every one of mmaptest's 17 cases passes, each named, and the summary says so.
fn mmaptest_passes(out: &[String], code: i32) -> Result<(), String> {
    let cases = [
        "mmap(0) returns 0",
        "mmap(-1234) returns 0",
        "mmap(100) returns 0",
        "mmap(4097) returns 0",
        "mmap(4096) returns the old break, page aligned",
        "a second mmap returns 0",
        "mmap raises numvp, not numpp",
        "mmap leaves getptsize unchanged",
        "first touch adds one present page",
        "a written value reads back",
        "re-touching a page is free",
        "a 1 GiB mapping counts only touched pages",
        "fork: child inherits the region and its values",
        "fork: present pages are copied, not shared",
        "fork: untouched pages stay lazy and independent",
        "a child writing past the region is killed",
        "free frames are back to the start value",
    ];
    let missing: Vec<_> = cases
        .iter()
        .filter(|c| !out.iter().any(|l| *l == format!("PASS {c}")))
        .collect();
    let passes = out.iter().filter(|l| l.starts_with("PASS ")).count();
    let last = out.last().map(String::as_str).unwrap_or("");
    expect(
        missing.is_empty()
            && passes == cases.len()
            && last == format!("mmaptest: {} passed, 0 failed", cases.len())
            && code == 0,
        &format!(
            "a PASS line for all 17 cases (missing {missing:?}) and `mmaptest: 17 passed, 0 failed`"
        ),
        out,
        code,
    )
}
