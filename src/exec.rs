//! Running a boot to its end: typing into the serial line, collecting what the guest
//! printed, enforcing a timeout, and turning QEMU's exit status into an [`Exit`].
//!
//! Input is scripted expect/send style: each [`Step`] waits until its marker has
//! appeared in the output, then sends. Sending only once the guest is listening
//! matters: bytes sent earlier are eaten by OVMF's serial console or dropped when
//! the kernel resets the UART FIFO. Works for any child that talks on stdio, so the
//! tests drive the runner binary itself with it too.

use crate::protocol::{QEMU_FAILURE, QEMU_SUCCESS};
use std::{
    fmt,
    io::{self, Read, Write},
    process::{Child, ChildStdin, Command, ExitStatus, Stdio},
    sync::mpsc::{self, RecvTimeoutError},
    thread,
    time::{Duration, Instant},
};

/// How a boot ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The kernel wrote its success code to isa-debug-exit (QEMU status 33).
    Success,
    /// The kernel wrote its failure code (QEMU status 35).
    Failure,
    /// QEMU exited on its own with another status: a window closed, a triple fault
    /// with `-no-reboot` (0), an error in QEMU's arguments (1), and so on.
    Status(i32),
    /// QEMU was killed by a signal (Ctrl-C, SIGTERM).
    Signal(i32),
    /// We killed it: it ran longer than the timeout.
    TimedOut(Duration),
}

impl Exit {
    /// Maps QEMU's exit status; only [`QEMU_SUCCESS`] counts as success.
    pub fn from_status(status: ExitStatus) -> Exit {
        match status.code() {
            Some(QEMU_SUCCESS) => Exit::Success,
            Some(QEMU_FAILURE) => Exit::Failure,
            Some(code) => Exit::Status(code),
            None => Exit::Signal(signal_of(status)),
        }
    }

    /// The process exit code the runner passes on: 0 for success, 1 otherwise.
    pub fn runner_code(self) -> i32 {
        if self == Exit::Success { 0 } else { 1 }
    }
}

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exit::Success => write!(f, "kernel reported success (QEMU exit {QEMU_SUCCESS})"),
            Exit::Failure => write!(f, "kernel reported failure (QEMU exit {QEMU_FAILURE})"),
            Exit::Status(code) => write!(f, "QEMU exited with status {code}, not a kernel exit"),
            Exit::Signal(sig) => write!(f, "QEMU was killed by signal {sig}"),
            Exit::TimedOut(after) => write!(f, "timed out after {} s", after.as_secs()),
        }
    }
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> i32 {
    std::os::unix::process::ExitStatusExt::signal(&status).unwrap_or(0)
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> i32 {
    0
}

/// Something to type once the output shows `expect` (carriage returns ignored).
#[derive(Debug, Clone)]
pub struct Step {
    /// Text to wait for; searched in the output after the previous step's match.
    pub expect: String,
    /// What to send then.
    pub send: Send,
}

/// The input a [`Step`] sends.
#[derive(Debug, Clone)]
pub enum Send {
    /// These bytes, once.
    Text(String),
    /// Everything on our own stdin, copied until it ends (for piped input).
    OurStdin,
}

/// What a scripted boot produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    /// Everything the child wrote to stdout (the guest's serial output), raw.
    pub output: Vec<u8>,
    /// What the child wrote to stderr (QEMU's own complaints).
    pub stderr: String,
    /// Steps whose marker never showed up.
    pub unsent: usize,
    pub elapsed: Duration,
}

impl Outcome {
    /// The output as text, lossily decoded, with carriage returns removed.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output).replace('\r', "")
    }
}

/// Runs `command` with piped stdio: plays `steps`, copies each output chunk to
/// `live` as it arrives, and kills the child once `timeout` has passed.
pub fn scripted(
    mut command: Command,
    steps: &[Step],
    timeout: Option<Duration>,
    live: &mut dyn Write,
) -> io::Result<Outcome> {
    let start = Instant::now();
    let deadline = timeout.map(|t| start + t);
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take();
    let chunks = spawn_reader(child.stdout.take().expect("piped stdout"));
    let stderr = spawn_collector(child.stderr.take().expect("piped stderr"));

    let mut output = Vec::new();
    // The output without carriage returns: markers match whatever line ending
    // the guest uses.
    let mut seen = Vec::new();
    let mut search_from = 0;
    // Where the search for the current step's marker resumes: output already
    // searched is not searched again (a long output would make that quadratic,
    // and QEMU would stall on a serial line the runner drains too slowly).
    let mut resume = 0;
    let mut next = 0;
    let mut timed_out = false;
    loop {
        while let Some(step) = steps.get(next) {
            let marker = step.expect.as_bytes();
            let from = resume.max(search_from);
            let Some(at) = find(&seen[from..], marker) else {
                resume = seen.len().saturating_sub(marker.len().saturating_sub(1));
                break;
            };
            search_from = from + at + marker.len();
            resume = search_from;
            next += 1;
            send(&step.send, &mut stdin);
        }
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
        });
        match chunks.recv_timeout(wait) {
            Ok(chunk) => {
                // A closed stdout (`| head`) must not leave QEMU running unwatched.
                let _ = live.write_all(&chunk).and_then(|()| live.flush());
                seen.extend(chunk.iter().filter(|&&b| b != b'\r'));
                output.extend_from_slice(&chunk);
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) if deadline.is_some_and(|d| Instant::now() >= d) => {
                timed_out = true;
                break;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    let status = wait_until(&mut child, deadline)?;
    drop(stdin);
    let exit = match status {
        Some(status) if !timed_out => Exit::from_status(status),
        _ => Exit::TimedOut(timeout.unwrap_or_default()),
    };
    Ok(Outcome {
        exit,
        output,
        stderr: stderr.join().unwrap_or_default(),
        unsent: steps.len() - next,
        elapsed: start.elapsed(),
    })
}

/// Runs `command` on our own terminal (stdio inherited) until it exits, killing it
/// after `timeout` if one is given.
pub fn interactive(mut command: Command, timeout: Option<Duration>) -> io::Result<Exit> {
    let mut child = command.spawn()?;
    let deadline = timeout.map(|t| Instant::now() + t);
    Ok(match wait_until(&mut child, deadline)? {
        Some(status) => Exit::from_status(status),
        None => Exit::TimedOut(timeout.unwrap_or_default()),
    })
}

/// Waits for `child`; at `deadline` kills it and returns None.
fn wait_until(child: &mut Child, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
    let Some(deadline) = deadline else {
        return child.wait().map(Some);
    };
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            child.kill()?;
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Sends one step's input. A child that has already exited is not an error here:
/// its exit status tells the story.
fn send(what: &Send, stdin: &mut Option<ChildStdin>) {
    match what {
        Send::Text(text) => {
            if let Some(pipe) = stdin.as_mut() {
                let _ = pipe.write_all(text.as_bytes()).and_then(|()| pipe.flush());
            }
        }
        Send::OurStdin => {
            if let Some(mut pipe) = stdin.take() {
                thread::spawn(move || {
                    let _ = io::copy(&mut io::stdin().lock(), &mut pipe);
                });
            }
        }
    }
}

/// Reads `source` on a thread, handing over each chunk; the channel closes at EOF.
fn spawn_reader(mut source: impl Read + std::marker::Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = source.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Reads `source` to its end on a thread.
fn spawn_collector(
    mut source: impl Read + std::marker::Send + 'static,
) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = source.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Position of the first `needle` in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    fn step(expect: &str, text: &str) -> Step {
        Step {
            expect: expect.into(),
            send: Send::Text(text.into()),
        }
    }

    #[test]
    fn steps_wait_for_their_marker_across_line_endings_and_33_is_success() {
        let script = "printf 'ready\\r\\n'; read a; echo \"got $a\"; \
                      printf 'ready\\r\\n'; read b; echo \"got $b\"; exit 33";
        let steps = [step("ready\n", "one\n"), step("ready\n", "two\n")];
        let timeout = Some(Duration::from_secs(10));
        let outcome = scripted(sh(script), &steps, timeout, &mut io::sink()).unwrap();
        assert_eq!(outcome.exit, Exit::Success);
        assert_eq!(outcome.text(), "ready\ngot one\nready\ngot two\n");
        assert!(
            outcome.output.starts_with(b"ready\r\n"),
            "raw output is kept"
        );
        assert_eq!(outcome.unsent, 0);
    }

    #[test]
    fn only_33_is_success() {
        let run = |code: i32| {
            let command = sh(&format!("exit {code}"));
            scripted(command, &[], None, &mut io::sink()).unwrap().exit
        };
        assert_eq!(run(35), Exit::Failure);
        assert_eq!(run(0), Exit::Status(0));
        assert_eq!(run(0).runner_code(), 1);
        assert_eq!(run(33).runner_code(), 0);
    }

    #[test]
    fn a_hung_child_is_killed_at_the_timeout() {
        let timeout = Duration::from_millis(300);
        let outcome = scripted(sh("exec sleep 30"), &[], Some(timeout), &mut io::sink()).unwrap();
        assert_eq!(outcome.exit, Exit::TimedOut(timeout));
        assert!(outcome.elapsed < Duration::from_secs(5));
    }

    #[test]
    fn a_marker_that_never_comes_leaves_its_step_unsent() {
        let outcome = scripted(
            sh("echo hi; exit 35"),
            &[step("$ ", "x\n")],
            None,
            &mut io::sink(),
        )
        .unwrap();
        assert_eq!(outcome.unsent, 1);
        assert_eq!(outcome.exit, Exit::Failure);
    }
}
