//! The lazuli kernel: boot, then run the shell.
#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};
use lazuli_kernel::{kprintln, mem::frame, task};

entry_point!(kmain, config = &lazuli_kernel::BOOTLOADER_CONFIG);

fn kmain(boot: &'static mut BootInfo) -> ! {
    lazuli_kernel::init(boot);
    kprintln!(
        "lazuli {} - {} MiB free; type help",
        env!("CARGO_PKG_VERSION"),
        frame::free_frames() / 256
    );
    task::spawn(
        "sh",
        None,
        alloc::boxed::Box::pin(lazuli_apps::shell::main()),
    );
    task::executor::run_until(|| false);
    unreachable!()
}

extern crate alloc;
