//! The one error type of the extended VM API (`map`, `munmap`, `mprotect`).
//!
//! Every `plan_*` function checks its arguments in the same order and returns
//! the first problem it finds, changing nothing:
//!
//! 1. a zero length is [`VmError::ZeroLength`];
//! 2. a length that overflows when rounded up to pages, or that is longer
//!    than the whole user part, is [`VmError::OutOfRange`];
//! 3. an address that must be page aligned and is not is [`VmError::Unaligned`];
//! 4. a range leaving `[USER_START, MAP_END)` is [`VmError::OutOfRange`] (the top
//!    page of the user half, like the null page, is never mapped);
//! 5. then the operation's own rules (overlap, no room, gaps, guards).
//!
//! The seed calls (`mmap(n)`, `sbrk`) keep their own xv6-style failure values
//! and do not use this type.

use core::fmt;

/// Why a `map`, `munmap` or `mprotect` request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmError {
    /// The length is zero.
    ZeroLength,
    /// An address that must start a page does not.
    Unaligned,
    /// A `FixedNoReplace` range overlaps an existing region.
    Overlap,
    /// The range leaves the user part, or its length cannot be represented.
    OutOfRange,
    /// No free range of the user part is long enough.
    NoMemory,
    /// Some page of an `mprotect` range is in no region.
    NotMapped,
    /// An `mprotect` range touches a guard region.
    Guard,
}

impl fmt::Display for VmError {
    /// The variant name in snake_case, as the playground prints it after
    /// `error `: `zero_length`, `unaligned`, `overlap`, `out_of_range`,
    /// `no_memory`, `not_mapped`, `guard`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            VmError::ZeroLength => "zero_length",
            VmError::Unaligned => "unaligned",
            VmError::Overlap => "overlap",
            VmError::OutOfRange => "out_of_range",
            VmError::NoMemory => "no_memory",
            VmError::NotMapped => "not_mapped",
            VmError::Guard => "guard",
        })
    }
}

impl core::error::Error for VmError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn errors_display_as_their_snake_case_names() {
        let table = [
            (VmError::ZeroLength, "zero_length"),
            (VmError::Unaligned, "unaligned"),
            (VmError::Overlap, "overlap"),
            (VmError::OutOfRange, "out_of_range"),
            (VmError::NoMemory, "no_memory"),
            (VmError::NotMapped, "not_mapped"),
            (VmError::Guard, "guard"),
        ];
        for (err, name) in table {
            assert_eq!(err.to_string(), name);
        }
    }
}
