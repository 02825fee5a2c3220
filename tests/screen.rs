//! The framebuffer console and the PS/2 keyboard, seen from outside: boot the real
//! kernel with a QEMU monitor socket, take `screendump`s — the screen after boot is
//! not one flat colour, and it changes when a command prints — and press keys with
//! `sendkey`: Ctrl-C on the keyboard ends the running command.
use libtest_mimic::{Arguments, Failed, Trial};
use std::{
    io::{Read, Write},
    os::unix::net::UnixStream,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    thread,
    time::{Duration, Instant},
};

fn main() {
    let args = Arguments::from_args();
    let trials = vec![
        Trial::test(
            "bios::framebuffer_shows_text_and_changes",
            framebuffer_changes,
        ),
        Trial::test(
            "bios::ctrl_c_on_the_keyboard_ends_the_running_command",
            keyboard_ctrl_c,
        ),
    ];
    libtest_mimic::run(&args, trials).exit();
}

/// A booted `lazuli` with a monitor socket, its serial output collected.
struct Machine {
    dir: std::path::PathBuf,
    sock: std::path::PathBuf,
    child: std::process::Child,
    output: Arc<Mutex<Vec<u8>>>,
}

impl Machine {
    fn boot(name: &str) -> Result<Machine, Failed> {
        let dir = std::env::temp_dir().join(format!("lazuli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let sock = dir.join("monitor.sock");
        let files = lazuli::kernel("lazuli").ok_or("no lazuli image")?;
        let tools = lazuli::tools::ensure(true)?;
        let machine =
            lazuli::qemu::Machine::headless(files.bios.clone(), lazuli::qemu::Firmware::Bios);
        let mut command = machine.command(&tools);
        command
            .arg("-monitor")
            .arg(format!("unix:{},server,nowait", sock.display()));
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut stdout = child.stdout.take().expect("piped");
        let sink = Arc::clone(&output);
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("output").extend_from_slice(&buf[..n]);
            }
        });
        Ok(Machine {
            dir,
            sock,
            child,
            output,
        })
    }

    /// Waits until `text` has been printed `n` times.
    fn printed(&self, text: &[u8], n: usize) -> Result<(), Failed> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let seen = self.output.lock().expect("output");
            if seen.windows(text.len()).filter(|w| *w == text).count() >= n {
                drop(seen);
                thread::sleep(Duration::from_millis(300)); // let the framebuffer catch up
                return Ok(());
            }
            drop(seen);
            thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "{:?} not printed {n} time(s)",
            String::from_utf8_lossy(text)
        )
        .into())
    }

    /// Types on the serial line.
    fn type_serial(&mut self, text: &[u8]) -> Result<(), Failed> {
        let stdin = self.child.stdin.as_mut().expect("piped");
        stdin.write_all(text)?;
        stdin.flush()?;
        Ok(())
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Boots the real kernel with a monitor socket: the screen after boot is not one
/// flat colour, and it changes when a command prints.
fn framebuffer_changes() -> Result<(), Failed> {
    let mut machine = Machine::boot("screen")?;
    machine.printed(b"$ ", 1)?;
    let before = screendump(&machine.sock, &machine.dir.join("before.ppm"))?;
    if before.iter().all(|&b| b == before[0]) {
        return Err("the screen is one flat colour after boot".into());
    }
    machine.type_serial(b"help\n")?;
    machine.printed(b"$ ", 2)?;
    let after = screendump(&machine.sock, &machine.dir.join("after.ppm"))?;
    if before == after {
        return Err("the screen did not change when `help` printed".into());
    }
    Ok(())
}

/// A command started on the serial line is ended by Ctrl-C pressed on the PS/2
/// keyboard; the shell then takes a command typed on the keyboard.
fn keyboard_ctrl_c() -> Result<(), Failed> {
    let mut machine = Machine::boot("keyboard")?;
    machine.printed(b"$ ", 1)?;
    machine.type_serial(b"vm sleep 100000\n")?;
    machine.printed(b"vm sleep 100000\r\n", 1)?;
    monitor(&machine.sock, "sendkey ctrl-c")?;
    machine.printed(b"(vm) killed: interrupted", 1)?;
    machine.printed(b"$ ", 2)?;
    for key in ["n", "u", "m", "v", "p", "ret"] {
        monitor(&machine.sock, &format!("sendkey {key}"))?;
    }
    machine.printed(b"numvp\r\n9\r\n", 1)
}

/// Runs one command in QEMU's monitor and waits for the next prompt.
fn monitor(sock: &Path, command: &str) -> Result<(), Failed> {
    let mut monitor = UnixStream::connect(sock)?;
    monitor.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut seen = Vec::new();
    let mut read_prompt = |m: &mut UnixStream| -> Result<(), Failed> {
        let mut buf = [0u8; 1024];
        while !seen.ends_with(b"(qemu) ") {
            let n = m.read(&mut buf)?;
            if n == 0 {
                return Err("monitor closed".into());
            }
            seen.extend_from_slice(&buf[..n]);
        }
        seen.clear();
        Ok(())
    };
    read_prompt(&mut monitor)?;
    writeln!(monitor, "{command}")?;
    read_prompt(&mut monitor)
}

/// Asks QEMU's monitor for a screendump and returns the PPM's pixel bytes.
fn screendump(sock: &Path, file: &Path) -> Result<Vec<u8>, Failed> {
    monitor(sock, &format!("screendump {}", file.display()))?;
    let ppm = std::fs::read(file)?;
    // P6 header: magic, width, height, max value, each followed by whitespace.
    let mut fields = 0;
    let mut at = 0;
    while fields < 4 && at < ppm.len() {
        if ppm[at].is_ascii_whitespace() && (at == 0 || !ppm[at - 1].is_ascii_whitespace()) {
            fields += 1;
        }
        at += 1;
    }
    if !ppm.starts_with(b"P6") || at >= ppm.len() {
        return Err("not a PPM screendump".into());
    }
    Ok(ppm[at..].to_vec())
}
