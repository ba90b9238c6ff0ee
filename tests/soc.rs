//! SOC integration: EVE fidelity (community_id, in_iface), suppression, reports.

mod common;

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
    for r in &run.records {
        let cid = r["community_id"].as_str().expect("community_id");
        assert!(cid.starts_with("1:") && cid.len() == 30, "{cid}");
        assert!(r.get("in_iface").is_none());
    }
}
