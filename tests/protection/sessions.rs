//! Ctrl-C and the heap as a user meets them at a terminal: sessions played step by
//! step on the real kernel, and piped input through the runner.
use super::{TIMEOUT, TOOLS, expect, heap_numbers, run_runner};
use lazuli::{
    exec::{self, Exit, Outcome, Send, Step},
    qemu::{Firmware, Machine},
};
use libtest_mimic::Failed;

/// Boots lazuli and plays `steps`.
fn session(steps: &[Step]) -> Result<Outcome, Failed> {
    let files = lazuli::kernel("lazuli").ok_or("no lazuli image")?;
    let machine = Machine::headless(files.image(Firmware::Bios).clone(), Firmware::Bios);
    let command = machine.command(TOOLS.get().expect("tools found in main"));
    Ok(exec::scripted(
        command,
        steps,
        Some(TIMEOUT),
        &mut std::io::sink(),
    )?)
}

fn step(expect: &str, send: &str) -> Step {
    Step {
        expect: expect.into(),
        send: Send::Text(send.into()),
    }
}

fn check_session(outcome: &Outcome, ok: bool, what: &str) -> Result<(), Failed> {
    if ok && outcome.unsent == 0 && outcome.exit == Exit::Success {
        return Ok(());
    }
    Err(format!(
        "want {what}\n--- got ({:?}, {} steps unsent) ---\n{}",
        outcome.exit,
        outcome.unsent,
        outcome.text()
    )
    .into())
}

pub fn ctrl_c_sleep() -> Result<(), Failed> {
    let outcome = session(&[
        step("$ ", "vm sleep 100000\n"),
        step("vm sleep 100000\n", "\x03"),
        step("vm: killed: interrupted\n$ ", "numvp\n"),
        step("numvp\n9\n$ ", "poweroff\n"),
    ])?;
    let text = outcome.text();
    let ok = text
        .lines()
        .any(|l| l.starts_with("task ") && l.ends_with(" (vm) killed: interrupted"));
    check_session(&outcome, ok, "the kill line, then numvp works")
}

pub fn ctrl_c_user_loop() -> Result<(), Failed> {
    // jmp $ (eb fe) in user mode: only the timer and Ctrl-C get the CPU back.
    let outcome = session(&[
        step("$ ", "vm map 4096 rwx; w $+0 235; w $+1 254; x $+0\n"),
        step("w 0x400001 = 254\n", "\x03"),
        step(
            "vm: killed: interrupted\n$ ",
            "vm map 4096 rw; w $+0 1; r $+0\n",
        ),
        step("r 0x400000 = 1\n$ ", "poweroff\n"),
    ])?;
    let ok = !outcome.text().contains("x 0x400000 returned");
    check_session(&outcome, ok, "the loop interrupted, the next command runs")
}

pub fn piped_ctrl_c() -> Result<(), Failed> {
    let (out, code) = run_runner(&["--headless"], b"vm sleep 100000\n\x03numvp\npoweroff\n")?;
    let killed = out
        .iter()
        .position(|l| l.ends_with(" (vm) killed: interrupted"));
    let next = out.iter().position(|l| l == "9");
    let ok = matches!((killed, next), (Some(k), Some(n)) if k < n);
    expect(ok && code == 0, "the kill line, then numvp's 9", &out, code)
}

pub fn ctrl_c_at_prompt() -> Result<(), Failed> {
    let (out, code) = run_runner(&["--headless"], b"numv\x03numpp\npoweroff\n")?;
    let ok = out.iter().any(|l| l.ends_with("numv^C")) && out.iter().any(|l| l == "0");
    expect(
        ok && code == 0,
        "`^C` after the partial line, then numpp's 0",
        &out,
        code,
    )
}

pub fn interrupted_status() -> Result<(), Failed> {
    let (out, code) = run_runner(&["--headless"], b"vm sleep 100000\n\x03poweroff\n")?;
    let ok = out.iter().any(|l| l == "vm: killed: interrupted");
    expect(
        ok && code != 0,
        "a non-zero status after Ctrl-C",
        &out,
        code,
    )
}

pub fn heap_and_free_return() -> Result<(), Failed> {
    let killers = [
        "vm r 0x800000000000",
        "vm map 4096 rwx; w $+0 15; w $+1 11; x $+0",
        "vm mmap 8192; w $+0 1; spawn { sleep 100000 }; sleep 100000",
        "vm fork { fork { w 0xffffc00000000000 1 } }; r 0x0",
        "vm mmap --99999999999999999999999999999999999999999",
        "vm map 4096 rwx; w $+0 250; w $+1 244; x $+0",
        "vm r $--9223372036854775808",
        "vm w 0xffffc00000000000 1",
    ];
    // Three rounds, measured after each: the first grows the kernel's tables and
    // queues to the capacity they keep (not a leak); a leak grows every round.
    let mut steps = Vec::new();
    for _ in 0..3 {
        for line in killers {
            steps.push(step("$ ", &format!("{line}\n")));
            if line.contains("sleep 100000") {
                steps.push(step("spawn: child", "\x03"));
            }
        }
        steps.push(step("$ ", "heap\n"));
        steps.push(step("bytes used\n", "free\n"));
        steps.push(step("frames (", ""));
    }
    steps.push(step("$ ", "poweroff\n"));
    let outcome = session(&steps)?;
    let text = outcome.text();
    let heaps: Vec<u64> = text
        .lines()
        .filter_map(heap_numbers)
        .map(|(u, _)| u)
        .collect();
    let frees: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("free: ") && l.contains(" of "))
        .collect();
    let ok = heaps.len() == 3
        && heaps[2].abs_diff(heaps[1]) <= 256
        && frees.len() == 3
        && frees
            .iter()
            .all(|f| f.split(" of ").next() == frees[0].split(" of ").next());
    check_session(
        &outcome,
        ok,
        "heap the same after the second and third rounds (within 256 bytes), free frames always equal",
    )
}
