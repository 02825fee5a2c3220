//! Finding QEMU and OVMF on the host, and installing them where we may.
//!
//! Search order: the `LAZULI_QEMU`, `OVMF_CODE` and `OVMF_VARS` environment variables,
//! then `qemu-system-x86_64` on PATH and the places Debian/Ubuntu, Fedora, Arch and
//! Homebrew put OVMF. When something is missing and we run as root on a machine with
//! apt-get, we say so and install `qemu-system-x86 ovmf`; otherwise the error is one
//! line naming the packages to install. Other package managers are not driven.

use crate::qemu::{Ovmf, Tools};
use std::{
    env,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// The Debian/Ubuntu packages that provide everything we need.
pub const APT_PACKAGES: [&str; 2] = ["qemu-system-x86", "ovmf"];

/// (code, vars) file pairs where distributions install OVMF.
const OVMF_PAIRS: [(&str, &str); 7] = [
    (
        "/usr/share/OVMF/OVMF_CODE_4M.fd",
        "/usr/share/OVMF/OVMF_VARS_4M.fd",
    ),
    (
        "/usr/share/OVMF/OVMF_CODE.fd",
        "/usr/share/OVMF/OVMF_VARS.fd",
    ),
    (
        "/usr/share/edk2/ovmf/OVMF_CODE.fd",
        "/usr/share/edk2/ovmf/OVMF_VARS.fd",
    ),
    (
        "/usr/share/edk2/x64/OVMF_CODE.4m.fd",
        "/usr/share/edk2/x64/OVMF_VARS.4m.fd",
    ),
    (
        "/usr/share/qemu/edk2-x86_64-code.fd",
        "/usr/share/qemu/edk2-i386-vars.fd",
    ),
    (
        "/opt/homebrew/share/qemu/edk2-x86_64-code.fd",
        "/opt/homebrew/share/qemu/edk2-i386-vars.fd",
    ),
    (
        "/usr/local/share/qemu/edk2-x86_64-code.fd",
        "/usr/local/share/qemu/edk2-i386-vars.fd",
    ),
];

/// `qemu-system-x86_64` from $LAZULI_QEMU or PATH.
pub fn find_qemu() -> Option<PathBuf> {
    if let Some(path) = env::var_os("LAZULI_QEMU") {
        return Some(path.into());
    }
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join("qemu-system-x86_64"))
        .find(|candidate| candidate.is_file())
}

/// OVMF's code and vars files from $OVMF_CODE/$OVMF_VARS or the usual places.
pub fn find_ovmf() -> Option<Ovmf> {
    if let (Some(code), Some(vars)) = (env::var_os("OVMF_CODE"), env::var_os("OVMF_VARS")) {
        return Some(Ovmf {
            code: code.into(),
            vars: vars.into(),
        });
    }
    OVMF_PAIRS
        .iter()
        .map(|(code, vars)| (Path::new(code), Path::new(vars)))
        .find(|(code, vars)| code.is_file() && vars.is_file())
        .map(|(code, vars)| Ovmf {
            code: code.into(),
            vars: vars.into(),
        })
}

/// Finds QEMU (and OVMF when `need_ovmf`), installing them first if we are root on
/// an apt-based system. Returns the one-line reason when they are still missing.
pub fn ensure(need_ovmf: bool) -> Result<Tools, String> {
    let found = || Tools {
        qemu: find_qemu().unwrap_or_default(),
        ovmf: find_ovmf(),
    };
    let complete = |t: &Tools| !t.qemu.as_os_str().is_empty() && (!need_ovmf || t.ovmf.is_some());
    let tools = found();
    if complete(&tools) {
        return Ok(tools);
    }
    let mut missing = Vec::new();
    if tools.qemu.as_os_str().is_empty() {
        missing.push("QEMU (qemu-system-x86_64)");
    }
    if need_ovmf && tools.ovmf.is_none() {
        missing.push("OVMF (UEFI firmware for QEMU)");
    }
    let missing = missing.join(" and ");
    if is_root() && on_path("apt-get") {
        eprintln!(
            "lazuli: {missing} missing; running as root, so installing {} with apt-get \
             (nothing will be removed)",
            APT_PACKAGES.join(" ")
        );
        apt_install()?;
        let tools = found();
        if complete(&tools) {
            return Ok(tools);
        }
    }
    Err(format!(
        "lazuli: {missing} not found: install it with `sudo apt-get install {}` \
         (or your system's qemu-system-x86_64 and OVMF packages)",
        APT_PACKAGES.join(" ")
    ))
}

/// `apt-get install -y` the packages, running `apt-get update` first only if the
/// package lists are too old to know them. apt's chatter goes to stderr.
fn apt_install() -> Result<(), String> {
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::io::stderr()))
            .status()
            .is_ok_and(|s| s.success())
    };
    // --no-remove: an install the runner does on its own must never take a package
    // away (apt once removed a newer, unrelated qemu-utils to satisfy qemu-system).
    let mut install = vec!["install", "-y", "--no-install-recommends", "--no-remove"];
    install.extend(APT_PACKAGES);
    if apt(&install) || (apt(&["update"]) && apt(&install)) {
        Ok(())
    } else {
        Err(format!(
            "lazuli: `apt-get install {}` failed; install them by hand",
            APT_PACKAGES.join(" ")
        ))
    }
}

/// True when this process runs with effective user id 0 (read from /proc).
fn is_root() -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .is_some_and(|euid| euid == "0")
}

/// True when `program` is an executable file in some PATH directory.
fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}
