//! `cargo run`: boots a lazuli disk image in QEMU (see `--help`, and the README's
//! runner section).
//!
//! Modes, in order of precedence:
//! - `--images DIR` copies the disk images out and boots nothing;
//! - `--exec LINE` boots headless, types LINE then `poweroff`, prints only LINE's
//!   output (see `protocol::ExecView`) and exits 0 iff the kernel reported success;
//! - otherwise an interactive boot: a QEMU window where a display exists, else (or
//!   with `--headless`) the terminal is the serial console. When stdin is not a
//!   terminal (piped input), the runner holds it back until the kernel shows its
//!   first prompt, so no byte is lost while firmware and kernel start.
//!
//! Exit status: 0 iff QEMU exited 33 (the kernel's success code), 1 otherwise,
//! 2 for bad options.

use lazuli::{
    KernelFiles,
    cli::{self, Options},
    exec::{self, Exit, Send, Step},
    protocol::{self, ExecView},
    qemu::{Console, Display, Firmware, GDB_PORT, Machine},
    tools,
};
use std::{
    fs,
    io::{self, IsTerminal, Write},
    path::Path,
    process::ExitCode,
};

fn main() -> ExitCode {
    let options = match cli::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("lazuli: {message}");
            return ExitCode::from(2);
        }
    };
    if options.help {
        println!("{}", cli::USAGE);
        return ExitCode::SUCCESS;
    }
    match run(&options) {
        Ok(exit) => ExitCode::from(exit.runner_code() as u8),
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Does what `options` ask; Err is a message for the user.
fn run(options: &Options) -> Result<Exit, String> {
    let Some(files) = lazuli::kernel(&options.kernel) else {
        return Err(format!(
            "lazuli: no kernel named {:?} (have: {})",
            options.kernel,
            lazuli::kernel_names().join(", ")
        ));
    };
    if let Some(dir) = &options.images {
        write_images(&files, dir)?;
        return Ok(Exit::Success);
    }
    let firmware = if options.uefi {
        Firmware::Uefi
    } else {
        Firmware::Bios
    };
    // Before QEMU (or its installation): a wrong --disk is the first thing said.
    let data_disk = lazuli::data_disk::resolve(&options.disk)?;
    // Made for this boot, removed when it ends (the guard lives to the end).
    let swap = lazuli::swap_disk::SwapDisk::fresh(&std::env::temp_dir(), options.swap_mib)?;
    let tools = tools::ensure(firmware == Firmware::Uefi)?;
    let headless = options.headless || options.exec.is_some();
    let machine = Machine {
        image: files.image(firmware).clone(),
        firmware,
        display: if headless {
            Display::Headless
        } else {
            Display::detect()
        },
        accel: options.accel,
        memory_mib: options.memory_mib,
        gdb: options.gdb,
        console: if options.exec.is_none() && io::stdin().is_terminal() {
            Console::Terminal
        } else {
            Console::Plain
        },
        data_disk,
        swap_disk: swap.as_ref().map(|s| s.path().to_path_buf()),
    };
    if options.gdb {
        print_gdb_help(&files);
    }
    let command = machine.command(&tools);
    let protocol = protocol::protocol(files.name);
    let fail = |e: io::Error| format!("lazuli: cannot run {}: {e}", tools.qemu.display());
    let exit = if let Some(line) = &options.exec {
        exec_line(command, protocol, line, options)?
    } else if !io::stdin().is_terminal() {
        let steps = [Step {
            expect: protocol.ready.into(),
            send: Send::OurStdin,
        }];
        let outcome =
            exec::scripted(command, &steps, options.timeout(), &mut io::stdout()).map_err(fail)?;
        eprint!("{}", outcome.stderr);
        outcome.exit
    } else {
        let how = match machine.display {
            Display::Window => "in a QEMU window; serial on this terminal",
            Display::Headless => "headless; this terminal is the console",
        };
        eprintln!(
            "lazuli: booting {} ({}, {how}); `poweroff` or Ctrl-A X ends it (Ctrl-C goes to lazuli)",
            machine.image.display(),
            firmware.name()
        );
        exec::interactive(command, options.timeout()).map_err(fail)?
    };
    if !matches!(exit, Exit::Success | Exit::Failure) {
        eprintln!("lazuli: {exit}");
    }
    Ok(exit)
}

/// `--exec`: types `line` (then the exit command) and prints only its output.
/// A kernel that exits before `line` could be typed counts as a failure.
fn exec_line(
    command: std::process::Command,
    protocol: protocol::Protocol,
    line: &str,
    options: &Options,
) -> Result<Exit, String> {
    let mut view = ViewWriter {
        view: ExecView::new(protocol),
        out: io::stdout(),
    };
    let steps = protocol.exec_steps(line);
    let outcome = exec::scripted(command, &steps, options.timeout(), &mut view)
        .map_err(|e| format!("lazuli: cannot run QEMU: {e}"))?;
    let rest = view.view.finish();
    let _ = view.out.write_all(&rest).and_then(|()| view.out.flush());
    eprint!("{}", outcome.stderr);
    if !view.view.reached_ready() {
        eprintln!("lazuli: the kernel never showed {:?}", protocol.ready);
    }
    if outcome.unsent == steps.len() && outcome.exit == Exit::Success {
        // It powered off cleanly, but LINE never ran: that is not LINE succeeding.
        eprintln!("lazuli: the kernel exited before {line:?} was typed");
        return Ok(Exit::Failure);
    }
    Ok(outcome.exit)
}

/// Passes output through an [`ExecView`] to stdout.
struct ViewWriter {
    view: ExecView,
    out: io::Stdout,
}

impl Write for ViewWriter {
    fn write(&mut self, chunk: &[u8]) -> io::Result<usize> {
        let shown = self.view.push(chunk);
        self.out.write_all(&shown)?;
        Ok(chunk.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// `--gdb`: how to attach, with the kernel's symbols at their load offset.
fn print_gdb_help(files: &KernelFiles) {
    let offset =
        lazuli::gdb::load_offset(&files.elf).map_or("OFFSET".into(), |o| format!("{o:#x}"));
    eprintln!(
        "lazuli: QEMU starts paused and waits for GDB on localhost:{GDB_PORT}; in another terminal:\n  \
         gdb -ex 'target remote :{GDB_PORT}' -ex 'add-symbol-file {} -o {offset}' \
         -ex 'hbreak _start' -ex continue",
        files.elf.display()
    );
    if offset == "OFFSET" {
        eprintln!(
            "OFFSET is where the bootloader put the kernel; the kernel's BootloaderConfig does \
             not fix it (see the README's GDB section)"
        );
    }
}

/// `--images DIR`: copies the kernel's two boot images and the data-disk image
/// (made from `disk/`) into DIR and prints their paths.
fn write_images(files: &KernelFiles, dir: &Path) -> Result<(), String> {
    fs::create_dir_all(dir).map_err(|e| format!("lazuli: cannot create {}: {e}", dir.display()))?;
    let cannot = |to: &Path, e: io::Error| format!("lazuli: cannot write {}: {e}", to.display());
    for firmware in [Firmware::Bios, Firmware::Uefi] {
        let to = dir.join(format!("{}-{}.img", files.name, firmware.name()));
        fs::copy(files.image(firmware), &to).map_err(|e| cannot(&to, e))?;
        println!("{}", to.display());
    }
    let to = dir.join("lazuli-disk.img");
    lazuli::data_disk::copy_sparse(Path::new(lazuli::DATA_DISK), &to)
        .map_err(|e| cannot(&to, e))?;
    println!("{}", to.display());
    Ok(())
}
