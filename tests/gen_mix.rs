//! Correctness at speed: a gen-mix capture (bulk TCP, ACKs, DNS, TLS, QUIC, HTTP, VLAN, GRE and
//! VXLAN) scanned in memory through the whole pipeline (decoder, flow table, detector, with
//! suppression off so every observation is its own alert) must alert on every planted
//! observation of every kind, and on no frame without one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use vendorwatch::capture::file::CaptureReader;
use vendorwatch::decode::Decoder;
use vendorwatch::detect::suppress::Suppressor;
use vendorwatch::detect::{Detector, LogSelection};
use vendorwatch::flow::{FlowConfig, FlowTable};
use vendorwatch::pipeline::process;
use vendorwatch::record::app::AppRecord;
use vendorwatch::record::counters::StatsSnapshot;
use vendorwatch::record::{Alert, FlowMeta, PacketAt, RecordSink};
use vendorwatch::sigs::RuleSet;

#[path = "../examples/gen-mix.rs"]
mod gen_mix;

/// Alerts by frame: the matched names detection handed forward, no format in between.
#[derive(Default)]
struct Alerts(BTreeMap<u64, BTreeSet<String>>);

impl RecordSink for Alerts {
    fn begin_input(&mut self, _: &str) {}
    fn alert(&mut self, alert: &Alert<'_>) {
        self.0
            .entry(alert.flow.pcap_cnt)
            .or_default()
            .insert(alert.facts.matched_name.to_string());
    }
    fn event(&mut self, _: &FlowMeta, _: &AppRecord) {}
    fn stats(&mut self, _: &StatsSnapshot) {}
    fn flush(&mut self) {}
    fn failed(&self) -> bool {
        false
    }
}

fn mix(packets: u64, seed: u64) -> (Vec<u8>, String, gen_mix::Summary) {
    let cfg = gen_mix::Config {
        packets,
        bytes: u64::MAX,
        seed,
    };
    let (mut pcap, mut tsv) = (Vec::new(), Vec::new());
    let s = gen_mix::generate(&cfg, &mut pcap, &mut tsv).expect("in-memory mix");
    (pcap, String::from_utf8(tsv).expect("utf-8 sidecar"), s)
}

#[test]
fn generator_is_deterministic_and_exact() {
    let (a, ta, sa) = mix(3000, 7);
    let (b, tb, _) = mix(3000, 7);
    assert!(a == b && ta == tb, "same seed, same bytes");
    let (c, _, _) = mix(3000, 8);
    assert!(a != c, "another seed, other bytes");
    assert_eq!(sa.packets, 3000);
    assert_eq!(sa.file_bytes, a.len() as u64);
    assert_eq!(sa.classes[..10].iter().sum::<u64>(), 3000);
}

#[test]
fn every_planted_dns_and_sni_observation_alerts() {
    let (pcap, tsv, summary) = mix(60_000, 0x5eed_0009);
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    detector.set_suppressor(Arc::new(Mutex::new(Suppressor::new(0, 1))));
    let mut decoder = Decoder::default();
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut out = Alerts::default();
    let mut reader = CaptureReader::new(&pcap[..]).expect("pcap header");
    let mut n = 0u64;
    while let Some(p) = reader.next_packet().expect("valid capture") {
        n += 1;
        if let Ok(d) = decoder.decode(p.link_type, p.data, p.ts) {
            let at = PacketAt::new(p.ts, n);
            process(&d, &at, &mut flows, &mut detector, &mut out);
        }
    }
    assert_eq!(n, summary.packets);
    let alerts = out.0;
    let mut planted_frames = BTreeSet::new();
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for line in tsv.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let frame: u64 = f[0].parse().expect("frame");
        planted_frames.insert(frame);
        let found = alerts.get(&frame).is_some_and(|s| s.contains(f[2]));
        let e = counts.entry(f[1]).or_default();
        e.0 += 1;
        e.1 += u64::from(found);
    }
    for (kind, (planted, found)) in &counts {
        println!("gen-mix 60k: {kind}: found {found} / {planted}");
    }
    for (kind, (planted, found)) in &counts {
        assert!(*planted > 0, "{kind}: nothing planted");
        assert_eq!(found, planted, "{kind}: every planted observation alerts");
    }
    let false_pos: Vec<_> = alerts
        .keys()
        .filter(|f| !planted_frames.contains(f))
        .collect();
    assert!(
        false_pos.is_empty(),
        "alerts on unplanted frames {false_pos:?}"
    );
}
