//! The arch layer: everything that touches x86_64 hardware directly (descriptor
//! tables, interrupt controllers, user mode and the user-access routines, the
//! serial port, I/O ports). Unsafe code
//! lives here and in `mem/`; the rest of the kernel calls safe functions.

pub mod cpu;
pub mod gdt;
pub mod interrupts;
pub mod pci;
pub mod pic;
pub mod qemu;
pub mod rtc;
pub mod uart;
pub mod user_access;
pub mod usermode;
pub mod virtio_blk;
pub mod virtio_hal;
