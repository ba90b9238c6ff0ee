//! The flow layer against tshark on the shared corpus (`../shared/corpus`): recall of
//! `tls-sni` on captures tagged `tls-split` (every row, however many segments), `dns-query`
//! over TCP (`l4=tcp`) on `dns-tcp`, and `http-host` on `http-host`; and no name logged that
//! tshark does not show in that capture. Matching is by (kind, name) per file, with
//! multiplicity: tshark's frame for a reassembled message is the one that completed it, which
//! is ours too, but a name per file is what matters for a monitor.
//!
//! Captures that also carry tunnel or fragment tags are reported separately (so a regression
//! in either layer shows where it is), and asserted like the rest. Skips with a printed reason when the corpus is absent.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};

const DECODER_TAGS: &[&str] = &[
    "gre", "gre-teb", "erspan", "vxlan", "geneve", "teredo", "mpls", "pppoe", "ip-in-ip", "frag",
    "frag6",
];

/// (tag that selects the capture, kind, row filter on the detail column)
const TARGETS: &[(&str, &str)] = &[
    ("tls-split", "tls-sni"),
    ("dns-tcp", "dns-query"),
    ("http-host", "http-host"),
];

#[derive(Default)]
struct Tally {
    expected: usize,
    found: usize,
}

impl Tally {
    fn recall(&self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            self.found as f64 / self.expected as f64
        }
    }
}

fn observed(records: &[serde_json::Value]) -> Vec<(String, String, bool)> {
    // (kind, name, over tcp)
    let mut out = Vec::new();
    for r in records {
        let tcp = r["proto"] == "TCP";
        match r["event_type"].as_str() {
            Some("dns") => {
                for q in r["dns"]["queries"].as_array().into_iter().flatten() {
                    let name = q["rrname"].as_str().unwrap_or("").to_lowercase();
                    let name = if name.is_empty() { ".".into() } else { name };
                    out.push(("dns-query".to_string(), name, tcp));
                }
            }
            Some("tls") => {
                if let Some(sni) = r["tls"]["sni"].as_str() {
                    out.push(("tls-sni".to_string(), sni.to_lowercase(), tcp));
                }
            }
            Some("http") => {
                if let Some(h) = r["http"]["hostname"].as_str() {
                    out.push(("http-host".to_string(), h.to_lowercase(), tcp));
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn flow_corpus_recall_and_no_invented_names() {
    let Some(corpus) = common::corpus_dir() else {
        eprintln!("SKIP flow_corpus_recall_and_no_invented_names: ../shared/corpus not found");
        return;
    };
    let mut asserted: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut decoder: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut invented = Vec::new();
    let mut crashes = Vec::new();
    for (file, tags) in common::corpus_captures(&corpus) {
        let wanted: Vec<&str> = TARGETS
            .iter()
            .filter(|(tag, _)| tags.iter().any(|t| t == tag))
            .map(|(_, kind)| *kind)
            .collect();
        let path = corpus.join(&file);
        let path = path.to_string_lossy();
        let run = common::vendorwatch(&["scan", "--quiet", "--log", "all", &path]);
        match run.code() {
            Some(0) | Some(1) => {}
            other => crashes.push(format!("{file}: exit {other:?}: {}", run.stderr())),
        }
        let seen = observed(&run.records);
        let text = std::fs::read_to_string(corpus.join("expected").join(format!("{file}.tsv")))
            .unwrap_or_default();
        let rows: Vec<Vec<&str>> = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').collect())
            .collect();
        // No invented names, in every capture: every TCP-carried name we log, tshark shows.
        let known: HashSet<(&str, &str)> = rows
            .iter()
            .filter_map(|c| Some((*c.get(6)?, *c.get(7)?)))
            .collect();
        for (kind, name, tcp) in &seen {
            if *tcp && !known.contains(&(kind.as_str(), name.as_str())) {
                invented.push(format!("{file}: {kind} {name}"));
            }
        }
        let under_decoder = tags.iter().any(|t| DECODER_TAGS.contains(&t.as_str()));
        let mut seen_count: HashMap<(&str, &str), usize> = HashMap::new();
        for (kind, name, tcp) in &seen {
            if *tcp {
                *seen_count.entry((kind, name)).or_default() += 1;
            }
        }
        for kind in wanted {
            for c in &rows {
                let (Some(k), Some(name), detail) =
                    (c.get(6).copied(), c.get(7).copied(), c.get(8).copied())
                else {
                    continue;
                };
                if k != kind || (name.starts_with('<') && name.ends_with('>')) {
                    continue;
                }
                if kind == "dns-query" && !detail.unwrap_or("").contains("l4=tcp") {
                    continue;
                }
                let hit = match seen_count.get_mut(&(k, name)) {
                    Some(n) if *n > 0 => {
                        *n -= 1;
                        true
                    }
                    _ => false,
                };
                let t = if under_decoder {
                    decoder.entry(kind).or_default()
                } else {
                    asserted.entry(kind).or_default()
                };
                t.expected += 1;
                t.found += usize::from(hit);
                if !hit {
                    misses.push(format!(
                        "{file}{}: frame {} {kind} {name} ({})",
                        if under_decoder { " [decoder]" } else { "" },
                        c.first().copied().unwrap_or("?"),
                        detail.unwrap_or("")
                    ));
                }
            }
        }
    }
    for (label, map) in [
        ("plain link layers", &asserted),
        ("behind tunnels/fragments", &decoder),
    ] {
        eprintln!("{label}:");
        for (kind, t) in map.iter() {
            eprintln!(
                "  {kind:<10} {:>4}/{:<4} = {:.4}",
                t.found,
                t.expected,
                t.recall()
            );
        }
    }
    for m in &misses {
        eprintln!("  miss: {m}");
    }
    for i in &invented {
        eprintln!("  not in tshark: {i}");
    }
    assert!(crashes.is_empty(), "crashed or failed hard: {crashes:#?}");
    assert!(invented.is_empty(), "{} invented names", invented.len());
    for (kind, t) in asserted.iter().chain(decoder.iter()) {
        assert!(
            t.recall() >= 0.99,
            "{kind} recall {:.4} below 0.99",
            t.recall()
        );
    }
}
