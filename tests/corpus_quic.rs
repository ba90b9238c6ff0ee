//! QUIC Initial SNI against tshark's ground truth on the shared corpus: for every capture
//! tagged `quic-sni`, `vendorwatch scan --log quic` must report each `quic-sni` row (same
//! frame, same name), invent no name tshark does not show, and give Suricata 8's JA4 on the
//! suricata-verify JA4 captures. Skips with a printed reason when the corpus is absent.
//!
//! Run: `cargo test --test corpus_quic -- --nocapture`

mod common;

use std::collections::HashMap;

#[test]
fn quic_sni_recall_vs_tshark() {
    let Some(corpus) = common::corpus_dir() else {
        eprintln!("SKIP quic_sni_recall_vs_tshark: ../shared/corpus not found");
        return;
    };
    let (mut expected, mut found) = (0usize, 0usize);
    let mut misses = Vec::new();
    let mut invented = Vec::new();
    let mut files = 0;
    for (file, tags) in common::corpus_captures(&corpus) {
        if !tags.iter().any(|t| t == "quic" || t == "quic-sni") {
            continue;
        }
        files += 1;
        let path = corpus.join(&file);
        let run =
            common::vendorwatch(&["scan", "--quiet", "--log", "quic", &path.to_string_lossy()]);
        assert!(
            matches!(run.code(), Some(0) | Some(1)),
            "{file}: {}",
            run.stderr()
        );
        let mut seen: HashMap<(u64, String), usize> = HashMap::new();
        for r in run.events("quic") {
            if let Some(sni) = r["quic"]["sni"].as_str() {
                let frame = r["pcap_cnt"].as_u64().unwrap_or(0);
                *seen.entry((frame, sni.to_lowercase())).or_default() += 1;
            }
        }
        let text = std::fs::read_to_string(corpus.join("expected").join(format!("{file}.tsv")))
            .unwrap_or_default();
        let mut names = Vec::new();
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let c: Vec<&str> = line.split('\t').collect();
            if c.get(6) != Some(&"quic-sni") {
                continue;
            }
            let (Some(frame), Some(name)) = (c.first().and_then(|f| f.parse().ok()), c.get(7))
            else {
                continue;
            };
            names.push(name.to_string());
            expected += 1;
            match seen.get_mut(&(frame, name.to_string())) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    found += 1;
                }
                _ => misses.push(format!("{file}: frame {frame} {name}")),
            }
        }
        for ((frame, name), _) in seen {
            if !names.contains(&name) {
                invented.push(format!("{file}: frame {frame} {name}"));
            }
        }
    }
    let recall = if expected == 0 {
        1.0
    } else {
        found as f64 / expected as f64
    };
    eprintln!("quic-sni: {found}/{expected} = {recall:.4} over {files} quic captures");
    for m in &misses {
        eprintln!("  miss: {m}");
    }
    for i in &invented {
        eprintln!("  not in tshark: {i}");
    }
    assert!(invented.is_empty(), "{invented:#?}");
    assert!(recall >= 0.99, "quic-sni recall {recall:.4} below 0.99");
}

#[test]
fn ja4_matches_suricata_verify() {
    let Some(corpus) = common::corpus_dir() else {
        eprintln!("SKIP ja4_matches_suricata_verify: ../shared/corpus not found");
        return;
    };
    // Values from sv-ja4-quic.test.yaml and sv-ja4-tls-quic.test.yaml (Suricata 8).
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--log",
        "tls,quic",
        &corpus.join("sv-ja4-quic.pcap").to_string_lossy(),
    ]);
    let quic: Vec<_> = run.events("quic").collect();
    assert_eq!(quic.len(), 11);
    for r in quic {
        assert_eq!(r["quic"]["ja4"], "q13d0310h3_55b375c5d22e_cd85d2d88918");
    }
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--log",
        "tls,quic",
        &corpus.join("sv-ja4-tls-quic.pcap").to_string_lossy(),
    ]);
    let tls: Vec<_> = run.events("tls").map(|r| r["tls"]["ja4"].clone()).collect();
    assert_eq!(tls, ["t13d1516h2_8daaf6152771_e5627efa2ab1"]);
    let quic: Vec<_> = run
        .events("quic")
        .map(|r| r["quic"]["ja4"].clone())
        .collect();
    assert_eq!(quic, ["q13d0310h3_55b375c5d22e_cd85d2d88918"]);
}

#[test]
fn rule_on_ja4_alerts_without_a_name() {
    let Some(corpus) = common::corpus_dir() else {
        eprintln!("SKIP rule_on_ja4_alerts_without_a_name: ../shared/corpus not found");
        return;
    };
    let dir = std::env::temp_dir().join(format!("vw-ja4-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pack = dir.join("ja4.toml");
    std::fs::write(
        &pack,
        r#"[pack]
id = "ja4test"
vendor = "Test"
version = "2026-01-01"

[[rule]]
sid = 4299001
name = "Known QUIC client fingerprint"
channel = "other"
severity = 3
ja4 = ["q13d0310h3_55b375c5d22e_cd85d2d88918"]
"#,
    )
    .unwrap();
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--no-default-signatures",
        "--signatures",
        &pack.to_string_lossy(),
        &corpus.join("sv-ja4-tls-quic.pcap").to_string_lossy(),
    ]);
    let alerts: Vec<_> = run.events("alert").collect();
    assert_eq!(alerts.len(), 1, "{}\n{alerts:#?}", run.stderr());
    let m = &alerts[0]["alert"]["metadata"];
    assert_eq!(m["observation"][0], "tls-ja4");
    assert_eq!(m["matched_name"][0], "q13d0310h3_55b375c5d22e_cd85d2d88918");
    assert_eq!(alerts[0]["app_proto"], "quic");
    let _ = std::fs::remove_dir_all(&dir);
}
