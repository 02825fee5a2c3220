//! The kernel's side of the app API: `lazuli_api::Kernel`, implemented by forwarding
//! to the subsystems. Apps reach the kernel only through this.
use crate::task::sched::ForkKind;
use crate::{arch, console, input, mem::frame, task, time, vm};
use alloc::boxed::Box;
use lazuli_api::{
    BoxFuture, ExitStatus, ForkError, Kernel, Pid, Placement, Prot, RegionView, TaskInfo, VmError,
    WaitError,
};

struct Api;

impl Kernel for Api {
    fn mmap(&self, nbytes: isize) -> usize {
        vm::calls::mmap(nbytes)
    }
    fn sbrk(&self, delta: isize) -> usize {
        vm::calls::sbrk(delta)
    }
    fn numvp(&self) -> usize {
        vm::calls::numvp()
    }
    fn numpp(&self) -> usize {
        vm::calls::numpp()
    }
    fn getptsize(&self) -> usize {
        vm::calls::getptsize()
    }
    fn free_frames(&self) -> usize {
        frame::free_frames()
    }
    fn total_frames(&self) -> usize {
        frame::total_frames()
    }
    fn getpid(&self) -> Pid {
        task::current().unwrap_or(Pid(0))
    }
    fn spawn(&self, name: &str, future: BoxFuture<i32>) -> Pid {
        task::spawn(name, task::current(), future)
    }
    fn fork(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError> {
        task::sched::fork(ForkKind::CopyOnWrite, child)
    }
    fn fork_copy(&self, child: BoxFuture<i32>) -> Result<Pid, ForkError> {
        task::sched::fork(ForkKind::Copy, child)
    }
    fn map(&self, len: usize, prot: Prot, at: Placement, guard: bool) -> Result<usize, VmError> {
        vm::calls::map(len, prot, at, guard)
    }
    fn munmap(&self, addr: usize, len: usize) -> Result<(), VmError> {
        vm::calls::munmap(addr, len)
    }
    fn mprotect(&self, addr: usize, len: usize, prot: Prot) -> Result<(), VmError> {
        vm::calls::mprotect(addr, len, prot)
    }
    fn wait(&self, pid: Pid) -> BoxFuture<Result<ExitStatus, WaitError>> {
        task::sched::wait(task::current(), pid)
    }
    fn sleep(&self, ms: u64) -> BoxFuture<()> {
        Box::pin(time::sleep(ms))
    }
    fn uptime_ms(&self) -> u64 {
        time::uptime_ms()
    }
    fn timestamp(&self) -> u64 {
        arch::cpu::rdtsc()
    }
    fn read_byte(&self) -> BoxFuture<u8> {
        Box::pin(input::read_byte())
    }
    fn print(&self, text: &str) {
        console::write_str(text);
    }
    fn tasks(&self) -> alloc::vec::Vec<TaskInfo> {
        task::sched::tasks()
    }
    fn regions(&self) -> alloc::vec::Vec<RegionView> {
        vm::calls::regions()
    }
    fn present_pages(&self) -> alloc::vec::Vec<usize> {
        vm::calls::present_pages()
    }
    fn print_cells(&self, cells: &str) {
        console::write_cells(cells);
    }
    fn zero_page_ticks(&self) -> u64 {
        frame::zero_ticks()
    }
    fn heap_used(&self) -> usize {
        crate::mem::heap::used()
    }
    fn last_teardown_ticks(&self) -> u64 {
        task::executor::last_teardown_ticks()
    }
    fn clear_screen(&self) {
        console::clear();
    }
    fn poweroff(&self, success: bool) -> ! {
        arch::qemu::exit(success)
    }
}

static API: Api = Api;

/// Makes the kernel available to apps.
pub fn install() {
    lazuli_api::install(&API);
}
