//! The QEMU command line for one boot of a lazuli disk image.
//!
//! Every machine gets the serial console on stdio, `-no-reboot` (a triple fault ends
//! the run instead of looping) and the `isa-debug-exit` device the kernel uses to
//! report success or failure. This module only builds the command; [`crate::exec`]
//! runs it and [`crate::tools`] finds the programs and firmware it names.

use std::{ffi::OsString, path::PathBuf, process::Command};

/// I/O port of the isa-debug-exit device; the kernel writes its exit code here.
pub const DEBUG_EXIT_PORT: u16 = 0xf4;

/// The port GDB attaches to when QEMU runs with `-s`.
pub const GDB_PORT: u16 = 1234;

/// Which firmware boots the disk image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default: boots the BIOS image.
    Bios,
    /// OVMF from flash: boots the UEFI image.
    Uefi,
}

impl Firmware {
    /// Lower-case name, used in test names and messages.
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }
}

/// Where the guest's screen goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A QEMU window for the framebuffer; serial still on this terminal.
    Window,
    /// No window and no monitor: the terminal is the console (serial only).
    Headless,
}

impl Display {
    /// A window where a graphical session exists ($DISPLAY or $WAYLAND_DISPLAY set),
    /// headless otherwise.
    pub fn detect() -> Display {
        let set = |var| std::env::var_os(var).is_some_and(|v| !v.is_empty());
        if set("DISPLAY") || set("WAYLAND_DISPLAY") {
            Display::Window
        } else {
            Display::Headless
        }
    }
}

/// The CPU emulation QEMU uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    /// Pure emulation: slow-ish, works everywhere. The default.
    Tcg,
    /// Hardware virtualisation through /dev/kvm; opt-in.
    Kvm,
}

impl Accel {
    /// The value for QEMU's `-accel`.
    pub fn name(self) -> &'static str {
        match self {
            Accel::Tcg => "tcg",
            Accel::Kvm => "kvm",
        }
    }
}

/// The programs and firmware files a boot needs.
#[derive(Debug, Clone)]
pub struct Tools {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// OVMF's code and variable-store flash images; needed only for UEFI boots.
    pub ovmf: Option<Ovmf>,
}

/// OVMF split into its read-only code and its (copied-on-write) variable store.
#[derive(Debug, Clone)]
pub struct Ovmf {
    /// OVMF_CODE: the firmware, mapped read-only.
    pub code: PathBuf,
    /// OVMF_VARS: the NVRAM template; QEMU writes to a throw-away snapshot of it.
    pub vars: PathBuf,
}

/// One virtual machine: what to boot and how.
#[derive(Debug, Clone)]
pub struct Machine {
    /// The disk image to boot.
    pub image: PathBuf,
    pub firmware: Firmware,
    pub display: Display,
    pub accel: Accel,
    /// Guest RAM in MiB.
    pub memory_mib: u32,
    /// Wait for GDB on [`GDB_PORT`] before running the first instruction.
    pub gdb: bool,
    /// How stdio carries the serial console.
    pub console: Console,
    /// A raw image attached read-write as a virtio-blk disk (the data disk).
    pub data_disk: Option<PathBuf>,
    /// A raw image attached as the swap disk: a virtio-blk device whose serial
    /// number is `lazuli-swap`, which is how the kernel tells it from the data disk.
    pub swap_disk: Option<PathBuf>,
}

/// The serial number the swap disk carries (the kernel's `SWAP_SERIAL`).
pub const SWAP_SERIAL: &str = "lazuli-swap";

/// How the serial console meets the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Console {
    /// Plain `-serial stdio`: for pipes and tests.
    Plain,
    /// An interactive terminal in raw mode with Ctrl-C passed through to lazuli
    /// (`signal=off`); QEMU's multiplexer gives Ctrl-A X to quit, as with -nographic.
    Terminal,
}

impl Machine {
    /// A headless TCG machine with 256 MiB: what tests and `--exec` use.
    pub fn headless(image: PathBuf, firmware: Firmware) -> Machine {
        Machine {
            image,
            firmware,
            display: Display::Headless,
            accel: Accel::Tcg,
            memory_mib: 256,
            gdb: false,
            console: Console::Plain,
            data_disk: None,
            swap_disk: None,
        }
    }

    /// QEMU's arguments for this machine. Panics if a UEFI boot is asked for and
    /// `tools` has no OVMF (callers check with [`crate::tools::ensure`] first).
    pub fn args(&self, tools: &Tools) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut push = |parts: &[&str]| args.extend(parts.iter().map(OsString::from));
        push(&["-name", "lazuli", "-m", &format!("{}M", self.memory_mib)]);
        push(&["-accel", self.accel.name()]);
        if self.firmware == Firmware::Uefi {
            let ovmf = tools.ovmf.as_ref().expect("UEFI boot needs OVMF");
            push(&["-drive", &pflash(&ovmf.code, "readonly=on")]);
            push(&["-drive", &pflash(&ovmf.vars, "snapshot=on")]);
        }
        // snapshot=on: the image is opened read-only, so parallel boots of one image
        // do not fight over QEMU's write lock, and the guest cannot change it.
        push(&[
            "-drive",
            &drive_option(&self.image, "format=raw,snapshot=on"),
        ]);
        if let Some(disk) = &self.data_disk {
            // Its own virtio-blk PCI device, so the boot disk stays on IDE.
            push(&[
                "-drive",
                &drive_option(disk, "if=none,id=data,format=raw"),
                "-device",
                "virtio-blk-pci,drive=data",
            ]);
        }
        if let Some(swap) = &self.swap_disk {
            push(&[
                "-drive",
                &drive_option(swap, "if=none,id=swap,format=raw"),
                "-device",
                &format!("virtio-blk-pci,drive=swap,serial={SWAP_SERIAL}"),
            ]);
        }
        match self.console {
            Console::Plain => push(&["-serial", "stdio"]),
            Console::Terminal => push(&[
                "-chardev",
                "stdio,id=console,mux=on,signal=off",
                "-serial",
                "chardev:console",
            ]),
        }
        push(&["-no-reboot"]);
        let exit_device = format!("isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=0x04");
        push(&["-device", &exit_device]);
        if self.display == Display::Headless {
            push(&["-display", "none", "-monitor", "none"]);
        }
        if self.gdb {
            push(&["-s", "-S"]);
        }
        args
    }

    /// The ready-to-spawn QEMU command (stdio not yet configured).
    pub fn command(&self, tools: &Tools) -> Command {
        let mut command = Command::new(&tools.qemu);
        command.args(self.args(tools));
        command
    }
}

/// A `-drive` value for a flash device.
fn pflash(file: &std::path::Path, extra: &str) -> String {
    drive_option(file, &format!("if=pflash,format=raw,{extra}"))
}

/// `OPTS,file=PATH`, with commas in the path doubled as QEMU's option syntax wants.
fn drive_option(file: &std::path::Path, opts: &str) -> String {
    let path = file.display().to_string().replace(',', ",,");
    format!("{opts},file={path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools() -> Tools {
        Tools {
            qemu: "qemu-system-x86_64".into(),
            ovmf: Some(Ovmf {
                code: "/ovmf/CODE.fd".into(),
                vars: "/ovmf/VARS.fd".into(),
            }),
        }
    }

    fn args(machine: &Machine) -> String {
        let args = machine.args(&tools());
        args.iter()
            .map(|a| a.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn headless_bios_has_serial_exit_device_and_no_display() {
        let line = args(&Machine::headless("/k/a.img".into(), Firmware::Bios));
        assert!(line.contains("-drive format=raw,snapshot=on,file=/k/a.img"));
        assert!(line.contains("-serial stdio -no-reboot"));
        assert!(line.contains("-device isa-debug-exit,iobase=0xf4,iosize=0x04"));
        assert!(line.contains("-display none -monitor none"));
        assert!(line.contains("-accel tcg"));
        assert!(line.contains("-m 256M"));
        assert!(!line.contains("pflash"));
        assert!(!line.contains("-S"));
    }

    #[test]
    fn uefi_maps_ovmf_code_readonly_and_vars_as_snapshot() {
        let line = args(&Machine::headless("/k/a.img".into(), Firmware::Uefi));
        assert!(line.contains("-drive if=pflash,format=raw,readonly=on,file=/ovmf/CODE.fd"));
        assert!(line.contains("-drive if=pflash,format=raw,snapshot=on,file=/ovmf/VARS.fd"));
    }

    #[test]
    fn window_kvm_gdb_and_memory_are_honoured() {
        let mut machine = Machine::headless("/k/a.img".into(), Firmware::Bios);
        machine.display = Display::Window;
        machine.accel = Accel::Kvm;
        machine.gdb = true;
        machine.memory_mib = 1024;
        let line = args(&machine);
        assert!(!line.contains("-display none"));
        assert!(line.contains("-accel kvm"));
        assert!(line.ends_with("-s -S"));
        assert!(line.contains("-m 1024M"));
    }

    #[test]
    fn a_terminal_console_passes_ctrl_c_through_and_muxes_ctrl_a() {
        let mut machine = Machine::headless("/k/a.img".into(), Firmware::Bios);
        machine.console = Console::Terminal;
        let line = args(&machine);
        assert!(line.contains(
            "-chardev stdio,id=console,mux=on,signal=off -serial chardev:console -no-reboot"
        ));
        assert!(!line.contains("-serial stdio"));
    }

    #[test]
    fn a_data_disk_is_a_virtio_device_beside_the_boot_disk() {
        let mut machine = Machine::headless("/k/a.img".into(), Firmware::Bios);
        assert!(!args(&machine).contains("virtio"));
        machine.data_disk = Some("/d/data.img".into());
        let line = args(&machine);
        assert!(line.contains(
            "-drive if=none,id=data,format=raw,file=/d/data.img -device virtio-blk-pci,drive=data"
        ));
        assert!(line.contains("-drive format=raw,snapshot=on,file=/k/a.img"));
    }

    #[test]
    fn a_swap_disk_is_a_second_virtio_device_named_by_its_serial() {
        let mut machine = Machine::headless("/k/a.img".into(), Firmware::Bios);
        machine.data_disk = Some("/d/data.img".into());
        machine.swap_disk = Some("/t/swap.img".into());
        let line = args(&machine);
        let data = line.find("drive=data").expect("data disk");
        let swap = line
            .find("-drive if=none,id=swap,format=raw,file=/t/swap.img -device virtio-blk-pci,drive=swap,serial=lazuli-swap")
            .expect("swap disk");
        assert!(data < swap, "the data disk comes first on the bus");
    }

    #[test]
    fn commas_in_paths_are_escaped() {
        let line = args(&Machine::headless("/a,b.img".into(), Firmware::Bios));
        assert!(line.contains("file=/a,,b.img"));
    }
}
