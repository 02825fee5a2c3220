//! The app API: everything an app may ask of lazuli — what xv6's `user.h` was.
//!
//! Apps are async Rust functions linked into the kernel image. They see this crate and
//! nothing else of the kernel: the kernel installs an implementation of [`Kernel`] at
//! boot, and the free functions here forward to it. Contracts: CONTRACTS.md section 4.
//!
//! Printing formats into a heap string *before* the kernel's console lock is taken, so
//! an app that prints a value read from its own (possibly not yet present) memory
//! faults with no kernel lock held.
#![no_std]
#![deny(unsafe_code)]

extern crate alloc;

use alloc::{boxed::Box, string::String, vec::Vec};
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

pub mod user;

pub use lazuli_vm::{Placement, Prot, VmError, layout};

/// A boxed task future, as the kernel stores it. Single CPU: not `Send`.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + 'static>>;

/// A task's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pid(pub u64);

impl core::fmt::Display for Pid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a task ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// The task's future returned this code.
    Exited(i32),
    /// The kernel killed the task; the reason reads like
    /// `page fault at 0x40000000 (write, not mapped)`.
    Killed(String),
}

/// Why `wait` could not wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The pid is not a child of the caller (or was already waited for).
    NotChild,
}

/// Why `fork` made no child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkError {
    /// Not enough free frames to copy the caller's present pages.
    NoMemory,
    /// Called outside any task (kernel start-up code).
    NotInTask,
}

/// One line of `ps`.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub pid: Pid,
    pub name: String,
    pub numvp: usize,
    pub numpp: usize,
}

/// One region of the caller's address space, for pictures (`show`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionView {
    pub start: usize,
    pub end: usize,
    /// `stack`, `guard`, `heap`, `mmap`, …
    pub kind: String,
    /// `rw`, `r`, `rx`, `none`, …
    pub prot: String,
}

/// What the kernel provides. Implemented once, by the kernel; apps use the free
/// functions below instead.
pub trait Kernel: Sync {
    fn mmap(&self, nbytes: isize) -> usize;
    fn sbrk(&self, delta: isize) -> usize;
    fn numvp(&self) -> usize;
    fn numpp(&self) -> usize;
    fn getptsize(&self) -> usize;
    fn free_frames(&self) -> usize;
    fn total_frames(&self) -> usize;
    fn getpid(&self) -> Pid;
    fn spawn(&self, name: &str, task: BoxFuture<i32>) -> Pid;
    fn fork(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError>;
    fn fork_copy(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError>;
    fn map(&self, len: usize, prot: Prot, at: Placement, guard: bool) -> Result<usize, VmError>;
    fn munmap(&self, addr: usize, len: usize) -> Result<(), VmError>;
    fn mprotect(&self, addr: usize, len: usize, prot: Prot) -> Result<(), VmError>;
    fn wait(&self, pid: Pid) -> BoxFuture<Result<ExitStatus, WaitError>>;
    fn sleep(&self, ms: u64) -> BoxFuture<()>;
    fn uptime_ms(&self) -> u64;
    fn timestamp(&self) -> u64;
    fn read_byte(&self) -> BoxFuture<u8>;
    fn print(&self, text: &str);
    fn tasks(&self) -> Vec<TaskInfo>;
    fn regions(&self) -> Vec<RegionView>;
    fn present_pages(&self) -> Vec<usize>;
    fn print_cells(&self, cells: &str);
    fn zero_page_ticks(&self) -> u64;
    fn heap_used(&self) -> usize;
    fn last_teardown_ticks(&self) -> u64;
    fn clear_screen(&self);
    fn poweroff(&self, success: bool) -> !;
}

static KERNEL: spin::Once<&'static dyn Kernel> = spin::Once::new();

/// Installs the kernel's implementation. Called once at boot, before any app runs.
pub fn install(kernel: &'static dyn Kernel) {
    KERNEL.call_once(|| kernel);
}

fn kernel() -> &'static dyn Kernel {
    *KERNEL
        .get()
        .expect("lazuli-api used before the kernel installed itself")
}

/// The seed call: reserve `nbytes` (> 0, a multiple of 4096) at the break, lazily.
/// Returns the start, or 0 on any error. One such region per task.
pub fn mmap(nbytes: isize) -> usize {
    kernel().mmap(nbytes)
}

/// xv6 `sbrk`: moves the break by `delta`, backing new pages eagerly.
/// Returns the old break, or `usize::MAX` on failure.
pub fn sbrk(delta: isize) -> usize {
    kernel().sbrk(delta)
}

/// Pages of this task's user part that are reserved (CONTRACTS.md section 5).
pub fn numvp() -> usize {
    kernel().numvp()
}

/// Present 4 KiB pages of this task's user part.
pub fn numpp() -> usize {
    kernel().numpp()
}

/// Page-table pages this task owns (its PML4 and the tables below it in the user part).
pub fn getptsize() -> usize {
    kernel().getptsize()
}

/// Free physical frames, machine-wide.
pub fn free_frames() -> usize {
    kernel().free_frames()
}

/// All physical frames the kernel manages.
pub fn total_frames() -> usize {
    kernel().total_frames()
}

/// This task's id.
pub fn getpid() -> Pid {
    kernel().getpid()
}

/// Starts `task` as a new task with a fresh address space (how the shell runs commands).
pub fn spawn(name: &str, task: impl Future<Output = i32> + 'static) -> Pid {
    kernel().spawn(name, Box::pin(task))
}

/// Forks: the child gets a copy of the caller's address space and runs `child`.
/// Present pages are shared copy-on-write; untouched pages stay lazy.
pub fn fork(child: impl Future<Output = i32> + 'static) -> Result<Pid, ForkError> {
    kernel().fork(Box::pin(child))
}

/// The seed's fork: like [`fork`], but every present page is copied at once.
pub fn fork_copy(child: impl Future<Output = i32> + 'static) -> Result<Pid, ForkError> {
    kernel().fork_copy(Box::pin(child))
}

/// Reserves a new region of `len` bytes (rounded up to pages) with `prot`, placed
/// by `at`; returns its start. Any number of regions per task; no frame is taken.
pub fn map(len: usize, prot: Prot, at: Placement) -> Result<usize, VmError> {
    kernel().map(len, prot, at, false)
}

/// Reserves a guard region: pages that kill on any access.
pub fn map_guard(len: usize, at: Placement) -> Result<usize, VmError> {
    kernel().map(len, Prot::NONE, at, true)
}

/// Unmaps every page of [addr, addr + len) (addr page-aligned, len rounded up).
pub fn munmap(addr: usize, len: usize) -> Result<(), VmError> {
    kernel().munmap(addr, len)
}

/// Changes the rights of [addr, addr + len); every page must be mapped.
pub fn mprotect(addr: usize, len: usize, prot: Prot) -> Result<(), VmError> {
    kernel().mprotect(addr, len, prot)
}

/// Waits for a child to end. Errors at once if `pid` is not the caller's child.
pub fn wait(pid: Pid) -> BoxFuture<Result<ExitStatus, WaitError>> {
    kernel().wait(pid)
}

/// Resolves after at least `ms` milliseconds.
pub fn sleep(ms: u64) -> BoxFuture<()> {
    kernel().sleep(ms)
}

/// Milliseconds since boot.
pub fn uptime_ms() -> u64 {
    kernel().uptime_ms()
}

/// A serialised TSC reading (`lfence; rdtsc`), for measuring in ticks.
pub fn timestamp() -> u64 {
    kernel().timestamp()
}

/// The next byte of console input (keyboard and serial share one stream).
pub fn read_byte() -> BoxFuture<u8> {
    kernel().read_byte()
}

/// Prints text to the console (framebuffer and serial).
pub fn print_str(text: &str) {
    kernel().print(text)
}

/// Powers the machine off; `success` becomes QEMU's exit status.
pub fn poweroff(success: bool) -> ! {
    kernel().poweroff(success)
}

/// Live tasks, for `ps`.
pub fn tasks() -> Vec<TaskInfo> {
    kernel().tasks()
}

/// The caller's regions, in address order.
pub fn regions() -> Vec<RegionView> {
    kernel().regions()
}

/// Addresses of the caller's present pages, in order.
pub fn present_pages() -> Vec<usize> {
    kernel().present_pages()
}

/// Prints a row of page cells: on serial as the characters themselves, on the
/// framebuffer as coloured squares (`#` present, `+` partly present, `.` reserved,
/// `x` guard); other characters print as text.
pub fn print_cells(cells: &str) {
    kernel().print_cells(cells)
}

/// Ticks the kernel takes to zero one frame with the fault path's method (a frame
/// is taken, zeroed, given back) — `bench zero_page`.
pub fn zero_page_ticks() -> u64 {
    kernel().zero_page_ticks()
}

/// Ticks the kernel spent freeing the address space of the task that ended last
/// (frames, page tables, root) — `bench exit_free_N`.
pub fn last_teardown_ticks() -> u64 {
    kernel().last_teardown_ticks()
}

/// Bytes of kernel heap in use (apps and kernel share it): for leak checks.
pub fn heap_used() -> usize {
    kernel().heap_used()
}

/// Clears the screen (framebuffer, and the serial terminal with an ANSI sequence).
pub fn clear_screen() {
    kernel().clear_screen()
}

/// Gives other tasks a turn: pending once, then ready.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[doc(hidden)]
pub fn _print(args: core::fmt::Arguments) {
    // Format first (may read app memory and fault), then hand the text over.
    let text = alloc::fmt::format(args);
    print_str(&text);
}

/// Prints to the console.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => ($crate::_print(format_args!($($arg)*)));
}

/// Prints to the console, with a newline.
#[macro_export]
macro_rules! println {
    () => ($crate::print!("\n"));
    ($($arg:tt)*) => ($crate::_print(format_args!("{}\n", format_args!($($arg)*))));
}
