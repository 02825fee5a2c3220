//! Why the kernel ended a task: a typed value, printed in the contract's words.
use core::fmt;
use lazuli_vm::FaultReport;

/// A CPU exception raised by a task's own code (ring 3) that kills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exception {
    DivideError,
    Debug,
    Breakpoint,
    Overflow,
    BoundRange,
    InvalidOpcode,
    DeviceNotAvailable,
    InvalidTss,
    SegmentNotPresent,
    StackSegment,
    GeneralProtection,
    X87FloatingPoint,
    AlignmentCheck,
    SimdFloatingPoint,
}

impl fmt::Display for Exception {
    /// The exception's name as a kill reason says it: `general protection fault`, …
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Exception::DivideError => "divide error",
            Exception::Debug => "debug exception",
            Exception::Breakpoint => "breakpoint",
            Exception::Overflow => "overflow",
            Exception::BoundRange => "bound range exceeded",
            Exception::InvalidOpcode => "invalid opcode",
            Exception::DeviceNotAvailable => "device not available",
            Exception::InvalidTss => "invalid TSS",
            Exception::SegmentNotPresent => "segment not present",
            Exception::StackSegment => "stack-segment fault",
            Exception::GeneralProtection => "general protection fault",
            Exception::X87FloatingPoint => "x87 floating-point exception",
            Exception::AlignmentCheck => "alignment check",
            Exception::SimdFloatingPoint => "SIMD floating-point exception",
        })
    }
}

/// Why a task was killed (CONTRACTS.md sections 3, 6 and 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KillReason {
    /// A page fault of the task's own access that the kernel could not satisfy:
    /// `page fault at 0x40001000 (write, not mapped)`.
    PageFault(FaultReport),
    /// An exception raised by the task's code in user mode, at instruction `rip`:
    /// `invalid opcode at 0x40000000`.
    Exception { kind: Exception, rip: u64 },
    /// Ctrl-C ended the foreground command: `interrupted`.
    Interrupted,
    /// The task's parent (or an ancestor) was killed, and it went with it, so that
    /// nothing a killed command started outlives it: `parent killed`.
    ParentKilled,
    /// No frame was left even to start the task: `out of memory`.
    OutOfMemory,
}

impl fmt::Display for KillReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KillReason::PageFault(report) => write!(f, "{report}"),
            KillReason::Exception { kind, rip } => write!(f, "{kind} at {rip:#x}"),
            KillReason::Interrupted => f.write_str("interrupted"),
            KillReason::ParentKilled => f.write_str("parent killed"),
            KillReason::OutOfMemory => f.write_str("out of memory"),
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use lazuli_vm::{Access, Why};
    use std::string::ToString;

    #[test]
    fn kill_reasons_print_in_the_contract_words() {
        let fault = FaultReport {
            addr: 0x8000_0000_0000,
            access: Access::Read,
            why: Why::NotUserMemory,
        };
        assert_eq!(
            KillReason::PageFault(fault).to_string(),
            "page fault at 0x800000000000 (read, not user memory)"
        );
        let ud = KillReason::Exception {
            kind: Exception::InvalidOpcode,
            rip: 0x4000_0000,
        };
        assert_eq!(ud.to_string(), "invalid opcode at 0x40000000");
        let gp = KillReason::Exception {
            kind: Exception::GeneralProtection,
            rip: 0x4000_0001,
        };
        assert_eq!(gp.to_string(), "general protection fault at 0x40000001");
        let de = KillReason::Exception {
            kind: Exception::DivideError,
            rip: 0x10,
        };
        assert_eq!(de.to_string(), "divide error at 0x10");
        assert_eq!(KillReason::Interrupted.to_string(), "interrupted");
        assert_eq!(KillReason::ParentKilled.to_string(), "parent killed");
        assert_eq!(KillReason::OutOfMemory.to_string(), "out of memory");
    }
}
