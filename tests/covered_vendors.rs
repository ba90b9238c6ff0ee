//! The Covered List packs end to end (issue 11): `pcaps/covered-vendors.pcap` (written by
//! `examples/gen-samples.rs`) scanned with the bundled packs must alert, per vendor, on every
//! planted indicator (DNS, TLS SNI, Dahua's UDP 8800 `DHGET`, Huawei's OTA `User-Agent`) with
//! that vendor's pack, and on none of the intel's decoys; `report` lists the hosts per
//! vendor; `--packs` selects packs; `sigs check` over the bundled packs is clean.
//!
//! Expected results come from the `vendor` column of `pcaps/EXPECTED.tsv`.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_vendorwatch");
const FILE: &str = "covered-vendors.pcap";
const VENDORS: [&str; 5] = ["hikvision", "dahua", "huawei", "zte", "dji-autel"];

fn pcaps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps")
}

/// (kind, name, should_alert, vendor) rows of the capture.
fn rows() -> Vec<(String, String, bool, String)> {
    let text = std::fs::read_to_string(pcaps().join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f[0] == FILE)
        .map(|f| {
            assert!(
                f.len() >= 7,
                "EXPECTED.tsv row without vendor column: {f:?}"
            );
            (
                f[2].to_string(),
                f[3].to_string(),
                f[4] == "yes",
                f[6].to_string(),
            )
        })
        .collect()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run vendorwatch");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn alerts(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).expect("EVE JSON"))
        .filter(|v| v["event_type"] == "alert")
        .collect()
}

fn md<'a>(a: &'a Value, key: &str) -> &'a str {
    a["alert"]["metadata"][key][0].as_str().unwrap_or("")
}

fn scan(extra: &[&str]) -> Vec<Value> {
    let path = pcaps().join(FILE);
    let mut args = vec!["scan"];
    args.extend_from_slice(extra);
    let p = path.to_string_lossy().into_owned();
    args.push(&p);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "scan failed: {stderr}");
    alerts(&stdout)
}

#[test]
fn every_planted_indicator_alerts_with_its_vendor_and_no_decoy_does() {
    let rows = rows();
    let alerts = scan(&[]);
    let mut failures = Vec::new();
    for vendor in VENDORS {
        let planted: Vec<_> = rows.iter().filter(|r| r.2 && r.3 == vendor).collect();
        let decoys: Vec<_> = rows.iter().filter(|r| !r.2 && r.3 == vendor).collect();
        assert!(!planted.is_empty(), "{vendor}: nothing planted");
        assert!(!decoys.is_empty(), "{vendor}: no decoy");
        for (kind, name, _, _) in planted {
            let hit = alerts.iter().any(|a| {
                md(a, "pack") == vendor
                    && md(a, "observation") == kind
                    && md(a, "matched_name") == name.to_ascii_lowercase()
                    || (kind == "http-user-agent" && md(a, "matched_name") == name)
            });
            if !hit {
                failures.push(format!("{vendor}: no {kind} alert for {name}"));
            }
        }
        for (kind, name, _, _) in decoys {
            if let Some(a) = alerts
                .iter()
                .find(|a| md(a, "matched_name").eq_ignore_ascii_case(name))
            {
                failures.push(format!("{vendor}: decoy {kind} {name} alerted: {a}"));
            }
        }
    }
    // Decoys were all sent by one host: it must not appear at all.
    for a in &alerts {
        if a["src_ip"] == "10.77.9.10" || a["dest_ip"] == "10.77.9.10" {
            failures.push(format!("alert from the decoy host: {a}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn payload_and_user_agent_alerts_carry_their_patterns() {
    let alerts = scan(&[]);
    let payload = alerts
        .iter()
        .find(|a| md(a, "observation") == "payload")
        .expect("a payload alert");
    assert_eq!(payload["alert"]["signature_id"], 4310002);
    assert_eq!(md(payload, "matched_pattern"), "udp/8800 \"DHGET\"");
    assert_eq!(payload["proto"], "UDP");
    let ua = alerts
        .iter()
        .find(|a| md(a, "observation") == "http-user-agent")
        .expect("a user-agent alert");
    assert_eq!(ua["alert"]["signature_id"], 4320003);
    assert_eq!(ua["app_proto"], "http");
    assert_eq!(md(ua, "vendor"), "Huawei");
}

#[test]
fn report_lists_hosts_per_vendor() {
    let dir = std::env::temp_dir().join(format!("vw-covered-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let eve = dir.join("eve.json");
    let path = pcaps().join(FILE);
    let (code, _, stderr) = run(&[
        "scan",
        "--eve",
        eve.to_str().unwrap(),
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // The scan summary groups by vendor too.
    assert!(stderr.contains("vendors seen: 5"), "{stderr}");
    let (code, text, stderr) = run(&["report", eve.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let (_, json, _) = run(&["report", "--format", "json", eve.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
    let report: Value = serde_json::from_str(&json).expect("report JSON");
    let hosts = report["hosts"].as_array().expect("hosts array");
    let mut by_vendor: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for h in hosts {
        for v in h["vendors"].as_array().unwrap() {
            by_vendor
                .entry(v.as_str().unwrap().to_string())
                .or_default()
                .insert(h["host"].as_str().unwrap().to_string());
        }
    }
    let want = [
        ("DJI/Autel", "10.77.5.10"),
        ("Dahua", "10.77.2.10"),
        ("Hikvision", "10.77.1.10"),
        ("Huawei", "10.77.3.10"),
        ("ZTE", "10.77.4.10"),
    ];
    assert_eq!(by_vendor.len(), want.len(), "{by_vendor:?}");
    for (vendor, host) in want {
        assert_eq!(
            by_vendor
                .get(vendor)
                .map(|s| s.iter().cloned().collect::<Vec<_>>()),
            Some(vec![host.to_string()]),
            "{vendor}"
        );
        let line = format!("{vendor:<12}    1 host(s): {host}");
        assert!(text.contains(&line), "text report lacks {line:?}:\n{text}");
    }
}

#[test]
fn packs_option_selects_and_rejects_unknown_ids() {
    let alerts = scan(&["--packs", "kaspersky,dahua"]);
    let packs: BTreeSet<&str> = alerts.iter().map(|a| md(a, "pack")).collect();
    assert_eq!(packs, BTreeSet::from(["dahua"]));
    let path = pcaps().join(FILE);
    let (code, _, stderr) = run(&["scan", "--packs", "dahua,nosuch", path.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("unknown pack id nosuch")
            && stderr.contains(
                "available: dahua, dji-autel, hikvision, huawei, kaspersky, ultraav, zte"
            ),
        "{stderr}"
    );
}

#[test]
fn sigs_check_bundled_packs_is_clean_and_list_groups_by_vendor() {
    let (code, out, err) = run(&["sigs", "check"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ok: 7 pack(s)"), "{out}");
    let bundled = vendorwatch::sigs::RuleSet::bundled().expect("bundled packs load");
    let ids: Vec<&str> = bundled.packs.iter().map(|p| p.id.as_str()).collect();
    for v in VENDORS.iter().chain(["kaspersky", "ultraav"].iter()) {
        assert!(ids.contains(v), "{v} not bundled: {ids:?}");
    }
    // Low-confidence rules ship disabled, each saying what would confirm it (the Covered
    // List packs and UltraAV's, sourced the same way).
    let covered = |r: &vendorwatch::sigs::Rule| {
        bundled
            .packs
            .get(r.pack)
            .is_some_and(|p| VENDORS.contains(&p.id.as_str()) || p.id == "ultraav")
    };
    for r in bundled.rules.iter().filter(|r| covered(r)) {
        if r.confidence.as_deref() == Some("low") && !r.pass {
            assert!(!r.enabled, "sid {} is low confidence but enabled", r.sid);
            assert!(r.comment.is_some(), "sid {} lacks a comment", r.sid);
        }
        assert!(r.confidence.is_some(), "sid {} lacks confidence", r.sid);
    }
    let (code, list, _) = run(&["sigs", "list"]);
    assert_eq!(code, 0);
    let headers: Vec<&str> = list.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(headers.len(), 7, "{list}");
    assert!(headers[0].starts_with("# Dahua"), "{headers:?}");
}

fn pack(rule: &str) -> Result<vendorwatch::sigs::RuleSet, Vec<vendorwatch::sigs::SigError>> {
    let text = format!(
        "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\n\n[[rule]]\nsid = 1\nname = \"r\"\n\
         channel = \"cloud\"\nseverity = 1\n{rule}\n"
    );
    vendorwatch::sigs::RuleSet::from_str(&text, Path::new("t.toml"))
}

fn first_error(rule: &str) -> String {
    pack(rule).expect_err("should fail")[0].to_string()
}

#[test]
fn payload_and_user_agent_fields_are_validated() {
    let ok = pack(
        "payloads = [{ proto = \"udp\", port = 8800, prefix = \"DHGET\" }, \
         { proto = \"tcp\", port = 6000, prefix_hex = \"e2:00 01\" }]\nuser_agents = [\"^Hw\", \"OUC\"]",
    )
    .expect("valid");
    let r = &ok.rules[0];
    assert_eq!(r.payloads[1].prefix, vec![0xe2, 0, 1]);
    assert_eq!(r.payloads[1].label, "tcp/6000 \"\\xe2\\x00\\x01\"");
    for (rule, want) in [
        (
            "payloads = [{ proto = \"udp\", port = 0, prefix = \"A\" }]",
            "t.toml:11:37: `port` is 0",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 70000, prefix = \"A\" }]",
            "from 1 to 65535",
        ),
        (
            "payloads = [{ proto = \"sctp\", port = 1, prefix = \"A\" }]",
            "expected one of: udp, tcp",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix = \"\" }]",
            "empty payload prefix",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1 }]",
            "missing `prefix`",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix = \"A\", prefix_hex = \"41\" }]",
            "not both",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix_hex = \"4\" }]",
            "odd number",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix_hex = \"zz\" }]",
            "not a hex byte",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix = \"0123456789abcdef0123456789abcdef!\" }]",
            "at most 32",
        ),
        (
            "payloads = [{ proto = \"udp\", port = 1, prefix = \"A\", dir = 1 }]",
            "unknown key `dir`",
        ),
        ("user_agents = [\"\"]", "empty user agent"),
        ("user_agents = [\"^\"]", "empty user agent"),
        ("user_agents = [\"tab\\there\"]", "printable ASCII"),
        ("user_agents = [\"X\", \"X\"]", "appears twice"),
        ("pass = true\nuser_agents = [\"X\"]", "domain names only"),
    ] {
        let e = first_error(rule);
        assert!(e.contains(want), "{rule}: {e}");
        assert!(e.starts_with("t.toml:"), "{rule}: {e}");
    }
}

#[test]
fn payload_user_agent_and_pass_matching() {
    let set = pack(
        "payloads = [{ proto = \"udp\", port = 8800, prefix = \"DHGET\" }]\n\
         user_agents = [\"HwOUC\", \"^Dalvik\"]\ndomains = [\"*.ys7.com\"]\n\n\
         [[rule]]\nsid = 2\nname = \"decoy\"\nchannel = \"portal\"\nseverity = 3\npass = true\n\
         domains = [\"open.ys7.com\"]",
    )
    .expect("valid");
    let m = vendorwatch::sigs::Matcher::new(&set);
    use vendorwatch::sigs::PortProto::{Tcp, Udp};
    assert!(m.match_payload(Udp, 8800, b"DHGET /probe").is_some());
    assert!(m.match_payload(Udp, 8800, b"DHGE").is_none());
    assert!(m.match_payload(Udp, 8801, b"DHGET /probe").is_none());
    assert!(m.match_payload(Tcp, 8800, b"DHGET /probe").is_none());
    assert!(m.match_user_agent(b"x HwOUCDownloadManager").is_some());
    assert!(m.match_user_agent(b"hwoucdownloadmanager").is_none());
    assert!(m.match_user_agent(b"Dalvik/2.1.0").is_some());
    assert!(m.match_user_agent(b"x Dalvik/2.1.0").is_none());
    assert!(m.match_name(b"devcl.ys7.com").is_some());
    assert!(m.match_name(b"open.ys7.com").is_none(), "pass rule wins");
}
