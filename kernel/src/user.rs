//! The kernel side of `lazuli_api::user`: a task's accesses to its own memory by
//! address, and calls of code in its user pages, which run in ring 3.
//!
//! An access that fails — refused by the address rule, or a fault the fault path
//! cannot satisfy — marks the calling task for death and answers `Killed`; the
//! executor ends the task when its poll returns (see `task::executor`).
use crate::{
    arch::{
        user_access::{self, Size},
        usermode::{self, Exit, SYS_RETURN, TRAMPOLINE, UserRegs},
    },
    task, time,
};
use alloc::boxed::Box;
use core::{
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};
use lazuli_api::{
    Access, BoxFuture, FaultReport, KillReason, Killed, Why, layout::STACK_TOP, layout::USER_END,
    user::Width,
};

/// What `rax` says of an unknown system call.
const NO_SUCH_CALL: u64 = u64::MAX;

fn size(width: Width) -> Size {
    match width {
        Width::Byte => Size::Byte,
        Width::Word => Size::Word,
    }
}

fn killed(report: FaultReport) -> Killed {
    task::kill_current(KillReason::PageFault(report));
    Killed
}

/// Reads a byte or word of the calling task's memory.
pub fn read(addr: usize, width: Width) -> Result<u64, Killed> {
    user_access::read(addr as u64, size(width)).map_err(killed)
}

/// Writes a byte or word of the calling task's memory.
pub fn write(addr: usize, width: Width, value: u64) -> Result<(), Killed> {
    user_access::write(addr as u64, size(width), value).map_err(killed)
}

/// Calls the code at `addr` in ring 3 on the task's user stack, as a function of
/// no arguments; resolves to its `rax` when it returns. Preempted by the timer: the
/// task yields and resumes where the code was.
pub fn call(addr: usize) -> BoxFuture<Result<u64, Killed>> {
    Box::pin(UserCall {
        addr: addr as u64,
        regs: None,
    })
}

struct UserCall {
    addr: u64,
    /// The code's registers once it has started.
    regs: Option<Box<UserRegs>>,
}

impl UserCall {
    /// Registers for the first entry: rip at the code, the trampoline's address
    /// pushed as the return address at the top of the user stack.
    fn start(&self) -> Result<Box<UserRegs>, Killed> {
        if self.addr >= USER_END {
            return Err(killed(FaultReport {
                addr: self.addr,
                access: Access::Exec,
                why: Why::NotUserMemory,
            }));
        }
        let rsp = STACK_TOP - 8; // 8 mod 16, as after a `call`
        user_access::write(rsp, Size::Word, TRAMPOLINE).map_err(killed)?;
        Ok(Box::new(UserRegs::new(self.addr, rsp)))
    }
}

impl Future for UserCall {
    type Output = Result<u64, Killed>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut regs = match self.regs.take() {
            Some(regs) => regs,
            None => match self.start() {
                Ok(regs) => regs,
                Err(killed) => return Poll::Ready(Err(killed)),
            },
        };
        // A loop of system calls never meets the timer in ring 3 (ticks that come
        // while the kernel answers them are taken in ring 0): yield once time moved.
        let start = time::ticks();
        loop {
            match usermode::run(&mut regs) {
                Exit::Syscall if regs.rax == SYS_RETURN => return Poll::Ready(Ok(regs.rdi)),
                Exit::Syscall if time::ticks() == start => regs.rax = NO_SUCH_CALL,
                Exit::Syscall => {
                    regs.rax = NO_SUCH_CALL;
                    self.regs = Some(regs);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Exit::Preempted => {
                    self.regs = Some(regs);
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                Exit::Killed(reason) => {
                    task::kill_current(reason);
                    return Poll::Ready(Err(Killed));
                }
            }
        }
    }
}
