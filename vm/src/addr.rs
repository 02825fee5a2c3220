//! Page arithmetic on virtual addresses. Addresses are plain `u64`s; this
//! module only rounds and checks them, it knows nothing of what is mapped.

/// Size of a page (and of a frame) in bytes: 4 KiB. Huge pages are not used.
pub const PAGE_SIZE: u64 = 4096;

/// Rounds `a` down to the start of its page. Never fails.
pub const fn page_down(a: u64) -> u64 {
    a & !(PAGE_SIZE - 1)
}

/// Rounds `a` up to the next page boundary (`a` itself when aligned).
/// Returns `None` when the result would not fit in a `u64`.
pub const fn page_up(a: u64) -> Option<u64> {
    match a.checked_add(PAGE_SIZE - 1) {
        Some(b) => Some(page_down(b)),
        None => None,
    }
}

/// True when `a` is the first byte of a page.
pub const fn is_page_aligned(a: u64) -> bool {
    a.is_multiple_of(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_down_clears_the_offset_within_the_page() {
        assert_eq!(page_down(0), 0);
        assert_eq!(page_down(4095), 0);
        assert_eq!(page_down(4096), 4096);
        assert_eq!(page_down(0x1234_5678), 0x1234_5000);
        assert_eq!(page_down(u64::MAX), u64::MAX - 4095);
    }

    #[test]
    fn page_up_keeps_aligned_addresses_and_rounds_others_up() {
        assert_eq!(page_up(0), Some(0));
        assert_eq!(page_up(1), Some(4096));
        assert_eq!(page_up(4096), Some(4096));
        assert_eq!(page_up(4097), Some(8192));
    }

    #[test]
    fn page_up_reports_overflow_as_none() {
        assert_eq!(page_up(u64::MAX - 4095), Some(u64::MAX - 4095));
        assert_eq!(page_up(u64::MAX - 4094), None);
        assert_eq!(page_up(u64::MAX), None);
    }

    #[test]
    fn only_page_starts_are_aligned() {
        assert!(is_page_aligned(0));
        assert!(is_page_aligned(0x40_0000));
        assert!(!is_page_aligned(1));
        assert!(!is_page_aligned(4095));
        assert!(!is_page_aligned(u64::MAX));
    }
}
