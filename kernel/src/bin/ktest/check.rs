//! Assertions for ktest cases that return `Result<(), String>` instead of panicking,
//! so one failing case does not stop the others.

/// Fails the case with a message unless `cond` holds.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(alloc::format!($($msg)*));
        }
    };
}

/// Fails the case unless `left == right`, showing both.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)*) => {{
        let (l, r) = (&$left, &$right);
        if l != r {
            return Err(alloc::format!("{}: {:?} != {:?}", alloc::format!($($msg)*), l, r));
        }
    }};
}

/// A case that runs as its own task (fresh address space): `task_case!(NAME, f)`, or
/// `task_case!(NAME, f, CONST)` for an `async fn f<const X: bool>()`.
#[macro_export]
macro_rules! task_case {
    ($name:literal, $f:ident, $flag:literal $(,)?) => {
        $crate::cases::Case {
            name: $name,
            body: $crate::cases::Body::Task(|| alloc::boxed::Box::pin($f::<$flag>())),
        }
    };
    ($name:literal, $f:ident $(,)?) => {
        $crate::cases::Case {
            name: $name,
            body: $crate::cases::Body::Task(|| alloc::boxed::Box::pin($f())),
        }
    };
}

/// How a task ended, as text to compare: `exited 0`, `killed: REASON`, or the wait
/// error.
pub fn ended(
    status: Result<lazuli_api::ExitStatus, lazuli_api::WaitError>,
) -> alloc::string::String {
    match status {
        Ok(lazuli_api::ExitStatus::Exited(code)) => alloc::format!("exited {code}"),
        Ok(lazuli_api::ExitStatus::Killed(reason)) => alloc::format!("killed: {reason}"),
        Err(e) => alloc::format!("wait failed: {e:?}"),
    }
}

/// Runs `body` as a task of its own (named `victim`, fresh address space); how it
/// ended, as [`ended`] says it.
pub async fn run_task(
    body: impl core::future::Future<Output = i32> + 'static,
) -> alloc::string::String {
    ended(lazuli_api::wait(lazuli_api::spawn("victim", body)).await)
}
