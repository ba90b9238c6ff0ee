//! Unit tests of bounded loading: packs parsed in parts give what the whole document gives,
//! `domains_file` lists are read as a stream within their limits, and what errors quote from
//! the input is short and escaped.

use super::tree::rule_headers;
use super::*;
use std::path::{Path, PathBuf};

const HEAD: &str = "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\n";

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-sigs-load-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn strings(errors: Vec<SigError>) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

fn load(text: &str) -> Result<RuleSet, Vec<String>> {
    RuleSet::from_str(text, Path::new("t.toml")).map_err(strings)
}

/// Errors without their column (a `[["rule"]]` header is 2 characters wider).
fn lines_only(errors: Vec<String>) -> Vec<String> {
    errors
        .into_iter()
        .map(|e| {
            let mut parts = e.splitn(4, ':');
            let (f, l, _, m) = (parts.next(), parts.next(), parts.next(), parts.next());
            format!("{f:?}:{l:?}:{m:?}")
        })
        .collect()
}

/// One rule whose strings hold what could fool a splitter: a `[[rule]]` line inside
/// multi-line strings of both kinds, quotes closing such a string, `#` inside strings. Its
/// header is `header`: `[[rule]]`, or `[["rule"]]` (the same TOML, which the splitter does not
/// cut at, so a pack of those is parsed whole).
fn tricky_rule(sid: u32, header: &str) -> String {
    format!(
        "{header}\nsid = {sid}\nname = \"r{sid} # not a comment\"\nchannel = \"other\"\n\
         severity = 3\ndomains = [\n  \"a{sid}.example.com\", # [[rule]]\n  \"b{sid}.example.com\",\n]\n\
         comment = \"\"\"\n[[rule]]\nsid = 1\n\\\"\"\"\n  [[rule]] \"\"\"\"\n\
         references = ['''\n[[rule]]\n''']\n\
         [[rule.payloads]]\nproto = \"udp\"\nport = {}\nprefix = \"P{sid}\"\n\n",
        1 + sid % 60000
    )
}

const PLAIN: &str = "[[rule]]";
const QUOTED: &str = "[[\"rule\"]]";

/// `n` tricky rules with this header, then the [pack] table.
fn tricky_pack(n: u32, header: &str) -> String {
    let mut text: String = (1..=n).map(|sid| tricky_rule(sid, header)).collect();
    text.push_str(HEAD);
    text
}

#[test]
fn rule_headers_are_found_outside_multi_line_strings_only() {
    let text = "[pack]\n[[rule]]\nx = \"\"\"\n[[rule]]\n\"\"\"\n  [[ rule ]] # c\n\
                y = '''\n[[rule]]\n'''\n[[rule]]x\n[[rule.payloads]]\n# [[rule]]\n[[\"rule\"]]\n\
                z = \"a\\\"\"\"\"\n[[rule]]\r\n";
    let starts: Vec<&str> = rule_headers(text)
        .into_iter()
        .map(|i| text[i..].lines().next().unwrap_or_default())
        .collect();
    assert_eq!(starts, vec!["[[rule]]", "  [[ rule ]] # c", "[[rule]]"]);
}

#[test]
fn a_pack_parsed_in_parts_equals_the_whole_document() {
    // Over 64 KiB of rules, so the pack is cut into several parts; [pack] at the end.
    let (text, whole) = (tricky_pack(1000, PLAIN), tricky_pack(1000, QUOTED));
    assert!(text.len() > 3 * (64 << 10));
    assert_eq!(rule_headers(&text).len(), 1000);
    assert!(rule_headers(&whole).is_empty());
    let parts = load(&text).expect("loads in parts");
    assert_eq!(parts.rules.len(), 1000);
    assert_eq!(parts, load(&whole).expect("loads whole"));
    assert_eq!(
        parts.rules[999].comment.as_deref(),
        Some("[[rule]]\nsid = 1\n\"\"\"\n  [[rule]] \"")
    );
    assert_eq!(parts.rules[999].payloads[0].prefix, b"P1000");

    // The same errors, at the same lines, for a pack with mistakes all over.
    let spoil = |t: &str| {
        t.replace(
            "severity = 3\ndomains = [\n  \"a17.",
            "severity = 9\ndomains = [\n  \"a17.",
        )
        .replace("prefix = \"P300\"", "prefix = \"P300\"\nbogus = 1")
        .replace("\"b599.example.com\"", "\"b..599.example.com\"")
    };
    let parts = load(&spoil(&text)).expect_err("bad");
    assert_eq!(parts.len(), 3, "{parts:#?}");
    assert_eq!(
        lines_only(parts),
        lines_only(load(&spoil(&whole)).expect_err("bad"))
    );
}

#[test]
fn parts_that_do_not_add_up_are_judged_as_one_document() {
    // [pack] twice (in two parts): TOML's own duplicate-table error.
    let twice = |h| format!("{HEAD}{}{HEAD}", tricky_rule(1, h));
    let e = load(&twice(PLAIN)).expect_err("duplicate table");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with("t.toml:") && e[0].contains("TOML syntax"),
        "{e:?}"
    );
    assert_eq!(
        lines_only(e),
        lines_only(load(&twice(QUOTED)).expect_err("whole"))
    );
    // `rule` written inline before a [[rule]] header: not a valid TOML document.
    let inline = format!(
        "rule = [{{ sid = 9, name = \"n\", channel = \"other\", severity = 3, domains = \
         [\"x.com\"] }}]\n{HEAD}{}",
        tricky_rule(1, PLAIN)
    );
    let e = load(&inline).expect_err("inline array extended");
    assert!(e[0].contains("TOML syntax"), "{e:?}");
    // A quoted header before the first plain one is the same array: both rules load.
    let quoted = format!("{HEAD}{}{}", tricky_rule(1, QUOTED), tricky_rule(2, PLAIN));
    assert_eq!(load(&quoted).expect("loads").rules.len(), 2);
    // A syntax error in a later part: one error, at its line in the whole file.
    let mut text = format!("{HEAD}{}", tricky_pack(400, PLAIN));
    text.truncate(text.len() - HEAD.len());
    let line = text.lines().count() + 2;
    text.push_str("[[rule]]\nsid = = 5\n");
    let e = load(&text).expect_err("syntax");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with(&format!("t.toml:{line}:")), "{e:?}");
}

#[test]
fn a_pack_that_fails_after_some_parts_leaves_nothing_behind() {
    // a.toml: 400 rules (several parts) and a syntax error at the end; b.toml reuses sid 1.
    // Only the syntax error is reported: a's rules are taken back, so b's sid 1 is no
    // duplicate, exactly as when a.toml was parsed whole.
    let dir = temp_dir("rollback");
    let mut a = format!("{HEAD}{}", tricky_pack(400, PLAIN));
    a.truncate(a.len() - HEAD.len());
    a.push_str("[[rule]]\nsid = = 5\n");
    std::fs::write(dir.join("a.toml"), a).expect("write");
    let b = format!(
        "[pack]\nid = \"b\"\nvendor = \"B\"\nversion = \"1\"\n{}",
        tricky_rule(1, PLAIN)
    );
    std::fs::write(dir.join("b.toml"), b).expect("write");
    let e = strings(RuleSet::load(std::slice::from_ref(&dir)).expect_err("syntax"));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].contains("a.toml:") && e[0].contains("TOML syntax"),
        "{e:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn list_pack(dir: &Path, list: &[u8]) -> PathBuf {
    let pack = dir.join("p.toml");
    std::fs::write(
        &pack,
        format!(
            "{HEAD}[[rule]]\nsid = 1\nname = \"n\"\nchannel = \"other\"\nseverity = 3\n\
             domains_file = \"l.domains\"\n"
        ),
    )
    .expect("write");
    std::fs::write(dir.join("l.domains"), list).expect("write");
    pack
}

#[test]
fn domains_file_is_read_as_a_bounded_stream() {
    let dir = temp_dir("stream");
    let pack = list_pack(
        &dir,
        b"a.example.com\r\n  b.example.com # c\r\n\r\nC.example.com",
    );
    let set = RuleSet::load(std::slice::from_ref(&pack)).expect("loads");
    assert_eq!(
        set.rules[0].domains,
        ["a.example.com", "b.example.com", "c.example.com"]
    );

    // A line over MAX_LIST_LINE, a line that is not UTF-8, then many bad lines.
    let mut list = b"ok.example.com\n".to_vec();
    list.extend(std::iter::repeat_n(b'x', 3 * MAX_LIST_LINE));
    list.extend(b"\n  bad\xff\x1b.com\n");
    for i in 0..30 {
        list.extend(format!("secret{i}:$6$hash\n").as_bytes());
    }
    let pack = list_pack(&dir, &list);
    let l = dir.join("l.domains").display().to_string();
    let e = strings(RuleSet::load(std::slice::from_ref(&pack)).expect_err("bad lines"));
    assert_eq!(e.len(), MAX_BAD_LINES_SHOWN + 1, "{e:#?}");
    assert_eq!(
        e[0],
        format!(
            "{l}:2:1: invalid domain pattern \"{}...\": the line is longer than 4096 bytes",
            "x".repeat(text::EXCERPT_CHARS)
        )
    );
    assert_eq!(
        e[1],
        format!("{l}:3:6: the line is not UTF-8: \"bad\u{fffd}\\u{{1b}}.com\"")
    );
    assert_eq!(
        e[MAX_BAD_LINES_SHOWN],
        format!("{l}: 22 more invalid line(s) not shown")
    );

    // The size limit, exact to the byte.
    let names: String = (0..60_000)
        .map(|i| format!("n{i:06}.example.org\n"))
        .collect();
    assert!(names.len() > 1 << 20);
    let pack = list_pack(&dir, &names.as_bytes()[..1 << 20]);
    let small = LoadLimits {
        max_list_mib: 1,
        ..LoadLimits::default()
    };
    assert!(RuleSet::load_with(std::slice::from_ref(&pack), small).is_ok());
    let pack = list_pack(&dir, &names.as_bytes()[..(1 << 20) + 1]);
    let e = strings(RuleSet::load_with(std::slice::from_ref(&pack), small).expect_err("big"));
    assert_eq!(
        e,
        [format!(
            "{}:10:16: cannot read domains_file {l}: larger than 1 MiB (1048577 bytes); raise \
             --max-list-size to read it",
            pack.display()
        )]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn pack_size_limit_and_non_regular_files() {
    let dir = temp_dir("packsize");
    let pack = dir.join("p.toml");
    let mut text = format!("{HEAD}{}", tricky_rule(1, PLAIN));
    while text.len() < (1 << 20) + 1 {
        text.push_str("# filler\n");
    }
    std::fs::write(&pack, &text).expect("write");
    let one = LoadLimits {
        max_pack_mib: 1,
        ..LoadLimits::default()
    };
    let e = strings(RuleSet::load_with(std::slice::from_ref(&pack), one).expect_err("big"));
    assert_eq!(
        e,
        [format!(
            "{}: larger than 1 MiB ({} bytes); raise --max-pack-size to read it",
            pack.display(),
            text.len()
        )]
    );
    assert!(RuleSet::load(std::slice::from_ref(&pack)).is_ok());
    let e = strings(RuleSet::load(&[PathBuf::from("/dev/null")]).expect_err("device"));
    assert_eq!(e, ["/dev/null: not a regular file"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_quote_short_escaped_excerpts() {
    let long = format!("\u{1b}{}", "a".repeat(20_000));
    let toml_long = long.replace('\u{1b}', "\\u001b");
    let text = format!(
        "{HEAD}[[rule]]\nsid = 1\nname = \"n\"\nchannel = \"{toml_long}\"\nseverity = 3\n\
         domains = [\"{toml_long}.com\"]\nips = [\"{toml_long}\"]\n\"{toml_long}\" = 1\n"
    );
    let e = load(&text).expect_err("bad");
    assert_eq!(e.len(), 4, "{e:#?}");
    for line in &e {
        assert!(line.len() < 400, "{} bytes: {line:.400}", line.len());
        assert!(!line.contains('\u{1b}'), "{line:?}");
    }
    let cut = format!("\\u{{1b}}{}...", "a".repeat(text::EXCERPT_CHARS - 1));
    for want in [
        format!("unknown key `{cut}` in [[rule]]"),
        format!("`channel` is \"{cut}\", expected one of"),
        format!("invalid domain pattern \"{cut}\": name is 20005 characters long"),
        format!("invalid CIDR \"{cut}\": \"{cut}\" is not an IPv4 or IPv6 address"),
    ] {
        assert!(e.iter().any(|l| l.contains(&want)), "{want:?} in {e:#?}");
    }
}

/// Packs put together at random from fragments that stress the cutting: headers both ways,
/// `[[rule]]` lines inside multi-line strings and after comments, sub-tables, `[pack]` at
/// any place (sometimes twice), an inline `rule` array, local syntax errors, overlapping
/// sids. Parsed in parts, each gives what the same pack gives parsed whole: the same rules,
/// or the same errors (for a pack that is not TOML, a syntax error).
#[test]
fn parts_equal_the_whole_document_on_generated_packs() {
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut loaded = 0;
    for round in 0..90 {
        let (mut plain, mut quoted) = (String::new(), String::new());
        let mut push = |p: &str, q: &str| {
            plain.push_str(p);
            quoted.push_str(q);
        };
        // One round in three without mistakes: those packs must load, and load the same.
        let noisy = round % 3 != 0;
        let mut pack_at = next(6);
        let rules = 1 + next(500);
        for i in 0..rules {
            if i == pack_at {
                push(HEAD, HEAD);
                pack_at = if noisy && next(40) == 0 {
                    i + 1 + next(5)
                } else {
                    u64::MAX
                };
            }
            let range = if noisy && next(50) == 0 { 20 } else { 1 << 31 };
            let sid = if noisy { 1 + next(range) } else { 1 + i };
            let r = tricky_rule(sid as u32, PLAIN);
            let q = tricky_rule(sid as u32, QUOTED);
            push(&r, &q);
            match if noisy { next(60) } else { 60 } {
                0 => push("sid = = 1\n", "sid = = 1\n"),
                1 => push("comment = '''\n[[rule]]\n", "comment = '''\n[[rule]]\n"),
                2 => push("[rule.x]\ny = 1\n", "[rule.x]\ny = 1\n"),
                3 => push("# [[rule]]\n\n", "# [[rule]]\n\n"),
                4 if i == 0 => push("rule = [{ sid = 7 }]\n", "rule = [{ sid = 7 }]\n"),
                _ => {}
            }
        }
        if pack_at != u64::MAX {
            push(HEAD, HEAD);
        }
        let (a, b) = (load(&plain), load(&quoted));
        match (a, b) {
            (Ok(a), Ok(b)) => {
                assert_eq!(a, b, "round {round}");
                loaded += 1;
            }
            // Not TOML: both say so, each with one syntax error. Not always the same one: a
            // part reports its own first error, which may come after another part's
            // duplicate table that the whole document reports first.
            (Err(a), Err(b)) => {
                let syntax = |e: &[String]| e.len() == 1 && e[0].contains("TOML syntax");
                assert_eq!(syntax(&a), syntax(&b), "round {round}: {a:?} {b:?}");
                if !syntax(&a) {
                    assert_eq!(lines_only(a), lines_only(b), "round {round}");
                }
            }
            (a, b) => panic!(
                "round {round}: parts {:?} whole {:?}",
                a.map(|s| s.rules.len()),
                b.map(|s| s.rules.len())
            ),
        }
    }
    assert!(loaded >= 30, "{loaded} of 90 generated packs loaded");
}

/// The packs next to the executable (a checkout, an unpacked release) come first, then the
/// packaged directory; a directory without `*.toml` does not count, and nothing else is read
/// (no build-tree path): with neither, the bundled packs are used.
#[test]
fn signature_dir_next_to_the_exe_then_the_packaged_one() {
    let root = temp_dir("sigdir");
    let exe = root.join("target/release/vendorwatch");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    let packaged = root.join("usr/share/vendorwatch/signatures");
    assert_eq!(signature_dir_for(Some(&exe), &packaged), None);
    assert_eq!(signature_dir_for(None, &packaged), None);
    std::fs::create_dir_all(&packaged).unwrap();
    assert_eq!(signature_dir_for(Some(&exe), &packaged), None, "empty");
    std::fs::write(packaged.join("a.toml"), "").unwrap();
    assert_eq!(
        signature_dir_for(Some(&exe), &packaged),
        Some(packaged.clone())
    );
    assert_eq!(signature_dir_for(None, &packaged), Some(packaged.clone()));
    let checkout = root.join("signatures");
    std::fs::create_dir_all(&checkout).unwrap();
    std::fs::write(checkout.join("notes.txt"), "").unwrap();
    assert_eq!(
        signature_dir_for(Some(&exe), &packaged),
        Some(packaged.clone())
    );
    std::fs::write(checkout.join("k.toml"), "").unwrap();
    assert_eq!(signature_dir_for(Some(&exe), &packaged), Some(checkout));
    let _ = std::fs::remove_dir_all(&root);
}
