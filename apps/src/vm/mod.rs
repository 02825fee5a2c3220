//! `vm SCRIPT`: the VM playground (CONTRACTS.md sections 3 and 6). Runs the commands in
//! order inside this one task, one output line per command, in the exact forms the
//! contract fixes (section 7 adds `spawn`, `wait`, `sleep`, `fill`, `check`; section 9
//! `mapf`, `msync`, `fr`, `fw`, `cache`). A bad
//! access kills the task; the shell then prints `vm: killed: REASON`. A script that
//! does not parse runs nothing: `vm: parse error: WHAT`.
mod files;
mod fill;
pub mod parse;
pub mod pattern;
pub mod show;

use alloc::{boxed::Box, collections::VecDeque, string::String, vec::Vec};
use core::fmt;
use lazuli_api::{
    BoxFuture, ExitStatus, Pid, WaitError, fork, free_frames, getptsize, mmap, numpp, numvp,
    println, sbrk, sleep, user, wait,
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
            println!("vm: parse error: {why}");
            BAD_SCRIPT
        }
    }
}

/// Runs `commands` with `$` = `dollar`. Boxed: `fork` and `spawn` run a script as
/// a child task.
fn run(commands: Vec<Command>, dollar: usize) -> BoxFuture<i32> {
    Box::pin(async move {
        let mut script = Script {
            dollar,
            children: VecDeque::new(),
        };
        for command in commands {
            script.step(command).await;
        }
        // Spawned children not waited for end with the script: wait for them quietly.
        for pid in script.children {
            let _ = wait(pid).await;
        }
        0
    })
}

/// A running script's state: `$`, and the children `spawn` started, oldest first,
/// not yet waited for.
struct Script {
    dollar: usize,
    children: VecDeque<Pid>,
}

impl Script {
    /// Runs one command and prints its line.
    async fn step(&mut self, command: Command) {
        let dollar = self.dollar;
        match command {
            Command::Mmap(n) => match mmap(n) {
                0 => println!("mmap({n}) = 0"),
                a => {
                    self.dollar = a;
                    println!("mmap({n}) = {a:#x}");
                }
            },
            Command::Sbrk(n) => match sbrk(n) {
                usize::MAX => println!("sbrk({n}) = -1"),
                old => println!("sbrk({n}) = {old:#x}"),
            },
            Command::Write(addr, v) => {
                let a = addr.resolve(dollar);
                user::store(a, v).await;
                println!("w {a:#x} = {v}");
            }
            Command::Read(addr) => {
                let a = addr.resolve(dollar);
                let v = user::load(a).await;
                println!("r {a:#x} = {v}");
            }
            Command::Map { len, prot, at } => match map_as_written(len, &prot, at, dollar) {
                Ok(a) => {
                    self.dollar = a;
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
                user::call(a).await;
                println!("x {a:#x} returned");
            }
            Command::Stat => println!(
                "stat: numvp={} numpp={} getptsize={}",
                numvp(),
                numpp(),
                getptsize()
            ),
            Command::Free => println!("free: {} frames", free_frames()),
            Command::Show => show::show(),
            Command::Fork(body) => match fork(run(body, dollar)) {
                Ok(pid) => println!("fork: child {}", Ended(wait(pid).await)),
                Err(e) => println!("fork: failed: {e:?}"),
            },
            Command::Spawn(body) => match fork(run(body, dollar)) {
                Ok(pid) => {
                    self.children.push_back(pid);
                    println!("spawn: child {pid}");
                }
                Err(e) => println!("spawn: failed: {e:?}"),
            },
            Command::Wait => match self.children.pop_front() {
                Some(pid) => println!("wait: child {}", Ended(wait(pid).await)),
                None => println!("wait: no child"),
            },
            Command::Sleep(ms) => {
                sleep(ms).await;
                println!("sleep({ms})");
            }
            Command::Fill { addr, len, seed } => fill::fill(addr.resolve(dollar), len, seed).await,
            Command::Check { addr, len, seed } => {
                fill::check(addr.resolve(dollar), len, seed).await
            }
            Command::MapFile {
                path,
                offset,
                len,
                prot,
                sharing,
            } => {
                if let Some(a) = files::mapf(&path, offset, len, &prot, sharing) {
                    self.dollar = a;
                }
            }
            Command::Msync(addr, len) => files::msync(addr.resolve(dollar), len),
            Command::FileRead(path, offset) => files::fr(&path, offset).await,
            Command::FileWrite(path, offset, v) => files::fw(&path, offset, v).await,
            Command::Cache => files::cache(),
            Command::Swap => println!("{}", crate::sys::swap_line()),
        }
    }
}

/// How a child ended, as `fork:` and `wait:` print it: `exited 0`, `killed: REASON`.
struct Ended(Result<ExitStatus, WaitError>);

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Ok(ExitStatus::Exited(code)) => write!(f, "exited {code}"),
            Ok(ExitStatus::Killed(reason)) => write!(f, "killed: {reason}"),
            Err(e) => write!(f, "wait failed: {e:?}"),
        }
    }
}
