//! Why a `vm` script does not parse: typed errors whose `Display` is the WHAT of
//! `vm: parse error: WHAT`.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::MAX_DEPTH;
use alloc::string::String;
use core::fmt;

/// What is wrong with one word of a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadWord {
    Number,
    NumberOutOfRange,
    Address,
    AddressOutOfRange,
    Offset,
    OffsetOutOfRange,
    ByteOutOfRange,
    Length,
    Seed,
    Duration,
    /// A file offset (`mapf`, `fr`, `fw`): a non-negative number.
    FileOffset,
    /// Not `shared` nor `private` (`mapf`).
    Sharing,
}

/// The two kinds of block, named by their keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    Fork,
    Spawn,
}

/// Why a script does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// A word that is wrong as written, e.g. `bad length "-1"`.
    Word(BadWord, String),
    /// A command given the wrong number of arguments.
    ArgCount {
        command: String,
        want: usize,
        got: usize,
    },
    /// `map` arguments that fit none of its forms.
    MapUsage,
    UnknownCommand(String),
    /// `fork` / `spawn` not followed by `{`.
    NoBlock(BlockKind),
    /// A block still open at the end of the script.
    Unclosed(BlockKind),
    UnmatchedClose,
    /// A `{` that does not follow `fork` or `spawn`.
    StrayOpen,
    /// A block opened inside [`MAX_DEPTH`] others.
    TooDeep,
}

impl fmt::Display for BadWord {
    /// The phrase put before the quoted word.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BadWord::Number => "bad number",
            BadWord::NumberOutOfRange => "number out of range",
            BadWord::Address => "bad address",
            BadWord::AddressOutOfRange => "address out of range",
            BadWord::Offset => "bad offset",
            BadWord::OffsetOutOfRange => "offset out of range",
            BadWord::ByteOutOfRange => "byte out of range",
            BadWord::Length => "bad length",
            BadWord::Seed => "bad seed",
            BadWord::Duration => "bad duration",
            BadWord::FileOffset => "bad file offset",
            BadWord::Sharing => "want shared or private, not",
        })
    }
}

impl fmt::Display for BlockKind {
    /// The keyword.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BlockKind::Fork => "fork",
            BlockKind::Spawn => "spawn",
        })
    }
}

impl fmt::Display for ParseError {
    /// What is wrong, short and lower case (no `vm:` prefix).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Word(BadWord::Address, w) => write!(f, "bad address {w:?} (0x… or $+OFF)"),
            ParseError::Word(what, w) => write!(f, "{what} {w:?}"),
            ParseError::ArgCount { command, want, got } => {
                write!(f, "{command} takes {want} argument(s), got {got}")
            }
            ParseError::MapUsage => f.write_str("usage: map LEN PROT [at ADDR [fixed|noreplace]]"),
            ParseError::UnknownCommand(name) => write!(f, "unknown command {name:?}"),
            ParseError::NoBlock(kind) => write!(f, "{kind} needs {{ SCRIPT }}"),
            ParseError::Unclosed(kind) => write!(f, "{kind} block has no '}}'"),
            ParseError::UnmatchedClose => f.write_str("unmatched '}'"),
            ParseError::StrayOpen => f.write_str("'{' must follow fork or spawn"),
            ParseError::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH} levels"),
        }
    }
}
