//! The runner's command-line flags, parsed by hand (`--flag VALUE` or `--flag=VALUE`).

use crate::qemu::Accel;
use std::{path::PathBuf, time::Duration};

/// Printed by `--help`.
pub const USAGE: &str = "\
usage: cargo run [-- OPTIONS]

Boots the lazuli kernel in QEMU. By default: the BIOS image, in a QEMU window if a
display is available, otherwise headless with the console on this terminal.

options:
  --headless         no window: the serial console is this terminal
  --uefi             boot the UEFI image through OVMF instead of BIOS
  --exec LINE        boot headless, run LINE in the shell, print its output, power off;
                     exit 0 iff LINE succeeded
  --images DIR       write lazuli-bios.img, lazuli-uefi.img and the data disk
                     lazuli-disk.img to DIR; boot nothing
  --disk PATH        attach the raw FAT image PATH as the data disk (read-write)
  --fresh-disk       remake target/lazuli-disk.img from disk/ before booting
  --no-disk          no data disk: lazuli uses the boot image's RAM disk
  --swap MIB         a fresh swap disk of MIB MiB for this boot (default 512; 0: none)
  --accel tcg|kvm    CPU emulation (default tcg; kvm needs a working /dev/kvm)
  --gdb              start paused, wait for GDB on localhost:1234
  --memory MIB       guest RAM in MiB (default 256)
  --timeout SECS     kill QEMU after SECS seconds (default: 300 with --exec, else none)
  --kernel NAME      boot another kernel binary (e.g. ktest)
  --help             this text

exit status: 0 when the kernel powered off reporting success (QEMU status 33),
1 otherwise, 2 for bad options.";

/// Default guest RAM.
pub const DEFAULT_MEMORY_MIB: u32 = 256;
/// Default size of the swap disk made for each boot.
pub const DEFAULT_SWAP_MIB: u64 = 512;
/// Default `--exec` timeout.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything the runner was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub headless: bool,
    pub uefi: bool,
    pub exec: Option<String>,
    pub images: Option<PathBuf>,
    pub accel: Accel,
    pub gdb: bool,
    pub memory_mib: u32,
    /// As given; see [`Options::timeout`] for the effective one.
    pub timeout_secs: Option<u64>,
    pub kernel: String,
    pub help: bool,
    pub disk: DiskChoice,
    /// Size of the swap disk made for this boot, 0 for none.
    pub swap_mib: u64,
}

/// Which data disk QEMU attaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskChoice {
    /// `target/lazuli-disk.img`, made from `disk/` if missing.
    Default,
    /// The same, remade first (`--fresh-disk`).
    Fresh,
    /// A raw image the user names (`--disk PATH`).
    Path(PathBuf),
    /// None: the kernel falls back to its RAM disk (`--no-disk`).
    None,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            headless: false,
            uefi: false,
            exec: None,
            images: None,
            accel: Accel::Tcg,
            gdb: false,
            memory_mib: DEFAULT_MEMORY_MIB,
            timeout_secs: None,
            kernel: "lazuli".into(),
            help: false,
            disk: DiskChoice::Default,
            swap_mib: DEFAULT_SWAP_MIB,
        }
    }
}

impl Options {
    /// The timeout to enforce: the given one, or the `--exec` default. None under
    /// `--gdb` unless asked for, since a debugging session may last.
    pub fn timeout(&self) -> Option<Duration> {
        match (self.timeout_secs, &self.exec) {
            (Some(secs), _) => Some(Duration::from_secs(secs)),
            (None, Some(_)) if !self.gdb => Some(DEFAULT_EXEC_TIMEOUT),
            (None, _) => None,
        }
    }
}

/// Parses the arguments after the program name. Errors are one line for the user.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_string(), Some(value)),
            _ => (arg.clone(), None),
        };
        let mut value = || -> Result<String, String> {
            match inline {
                Some(v) => Ok(v.to_string()),
                None => args.next().ok_or(format!("{flag} needs a value")),
            }
        };
        match flag.as_str() {
            "--headless" => options.headless = true,
            "--uefi" => options.uefi = true,
            "--gdb" => options.gdb = true,
            "--help" | "-h" => options.help = true,
            "--exec" => options.exec = Some(value()?),
            "--images" => options.images = Some(value()?.into()),
            "--kernel" => options.kernel = value()?,
            "--disk" | "--fresh-disk" | "--no-disk" => {
                let choice = match flag.as_str() {
                    "--disk" => DiskChoice::Path(value()?.into()),
                    "--fresh-disk" => DiskChoice::Fresh,
                    _ => DiskChoice::None,
                };
                if options.disk != DiskChoice::Default {
                    return Err("--disk, --fresh-disk and --no-disk exclude each other".into());
                }
                options.disk = choice;
            }
            "--accel" => {
                options.accel = match value()?.as_str() {
                    "tcg" => Accel::Tcg,
                    "kvm" => Accel::Kvm,
                    other => {
                        return Err(format!(
                            "--accel: unknown accelerator {other:?} (tcg or kvm)"
                        ));
                    }
                }
            }
            "--memory" => options.memory_mib = number(&flag, &value()?)?,
            "--swap" => {
                let text = value()?;
                options.swap_mib = text
                    .parse()
                    .ok()
                    .filter(|&mib: &u64| mib <= 1 << 20)
                    .ok_or(format!(
                        "--swap: expected MiB from 0 to 1048576, got {text:?}"
                    ))?;
            }
            "--timeout" => options.timeout_secs = Some(number(&flag, &value()?)?),
            _ => return Err(format!("unknown option {arg:?} (see --help)")),
        }
        let bare = [
            "--headless",
            "--uefi",
            "--gdb",
            "--help",
            "--fresh-disk",
            "--no-disk",
        ];
        if inline.is_some() && bare.contains(&flag.as_str()) {
            return Err(format!("{flag} takes no value"));
        }
    }
    Ok(options)
}

/// A positive decimal number for `flag`.
fn number<T: std::str::FromStr + Default + PartialEq>(flag: &str, text: &str) -> Result<T, String> {
    match text.parse::<T>() {
        Ok(n) if n != T::default() => Ok(n),
        _ => Err(format!("{flag}: expected a positive number, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Options, String> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn no_flags_is_the_default_bios_boot() {
        assert_eq!(parse_str("").unwrap(), Options::default());
        assert_eq!(Options::default().timeout(), None);
    }

    #[test]
    fn every_flag_is_understood() {
        let o = parse_str(
            "--headless --uefi --exec hello --images out --accel kvm --gdb \
             --memory 512 --timeout 9 --kernel ktest",
        )
        .unwrap();
        assert!(o.headless && o.uefi && o.gdb);
        assert_eq!(o.exec.as_deref(), Some("hello"));
        assert_eq!(o.images, Some(PathBuf::from("out")));
        assert_eq!(o.accel, Accel::Kvm);
        assert_eq!(o.memory_mib, 512);
        assert_eq!(o.timeout(), Some(Duration::from_secs(9)));
        assert_eq!(o.kernel, "ktest");
    }

    #[test]
    fn exec_line_keeps_its_spaces_and_equals_form_works() {
        let o = parse(["--exec".to_string(), "vm mmap 4096; stat".to_string()]).unwrap();
        assert_eq!(o.exec.as_deref(), Some("vm mmap 4096; stat"));
        assert_eq!(o.timeout(), Some(DEFAULT_EXEC_TIMEOUT));
        let o = parse_str("--memory=128 --exec=a=b").unwrap();
        assert_eq!(o.memory_mib, 128);
        assert_eq!(o.exec.as_deref(), Some("a=b"));
    }

    #[test]
    fn bad_flags_are_one_line_errors() {
        assert!(parse_str("--bogus").unwrap_err().contains("--bogus"));
        assert!(parse_str("--exec").unwrap_err().contains("needs a value"));
        assert!(parse_str("--memory lots").is_err());
        assert!(parse_str("--timeout 0").is_err());
        assert!(parse_str("--accel hvf").is_err());
        assert!(parse_str("--uefi=yes").is_err());
        assert!(parse_str("--no-disk=yes").is_err());
        assert!(parse_str("--disk").unwrap_err().contains("needs a value"));
        assert!(
            parse_str("--no-disk --disk a.img")
                .unwrap_err()
                .contains("exclude")
        );
    }

    #[test]
    fn disk_flags_choose_the_data_disk() {
        assert_eq!(parse_str("").unwrap().disk, DiskChoice::Default);
        assert_eq!(parse_str("--fresh-disk").unwrap().disk, DiskChoice::Fresh);
        assert_eq!(parse_str("--no-disk").unwrap().disk, DiskChoice::None);
        assert_eq!(
            parse_str("--disk=/tmp/x.img").unwrap().disk,
            DiskChoice::Path("/tmp/x.img".into())
        );
    }

    #[test]
    fn swap_is_512_mib_by_default_and_0_means_none() {
        assert_eq!(Options::default().swap_mib, 512);
        assert_eq!(parse_str("--swap 0").unwrap().swap_mib, 0);
        assert_eq!(parse_str("--swap=64").unwrap().swap_mib, 64);
        assert!(parse_str("--swap -1").is_err());
        assert!(parse_str("--swap lots").is_err());
        assert!(parse_str("--swap 99999999").is_err());
    }
}
