//! Apps linked into lazuli. Each is an async function over `lazuli_api` only; the
//! shell finds them by name in [`APPS`] and runs each as its own task.
#![cfg_attr(not(test), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bench;
pub mod files;
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
        help: "run tasks past RAM (with swap all survive; without, only they die), frames return",
        main: |a| Box::pin(pressure::main(a)),
    },
    App {
        name: "stress",
        help: "random VM operations checked against a model: stress [SEED [OPS [HOLD_MIB]]]",
        main: |a| Box::pin(stress::main(a)),
    },
    App {
        name: "bench",
        help: "fault-path figures in TSC ticks (bench [short])",
        main: |a| Box::pin(bench::main(a)),
    },
    App {
        name: "ls",
        help: "list a directory of the disk: ls [DIR]",
        main: |a| Box::pin(files::ls(a)),
    },
    App {
        name: "cat",
        help: "print a file: cat PATH",
        main: |a| Box::pin(files::cat(a)),
    },
    App {
        name: "write",
        help: "replace a file with a line of text: write PATH TEXT",
        main: |a| Box::pin(files::write(a)),
    },
    App {
        name: "rm",
        help: "remove a file: rm PATH",
        main: |a| Box::pin(files::rm(a)),
    },
    App {
        name: "mkdir",
        help: "make a directory: mkdir PATH",
        main: |a| Box::pin(files::mkdir(a)),
    },
    App {
        name: "sync",
        help: "write everything cached to the disk",
        main: |a| Box::pin(files::sync(a)),
    },
    App {
        name: "disk",
        help: "the disk, its size, its file system and free space",
        main: |a| Box::pin(files::disk(a)),
    },
    App {
        name: "swap",
        help: "the swap area's pages in use",
        main: |_| Box::pin(sys::swap()),
    },
    App {
        name: "cache",
        help: "pages the page cache holds (cache drop: give back the clean ones)",
        main: |a| Box::pin(files::cache(a)),
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
