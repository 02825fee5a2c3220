//! The arch layer: everything that touches x86_64 hardware directly (descriptor
//! tables, interrupt controllers, the fault-escape context, I/O ports). Unsafe code
//! lives here and in `mem/`; the rest of the kernel calls safe functions.

pub mod cpu;
pub mod gdt;
pub mod guard;
pub mod interrupts;
pub mod pic;
pub mod qemu;
