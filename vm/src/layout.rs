//! The user part of every task's address space: fixed places for the stack,
//! its guard page and the break area. The kernel half (the upper canonical
//! half, shared by all tasks) is not described here.
//!
//! ```text
//!   0x0000_8000_0000_0000  USER_END (exclusive; non-canonical hole and kernel above)
//!   0x0000_7fff_ffff_f000  MAP_END: the top page is never mapped
//!           |                 free for `map`
//!   0x0000_7fff_0000_0000  STACK_TOP
//!           |  stack          8 pages, rw, lazily backed, grows down
//!   0x0000_7ffe_ffff_8000  STACK_BOTTOM
//!           |  guard          1 page, no access: any touch kills the task
//!   0x0000_7ffe_ffff_7000  GUARD_BOTTOM = BREAK_LIMIT
//!           |                 free: the break may grow up to here
//!           ^  break area     seed mmap region and sbrk heap, growing up
//!   0x0000_0000_4000_0000  BREAK_START
//!           |                 reserved (apps are linked into the kernel, so
//!           |                 there is no user text or data to put here yet)
//!   0x0000_0000_0040_0000  USER_START
//!           |                 never mapped: catches null and small-offset pointers
//!   0x0000_0000_0000_0000
//! ```
//!
//! A fresh task reserves only the stack and its guard (9 pages of `numvp`);
//! everything else appears through `mmap` and `sbrk`.

use crate::addr::{PAGE_SIZE, is_page_aligned};

/// Lowest user address; everything below is never mapped (the null page etc.).
pub const USER_START: u64 = 0x0000_0000_0040_0000;
/// Where the break area (seed mmap region and sbrk heap) starts growing up.
pub const BREAK_START: u64 = 0x0000_0000_4000_0000;
/// One past the highest stack byte; the stack grows down from here.
pub const STACK_TOP: u64 = 0x0000_7fff_0000_0000;
/// Pages of stack every task reserves; backed lazily on first touch.
pub const STACK_PAGES: u64 = 8;
/// Pages of guard below the stack; touching them always kills the task.
pub const GUARD_PAGES: u64 = 1;
/// Lowest stack address.
pub const STACK_BOTTOM: u64 = STACK_TOP - STACK_PAGES * PAGE_SIZE;
/// Lowest guard address.
pub const GUARD_BOTTOM: u64 = STACK_BOTTOM - GUARD_PAGES * PAGE_SIZE;
/// The break may not pass this address.
pub const BREAK_LIMIT: u64 = GUARD_BOTTOM;
/// Exclusive end of the lower canonical half, the whole user part.
pub const USER_END: u64 = 0x0000_8000_0000_0000;
/// Exclusive end of what a region may cover. The top page of the user half is never
/// mapped (as the null page at the bottom): code running off its end would fetch
/// from `USER_END`, which is not canonical — the CPU would then save a return
/// address that the kernel's `iretq` refuses. Linux keeps the same page free.
pub const MAP_END: u64 = USER_END - PAGE_SIZE;

// The layout's own invariants, checked at compile time.
const _: () = {
    assert!(is_page_aligned(USER_START));
    assert!(is_page_aligned(BREAK_START));
    assert!(is_page_aligned(STACK_TOP));
    assert!(USER_START < BREAK_START);
    assert!(BREAK_START < BREAK_LIMIT);
    assert!(GUARD_BOTTOM < STACK_BOTTOM && STACK_BOTTOM < STACK_TOP);
    assert!(STACK_TOP <= MAP_END);
    assert!(MAP_END < USER_END);
};

/// True when `addr` lies in the user part: `USER_START <= addr < USER_END`.
pub const fn is_user(addr: u64) -> bool {
    USER_START <= addr && addr < USER_END
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_and_guard_sit_directly_below_stack_top() {
        assert_eq!(STACK_BOTTOM, 0x0000_7ffe_ffff_8000);
        assert_eq!(GUARD_BOTTOM, 0x0000_7ffe_ffff_7000);
        assert_eq!(BREAK_LIMIT, GUARD_BOTTOM);
    }

    #[test]
    fn user_addresses_start_at_user_start_and_stop_before_user_end() {
        assert!(!is_user(0));
        assert!(!is_user(USER_START - 1));
        assert!(is_user(USER_START));
        assert!(is_user(BREAK_START));
        assert!(is_user(STACK_TOP - 1));
        assert!(is_user(USER_END - 1));
        assert!(!is_user(USER_END));
        assert!(!is_user(0xffff_8000_0000_0000));
        assert!(!is_user(u64::MAX));
    }
}
