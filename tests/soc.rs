//! SOC integration: EVE fidelity (community_id, in_iface), suppression, reports.

mod common;

use vw_craft::dns::Dns;
use vw_craft::{eth, ipv4, udp};

/// Suricata-verify's community-id test: the same IDs Suricata logged (with its seed, 7).
#[test]
fn community_id_matches_suricata_on_corpus_capture() {
    let Some(corpus) = common::corpus_dir() else {
        eprintln!("SKIP community_id_matches_suricata_on_corpus_capture: corpus absent");
        return;
    };
    let pcap = corpus.join("sv-community-id-ipv6.pcap");
    let pcap = pcap.to_string_lossy();
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--log",
        "tls",
        "--community-id-seed",
        "7",
        "--in-iface",
        "span0",
        &pcap,
    ]);
    let got: Vec<(String, String)> = run
        .events("tls")
        .map(|r| {
            assert_eq!(r["in_iface"], "span0");
            (
                r["tls"]["sni"].as_str().unwrap().to_string(),
                r["community_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    common::validate_eve(&run.records);
    assert!(got.contains(&("dns.google".into(), "1:PGf+a0eBbs1OhuPtJmsF0Sm51v4=".into())));
    assert!(got.contains(&(
        "ipv6.google.com".into(),
        "1:ptJhMvufAbB5nLDNW77cB800wFM=".into()
    )));
}

/// Every record carries community_id; in_iface is omitted for files unless given.
#[test]
fn records_carry_community_id() {
    let run = common::vendorwatch(&["scan", "--quiet", "--log", "all", "pcaps/"]);
    assert!(!run.records.is_empty());
    common::validate_eve(&run.records);
    for r in &run.records {
        let cid = r["community_id"].as_str().expect("community_id");
        assert!(cid.starts_with("1:") && cid.len() == 30, "{cid}");
        assert!(r.get("in_iface").is_none());
    }
}

/// A classic pcap (Ethernet) with `n` DNS queries for `name` from 10.1.0.11, one every
/// `step_ms` milliseconds from 2024-10-01T12:00:00Z.
fn dns_query_pcap(name: &str, n: usize, step_ms: u64) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    for i in 0..n {
        let dns = Dns::query(i as u16).question(name, 1).build();
        let udp = udp(40000 + (i % 20000) as u16, 53, &dns);
        let ip = ipv4([10, 1, 0, 11], [10, 0, 0, 53], 17, &udp);
        let pkt = eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], 0x0800, &ip);
        let t_ms = 1_727_784_000_000u64 + i as u64 * step_ms;
        out.extend_from_slice(&((t_ms / 1000) as u32).to_le_bytes());
        out.extend_from_slice(&((t_ms % 1000 * 1000) as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&pkt);
    }
    out
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vendorwatch-soc-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// 10,000 lookups of one update server by one host in ~17 minutes: one alert, and the summary
/// accounts for the 9,999 repeats exactly.
#[test]
fn ten_thousand_repeats_give_one_alert() {
    let dir = temp_dir("repeats");
    let pcap = dir.join("repeats.pcap");
    std::fs::write(&pcap, dns_query_pcap("s01.upd.kaspersky.com", 10_000, 100)).unwrap();
    let run = common::vendorwatch(&["scan", &pcap.to_string_lossy()]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let alerts: Vec<_> = run.events("alert").collect();
    eprintln!(
        "10,000 repeats: {} alert(s)\n{}",
        alerts.len(),
        run.stderr()
    );
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0]["alert"]["metadata"].get("repeats").is_none());
    let err = run.stderr();
    assert!(
        err.contains("suppressed repeats: 9999 (0 carried in later alerts' metadata.repeats, 9999 pending at exit, 0 in 0 evicted keys)"),
        "{err}"
    );
    assert!(
        err.contains("sid 4200001") && err.contains("9999 suppressed"),
        "{err}"
    );
    assert!(err.contains("10000"), "host hit count in summary: {err}");

    // Two workers: the lookups come from 10,000 source ports, so their flows are spread over
    // both workers, and the shared suppression table still folds them into one alert.
    let run = common::vendorwatch(&["scan", "--workers", "2", &pcap.to_string_lossy()]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!(run.events("alert").count(), 1, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("suppressed repeats: 9999 (0 carried in later alerts' metadata.repeats, 9999 pending at exit, 0 in 0 evicted keys)"),
        "{}",
        run.stderr()
    );

    // scan --report counts the repeats still pending at exit: 10,000 for the host.
    let report = dir.join("hosts.json");
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--report",
        &report.to_string_lossy(),
        &pcap.to_string_lossy(),
    ]);
    assert_eq!(run.code(), Some(0));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(doc["hosts"][0]["host"], "10.1.0.11");
    assert_eq!(doc["hosts"][0]["alerts"], 1);
    assert_eq!(doc["hosts"][0]["count"], 10_000);
    assert_eq!(
        doc["hosts"][0]["last_seen"],
        "2024-10-01T12:16:39.900000+0000"
    );

    // A 100 s window over 10,000 s: an alert per window, each carrying the repeats before it.
    std::fs::write(&pcap, dns_query_pcap("s01.upd.kaspersky.com", 10_000, 1000)).unwrap();
    let run = common::vendorwatch(&["scan", "--suppress-window", "100", &pcap.to_string_lossy()]);
    let alerts: Vec<_> = run.events("alert").collect();
    assert_eq!(alerts.len(), 100);
    let carried: u64 = alerts
        .iter()
        .filter_map(|a| a["alert"]["metadata"]["repeats"][0].as_str())
        .map(|s| s.parse::<u64>().unwrap())
        .sum();
    assert_eq!(carried, 99 * 99);
    common::validate_eve(&run.records);
    assert!(
        run.stderr()
            .contains("suppressed repeats: 9900 (9801 carried"),
        "{}",
        run.stderr()
    );

    // Window 0: every lookup alerts.
    let run = common::vendorwatch(&["scan", "--suppress-window", "0", &pcap.to_string_lossy()]);
    assert_eq!(run.events("alert").count(), 10_000);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Validate records against Suricata's schema, when present.
/// `--stats` writes one `event_type: stats` record with the scan's counters, valid EVE.
#[test]
fn stats_record_at_exit() {
    let run = common::vendorwatch(&["scan", "--quiet", "--stats", "pcaps/"]);
    assert_eq!(run.code(), Some(0));
    let stats: Vec<_> = run.events("stats").collect();
    assert_eq!(stats.len(), 1);
    let s = &stats[0]["stats"];
    assert!(s["decoder"]["pkts"].as_u64().unwrap() > 0);
    assert_eq!(
        s["detect"]["alert"].as_u64().unwrap() as usize,
        run.events("alert").count()
    );
    common::validate_eve(&run.records);
}
