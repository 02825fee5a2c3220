//! Parsing `vm` scripts: `;`-separated commands, `fork { … }` blocks that nest, and
//! addresses as `0x…` or `$+OFF` / `$-OFF`. Pure: tested on the host.
use alloc::{
    format,
    string::{String, ToString},
    vec::Vec,
};

/// An address as written in a script.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `0x…`
    Absolute(usize),
    /// `$+OFF` / `$-OFF`: relative to the last successful mmap result.
    Dollar(i64),
}

impl Addr {
    /// The address, given the current value of `$`.
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
    Mmap(isize),
    /// `map LEN PROT [at ADDR [fixed|noreplace]]`; PROT is kept as written
    /// (`rw`, `none`, `guard`, …) and checked when the command runs.
    Map {
        len: usize,
        prot: String,
        at: At,
    },
    Munmap(Addr, usize),
    Mprotect(Addr, usize, String),
    Exec(Addr),
    Sbrk(isize),
    Write(Addr, u8),
    Read(Addr),
    Stat,
    Fork(Vec<Command>),
    Free,
    Show,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Semi,
    Open,
    Close,
}

fn tokenize(script: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    for c in script.chars() {
        let special = match c {
            ';' => Some(Token::Semi),
            '{' => Some(Token::Open),
            '}' => Some(Token::Close),
            _ => None,
        };
        if c.is_whitespace() || special.is_some() {
            if !word.is_empty() {
                tokens.push(Token::Word(core::mem::take(&mut word)));
            }
            tokens.extend(special);
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        tokens.push(Token::Word(word));
    }
    tokens
}

/// Parses a whole script, or says what is wrong with it.
pub fn parse(script: &str) -> Result<Vec<Command>, String> {
    let tokens = tokenize(script);
    let mut pos = 0;
    let commands = sequence(&tokens, &mut pos)?;
    match tokens.get(pos) {
        None => Ok(commands),
        Some(_) => Err("unmatched '}'".to_string()),
    }
}

/// Commands up to the end or a `}` (not consumed).
fn sequence(tokens: &[Token], pos: &mut usize) -> Result<Vec<Command>, String> {
    let mut commands = Vec::new();
    loop {
        match tokens.get(*pos) {
            None | Some(Token::Close) => return Ok(commands),
            Some(Token::Semi) => *pos += 1,
            Some(Token::Open) => return Err("'{' must follow fork".to_string()),
            Some(Token::Word(_)) => commands.push(command(tokens, pos)?),
        }
    }
}

fn command(tokens: &[Token], pos: &mut usize) -> Result<Command, String> {
    let Some(Token::Word(name)) = tokens.get(*pos) else {
        unreachable!("sequence saw a word")
    };
    *pos += 1;
    if name == "fork" {
        if tokens.get(*pos) != Some(&Token::Open) {
            return Err("fork needs { SCRIPT }".to_string());
        }
        *pos += 1;
        let body = sequence(tokens, pos)?;
        if tokens.get(*pos) != Some(&Token::Close) {
            return Err("fork block has no '}'".to_string());
        }
        *pos += 1;
        return Ok(Command::Fork(body));
    }
    let mut args = Vec::new();
    while let Some(Token::Word(w)) = tokens.get(*pos) {
        args.push(w.as_str());
        *pos += 1;
    }
    let want = |n: usize| {
        if args.len() == n {
            Ok(())
        } else {
            Err(format!("{name} takes {n} argument(s), got {}", args.len()))
        }
    };
    match name.as_str() {
        "mmap" => want(1).and_then(|()| Ok(Command::Mmap(number(args[0])?))),
        "sbrk" => want(1).and_then(|()| Ok(Command::Sbrk(number(args[0])?))),
        "w" => want(2).and_then(|()| Ok(Command::Write(addr(args[0])?, byte(args[1])?))),
        "r" => want(1).and_then(|()| Ok(Command::Read(addr(args[0])?))),
        "map" => map_command(&args),
        "munmap" => want(2).and_then(|()| Ok(Command::Munmap(addr(args[0])?, length(args[1])?))),
        "mprotect" => want(3).and_then(|()| {
            Ok(Command::Mprotect(
                addr(args[0])?,
                length(args[1])?,
                args[2].to_string(),
            ))
        }),
        "x" => want(1).and_then(|()| Ok(Command::Exec(addr(args[0])?))),
        "stat" => want(0).map(|()| Command::Stat),
        "free" => want(0).map(|()| Command::Free),
        "show" => want(0).map(|()| Command::Show),
        other => Err(format!("unknown command {other:?}")),
    }
}

/// `map LEN PROT`, optionally `at ADDR`, optionally then `fixed` or `noreplace`.
fn map_command(args: &[&str]) -> Result<Command, String> {
    let usage = || "map LEN PROT [at ADDR [fixed|noreplace]]".to_string();
    let (len, prot) = match args {
        [len, prot, ..] => (length(len)?, prot.to_string()),
        _ => return Err(usage()),
    };
    let at = match &args[2..] {
        [] => At::Anywhere,
        ["at", a] => At::Hint(addr(a)?),
        ["at", a, "fixed"] => At::Fixed(addr(a)?),
        ["at", a, "noreplace"] => At::NoReplace(addr(a)?),
        _ => return Err(usage()),
    };
    Ok(Command::Map { len, prot, at })
}

/// A length: a non-negative number.
fn length(s: &str) -> Result<usize, String> {
    usize::try_from(number(s)?).map_err(|_| format!("bad length {s:?}"))
}

/// A signed decimal (or 0x hex) number.
fn number(s: &str) -> Result<isize, String> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let magnitude = match digits.strip_prefix("0x") {
        Some(hex) => i128::from_str_radix(hex, 16),
        None => digits.parse::<i128>(),
    }
    .map_err(|_| format!("bad number {s:?}"))?;
    let value = if neg { -magnitude } else { magnitude };
    isize::try_from(value).map_err(|_| format!("number out of range {s:?}"))
}

fn byte(s: &str) -> Result<u8, String> {
    let v = number(s)?;
    u8::try_from(v).map_err(|_| format!("byte out of range {s:?}"))
}

fn addr(s: &str) -> Result<Addr, String> {
    if let Some(rest) = s.strip_prefix('$') {
        if rest.is_empty() {
            return Ok(Addr::Dollar(0));
        }
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return Err(format!("bad address {s:?}")),
        };
        let off: i64 = rest[1..].parse().map_err(|_| format!("bad offset {s:?}"))?;
        return Ok(Addr::Dollar(sign * off));
    }
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("bad address {s:?} (0x… or $+OFF)"))?;
    usize::from_str_radix(hex, 16)
        .map(Addr::Absolute)
        .map_err(|_| format!("bad address {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_script_of_every_command_parses_in_order() {
        let got = parse("mmap 8192; sbrk -4096; w $+0 97; r 0x40000000; stat; free; show").unwrap();
        assert_eq!(
            got,
            vec![
                Command::Mmap(8192),
                Command::Sbrk(-4096),
                Command::Write(Addr::Dollar(0), 97),
                Command::Read(Addr::Absolute(0x4000_0000)),
                Command::Stat,
                Command::Free,
                Command::Show,
            ]
        );
    }

    #[test]
    fn fork_blocks_nest() {
        let got = parse("fork { w $-1 1; fork { r $+4096 } }; stat").unwrap();
        let inner = Command::Fork(vec![Command::Read(Addr::Dollar(4096))]);
        assert_eq!(
            got,
            vec![
                Command::Fork(vec![Command::Write(Addr::Dollar(-1), 1), inner]),
                Command::Stat
            ]
        );
    }

    #[test]
    fn bad_scripts_say_what_is_wrong() {
        assert!(parse("mmap").unwrap_err().contains("takes 1"));
        assert!(parse("w 1234 5").unwrap_err().contains("bad address"));
        assert!(
            parse("w $+0 256")
                .unwrap_err()
                .contains("byte out of range")
        );
        assert!(parse("fork { stat").unwrap_err().contains("no '}'"));
        assert!(parse("stat }").unwrap_err().contains("unmatched"));
        assert!(parse("jump 1").unwrap_err().contains("unknown command"));
    }

    #[test]
    fn dollar_resolves_against_the_last_mmap() {
        assert_eq!(Addr::Dollar(-1).resolve(0x4000_0000), 0x3fff_ffff);
        assert_eq!(Addr::Dollar(8192).resolve(0x4000_0000), 0x4000_2000);
        assert_eq!(Addr::Absolute(5).resolve(0x4000_0000), 5);
    }

    #[test]
    fn extended_commands_parse_with_every_placement() {
        let got = parse("map 4096 rw; map 8192 r at $+0; map 1 rx at 0x1000 fixed; map 1 none at 0x2000 noreplace").unwrap();
        let map = |len, prot: &str, at| Command::Map {
            len,
            prot: prot.to_string(),
            at,
        };
        assert_eq!(
            got,
            vec![
                map(4096, "rw", At::Anywhere),
                map(8192, "r", At::Hint(Addr::Dollar(0))),
                map(1, "rx", At::Fixed(Addr::Absolute(0x1000))),
                map(1, "none", At::NoReplace(Addr::Absolute(0x2000))),
            ]
        );
        let got = parse("munmap $+4096 8192; mprotect 0x400000 4096 r; x $+0").unwrap();
        assert_eq!(
            got,
            vec![
                Command::Munmap(Addr::Dollar(4096), 8192),
                Command::Mprotect(Addr::Absolute(0x40_0000), 4096, "r".to_string()),
                Command::Exec(Addr::Dollar(0)),
            ]
        );
        assert!(parse("map 4096").is_err());
        assert!(parse("map 4096 rw at").is_err());
        assert!(parse("map -1 rw").unwrap_err().contains("bad length"));
    }

    #[test]
    fn mmap_sizes_may_be_negative_or_huge() {
        assert_eq!(parse("mmap -1234").unwrap(), vec![Command::Mmap(-1234)]);
        assert_eq!(parse("mmap 0x1000").unwrap(), vec![Command::Mmap(4096)]);
        assert!(parse("mmap 99999999999999999999999").is_err());
    }
}
