//! Access rights of a region: any mix of read, write and execute.
//!
//! x86_64 page tables cannot express every mix: a present page is always
//! readable, so write or execute rights imply read. [`Prot::parse`] applies
//! that rule to what users type, and [`Prot::effective`] gives the rights the
//! hardware will really enforce. This module does not know about page-table
//! bits; the kernel turns a `Prot` into PTE flags.

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

/// Access rights as a bit set (read = 1, write = 2, exec = 4).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Prot(u8);

impl Prot {
    /// No access at all (a guard page).
    pub const NONE: Prot = Prot(0);
    /// Loads allowed.
    pub const READ: Prot = Prot(1);
    /// Stores allowed.
    pub const WRITE: Prot = Prot(2);
    /// Instruction fetches allowed.
    pub const EXEC: Prot = Prot(4);
    /// Read and write: data, heap and stack.
    pub const RW: Prot = Prot(1 | 2);
    /// Read and execute: code.
    pub const RX: Prot = Prot(1 | 4);
    /// Everything.
    pub const RWX: Prot = Prot(1 | 2 | 4);

    /// True when the read bit is set.
    pub const fn readable(self) -> bool {
        self.0 & Prot::READ.0 != 0
    }

    /// True when the write bit is set.
    pub const fn writable(self) -> bool {
        self.0 & Prot::WRITE.0 != 0
    }

    /// True when the exec bit is set.
    pub const fn executable(self) -> bool {
        self.0 & Prot::EXEC.0 != 0
    }

    /// True when every right in `other` is also in `self`.
    pub const fn contains(self, other: Prot) -> bool {
        self.0 & other.0 == other.0
    }

    /// These rights with write taken away (a private file page until its first
    /// store).
    pub const fn without_write(self) -> Prot {
        Prot(self.0 & !Prot::WRITE.0)
    }

    /// The rights x86_64 really grants for these bits: write or exec imply
    /// read, because every present page is readable.
    pub const fn effective(self) -> Prot {
        if self.0 == 0 {
            self
        } else {
            Prot(self.0 | Prot::READ.0)
        }
    }

    /// Parses the playground's PROT word: letters from `rwx`, each at most
    /// once and in any order, or `none`. Write and exec imply read (the x86
    /// rule), so `w` is `rw`, `wx` is `rwx` and `x` is `rx`. `None` for
    /// anything else, including the empty string.
    pub fn parse(s: &str) -> Option<Prot> {
        if s == "none" {
            return Some(Prot::NONE);
        }
        if s.is_empty() {
            return None;
        }
        let mut prot = Prot::NONE;
        for c in s.chars() {
            let bit = match c {
                'r' => Prot::READ,
                'w' => Prot::WRITE,
                'x' => Prot::EXEC,
                _ => return None,
            };
            if prot.contains(bit) {
                return None;
            }
            prot |= bit;
        }
        Some(prot.effective())
    }
}

impl BitOr for Prot {
    type Output = Prot;

    fn bitor(self, rhs: Prot) -> Prot {
        Prot(self.0 | rhs.0)
    }
}

impl BitOrAssign for Prot {
    fn bitor_assign(&mut self, rhs: Prot) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Prot {
    /// The set letters in `rwx` order (`rw`, `rx`, `r`, `rwx`), or `none`; honours
    /// width and alignment (`{:<5}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Prot::NONE {
            return f.pad("none");
        }
        let mut letters = [0u8; 3];
        let mut len = 0;
        for (bit, letter) in [(Prot::READ, b'r'), (Prot::WRITE, b'w'), (Prot::EXEC, b'x')] {
            if self.contains(bit) {
                letters[len] = letter;
                len += 1;
            }
        }
        f.pad(core::str::from_utf8(&letters[..len]).unwrap_or("?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn the_named_constants_have_the_rights_their_names_say() {
        let table = [
            (Prot::NONE, false, false, false),
            (Prot::READ, true, false, false),
            (Prot::WRITE, false, true, false),
            (Prot::EXEC, false, false, true),
            (Prot::RW, true, true, false),
            (Prot::RX, true, false, true),
            (Prot::RWX, true, true, true),
        ];
        for (prot, r, w, x) in table {
            assert_eq!(
                (prot.readable(), prot.writable(), prot.executable()),
                (r, w, x),
                "{prot}"
            );
        }
    }

    #[test]
    fn bitor_combines_rights() {
        assert_eq!(Prot::READ | Prot::WRITE, Prot::RW);
        assert_eq!(Prot::READ | Prot::EXEC, Prot::RX);
        assert_eq!(Prot::RW | Prot::EXEC, Prot::RWX);
        assert_eq!(Prot::NONE | Prot::NONE, Prot::NONE);
        let mut p = Prot::READ;
        p |= Prot::WRITE;
        assert_eq!(p, Prot::RW);
    }

    #[test]
    fn the_default_prot_is_none() {
        assert_eq!(Prot::default(), Prot::NONE);
    }

    #[test]
    fn display_prints_letters_in_rwx_order_or_none() {
        assert_eq!(Prot::NONE.to_string(), "none");
        assert_eq!(Prot::READ.to_string(), "r");
        assert_eq!(Prot::RW.to_string(), "rw");
        assert_eq!(Prot::RX.to_string(), "rx");
        assert_eq!(Prot::RWX.to_string(), "rwx");
        assert_eq!(Prot::WRITE.to_string(), "w");
        assert_eq!((Prot::WRITE | Prot::EXEC).to_string(), "wx");
    }

    #[test]
    fn parse_accepts_the_documented_words() {
        assert_eq!(Prot::parse("none"), Some(Prot::NONE));
        assert_eq!(Prot::parse("r"), Some(Prot::READ));
        assert_eq!(Prot::parse("rw"), Some(Prot::RW));
        assert_eq!(Prot::parse("rx"), Some(Prot::RX));
        assert_eq!(Prot::parse("rwx"), Some(Prot::RWX));
    }

    #[test]
    fn parse_makes_write_and_exec_imply_read_like_x86() {
        assert_eq!(Prot::parse("w"), Some(Prot::RW));
        assert_eq!(Prot::parse("wx"), Some(Prot::RWX));
        assert_eq!(Prot::parse("x"), Some(Prot::RX));
    }

    #[test]
    fn parse_accepts_letters_in_any_order() {
        assert_eq!(Prot::parse("wr"), Some(Prot::RW));
        assert_eq!(Prot::parse("xwr"), Some(Prot::RWX));
    }

    #[test]
    fn parse_rejects_empty_repeated_and_unknown_letters() {
        for bad in [
            "", "rr", "rwr", "q", "R", "RW", "r w", "-", "r-x", "nonee", "None",
        ] {
            assert_eq!(Prot::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parse_round_trips_through_display_for_effective_prots() {
        for prot in [Prot::NONE, Prot::READ, Prot::RW, Prot::RX, Prot::RWX] {
            assert_eq!(Prot::parse(&prot.to_string()), Some(prot));
        }
    }

    #[test]
    fn effective_adds_read_to_write_or_exec_and_leaves_none_alone() {
        assert_eq!(Prot::NONE.effective(), Prot::NONE);
        assert_eq!(Prot::READ.effective(), Prot::READ);
        assert_eq!(Prot::WRITE.effective(), Prot::RW);
        assert_eq!(Prot::EXEC.effective(), Prot::RX);
        assert_eq!(Prot::RWX.effective(), Prot::RWX);
    }

    #[test]
    fn contains_checks_every_right_of_the_argument() {
        assert!(Prot::RWX.contains(Prot::RW));
        assert!(Prot::RW.contains(Prot::NONE));
        assert!(!Prot::RW.contains(Prot::RX));
        assert!(!Prot::NONE.contains(Prot::READ));
    }
}
