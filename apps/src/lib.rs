//! Apps linked into lazuli. Each is an async function over `lazuli_api` only; the
//! shell finds them by name in [`APPS`] and runs each as its own task.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bench;
pub mod hello;
pub mod mmaptest;
pub mod pressure;
pub mod shell;
pub mod stress;
pub mod sys;
pub mod vm;

use alloc::{boxed::Box, string::String};
use lazuli_api::BoxFuture;

/// A command the shell can run.
pub struct App {
    pub name: &'static str,
    /// One line for `help`.
    pub help: &'static str,
    /// Builds the task's future from the rest of the command line.
    pub main: fn(args: String) -> BoxFuture<i32>,
}

/// Every app, in `help` order.
pub static APPS: &[App] = &[
    App {
        name: "numvp",
        help: "reserved pages of a fresh task",
        main: |_| Box::pin(sys::numvp_cmd()),
    },
    App {
        name: "numpp",
        help: "present pages of a fresh task",
        main: |_| Box::pin(sys::numpp_cmd()),
    },
    App {
        name: "getptsize",
        help: "page-table pages of a fresh task",
        main: |_| Box::pin(sys::getptsize_cmd()),
    },
    App {
        name: "mmaptest",
        help: "the seed's comprehensive lazy-mmap test",
        main: |_| Box::pin(mmaptest::main()),
    },
    App {
        name: "vm",
        help: "VM playground: vm mmap 8192; w $+0 97; stat; show",
        main: |a| Box::pin(vm::main(a)),
    },
    App {
        name: "free",
        help: "free and total physical frames",
        main: |_| Box::pin(sys::free()),
    },
    App {
        name: "heap",
        help: "kernel heap in use and its size",
        main: |_| Box::pin(sys::heap()),
    },
    App {
        name: "ps",
        help: "live tasks with their numvp and numpp",
        main: |_| Box::pin(sys::ps()),
    },
    App {
        name: "pressure",
        help: "run tasks out of memory, check the kernel lives and frames return",
        main: |a| Box::pin(pressure::main(a)),
    },
    App {
        name: "stress",
        help: "random VM operations checked against a model: stress [SEED [OPS]]",
        main: |a| Box::pin(stress::main(a)),
    },
    App {
        name: "bench",
        help: "fault-path figures in TSC ticks (bench [short])",
        main: |a| Box::pin(bench::main(a)),
    },
    App {
        name: "hello",
        help: "print a greeting from a fresh task",
        main: |_| Box::pin(hello::main()),
    },
];

/// The app called `name`.
pub fn find(name: &str) -> Option<&'static App> {
    APPS.iter().find(|app| app.name == name)
}
