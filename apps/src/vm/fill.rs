//! `fill` and `check`: write the pattern (see [`super::pattern`]) into every page of
//! a range, in address order, and read it back.
use super::pattern::{PAGE_SIZE, PATTERN_OFFSETS, pages_in, pattern_value};
use alloc::format;
use lazuli_api::{println, user, yield_now};

/// Pages between two looks at other tasks (and Ctrl-C) during a long range.
const PAGES_PER_TURN: usize = 256;

/// The address of page `i` of the range at `addr`. Past the end of the address
/// space it is `usize::MAX`, an address the kernel refuses like any above USER_END.
fn page_at(addr: usize, i: usize) -> usize {
    i.checked_mul(PAGE_SIZE)
        .and_then(|off| addr.checked_add(off))
        .unwrap_or(usize::MAX)
}

/// Which way a pass over the range goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Fill,
    Check,
}

/// `fill ADDR LEN SEED`.
pub async fn fill(addr: usize, len: usize, seed: u64) {
    pass(Pass::Fill, addr, len, seed).await
}

/// `check ADDR LEN SEED`.
pub async fn check(addr: usize, len: usize, seed: u64) {
    pass(Pass::Check, addr, len, seed).await
}

/// Writes or checks every page of the range, then prints the command's line.
async fn pass(pass: Pass, addr: usize, len: usize, seed: u64) {
    let name = match pass {
        Pass::Fill => "fill",
        Pass::Check => "check",
    };
    let head = format!("{name}({addr:#x}, {len}, {seed})");
    if !addr.is_multiple_of(PAGE_SIZE) {
        println!("{head} = error unaligned");
        return;
    }
    let pages = pages_in(len);
    for i in 0..pages {
        let page = page_at(addr, i);
        let value = pattern_value(seed, i as u64);
        for offset in PATTERN_OFFSETS {
            let at = page.saturating_add(offset);
            match pass {
                Pass::Fill => user::store_u64(at, value).await,
                Pass::Check if user::load_u64(at).await != value => {
                    println!("{head} = mismatch at {page:#x}");
                    return;
                }
                Pass::Check => {}
            }
        }
        if (i + 1) % PAGES_PER_TURN == 0 {
            yield_now().await;
        }
    }
    match pass {
        Pass::Fill => println!("{head} = {pages} pages"),
        Pass::Check => println!("{head} = {pages} pages ok"),
    }
}
