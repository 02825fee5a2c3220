//! Apps linked into lazuli. Each is an async function over `lazuli_api` only; the
//! shell finds them by name in [`APPS`] and runs each as its own task.
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

pub mod bench;
pub mod hello;
pub mod shell;

use alloc::string::String;
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
        name: "hello",
        help: "print a greeting from a fresh task",
        main: |_| alloc::boxed::Box::pin(hello::main()),
    },
    App {
        name: "bench",
        help: "measure the fault path in TSC ticks (bench [short])",
        main: |args| alloc::boxed::Box::pin(bench::main(args)),
    },
];

/// The app called `name`.
pub fn find(name: &str) -> Option<&'static App> {
    APPS.iter().find(|app| app.name == name)
}
