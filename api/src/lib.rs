//! The app API: everything an app may ask of lazuli — what xv6's `user.h` was.
//!
//! Apps are async Rust functions linked into the kernel image. They see this crate and
//! nothing else of the kernel: the kernel installs an implementation of [`Kernel`] at
//! boot, and the free functions here forward to it. Contracts: CONTRACTS.md section 4.
//!
//! User memory is touched only through [`user`]'s async accessors, which the kernel
//! answers (or refuses) on the task's behalf; benchmark hooks live in [`diag`].
#![no_std]
// One module reads the TSC with inline assembly (`tsc`, audited there); nothing
// else here may use `unsafe`.
#![deny(unsafe_code)]

extern crate alloc;

use alloc::{boxed::Box, string::String, vec::Vec};
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

pub mod diag;
pub mod fs;
mod kill;
mod tsc;
pub mod user;

pub use kill::{Exception, KillReason};
pub use lazuli_vm::{
    Access, FaultReport, MapKind, Placement, Prot, RegionKind, VmError, Why, layout,
};

/// Bytes in a page: the unit of every mapping, fault and counter.
pub const PAGE_SIZE: usize = lazuli_vm::PAGE_SIZE as usize;

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
    /// The kernel killed the task (see [`KillReason`] for how it prints).
    Killed(KillReason),
}

/// The kernel is ending the calling task: whatever it asked for will not happen,
/// and the task's future must not go on (the user accessors wait forever on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Killed;

/// The kernel heap, for `heap` and leak checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeapUsage {
    pub used: usize,
    pub total: usize,
}

/// Why `wait` could not wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The pid is not a child of the caller (or was already waited for).
    NotChild,
}

/// Why `set_foreground` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForegroundError {
    /// The task is not one the caller started (nor a descendant of one).
    NotDescendant,
    /// Another task set the foreground; only it may end it.
    NotYours,
}

/// Why `fork` made no child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkError {
    /// Not enough free frames to copy the caller's present pages.
    NoMemory,
    /// Called outside any task (kernel start-up code).
    NotInTask,
}

/// The swap area's use, in pages (`total` 0: there is no swap area), and the
/// traffic since boot: pages written to it (reclaim) and read back (swap-in).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapUsage {
    pub used: usize,
    pub total: usize,
    pub written: u64,
    pub read: u64,
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionView {
    pub start: usize,
    pub end: usize,
    pub kind: RegionKind,
    pub prot: Prot,
}

/// What the kernel provides. Implemented once, by the kernel; apps use the free
/// functions below instead. Benchmark and test hooks are apart, in [`diag`].
pub trait Kernel: Sync {
    fn mmap(&self, nbytes: isize) -> usize;
    fn sbrk(&self, delta: isize) -> usize;
    fn numvp(&self) -> usize;
    fn numpp(&self) -> usize;
    fn getptsize(&self) -> usize;
    fn free_frames(&self) -> usize;
    fn total_frames(&self) -> usize;
    fn heap(&self) -> HeapUsage;
    fn swap(&self) -> SwapUsage;
    fn getpid(&self) -> Pid;
    fn spawn(&self, name: &str, task: BoxFuture<i32>) -> Pid;
    fn fork(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError>;
    fn fork_copy(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError>;
    fn map(&self, len: usize, kind: MapKind, at: Placement) -> Result<usize, VmError>;
    fn munmap(&self, addr: usize, len: usize) -> Result<(), VmError>;
    fn mprotect(&self, addr: usize, len: usize, prot: Prot) -> Result<(), VmError>;
    fn user_read(&self, addr: usize, width: user::Width) -> Result<u64, Killed>;
    fn user_write(&self, addr: usize, width: user::Width, value: u64) -> Result<(), Killed>;
    fn user_call(&self, addr: usize) -> BoxFuture<Result<u64, Killed>>;
    fn wait(&self, pid: Pid) -> BoxFuture<Result<ExitStatus, WaitError>>;
    fn set_foreground(&self, pid: Option<Pid>) -> Result<(), ForegroundError>;
    fn sleep(&self, ms: u64) -> BoxFuture<()>;
    fn uptime_ms(&self) -> u64;
    fn read_byte(&self) -> BoxFuture<u8>;
    fn print(&self, text: &str);
    fn print_bytes(&self, bytes: &[u8]);
    fn tasks(&self) -> Vec<TaskInfo>;
    fn regions(&self) -> Vec<RegionView>;
    fn present_pages(&self) -> Vec<usize>;
    fn swapped_pages(&self) -> Vec<usize>;
    fn print_cells(&self, cells: &str);
    fn clear_screen(&self);
    fn poweroff(&self, success: bool) -> !;
}

static KERNEL: spin::Once<&'static dyn Kernel> = spin::Once::new();

/// Installs the kernel's implementation. Called once at boot, before any app runs.
pub fn install(
    kernel: &'static dyn Kernel,
    diagnostics: &'static dyn diag::Diagnostics,
    files: &'static dyn fs::Files,
) {
    KERNEL.call_once(|| kernel);
    diag::install(diagnostics);
    fs::install(files);
}

pub(crate) fn kernel() -> &'static dyn Kernel {
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
    kernel().map(len, MapKind::Memory(prot), at)
}

/// Reserves a guard region: pages that kill on any access.
pub fn map_guard(len: usize, at: Placement) -> Result<usize, VmError> {
    kernel().map(len, MapKind::Guard, at)
}

/// Unmaps every page of [addr, addr + len) (addr page-aligned, len rounded up).
pub fn munmap(addr: usize, len: usize) -> Result<(), VmError> {
    kernel().munmap(addr, len)
}

/// Changes the rights of [addr, addr + len); every page must be mapped.
pub fn mprotect(addr: usize, len: usize, prot: Prot) -> Result<(), VmError> {
    kernel().mprotect(addr, len, prot)
}

/// Makes `pid` (a task the caller started, or one of its descendants) and the tasks
/// it forks or spawns the foreground: Ctrl-C kills them (`interrupted`). `None` ends
/// the foreground the caller set.
pub fn set_foreground(pid: Option<Pid>) -> Result<(), ForegroundError> {
    kernel().set_foreground(pid)
}

/// The kernel heap's use and size.
pub fn heap() -> HeapUsage {
    kernel().heap()
}

/// The swap area's use and size.
pub fn swap() -> SwapUsage {
    kernel().swap()
}

/// Frames no task's memory holds: the free ones and the page cache's (which it
/// gives back under pressure), less one for every swap slot in use (a page some
/// task will need a frame for again). Reclaim and swap-in leave it unchanged, so
/// once a run's tasks have ended it is back where it was — the leak check of
/// `stress` and `pressure`, with or without swapping on the way.
pub fn frames_at_rest() -> usize {
    (free_frames() + fs::cache_pages()).saturating_sub(swap().used)
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

/// The next byte of console input (keyboard and serial share one stream).
pub fn read_byte() -> BoxFuture<u8> {
    kernel().read_byte()
}

/// Prints text to the console (framebuffer and serial).
pub fn print_str(text: &str) {
    kernel().print(text)
}

/// Prints bytes that need not be text (a file's contents), exactly on serial.
pub fn print_bytes(bytes: &[u8]) {
    kernel().print_bytes(bytes);
}

/// Powers the machine off; `success` becomes QEMU's exit status. Everything
/// written reaches the disk first (an implicit `sync`).
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

/// Addresses of the caller's pages that are in the swap area, in order.
pub fn swapped_pages() -> Vec<usize> {
    kernel().swapped_pages()
}

/// Prints a row of page cells: on serial as the characters themselves, on the
/// framebuffer as coloured squares (`#` present, `+` partly present, `.` reserved,
/// `x` guard, `s` swapped); other characters print as text.
pub fn print_cells(cells: &str) {
    kernel().print_cells(cells)
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
