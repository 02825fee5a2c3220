//! The shell: reads lines from the console input (keyboard and serial alike), echoes
//! them with backspace editing, and runs each command as its own task, waiting for it.
//!
//! Built-ins: `help`, `clear`, `poweroff` (exits with the last command's status, like `exit`
//! defaulting to `$?`). Everything else is looked up in [`crate::APPS`].
//!
//! A command runs in the foreground: Ctrl-C ends it (and what it started), the kernel
//! prints the kill, and the shell prompts again. Ctrl-C while a line is being typed
//! drops the line. Lines are at most [`MAX_LINE`] bytes; a longer one is refused whole.
use crate::{APPS, find};
use alloc::string::{String, ToString};
use lazuli_api::{ExitStatus, KillReason, print, println};

const PROMPT: &str = "$ ";

/// The longest line the shell takes, in bytes (without its newline).
pub const MAX_LINE: usize = 16_384;

/// Status of an unknown command, as in POSIX shells.
pub const NOT_FOUND: i32 = 127;

/// Status of a command ended by Ctrl-C (128 + SIGINT, as in POSIX shells).
pub const INTERRUPTED: i32 = 130;

/// Ctrl-C, as the console input delivers it.
const CTRL_C: u8 = 0x03;

pub async fn main() -> i32 {
    let mut status = 0;
    loop {
        print!("{PROMPT}");
        let line = match read_line().await {
            Line::Text(line) => line,
            Line::TooLong => {
                println!("shell: line too long ({MAX_LINE} bytes at most)");
                status = 1;
                continue;
            }
            Line::Cancelled => {
                status = INTERRUPTED;
                continue;
            }
        };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        status = run(line, status).await;
    }
}

/// What the user typed.
enum Line {
    Text(String),
    /// More than [`MAX_LINE`] bytes: the whole line is dropped.
    TooLong,
    /// Ctrl-C before the newline.
    Cancelled,
}

/// Reads one line, echoing it and handling backspace.
async fn read_line() -> Line {
    let mut line = String::new();
    let mut too_long = false;
    loop {
        match lazuli_api::read_byte().await {
            b'\n' => {
                print!("\n");
                return if too_long {
                    Line::TooLong
                } else {
                    Line::Text(line)
                };
            }
            CTRL_C => {
                print!("^C\n");
                return Line::Cancelled;
            }
            0x08 => {
                if !too_long && line.pop().is_some() {
                    print!("\x08 \x08");
                }
            }
            b if (0x20..0x7f).contains(&b) || b == b'\t' => {
                if line.len() < MAX_LINE {
                    line.push(b as char);
                    print!("{}", b as char);
                } else {
                    too_long = true; // keep reading to the newline, echoing nothing
                }
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
                // Our own child, then our own foreground: neither can be refused.
                let _ = lazuli_api::set_foreground(Some(pid));
                let status = lazuli_api::wait(pid).await;
                let _ = lazuli_api::set_foreground(None);
                match status {
                    Ok(ExitStatus::Exited(code)) => code,
                    Ok(ExitStatus::Killed(reason)) => {
                        println!("{name}: killed: {reason}");
                        if reason == KillReason::Interrupted {
                            INTERRUPTED
                        } else {
                            1
                        }
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
