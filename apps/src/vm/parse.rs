//! Parsing `vm` scripts: `;`-separated commands, `fork { … }` / `spawn { … }` blocks
//! that nest, numbers (decimal or `0x` hex, one optional leading `-`) and addresses
//! (`0x…`, `$`, `$+OFF`, `$-OFF`). Pure: tested on the host.
//!
//! Rules this module keeps:
//! - **No input panics it.** Arithmetic is checked, nothing is indexed or sliced
//!   by position, and the lints below make the compiler hold us to that.
//! - **Blocks nest at most [`MAX_DEPTH`] levels.** The script comes from a shell
//!   line, and the parsed tree (and `run`, which walks it recursively) lives on a
//!   small kernel stack. Parsing is iterative with an explicit stack of open blocks,
//!   so the limit is checked before a block is opened and deep input fails early.
//! - **Errors are values.** [`ParseError`]'s `Display` says what is wrong; the caller
//!   adds the `vm: parse error: ` prefix.
#![deny(
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    clippy::string_slice,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::unreachable,
    clippy::todo,
    clippy::unimplemented
)]

use alloc::{
    string::{String, ToString},
    vec::Vec,
};
use core::iter::Peekable;
use lazuli_api::fs::Sharing;

mod error;
pub use error::{BadWord, BlockKind, ParseError};

/// How deep `fork { … }` / `spawn { … }` blocks may nest.
pub const MAX_DEPTH: usize = 32;

/// An address as written in a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `0x…`
    Absolute(usize),
    /// `$`, `$+OFF` / `$-OFF`: relative to the last successful mmap/map result.
    Dollar(i64),
}

impl Addr {
    /// The address, given the current value of `$`. Wraps: whether the address is
    /// usable is decided by the kernel when it is accessed.
    pub fn resolve(self, dollar: usize) -> usize {
        match self {
            Addr::Absolute(a) => a,
            Addr::Dollar(off) => dollar.wrapping_add_signed(off as isize),
        }
    }
}

/// Where `map` puts its region, as written after `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    Anywhere,
    Hint(Addr),
    Fixed(Addr),
    NoReplace(Addr),
}

/// One playground command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `mmap N` (N may be negative).
    Mmap(isize),
    /// `sbrk N`
    Sbrk(isize),
    /// `w ADDR V`
    Write(Addr, u8),
    /// `r ADDR`
    Read(Addr),
    Stat,
    Free,
    Show,
    /// `fork { SCRIPT }`
    Fork(Vec<Command>),
    /// `spawn { SCRIPT }`
    Spawn(Vec<Command>),
    /// `wait`
    Wait,
    /// `sleep MS`
    Sleep(u64),
    /// `fill ADDR LEN SEED`
    Fill {
        addr: Addr,
        len: usize,
        seed: u64,
    },
    /// `check ADDR LEN SEED`
    Check {
        addr: Addr,
        len: usize,
        seed: u64,
    },
    /// `map LEN PROT [at ADDR [fixed|noreplace]]`; PROT is kept as written
    /// (`rw`, `none`, `guard`, …) and checked when the command runs.
    Map {
        len: usize,
        prot: String,
        at: At,
    },
    /// `munmap ADDR LEN`
    Munmap(Addr, usize),
    /// `mprotect ADDR LEN PROT` (PROT as written).
    Mprotect(Addr, usize, String),
    /// `x ADDR`
    Exec(Addr),
    /// `mapf PATH OFF LEN PROT shared|private` (PROT as written).
    MapFile {
        path: String,
        offset: u64,
        len: usize,
        prot: String,
        sharing: Sharing,
    },
    /// `msync ADDR LEN`
    Msync(Addr, usize),
    /// `fr PATH OFF`: one byte through the file API.
    FileRead(String, u64),
    /// `fw PATH OFF V`
    FileWrite(String, u64, u8),
    /// `cache`
    Cache,
    /// `swap`
    Swap,
}

/// Shorthand for a [`ParseError::Word`] about `word`.
fn bad(what: BadWord, word: &str) -> ParseError {
    ParseError::Word(what, word.to_string())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Word(&'a str),
    Semi,
    Open,
    Close,
}

/// Splits a script into tokens lazily: whitespace separates words, and `;`, `{`,
/// `}` are tokens of their own wherever they appear.
struct Lexer<'a> {
    rest: &'a str,
}

/// The single-character token `c` is, if any.
fn special(c: char) -> Option<Token<'static>> {
    match c {
        ';' => Some(Token::Semi),
        '{' => Some(Token::Open),
        '}' => Some(Token::Close),
        _ => None,
    }
}

impl<'a> Iterator for Lexer<'a> {
    type Item = Token<'a>;

    /// The next token, or `None` once only whitespace is left.
    fn next(&mut self) -> Option<Token<'a>> {
        self.rest = self.rest.trim_start();
        let mut chars = self.rest.chars();
        if let Some(token) = special(chars.next()?) {
            self.rest = chars.as_str();
            return Some(token);
        }
        let end = self
            .rest
            .find(|c: char| c.is_whitespace() || special(c).is_some())
            .unwrap_or(self.rest.len());
        let (word, rest) = self.rest.split_at_checked(end).unwrap_or((self.rest, ""));
        self.rest = rest;
        Some(Token::Word(word))
    }
}

/// A block being parsed: its keyword and the commands read so far.
struct OpenBlock {
    kind: BlockKind,
    body: Vec<Command>,
}

/// Parses a whole script, or says what is wrong with it.
pub fn parse(script: &str) -> Result<Vec<Command>, ParseError> {
    let mut tokens = Lexer { rest: script }.peekable();
    let mut top = Vec::new();
    // Innermost last; never longer than MAX_DEPTH.
    let mut open: Vec<OpenBlock> = Vec::new();
    while let Some(token) = tokens.next() {
        match token {
            Token::Semi => {}
            Token::Open => return Err(ParseError::StrayOpen),
            Token::Close => {
                let block = open.pop().ok_or(ParseError::UnmatchedClose)?;
                let done = match block.kind {
                    BlockKind::Fork => Command::Fork(block.body),
                    BlockKind::Spawn => Command::Spawn(block.body),
                };
                innermost(&mut top, &mut open).push(done);
            }
            Token::Word(name) => match block_kind(name) {
                Some(kind) => {
                    if tokens.next() != Some(Token::Open) {
                        return Err(ParseError::NoBlock(kind));
                    }
                    if open.len() >= MAX_DEPTH {
                        return Err(ParseError::TooDeep);
                    }
                    let body = Vec::new();
                    open.push(OpenBlock { kind, body });
                }
                None => {
                    let args = arguments(&mut tokens);
                    innermost(&mut top, &mut open).push(command(name, &args)?);
                }
            },
        }
    }
    match open.last() {
        Some(block) => Err(ParseError::Unclosed(block.kind)),
        None => Ok(top),
    }
}

/// The list new commands go to: the innermost open block's body, else the top level.
fn innermost<'v>(top: &'v mut Vec<Command>, open: &'v mut [OpenBlock]) -> &'v mut Vec<Command> {
    match open.last_mut() {
        Some(block) => &mut block.body,
        None => top,
    }
}

/// Which block `name` opens, if it is a block keyword.
fn block_kind(name: &str) -> Option<BlockKind> {
    match name {
        "fork" => Some(BlockKind::Fork),
        "spawn" => Some(BlockKind::Spawn),
        _ => None,
    }
}

/// The words up to the next `;`, `{`, `}` or the end (which is not consumed).
fn arguments<'a>(tokens: &mut Peekable<Lexer<'a>>) -> Vec<&'a str> {
    let mut args = Vec::new();
    while let Some(Token::Word(w)) = tokens.next_if(|t| matches!(t, Token::Word(_))) {
        args.push(w);
    }
    args
}

/// `args` as exactly `N` words, or the argument-count error for command `name`.
fn exactly<'a, const N: usize>(name: &str, args: &[&'a str]) -> Result<[&'a str; N], ParseError> {
    <[&str; N]>::try_from(args).map_err(|_| ParseError::ArgCount {
        command: name.to_string(),
        want: N,
        got: args.len(),
    })
}

/// The non-block command `name` with its arguments.
fn command(name: &str, args: &[&str]) -> Result<Command, ParseError> {
    Ok(match name {
        "mmap" => {
            let [n] = exactly(name, args)?;
            Command::Mmap(signed(n)?)
        }
        "sbrk" => {
            let [n] = exactly(name, args)?;
            Command::Sbrk(signed(n)?)
        }
        "w" => {
            let [a, v] = exactly(name, args)?;
            Command::Write(addr(a)?, byte(v)?)
        }
        "r" => {
            let [a] = exactly(name, args)?;
            Command::Read(addr(a)?)
        }
        "stat" => exactly::<0>(name, args).map(|[]| Command::Stat)?,
        "free" => exactly::<0>(name, args).map(|[]| Command::Free)?,
        "show" => exactly::<0>(name, args).map(|[]| Command::Show)?,
        "wait" => exactly::<0>(name, args).map(|[]| Command::Wait)?,
        "sleep" => {
            let [ms] = exactly(name, args)?;
            Command::Sleep(unsigned(ms, BadWord::Duration)?)
        }
        "fill" | "check" => {
            let [a, len, seed] = exactly(name, args)?;
            let (addr, len, seed) = (addr(a)?, length(len)?, unsigned(seed, BadWord::Seed)?);
            match name {
                "fill" => Command::Fill { addr, len, seed },
                _ => Command::Check { addr, len, seed },
            }
        }
        "map" => map_command(args)?,
        "munmap" => {
            let [a, len] = exactly(name, args)?;
            Command::Munmap(addr(a)?, length(len)?)
        }
        "mprotect" => {
            let [a, len, prot] = exactly(name, args)?;
            Command::Mprotect(addr(a)?, length(len)?, prot.to_string())
        }
        "x" => {
            let [a] = exactly(name, args)?;
            Command::Exec(addr(a)?)
        }
        "mapf" => {
            let [path, off, len, prot, sharing] = exactly(name, args)?;
            Command::MapFile {
                path: path.to_string(),
                offset: unsigned(off, BadWord::FileOffset)?,
                len: length(len)?,
                prot: prot.to_string(),
                sharing: match sharing {
                    "shared" => Sharing::Shared,
                    "private" => Sharing::Private,
                    other => return Err(bad(BadWord::Sharing, other)),
                },
            }
        }
        "msync" => {
            let [a, len] = exactly(name, args)?;
            Command::Msync(addr(a)?, length(len)?)
        }
        "fr" => {
            let [path, off] = exactly(name, args)?;
            Command::FileRead(path.to_string(), unsigned(off, BadWord::FileOffset)?)
        }
        "fw" => {
            let [path, off, v] = exactly(name, args)?;
            let off = unsigned(off, BadWord::FileOffset)?;
            Command::FileWrite(path.to_string(), off, byte(v)?)
        }
        "cache" => exactly::<0>(name, args).map(|[]| Command::Cache)?,
        "swap" => exactly::<0>(name, args).map(|[]| Command::Swap)?,
        other => return Err(ParseError::UnknownCommand(other.to_string())),
    })
}

/// `map LEN PROT`, optionally `at ADDR`, optionally then `fixed` or `noreplace`.
fn map_command(args: &[&str]) -> Result<Command, ParseError> {
    let (len, prot, at) = match *args {
        [len, prot] => (len, prot, At::Anywhere),
        [len, prot, "at", a] => (len, prot, At::Hint(addr(a)?)),
        [len, prot, "at", a, "fixed"] => (len, prot, At::Fixed(addr(a)?)),
        [len, prot, "at", a, "noreplace"] => (len, prot, At::NoReplace(addr(a)?)),
        _ => return Err(ParseError::MapUsage),
    };
    let len = length(len)?;
    let prot = prot.to_string();
    Ok(Command::Map { len, prot, at })
}

/// Why a run of digits has no value.
enum Digits {
    /// Empty, or a character that is not a digit of the radix.
    Malformed,
    /// Larger than `u128` holds.
    TooBig,
}

/// The value of `s`, all digits of `radix` (at least one; no sign, no `_`).
fn digits(s: &str, radix: u32) -> Result<u128, Digits> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return Err(Digits::Malformed);
    }
    s.chars().try_fold(0u128, |acc, c| {
        let digit = c.to_digit(radix).ok_or(Digits::Malformed)?;
        acc.checked_mul(u128::from(radix))
            .and_then(|acc| acc.checked_add(u128::from(digit)))
            .ok_or(Digits::TooBig)
    })
}

/// A number: an optional `-`, then decimal digits or `0x` and hex digits.
fn number(s: &str) -> Result<i128, ParseError> {
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let magnitude = match unsigned.strip_prefix("0x") {
        Some(hex) => digits(hex, 16),
        None => digits(unsigned, 10),
    }
    .map_err(|e| match e {
        Digits::Malformed => bad(BadWord::Number, s),
        Digits::TooBig => bad(BadWord::NumberOutOfRange, s),
    })?;
    with_sign(negative, magnitude).ok_or_else(|| bad(BadWord::NumberOutOfRange, s))
}

/// `magnitude`, negated if `negative`, if it fits `i128`.
fn with_sign(negative: bool, magnitude: u128) -> Option<i128> {
    let magnitude = i128::try_from(magnitude).ok()?;
    match negative {
        true => 0i128.checked_sub(magnitude),
        false => Some(magnitude),
    }
}

/// A number that must fit `isize` (sizes for `mmap` and `sbrk`).
fn signed(s: &str) -> Result<isize, ParseError> {
    isize::try_from(number(s)?).map_err(|_| bad(BadWord::NumberOutOfRange, s))
}

/// A number that must be non-negative (else `negative` is the complaint) and fit `T`.
fn unsigned<T: TryFrom<i128>>(s: &str, negative: BadWord) -> Result<T, ParseError> {
    let value = number(s)?;
    if value < 0 {
        return Err(bad(negative, s));
    }
    T::try_from(value).map_err(|_| bad(BadWord::NumberOutOfRange, s))
}

/// A length: a non-negative number that fits `usize`.
fn length(s: &str) -> Result<usize, ParseError> {
    unsigned(s, BadWord::Length)
}

/// A byte value, 0 to 255.
fn byte(s: &str) -> Result<u8, ParseError> {
    u8::try_from(number(s)?).map_err(|_| bad(BadWord::ByteOutOfRange, s))
}

/// An address: `0x` and hex digits, or `$`, `$+OFF`, `$-OFF` with OFF decimal.
fn addr(s: &str) -> Result<Addr, ParseError> {
    if let Some(rest) = s.strip_prefix('$') {
        return dollar_offset(s, rest).map(Addr::Dollar);
    }
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| bad(BadWord::Address, s))?;
    let value = digits(hex, 16).map_err(|e| match e {
        Digits::Malformed => bad(BadWord::Address, s),
        Digits::TooBig => bad(BadWord::AddressOutOfRange, s),
    })?;
    usize::try_from(value)
        .map(Addr::Absolute)
        .map_err(|_| bad(BadWord::AddressOutOfRange, s))
}

/// The offset of `$` address `s`, given `rest` after the `$`: empty, `+OFF` or
/// `-OFF`, fitting `i64`.
fn dollar_offset(s: &str, rest: &str) -> Result<i64, ParseError> {
    let (negative, off) = match (rest.strip_prefix('+'), rest.strip_prefix('-')) {
        _ if rest.is_empty() => return Ok(0),
        (Some(off), _) => (false, off),
        (_, Some(off)) => (true, off),
        _ => return Err(bad(BadWord::Address, s)),
    };
    let out_of_range = || bad(BadWord::OffsetOutOfRange, s);
    let magnitude = digits(off, 10).map_err(|e| match e {
        Digits::Malformed => bad(BadWord::Offset, s),
        Digits::TooBig => out_of_range(),
    })?;
    let value = with_sign(negative, magnitude).ok_or_else(out_of_range)?;
    i64::try_from(value).map_err(|_| out_of_range())
}

#[cfg(test)]
mod tests;
