//! What the kernels promise on the serial line, seen from the host.
//!
//! - The kernel exits QEMU through isa-debug-exit: it writes 0x10 for success and
//!   0x11 for failure, which QEMU turns into exit status `(v << 1) | 1` = 33 / 35.
//! - `lazuli` prints a banner line starting `lazuli `, then the prompt `$ `; it echoes
//!   what it reads; `poweroff` exits with success iff the previous command succeeded.
//! - `ktest` prints `ktest: ready`, reads one line (`run` or `panic`), and exits.
//!
//! [`ExecView`] is what `--exec` shows of a session: only the command's own output.

use crate::exec::{Send, Step, find};

/// QEMU's exit status when the kernel wrote [`KERNEL_SUCCESS`] to isa-debug-exit.
pub const QEMU_SUCCESS: i32 = 33;
/// QEMU's exit status when the kernel wrote [`KERNEL_FAILURE`].
pub const QEMU_FAILURE: i32 = 35;
/// The value the kernel writes to port 0xf4 for success.
pub const KERNEL_SUCCESS: u32 = 0x10;
/// The value the kernel writes to port 0xf4 for failure.
pub const KERNEL_FAILURE: u32 = 0x11;

/// How to talk to one kernel binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Protocol {
    /// Printed when the kernel is ready to read a line.
    pub ready: &'static str,
    /// Whether the kernel echoes the line it reads.
    pub echoes: bool,
    /// The line that ends the session, if the kernel does not end it by itself.
    pub exit_command: Option<&'static str>,
}

/// The shell of the real kernel.
pub const SHELL: Protocol = Protocol {
    ready: "$ ",
    echoes: true,
    exit_command: Some("poweroff"),
};

/// The in-kernel test kernel: one request, then it exits by itself.
pub const KTEST: Protocol = Protocol {
    ready: "ktest: ready\n",
    echoes: false,
    exit_command: None,
};

/// The protocol of kernel binary `name`; anything unknown is assumed to be a shell.
pub fn protocol(name: &str) -> Protocol {
    if name == "ktest" { KTEST } else { SHELL }
}

impl Protocol {
    /// Steps that type `line` once the kernel is ready, then the exit command (if
    /// any) once it is ready again.
    pub fn exec_steps(&self, line: &str) -> Vec<Step> {
        let mut steps = vec![Step {
            expect: self.ready.into(),
            send: Send::Text(format!("{line}\n")),
        }];
        if let Some(exit) = self.exit_command {
            steps.push(Step {
                expect: self.ready.into(),
                send: Send::Text(format!("{exit}\n")),
            });
        }
        steps
    }
}

/// Filters a session's output down to what `--exec` prints, chunk by chunk:
/// drops everything up to the first ready marker (firmware, bootloader, banner),
/// the echo of the typed line, and the echo of the exit command (`$ poweroff`).
/// Carriage returns are removed. If the kernel never got ready, [`ExecView::finish`]
/// returns the whole output so the reason is visible.
#[derive(Debug)]
pub struct ExecView {
    phase: Phase,
    /// Bytes received but not yet emitted.
    held: Vec<u8>,
    /// The marker before the body.
    ready: &'static str,
    echoes: bool,
    /// Ready marker + exit command echo, dropped from the body.
    trailer: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Before the ready marker: everything is held.
    Boot,
    /// After the marker, until the end of the echoed line.
    Echo,
    /// The command's output.
    Body,
    /// After the trailer: passed through.
    After,
}

impl ExecView {
    /// A view for a session with `protocol`.
    pub fn new(protocol: Protocol) -> ExecView {
        let trailer = protocol
            .exit_command
            .map(|exit| format!("{}{exit}\n", protocol.ready).into_bytes());
        ExecView {
            phase: Phase::Boot,
            held: Vec::new(),
            ready: protocol.ready,
            echoes: protocol.echoes,
            trailer,
        }
    }

    /// Takes the next output chunk; returns the bytes to print now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.held.extend(chunk.iter().filter(|&&b| b != b'\r'));
        let mut out = Vec::new();
        loop {
            match self.phase {
                Phase::Boot => {
                    let Some(at) = find(&self.held, self.ready.as_bytes()) else {
                        return out;
                    };
                    self.held.drain(..at + self.ready.len());
                    self.phase = if self.echoes {
                        Phase::Echo
                    } else {
                        Phase::Body
                    };
                }
                Phase::Echo => {
                    let Some(at) = self.held.iter().position(|&b| b == b'\n') else {
                        return out;
                    };
                    self.held.drain(..=at);
                    self.phase = Phase::Body;
                }
                Phase::Body => {
                    let Some(trailer) = &self.trailer else {
                        out.append(&mut self.held);
                        return out;
                    };
                    if let Some(at) = find(&self.held, trailer) {
                        out.extend(self.held.drain(..at));
                        self.held.drain(..trailer.len());
                        self.phase = Phase::After;
                        continue;
                    }
                    // Keep back a tail that may be the trailer's beginning.
                    let keep = (1..trailer.len().min(self.held.len() + 1))
                        .rev()
                        .find(|&n| self.held.ends_with(&trailer[..n]))
                        .unwrap_or(0);
                    out.extend(self.held.drain(..self.held.len() - keep));
                    return out;
                }
                Phase::After => {
                    out.append(&mut self.held);
                    return out;
                }
            }
        }
    }

    /// Ends the session; returns whatever was held back.
    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.held)
    }

    /// True once the kernel has shown its ready marker.
    pub fn reached_ready(&self) -> bool {
        self.phase != Phase::Boot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `output` to a shell view in chunks of `size` bytes.
    fn view(output: &str, size: usize) -> String {
        let mut view = ExecView::new(SHELL);
        let mut shown = Vec::new();
        for chunk in output.as_bytes().chunks(size) {
            shown.extend(view.push(chunk));
        }
        shown.extend(view.finish());
        String::from_utf8(shown).unwrap()
    }

    const SESSION: &str =
        "BIOS noise\r\nlazuli 0.1\r\n$ hello\r\nhello from lazuli\r\n$ poweroff\r\n";

    #[test]
    fn exec_shows_only_the_command_output_however_it_is_chunked() {
        for size in 1..SESSION.len() {
            assert_eq!(
                view(SESSION, size),
                "hello from lazuli\n",
                "chunk size {size}"
            );
        }
    }

    #[test]
    fn a_prompt_lookalike_in_the_body_is_kept() {
        let out = view("$ x\n$ price\n$ poweroff\n", 3);
        assert_eq!(out, "$ price\n");
    }

    #[test]
    fn output_after_the_poweroff_echo_is_kept() {
        assert_eq!(view("$ x\nok\n$ poweroff\nbye\n", 4), "ok\nbye\n");
    }

    #[test]
    fn a_kernel_that_never_gets_ready_shows_everything() {
        let out = view("KERNEL PANIC: oops at a.rs:1\n", 5);
        assert_eq!(out, "KERNEL PANIC: oops at a.rs:1\n");
    }

    #[test]
    fn ktest_shows_everything_after_ready() {
        let mut view = ExecView::new(KTEST);
        let mut out = view.push(b"noise\nktest: ready\ntest a ... ok\n");
        out.extend(view.finish());
        assert_eq!(out, b"test a ... ok\n");
    }

    #[test]
    fn shell_exec_types_the_line_then_poweroff() {
        let steps = SHELL.exec_steps("hello");
        assert_eq!(steps.len(), 2);
        assert!(matches!(&steps[0].send, Send::Text(t) if t == "hello\n"));
        assert!(matches!(&steps[1].send, Send::Text(t) if t == "poweroff\n"));
        assert_eq!(KTEST.exec_steps("run").len(), 1);
    }
}
