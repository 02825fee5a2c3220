//! The `bench short` check of tests/shell.rs: every figure `bench` prints, each
//! in its line form.
use super::expect;

/// CI runs the benchmark once, short, only to prove it works: every figure has a
/// well-formed line (timings are never asserted).
pub fn bench_prints_every_figure(out: &[String], code: i32) -> Result<(), String> {
    let figures = [
        "first_touch",
        "first_touch_unpooled",
        "first_touch_handler",
        "first_touch_outside",
        "first_touch_unpooled_handler",
        "first_touch_unpooled_zero",
        "first_touch_unpooled_outside",
        "pool_refill",
        "retouch",
        "retouch_all",
        "retouch_16384",
        "user_call",
        "null_fault",
        "zero_page",
        "mmap_call_4k",
        "mmap_call_1g",
        "munmap_1",
        "munmap_256",
        "munmap_16384",
        "fork_present_1_cow",
        "fork_present_1_copy",
        "fork_present_3_cow",
        "fork_present_3_copy",
        "fork_present_256_cow",
        "fork_present_256_copy",
        "fork_present_16384_cow",
        "fork_present_16384_copy",
        "fork_sparse_cow",
        "fork_sparse_copy",
        "cow_fault",
        "cow_fault_handler",
        "cow_fault_copy",
        "cow_fault_outside",
        "exit_free_1",
        "exit_free_256",
        "exit_free_16384",
        "disk_read_512",
        "data_disk_read_4k",
        "disk_read_4k_polled",
        "file_write_1mib",
        "file_read_1mib_cold",
        "file_read_1mib_cached",
        "file_read_fault",
        "file_private_write_fault",
        "disk_read_4k",
        "swap_out",
        "swap_in",
    ];
    let well_formed = |name: &str| {
        out.iter().any(|l| {
            l.strip_prefix(&format!("bench {name}: median="))
                .is_some_and(|rest| {
                    let parts: Vec<&str> = rest.split([' ', '=']).collect();
                    parts.len() == 5
                        && parts[1] == "p99"
                        && parts[3] == "n"
                        && parts[4].parse::<u32>().is_ok_and(|n| n > 0)
                })
        })
    };
    let missing: Vec<_> = figures.iter().filter(|f| !well_formed(f)).collect();
    let calibrated = out
        .first()
        .is_some_and(|l| l.starts_with("bench calibration: timer overhead median="));
    expect(
        missing.is_empty() && calibrated && code == 0,
        &format!("a calibration line and a line per figure; missing {missing:?}"),
        out,
        code,
    )
}
