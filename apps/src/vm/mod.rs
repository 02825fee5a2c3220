//! `vm SCRIPT`: the VM playground (CONTRACTS.md section 3). Runs the commands in
//! order inside this one task, one output line per command, in the exact forms the
//! contract fixes. A bad access kills the task; the shell then prints
//! `vm: killed: REASON`.
pub mod parse;
pub mod show;

use alloc::{boxed::Box, string::String, vec::Vec};
use lazuli_api::{
    BoxFuture, ExitStatus, fork, free_frames, getptsize, mmap, numpp, numvp, println, sbrk, user,
    wait,
};
use parse::Command;

/// Status when the script does not parse.
pub const BAD_SCRIPT: i32 = 2;

pub async fn main(script: String) -> i32 {
    match parse::parse(&script) {
        Ok(commands) if !commands.is_empty() => run(commands, 0).await,
        Ok(_) => {
            println!("vm: empty script (try: vm mmap 8192; w $+0 97; stat)");
            BAD_SCRIPT
        }
        Err(why) => {
            println!("vm: {why}");
            BAD_SCRIPT
        }
    }
}

/// Runs `commands` with `$` = `dollar`. Boxed: `fork` runs a script recursively.
fn run(commands: Vec<Command>, dollar: usize) -> BoxFuture<i32> {
    Box::pin(async move {
        let mut dollar = dollar;
        for command in commands {
            match command {
                Command::Mmap(n) => match mmap(n) {
                    0 => println!("mmap({n}) = 0"),
                    a => {
                        dollar = a;
                        println!("mmap({n}) = {a:#x}");
                    }
                },
                Command::Sbrk(n) => match sbrk(n) {
                    usize::MAX => println!("sbrk({n}) = -1"),
                    old => println!("sbrk({n}) = {old:#x}"),
                },
                Command::Write(addr, v) => {
                    let a = addr.resolve(dollar);
                    user::store(a, v);
                    println!("w {a:#x} = {v}");
                }
                Command::Read(addr) => {
                    let a = addr.resolve(dollar);
                    println!("r {a:#x} = {}", user::load(a));
                }
                Command::Stat => {
                    println!(
                        "stat: numvp={} numpp={} getptsize={}",
                        numvp(),
                        numpp(),
                        getptsize()
                    )
                }
                Command::Free => println!("free: {} frames", free_frames()),
                Command::Show => show::show(),
                Command::Fork(body) => match fork(run(body, dollar)) {
                    Ok(pid) => match wait(pid).await {
                        Ok(ExitStatus::Exited(code)) => println!("fork: child exited {code}"),
                        Ok(ExitStatus::Killed(reason)) => println!("fork: child killed: {reason}"),
                        Err(e) => println!("fork: wait failed: {e:?}"),
                    },
                    Err(e) => println!("fork: failed: {e:?}"),
                },
            }
        }
        0
    })
}
