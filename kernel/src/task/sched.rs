//! The task table: live tasks, finished ones waiting to be reaped, and who waits on
//! whom. Shared by the executor and the API calls (`spawn`, `wait`, `getpid`).
use crate::arch::cpu::OneCpu;
use crate::vm::{active, space::AddressSpace};
use alloc::{
    collections::{BTreeMap, VecDeque},
    string::{String, ToString},
    vec::Vec,
};
use core::{
    future::Future,
    pin::Pin,
    sync::atomic::{AtomicU64, Ordering},
    task::{Context, Poll, Waker},
};
use lazuli_api::{
    BoxFuture, ExitStatus, ForegroundError, ForkError, KillReason, Pid, TaskInfo, WaitError,
};
use spin::Mutex;

/// A task's future. Futures are not `Send` (apps may hold `!Send` things across
/// `.await`); on lazuli's one CPU they never move, which [`OneCpu`] vouches for.
pub type TaskFuture = OneCpu<BoxFuture<i32>>;

pub struct Task {
    pub name: String,
    pub parent: Option<Pid>,
    /// None while the executor is polling it.
    pub future: Option<TaskFuture>,
    /// None while it is the active address space.
    pub space: Option<AddressSpace>,
}

struct Zombie {
    parent: Option<Pid>,
    status: ExitStatus,
}

pub struct Scheduler {
    pub tasks: BTreeMap<Pid, Task>,
    zombies: BTreeMap<Pid, Zombie>,
    waiters: BTreeMap<Pid, Waker>,
    next_pid: u64,
}

pub static SCHED: Mutex<Scheduler> = Mutex::new(Scheduler {
    tasks: BTreeMap::new(),
    zombies: BTreeMap::new(),
    waiters: BTreeMap::new(),
    next_pid: 1,
});

/// Pids whose wakers fired. Wakers run in task or executor context only.
pub static READY: Mutex<VecDeque<Pid>> = Mutex::new(VecDeque::new());

static CURRENT: AtomicU64 = AtomicU64::new(0);

/// The task being polled, if any.
pub fn current() -> Option<Pid> {
    match CURRENT.load(Ordering::Relaxed) {
        0 => None,
        pid => Some(Pid(pid)),
    }
}

pub(super) fn set_current(pid: Option<Pid>) {
    CURRENT.store(pid.map_or(0, |p| p.0), Ordering::Relaxed);
}

/// Why the task being polled must end once its poll returns (set by its own failed
/// access or user-mode code; the first reason is kept).
static DOOMED: Mutex<Option<KillReason>> = Mutex::new(None);

/// Marks the task being polled for death: the executor ends it when the poll
/// returns, dropping its future (so destructors run and nothing leaks). The task's
/// code gets `Killed` and must not go on (the API's accessors wait forever).
pub fn kill_current(reason: KillReason) {
    assert!(
        current().is_some(),
        "a task kill outside any task: {reason}"
    );
    DOOMED.lock().get_or_insert(reason);
}

/// The kill recorded during the poll that just returned, if any.
pub(super) fn take_doomed() -> Option<KillReason> {
    DOOMED.lock().take()
}

/// The task whose group Ctrl-C kills, if the shell runs one.
/// The foreground task and the task that made it so (only that one may change it).
static FOREGROUND: Mutex<Option<(Option<Pid>, Pid)>> = Mutex::new(None);

/// Makes `pid` — a descendant of `caller` — the foreground task (Ctrl-C kills it and
/// its descendants), or with `None` ends the foreground `caller` set. Refuses
/// anything else, so a command can neither make another task (the shell, say) the
/// victim of Ctrl-C nor make itself immune to it.
pub fn set_foreground(caller: Option<Pid>, pid: Option<Pid>) -> Result<(), ForegroundError> {
    let mut foreground = FOREGROUND.lock();
    match pid {
        Some(pid) => {
            let sched = SCHED.lock();
            let descends = caller.is_some_and(|c| sched.group(c).contains(&pid) && c != pid);
            if !descends {
                return Err(ForegroundError::NotDescendant);
            }
            *foreground = Some((caller, pid));
        }
        None => match *foreground {
            Some((owner, _)) if owner != caller => return Err(ForegroundError::NotYours),
            _ => *foreground = None,
        },
    }
    crate::input::set_interruptible(foreground.is_some());
    Ok(())
}

/// The foreground task, if any.
pub fn foreground() -> Option<Pid> {
    FOREGROUND.lock().map(|(_, pid)| pid)
}

impl Scheduler {
    fn new_pid(&mut self) -> Pid {
        let pid = Pid(self.next_pid);
        self.next_pid += 1;
        pid
    }

    /// Adds a task that owns `space` and is ready to run.
    pub fn add(
        &mut self,
        name: &str,
        parent: Option<Pid>,
        space: AddressSpace,
        future: BoxFuture<i32>,
    ) -> Pid {
        let pid = self.new_pid();
        let task = Task {
            name: name.to_string(),
            parent,
            future: Some(OneCpu(future)),
            space: Some(space),
        };
        self.tasks.insert(pid, task);
        READY.lock().push_back(pid);
        pid
    }

    /// `root` and every live task descending from it, `root` first.
    pub fn group(&self, root: Pid) -> Vec<Pid> {
        let mut group = Vec::new();
        if self.tasks.contains_key(&root) {
            group.push(root);
        }
        let mut next = 0;
        while let Some(&parent) = group.get(next) {
            next += 1;
            let children = self.tasks.iter().filter(|(_, t)| t.parent == Some(parent));
            group.extend(children.map(|(&pid, _)| pid));
        }
        group
    }

    /// Records that `pid` ended: reaps its own unwaited children, tells its waiter.
    pub fn finish(&mut self, pid: Pid, status: ExitStatus) {
        let Some(task) = self.tasks.remove(&pid) else {
            return;
        };
        self.zombies.retain(|_, z| z.parent != Some(pid));
        for t in self.tasks.values_mut().filter(|t| t.parent == Some(pid)) {
            t.parent = None;
        }
        if task.parent.is_some() {
            self.zombies.insert(
                pid,
                Zombie {
                    parent: task.parent,
                    status,
                },
            );
        }
        if let Some(waker) = self.waiters.remove(&pid) {
            waker.wake();
        }
    }
}

/// Starts a task with a fresh address space. If there is no frame for its page
/// table, the task exists only as already killed (its waiter learns why).
pub fn spawn(name: &str, parent: Option<Pid>, future: BoxFuture<i32>) -> Pid {
    let mut sched = SCHED.lock();
    match AddressSpace::new() {
        Ok(space) => sched.add(name, parent, space, future),
        Err(_) => {
            let pid = sched.new_pid();
            let status = ExitStatus::Killed(KillReason::OutOfMemory);
            sched.zombies.insert(pid, Zombie { parent, status });
            pid
        }
    }
}

/// How `fork` copies the address space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkKind {
    /// Present pages shared read-only, copied on the first write (the default).
    CopyOnWrite,
    /// Present pages copied at once (the seed's fork).
    Copy,
}

/// Forks the running task: a new task, child of it, with a copy of its address
/// space (see `vm::fork`), that runs `future`.
pub fn fork(kind: ForkKind, future: BoxFuture<i32>) -> Result<Pid, ForkError> {
    let parent = current().ok_or(ForkError::NotInTask)?;
    let space = active::with(|space| match kind {
        ForkKind::CopyOnWrite => space.fork_cow(),
        ForkKind::Copy => space.fork_copy(),
    })
    .ok_or(ForkError::NotInTask)?
    .map_err(|_| ForkError::NoMemory)?;
    let mut sched = SCHED.lock();
    let name = sched
        .tasks
        .get(&parent)
        .map(|t| t.name.clone())
        .unwrap_or_default();
    Ok(sched.add(&name, Some(parent), space, future))
}

/// Waits for `child` of `parent` to end.
pub fn wait(parent: Option<Pid>, child: Pid) -> BoxFuture<Result<ExitStatus, WaitError>> {
    alloc::boxed::Box::pin(WaitFor { parent, child })
}

struct WaitFor {
    parent: Option<Pid>,
    child: Pid,
}

impl Future for WaitFor {
    type Output = Result<ExitStatus, WaitError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut sched = SCHED.lock();
        if sched
            .zombies
            .get(&self.child)
            .is_some_and(|z| z.parent == self.parent)
        {
            let zombie = sched.zombies.remove(&self.child).expect("just seen");
            return Poll::Ready(Ok(zombie.status));
        }
        if self.parent.is_some()
            && sched
                .tasks
                .get(&self.child)
                .is_some_and(|t| t.parent == self.parent)
        {
            sched.waiters.insert(self.child, cx.waker().clone());
            return Poll::Pending;
        }
        Poll::Ready(Err(WaitError::NotChild))
    }
}

/// Live tasks with their counters (`ps`).
pub fn tasks() -> Vec<TaskInfo> {
    let me = current();
    let sched = SCHED.lock();
    sched
        .tasks
        .iter()
        .map(|(&pid, t)| {
            let (numvp, numpp) = match &t.space {
                Some(s) => (s.numvp(), s.numpp()),
                None if Some(pid) == me => {
                    active::with(|s| (s.numvp(), s.numpp())).unwrap_or((0, 0))
                }
                None => (0, 0),
            };
            TaskInfo {
                pid,
                name: t.name.clone(),
                numvp,
                numpp,
            }
        })
        .collect()
}
