//! PCI configuration space through the legacy port mechanism: an address written to
//! 0xCF8, the data read or written at 0xCFC. QEMU's `-machine pc` has no ECAM (memory-
//! mapped configuration), and every PC since the 1990s has these ports.
//!
//! Owns: reading and writing 32-bit configuration registers, and a scan of every
//! bus, device and function that answers. Does not (yet): PCI bridges' secondary
//! buses beyond a brute-force scan, capabilities, MSI, or BAR sizing.
use alloc::vec::Vec;
use x86_64::instructions::port::Port;

const CONFIG_ADDRESS: u16 = 0xcf8;
const CONFIG_DATA: u16 = 0xcfc;

/// Where a function sits: bus, device (0–31), function (0–7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
}

impl Location {
    /// The CONFIG_ADDRESS value for the register at `offset` (dword aligned).
    fn address(self, offset: u8) -> u32 {
        0x8000_0000
            | u32::from(self.bus) << 16
            | u32::from(self.device & 0x1f) << 11
            | u32::from(self.function & 0x7) << 8
            | u32::from(offset & 0xfc)
    }
}

impl core::fmt::Display for Location {
    /// `BB:DD.F`, as lspci prints it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:02x}:{:02x}.{}", self.bus, self.device, self.function)
    }
}

/// Reads the configuration register at `offset` of `at`.
pub fn read(at: Location, offset: u8) -> u32 {
    x86_64::instructions::interrupts::without_interrupts(|| {
        // SAFETY: the legacy configuration ports; the address selects one register
        // and reading it has no side effect on any device (configuration reads are
        // side-effect free by the PCI specification). Interrupts are off so that
        // no other access can come between the address and the data.
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(at.address(offset));
            Port::<u32>::new(CONFIG_DATA).read()
        }
    })
}

/// Writes the configuration register at `offset` of `at`.
pub fn write(at: Location, offset: u8, value: u32) {
    x86_64::instructions::interrupts::without_interrupts(|| {
        // SAFETY: as for `read`; the caller (a driver) owns the device it programs.
        unsafe {
            Port::<u32>::new(CONFIG_ADDRESS).write(at.address(offset));
            Port::<u32>::new(CONFIG_DATA).write(value);
        }
    })
}

/// One function that answered the scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Function {
    pub at: Location,
    pub vendor: u16,
    pub device: u16,
    /// Class, subclass and programming interface (the top three bytes of 0x08).
    pub class: u32,
}

/// Every function on every bus, in bus/device/function order.
pub fn scan() -> Vec<Function> {
    let mut found = Vec::new();
    for bus in 0..=255u8 {
        for device in 0..32u8 {
            let first = Location {
                bus,
                device,
                function: 0,
            };
            let Some(f) = probe(first) else { continue };
            found.push(f);
            let multi_function = read(first, 0x0c) >> 16 & 0x80 != 0;
            if multi_function {
                found.extend((1..8).filter_map(|function| {
                    probe(Location {
                        bus,
                        device,
                        function,
                    })
                }));
            }
        }
    }
    found
}

/// The function at `at`, if one answers (vendor 0xffff means none).
fn probe(at: Location) -> Option<Function> {
    let id = read(at, 0x00);
    let vendor = id as u16;
    if vendor == 0xffff {
        return None;
    }
    Some(Function {
        at,
        vendor,
        device: (id >> 16) as u16,
        class: read(at, 0x08) >> 8,
    })
}
