//! The framebuffer console, seen from outside: boot the real kernel with a QEMU
//! monitor socket and take `screendump`s — the screen after boot is not one flat
//! colour, and it changes when a command prints.
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
    let trials = vec![Trial::test(
        "bios::framebuffer_shows_text_and_changes",
        framebuffer_changes,
    )];
    libtest_mimic::run(&args, trials).exit();
}

/// Boots the real kernel with a monitor socket: the screen after boot is not one
/// flat colour, and it changes when a command prints.
fn framebuffer_changes() -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("lazuli-screen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let sock = dir.join("monitor.sock");
    let files = lazuli::kernel("lazuli").ok_or("no lazuli image")?;
    let tools = lazuli::tools::ensure(true)?;
    let machine = lazuli::qemu::Machine::headless(files.bios.clone(), lazuli::qemu::Firmware::Bios);
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
    let prompts = |n: usize| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if output
                .lock()
                .expect("output")
                .windows(2)
                .filter(|w| w == b"$ ")
                .count()
                >= n
            {
                thread::sleep(Duration::from_millis(300)); // let the framebuffer catch up
                return Ok(());
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(format!("no prompt #{n}"))
    };
    let result = (|| -> Result<(), Failed> {
        prompts(1)?;
        let before = screendump(&sock, &dir.join("before.ppm"))?;
        if before.iter().all(|&b| b == before[0]) {
            return Err("the screen is one flat colour after boot".into());
        }
        let stdin = child.stdin.as_mut().expect("piped");
        stdin.write_all(b"help\n")?;
        stdin.flush()?;
        prompts(2)?;
        let after = screendump(&sock, &dir.join("after.ppm"))?;
        if before == after {
            return Err("the screen did not change when `help` printed".into());
        }
        Ok(())
    })();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Asks QEMU's monitor for a screendump and returns the PPM's pixel bytes.
fn screendump(sock: &Path, file: &Path) -> Result<Vec<u8>, Failed> {
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
    writeln!(monitor, "screendump {}", file.display())?;
    read_prompt(&mut monitor)?;
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
