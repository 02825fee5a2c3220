//! The in-kernel test kernel. Boots like lazuli, prints `ktest: ready`, reads one
//! line from serial: `run` runs every case in [`cases::ALL`] and powers off with
//! success iff all passed; `panic` panics on purpose (to test panic reporting).
//!
//! Output per case: `test NAME ... ok` or `test NAME ... FAILED: why`, then
//! `ktest: N passed, M failed`. Host-side tests (tests/kernel.rs) read these lines.
#![no_std]
#![no_main]

extern crate alloc;

mod bad_input;
mod base;
mod cases;
mod check;
mod ext_vm;
mod fork;
mod seed_vm;

use alloc::{boxed::Box, string::String};
use bootloader_api::{BootInfo, entry_point};
use lazuli_kernel::{arch::qemu, kprintln, task};

entry_point!(kmain, config = &lazuli_kernel::BOOTLOADER_CONFIG);

fn kmain(boot: &'static mut BootInfo) -> ! {
    lazuli_kernel::init(boot);
    kprintln!("ktest: ready");
    task::spawn("ktest", None, Box::pin(runner()));
    task::executor::run_until(|| false);
    unreachable!()
}

async fn runner() -> i32 {
    let mut line = String::new();
    loop {
        match lazuli_api::read_byte().await {
            b'\n' => break,
            b => line.push(b as char),
        }
    }
    match line.trim() {
        "panic" => panic!("deliberate panic from ktest"),
        "run" => {
            let failed = cases::run_all().await;
            qemu::exit(failed == 0)
        }
        other => {
            kprintln!("ktest: unknown command {other:?} (run | panic)");
            qemu::exit(false)
        }
    }
}
