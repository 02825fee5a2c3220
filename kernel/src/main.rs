#![no_std]
#![no_main]

use bootloader_api::{BootInfo, entry_point};

entry_point!(kmain);

fn kmain(_boot: &'static mut BootInfo) -> ! {
    lazuli_kernel::serial::init();
    lazuli_kernel::serial::write_str("hello from lazuli\n");
    // SAFETY: isa-debug-exit
    unsafe { x86_64::instructions::port::Port::<u32>::new(0xf4).write(0x10) };
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
