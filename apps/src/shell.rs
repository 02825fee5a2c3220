//! The shell: reads lines from the console input (keyboard and serial alike), echoes
//! them with backspace editing, and runs each command as its own task, waiting for it.
//!
//! Built-ins: `help`, `clear`, `poweroff` (exits with the last command's status, like `exit`
//! defaulting to `$?`). Everything else is looked up in [`crate::APPS`].
use crate::{APPS, find};
use alloc::string::{String, ToString};
use lazuli_api::{ExitStatus, print, println};

const PROMPT: &str = "$ ";

/// Status of an unknown command, as in POSIX shells.
pub const NOT_FOUND: i32 = 127;

pub async fn main() -> i32 {
    let mut status = 0;
    loop {
        print!("{PROMPT}");
        let line = read_line().await;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        status = run(line, status).await;
    }
}

/// Reads one line, echoing it and handling backspace.
async fn read_line() -> String {
    let mut line = String::new();
    loop {
        match lazuli_api::read_byte().await {
            b'\n' => {
                print!("\n");
                return line;
            }
            0x08 => {
                if line.pop().is_some() {
                    print!("\x08 \x08");
                }
            }
            b if (0x20..0x7f).contains(&b) || b == b'\t' => {
                line.push(b as char);
                print!("{}", b as char);
            }
            _ => {}
        }
    }
}

/// Runs one command line; returns its status.
async fn run(line: &str, last: i32) -> i32 {
    let (name, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    match name {
        "help" => {
            for app in APPS {
                println!("{:<10} {}", app.name, app.help);
            }
            println!("{:<10} clear the screen", "clear");
            println!("{:<10} list the commands", "help");
            println!(
                "{:<10} power off (QEMU exit status: the last command's)",
                "poweroff"
            );
            0
        }
        "clear" => {
            lazuli_api::clear_screen();
            0
        }
        "poweroff" => lazuli_api::poweroff(last == 0),
        _ => match find(name) {
            Some(app) => {
                let pid = lazuli_api::spawn(app.name, (app.main)(args.trim().to_string()));
                match lazuli_api::wait(pid).await {
                    Ok(ExitStatus::Exited(code)) => code,
                    Ok(ExitStatus::Killed(reason)) => {
                        println!("{name}: killed: {reason}");
                        1
                    }
                    Err(e) => {
                        println!("{name}: wait failed: {e:?}");
                        1
                    }
                }
            }
            None => {
                println!("unknown command: {name} (try help)");
                NOT_FOUND
            }
        },
    }
}
