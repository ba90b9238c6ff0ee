//! Every EVE record vendorwatch writes validates against Suricata 8.0.6's published schema
//! (`../shared/eve-schema/suricata-eve-schema.json`). Skips with a printed reason when the
//! schema is absent.

mod common;

use std::collections::BTreeMap;

/// A pack that matches almost everything, so alerts of every observation kind are produced
/// from the sample and corpus captures.
const WIDE_PACK: &str = r#"
[pack]
id = "schema-test"
vendor = "Test"
version = "1"

[[rule]]
sid = 9900001
name = "any .com/.org/.net name"
channel = "other"
severity = 3
confidence = "low"
references = ["https://example.invalid/ref"]
domains = [".com", ".org", ".net"]

[[rule]]
sid = 9900002
name = "any address"
channel = "update"
severity = 1
domains = []
ips = ["0.0.0.0/0", "::/0"]
"#;

#[test]
fn every_record_validates_against_suricata_schema() {
    let Some(schema_path) = common::schema_path() else {
        eprintln!("SKIP every_record_validates_against_suricata_schema: schema file not found");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");

    // Removed on drop, also when an assertion below fails.
    let dir = common::TempDir::new("schema");
    let pack = dir.path().join("wide.toml");
    std::fs::write(&pack, WIDE_PACK).expect("write pack");
    let pack = pack.to_string_lossy().into_owned();

    let mut inputs = vec![common::repo().join("pcaps").to_string_lossy().into_owned()];
    if let Some(corpus) = common::corpus_dir() {
        inputs.push(corpus.to_string_lossy().into_owned());
    } else {
        eprintln!("corpus absent: validating records of pcaps/ only");
    }

    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for packs in [None, Some(pack.as_str())] {
        let mut args = vec!["scan", "--quiet", "--log", "all"];
        if let Some(p) = packs {
            args.extend(["--no-default-signatures", "--signatures", p]);
        }
        args.extend(inputs.iter().map(String::as_str));
        let run = common::vendorwatch(&args);
        assert!(
            matches!(run.code(), Some(0) | Some(1)),
            "scan failed hard: {}",
            run.stderr()
        );
        for record in &run.records {
            let kind = format!(
                "{}{}",
                record["event_type"].as_str().unwrap_or("?"),
                record["alert"]["metadata"]["observation"][0]
                    .as_str()
                    .map(|o| format!("/{o}"))
                    .unwrap_or_default()
            );
            *counts.entry(kind).or_default() += 1;
            let errors: Vec<String> = validator
                .iter_errors(record)
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            if !errors.is_empty() && failures.len() < 20 {
                failures.push(format!("{record}\n  {}", errors.join("\n  ")));
            }
        }
    }
    eprintln!("records validated by type: {counts:?}");
    assert!(
        failures.is_empty(),
        "invalid records:\n{}",
        failures.join("\n")
    );
    for kind in [
        "alert/dns-query",
        "alert/dns-answer",
        "alert/tls-sni",
        "dns",
        "tls",
    ] {
        assert!(
            counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} record was produced, so none was validated"
        );
    }
    let scratch = dir.path().to_path_buf();
    drop(dir);
    assert!(!scratch.exists(), "{} left behind", scratch.display());
}

/// The `stats` record (written at the end of a scan with `--stats`, and by `live` at every
/// `--stats-interval` and at exit) validates too: Suricata's schema forbids unknown keys in
/// `stats` and in each of its objects. The live record adds `capture.kernel_*`, checked here
/// on a record of the same shape.
#[test]
fn stats_record_validates_against_suricata_schema() {
    let Some(schema_path) = common::schema_path() else {
        eprintln!("SKIP stats_record_validates_against_suricata_schema: schema file not found");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("read schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let pcaps = common::repo().join("pcaps").to_string_lossy().into_owned();
    for workers in ["1", "2"] {
        let run =
            common::vendorwatch(&["scan", "--quiet", "--stats", "--workers", workers, &pcaps]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        let stats: Vec<&serde_json::Value> = run
            .records
            .iter()
            .filter(|r| r["event_type"] == "stats")
            .collect();
        assert_eq!(stats.len(), 1, "one stats record at the end");
        let mut record = stats[0].clone();
        let alerts = run
            .records
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .count() as u64;
        assert_eq!(record["stats"]["detect"]["alert"].as_u64(), Some(alerts));
        assert!(record["stats"]["decoder"]["pkts"].as_u64() > Some(0));
        for r in [record.clone(), {
            record["stats"]["capture"] =
                serde_json::json!({"kernel_packets": 10, "kernel_drops": 1, "kernel_ifdrops": 0});
            record
        }] {
            let errors: Vec<String> = validator
                .iter_errors(&r)
                .map(|e| format!("{} at {}", e, e.instance_path))
                .collect();
            assert!(errors.is_empty(), "invalid stats record {r}: {errors:?}");
        }
    }
    eprintln!("stats records validated (scan --workers 1 and 2, with capture counters)");
}
