//! The in-kernel test kernel. Boots like lazuli, prints `ktest: ready`, reads one
//! line from serial: `run` runs every case (see `cases`) and powers off with
//! success iff all passed; `panic` panics on purpose (to test panic reporting);
//! `fault` makes the executor itself — kernel code outside any task — touch an
//! unmapped address, which must panic with the fault's details; `lockfault` makes
//! kernel code running for a task fault while it holds the address-space lock,
//! which must panic the same way (never hang, never become a task kill).
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
mod fault_timing;
mod fork;
mod mapping;
mod protection;
mod seed_vm;
mod storage;
mod swap;

use alloc::{boxed::Box, string::String};
use bootloader_api::{BootInfo, entry_point};
use core::sync::atomic::{AtomicBool, Ordering};
use lazuli_kernel::{arch::qemu, kprintln, task};

static FAULT_OUTSIDE_TASKS: AtomicBool = AtomicBool::new(false);

entry_point!(kmain, config = &lazuli_kernel::BOOTLOADER_CONFIG);

fn kmain(boot: &'static mut BootInfo) -> ! {
    lazuli_kernel::init(boot);
    kprintln!("ktest: ready");
    task::spawn("ktest", None, Box::pin(runner()));
    task::executor::run_until(|| {
        if FAULT_OUTSIDE_TASKS.load(Ordering::Relaxed) {
            // Executor context: no task is being polled, so this cannot kill one.
            // SAFETY: 0xdead0000 is not mapped: the read is the deliberate kernel bug.
            unsafe { lazuli_kernel::arch::cpu::kernel_bug_read(0xdead_0000) };
        }
        false
    });
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
        "fault" => {
            FAULT_OUTSIDE_TASKS.store(true, Ordering::Relaxed);
            0
        }
        "lockfault" => {
            // Kernel code on behalf of this task, with a kernel lock held.
            lazuli_kernel::vm::active::with(|_| {
                // SAFETY: as above: the deliberate kernel bug, under the lock.
                unsafe { lazuli_kernel::arch::cpu::kernel_bug_read(0xdead_0000) }
            });
            kprintln!("ktest: the lock fault came back");
            qemu::exit(false)
        }
        "run" => {
            let failed = cases::run_all().await;
            qemu::exit(failed == 0)
        }
        other => {
            kprintln!("ktest: unknown command {other:?} (run | panic | fault | lockfault)");
            qemu::exit(false)
        }
    }
}
