//! End-to-end pipeline on an in-memory capture: CaptureReader over a byte slice, decode,
//! Detector::on_packet, alerts written to an `io::sink` EVE formatter. The capture is a gen-mix
//! mix (bulk TCP, ACKs, DNS, TLS, QUIC, HTTP, VLAN, tunnels) with planted Kaspersky names, so
//! the alert path is exercised at its natural rate. Reported as packets/s and bytes/s (file
//! bytes).
//!
//! ```text
//! cargo bench --bench pipeline
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use vendorwatch::capture::file::CaptureReader;
use vendorwatch::decode::decode;
use vendorwatch::detect::{Detector, LogSelection};
use vendorwatch::output::formatter::{FormatConfig, Formatter};
use vendorwatch::output::hub::OutputHub;
use vendorwatch::record::PacketAt;

/// Records formatted as EVE and written to a sink.
type EveOut = Formatter<OutputHub>;
use vendorwatch::sigs::RuleSet;

#[path = "../examples/gen-mix.rs"]
mod gen_mix;

const PACKETS: u64 = 50_000;

/// One pass over the capture; returns the packets seen.
fn scan(bytes: &[u8], detector: &mut Detector, out: &mut EveOut) -> u64 {
    let mut reader = CaptureReader::new(bytes).expect("pcap header");
    let mut n = 0;
    while let Some(packet) = reader.next_packet().expect("valid capture") {
        n += 1;
        if let Ok(decoded) = decode(packet.link_type, packet.data) {
            let at = PacketAt::new(packet.ts, n);
            detector.on_packet(&decoded, &at, out);
        }
    }
    n
}

fn bench_pipeline(c: &mut Criterion) {
    let cfg = gen_mix::Config {
        packets: PACKETS,
        bytes: u64::MAX,
        seed: 0x5eed_0009,
    };
    let mut bytes = Vec::new();
    let mut planted = Vec::new();
    let summary = gen_mix::generate(&cfg, &mut bytes, &mut planted).expect("in-memory mix");
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );

    let mut g = c.benchmark_group("pipeline");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.throughput(Throughput::Elements(summary.packets));
    g.bench_function("gen-mix-50k/packets", |b| {
        b.iter(|| scan(black_box(&bytes), &mut detector, &mut out))
    });
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("gen-mix-50k/bytes", |b| {
        b.iter(|| scan(black_box(&bytes), &mut detector, &mut out))
    });
    g.finish();
}

criterion_group!(benches, bench_pipeline);
criterion_main!(benches);
