//! The Kaspersky -> UltraAV migration (`signatures/ultraav.toml`, `migrated_from = "kaspersky"`)
//! on `pcaps/ultraav-migration.pcap`: each host's verdict in every report format, from the
//! scan and from its EVE file, the alert-level verdicts in `alert.metadata`, and the same
//! answers with one worker and many.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

const SAMPLE: &str = "pcaps/ultraav-migration.pcap";

/// Host -> verdict the sample was built to show (examples/gen-samples.rs,
/// `ultraav_migration`); the decoy host has none.
const VERDICTS: &[(&str, Option<&str>)] = &[
    ("10.6.1.10", Some("migrated-to-ultraav")),
    ("10.6.2.10", Some("kaspersky-after-cutoff")),
    ("10.6.3.10", Some("ultraav-only")),
    ("10.6.4.10", Some("kaspersky-before-cutoff-only")),
    ("10.6.9.10", None),
];
const DECOY: &str = "10.6.9.10";

/// Scan the sample with `args`; (EVE records, the report file's text) for `--report` in
/// `format`.
fn scan(args: &[&str], format: &str) -> (Vec<Value>, String) {
    let dir = common::TempDir::new("migration");
    let eve = dir.path().join("eve.json");
    let report = dir.path().join(format!("hosts.{format}"));
    let mut all = vec![
        "scan",
        "--quiet",
        "--eve",
        eve.to_str().unwrap(),
        "--report",
        report.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    all.push(SAMPLE);
    let run = common::vendorwatch(&all);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let records = common::parse_lines(&std::fs::read(&eve).unwrap());
    (records, std::fs::read_to_string(&report).unwrap())
}

/// Host -> verdict from a JSON report.
fn json_verdicts(doc: &str) -> BTreeMap<String, Option<String>> {
    let doc: Value = serde_json::from_str(doc).expect("JSON report");
    doc["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            (
                h["host"].as_str().unwrap().to_string(),
                h["verdict"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn want() -> BTreeMap<String, Option<String>> {
    VERDICTS
        .iter()
        .map(|(h, v)| (h.to_string(), v.map(str::to_string)))
        .collect()
}

/// (host, sid, matched name, timestamp) -> `alert.metadata.verdict` of each alert.
fn alert_verdicts(records: &[Value]) -> BTreeMap<(String, u64, String, String), Option<String>> {
    records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            let md = &r["alert"]["metadata"];
            (
                (
                    r["src_ip"].as_str().unwrap().to_string(),
                    r["alert"]["signature_id"].as_u64().unwrap(),
                    md["matched_name"][0].as_str().unwrap().to_string(),
                    r["timestamp"].as_str().unwrap().to_string(),
                ),
                md["verdict"][0].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Every verdict in the JSON report, and the same from `vendorwatch report` over the EVE file
/// alone (the relations and dates travel in `alert.metadata`); the decoy host alerts only at
/// severity 3 (its website visits) and has no verdict; the EVE records carry the pack
/// relation and validate against Suricata's schema.
#[test]
fn each_host_gets_its_verdict_from_scan_and_from_eve() {
    let (records, json) = scan(&[], "json");
    assert_eq!(json_verdicts(&json), want());
    common::validate_eve(&records);

    let decoy: Vec<&Value> = records
        .iter()
        .filter(|r| r["event_type"] == "alert" && r["src_ip"] == DECOY)
        .collect();
    assert!(!decoy.is_empty(), "the decoy host alerts (informational)");
    for a in &decoy {
        assert_eq!(a["alert"]["severity"], 3, "{a}");
        assert_eq!(a["alert"]["metadata"]["channel"][0], "portal", "{a}");
        assert!(a["alert"]["metadata"]["verdict"].is_null(), "{a}");
    }
    // The ad-click tracker is a pass decoy: no alert at all.
    assert!(
        !records
            .iter()
            .any(|r| r["alert"]["metadata"]["matched_name"][0] == "track.ultravpn.com")
    );
    let ultra = records
        .iter()
        .find(|r| r["alert"]["metadata"]["pack"][0] == "ultraav")
        .expect("an UltraAV alert");
    assert_eq!(
        ultra["alert"]["metadata"]["migrated_from"],
        serde_json::json!(["kaspersky"])
    );
    assert_eq!(
        ultra["alert"]["metadata"]["migration"],
        serde_json::json!(["2024-09-19"])
    );
    let kaspersky = records
        .iter()
        .find(|r| r["alert"]["metadata"]["pack"][0] == "kaspersky")
        .expect("a Kaspersky alert");
    assert_eq!(
        kaspersky["alert"]["metadata"]["migrated_to"],
        serde_json::json!(["ultraav"])
    );

    // `report` over the EVE lines alone gives the same verdicts.
    let dir = common::TempDir::new("migration-eve");
    let eve = dir.path().join("eve.json");
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(&eve, lines.join("\n") + "\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["report", "--format", "json", eve.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        json_verdicts(&String::from_utf8(out.stdout).unwrap()),
        want()
    );
}

/// The text, CSV and HTML reports show the same verdicts, one per host row; the decoy's row
/// shows none.
#[test]
fn verdicts_in_text_csv_and_html() {
    let (_, text) = scan(&[], "txt");
    for (host, verdict) in VERDICTS {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("{host} ")))
            .unwrap_or_else(|| panic!("{host} in\n{text}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        match verdict {
            Some(v) => assert!(cells.contains(v), "{row}"),
            None => assert!(
                !row.contains("ultraav") && !row.contains("kaspersky-"),
                "{row}"
            ),
        }
    }
    assert!(
        text.contains("kaspersky -> ultraav (from 2024-09-19)"),
        "{text}"
    );

    let (_, csv) = scan(&[], "csv");
    let mut lines = csv.lines();
    assert!(lines.next().unwrap().ends_with(",verdict"));
    let got: BTreeMap<String, Option<String>> = lines
        .map(|l| {
            let (host, rest) = l.split_once(',').unwrap();
            let v = rest.rsplit(',').next().unwrap();
            (host.to_string(), (!v.is_empty()).then(|| v.to_string()))
        })
        .collect();
    assert_eq!(got, want());

    let (_, html) = scan(&[], "html");
    assert!(html.contains("<th data-t=\"s\">Verdict</th>"));
    // The host's verdict in each vendor table it appears in.
    for (host, verdict) in VERDICTS {
        let rows: Vec<&str> = html
            .lines()
            .filter(|l| l.contains(&format!("<tr><td>{host}</td>")))
            .collect();
        assert!(!rows.is_empty(), "{host} row");
        let cell = format!("<td class=\"verdict\">{}</td>", verdict.unwrap_or("-"));
        for row in rows {
            assert!(row.contains(&cell), "{row}");
        }
    }
}

/// Alert metadata says a verdict where the alert settles it: the Kaspersky alert after the
/// cut-off at once, UltraAV's alerts of the migrated host from the shared per-host memory.
/// With four workers the report is the same, and no alert says anything the one-worker run
/// does not (an alert can lack the migrated verdict when its host's Kaspersky flow is on
/// another worker and not yet processed; never a wrong one). With a memory of one host,
/// evictions are counted and the report still says `migrated-to-ultraav`.
#[test]
fn alert_verdicts_with_one_worker_and_many() {
    let (one, json) = scan(&["--workers", "1"], "json");
    assert_eq!(json_verdicts(&json), want());
    let one = alert_verdicts(&one);
    let said: Vec<(&str, &str)> = one
        .iter()
        .filter_map(|(k, v)| Some((k.0.as_str(), v.as_deref()?)))
        .collect();
    // 10.6.1.10: the UltraAV DNS query and ClientHello, and UltraVPN's query.
    assert_eq!(
        said.iter()
            .filter(|s| **s == ("10.6.1.10", "migrated-to-ultraav"))
            .count(),
        3,
        "{one:?}"
    );
    assert_eq!(
        said.iter()
            .filter(|s| **s == ("10.6.2.10", "kaspersky-after-cutoff"))
            .count(),
        1,
        "{one:?}"
    );
    assert_eq!(said.len(), 4, "{one:?}");

    for _ in 0..3 {
        let (many, json) = scan(&["--workers", "4"], "json");
        assert_eq!(json_verdicts(&json), want());
        let many = alert_verdicts(&many);
        assert_eq!(
            many.keys().collect::<Vec<_>>(),
            one.keys().collect::<Vec<_>>()
        );
        for (k, v) in &many {
            if v.is_some() {
                assert_eq!(v, &one[k], "{k:?}");
            }
        }
        // Known from the alert itself, whatever the workers.
        assert!(
            many.values()
                .any(|v| v.as_deref() == Some("kaspersky-after-cutoff"))
        );
    }

    let dir = common::TempDir::new("migration-cap");
    let report = dir.path().join("hosts.json");
    let run = common::vendorwatch(&[
        "scan",
        "--migration-capacity",
        "1",
        "--report",
        report.to_str().unwrap(),
        SAMPLE,
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("migration memory evictions (--migration-capacity): 3"),
        "{}",
        run.stderr()
    );
    // 10.6.1.10 was forgotten before its UltraAV alerts: they carry no verdict.
    let evicted = alert_verdicts(&run.records);
    assert!(
        evicted
            .iter()
            .filter(|(k, _)| k.0 == "10.6.1.10")
            .all(|(_, v)| v.is_none())
    );
    assert_eq!(
        json_verdicts(&std::fs::read_to_string(&report).unwrap()),
        want()
    );
}
