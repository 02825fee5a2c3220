//! The host side of lazuli: everything `cargo run` and `cargo test` need to boot a
//! kernel image in QEMU and talk to it over the serial line.
//!
//! - [`qemu`] builds the QEMU command line (firmware, display, accelerator, GDB).
//! - [`tools`] finds QEMU and OVMF, installing them on a root Debian/Ubuntu machine.
//! - [`exec`] boots a machine, types scripted lines, enforces a timeout and maps
//!   QEMU's exit status to what the kernel reported.
//! - [`protocol`] is the kernel side's promise: prompts, exit codes, `--exec`'s view.
//! - [`gdb`] finds where the bootloader loads the kernel, for GDB's symbols.
//! - [`ktest`] reads the in-kernel test kernel's report.
//! - [`cli`] parses the runner's flags.
//!
//! The disk images come from `build.rs`, which writes the table included below.
//! This crate does not build images itself and knows nothing of the kernel's insides.

use std::path::PathBuf;

pub mod cli;
pub mod data_disk;
pub mod disk_image;
pub mod exec;
pub mod gdb;
pub mod ktest;
pub mod protocol;
pub mod qemu;
pub mod swap_disk;
pub mod tools;

include!(concat!(env!("OUT_DIR"), "/images.rs"));

/// The files built for one kernel binary.
#[derive(Debug, Clone)]
pub struct KernelFiles {
    /// The kernel binary's name (`lazuli`, `ktest`).
    pub name: &'static str,
    /// Disk image booted through SeaBIOS.
    pub bios: PathBuf,
    /// Disk image booted through OVMF.
    pub uefi: PathBuf,
    /// The kernel ELF itself, for GDB's symbols.
    pub elf: PathBuf,
}

impl KernelFiles {
    /// The disk image for `firmware`.
    pub fn image(&self, firmware: qemu::Firmware) -> &PathBuf {
        match firmware {
            qemu::Firmware::Bios => &self.bios,
            qemu::Firmware::Uefi => &self.uefi,
        }
    }
}

/// Looks up the images build.rs made for kernel binary `name`; None if there is none.
pub fn kernel(name: &str) -> Option<KernelFiles> {
    let &(name, bios, uefi) = IMAGES.iter().find(|(n, _, _)| *n == name)?;
    let elf = KERNEL_ELFS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)?;
    Some(KernelFiles {
        name,
        bios: bios.into(),
        uefi: uefi.into(),
        elf: elf.into(),
    })
}

/// Names of every kernel binary that has images, in build order.
pub fn kernel_names() -> Vec<&'static str> {
    IMAGES.iter().map(|(n, _, _)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_kernels_have_images_and_an_elf() {
        for name in ["lazuli", "ktest"] {
            let files = kernel(name).expect(name);
            assert!(files.bios.ends_with(format!("{name}-bios.img")));
            assert!(files.uefi.ends_with(format!("{name}-uefi.img")));
            assert!(files.elf.ends_with(name));
        }
    }

    #[test]
    fn unknown_kernel_is_none() {
        assert!(kernel("no-such-kernel").is_none());
    }
}
