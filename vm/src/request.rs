//! The argument checks shared by `map`, `munmap` and `mprotect`: a length in
//! bytes becomes a whole number of pages, and an `(addr, len)` pair becomes a
//! page range of the user part. The order of the checks is the one
//! documented in [`crate::error`], so every call reports the same error for
//! the same bad arguments. Nothing here looks at regions.

use core::ops::Range;

use crate::addr::{is_page_aligned, page_up};
use crate::error::VmError;
use crate::layout::{MAP_END, USER_START};

/// Bytes in the user part: no request can be longer than this.
pub const USER_SIZE: u64 = MAP_END - USER_START;

/// `len` rounded up to whole pages. `ZeroLength` for 0; `OutOfRange` if the
/// rounding overflows or the result is longer than the whole user part.
pub fn page_len(len: u64) -> Result<u64, VmError> {
    if len == 0 {
        return Err(VmError::ZeroLength);
    }
    match page_up(len) {
        Some(rounded) if rounded <= USER_SIZE => Ok(rounded),
        _ => Err(VmError::OutOfRange),
    }
}

/// The pages `[addr, addr + page_len(len))`, checked: the length as in
/// [`page_len`], then `Unaligned` unless `addr` starts a page, then
/// `OutOfRange` unless the whole range lies in `[USER_START, MAP_END)`.
pub fn user_range(addr: u64, len: u64) -> Result<Range<u64>, VmError> {
    let len = page_len(len)?;
    if !is_page_aligned(addr) {
        return Err(VmError::Unaligned);
    }
    match addr.checked_add(len) {
        Some(end) if USER_START <= addr && end <= MAP_END => Ok(addr..end),
        _ => Err(VmError::OutOfRange),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::PAGE_SIZE;

    const P: u64 = PAGE_SIZE;

    #[test]
    fn a_length_is_rounded_up_to_whole_pages() {
        assert_eq!(page_len(1), Ok(P));
        assert_eq!(page_len(P), Ok(P));
        assert_eq!(page_len(P + 1), Ok(2 * P));
        assert_eq!(page_len(USER_SIZE), Ok(USER_SIZE));
    }

    #[test]
    fn a_zero_length_is_refused_before_anything_else() {
        assert_eq!(page_len(0), Err(VmError::ZeroLength));
        assert_eq!(user_range(1, 0), Err(VmError::ZeroLength));
        assert_eq!(user_range(u64::MAX, 0), Err(VmError::ZeroLength));
    }

    #[test]
    fn a_length_that_overflows_or_exceeds_the_user_part_is_out_of_range() {
        assert_eq!(page_len(u64::MAX), Err(VmError::OutOfRange));
        assert_eq!(page_len(u64::MAX - P + 2), Err(VmError::OutOfRange));
        assert_eq!(page_len(USER_SIZE + 1), Err(VmError::OutOfRange));
        assert_eq!(
            user_range(USER_START + 1, u64::MAX),
            Err(VmError::OutOfRange)
        );
    }

    #[test]
    fn an_unaligned_address_is_refused_after_the_length_checks() {
        assert_eq!(user_range(USER_START + 1, P), Err(VmError::Unaligned));
        assert_eq!(user_range(u64::MAX, P), Err(VmError::Unaligned));
    }

    #[test]
    fn a_range_must_lie_inside_the_user_part() {
        assert_eq!(user_range(USER_START, P), Ok(USER_START..USER_START + P));
        assert_eq!(user_range(MAP_END - P, 1), Ok(MAP_END - P..MAP_END));
        assert_eq!(user_range(USER_START, USER_SIZE), Ok(USER_START..MAP_END));
        assert_eq!(user_range(0, P), Err(VmError::OutOfRange));
        assert_eq!(user_range(USER_START - P, 2 * P), Err(VmError::OutOfRange));
        assert_eq!(user_range(MAP_END - P, 2 * P), Err(VmError::OutOfRange));
        assert_eq!(user_range(MAP_END, P), Err(VmError::OutOfRange));
        // The top page of the user half is never mapped.
        assert_eq!(
            user_range(crate::layout::USER_END - P, P),
            Err(VmError::OutOfRange)
        );
        assert_eq!(user_range(u64::MAX - P + 1, P), Err(VmError::OutOfRange));
    }
}
