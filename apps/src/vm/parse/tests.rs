#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use super::*;
use alloc::{format, string::String, vec};
use proptest::prelude::*;

/// The error `script` gives, as the caller would print it after `vm: parse error: `.
fn error(script: &str) -> String {
    parse(script).unwrap_err().to_string()
}

/// `depth` blocks of `kind` nested around `stat`, e.g. `fork { fork { stat } }`.
fn nested(kind: &str, depth: usize) -> String {
    let mut s = format!("{kind} {{ ").repeat(depth);
    s.push_str("stat");
    s.push_str(&" }".repeat(depth));
    s
}

/// How many blocks are nested inside one another in `commands`.
fn depth_of(commands: &[Command]) -> usize {
    match commands {
        [Command::Fork(body)] | [Command::Spawn(body)] => 1 + depth_of(body),
        _ => 0,
    }
}

#[test]
fn a_script_of_every_command_parses_in_order() {
    let got = parse(
        "mmap 8192; sbrk -4096; w $+0 97; r 0x40000000; stat; free; show; wait; sleep 250; \
         fill $+0 8192 7; check 0x1000 1 0xff; x $",
    )
    .unwrap();
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
            Command::Wait,
            Command::Sleep(250),
            Command::Fill {
                addr: Addr::Dollar(0),
                len: 8192,
                seed: 7
            },
            Command::Check {
                addr: Addr::Absolute(0x1000),
                len: 1,
                seed: 0xff
            },
            Command::Exec(Addr::Dollar(0)),
        ]
    );
}

#[test]
fn the_empty_script_and_empty_commands_parse_to_nothing() {
    assert_eq!(parse(""), Ok(vec![]));
    assert_eq!(parse(" ;; \t;\n"), Ok(vec![]));
    assert_eq!(parse(";stat;;"), Ok(vec![Command::Stat]));
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
fn spawn_blocks_parse_and_mix_with_fork() {
    let got = parse("spawn{sleep 10;fork{wait}}wait").unwrap();
    assert_eq!(
        got,
        vec![
            Command::Spawn(vec![Command::Sleep(10), Command::Fork(vec![Command::Wait])]),
            Command::Wait,
        ]
    );
    assert_eq!(parse("spawn { }"), Ok(vec![Command::Spawn(vec![])]));
}

#[test]
fn braces_are_tokens_even_without_spaces() {
    assert_eq!(
        parse("fork{stat}free"),
        Ok(vec![Command::Fork(vec![Command::Stat]), Command::Free])
    );
}

#[test]
fn bad_scripts_say_what_is_wrong() {
    assert_eq!(error("mmap"), "mmap takes 1 argument(s), got 0");
    assert_eq!(error("stat 1"), "stat takes 0 argument(s), got 1");
    assert_eq!(error("w 1234 5"), r#"bad address "1234" (0x… or $+OFF)"#);
    assert_eq!(error("w $+0 256"), r#"byte out of range "256""#);
    assert_eq!(error("w $+0 -1"), r#"byte out of range "-1""#);
    assert_eq!(error("fork { stat"), "fork block has no '}'");
    assert_eq!(error("fork { spawn { stat }"), "fork block has no '}'");
    assert_eq!(error("spawn { stat"), "spawn block has no '}'");
    assert_eq!(error("stat }"), "unmatched '}'");
    assert_eq!(error("jump 1"), r#"unknown command "jump""#);
    assert_eq!(error("{ stat }"), "'{' must follow fork or spawn");
    assert_eq!(error("mmap 1 { stat }"), "'{' must follow fork or spawn");
    assert_eq!(error("fork stat"), "fork needs { SCRIPT }");
    assert_eq!(error("spawn"), "spawn needs { SCRIPT }");
    assert_eq!(error("sleep -1"), r#"bad duration "-1""#);
    assert_eq!(error("fill $ 1 -1"), r#"bad seed "-1""#);
    assert_eq!(error("check $ -1 1"), r#"bad length "-1""#);
}

#[test]
fn errors_are_typed_values() {
    assert_eq!(parse("}"), Err(ParseError::UnmatchedClose));
    assert_eq!(
        parse("r 12"),
        Err(ParseError::Word(BadWord::Address, "12".into()))
    );
    assert_eq!(
        parse("wait 1 2"),
        Err(ParseError::ArgCount {
            command: "wait".into(),
            want: 0,
            got: 2
        })
    );
}

#[test]
fn dollar_resolves_against_the_last_mmap() {
    assert_eq!(Addr::Dollar(-1).resolve(0x4000_0000), 0x3fff_ffff);
    assert_eq!(Addr::Dollar(8192).resolve(0x4000_0000), 0x4000_2000);
    assert_eq!(Addr::Absolute(5).resolve(0x4000_0000), 5);
    assert_eq!(Addr::Dollar(-1).resolve(0), usize::MAX);
}

#[test]
fn extended_commands_parse_with_every_placement() {
    let got = parse(
        "map 4096 rw; map 8192 r at $+0; map 1 rx at 0x1000 fixed; map 1 none at 0x2000 noreplace",
    )
    .unwrap();
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
    assert!(error("map 4096").contains("usage: map"));
    assert!(error("map 4096 rw at").contains("usage: map"));
    assert!(error("map 4096 rw at $ sideways").contains("usage: map"));
    assert_eq!(error("map -1 rw"), r#"bad length "-1""#);
}

#[test]
fn mmap_sizes_may_be_negative_hex_or_negative_hex() {
    assert_eq!(parse("mmap -1234").unwrap(), vec![Command::Mmap(-1234)]);
    assert_eq!(parse("mmap 0x1000").unwrap(), vec![Command::Mmap(4096)]);
    assert_eq!(parse("sbrk -0x10").unwrap(), vec![Command::Sbrk(-16)]);
    assert_eq!(
        parse("mmap -9223372036854775808").unwrap(),
        vec![Command::Mmap(isize::MIN)]
    );
    assert_eq!(
        error("mmap 99999999999999999999999"),
        r#"number out of range "99999999999999999999999""#
    );
}

#[test]
fn numbers_take_one_minus_and_no_plus() {
    assert_eq!(error("mmap --5"), r#"bad number "--5""#);
    assert_eq!(error("mmap +5"), r#"bad number "+5""#);
    assert_eq!(error("mmap 0x"), r#"bad number "0x""#);
    assert_eq!(error("mmap 0x+5"), r#"bad number "0x+5""#);
    assert_eq!(error("mmap -"), r#"bad number "-""#);
    assert_eq!(error("mmap 1_000"), r#"bad number "1_000""#);
}

#[test]
fn overflowing_numbers_are_errors_not_panics() {
    assert_eq!(
        error("mmap --170141183460469231731687303715884105728"),
        r#"bad number "--170141183460469231731687303715884105728""#
    );
    assert_eq!(
        error("mmap -170141183460469231731687303715884105728"),
        r#"number out of range "-170141183460469231731687303715884105728""#
    );
    assert_eq!(
        error("mmap 999999999999999999999999999999999999999999999"),
        r#"number out of range "999999999999999999999999999999999999999999999""#
    );
    assert!(error("sleep 18446744073709551616").contains("number out of range"));
    assert_eq!(
        parse("sleep 18446744073709551615"),
        Ok(vec![Command::Sleep(u64::MAX)])
    );
    assert!(error("fill $ 1 0x1ffffffffffffffff").contains("number out of range"));
    assert!(error("r 0x10000000000000000").contains("address out of range"));
}

#[test]
fn dollar_offsets_must_fit_i64_and_take_one_sign() {
    assert_eq!(
        parse("r $-9223372036854775808"),
        Ok(vec![Command::Read(Addr::Dollar(i64::MIN))])
    );
    assert_eq!(
        parse("r $+9223372036854775807"),
        Ok(vec![Command::Read(Addr::Dollar(i64::MAX))])
    );
    assert_eq!(
        error("r $+9223372036854775808"),
        r#"offset out of range "$+9223372036854775808""#
    );
    assert_eq!(
        error("r $-9223372036854775809"),
        r#"offset out of range "$-9223372036854775809""#
    );
    assert_eq!(error("r $--5"), r#"bad offset "$--5""#);
    assert_eq!(
        error("r $--9223372036854775808"),
        r#"bad offset "$--9223372036854775808""#
    );
    assert_eq!(error("r $+"), r#"bad offset "$+""#);
    assert_eq!(error("r $+0x10"), r#"bad offset "$+0x10""#);
    assert!(error("r $5").contains("bad address"));
}

#[test]
fn blocks_nest_thirty_two_deep_but_not_thirty_three() {
    let got = parse(&nested("fork", MAX_DEPTH)).unwrap();
    assert_eq!(depth_of(&got), 32);
    let got = parse(&nested("spawn", MAX_DEPTH)).unwrap();
    assert_eq!(depth_of(&got), 32);
    assert_eq!(error(&nested("fork", 33)), "nesting deeper than 32 levels");
    assert_eq!(error(&nested("spawn", 33)), "nesting deeper than 32 levels");
}

#[test]
fn thirty_two_levels_in_sequence_do_not_add_up() {
    let script = format!("{}; {}", nested("fork", 32), nested("spawn", 32));
    assert_eq!(parse(&script).unwrap().len(), 2);
}

#[test]
fn very_deep_input_is_refused_at_the_limit() {
    assert_eq!(parse(&"fork { ".repeat(3000)), Err(ParseError::TooDeep));
    assert_eq!(parse(&nested("fork", 3000)), Err(ParseError::TooDeep));
    // A 16 KB line of opens without spaces.
    assert_eq!(parse(&"fork{".repeat(3300)), Err(ParseError::TooDeep));
    assert_eq!(parse(&"}".repeat(16_000)), Err(ParseError::UnmatchedClose));
}

/// Words and fragments a script is made of, including ones near the limits.
const ALPHABET: &[&str] = &[
    "mmap",
    "sbrk",
    "w",
    "r",
    "stat",
    "free",
    "show",
    "fork",
    "spawn",
    "wait",
    "sleep",
    "fill",
    "check",
    "map",
    "munmap",
    "mprotect",
    "x",
    "at",
    "fixed",
    "noreplace",
    "rw",
    "{",
    "}",
    ";",
    "$",
    "$+",
    "$-",
    "0x",
    "-",
    "+",
    "0",
    "1",
    "9",
    "f",
    "4096",
    "256",
    "255",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551616",
    "170141183460469231731687303715884105728",
    "999999999999999999999999999999999999999999",
    "é",
    "\u{0}",
    "\t",
];

/// Scripts built from [`ALPHABET`], pieces joined by a space, nothing, or `;`.
fn script_like() -> impl Strategy<Value = String> {
    let piece = (
        prop::sample::select(ALPHABET),
        prop::sample::select(&[" ", "", ";"][..]),
    );
    prop::collection::vec(piece, 0..80).prop_map(|pieces| {
        pieces
            .into_iter()
            .flat_map(|(word, sep)| [word, sep])
            .collect()
    })
}

#[test]
fn file_mapping_commands_parse_with_their_arguments() {
    use lazuli_api::fs::Sharing;
    assert_eq!(
        parse("mapf DATA.BIN 4096 8192 rw shared; msync $+0 8192; cache"),
        Ok(vec![
            Command::MapFile {
                path: "DATA.BIN".into(),
                offset: 4096,
                len: 8192,
                prot: "rw".into(),
                sharing: Sharing::Shared,
            },
            Command::Msync(Addr::Dollar(0), 8192),
            Command::Cache,
        ])
    );
    assert_eq!(
        parse("fr A.TXT 7; fw A.TXT 0x10 255"),
        Ok(vec![
            Command::FileRead("A.TXT".into(), 7),
            Command::FileWrite("A.TXT".into(), 16, 255),
        ])
    );
    let bad_sharing = parse("mapf A 0 1 r both").unwrap_err();
    assert_eq!(
        bad_sharing.to_string(),
        "want shared or private, not \"both\""
    );
    let negative = parse("fr A -1").unwrap_err();
    assert_eq!(negative.to_string(), "bad file offset \"-1\"");
    assert!(parse("fw A 0 256").is_err(), "a byte is 0 to 255");
    assert!(parse("mapf A 0 4096 r").is_err(), "five arguments");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_script_parses_or_errors_the_same_way_every_time(
        script in prop_oneof![any::<String>(), script_like()]
    ) {
        let first = parse(&script);
        prop_assert_eq!(&first, &parse(&script));
        if let Err(e) = first {
            prop_assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn nesting_within_the_limit_parses_and_beyond_it_does_not(depth in 0usize..64) {
        let got = parse(&nested("fork", depth));
        if depth <= MAX_DEPTH {
            prop_assert_eq!(depth_of(&got.unwrap()), depth);
        } else {
            prop_assert_eq!(got, Err(ParseError::TooDeep));
        }
    }

    #[test]
    fn every_i64_offset_round_trips(off in any::<i64>()) {
        let script = if off < 0 { format!("r $-{}", off.unsigned_abs()) } else { format!("r $+{off}") };
        prop_assert_eq!(parse(&script), Ok(vec![Command::Read(Addr::Dollar(off))]));
    }

    #[test]
    fn every_isize_size_round_trips_in_decimal_and_hex(n in any::<isize>()) {
        let hex = if n < 0 { format!("-0x{:x}", n.unsigned_abs()) } else { format!("0x{n:x}") };
        prop_assert_eq!(parse(&format!("mmap {n}")), Ok(vec![Command::Mmap(n)]));
        prop_assert_eq!(parse(&format!("sbrk {hex}")), Ok(vec![Command::Sbrk(n)]));
    }
}
