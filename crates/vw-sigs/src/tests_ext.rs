//! Unit tests of the complete pack format (ports, ja4, port_rules, overlaps, IDNA patterns),
//! imports, near-miss explanations and reload. Every error message has a test here or in
//! `tests.rs`.

use super::import::{ImportFormat, ImportOptions, import};
use super::pattern::{PortProto, parse_domain, parse_ja4, parse_port};
use super::*;
use crate::proto::NameBuf;
use std::path::{Path, PathBuf};

const HEAD: &str = "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\n";

fn load(text: &str) -> Result<RuleSet, Vec<String>> {
    RuleSet::from_str(text, Path::new("t.toml"))
        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

fn errors_of(text: &str) -> Vec<String> {
    load(text).expect_err("must fail")
}

fn has(errors: &[String], want: &str) {
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(want) || e.contains(want)),
        "missing {want:?} in {errors:#?}"
    );
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-sigs2-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

// ---------------------------------------------------------------------------------------
// ports, ja4, port_rules
// ---------------------------------------------------------------------------------------

#[test]
fn port_parsing_and_messages() {
    assert_eq!(parse_port("tcp/13000"), Ok((PortProto::Tcp, 13000)));
    assert_eq!(parse_port("UDP/15111"), Ok((PortProto::Udp, 15111)));
    assert!(
        parse_port("13000")
            .unwrap_err()
            .contains("expected \"tcp/PORT\"")
    );
    assert!(
        parse_port("sctp/1")
            .unwrap_err()
            .contains("unknown protocol \"sctp\"")
    );
    for bad in ["tcp/0", "tcp/65536", "tcp/x", "tcp/"] {
        assert!(
            parse_port(bad)
                .unwrap_err()
                .contains("not a number from 1 to 65535"),
            "{bad}"
        );
    }
}

#[test]
fn ja4_parsing_and_messages() {
    let good = "t13d1516h2_8daaf6152771_e5627efa2ab1";
    assert_eq!(parse_ja4(good).as_deref(), Ok(good));
    assert_eq!(
        parse_ja4("T13D1516H2_8DAAF6152771_E5627EFA2AB1").as_deref(),
        Ok(good)
    );
    assert!(parse_ja4("q13i0310h3_55b375c5d22e_cd85d2d88918").is_ok());
    let bad = [
        ("t13d1516h2_8daaf6152771", "three parts"),
        (
            "t13d1516h_8daaf6152771_e5627efa2ab1",
            "must be 10 characters",
        ),
        (
            "x13d1516h2_8daaf6152771_e5627efa2ab1",
            "expected t (TLS over TCP)",
        ),
        (
            "t1.d1516h2_8daaf6152771_e5627efa2ab1",
            "version (characters 2-3)",
        ),
        (
            "t13x1516h2_8daaf6152771_e5627efa2ab1",
            "expected d (SNI is a domain)",
        ),
        (
            "t13d15a6h2_8daaf6152771_e5627efa2ab1",
            "characters 5-8 must be digits",
        ),
        (
            "t13d1516h-_8daaf6152771_e5627efa2ab1",
            "ALPN (characters 9-10)",
        ),
        ("t13d1516h2_8daaf615277_e5627efa2ab1", "part b"),
        ("t13d1516h2_8daaf6152771_e5627efa2abz", "part c"),
    ];
    for (raw, want) in bad {
        let err = parse_ja4(raw).expect_err(raw);
        assert!(err.contains(want), "{raw}: {err}");
    }
}

#[test]
fn ports_ja4_and_port_rules_in_packs() {
    let text = String::from(
        "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\nport_rules = true\n\
         [[rule]]\nsid = 1\nname = \"ksc\"\nchannel = \"management\"\nseverity = 2\n\
         confidence = \"low\"\nports = [\"TCP/13000\", \"udp/15111\"]\n\
         [[rule]]\nsid = 2\nname = \"fp\"\nchannel = \"other\"\nseverity = 3\n\
         ja4 = [\"t13d1516h2_8daaf6152771_e5627efa2ab1\"]\n",
    );
    let set = load(&text).expect("loads");
    assert!(set.packs[0].port_rules);
    assert_eq!(set.rules[0].ports, vec!["tcp/13000", "udp/15111"]);
    assert_eq!(set.rules[1].ja4.len(), 1);
    // The pack turned its port rules on: matched without the global option.
    let m = Matcher::new(&set);
    assert!(m.has_port_rules());
    assert!(m.port_listed(PortProto::Tcp, 13000));
    assert!(!m.port_listed(PortProto::Udp, 13000));
    assert!(!m.port_listed(PortProto::Tcp, 13001));
    assert_eq!(
        m.match_port(PortProto::Udp, 15111),
        Some(PortMatch {
            rule: 0,
            pattern: 1
        })
    );
    // A ja4-only rule loads but matches nothing yet.
    assert!(m.match_name(b"x").is_none());

    // Without port_rules: off unless the option says otherwise.
    let plain = text.replace("port_rules = true\n", "");
    let set = load(&plain).expect("loads");
    assert!(!set.packs[0].port_rules);
    let m = Matcher::new(&set);
    assert!(!m.has_port_rules());
    assert!(m.match_port(PortProto::Tcp, 13000).is_none());
    let m = Matcher::with_options(
        &set,
        MatchOptions {
            enable_port_rules: true,
        },
    );
    assert!(m.match_port(PortProto::Tcp, 13000).is_some());
    // A disabled rule's ports never match, even with the option.
    let off = plain.replace(
        "confidence = \"low\"\n",
        "confidence = \"low\"\nenabled = false\n",
    );
    let m = Matcher::with_options(
        &load(&off).expect("loads"),
        MatchOptions {
            enable_port_rules: true,
        },
    );
    assert!(!m.has_port_rules());
}

#[test]
fn port_ja4_and_port_rules_errors_have_positions() {
    let text = "\
[pack]
id = \"t\"
vendor = \"T\"
version = \"1\"
port_rules = \"yes\"

[[rule]]
sid = 1
name = \"r\"
channel = \"other\"
severity = 3
ports = [\"tcp/13000\", \"tcp/99999\", \"icmp/1\", \"13000\"]
ja4 = [\"t13d1516h2_zz\"]
";
    let errors = errors_of(text);
    has(
        &errors,
        "t.toml:5:14: `port_rules` must be a boolean, found a string",
    );
    has(
        &errors,
        "t.toml:12:23: invalid port \"tcp/99999\": port \"99999\" is not a number",
    );
    has(
        &errors,
        "t.toml:12:36: invalid port \"icmp/1\": unknown protocol",
    );
    has(
        &errors,
        "t.toml:12:46: invalid port \"13000\": expected \"tcp/PORT\"",
    );
    has(
        &errors,
        "t.toml:13:8: invalid JA4 fingerprint \"t13d1516h2_zz\": expected three parts",
    );
    assert_eq!(errors.len(), 5, "{errors:#?}");
}

// ---------------------------------------------------------------------------------------
// overlaps
// ---------------------------------------------------------------------------------------

fn rule(sid: u32, extra: &str) -> String {
    format!(
        "\n[[rule]]\nsid = {sid}\nname = \"r{sid}\"\nchannel = \"other\"\nseverity = 3\n{extra}"
    )
}

#[test]
fn identical_pattern_in_two_enabled_rules_is_an_error() {
    let text = format!(
        "{HEAD}{}{}",
        rule(1, "domains = [\"a.com\", \"*.b.com\"]\n"),
        rule(2, "domains = [\"x.com\", \"*.B.com.\"]\n")
    );
    let errors = errors_of(&text);
    // Canonical forms are compared: "*.B.com." is "*.b.com".
    has(
        &errors,
        "t.toml:18:21: overlapping domain pattern \"*.b.com\": already in enabled sid 1 at \
         t.toml:11:21",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");

    // Covering patterns are not overlaps: the most specific wins by design.
    let text = format!(
        "{HEAD}{}{}",
        rule(1, "domains = [\".b.com\"]\n"),
        rule(2, "domains = [\"x.b.com\", \"*.b.com\"]\n")
    );
    assert!(load(&text).is_ok());

    // A disabled copy is allowed (kept for reference, never matches).
    let text = format!(
        "{HEAD}{}{}",
        rule(1, "domains = [\"a.com\"]\n"),
        rule(2, "domains = [\"a.com\"]\nenabled = false\n")
    );
    assert!(load(&text).is_ok());
}

#[test]
fn overlapping_cidrs_ports_and_duplicates_in_one_rule() {
    let text = format!(
        "{HEAD}{}{}",
        rule(
            1,
            "ips = [\"10.0.0.0/8\"]\nports = [\"tcp/13000\"]\ndomains = [\"a.com\", \"A.com\"]\n"
        ),
        rule(2, "ips = [\"10.0.0.0/8\"]\nports = [\"tcp/13000\"]\n")
    );
    let errors = errors_of(&text);
    has(
        &errors,
        "t.toml:13:21: domain pattern \"a.com\" appears twice in sid 1 (first at line 13, \
         column 12); remove one",
    );
    has(
        &errors,
        "overlapping CIDR \"10.0.0.0/8\": already in enabled sid 1 at t.toml:11:8",
    );
    has(
        &errors,
        "overlapping port \"tcp/13000\": already in enabled sid 1 at t.toml:12:10",
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
}

#[test]
fn overlaps_across_pack_files() {
    let dir = temp_dir("overlap");
    let a = dir.join("a.toml");
    let b = dir.join("b.toml");
    std::fs::write(&a, format!("{HEAD}{}", rule(1, "domains = [\"a.com\"]\n"))).expect("w");
    std::fs::write(
        &b,
        format!(
            "[pack]\nid = \"u\"\nvendor = \"U\"\nversion = \"1\"\n{}",
            rule(2, "domains = [\"a.com\"]\n")
        ),
    )
    .expect("w");
    let errors: Vec<String> = RuleSet::load(std::slice::from_ref(&dir))
        .expect_err("overlap")
        .iter()
        .map(ToString::to_string)
        .collect();
    let want = format!(
        "{}:11:12: overlapping domain pattern \"a.com\": already in enabled sid 1 at {}:11:12",
        b.display(),
        a.display()
    );
    has(&errors, &want);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------
// IDNA
// ---------------------------------------------------------------------------------------

#[test]
fn idna_patterns_are_stored_as_a_labels_and_match_u_label_names() {
    assert_eq!(
        parse_domain("B\u{fc}cher.de").expect("idna").canonical,
        "xn--bcher-kva.de"
    );
    assert_eq!(
        parse_domain("*.b\u{fc}cher.de").expect("idna").canonical,
        "*.xn--bcher-kva.de"
    );
    assert_eq!(
        parse_domain(".\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}")
            .expect("idna")
            .canonical,
        ".xn--e1afmkfd.xn--p1ai"
    );
    let set = load(&format!(
        "{HEAD}{}",
        rule(1, "domains = [\".b\u{fc}cher.de\"]\n")
    ))
    .expect("loads");
    assert_eq!(set.rules[0].domains, vec![".xn--bcher-kva.de"]);
    let m = Matcher::new(&set);
    let mut buf = NameBuf::new();
    for name in [
        "www.B\u{dc}CHER.de.",
        "xn--bcher-kva.de",
        "a.xn--bcher-kva.de",
    ] {
        assert!(normalise_name(name.as_bytes(), &mut buf));
        assert!(m.match_name(buf.as_bytes()).is_some(), "{name}");
    }
    assert!(normalise_name("bucher.de".as_bytes(), &mut buf));
    assert!(m.match_name(buf.as_bytes()).is_none());
}

// ---------------------------------------------------------------------------------------
// imports (real-format sample files)
// ---------------------------------------------------------------------------------------

fn opts(format: ImportFormat) -> ImportOptions {
    ImportOptions {
        format,
        channel: "telemetry".into(),
        sid_start: 5_000_000,
        pack_id: "feed".into(),
        vendor: "Feed \"X\"".into(),
        version: "2026-11-28".into(),
        severity: 2,
        subdomains: false,
        dataset_type: "string".into(),
        domains_file_stem: None,
        skip_invalid: false,
        hosts_all: false,
    }
}

fn run_import(format: ImportFormat, files: &[(&str, &str)]) -> Result<RuleSet, Vec<String>> {
    run_import_with(opts(format), files)
}

fn run_import_with(o: ImportOptions, files: &[(&str, &str)]) -> Result<RuleSet, Vec<String>> {
    let dir = temp_dir(&format!("import-{:?}-{}", o.format, files[0].0));
    let mut paths = Vec::new();
    for (name, body) in files {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write sample");
        paths.push(p);
    }
    let result = import(&paths, &o);
    let _ = std::fs::remove_dir_all(&dir);
    let (pack, report) = result.map_err(|e| {
        e.iter()
            .map(|x| {
                // Paths are in a temp dir: keep the file name only.
                x.to_string().replace(&format!("{}/", dir.display()), "")
            })
            .collect::<Vec<_>>()
    })?;
    // What the import writes always loads.
    let text = pack.toml;
    let set = RuleSet::from_str(&text, Path::new("out.toml"))
        .unwrap_or_else(|e| panic!("written pack does not load: {e:#?}\n{text}"));
    assert_eq!(report.rules, set.rules.len());
    Ok(set)
}

#[test]
fn import_domain_list() {
    let list = "\
# Kaspersky-like feed, 2026-11-28
example-update.com
Www.Example-Telemetry.NET.   # trailing comment
*.cdn.example.org

b\u{fc}cher.de
example-update.com
";
    let set = run_import(ImportFormat::Domains, &[("feed.txt", list)]).expect("imports");
    assert_eq!(set.packs[0].id, "feed");
    assert_eq!(set.packs[0].vendor, "Feed \"X\"");
    let r = &set.rules[0];
    assert_eq!(
        (r.sid, r.channel.as_str(), r.severity),
        (5_000_000, "telemetry", 2)
    );
    assert_eq!(
        r.domains,
        vec![
            "example-update.com",
            "www.example-telemetry.net",
            "*.cdn.example.org",
            "xn--bcher-kva.de"
        ]
    );
    // --subdomains: plain names become ".name".
    let mut o = opts(ImportFormat::Domains);
    o.subdomains = true;
    let set = run_import_with(o, &[("feed2.txt", "a.com\n*.b.com\n")]).expect("imports");
    assert_eq!(set.rules[0].domains, vec![".a.com", "*.b.com"]);

    let errors = run_import(
        ImportFormat::Domains,
        &[("bad.txt", "ok.com\n  a..b\n0.0.0.0 x.com\n")],
    )
    .expect_err("bad lines");
    has(&errors, "bad.txt:2:3: invalid domain \"a..b\": empty label");
    has(
        &errors,
        "bad.txt:3:1: \"0.0.0.0 x.com\": one name per line expected (is this a hosts file?",
    );
}

#[test]
fn import_hosts_file() {
    let hosts = "\
# StevenBlack-style hosts file
127.0.0.1 localhost
127.0.0.1 localhost.localdomain
255.255.255.255 broadcasthost
::1 localhost ip6-localhost ip6-loopback
0.0.0.0 0.0.0.0

# blocked
0.0.0.0 ads.example.com
0.0.0.0\tTRACK.example.net track2.example.net # two names
127.0.0.1 telemetry.example.org
";
    let set = run_import(ImportFormat::Hosts, &[("hosts", hosts)]).expect("imports");
    assert_eq!(
        set.rules[0].domains,
        vec![
            "ads.example.com",
            "track.example.net",
            "track2.example.net",
            "telemetry.example.org"
        ]
    );
    let errors = run_import(
        ImportFormat::Hosts,
        &[(
            "hosts-bad",
            "ads.example.com\n0.0.0.0\n0.0.0.0 bad_name!.com\n",
        )],
    )
    .expect_err("bad");
    has(
        &errors,
        "hosts-bad:1:1: \"ads.example.com\" is not an address: a hosts file line is `0.0.0.0 name`",
    );
    has(&errors, "hosts-bad:2:1: address without a name");
    has(
        &errors,
        "hosts-bad:3:9: invalid domain \"bad_name!.com\": invalid character '!'",
    );
}

/// Only blocklist lines of a hosts file are imported (names mapped to 0.0.0.0, 127.0.0.1, ::
/// or ::1); a name mapped to a real address is a local override, taken only with
/// `hosts_all` (issue 20).
#[test]
fn import_hosts_takes_blocklist_lines_unless_hosts_all() {
    let hosts = "\
0.0.0.0 ads.example.com
127.0.0.1 telemetry.example.org
:: six.example.com
::1 loop6.example.com
10.1.2.3 intranet.example.com
2001:db8::1 v6host.example.com
";
    let dir = temp_dir("import-hosts-sinks");
    let path = dir.join("hosts");
    std::fs::write(&path, hosts).expect("write");
    let (pack, report) =
        import(std::slice::from_ref(&path), &opts(ImportFormat::Hosts)).expect("imports");
    let set = RuleSet::from_str(&pack.toml, Path::new("out.toml")).expect("loads");
    assert_eq!(
        set.rules[0].domains,
        vec![
            "ads.example.com",
            "telemetry.example.org",
            "six.example.com",
            "loop6.example.com"
        ]
    );
    assert_eq!(report.not_blocked, 2);
    let mut all = opts(ImportFormat::Hosts);
    all.hosts_all = true;
    let (pack, report) = import(std::slice::from_ref(&path), &all).expect("imports");
    let set = RuleSet::from_str(&pack.toml, Path::new("out.toml")).expect("loads");
    assert_eq!(set.rules[0].domains.len(), 6);
    assert_eq!(report.not_blocked, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every bad line is reported; with `skip_invalid` the good lines are written and the bad
/// ones come back in the report, each with its position (issue 20).
#[test]
fn import_reports_every_bad_line_and_skip_invalid_keeps_the_good_ones() {
    let list = "good.example.com\nbad..name\ntwo words.com\nok2.example.net\nbad_!.com\n";
    let dir = temp_dir("import-skip-invalid");
    let path = dir.join("feed.txt");
    std::fs::write(&path, list).expect("write");
    let errors = import(std::slice::from_ref(&path), &opts(ImportFormat::Domains))
        .expect_err("bad lines refuse the import");
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 5], "{errors:?}");
    let mut skip = opts(ImportFormat::Domains);
    skip.skip_invalid = true;
    let (pack, report) = import(std::slice::from_ref(&path), &skip).expect("good lines written");
    let set = RuleSet::from_str(&pack.toml, Path::new("out.toml")).expect("loads");
    assert_eq!(
        set.rules[0].domains,
        vec!["good.example.com", "ok2.example.net"]
    );
    let lines: Vec<usize> = report.invalid.iter().map(|e| e.line).collect();
    assert_eq!(lines, vec![2, 3, 5]);
    // A bad command line still stops it.
    skip.channel = "nope".into();
    assert!(import(std::slice::from_ref(&path), &skip).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_suricata_dataset() {
    // `suricata` writes `type string` datasets as one base64 string per line; datarep files
    // add ",reputation".
    let dataset = "\
dXBkYXRlLmV4YW1wbGUuY29t
dGVsZW1ldHJ5LmV4YW1wbGUubmV0,100
YS5leGFtcGxlLm9yZw==
";
    let set = run_import(ImportFormat::SuricataDataset, &[("ds.lst", dataset)]).expect("imports");
    assert_eq!(
        set.rules[0].domains,
        vec![
            "update.example.com",
            "telemetry.example.net",
            "a.example.org"
        ]
    );
    let mut o = opts(ImportFormat::SuricataDataset);
    o.dataset_type = "sha256".into();
    let errors = run_import_with(o, &[("hashes.lst", dataset)]).expect_err("sha256");
    has(
        &errors,
        "hashes.lst: Suricata dataset type sha256 holds file hashes, not names or addresses",
    );
    let mut o = opts(ImportFormat::SuricataDataset);
    o.dataset_type = "md5".into();
    has(
        &run_import_with(o, &[("md5.lst", dataset)]).expect_err("md5"),
        "md5.lst: Suricata dataset type md5 holds file hashes",
    );
    let mut o = opts(ImportFormat::SuricataDataset);
    o.dataset_type = "ipv4".into();
    has(
        &run_import_with(o, &[("v4.lst", dataset)]).expect_err("ipv4"),
        "v4.lst: unsupported Suricata dataset type \"ipv4\": expected string",
    );
    let errors = run_import(
        ImportFormat::SuricataDataset,
        &[(
            "mixed.lst",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n\
             d41d8cd98f00b204e9800998ecf8427e\nnot base64!\nYS4uYg==\n",
        )],
    )
    .expect_err("bad");
    has(&errors, "mixed.lst:1:1: this looks like a sha256 dataset");
    has(&errors, "mixed.lst:2:1: this looks like a md5 dataset");
    has(
        &errors,
        "mixed.lst:3:1: \"not base64!\" is not base64 of a UTF-8 string",
    );
    has(
        &errors,
        "mixed.lst:4:1: invalid domain \"a..b\": empty label",
    );
    assert_eq!(
        super::import::base64_decode_for_tests("aGk").as_deref(),
        Some(&b"hi"[..])
    );
    assert!(super::import::base64_decode_for_tests("a").is_none());
}

#[test]
fn import_zeek_intel() {
    let intel = "\
#separator \\x09
#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc
update.example.com\tIntel::DOMAIN\tfeed-a\tupdate server
192.0.2.10\tIntel::ADDR\tfeed-a\tC2
2001:db8::5\tIntel::ADDR\tfeed-a\t-
198.51.100.0/24\tIntel::SUBNET\tfeed-a\t-
http://x.example/a\tIntel::URL\tfeed-a\t-
d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH\tfeed-a\t-
";
    let set = run_import(
        ImportFormat::ZeekIntel,
        &[("intel.dat", intel), ("more.dat", "#fields\tindicator_type\tindicator\nIntel::DOMAIN\tupdate.example.com\nIntel::DOMAIN\tb.example.com\n")],
    )
    .expect("imports");
    assert_eq!(set.rules[0].domains, vec!["update.example.com"]);
    assert_eq!(
        set.rules[0].ips,
        vec!["192.0.2.10/32", "2001:db8::5/128", "198.51.100.0/24"]
    );
    // The second file's repeat of update.example.com is dropped (no overlap in the pack).
    assert_eq!(set.rules[1].sid, 5_000_001);
    assert_eq!(set.rules[1].domains, vec!["b.example.com"]);

    let errors = run_import(
        ImportFormat::ZeekIntel,
        &[("nohdr.dat", "update.example.com\tIntel::DOMAIN\n")],
    )
    .expect_err("no header");
    has(
        &errors,
        "nohdr.dat:1:1: data line before the `#fields` header",
    );
    let errors = run_import(ImportFormat::ZeekIntel, &[("empty.dat", "# nothing\n")])
        .expect_err("no header at all");
    has(
        &errors,
        "empty.dat: no `#fields` header: not a Zeek intel file",
    );
    let errors = run_import(
        ImportFormat::ZeekIntel,
        &[(
            "bad.dat",
            "#fields\tindicator\tindicator_type\nonly-one-column\n999.1.1.1\tIntel::ADDR\n",
        )],
    )
    .expect_err("bad rows");
    has(
        &errors,
        "bad.dat:2:1: 1 tab-separated column(s), the #fields header needs at least 2",
    );
    has(&errors, "bad.dat:3:1: invalid address \"999.1.1.1\"");
    let errors = run_import(ImportFormat::ZeekIntel, &[("f.dat", "#fields\tfoo\tbar\n")])
        .expect_err("bad header");
    has(
        &errors,
        "f.dat:1:1: #fields header lacks `indicator` or `indicator_type`",
    );
}

#[test]
fn import_option_errors() {
    let mut o = opts(ImportFormat::Domains);
    o.channel = "updates".into();
    o.severity = 4;
    o.sid_start = 0;
    let errors = run_import_with(o, &[("x.txt", "a.com\n")]).expect_err("bad options");
    has(
        &errors,
        "<command line>: --channel \"updates\": expected one of",
    );
    has(
        &errors,
        "<command line>: --severity 4: must be 1 (high) to 3 (low)",
    );
    has(&errors, "<command line>: --sid-start must be at least 1");
    assert!(
        ImportFormat::parse("csv")
            .unwrap_err()
            .contains("unknown import format")
    );
    let missing = import(
        &[PathBuf::from("/nonexistent/feed.txt")],
        &opts(ImportFormat::Domains),
    )
    .expect_err("missing file");
    assert!(
        missing[0].to_string().contains("cannot read"),
        "{:?}",
        missing[0]
    );
}

// ---------------------------------------------------------------------------------------
// near misses
// ---------------------------------------------------------------------------------------

#[test]
fn near_misses_explain_decoys() {
    let set = RuleSet::bundled().expect("bundled");
    let reasons = |name: &str| -> Vec<String> {
        explain::near_misses(&set, name)
            .into_iter()
            .map(|m| format!("{} {}", m.pattern, m.reason))
            .collect()
    };
    let r = reasons("kaspersky.com.evil.example");
    has(
        &r,
        ".kaspersky.com contains kaspersky.com but not as a suffix",
    );
    let r = reasons("notkaspersky.com");
    has(
        &r,
        ".kaspersky.com label differs: \"notkaspersky\" is not \"kaspersky\"",
    );
    let r = reasons("s100.upd.kaspersky.com");
    has(
        &r,
        "s??.upd.kaspersky.com label \"s100\" does not match \"s??\"",
    );
    let r = reasons("dnl-01.x.geo.kaspersky.com");
    has(
        &r,
        "dnl-*.geo.kaspersky.com the pattern has exactly 1 label(s)",
    );
    let r = reasons("geo.kaspersky.com");
    has(
        &r,
        "*.geo.kaspersky.com \"*.geo.kaspersky.com\" matches only names strictly below",
    );
    let r = reasons("www.kaspersky.com");
    has(
        &r,
        "kaspersky.com exact pattern: the name is below kaspersky.com",
    );
    assert!(reasons("example.com").is_empty());

    let text = format!(
        "{HEAD}{}",
        rule(1, "domains = [\"a.example.com\"]\nenabled = false\n")
    );
    let set = load(&text).expect("loads");
    let r: Vec<String> = explain::near_misses(&set, "a.example.com")
        .into_iter()
        .map(|m| m.reason)
        .collect();
    has(&r, "would match, but the rule is disabled");
}

// ---------------------------------------------------------------------------------------
// the bundled KSC port rule
// ---------------------------------------------------------------------------------------

#[test]
fn bundled_ksc_port_rule_is_opt_in() {
    let set = RuleSet::bundled().expect("bundled");
    let ksc = set
        .rules
        .iter()
        .find(|r| !r.ports.is_empty())
        .expect("KSC port rule");
    assert_eq!(ksc.confidence.as_deref(), Some("low"));
    for p in [
        "tcp/13000",
        "tcp/14000",
        "tcp/13111",
        "udp/15111",
        "tcp/17111",
        "udp/15000",
    ] {
        assert!(ksc.ports.iter().any(|x| x == p), "{p}");
    }
    assert!(!Matcher::new(&set).has_port_rules());
    let m = Matcher::with_options(
        &set,
        MatchOptions {
            enable_port_rules: true,
        },
    );
    assert!(m.match_port(PortProto::Tcp, 13000).is_some());
    assert!(m.match_port(PortProto::Tcp, 443).is_none());
}

// ---------------------------------------------------------------------------------------
// domains_file (the fast path for big lists)
// ---------------------------------------------------------------------------------------

#[test]
fn split_canonical_agrees_with_parse_domain() {
    for raw in [
        "a.com",
        "*.a.com",
        ".a.com",
        "dnl-*.geo.k.com",
        "s??.upd.k.com",
        "a.*.b.com",
        "*.*.b.com",
        "x.y.z.example.org",
        "_dmarc.b.com",
    ] {
        let p = parse_domain(raw).expect(raw);
        let (mode, anchor, left, rank) = pattern::split_canonical(&p.canonical).expect(raw);
        assert_eq!(mode, p.mode, "{raw}");
        assert_eq!(anchor, p.anchor, "{raw}");
        assert_eq!(left, p.labels.join("."), "{raw}");
        assert_eq!(rank, p.rank(), "{raw}");
    }
    for raw in [
        "A.com",
        "a..com",
        "a.com.",
        "kaspersky.*",
        "",
        "*.",
        "a b.com",
    ] {
        assert!(pattern::split_canonical(raw).is_none(), "{raw}");
    }
}

#[test]
fn domains_file_loads_and_reports_positions_in_the_list() {
    let dir = temp_dir("listfile");
    let pack = dir.join("feed.toml");
    let list = dir.join("feed.5.domains");
    std::fs::write(
        &pack,
        format!(
            "{HEAD}{}{}",
            rule(
                5,
                "domains_file = \"feed.5.domains\"\ndomains = [\"inline.com\"]\n"
            ),
            rule(6, "domains = [\"shared.com\"]\n")
        ),
    )
    .expect("w");
    std::fs::write(
        &list,
        "# feed\na.example.com\n  *.B.example.com # note\n\nc.example.com\n",
    )
    .expect("w");
    let set = RuleSet::load(std::slice::from_ref(&pack)).expect("loads");
    assert_eq!(
        set.rules[0].domains,
        vec![
            "inline.com",
            "a.example.com",
            "*.b.example.com",
            "c.example.com"
        ]
    );
    let m = Matcher::new(&set);
    assert!(m.match_name(b"x.b.example.com").is_some());

    // Bad lines and overlaps are reported against the list file, with line and column.
    std::fs::write(
        &list,
        "a.example.com\n  bad..name\nshared.com\na.example.com\n",
    )
    .expect("w");
    let errors: Vec<String> = RuleSet::load(std::slice::from_ref(&pack))
        .expect_err("bad list")
        .iter()
        .map(ToString::to_string)
        .collect();
    has(
        &errors,
        &format!(
            "{}:2:3: invalid domain pattern \"bad..name\": empty label",
            list.display()
        ),
    );
    std::fs::write(&list, "a.example.com\nshared.com\na.example.com\n").expect("w");
    let errors: Vec<String> = RuleSet::load(std::slice::from_ref(&pack))
        .expect_err("overlaps")
        .iter()
        .map(ToString::to_string)
        .collect();
    has(
        &errors,
        &format!(
            "{}:3:1: domain pattern \"a.example.com\" appears twice in sid 5 (first at line 1, \
             column 1)",
            list.display()
        ),
    );
    has(
        &errors,
        &format!(
            "{}:19:12: overlapping domain pattern \"shared.com\": already in enabled sid 5 at \
             {}:2:1",
            pack.display(),
            list.display()
        ),
    );
    std::fs::remove_file(&list).expect("rm");
    let errors: Vec<String> = RuleSet::load(std::slice::from_ref(&pack))
        .expect_err("missing list")
        .iter()
        .map(ToString::to_string)
        .collect();
    has(
        &errors,
        &format!("{}:11:16: cannot read domains_file", pack.display()),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_can_write_a_domains_file() {
    let dir = temp_dir("import-list");
    let input = dir.join("feed.txt");
    std::fs::write(&input, "a.example.com\nb.example.com\n").expect("w");
    let mut o = opts(ImportFormat::Domains);
    o.domains_file_stem = Some("out".into());
    let (pack, report) = import(std::slice::from_ref(&input), &o).expect("imports");
    assert_eq!(report.domains, 2);
    assert_eq!(pack.lists.len(), 1);
    assert_eq!(pack.lists[0].0, "out.5000000.domains");
    std::fs::write(dir.join("out.toml"), &pack.toml).expect("w");
    std::fs::write(dir.join(&pack.lists[0].0), &pack.lists[0].1).expect("w");
    let set = RuleSet::load(&[dir.join("out.toml")]).expect("loads");
    assert_eq!(set.rules[0].domains, vec!["a.example.com", "b.example.com"]);
    let _ = std::fs::remove_dir_all(&dir);
}
