//! Unit tests of pattern semantics, normalisation, specificity, IPs, error reporting and the
//! bundled Kaspersky pack.

use super::pattern::{glob_match, parse_cidr, parse_domain};
use super::*;
use crate::proto::NameBuf;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

const HEAD: &str = "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\n";

fn rules(body: &str) -> RuleSet {
    let text = format!("{HEAD}{body}");
    match RuleSet::from_str(&text, Path::new("t.toml")) {
        Ok(set) => set,
        Err(errors) => panic!("unexpected errors: {errors:#?}"),
    }
}

fn rule(sid: u32, domains: &[&str]) -> String {
    let list: Vec<String> = domains.iter().map(|d| format!("\"{d}\"")).collect();
    format!(
        "[[rule]]\nsid = {sid}\nname = \"r{sid}\"\nchannel = \"other\"\nseverity = 3\n\
         domains = [{}]\n",
        list.join(", ")
    )
}

/// sid of the best rule for `raw` (normalised first), if any.
fn best(set: &RuleSet, m: &Matcher, raw: &str) -> Option<u32> {
    let mut buf = NameBuf::new();
    assert!(normalise_name(raw.as_bytes(), &mut buf));
    m.match_name(buf.as_bytes())
        .map(|hit| set.rules[hit.rule].sid)
}

fn one(domains: &[&str]) -> (RuleSet, Matcher) {
    let set = rules(&rule(1, domains));
    let m = Matcher::new(&set);
    (set, m)
}

fn matches(m: &Matcher, name: &str) -> bool {
    m.match_name(name.as_bytes()).is_some()
}

#[test]
fn exact_pattern() {
    let (_, m) = one(&["a.example.com"]);
    assert!(matches(&m, "a.example.com"));
    assert!(!matches(&m, "example.com"));
    assert!(!matches(&m, "x.a.example.com"));
    assert!(!matches(&m, "xa.example.com"));
    assert!(!matches(&m, "a.example.com.evil.example"));
}

#[test]
fn star_dot_is_strictly_below() {
    let (_, m) = one(&["*.b.com"]);
    assert!(matches(&m, "x.b.com"));
    assert!(matches(&m, "y.x.b.com"));
    assert!(!matches(&m, "b.com"));
    assert!(!matches(&m, "xb.com"));
    assert!(!matches(&m, "b.com.evil.example"));
}

#[test]
fn leading_dot_is_name_and_below() {
    let (_, m) = one(&[".kaspersky.com"]);
    assert!(matches(&m, "kaspersky.com"));
    assert!(matches(&m, "a.kaspersky.com"));
    assert!(matches(&m, "a.b.kaspersky.com"));
    assert!(!matches(&m, "notkaspersky.com"));
    assert!(!matches(&m, "kaspersky.com.evil.example"));
    assert!(!matches(&m, "com"));
}

#[test]
fn exact_registrable_never_matches_lookalikes() {
    let (_, m) = one(&["kaspersky.com"]);
    assert!(matches(&m, "kaspersky.com"));
    assert!(!matches(&m, "notkaspersky.com"));
    assert!(!matches(&m, "kaspersky.com.evil.example"));
    assert!(!matches(&m, "www.kaspersky.com"));
}

#[test]
fn star_inside_a_label_stays_in_that_label() {
    let (_, m) = one(&["dnl-*.geo.kaspersky.com"]);
    assert!(matches(&m, "dnl-01.geo.kaspersky.com"));
    assert!(matches(&m, "dnl-test.geo.kaspersky.com"));
    assert!(!matches(&m, "dnl-01.x.geo.kaspersky.com"));
    assert!(!matches(&m, "x.dnl-01.geo.kaspersky.com"));
    assert!(!matches(&m, "xdnl-01.geo.kaspersky.com"));
    assert!(!matches(&m, "geo.kaspersky.com"));
    let (_, m) = one(&["ksn-*-geo.kaspersky-labs.com"]);
    assert!(matches(&m, "ksn-crypto-url-geo.kaspersky-labs.com"));
    assert!(matches(&m, "ksn-url-geo.kaspersky-labs.com"));
    assert!(!matches(&m, "ksn-url-geo.x.kaspersky-labs.com"));
    assert!(!matches(&m, "ksn-url.geo.kaspersky-labs.com"));
}

#[test]
fn question_mark_is_one_character() {
    let (_, m) = one(&["s??.upd.kaspersky.com"]);
    assert!(matches(&m, "s00.upd.kaspersky.com"));
    assert!(matches(&m, "s19.upd.kaspersky.com"));
    assert!(!matches(&m, "s1.upd.kaspersky.com"));
    assert!(!matches(&m, "s100.upd.kaspersky.com"));
    assert!(!matches(&m, "p01.upd.kaspersky.com"));
    assert!(!matches(&m, "x.s01.upd.kaspersky.com"));
    assert!(!matches(&m, "upd.kaspersky.com"));
}

#[test]
fn glob_label_in_the_middle_and_with_prefix_modes() {
    let (_, m) = one(&["a.*.b.com"]);
    assert!(matches(&m, "a.x.b.com"));
    assert!(!matches(&m, "a.b.com"));
    assert!(!matches(&m, "a.x.y.b.com"));
    assert!(!matches(&m, "z.a.x.b.com"));
    let (_, m) = one(&["*.s?.b.com"]);
    assert!(matches(&m, "z.s1.b.com"));
    assert!(!matches(&m, "s1.b.com"));
    let (_, m) = one(&[".s?.b.com"]);
    assert!(matches(&m, "s1.b.com"));
    assert!(matches(&m, "z.s1.b.com"));
    assert!(!matches(&m, "s12.b.com"));
}

#[test]
fn glob_matcher() {
    assert!(glob_match(b"*", b""));
    assert!(glob_match(b"*", b"abc"));
    assert!(glob_match(b"a*c", b"abbbc"));
    assert!(glob_match(b"a*c", b"ac"));
    assert!(!glob_match(b"a*c", b"acb"));
    assert!(glob_match(b"*a*b", b"xxaxxab"));
    assert!(glob_match(b"??", b"ab"));
    assert!(!glob_match(b"??", b"abc"));
    assert!(glob_match(b"a?*", b"ab"));
    assert!(!glob_match(b"a?*", b"a"));
    assert!(glob_match(b"abc", b"abc"));
    assert!(!glob_match(b"abc", b"abd"));
    assert!(!glob_match(b"", b"a"));
    assert!(glob_match(&[b'*'; 40], &[0xff; 63]));
}

#[test]
fn normalisation() {
    let mut buf = NameBuf::new();
    assert!(normalise_name(b"S01.UPD.Kaspersky.COM.", &mut buf));
    assert_eq!(buf.as_bytes(), b"s01.upd.kaspersky.com");
    // Only one trailing dot is removed.
    assert!(normalise_name(b"a.com..", &mut buf));
    assert_eq!(buf.as_bytes(), b"a.com.");
    assert!(normalise_name(b".", &mut buf));
    assert!(buf.is_empty());
    // Non-ASCII UTF-8 goes to IDNA A-labels (UTS #46 also lowercases the U-labels).
    assert!(normalise_name(b"K\xc3\x84S.\\032X.Com", &mut buf));
    assert_eq!(buf.as_bytes(), b"xn--ks-via.\\032x.com");
    assert!(normalise_name("B\u{dc}cher.DE.".as_bytes(), &mut buf));
    assert_eq!(buf.as_bytes(), b"xn--bcher-kva.de");
    // Not UTF-8, or no IDNA form: kept as they are (ASCII lowercased), without panicking.
    assert!(normalise_name(b"K\xc4S.Com", &mut buf));
    assert_eq!(buf.as_bytes(), b"k\xc4s.com");
    assert!(normalise_name("\u{301}X.com".as_bytes(), &mut buf));
    assert_eq!(buf.as_bytes(), "\u{301}x.com".as_bytes());
    // Too long for the buffer: false, and the buffer is left empty.
    let long = vec![b'a'; crate::proto::name::NAME_CAPACITY + 1];
    assert!(!normalise_name(&long, &mut buf));
    assert!(buf.is_empty());
    let exact = vec![b'a'; crate::proto::name::NAME_CAPACITY];
    assert!(normalise_name(&exact, &mut buf));
    let mut with_dot = exact.clone();
    with_dot.push(b'.');
    assert!(normalise_name(&with_dot, &mut buf));

    let (set, m) = one(&["touch.kaspersky.com"]);
    assert_eq!(best(&set, &m, "TOUCH.Kaspersky.com."), Some(1));
    assert_eq!(best(&set, &m, "touch.kaspersky.com"), Some(1));
    assert_eq!(best(&set, &m, "touch kaspersky.com"), None);
    assert_eq!(best(&set, &m, "tou\u{0441}h.kaspersky.com"), None);
}

#[test]
fn no_panic_on_odd_names() {
    let set = RuleSet::bundled().expect("bundled pack");
    let m = Matcher::new(&set);
    let mut names: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b".".to_vec(),
        b"..".to_vec(),
        b".kaspersky.com".to_vec(),
        b"kaspersky.com.".to_vec(),
        b"..kaspersky.com".to_vec(),
        b"a..s01.upd.kaspersky.com".to_vec(),
        b"\xff\xfe.kaspersky.com".to_vec(),
        vec![b'.'; 600],
        vec![0xff; 1024],
    ];
    for b in 0..=255u8 {
        names.push(vec![b]);
        names.push(vec![b, b'.', b'c', b'o', b'm']);
        let mut n = vec![b];
        n.extend_from_slice(b".upd.kaspersky.com");
        names.push(n);
    }
    for name in &names {
        let mut buf = NameBuf::new();
        let _ = normalise_name(name, &mut buf);
        let _ = m.match_name(name);
        let _ = m.match_name(buf.as_bytes());
        let _ = m.explain(name);
    }
    // Odd bytes under a known domain still match the domain's suffix rules.
    assert!(m.match_name(b"\xff\xfe.kaspersky.com").is_some());
    assert!(m.match_name(b"").is_none());
}

#[test]
fn most_specific_wins_at_equal_anchor_and_ties_go_to_lowest_sid() {
    let body = [
        rule(10, &[".b.com"]),
        rule(11, &["*.b.com"]),
        rule(12, &["?.b.com"]),
        rule(13, &["x.b.com"]),
        rule(14, &["z.b.com"]),
        rule(9, &[".com"]),
    ]
    .concat();
    // Identical patterns in two enabled rules do not load (overlap error); a hand-built set
    // may still hold them, and then the lowest sid wins.
    let mut set = rules(&body);
    set.rules[4].domains[0] = "x.b.com".into();
    let m = Matcher::new(&set);
    let sids = |name: &str| -> Vec<u32> {
        m.explain(name.as_bytes())
            .iter()
            .map(|h| set.rules[h.rule].sid)
            .collect()
    };
    assert_eq!(sids("x.b.com"), vec![13, 14, 12, 11, 10, 9]);
    assert_eq!(sids("y.b.com"), vec![12, 11, 10, 9]);
    assert_eq!(sids("yy.b.com"), vec![11, 10, 9]);
    assert_eq!(sids("b.com"), vec![10, 9]);
    assert_eq!(sids("b.org"), Vec::<u32>::new());
    assert_eq!(best(&set, &m, "x.b.com"), Some(13));
    // A longer anchor beats a better kind on a shorter anchor.
    let set = rules(&[rule(1, &["*.b.com"]), rule(2, &[".x.b.com"])].concat());
    let m = Matcher::new(&set);
    assert_eq!(best(&set, &m, "y.x.b.com"), Some(2));
    assert_eq!(best(&set, &m, "y.z.b.com"), Some(1));
}

#[test]
fn pattern_index_is_reported() {
    let (set, m) = one(&["a.com", "*.b.com", "c.com"]);
    let hit = m.match_name(b"x.b.com").expect("match");
    assert_eq!(
        hit,
        NameMatch {
            rule: 0,
            pattern: 1
        }
    );
    assert_eq!(set.rules[0].domains[hit.pattern], "*.b.com");
}

#[test]
fn disabled_rule_never_matches() {
    let body = format!(
        "{}enabled = false\n{}",
        rule(1, &["x.b.com"]),
        rule(2, &[".b.com"])
    );
    let set = rules(&body);
    assert!(!set.rules[0].enabled);
    let m = Matcher::new(&set);
    assert_eq!(best(&set, &m, "x.b.com"), Some(2));
    let body = format!(
        "{}ips = [\"10.0.0.0/8\"]\nenabled = false\n",
        rule(1, &["x.b.com"])
    );
    let set = rules(&body);
    let m = Matcher::new(&set);
    assert!(m.match_name(b"x.b.com").is_none());
    assert!(m.match_ip("10.1.2.3".parse().expect("ip")).is_none());
    assert!(m.is_empty());
}

#[test]
fn canonical_patterns_are_stored() {
    let (set, m) = one(&["Dnl-*.GEO.Kaspersky.com.", "*.X.com."]);
    assert_eq!(
        set.rules[0].domains,
        vec!["dnl-*.geo.kaspersky.com", "*.x.com"]
    );
    assert!(matches(&m, "dnl-1.geo.kaspersky.com"));
}

fn ip_rules() -> (RuleSet, Matcher) {
    let body = "[[rule]]\nsid = 1\nname = \"wide\"\nchannel = \"other\"\nseverity = 3\n\
                ips = [\"10.0.0.0/8\", \"2001:db8::/32\", \"0.0.0.0/0\"]\n\
                [[rule]]\nsid = 2\nname = \"narrow\"\nchannel = \"other\"\nseverity = 3\n\
                ips = [\"10.1.0.0/16\", \"2001:db8:1::/48\", \"192.0.2.7\"]\n\
                [[rule]]\nsid = 3\nname = \"dup\"\nchannel = \"other\"\nseverity = 3\n\
                ips = [\"10.1.0.1/32\"]\n";
    // Same prefix in two rules: a loaded set cannot have it (overlap error), a hand-built one
    // can, and the lowest sid wins.
    let mut set = rules(body);
    set.rules[2].ips[0] = "10.1.0.0/16".into();
    let m = Matcher::new(&set);
    (set, m)
}

fn ip_best(set: &RuleSet, m: &Matcher, ip: &str) -> Option<(u32, String)> {
    let ip: IpAddr = ip.parse().expect("test address");
    m.match_ip(ip).map(|h| {
        let r = &set.rules[h.rule];
        (r.sid, r.ips[h.pattern].clone())
    })
}

#[test]
fn ip_longest_prefix_v4() {
    let (set, m) = ip_rules();
    assert_eq!(
        ip_best(&set, &m, "10.1.2.3"),
        Some((2, "10.1.0.0/16".into()))
    );
    assert_eq!(
        ip_best(&set, &m, "10.2.2.3"),
        Some((1, "10.0.0.0/8".into()))
    );
    assert_eq!(
        ip_best(&set, &m, "192.0.2.7"),
        Some((2, "192.0.2.7/32".into()))
    );
    assert_eq!(
        ip_best(&set, &m, "192.0.2.8"),
        Some((1, "0.0.0.0/0".into()))
    );
    // IPv4-mapped IPv6 is looked up as IPv4.
    assert_eq!(
        ip_best(&set, &m, "::ffff:10.1.0.1"),
        Some((2, "10.1.0.0/16".into()))
    );
}

#[test]
fn ip_longest_prefix_v6() {
    let (set, m) = ip_rules();
    assert_eq!(
        ip_best(&set, &m, "2001:db8:1::5"),
        Some((2, "2001:db8:1::/48".into()))
    );
    assert_eq!(
        ip_best(&set, &m, "2001:db8:2::5"),
        Some((1, "2001:db8::/32".into()))
    );
    assert_eq!(ip_best(&set, &m, "2001:db9::1"), None);
}

#[test]
fn cidr_parsing() {
    assert!(parse_cidr("10.0.0.0/8").is_ok());
    assert!(parse_cidr("::/0").is_ok());
    assert!(parse_cidr("10.0.0.1").is_ok());
    assert!(parse_cidr("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
    assert!(parse_cidr("10.0.0.0/33").is_err());
    assert!(parse_cidr("2001:db8::/129").is_err());
    assert!(parse_cidr("10.0.0/8").is_err());
    assert!(parse_cidr("10.0.0.0/").is_err());
    assert!(parse_cidr("").is_err());
    assert!(parse_cidr("example.com/8").is_err());
}

#[test]
fn pattern_validation() {
    let bad = [
        ("", "empty"),
        ("a..b", "empty label"),
        ("a.b..", "empty label"),
        (".", "no labels"),
        ("*.", "no labels"),
        ("*", "last label must be literal"),
        ("*.*x", "last label must be literal"),
        ("kaspersky.*", "last label must be literal"),
        ("\u{301}kaspersky.com", "no valid IDNA form"),
        ("k\u{e4}*.com", "with '*' or '?'"),
        ("a b.com", "invalid character"),
        ("a/b.com", "invalid character"),
    ];
    for (pattern, want) in bad {
        let err = parse_domain(pattern).expect_err(pattern);
        assert!(err.contains(want), "{pattern:?}: {err}");
    }
    let long_label = format!("{}.com", "a".repeat(64));
    assert!(parse_domain(&long_label).unwrap_err().contains("63"));
    assert!(parse_domain(&format!("{}.com", "a".repeat(63))).is_ok());
    let long_name = format!("{}com", "abcdefghi.".repeat(26));
    assert!(parse_domain(&long_name).unwrap_err().contains("253"));
    for ok in [
        "a*.b",
        "*.*.b.com",
        "xn--80ak6aa92e.com",
        "_dmarc.b.com",
        "a.b.com.",
    ] {
        assert!(parse_domain(ok).is_ok(), "{ok}");
    }
}

#[test]
fn errors_are_collected_with_line_and_col() {
    let text = "\
[pack]
id = \"t\"
vendor = \"T\"
version = \"1\"
colour = \"red\"

[[rule]]
sid = 7
name = \"bad\"
channel = \"updates\"
severity = 4
domains = [\"ok.com\", \"\u{301}k.com\", \"a..b\"]
ips = [\"10.0.0.1/8\"]
extra = 1

[[rule]]
sid = 7
name = \"dup\"
channel = \"other\"
severity = 3
domains = [\"x.com\"]

[[rule]]
name = \"no sid\"
channel = \"other\"
severity = \"high\"
";
    let errors = RuleSet::from_str(text, Path::new("p.toml")).expect_err("must fail");
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let want_prefixes = [
        "p.toml:5:1: unknown key `colour` in [pack]",
        "p.toml:14:1: unknown key `extra` in [[rule]]",
        "p.toml:10:11: `channel` is \"updates\"",
        "p.toml:11:12: `severity` is 4",
        "p.toml:12:22: invalid domain pattern \"\u{301}k.com\": non-ASCII character '\\u{301}' and no valid IDNA form",
        "p.toml:12:32: invalid domain pattern \"a..b\": empty label",
        "p.toml:13:8: invalid CIDR \"10.0.0.1/8\": host bits set",
        "p.toml:23:1: [[rule]] is missing `sid`",
        "p.toml:26:12: `severity` must be an integer, found a string",
        "p.toml:23:1: rule has no `domains`, `ips`, `ports`, `ja4`, `payloads` or `user_agents`",
    ];
    for want in want_prefixes {
        assert!(
            got.iter().any(|g| g.starts_with(want)),
            "missing {want:?} in {got:#?}"
        );
    }
    // The first rule 7 failed, so the second one is not reported as a duplicate.
    assert_eq!(got.len(), want_prefixes.len(), "{got:#?}");
}

#[test]
fn duplicate_sid_across_packs_and_pack_errors() {
    let dir = std::env::temp_dir().join(format!("vw-sigs-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let a = format!("{HEAD}{}", rule(100, &["a.com"]));
    let b = format!(
        "[pack]\nid = \"u\"\nvendor = \"U\"\nversion = \"1\"\n{}",
        rule(100, &["b.com"])
    );
    let c = "[pack]\nid = \"t\"\nvendor = \"X\"\nversion = \"2\"\n[[rule]]\nsid = 5\n\
             channel = \"other\"\nseverity = 3\ndomains = [\"c.com\"]\n";
    std::fs::write(dir.join("a.toml"), a).expect("write");
    std::fs::write(dir.join("b.toml"), b).expect("write");
    std::fs::write(dir.join("c.toml"), c).expect("write");
    std::fs::write(dir.join("ignored.txt"), "not toml").expect("write");
    let errors = RuleSet::load(std::slice::from_ref(&dir)).expect_err("must fail");
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    let a_path = dir.join("a.toml");
    let b_path = dir.join("b.toml");
    let c_path = dir.join("c.toml");
    let want = [
        format!(
            "{}:6:7: duplicate sid 100 (first defined at {}:6:7)",
            b_path.display(),
            a_path.display()
        ),
        format!("{}:5:1: [[rule]] is missing `name`", c_path.display()),
        format!("{}:2:6: duplicate pack id \"t\"", c_path.display()),
    ];
    for w in &want {
        assert!(
            got.iter().any(|g| g.starts_with(w)),
            "missing {w:?} in {got:#?}"
        );
    }
    assert_eq!(got.len(), 3, "{got:#?}");

    // Without c.toml and with b's sid fixed the directory loads, in file-name order.
    std::fs::remove_file(dir.join("c.toml")).expect("rm");
    let b = format!(
        "[pack]\nid = \"u\"\nvendor = \"U\"\nversion = \"1\"\n{}",
        rule(101, &["b.com"])
    );
    std::fs::write(&b_path, b).expect("write");
    let set = RuleSet::load(std::slice::from_ref(&dir)).expect("loads");
    assert_eq!(set.packs.len(), 2);
    assert_eq!(set.packs[0].id, "t");
    assert_eq!(set.packs[1].file, b_path);
    assert_eq!(set.rules[1].pack, 1);
    // A single file is read as it is; a missing path is an error without line:col.
    let set = RuleSet::load(std::slice::from_ref(&b_path)).expect("loads");
    assert_eq!(set.rules.len(), 1);
    let missing = dir.join("nope.toml");
    let errors = RuleSet::load(std::slice::from_ref(&missing)).expect_err("missing");
    assert!(
        errors[0]
            .to_string()
            .starts_with(&format!("{}: cannot open", missing.display()))
    );
    assert!(RuleSet::load(&[]).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn syntax_and_shape_errors() {
    let errors = RuleSet::from_str("[pack]\nid = \"x\nvendor = 1\n", Path::new("s.toml"))
        .expect_err("syntax");
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].line, errors[0].col), (2, 8), "{}", errors[0]);
    assert!(errors[0].message.starts_with("TOML syntax"));

    let text = format!("{HEAD}[rule]\nsid = 1\n");
    let errors = RuleSet::from_str(&text, Path::new("s.toml")).expect_err("shape");
    assert!(errors[0].message.contains("[[rule]]"), "{}", errors[0]);

    let text = format!(
        "{HEAD}[[rule]]\nsid = 1\nname = \"n\"\nchannel = \"other\"\nseverity = 3\n\
         when = 1979-05-27\ndomains = \"a.com\"\n"
    );
    let errors = RuleSet::from_str(&text, Path::new("s.toml")).expect_err("shape");
    let got: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert!(
        got.iter()
            .any(|g| g.starts_with("s.toml:10:1: unknown key `when`")),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|g| g.starts_with("s.toml:11:11: `domains` must be an array of strings")),
        "{got:#?}"
    );

    let text =
        format!("{HEAD}[[rule]]\nsid = 1\nname = \"n\"\nchannel = \"other\"\nseverity = 3\n");
    let errors = RuleSet::from_str(&text, Path::new("s.toml")).expect_err("no indicators");
    assert!(errors[0].message.contains("no `domains`"), "{}", errors[0]);
    assert_eq!((errors[0].line, errors[0].col), (5, 1));

    let errors = RuleSet::from_str("[pack]\nid = \"x\"\nvendor = \"v\"\n", Path::new("s.toml"))
        .expect_err("missing version");
    assert_eq!(
        errors[0].to_string(),
        "s.toml:1:1: [pack] is missing `version`"
    );
    let errors = RuleSet::from_str("", Path::new("s.toml")).expect_err("no pack");
    assert!(
        errors[0].message.contains("missing [pack]"),
        "{}",
        errors[0]
    );

    // Dotted keys have no span in the parser: still reported, at the enclosing table.
    let text = "pack.id = \"x\"\npack.vendor = \"v\"\npack.version = \"1\"\npack.colour = 1\n";
    let errors = RuleSet::from_str(text, Path::new("s.toml")).expect_err("unknown");
    assert!(errors[0].message.contains("colour"), "{}", errors[0]);
}

#[test]
fn optional_fields_and_defaults() {
    let body = format!(
        "{}rev = 3\nconfidence = \"low\"\nreferences = [\"https://x\"]\ncomment = \"c\"\n{}",
        rule(1, &["a.com"]),
        rule(2, &["b.com"])
    );
    let set = rules(&body);
    let r = &set.rules[0];
    assert_eq!(
        (r.rev, r.confidence.as_deref(), r.comment.as_deref()),
        (3, Some("low"), Some("c"))
    );
    assert_eq!(r.references, vec!["https://x"]);
    let r = &set.rules[1];
    assert_eq!((r.rev, r.confidence.as_deref(), r.enabled), (1, None, true));
    assert_eq!(set.packs[0].file, PathBuf::from("t.toml"));
}

// ---------------------------------------------------------------------------------------
// The bundled Kaspersky pack.
// ---------------------------------------------------------------------------------------

fn bundled() -> (RuleSet, Matcher) {
    let set = match RuleSet::bundled() {
        Ok(set) => set,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            panic!("bundled pack has errors:\n{}", text.join("\n"));
        }
    };
    let m = Matcher::new(&set);
    (set, m)
}

fn channel_of(set: &RuleSet, m: &Matcher, name: &str) -> Option<(u32, String)> {
    let mut buf = NameBuf::new();
    assert!(normalise_name(name.as_bytes(), &mut buf));
    m.match_name(buf.as_bytes()).map(|h| {
        let r = &set.rules[h.rule];
        (r.sid, r.channel.clone())
    })
}

#[test]
fn bundled_pack_loads_and_is_well_formed() {
    let (set, _) = bundled();
    let ids: Vec<&str> = set.packs.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dahua",
            "dji-autel",
            "hikvision",
            "huawei",
            "kaspersky",
            "zte"
        ]
    );
    // The Kaspersky pack's conventions (the Covered List packs: tests/covered_vendors.rs).
    for r in set.rules.iter().filter(|r| r.pack_id_is(&set, "kaspersky")) {
        assert!(!r.references.is_empty(), "sid {} has no references", r.sid);
        assert!(r.confidence.is_some(), "sid {}", r.sid);
        let want = match r.channel.as_str() {
            "update" | "telemetry" | "activation" => 1,
            "management" => 2,
            _ => 3,
        };
        assert_eq!(r.severity, want, "sid {}", r.sid);
        assert!(
            r.references.iter().all(|u| u.starts_with("https://")),
            "sid {}",
            r.sid
        );
    }
    // The on-disk copy is the bundled copy.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../signatures");
    let on_disk = RuleSet::load(&[dir]).expect("loads");
    assert_eq!(on_disk.rules, set.rules);
}

#[test]
fn bundled_pack_matches_the_intel_hosts() {
    let (set, m) = bundled();
    let expect = [
        ("s00.upd.kaspersky.com", "update"),
        ("s19.upd.kaspersky.com", "update"),
        ("S07.UPD.KASPERSKY.COM.", "update"),
        ("downloads.upd.kaspersky.com", "update"),
        ("cm.k.kaspersky-labs.com", "update"),
        ("dnl-07.geo.kaspersky.com", "update"),
        ("dnl-19.geo.kaspersky.com", "update"),
        ("edge.geo.kaspersky.com", "update"),
        ("ds.kaspersky.com", "update"),
        ("downloads2.kaspersky-labs.com", "update"),
        ("rescuedisk.s.kaspersky-labs.com", "update"),
        ("dc1.ksn.kaspersky-labs.com", "telemetry"),
        ("dc1-st.ksn.kaspersky-labs.com", "telemetry"),
        ("mdr.ksn.kaspersky-labs.com", "telemetry"),
        ("ksn-url-geo.kaspersky-labs.com", "telemetry"),
        ("ksn-crypto-url-geo.kaspersky-labs.com", "telemetry"),
        ("ksn-crypto-wifiplus-geo.kaspersky-labs.com", "telemetry"),
        ("ksn-stat-geo.kaspersky-labs.com", "telemetry"),
        ("activation-v2.kaspersky.com", "activation"),
        ("agents.ksc.kaspersky.com", "management"),
        ("ksc.kaspersky.com", "management"),
        ("cloud.kaspersky.com", "management"),
        ("ksos.kaspersky.com", "management"),
        ("touch.kaspersky.com", "other"),
        ("gc.kis.v2.scr.kaspersky-labs.com", "other"),
        ("gc.kes.v2.scr.kaspersky-labs.com", "other"),
        ("click.kaspersky.com", "other"),
        ("products.s.kaspersky-labs.com", "other"),
        ("devbuilds.s.kaspersky-labs.com", "other"),
        ("kaspersky.com", "portal"),
        ("www.kaspersky.com", "portal"),
        ("usa.kaspersky.com", "portal"),
        ("kaspersky.co.uk", "portal"),
        ("www.kaspersky.de", "portal"),
        ("kaspersky.ua", "portal"),
        ("support.kaspersky.com", "portal"),
        ("help.kaspersky.com", "portal"),
        ("support.kaspersky.co.jp", "portal"),
        ("support.kaspersky.com.br", "portal"),
        ("support.kaspersky.cn", "portal"),
        ("my.kaspersky.com", "portal"),
        ("securelist.com", "portal"),
        ("www.securelist.com", "portal"),
        ("tip.kaspersky.com", "portal"),
        // Low-confidence names fall under the catch-alls.
        ("p05.upd.kaspersky.com", "other"),
        ("ksn-url.geoksn.kaspersky.com", "other"),
        ("refresh-bkg.activation-v2.kaspersky.com", "other"),
        ("downloads7.kaspersky-labs.com", "other"),
        ("foo.kaspersky.com", "other"),
        ("foo.kaspersky.cn", "other"),
    ];
    for (name, channel) in expect {
        let got = channel_of(&set, &m, name);
        assert_eq!(
            got.as_ref().map(|(_, c)| c.as_str()),
            Some(channel),
            "{name}: {got:?}"
        );
    }
    // Every host of the numbered families and every country site.
    for n in 0..20 {
        for name in [
            format!("s{n:02}.upd.kaspersky.com"),
            format!("dnl-{n:02}.geo.kaspersky.com"),
        ] {
            assert_eq!(
                channel_of(&set, &m, &name).map(|x| x.1),
                Some("update".into())
            );
        }
    }
    for cc in [
        "be", "ca", "co.in", "co.jp", "co.kr", "co.th", "co.uk", "co.za", "com.au", "com.br",
        "com.cn", "com.hk", "com.pl", "com.tr", "com.tw", "com.vn", "cz", "de", "dk", "dz", "es",
        "fi", "fr", "gr", "it", "kz", "ma", "my", "nl", "pt", "ro", "rs", "ru", "se", "ua",
    ] {
        for name in [format!("kaspersky.{cc}"), format!("www.kaspersky.{cc}")] {
            assert_eq!(
                channel_of(&set, &m, &name).map(|x| x.1),
                Some("portal".into()),
                "{name}"
            );
        }
    }
    // Specific rules beat the catch-alls.
    assert_eq!(
        channel_of(&set, &m, "s01.upd.kaspersky.com").map(|x| x.0),
        Some(4200001)
    );
    assert_eq!(
        channel_of(&set, &m, "foo.kaspersky.com").map(|x| x.0),
        Some(4200090)
    );
    assert_eq!(
        channel_of(&set, &m, "x.kaspersky-labs.com").map(|x| x.0),
        Some(4200091)
    );
    assert_eq!(
        channel_of(&set, &m, "ksn-crypto-url-geo.kaspersky-labs.com").map(|x| x.0),
        Some(4200011)
    );
    // explain lists the catch-all after the specific rule.
    let all: Vec<u32> = m
        .explain(b"s01.upd.kaspersky.com")
        .iter()
        .map(|h| set.rules[h.rule].sid)
        .collect();
    assert_eq!(all, vec![4200001, 4200090]);
}

#[test]
fn bundled_pack_ignores_decoys() {
    let (set, m) = bundled();
    for decoy in [
        "kaspersky.com.evil.example",
        "notkaspersky.com",
        "api.kaspersky.one",
        "api.kaspersky.codes",
        "sync.kaspersky.codes",
        "kaspersky.agency",
        "norton-kaspersky.com",
        "norton-kaspersky.ru",
        "dl.kasperskyupdates.com",
        "kasperskytte.github.io",
        "kasserver.com",
        "kav8.zonealarm.com",
        "kav8.checkpoint.com",
        "s01.upd.kaspersky.com.evil.example",
        "kaspersky-labs.com.cn",
        "xkaspersky-labs.com",
    ] {
        assert_eq!(channel_of(&set, &m, decoy), None, "{decoy}");
    }
}

#[test]
fn bundled_pack_ip_rule() {
    let (set, m) = bundled();
    for (ip, want) in [
        ("79.133.169.139", Some("79.133.168.0/22")),
        ("37.203.129.5", Some("37.203.128.0/23")),
        ("91.103.71.255", Some("91.103.64.0/21")),
        ("93.159.225.1", Some("93.159.224.0/23")),
        ("93.159.226.1", None),
        ("209.51.171.230", None),
        ("8.8.8.8", None),
    ] {
        let got = m
            .match_ip(ip.parse().expect("ip"))
            .map(|h| set.rules[h.rule].ips[h.pattern].as_str());
        assert_eq!(got, want, "{ip}");
    }
}

#[test]
fn sig_error_display() {
    let e = SigError {
        file: PathBuf::from("a.toml"),
        line: 3,
        col: 7,
        message: "bad".into(),
    };
    assert_eq!(e.to_string(), "a.toml:3:7: bad");
    let e = SigError {
        line: 0,
        col: 0,
        ..e
    };
    assert_eq!(e.to_string(), "a.toml: bad");
}

/// `cutoff` in `[pack]`: a real calendar date, carried as text and as its first second; a
/// malformed or impossible date is an error at the value's position; absent means none.
#[test]
fn pack_cutoff_is_a_checked_date() {
    let with = |cutoff: &str| {
        format!(
            "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\ncutoff = {cutoff}\n{}",
            rule(1, &["a.com"])
        )
    };
    let set = RuleSet::from_str(&with("\"2024-09-29\""), Path::new("t.toml")).expect("loads");
    let date = set.packs[0].cutoff.expect("cutoff");
    assert_eq!(
        (date.to_string(), date.secs),
        ("2024-09-29".into(), 1_727_568_000)
    );
    assert_eq!(
        PackDate::parse("2024-02-29").map(|d| d.secs),
        Some(1_709_164_800)
    );
    for bad in [
        "\"2023-02-29\"",
        "\"2024-13-01\"",
        "\"29/09/2024\"",
        "\"2024-9-29\"",
        "5",
    ] {
        let errors = RuleSet::from_str(&with(bad), Path::new("t.toml")).expect_err(bad);
        assert!(
            errors[0]
                .to_string()
                .starts_with("t.toml:5:10: `cutoff` must be"),
            "{bad}: {}",
            errors[0]
        );
    }
    assert_eq!(rules(&rule(1, &["a.com"])).packs[0].cutoff, None);
}
