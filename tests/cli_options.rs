//! `scan` and `live` take the same stage and output options: their `--help` lists differ only
//! in the inputs. An option added to one subcommand and not the other fails here.

use std::collections::BTreeSet;
use std::process::Command;

/// The long options (and `-i`) a subcommand's `--help` lists.
fn options(subcommand: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args([subcommand, "--help"])
        .output()
        .expect("run vendorwatch");
    assert!(out.status.success(), "{subcommand} --help failed");
    let text = String::from_utf8(out.stdout).expect("utf-8 help");
    text.lines()
        .filter_map(|line| {
            let line = line.trim_start();
            // `-i, --interface`, `-q, --quiet`, `-r, --read`, `-v, --verbose`.
            let line = match line.as_bytes() {
                [b'-', c, b',', b' ', ..] if c.is_ascii_alphabetic() => &line[4..],
                _ => line,
            };
            let option = line.strip_prefix("--")?;
            let name: String = option
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            (!name.is_empty()).then(|| format!("--{name}"))
        })
        .collect()
}

#[test]
fn scan_and_live_differ_only_in_their_inputs() {
    let scan = options("scan");
    let live = options("live");
    let only_scan: Vec<&str> = scan.difference(&live).map(String::as_str).collect();
    let only_live: Vec<&str> = live.difference(&scan).map(String::as_str).collect();
    println!(
        "scan and live share {} options; only scan: {only_scan:?}; only live: {only_live:?}",
        scan.intersection(&live).count()
    );
    // Inputs of files: `-r`, the directory walk's `-v`, the progress line of a scan that has
    // an end.
    assert_eq!(
        only_scan,
        [
            "--in-iface",
            "--no-progress",
            "--progress",
            "--read",
            "--stats",
            "--verbose"
        ]
    );
    assert_eq!(
        only_live,
        [
            "--bpf",
            "--buffer-size",
            "--interface",
            "--no-promisc",
            "--snaplen",
            "--stats-interval",
            "--user"
        ]
    );
    for shared in [
        "--syslog",
        "--redis",
        "--format",
        "--eve-dns-version",
        "--metrics-listen",
        "--community-id-seed",
        "--enable-port-rules",
        "--report",
        "--workers",
    ] {
        assert!(live.contains(shared), "live lacks {shared}");
    }
}
