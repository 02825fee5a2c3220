//! What GDB needs to know to debug the kernel: where the bootloader put it.
//!
//! The kernel is a position-independent ELF; the bootloader loads it at the start
//! of its "dynamic range" of virtual addresses. When the kernel's `BootloaderConfig`
//! (embedded in the ELF's `.bootloader-config` section by `entry_point!`) fixes
//! that start and turns ASLR off, the load offset is known before boot, and the
//! runner can print a ready-to-paste `add-symbol-file ELF -o OFFSET`. Otherwise the
//! bootloader chooses (see the README's GDB section) and this module says None.

use bootloader_api::BootloaderConfig;
use std::path::Path;

/// The kernel's load offset, read from its ELF file; None if it is not fixed.
pub fn load_offset(elf: &Path) -> Option<u64> {
    let bytes = std::fs::read(elf).ok()?;
    let config = BootloaderConfig::deserialize(section(&bytes, ".bootloader-config")?).ok()?;
    if config.mappings.aslr {
        return None;
    }
    config.mappings.dynamic_range_start
}

/// The contents of the section called `name` in a little-endian ELF64 file.
fn section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    if elf.get(..5)? != b"\x7fELF\x02" {
        return None;
    }
    let shoff = usize::try_from(u64_at(elf, 0x28)?).ok()?;
    let (entsize, count, names) = (u16_at(elf, 0x3a)?, u16_at(elf, 0x3c)?, u16_at(elf, 0x3e)?);
    let header = |i: usize| elf.get(shoff + i * entsize..shoff + (i + 1) * entsize);
    let data = |h: &[u8]| {
        let start = usize::try_from(u64_at(h, 0x18)?).ok()?;
        let len = usize::try_from(u64_at(h, 0x20)?).ok()?;
        elf.get(start..start.checked_add(len)?)
    };
    let strings = data(header(names)?)?;
    (0..count).find_map(|i| {
        let h = header(i)?;
        let at = u32_at(h, 0)? as usize;
        let rest = strings.get(at..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        (&rest[..end] == name.as_bytes()).then(|| data(h)).flatten()
    })
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?) as usize)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_kernels_carry_a_readable_bootloader_config() {
        for name in ["lazuli", "ktest"] {
            let elf = std::fs::read(crate::kernel(name).unwrap().elf).unwrap();
            let config = section(&elf, ".bootloader-config").expect("config section");
            assert!(BootloaderConfig::deserialize(config).is_ok(), "{name}");
        }
    }

    #[test]
    fn non_elf_input_has_no_sections() {
        assert_eq!(section(b"not an elf file at all", ".text"), None);
        assert_eq!(section(b"\x7fELF\x02", ".text"), None);
    }
}
