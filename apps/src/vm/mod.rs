//! `vm SCRIPT`: the VM playground (CONTRACTS.md sections 3 and 6). Runs the commands in
//! order inside this one task, one output line per command, in the exact forms the
//! contract fixes. A bad access kills the task; the shell then prints
//! `vm: killed: REASON`.
pub mod parse;
pub mod show;

use alloc::{boxed::Box, string::String, vec::Vec};
use core::fmt;
use lazuli_api::{
    BoxFuture, ExitStatus, fork, free_frames, getptsize, mmap, numpp, numvp, println, sbrk, user,
    wait,
};
use lazuli_api::{Placement, Prot, VmError, map, map_guard, mprotect, munmap};
use parse::{At, Command};

/// A PROT the playground could not read (printed like a `VmError`).
struct BadProt;

/// Either kind of refusal, printed after `error `.
enum Refusal {
    Vm(VmError),
    BadProt,
}

impl From<VmError> for Refusal {
    fn from(e: VmError) -> Self {
        Refusal::Vm(e)
    }
}

impl From<BadProt> for Refusal {
    fn from(_: BadProt) -> Self {
        Refusal::BadProt
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Vm(e) => write!(f, "{e}"),
            Refusal::BadProt => write!(f, "bad_prot"),
        }
    }
}

/// `0` or `error NAME`, as the playground prints a call's result.
fn outcome<E: Into<Refusal>>(result: Result<(), E>) -> alloc::string::String {
    match result {
        Ok(()) => "0".into(),
        Err(e) => alloc::format!("error {}", e.into()),
    }
}

/// Runs a `map` command: PROT letters, `none`, or `guard` (a guard region).
fn map_as_written(len: usize, prot: &str, at: At, dollar: usize) -> Result<usize, Refusal> {
    let placement = match at {
        At::Anywhere => Placement::Anywhere,
        At::Hint(a) => Placement::Hint(a.resolve(dollar) as u64),
        At::Fixed(a) => Placement::Fixed(a.resolve(dollar) as u64),
        At::NoReplace(a) => Placement::FixedNoReplace(a.resolve(dollar) as u64),
    };
    if prot == "guard" {
        return Ok(map_guard(len, placement)?);
    }
    let prot = Prot::parse(prot).ok_or(BadProt)?;
    Ok(map(len, prot, placement)?)
}

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
                Command::Map { len, prot, at } => match map_as_written(len, &prot, at, dollar) {
                    Ok(a) => {
                        dollar = a;
                        println!("map({len}, {prot}) = {a:#x}");
                    }
                    Err(e) => println!("map({len}, {prot}) = error {e}"),
                },
                Command::Munmap(addr, len) => {
                    let a = addr.resolve(dollar);
                    println!("munmap({a:#x}, {len}) = {}", outcome(munmap(a, len)));
                }
                Command::Mprotect(addr, len, prot) => {
                    let a = addr.resolve(dollar);
                    let result: Result<(), Refusal> = match Prot::parse(&prot) {
                        Some(p) => mprotect(a, len, p).map_err(Into::into),
                        None => Err(Refusal::BadProt),
                    };
                    println!("mprotect({a:#x}, {len}, {prot}) = {}", outcome(result));
                }
                Command::Exec(addr) => {
                    let a = addr.resolve(dollar);
                    user::call(a);
                    println!("x {a:#x} returned");
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
