//! The command line as a new user meets it (issue 20): signatures added to the default packs
//! rather than replacing them, where each pack came from, `-r`, `--workers 0`, `sigs test`
//! arguments, empty files, `-v`, `sigs import --skip-invalid` / `--hosts-all`, help texts and
//! the README's error examples, and the progress line of `scan`.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{TempDir, vendorwatch};

/// `vendorwatch ARGS` run in the repository; (exit code, stdout, stderr).
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(common::repo())
        .output()
        .expect("run vendorwatch");
    texts(&out)
}

fn texts(out: &Output) -> (Option<i32>, String, String) {
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A pack of one rule on a name no sample capture holds.
fn unused_pack(id: &str, sid: u32) -> String {
    format!(
        "[pack]\nid = \"{id}\"\nvendor = \"Mine\"\nversion = \"7\"\n\n[[rule]]\nsid = {sid}\n\
         name = \"mine\"\nchannel = \"other\"\nseverity = 2\ndomains = [\"never-seen.example\"]\n"
    )
}

/// `--signatures mine.toml` adds to the default packs: the sample captures give the same
/// alerts as without it (they fell from 50 to 0 when it replaced them);
/// `--no-default-signatures` loads only the named packs, and needs one.
#[test]
fn signatures_add_to_the_default_packs() {
    let dir = TempDir::new("sigs-add");
    let mine = dir.path().join("mine.toml");
    std::fs::write(&mine, unused_pack("mine", 9_800_001)).expect("write");
    let defaults = vendorwatch(&["scan", "-q", "pcaps/"]);
    let n = defaults.events("alert").count();
    assert!(n > 10, "{}", defaults.stderr());
    let added = vendorwatch(&["scan", "-q", "--signatures", s(&mine), "pcaps/"]);
    assert_eq!(added.events("alert").count(), n, "{}", added.stderr());
    let only = vendorwatch(&[
        "scan",
        "-q",
        "--no-default-signatures",
        "--signatures",
        s(&mine),
        "pcaps/",
    ]);
    assert_eq!(only.code(), Some(0), "{}", only.stderr());
    assert_eq!(only.events("alert").count(), 0);
    let (code, _, err) = run(&["scan", "-q", "--no-default-signatures", "pcaps/"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--signatures"), "{err}");
    // A pack that clashes with a default one says how to replace the defaults.
    let clash = dir.path().join("clash.toml");
    std::fs::write(&clash, unused_pack("clash", 4_200_001)).expect("write");
    let (code, _, err) = run(&["sigs", "check", "--signatures", s(&clash)]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("duplicate sid 4200001"), "{err}");
    assert!(
        err.contains("--no-default-signatures loads only yours"),
        "{err}"
    );
}

/// The header lines of `sigs list` name where each pack came from: built into the binary, a
/// default file (which exists), or added from a file; a pack with a default pack's id
/// replaces it and says so. Also for a lone copy of the binary.
#[test]
fn sigs_list_says_where_each_pack_came_from() {
    let dir = TempDir::new("sigs-origin");
    let mine = dir.path().join("mine.toml");
    std::fs::write(&mine, unused_pack("mine", 9_800_002)).expect("write");
    let lone = dir.path().join("vendorwatch");
    std::fs::copy(env!("CARGO_BIN_EXE_vendorwatch"), &lone).expect("copy the binary");
    for exe in [Path::new(env!("CARGO_BIN_EXE_vendorwatch")), lone.as_path()] {
        let out = Command::new(exe)
            .args(["sigs", "list", "--signatures", s(&mine)])
            .current_dir(dir.path())
            .output()
            .expect("run");
        let (code, text, err) = texts(&out);
        assert_eq!(code, Some(0), "{err}");
        let heads: Vec<&str> = text.lines().filter(|l| l.starts_with("# ")).collect();
        assert!(heads.len() >= 7, "{text}");
        for head in heads {
            if head.contains("(pack mine,") {
                assert!(
                    head.ends_with(&format!("version 7, added, from {})", s(&mine))),
                    "{head}"
                );
            } else if let Some(at) = head.find(", default, from ") {
                let file = &head[at + ", default, from ".len()..head.len() - 1];
                assert!(Path::new(file).is_file(), "{head}: no such file");
            } else {
                assert!(head.ends_with(", built into the binary)"), "{head}");
            }
        }
    }
    let kaspersky = dir.path().join("kaspersky.toml");
    std::fs::copy(common::repo().join("signatures/kaspersky.toml"), &kaspersky).expect("copy");
    let (code, text, err) = run(&["sigs", "list", "--signatures", s(&kaspersky)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        text.contains("# pack kaspersky replaces the default one ("),
        "{text}"
    );
    assert!(
        text.contains(&format!("added, from {})", s(&kaspersky))),
        "{text}"
    );
}

/// `-r FILE` names an input, as for tcpdump, tshark and Suricata.
#[test]
fn dash_r_reads_an_input() {
    let plain = vendorwatch(&["scan", "-q", "pcaps/kaspersky-dns.pcap"]);
    let r = vendorwatch(&["scan", "-q", "-r", "pcaps/kaspersky-dns.pcap"]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr());
    assert!(!plain.records.is_empty());
    assert_eq!(r.records, plain.records);
    let both = vendorwatch(&[
        "scan",
        "-q",
        "--read",
        "pcaps/kaspersky-dns.pcap",
        "pcaps/kaspersky-tls.pcapng",
    ]);
    assert!(both.records.len() > plain.records.len());
    let (code, _, err) = run(&["scan", "-q"]);
    assert_eq!(code, Some(2), "{err}");
}

/// `--workers 0` is refused (it ran with 1, silently).
#[test]
fn zero_workers_is_an_error() {
    let (code, out, err) = run(&["scan", "--workers", "0", "pcaps/kaspersky-dns.pcap"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty());
    assert!(err.contains("0 workers cannot process packets"), "{err}");
    let (code, _, err) = run(&["live", "-i", "lo", "--workers", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("0 workers"), "{err}");
}

/// `sigs test udp/8800` names the Dahua DHGET payload rule; bad arguments are refused with a
/// clear line and exit status 2.
#[test]
fn sigs_test_ports_payloads_and_bad_arguments() {
    let (code, out, err) = run(&["sigs", "test", "udp/8800"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("payload rule: datagrams to this port starting with \"DHGET"),
        "{out}"
    );
    assert!(out.contains("Dahua"), "{out}");
    let (code, out, _) = run(&["sigs", "test", "udp/9"]);
    assert_eq!(code, Some(1), "{out}");
    for (arg, says) in [
        ("999.1.1.1", "\"999.1.1.1\" is not an IPv4 address"),
        ("tcp/99999", "\"tcp/99999\" is not a port"),
        ("udp/0", "\"udp/0\" is not a port"),
        ("", "empty argument"),
        ("  ", "empty argument"),
    ] {
        let (code, out, err) = run(&["sigs", "test", arg]);
        assert_eq!(code, Some(2), "{arg:?}: {out}{err}");
        assert!(out.is_empty(), "{arg:?}: {out}");
        assert!(err.starts_with("vendorwatch: sigs test: "), "{err}");
        assert!(err.contains(says), "{arg:?}: {err}");
    }
}

/// An empty file is "empty file", not "unknown magic number"; `-v` names the entries of a
/// directory that are skipped, and why.
#[test]
fn empty_files_and_verbose_skips() {
    let dir = TempDir::new("empty-verbose");
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let (code, _, err) = run(&["scan", "-q", s(&empty)]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&format!("{}: empty file", s(&empty))), "{err}");
    assert!(!err.contains("magic"), "{err}");

    let tree = dir.path().join("tree");
    std::fs::create_dir_all(&tree).expect("mkdir");
    std::fs::copy(
        common::repo().join("pcaps/kaspersky-dns.pcap"),
        tree.join("a.pcap"),
    )
    .expect("copy");
    std::fs::write(tree.join("notes.txt"), "not a capture\n").expect("write");
    std::fs::write(tree.join("zero.pcap"), b"").expect("write");
    let quiet = vendorwatch(&["scan", "-q", s(&tree)]);
    assert_eq!(quiet.code(), Some(0), "{}", quiet.stderr());
    assert!(!quiet.stderr().contains("skipped"), "{}", quiet.stderr());
    let verbose = vendorwatch(&["scan", "-q", "-v", s(&tree)]);
    let err = verbose.stderr();
    assert_eq!(verbose.code(), Some(0), "{err}");
    assert_eq!(verbose.records, quiet.records);
    let notes = tree.join("notes.txt");
    let zero = tree.join("zero.pcap");
    assert!(
        err.contains(&format!(
            "{}: skipped: not a pcap or pcapng file",
            s(&notes)
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{}: skipped: empty file", s(&zero))),
        "{err}"
    );
    assert!(!err.contains("a.pcap"), "{err}");
}

/// `sigs import`: every bad line is reported; `--skip-invalid` writes the good ones; a hosts
/// file gives only its blocklist names unless `--hosts-all`.
#[test]
fn import_skip_invalid_and_hosts_sinks() {
    let dir = TempDir::new("import");
    let list = dir.path().join("feed.txt");
    std::fs::write(&list, "a.example.com\nbad..one\nb.example.com\ntwo words\n").expect("write");
    let out = dir.path().join("feed.toml");
    let base = [
        "sigs",
        "import",
        "--format",
        "domains",
        "--channel",
        "cloud",
        "--sid-start",
        "9700000",
        "-o",
        s(&out),
        s(&list),
    ];
    let (code, _, err) = run(&base);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("feed.txt:2:1: invalid domain \"bad..one\""),
        "{err}"
    );
    assert!(err.contains("feed.txt:4:1: \"two words\""), "{err}");
    assert!(!out.exists(), "written despite errors");
    let mut skip = base.to_vec();
    skip.push("--skip-invalid");
    let (code, _, err) = run(&skip);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("feed.txt:2:1:") && err.contains("feed.txt:4:1:"),
        "{err}"
    );
    assert!(err.contains("2 invalid line(s) left out"), "{err}");
    let pack = std::fs::read_to_string(&out).expect("pack written");
    assert!(
        pack.contains("\"a.example.com\"") && pack.contains("\"b.example.com\""),
        "{pack}"
    );
    let (code, _, err) = run(&["sigs", "check", s(&out)]);
    assert_eq!(code, Some(0), "{err}");

    let hosts = dir.path().join("hosts");
    std::fs::write(
        &hosts,
        "0.0.0.0 ads.example.com\n127.0.0.1 t.example.org\n::1 six.example.net\n\
         192.0.2.10 intranet.example.com\n",
    )
    .expect("write");
    let import_hosts = |extra: &[&str]| {
        let mut args = vec![
            "sigs",
            "import",
            "--format",
            "hosts",
            "--channel",
            "other",
            "--sid-start",
            "9700100",
        ];
        args.extend(extra);
        args.push(s(&hosts));
        run(&args)
    };
    let (code, pack, err) = import_hosts(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        pack.contains("ads.example.com") && pack.contains("six.example.net"),
        "{pack}"
    );
    assert!(!pack.contains("intranet.example.com"), "{pack}");
    assert!(
        err.contains("1 hosts-file name(s) mapped to other addresses"),
        "{err}"
    );
    let (code, pack, err) = import_hosts(&["--hosts-all"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(pack.contains("intranet.example.com"), "{pack}");
}

/// Help texts: `sigs import --channel` lists every channel a pack accepts; `--version` says
/// its default once; `--log` lists quic, in `scan --help` and in the README.
#[test]
fn help_texts_list_what_is_accepted() {
    let (code, help, _) = run(&["sigs", "import", "--help"]);
    assert_eq!(code, Some(0));
    let channel = help
        .lines()
        .find(|l| l.trim_start().starts_with("--channel <CHANNEL>"))
        .expect("--channel in help");
    for c in vendorwatch::sigs::CHANNELS {
        assert!(channel.contains(c), "{c} missing: {channel}");
    }
    let version = help
        .lines()
        .find(|l| l.trim_start().starts_with("--version <VERSION>"))
        .expect("--version in help");
    assert_eq!(version.matches("default").count(), 1, "{version}");
    let (_, help, _) = run(&["scan", "--help"]);
    let log = help
        .lines()
        .find(|l| l.contains("--log <LIST>"))
        .expect("--log");
    assert!(log.contains("`quic`"), "{log}");
    let readme = std::fs::read_to_string(common::repo().join("README.md")).expect("README");
    for line in readme.lines().filter(|l| l.contains("--log dns,tls")) {
        assert!(line.contains("quic"), "README: {line}");
    }
}

/// The README's error examples are the messages vendorwatch prints.
#[test]
fn readme_error_examples_match_the_real_messages() {
    let readme = std::fs::read_to_string(common::repo().join("README.md")).expect("README");
    let example = |prefix: &str| -> String {
        readme
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("README has no example starting {prefix:?}"))
            .to_string()
    };
    let dir = TempDir::new("readme-errors");

    // A pack with `"a..b"` at line 12, column 15 (the line indented by three spaces).
    let sigs = dir.path().join("signatures");
    std::fs::create_dir_all(&sigs).expect("mkdir");
    let pack = "[pack]\nid = \"mine\"\nvendor = \"Mine\"\nversion = \"1\"\n\n[[rule]]\n\
                sid = 9600001\nname = \"x\"\nchannel = \"other\"\nseverity = 2\n\n\
                \x20  domains = [\"a..b\"]\n";
    std::fs::write(sigs.join("mine.toml"), pack).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["sigs", "check", "signatures/mine.toml"])
        .current_dir(dir.path())
        .output()
        .expect("run");
    let (_, _, err) = texts(&out);
    let want = format!(
        "signatures/mine.toml:12:15:{}",
        example("signatures/mine.toml:12:15:")
    );
    assert!(err.lines().any(|l| l == want), "want {want:?}\n{err}");

    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "some notes\n").expect("write");
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    for (file, prefix) in [
        ("notes.txt", "vendorwatch: notes.txt:"),
        ("empty.pcap", "vendorwatch: empty.pcap:"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
            .args(["scan", "-q", file])
            .current_dir(dir.path())
            .output()
            .expect("run");
        let (_, _, err) = texts(&out);
        let want = format!("{prefix}{}", example(prefix));
        assert!(err.lines().any(|l| l == want), "want {want:?}\n{err}");
    }
}

/// A capture of `n` small raw-IPv4 packets.
fn many_packets(n: u32) -> Vec<u8> {
    let packet = |i: u32| {
        let mut p = vec![
            0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        p.extend_from_slice(&[0x30, 0x39, 0x30, 0x39, 0, 8, 0, 0]);
        p[4..6].copy_from_slice(&(i as u16).to_be_bytes());
        p
    };
    common::pcap_ipv4(
        &(0..n)
            .map(|i| (1_700_000_000, packet(i)))
            .collect::<Vec<_>>(),
    )
}

/// The progress line: never written when stderr is not a terminal (unless `--progress`);
/// `--progress` forces it, with bytes of the total, packets/s and alerts, and clears it
/// before the summary; `--no-progress` wins when given last.
#[test]
fn progress_line_only_on_a_terminal_or_when_forced() {
    let dir = TempDir::new("progress");
    let file = dir.path().join("many.pcap");
    std::fs::write(&file, many_packets(20_000)).expect("write");
    let (code, _, err) = run(&["scan", s(&file)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("pkt/s"), "{err}");
    assert!(err.starts_with("vendorwatch scan summary"), "{err}");
    let (code, _, err) = run(&["scan", "--progress", s(&file)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("pkt/s"), "{err}");
    assert!(err.contains(" of "), "{err}");
    assert!(err.contains("0 alerts"), "{err}");
    // Cleared (carriage return, erase line) before the summary starts.
    let summary = err.find("vendorwatch scan summary").expect("summary");
    assert!(
        err[..summary].ends_with("\r\x1b[2K"),
        "{:?}",
        &err[..summary]
    );
    let (_, _, err) = run(&["scan", "-q", "--progress", "--no-progress", s(&file)]);
    assert!(err.is_empty(), "{err}");
}
