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
