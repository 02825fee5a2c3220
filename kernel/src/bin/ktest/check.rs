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
