//! In-QEMU integration tests: boot the real disk images and check what the kernel
//! printed and how it exited.
//!
//! At startup the `ktest` kernel boots under BIOS and UEFI at once and runs its
//! in-kernel cases; each case becomes a trial `FIRMWARE::ktest::CASE`. The other
//! trials boot `lazuli` (directly, or through the runner binary for `--exec`).
//! Every boot is headless TCG with a timeout; QEMU's exit status must be the
//! kernel's own code (33 success, 35 failure), never a kill or a crash.

use lazuli::{
    exec::{self, Exit, Outcome, Send, Step},
    ktest::{self, Report},
    protocol::{KTEST, SHELL},
    qemu::{Firmware, Machine, Tools},
    tools,
};
use libtest_mimic::{Arguments, Failed, Trial};
use std::{io, process::Command, sync::OnceLock, thread, time::Duration};

/// How long one boot may take before it counts as hung.
const BOOT_TIMEOUT: Duration = Duration::from_secs(120);
/// Both firmwares, UEFI first: its boots are the slow ones, so they start early.
const FIRMWARES: [Firmware; 2] = [Firmware::Uefi, Firmware::Bios];

static TOOLS: OnceLock<Tools> = OnceLock::new();

fn main() {
    let args = Arguments::from_args();
    match tools::ensure(true) {
        Ok(found) => TOOLS.set(found).expect("set once"),
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(1);
        }
    }
    let suites = thread::scope(|scope| {
        let boots = FIRMWARES.map(|fw| scope.spawn(move || (fw, run_ktest(fw))));
        boots.map(|boot| boot.join().expect("ktest boot thread"))
    });
    let mut trials = Vec::new();
    for firmware in FIRMWARES {
        let fw = firmware.name();
        trials.push(Trial::test(format!("{fw}::boots_to_prompt"), move || {
            boots_to_prompt(firmware)
        }));
        trials.push(Trial::test(
            format!("{fw}::exec_hello_prints_and_exits_zero"),
            move || exec_hello_prints_and_exits_zero(firmware),
        ));
    }
    trials.push(Trial::test(
        "bios::unknown_command_fails",
        unknown_command_fails,
    ));
    for firmware in FIRMWARES {
        trials.push(Trial::test(
            format!("{}::kernel_panic_is_reported", firmware.name()),
            move || kernel_panic_is_reported(firmware),
        ));
    }
    trials.push(Trial::test(
        "bios::kernel_fault_outside_tasks_panics_with_details",
        kernel_fault_outside_tasks_panics,
    ));
    trials.push(Trial::test(
        "bios::kernel_fault_with_a_lock_held_for_a_task_panics_instead_of_hanging",
        kernel_fault_with_a_lock_held_panics,
    ));
    for (firmware, suite) in suites {
        trials.extend(ktest_trials(firmware, suite));
    }
    libtest_mimic::run(&args, trials).exit();
}

/// Boots `kernel` headless under `firmware`, playing `steps`.
fn boot(kernel: &str, firmware: Firmware, steps: &[Step]) -> Result<Outcome, Failed> {
    boot_with_disk(kernel, firmware, None, None, steps)
}

/// [`boot`] with `disk` attached as the virtio data disk and `swap` as the swap disk.
fn boot_with_disk(
    kernel: &str,
    firmware: Firmware,
    disk: Option<std::path::PathBuf>,
    swap: Option<&lazuli::swap_disk::SwapDisk>,
    steps: &[Step],
) -> Result<Outcome, Failed> {
    let files = lazuli::kernel(kernel).ok_or(format!("no image for kernel {kernel}"))?;
    let mut machine = Machine::headless(files.image(firmware).clone(), firmware);
    machine.data_disk = disk;
    machine.swap_disk = swap.map(|s| s.path().to_path_buf());
    let command = machine.command(TOOLS.get().expect("tools found in main"));
    Ok(exec::scripted(
        command,
        steps,
        Some(BOOT_TIMEOUT),
        &mut io::sink(),
    )?)
}

/// Runs the runner binary (what `cargo run --` runs) with `args`.
fn runner(args: &[&str]) -> Result<Outcome, Failed> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lazuli"));
    command.args(args).args(["--timeout", "120", "--no-disk"]);
    let timeout = BOOT_TIMEOUT + Duration::from_secs(30);
    Ok(exec::scripted(
        command,
        &[],
        Some(timeout),
        &mut io::sink(),
    )?)
}

/// Types `line` into the shell once it is ready.
fn type_line(expect: &str, line: &str) -> Step {
    Step {
        expect: expect.into(),
        send: Send::Text(format!("{line}\n")),
    }
}

/// A failure that shows what happened: `what`, the exit, and the output's tail.
fn failure(what: &str, outcome: &Outcome) -> Failed {
    let text = outcome.text();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    let mut message = format!(
        "{what}\n  exit: {} after {:.1} s\n--- output (last 40 lines) ---\n{tail}",
        outcome.exit,
        outcome.elapsed.as_secs_f64()
    );
    if !outcome.stderr.trim().is_empty() {
        message += &format!("\n--- stderr ---\n{}", outcome.stderr.trim_end());
    }
    message.into()
}

/// The runner's own exit code (0 success, 1 failure); None if it was killed.
fn runner_code(outcome: &Outcome) -> Option<i32> {
    match outcome.exit {
        Exit::Status(code) => Some(code),
        Exit::Success => Some(33),
        Exit::Failure => Some(35),
        Exit::Signal(_) | Exit::TimedOut(_) => None,
    }
}

fn boots_to_prompt(firmware: Firmware) -> Result<(), Failed> {
    let outcome = boot("lazuli", firmware, &[type_line(SHELL.ready, "poweroff")])?;
    let text = outcome.text();
    if outcome.unsent > 0 {
        return Err(failure("never showed the prompt `$ `", &outcome));
    }
    let before_prompt = &text[..text.find(SHELL.ready).unwrap_or(0)];
    if !before_prompt.lines().any(|l| l.starts_with("lazuli ")) {
        return Err(failure(
            "no banner line `lazuli ...` before the prompt",
            &outcome,
        ));
    }
    if outcome.exit != Exit::Success {
        return Err(failure(
            "`poweroff` after boot did not exit with success",
            &outcome,
        ));
    }
    Ok(())
}

fn exec_hello_prints_and_exits_zero(firmware: Firmware) -> Result<(), Failed> {
    let mut args = vec!["--exec", "hello"];
    if firmware == Firmware::Uefi {
        args.push("--uefi");
    }
    let outcome = runner(&args)?;
    let text = outcome.text();
    if text.lines().next() != Some("hello from lazuli") {
        return Err(failure(
            "--exec output does not start with `hello from lazuli` (boot noise or echo kept?)",
            &outcome,
        ));
    }
    if runner_code(&outcome) != Some(0) {
        return Err(failure("runner did not exit 0", &outcome));
    }
    Ok(())
}

fn unknown_command_fails() -> Result<(), Failed> {
    let outcome = runner(&["--exec", "no-such-command"])?;
    let expected = "unknown command: no-such-command (try help)";
    if !outcome.text().lines().any(|l| l == expected) {
        return Err(failure(&format!("no line `{expected}`"), &outcome));
    }
    if runner_code(&outcome) != Some(1) {
        return Err(failure(
            "runner should exit 1 for a failed command",
            &outcome,
        ));
    }
    Ok(())
}

fn kernel_fault_outside_tasks_panics() -> Result<(), Failed> {
    let outcome = boot("ktest", Firmware::Bios, &[type_line(KTEST.ready, "fault")])?;
    let want =
        "KERNEL PANIC: kernel page fault at 0xdead0000 (read, not mapped) outside any task, rip 0x";
    if !outcome.text().lines().any(|l| l.starts_with(want)) {
        return Err(failure(&format!("no line starting `{want}`"), &outcome));
    }
    if outcome.exit != Exit::Failure {
        return Err(failure(
            "a kernel fault must exit with the failure code (35)",
            &outcome,
        ));
    }
    Ok(())
}

/// Kernel code running for a task (the ktest task, in an API-like call) faults while
/// it holds the address-space lock: a kernel bug, so a panic with the report — not
/// a task kill, and not a hang on the lock (the boot's timeout would catch that).
fn kernel_fault_with_a_lock_held_panics() -> Result<(), Failed> {
    let outcome = boot(
        "ktest",
        Firmware::Bios,
        &[type_line(KTEST.ready, "lockfault")],
    )?;
    let want = "KERNEL PANIC: kernel page fault at 0xdead0000 (read, not mapped) in kernel code for task 1, rip 0x";
    if !outcome.text().lines().any(|l| l.starts_with(want)) {
        return Err(failure(&format!("no line starting `{want}`"), &outcome));
    }
    if outcome.text().contains("killed") || outcome.exit != Exit::Failure {
        return Err(failure(
            "a kernel fault must panic (exit code 35), never kill the task",
            &outcome,
        ));
    }
    Ok(())
}

fn kernel_panic_is_reported(firmware: Firmware) -> Result<(), Failed> {
    let outcome = boot("ktest", firmware, &[type_line(KTEST.ready, "panic")])?;
    let prefix = "KERNEL PANIC: deliberate panic from ktest at ";
    let text = outcome.text();
    let located = text
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .any(|place| {
            place
                .rsplit_once(':')
                .is_some_and(|(_, n)| n.parse::<u32>().is_ok())
        });
    if !located {
        return Err(failure(&format!("no line `{prefix}FILE:LINE`"), &outcome));
    }
    if outcome.exit != Exit::Failure {
        return Err(failure(
            "a panic must exit with the failure code (35)",
            &outcome,
        ));
    }
    Ok(())
}

/// The swap disk ktest boots with (its swap cases check this size).
const SWAP_MIB: u64 = 16;

/// One ktest boot's result: the report, or why the boot itself broke.
type Suite = Result<(Report, Outcome), String>;

/// Boots `ktest` under `firmware` and has it run every case.
/// Boots ktest with a scratch copy of the data disk (its storage cases use it) and
/// a 16 MiB swap disk.
fn run_ktest(firmware: Firmware) -> Suite {
    let swap = lazuli::swap_disk::SwapDisk::fresh(&std::env::temp_dir(), SWAP_MIB)?;
    let disk = std::env::temp_dir().join(format!(
        "lazuli-ktest-{}-{}.img",
        std::process::id(),
        firmware.name()
    ));
    lazuli::data_disk::copy_sparse(std::path::Path::new(lazuli::DATA_DISK), &disk)
        .map_err(|e| format!("scratch disk {}: {e}", disk.display()))?;
    let outcome = boot_with_disk(
        "ktest",
        firmware,
        Some(disk.clone()),
        swap.as_ref(),
        &[type_line(KTEST.ready, "run")],
    );
    let _ = std::fs::remove_file(&disk);
    let outcome = outcome.map_err(|e| e.message().unwrap_or("boot failed").to_string())?;
    Ok((ktest::parse(&outcome.text()), outcome))
}

/// A trial per in-kernel case, plus `FIRMWARE::ktest::all_cases_reported`.
fn ktest_trials(firmware: Firmware, suite: Suite) -> Vec<Trial> {
    let prefix = format!("{}::ktest", firmware.name());
    let (report, outcome) = match suite {
        Ok(suite) => suite,
        Err(message) => {
            return vec![Trial::test(
                format!("{prefix}::all_cases_reported"),
                move || Err(message.into()),
            )];
        }
    };
    let mut trials: Vec<Trial> = report
        .cases
        .iter()
        .map(|case| {
            let result = case.result.clone();
            Trial::test(format!("{prefix}::{}", case.name), move || Ok(result?))
        })
        .collect();
    trials.push(Trial::test(
        format!("{prefix}::all_cases_reported"),
        move || {
            if outcome.unsent > 0 {
                return Err(failure("never printed `ktest: ready`", &outcome));
            }
            if let Err(why) = report.check_summary() {
                return Err(failure(&why, &outcome));
            }
            if outcome.exit != Exit::Success {
                let why = format!("{} case(s) failed, or the exit was wrong", report.failed());
                return Err(failure(&why, &outcome));
            }
            Ok(())
        },
    ));
    trials
}
