//! Small commands that show the machine: the counters of a fresh task, free frames,
//! the task list, clearing the screen.
use lazuli_api::{free_frames, getptsize, numpp, numvp, println, tasks, total_frames};

pub async fn numvp_cmd() -> i32 {
    println!("{}", numvp());
    0
}

pub async fn numpp_cmd() -> i32 {
    println!("{}", numpp());
    0
}

pub async fn getptsize_cmd() -> i32 {
    println!("{}", getptsize());
    0
}

pub async fn free() -> i32 {
    let (free, total) = (free_frames(), total_frames());
    println!(
        "free: {free} of {total} frames ({} of {} KiB)",
        free * 4,
        total * 4
    );
    0
}

pub async fn ps() -> i32 {
    println!("{:>5}  {:<12} {:>8} {:>8}", "PID", "NAME", "NUMVP", "NUMPP");
    for t in tasks() {
        println!(
            "{:>5}  {:<12} {:>8} {:>8}",
            t.pid.0, t.name, t.numvp, t.numpp
        );
    }
    0
}

/// `heap`: the kernel heap (CONTRACTS.md section 7).
pub async fn heap() -> i32 {
    let heap = lazuli_api::heap();
    println!("heap: {} of {} bytes used", heap.used, heap.total);
    0
}

/// `swap`: the swap area's use (CONTRACTS.md section 10), `0 of 0` without one.
pub async fn swap() -> i32 {
    println!("{}", swap_line());
    0
}

/// `swap: U of T pages used`, for the shell and the playground.
pub fn swap_line() -> alloc::string::String {
    let swap = lazuli_api::swap();
    alloc::format!("swap: {} of {} pages used", swap.used, swap.total)
}
