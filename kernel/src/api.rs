//! The kernel's side of the app API: `lazuli_api::Kernel` (and its diagnostics),
//! implemented by forwarding to the subsystems. Apps reach the kernel only through this.
use crate::task::sched::ForkKind;
use crate::{arch, console, fs, fs::files, input, mem, mem::frame, task, time, user, vm};
use alloc::{boxed::Box, vec::Vec};
use lazuli_api::{
    BoxFuture, ExitStatus, ForegroundError, ForkError, HeapUsage, Kernel, Killed, MapKind, Pid,
    Placement, Prot, RegionView, SwapUsage, TaskInfo, VmError, WaitError,
    diag::Diagnostics,
    fs::{DirEntry, DiskInfo, Fd, FileError, Files, IoFuture, MapError, OpenOptions, Sharing},
    user::Width,
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
    fn heap(&self) -> HeapUsage {
        HeapUsage {
            used: mem::heap::used(),
            total: mem::heap::HEAP_SIZE as usize,
        }
    }
    fn swap(&self) -> SwapUsage {
        let (used, total) = crate::block::swap::usage().unwrap_or((0, 0));
        let (written, read) = crate::block::swap::traffic();
        SwapUsage {
            used: used as usize,
            total: total as usize,
            written,
            read,
        }
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
    fn map(&self, len: usize, kind: MapKind, at: Placement) -> Result<usize, VmError> {
        vm::calls::map(len, kind, at)
    }
    fn munmap(&self, addr: usize, len: usize) -> Result<(), VmError> {
        vm::calls::munmap(addr, len)
    }
    fn mprotect(&self, addr: usize, len: usize, prot: Prot) -> Result<(), VmError> {
        vm::calls::mprotect(addr, len, prot)
    }
    fn user_read(&self, addr: usize, width: Width) -> Result<u64, Killed> {
        user::read(addr, width)
    }
    fn user_write(&self, addr: usize, width: Width, value: u64) -> Result<(), Killed> {
        user::write(addr, width, value)
    }
    fn user_call(&self, addr: usize) -> BoxFuture<Result<u64, Killed>> {
        user::call(addr)
    }
    fn wait(&self, pid: Pid) -> BoxFuture<Result<ExitStatus, WaitError>> {
        task::sched::wait(task::current(), pid)
    }
    fn set_foreground(&self, pid: Option<Pid>) -> Result<(), ForegroundError> {
        task::sched::set_foreground(task::current(), pid)
    }
    fn sleep(&self, ms: u64) -> BoxFuture<()> {
        Box::pin(time::sleep(ms))
    }
    fn uptime_ms(&self) -> u64 {
        time::uptime_ms()
    }
    fn read_byte(&self) -> BoxFuture<u8> {
        Box::pin(input::read_byte())
    }
    fn print(&self, text: &str) {
        console::write_str(text);
    }
    fn print_bytes(&self, bytes: &[u8]) {
        console::write_bytes(bytes);
    }
    fn tasks(&self) -> Vec<TaskInfo> {
        task::sched::tasks()
    }
    fn regions(&self) -> Vec<RegionView> {
        vm::calls::regions()
    }
    fn present_pages(&self) -> Vec<usize> {
        vm::calls::present_pages()
    }
    fn swapped_pages(&self) -> Vec<usize> {
        vm::calls::swapped_pages()
    }
    fn print_cells(&self, cells: &str) {
        console::write_cells(cells);
    }
    fn clear_screen(&self) {
        console::clear();
    }
    fn poweroff(&self, success: bool) -> ! {
        // Everything written reaches the disk before the machine stops.
        if let Err(e) = fs::sync()
            && e != FileError::NoDisk
        {
            console::write_str(&alloc::format!("poweroff: sync: {e}\n"));
        }
        arch::qemu::exit(success)
    }
}

impl Diagnostics for Api {
    fn zero_page_ticks(&self) -> u64 {
        frame::zero_ticks()
    }
    fn pool_refill_ticks(&self) -> u64 {
        frame::prezero_ticks()
    }
    fn last_teardown_ticks(&self) -> u64 {
        task::executor::last_teardown_ticks()
    }
    fn breakpoint(&self) {
        x86_64::instructions::interrupts::int3();
    }
    fn arm_fault_timing(&self) {
        vm::fault_timing::arm();
    }
    fn fault_handler_ticks(&self) -> Option<alloc::vec::Vec<lazuli_api::diag::FaultTicks>> {
        vm::fault_timing::disarm()
    }
    fn disk_read_ticks(&self, bytes: usize, polled: bool) -> Option<u64> {
        let mut buf = alloc::vec![0u8; bytes];
        let mut timed = || {
            crate::block::with_device(|d| {
                let t0 = arch::cpu::rdtsc();
                let read = d.read(0, &mut buf);
                read.ok().map(|()| arch::cpu::rdtsc() - t0)
            })
            .ok()
            .flatten()
        };
        if polled {
            x86_64::instructions::interrupts::without_interrupts(timed)
        } else {
            timed()
        }
    }
    fn swap_read_ticks(&self) -> Option<u64> {
        x86_64::instructions::interrupts::without_interrupts(crate::block::swap::read_ticks)
    }
    fn swap_out_ticks(&self, addr: usize) -> Option<u64> {
        vm::active::with(|space| space.swap_out_now(addr as u64)).flatten()
    }
}

impl Files for Api {
    fn open(&self, path: &str, options: OpenOptions) -> Result<Fd, FileError> {
        files::open(path, options)
    }
    fn read<'a>(&self, fd: Fd, buf: &'a mut [u8]) -> IoFuture<'a, Result<usize, FileError>> {
        Box::pin(files::read(fd, buf))
    }
    fn write<'a>(&self, fd: Fd, buf: &'a [u8]) -> IoFuture<'a, Result<usize, FileError>> {
        Box::pin(files::write(fd, buf))
    }
    fn seek(&self, fd: Fd, offset: u64) -> Result<(), FileError> {
        files::seek(fd, offset)
    }
    fn size(&self, fd: Fd) -> Result<u64, FileError> {
        files::size(fd)
    }
    fn close(&self, fd: Fd) -> Result<(), FileError> {
        files::close(fd)
    }
    fn list(&self, path: &str) -> Result<Vec<DirEntry>, FileError> {
        files::list(path)
    }
    fn remove(&self, path: &str) -> Result<(), FileError> {
        files::remove(path)
    }
    fn mkdir(&self, path: &str) -> Result<(), FileError> {
        files::mkdir(path)
    }
    fn sync(&self) -> Result<(), FileError> {
        fs::sync()
    }
    fn disk(&self) -> Result<DiskInfo, FileError> {
        fs::with(|s| s.disk())
    }
    fn map(
        &self,
        fd: Fd,
        offset: u64,
        len: usize,
        prot: Prot,
        sharing: Sharing,
        at: Placement,
    ) -> Result<usize, MapError> {
        fs::mapped::map(fd, offset, len, prot, sharing, at)
    }
    fn msync(&self, addr: usize, len: usize) -> Result<(), MapError> {
        fs::mapped::msync(addr, len)
    }
    fn cache_pages(&self) -> usize {
        fs::with(|s| Ok(s.cache.frames())).unwrap_or(0)
    }
    fn drop_cache(&self) -> usize {
        fs::with(|s| Ok(s.cache.drop_clean())).unwrap_or(0)
    }
}

static API: Api = Api;

/// Makes the kernel available to apps.
pub fn install() {
    lazuli_api::install(&API, &API, &API);
}
