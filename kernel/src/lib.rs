//! lazuli's kernel library: everything the kernel binaries (`lazuli`, `ktest`) share.
//!
//! Boot order ([`init`]): serial and framebuffer consoles, GDT/IDT, memory (frames,
//! page tables, heap, NX, the user-mode trampoline), interrupt controllers and timer,
//! the disk (virtio-blk, else the boot image's RAM disk) and its file system, then
//! the app API.
#![no_std]
#![feature(abi_x86_interrupt)]
// Unsafe code has two addresses: `arch` (the hardware) and `mem` (frames, page
// tables, the heap). Everything else is safe Rust over their safe functions.
#![deny(unsafe_code)]

extern crate alloc;

pub mod api;
#[allow(unsafe_code)]
pub mod arch;
pub mod block;
pub mod console;
pub mod framebuffer;
pub mod fs;
pub mod input;
pub mod keyboard;
#[allow(unsafe_code)]
pub mod mem;
pub mod task;
pub mod time;
pub mod user;
pub mod vm;

use bootloader_api::{BootInfo, BootloaderConfig, config::Mapping};

/// How lazuli asks to be loaded: all of physical memory mapped, and everything the
/// bootloader maps placed in the upper half so the lower half is free for tasks.
pub const BOOTLOADER_CONFIG: BootloaderConfig = {
    let mut config = BootloaderConfig::new_default();
    config.mappings.physical_memory = Some(Mapping::Dynamic);
    config.mappings.dynamic_range_start = Some(0xffff_8000_0000_0000);
    config.mappings.dynamic_range_end = Some(mem::heap::HEAP_START - 1);
    config.kernel_stack_size = 512 * 1024;
    config
};

/// Brings the machine up. Afterwards interrupts are on and apps may use the API.
pub fn init(boot: &'static mut BootInfo) {
    arch::uart::init();
    if let Some(fb) = boot.framebuffer.as_mut() {
        framebuffer::init(fb);
    }
    arch::gdt::init();
    arch::interrupts::init();
    let offset = boot
        .physical_memory_offset
        .into_option()
        .expect("physical memory mapping");
    mem::set_phys_offset(offset);
    mem::paging::init();
    mem::frame::init(&boot.memory_regions);
    mem::heap::init();
    let ramdisk = match (boot.ramdisk_addr.into_option(), boot.ramdisk_len) {
        (Some(addr), len) if len > 0 => Some(mem::take_ramdisk(addr, len)),
        _ => None,
    };
    arch::cpu::enable_nx();
    arch::usermode::init();
    arch::pic::init();
    // Devices map their registers into the kernel half: before the first task.
    let attached = block::attach(ramdisk);
    arch::uart::drain_received();
    x86_64::instructions::interrupts::enable();
    console::init_log();
    if attached && let Err(e) = fs::mount() {
        log::warn!("no file system on the disk ({e:?}): files are unavailable");
    }
    api::install();
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    x86_64::instructions::interrupts::disable();
    use core::fmt::Write;
    let mut line = heapless_line::Line::new();
    let _ = match info.location() {
        Some(at) => write!(
            line,
            "KERNEL PANIC: {} at {}:{}",
            info.message(),
            at.file(),
            at.line()
        ),
        None => write!(line, "KERNEL PANIC: {}", info.message()),
    };
    let _ = line.write_str("\n");
    arch::uart::write_str_panicking(line.as_str());
    framebuffer::write_panic(format_args!("{}", line.as_str()));
    arch::qemu::exit(false)
}

/// A fixed buffer for the panic line: the heap may be what broke.
mod heapless_line {
    pub struct Line {
        buf: [u8; 512],
        len: usize,
    }
    impl Line {
        pub fn new() -> Self {
            Self {
                buf: [0; 512],
                len: 0,
            }
        }
        pub fn as_str(&self) -> &str {
            core::str::from_utf8(&self.buf[..self.len]).unwrap_or("KERNEL PANIC (unprintable)\n")
        }
    }
    impl core::fmt::Write for Line {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let n = s.len().min(self.buf.len() - self.len);
            self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
            self.len += n;
            Ok(())
        }
    }
}
