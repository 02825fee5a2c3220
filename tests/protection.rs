//! CONTRACTS.md section 7 as users meet it: whatever is typed at the shell, the
//! kernel stays up, the next command works, and heap and frames come back. Lines run
//! through the runner (`--exec`, and piped sessions like `printf … | cargo run`), and
//! interactive sessions are played step by step on the real kernel (Ctrl-C sent
//! while a command sleeps or loops in user mode).
use lazuli::{qemu::Tools, tools};
use libtest_mimic::{Arguments, Failed, Trial};
use std::{
    io::Write,
    process::{Command, Stdio},
    sync::OnceLock,
    time::Duration,
};

#[path = "protection/sessions.rs"]
mod sessions;

const TIMEOUT: Duration = Duration::from_secs(150);
static TOOLS: OnceLock<Tools> = OnceLock::new();

/// One `--exec` line and the exact lines and exit code it must give (`KILL` in a
/// wanted line stands for the kernel's `task N (vm) killed: ` prefix).
struct ExecCase {
    name: &'static str,
    line: &'static str,
    want: &'static [&'static str],
    code: i32,
}

const KILL: &str = "KILL ";

/// A trial that is not one `--exec` line.
type Session = fn() -> Result<(), Failed>;

const EXEC_CASES: &[ExecCase] = &[
    ExecCase {
        name: "a_read_past_user_end_kills_with_not_user_memory",
        line: "vm r 0x800000000000",
        want: &[
            "KILL page fault at 0x800000000000 (read, not user memory)",
            "vm: killed: page fault at 0x800000000000 (read, not user memory)",
        ],
        code: 1,
    },
    ExecCase {
        name: "the_kernel_heap_can_be_neither_read_nor_written",
        line: "vm w 0xffffc00000000000 1",
        want: &[
            "KILL page fault at 0xffffc00000000000 (write, not user memory)",
            "vm: killed: page fault at 0xffffc00000000000 (write, not user memory)",
        ],
        code: 1,
    },
    ExecCase {
        name: "cli_hlt_in_user_mode_is_a_general_protection_fault",
        line: "vm map 4096 rwx; w $+0 250; w $+1 244; x $+0",
        want: &[
            "map(4096, rwx) = 0x400000",
            "w 0x400000 = 250",
            "w 0x400001 = 244",
            "KILL general protection fault at 0x400000",
            "vm: killed: general protection fault at 0x400000",
        ],
        code: 1,
    },
    ExecCase {
        name: "ud2_in_user_mode_is_an_invalid_opcode",
        line: "vm map 4096 rwx; w $+0 15; w $+1 11; x $+0",
        want: &[
            "map(4096, rwx) = 0x400000",
            "w 0x400000 = 15",
            "w 0x400001 = 11",
            "KILL invalid opcode at 0x400000",
            "vm: killed: invalid opcode at 0x400000",
        ],
        code: 1,
    },
    ExecCase {
        name: "a_divide_by_zero_in_user_mode_is_a_divide_error_at_the_div",
        line: "vm map 4096 rwx; w $+0 49; w $+1 201; w $+2 247; w $+3 241; x $+0",
        want: &[
            "map(4096, rwx) = 0x400000",
            "w 0x400000 = 49",
            "w 0x400001 = 201",
            "w 0x400002 = 247",
            "w 0x400003 = 241",
            "KILL divide error at 0x400002",
            "vm: killed: divide error at 0x400002",
        ],
        code: 1,
    },
    ExecCase {
        // movabs al, [0xffff800000000000] (a0 + imm64), from ring 3.
        name: "a_user_mode_read_of_the_kernel_half_is_not_user_memory",
        line: "vm map 4096 rwx; w $+0 160; w $+1 0; w $+2 0; w $+3 0; w $+4 0; w $+5 0; \
               w $+6 128; w $+7 255; w $+8 255; x $+0",
        want: &[
            "map(4096, rwx) = 0x400000",
            "w 0x400000 = 160",
            "w 0x400001 = 0",
            "w 0x400002 = 0",
            "w 0x400003 = 0",
            "w 0x400004 = 0",
            "w 0x400005 = 0",
            "w 0x400006 = 128",
            "w 0x400007 = 255",
            "w 0x400008 = 255",
            "KILL page fault at 0xffff800000000000 (read, not user memory)",
            "vm: killed: page fault at 0xffff800000000000 (read, not user memory)",
        ],
        code: 1,
    },
    ExecCase {
        name: "a_plain_ret_in_user_mode_returns",
        line: "vm map 4096 rwx; w $+0 195; x $+0; x $+0",
        want: &[
            "map(4096, rwx) = 0x400000",
            "w 0x400000 = 195",
            "x 0x400000 returned",
            "x 0x400000 returned",
        ],
        code: 0,
    },
    ExecCase {
        name: "an_offset_that_does_not_fit_is_a_parse_error",
        line: "vm r $--9223372036854775808",
        want: &["vm: parse error: bad offset \"$--9223372036854775808\""],
        code: 1,
    },
    ExecCase {
        name: "a_number_that_does_not_fit_is_a_parse_error",
        line: "vm mmap --170141183460469231731687303715884105728",
        want: &["vm: parse error: bad number \"--170141183460469231731687303715884105728\""],
        code: 1,
    },
    ExecCase {
        name: "a_huge_number_is_a_parse_error_not_a_panic",
        line: "vm mmap 170141183460469231731687303715884105728",
        want: &["vm: parse error: number out of range \"170141183460469231731687303715884105728\""],
        code: 1,
    },
    ExecCase {
        name: "unbalanced_braces_are_a_parse_error_and_nothing_runs",
        line: "vm mmap 4096; fork { stat",
        want: &["vm: parse error: fork block has no '}'"],
        code: 1,
    },
    ExecCase {
        name: "an_unknown_command_is_a_parse_error",
        line: "vm stat; jump 1",
        want: &["vm: parse error: unknown command \"jump\""],
        code: 1,
    },
    ExecCase {
        name: "a_missing_argument_is_a_parse_error",
        line: "vm w $+0",
        want: &["vm: parse error: w takes 2 argument(s), got 1"],
        code: 1,
    },
    ExecCase {
        name: "spawn_wait_and_sleep_print_their_forms",
        line: "vm mmap 4096; w $+0 5; spawn { sleep 20; r $+0 }; wait; wait; sleep 1",
        want: &[
            "mmap(4096) = 0x40000000",
            "w 0x40000000 = 5",
            "spawn: child 3",
            "sleep(20)",
            "r 0x40000000 = 5",
            "wait: child exited 0",
            "wait: no child",
            "sleep(1)",
        ],
        code: 0,
    },
    ExecCase {
        name: "wait_reports_a_killed_child",
        line: "vm spawn { r 0x10 }; wait",
        want: &[
            "spawn: child 3",
            "KILL page fault at 0x10 (read, not mapped)",
            "wait: child killed: page fault at 0x10 (read, not mapped)",
        ],
        code: 0,
    },
    ExecCase {
        name: "fill_and_check_agree_and_a_changed_page_is_a_mismatch",
        line: "vm map 12288 rw; fill $+0 12288 7; check $+0 12288 7; w $+4096 0; \
               check $+0 12288 7; check $+0 12288 8; fill $+1 4096 7",
        want: &[
            "map(12288, rw) = 0x400000",
            "fill(0x400000, 12288, 7) = 3 pages",
            "check(0x400000, 12288, 7) = 3 pages ok",
            "w 0x401000 = 0",
            "check(0x400000, 12288, 7) = mismatch at 0x401000",
            "check(0x400000, 12288, 8) = mismatch at 0x400000",
            "fill(0x400001, 4096, 7) = error unaligned",
        ],
        code: 0,
    },
    ExecCase {
        name: "fill_at_user_end_kills_with_not_user_memory",
        line: "vm fill 0x800000000000 4096 1",
        want: &[
            "KILL page fault at 0x800000000000 (write, not user memory)",
            "vm: killed: page fault at 0x800000000000 (write, not user memory)",
        ],
        code: 1,
    },
    ExecCase {
        name: "the_top_user_page_is_never_mapped_and_fill_stops_there",
        line: "vm map 4096 rwx at 0x7ffffffff000 fixed; map 8192 rw at 0x7fffffffd000 fixed; \
               fill $+0 12288 1",
        want: &[
            "map(4096, rwx) = error out_of_range",
            "map(8192, rw) = 0x7fffffffd000",
            "KILL page fault at 0x7ffffffff000 (write, not mapped)",
            "vm: killed: page fault at 0x7ffffffff000 (write, not mapped)",
        ],
        code: 1,
    },
];

fn main() {
    let args = Arguments::from_args();
    match tools::ensure(false) {
        Ok(found) => TOOLS.set(found).expect("set once"),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    }
    let mut trials: Vec<Trial> = EXEC_CASES
        .iter()
        .map(|case| Trial::test(format!("bios::{}", case.name), move || exec_case(case)))
        .collect();
    let more: [(&str, Session); 11] = [
        ("nesting_deeper_than_32_is_a_parse_error", too_deep),
        ("thirty_nested_forks_run", thirty_deep),
        ("the_fill_pattern_is_the_documented_rule", pattern_bytes),
        ("a_20_kb_line_is_refused_and_the_shell_goes_on", long_line),
        ("heap_prints_its_form", heap_form),
        ("ctrl_c_ends_a_sleeping_command", sessions::ctrl_c_sleep),
        (
            "ctrl_c_ends_an_endless_loop_in_user_mode",
            sessions::ctrl_c_user_loop,
        ),
        ("piped_line_ctrl_c_next_runs_next", sessions::piped_ctrl_c),
        (
            "ctrl_c_at_the_prompt_drops_the_line",
            sessions::ctrl_c_at_prompt,
        ),
        ("an_interrupted_command_fails", sessions::interrupted_status),
        (
            "heap_and_free_return_after_kills",
            sessions::heap_and_free_return,
        ),
    ];
    trials.extend(
        more.into_iter()
            .map(|(name, f)| Trial::test(format!("bios::{name}"), f)),
    );
    libtest_mimic::run(&args, trials).exit();
}

/// Runs the runner binary with `args` and stdin `input`; its lines and exit code.
fn run_runner(args: &[&str], input: &[u8]) -> Result<(Vec<String>, i32), Failed> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lazuli"))
        .args(args)
        .args(["--timeout", "120", "--no-disk"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("piped").write_all(input)?;
    let out = child.wait_with_output()?;
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    let lines = text.lines().map(str::to_string).collect();
    Ok((lines, out.status.code().unwrap_or(-1)))
}

/// `--exec LINE`.
fn exec(line: &str) -> Result<(Vec<String>, i32), Failed> {
    run_runner(&["--exec", line], b"")
}

fn exec_case(case: &ExecCase) -> Result<(), Failed> {
    let (out, code) = exec(case.line)?;
    let matches = out.len() == case.want.len()
        && out
            .iter()
            .zip(case.want)
            .all(|(got, want)| match want.strip_prefix(KILL) {
                Some(reason) => {
                    got.starts_with("task ") && got.ends_with(&format!(") killed: {reason}"))
                }
                None => got == want,
            });
    expect(
        matches && code == case.code,
        &format!("exit {} and {:#?}", case.code, case.want),
        &out,
        code,
    )
}

fn expect(ok: bool, what: &str, out: &[String], code: i32) -> Result<(), Failed> {
    if ok {
        return Ok(());
    }
    Err(format!("want {what}\n--- got (exit {code}) ---\n{}", out.join("\n")).into())
}

/// `fork { ` × n, the body, ` }` × n.
fn nested(n: usize, body: &str) -> String {
    format!(
        "vm mmap 4096; w $+0 7; {}{body}{}",
        "fork { ".repeat(n),
        " }".repeat(n)
    )
}

fn too_deep() -> Result<(), Failed> {
    // 33 levels, and 3000 written compactly (`fork{` × 3000 fits in a line).
    let compact = format!("vm {}", "fork{".repeat(3000));
    for line in [nested(33, "stat"), compact] {
        let (out, code) = exec(&line)?;
        let want = ["vm: parse error: nesting deeper than 32 levels"];
        expect(out == want && code == 1, &format!("{want:?}"), &out, code)?;
    }
    // 3000 levels written out in full are longer than a line may be.
    let (out, code) = exec(&nested(3000, "stat"))?;
    let want = ["shell: line too long (16384 bytes at most)"];
    expect(out == want && code == 1, &format!("{want:?}"), &out, code)
}

fn thirty_deep() -> Result<(), Failed> {
    let (out, code) = exec(&nested(30, "r $+0"))?;
    let mut want = vec![
        "mmap(4096) = 0x40000000".to_string(),
        "w 0x40000000 = 7".into(),
    ];
    want.push("r 0x40000000 = 7".into());
    want.extend((0..30).map(|_| "fork: child exited 0".to_string()));
    expect(
        out == want && code == 0,
        "the innermost read, then 30 fork lines",
        &out,
        code,
    )
}

/// Page i holds `SEED × 0x9E3779B97F4A7C15 + i` (little-endian) at offsets 0 and
/// 4088: computed here, read back byte by byte from the kernel.
fn pattern_bytes() -> Result<(), Failed> {
    let seed: u64 = 0xfeed;
    let mut line = format!("vm map 8192 rw; fill $+0 8192 {seed}");
    let offsets = [0usize, 4088, 4096, 4096 + 4088];
    for at in offsets {
        for b in 0..8 {
            line.push_str(&format!("; r $+{}", at + b));
        }
    }
    let (out, code) = exec(&line)?;
    let mut want = vec![
        "map(8192, rw) = 0x400000".to_string(),
        format!("fill(0x400000, 8192, {seed}) = 2 pages"),
    ];
    for at in offsets {
        let value = seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add((at / 4096) as u64);
        for (b, byte) in value.to_le_bytes().iter().enumerate() {
            want.push(format!("r {:#x} = {byte}", 0x400000 + at + b));
        }
    }
    expect(out == want && code == 0, "the pattern's bytes", &out, code)
}

fn long_line() -> Result<(), Failed> {
    let line = format!("vm {}", "stat; ".repeat(20_000 / 6));
    let mut input = line.into_bytes();
    input.extend_from_slice(b"\nnumvp\npoweroff\n");
    let (out, code) = run_runner(&["--headless"], &input)?;
    let refused = out
        .iter()
        .any(|l| l.ends_with("shell: line too long (16384 bytes at most)"));
    let went_on = out.iter().any(|l| l == "$ 9" || l == "9");
    let no_stat = !out.iter().any(|l| l.starts_with("stat: "));
    expect(
        refused && went_on && no_stat && code == 0,
        "the refusal, nothing run, then numvp's 9",
        &out,
        code,
    )
}

/// The numbers of `heap: U of T bytes used`.
fn heap_numbers(line: &str) -> Option<(u64, u64)> {
    let rest = line.split("heap: ").nth(1)?.strip_suffix(" bytes used")?;
    let (used, total) = rest.split_once(" of ")?;
    Some((used.parse().ok()?, total.parse().ok()?))
}

fn heap_form() -> Result<(), Failed> {
    let (out, code) = exec("heap")?;
    let ok = out.len() == 1 && heap_numbers(&out[0]).is_some_and(|(u, t)| u > 0 && u < t);
    expect(
        ok && code == 0,
        "one line `heap: U of T bytes used`",
        &out,
        code,
    )
}
