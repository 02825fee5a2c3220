//! The `fill` / `check` pattern: which value goes where in a range of pages, so a
//! later `check` (maybe in another task) can tell whether the pages kept their data.
//! Pure: tested on the host.
//!
//! For page `i` of a range (counted from 0 at the page-aligned start), the 64-bit
//! little-endian value `SEED × PATTERN_MULTIPLIER + i` (wrapping) is stored at each
//! of [`PATTERN_OFFSETS`] within the page: its first and its last 8 bytes.
#![deny(clippy::arithmetic_side_effects)]

/// A page, as the pattern counts them.
pub const PAGE_SIZE: usize = lazuli_api::PAGE_SIZE;

/// Spreads seeds apart (2^64 / golden ratio, odd so every seed gives a distinct value).
pub const PATTERN_MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// Byte offsets within each page where the value is stored.
pub const PATTERN_OFFSETS: [usize; 2] = [0, PAGE_SIZE - 8];

/// The value for page `page_index` of a range filled with `seed`; wraps, never panics.
pub fn pattern_value(seed: u64, page_index: u64) -> u64 {
    seed.wrapping_mul(PATTERN_MULTIPLIER)
        .wrapping_add(page_index)
}

/// How many pages `len` bytes cover: `len` rounded up to whole pages (no overflow).
pub fn pages_in(len: usize) -> usize {
    len.div_ceil(PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_zero_gives_the_page_index() {
        assert_eq!(pattern_value(0, 0), 0);
        assert_eq!(pattern_value(0, 5), 5);
    }

    #[test]
    fn seed_one_gives_the_multiplier_plus_the_index() {
        assert_eq!(pattern_value(1, 0), 0x9E37_79B9_7F4A_7C15);
        assert_eq!(pattern_value(1, 3), 0x9E37_79B9_7F4A_7C18);
    }

    #[test]
    fn large_seeds_and_indexes_wrap() {
        assert_eq!(
            pattern_value(u64::MAX, 0),
            0u64.wrapping_sub(PATTERN_MULTIPLIER)
        );
        assert_eq!(pattern_value(0, u64::MAX), u64::MAX);
        assert_eq!(
            pattern_value(1, u64::MAX),
            PATTERN_MULTIPLIER.wrapping_sub(1)
        );
    }

    #[test]
    fn offsets_are_the_first_and_last_eight_bytes_of_a_page() {
        assert_eq!(PATTERN_OFFSETS, [0, 4088]);
    }

    #[test]
    fn lengths_round_up_to_whole_pages() {
        assert_eq!(pages_in(0), 0);
        assert_eq!(pages_in(1), 1);
        assert_eq!(pages_in(4096), 1);
        assert_eq!(pages_in(4097), 2);
        assert_eq!(pages_in(usize::MAX), usize::MAX / 4096 + 1);
    }
}
