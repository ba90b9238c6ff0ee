//! Crafted floods against the resource caps, for `tests/caps.rs` (small caps, debug) and
//! `examples/flood.rs` (default caps, release, measured with `/usr/bin/time -v`).
//!
//! Each flood builds its packets in memory (raw IPv4 from `vw-craft`, QUIC Initials sealed by
//! `vw_wire::testing`, no file) and drives them through the real per-packet stages:
//! [`Decoder`] (IP reassembly), [`crate::pipeline::process`] with a [`FlowTable`] (TCP flows,
//! first-flight reassembly, QUIC Initial table) and a [`Detector`] (DNS answer table,
//! suppression table). After every packet the targeted table's own
//! accounting (entries, bytes) is read and the peak kept, so a test can check that the cap
//! held at every moment, not only at the end.
//!
//! Packets come 100,000 a second of capture time, so a flood of a few million packets stays
//! well inside every timeout: what the tables drop is dropped by the caps, not by time.

use vw_craft::dns::{Dns, Rdata};
use vw_craft::quic::crypto_frame;
use vw_craft::tls::{self, ClientHello};
use vw_craft::{ACK, Ipv4, MF, PSH, SYN, ipv4, tcp, udp};
use vw_wire::testing::seal_initial;

use crate::capture::{Timestamp, linktype};
use crate::decode::{Decoder, DecoderConfig, DefragConfig};
use crate::detect::answers::ResolvedIps;
use crate::detect::suppress::{DEFAULT_CAPACITY, DEFAULT_WINDOW_SECS, Suppressor};
use crate::detect::{Detector, LogSelection, RESOLVED_CAPACITY};
use crate::flow::quic::{QuicConfig, QuicFlows};
use crate::flow::{FlowConfig, FlowTable};
use crate::pipeline::process;
use crate::record::{NullSink, PacketAt};
use crate::sigs::RuleSet;

/// Packets per second of capture time.
pub const RATE: u64 = 100_000;

/// Which table a flood aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TCP SYNs from distinct (scrambled) sources: the flow cap.
    Syn,
    /// One segment per flow holding the first 600 bytes of a 1.4 KB ClientHello, never
    /// finished: the reassembly memory cap.
    HalfOpenHello,
    /// First fragments (1480 bytes, more-fragments set) of datagrams never completed: the
    /// fragment datagram and memory caps.
    Fragments,
    /// QUIC v1 client Initials from distinct sources, each with the first 600 bytes of a
    /// ClientHello: the QUIC connection and memory caps.
    QuicInitials,
    /// DNS responses for a Kaspersky name, each with another A address: the DNS answer table.
    DnsAnswers,
    /// DNS queries for distinct Kaspersky names from one host, each a new suppression key:
    /// the suppression table.
    Suppression,
}

impl Kind {
    /// Every kind, in the order of `docs/caps.md`.
    pub const ALL: [Kind; 6] = [
        Kind::Syn,
        Kind::HalfOpenHello,
        Kind::Fragments,
        Kind::QuicInitials,
        Kind::DnsAnswers,
        Kind::Suppression,
    ];

    /// Name on the command line of `examples/flood.rs`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Syn => "syn",
            Kind::HalfOpenHello => "half-open-hello",
            Kind::Fragments => "fragments",
            Kind::QuicInitials => "quic-initials",
            Kind::DnsAnswers => "dns-answers",
            Kind::Suppression => "suppression",
        }
    }

    /// The kind with this name.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// Every cap, as the CLI would configure them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// `--max-flows`, `--reassembly-memory`.
    pub flow: FlowConfig,
    /// `--defrag-memory`, `--defrag-max-datagrams`, `--defrag-timeout`.
    pub defrag: DefragConfig,
    /// `--quic-max-pending`, `--quic-memory`.
    pub quic: QuicConfig,
    /// `--resolved-capacity`.
    pub resolved: usize,
    /// `--suppress-capacity`.
    pub suppress: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            flow: FlowConfig::default(),
            defrag: DefragConfig::default(),
            quic: QuicConfig::default(),
            resolved: RESOLVED_CAPACITY,
            suppress: DEFAULT_CAPACITY,
        }
    }
}

/// What a flood left in its table, by the table's own accounting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// Packets driven.
    pub packets: u64,
    /// Entries the table may hold (flows, datagrams, connections, addresses, keys); for the
    /// reassembly flood, flows.
    pub entry_cap: usize,
    /// Bytes the table may hold, for tables with a byte cap.
    pub byte_cap: Option<usize>,
    /// Entries held at the end.
    pub held: usize,
    /// Most entries held after any packet.
    pub peak_held: usize,
    /// Bytes held at the end (reassembly, fragment and QUIC tables: their own accounting).
    pub held_bytes: usize,
    /// Most bytes held after any packet.
    pub peak_bytes: usize,
    /// Entries created (flows, datagrams, connections) or remembered (addresses, keys).
    pub created: u64,
    /// What the cap turned away: entries evicted, or segments refused.
    pub overflow: u64,
    /// What `overflow` counts, as the summary names it.
    pub overflow_label: &'static str,
    /// Most memory of the whole table seen (sampled every 1024 packets and at the end):
    /// slots and index as allocated, buffers, names.
    pub peak_table_memory: usize,
}

/// Stages with every cap set from `caps`, and the bundled signatures.
fn stages(caps: &Caps) -> (Decoder, FlowTable, Detector) {
    let decoder = Decoder::new(DecoderConfig {
        defrag: caps.defrag,
        ..DecoderConfig::default()
    });
    let mut flows = FlowTable::new(caps.flow);
    flows.quic = QuicFlows::new(caps.quic);
    let rules = RuleSet::bundled().unwrap_or_default();
    let mut detector = Detector::new(rules, LogSelection::default());
    detector.set_suppressor(std::sync::Arc::new(std::sync::Mutex::new(Suppressor::new(
        DEFAULT_WINDOW_SECS,
        caps.suppress,
    ))));
    detector.resolved = ResolvedIps::new(caps.resolved);
    (decoder, flows, detector)
}

/// A distinct, scattered 10.x.y.z address for each `i` below 2^24 (multiplication by an odd
/// number is a bijection modulo 2^24).
pub fn source(i: u64) -> [u8; 4] {
    let j = (i.wrapping_mul(0x9E37_79B1) & 0xff_ffff) as u32;
    let [_, a, b, c] = j.to_be_bytes();
    [10, a, b, c]
}

/// A ClientHello handshake message (4-byte header and body) of about `size` bytes.
pub fn client_hello_message(sni: &str, size: usize) -> Vec<u8> {
    ClientHello::new()
        .random([0x11; 32])
        .sni(sni)
        .versions(&[0x0304])
        .pad_to(size)
        .message()
}

/// Bytes of the ClientHello each half-open flow or QUIC connection leaves buffered.
pub const HELLO_PART: usize = 600;

/// The first [`HELLO_PART`] bytes of a TLS record holding a 1.4 KB ClientHello.
pub fn half_hello_segment() -> Vec<u8> {
    let hello = client_hello_message("update.kaspersky.com", 1400);
    let mut rec = tls::record(0x0301, &hello);
    rec.truncate(HELLO_PART);
    rec
}

/// A QUIC v1 client Initial (long header, protected) carrying `frames` as its plaintext,
/// padded to a 1200-byte datagram.
fn quic_v1_initial(dcid: &[u8], frames: &[u8]) -> Vec<u8> {
    let unpadded = seal_initial(1, dcid, 0, frames).len();
    let mut plain = frames.to_vec();
    // PADDING frames (zero bytes) up to the size.
    plain.resize(frames.len() + 1200usize.saturating_sub(unpadded), 0);
    seal_initial(1, dcid, 0, &plain)
}

/// A DNS message: `response` with one A record `addr` (TTL 300), or a query.
pub fn dns_message(name: &str, response: Option<[u8; 4]>) -> Vec<u8> {
    match response {
        Some(addr) => Dns::response(0x1234)
            .question(name, 1)
            .answer(name, 300, Rdata::A(addr)),
        None => Dns::query(0x1234).question(name, 1),
    }
    .build()
}

/// Drive `n` packets of `kind` through the stages with `caps`; the report reads the targeted
/// table after every packet.
pub fn run(kind: Kind, n: u64, caps: &Caps) -> Report {
    let (mut decoder, mut flows, mut detector) = stages(caps);
    let mut out = NullSink;
    let mut report = Report {
        packets: n,
        ..Report::default()
    };
    let hello = half_hello_segment();
    let quic_payload = {
        let hello = client_hello_message("update.kaspersky.com", 1400);
        let part = hello.get(..HELLO_PART).unwrap_or(&hello);
        quic_v1_initial(
            &[0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08],
            &crypto_frame(0, part),
        )
    };
    let fragment = vec![0xabu8; 1480];
    let server = [192, 0, 2, 1];
    let resolver = [9, 9, 9, 9];
    let client = [10, 0, 0, 5];
    for i in 0..n {
        let src = source(i);
        let port = 1024 + (i % 50_000) as u16;
        let pkt = match kind {
            Kind::Syn => {
                let seq = (i as u32).wrapping_mul(2_654_435_761);
                ipv4(src, server, 6, &tcp(port, 443, seq, 0, SYN, &[]))
            }
            Kind::HalfOpenHello => {
                ipv4(src, server, 6, &tcp(port, 443, 1000, 0, PSH | ACK, &hello))
            }
            // More fragments, offset 0: the rest never comes.
            Kind::Fragments => Ipv4 {
                id: i as u16,
                frag: MF,
                ..Ipv4::new(src, server, 17)
            }
            .build(&udp(port, 443, &fragment[..fragment.len() - 8])),
            Kind::QuicInitials => ipv4(src, server, 17, &udp(port, 443, &quic_payload)),
            Kind::DnsAnswers => {
                let [_, a, b, c] = src;
                let msg = dns_message("dnl-07.geo.kaspersky.com", Some([100, a, b, c]));
                ipv4(resolver, client, 17, &udp(53, 5353, &msg))
            }
            Kind::Suppression => {
                let msg = dns_message(&format!("h{i}.kaspersky.com"), None);
                ipv4(client, resolver, 17, &udp(5353, 53, &msg))
            }
        };
        let ts = Timestamp {
            secs: 1_700_000_000 + (i / RATE) as i64,
            nanos: ((i % RATE) * (1_000_000_000 / RATE)) as u32,
        };
        if let Ok(decoded) = decoder.decode(linktype::RAW, &pkt, ts) {
            let at = PacketAt::new(ts, i + 1);
            process(&decoded, &at, &mut flows, &mut detector, &mut out);
        }
        let (held, bytes) = held(kind, &decoder, &flows, &detector);
        report.peak_held = report.peak_held.max(held);
        report.peak_bytes = report.peak_bytes.max(bytes);
        if i % 1024 == 0 || i + 1 == n {
            let mem = table_memory(kind, &decoder, &flows, &detector);
            report.peak_table_memory = report.peak_table_memory.max(mem);
        }
    }
    (report.held, report.held_bytes) = held(kind, &decoder, &flows, &detector);
    let f = flows.stats;
    let d = decoder.stats().defrag;
    let q = flows.quic.stats().assembly;
    (
        report.entry_cap,
        report.byte_cap,
        report.created,
        report.overflow,
        report.overflow_label,
    ) = match kind {
        Kind::Syn => (
            caps.flow.max_flows,
            None,
            f.flows_created,
            f.evicted_cap,
            "flows evicted at the flow cap",
        ),
        Kind::HalfOpenHello => (
            caps.flow.max_flows,
            Some(caps.flow.max_reasm_bytes),
            f.flows_created,
            f.reasm_refused,
            "segments refused at the reassembly memory cap",
        ),
        Kind::Fragments => (
            caps.defrag.max_datagrams,
            Some(caps.defrag.memcap),
            d.fragments,
            d.evicted + d.dropped,
            "datagrams evicted (+ fragments dropped) by cap",
        ),
        Kind::QuicInitials => (
            caps.quic.max_pending,
            Some(caps.quic.max_bytes),
            q.connections,
            q.evicted,
            "QUIC connections evicted by cap",
        ),
        Kind::DnsAnswers => (
            caps.resolved,
            None,
            detector.resolved.stats.remembered,
            detector.resolved.stats.evicted,
            "resolved addresses evicted at the cap",
        ),
        Kind::Suppression => (
            caps.suppress,
            None,
            detector.stats.alerts,
            detector.suppressor().lock().map_or(0, |s| s.evictions),
            "suppression keys evicted at the cap",
        ),
    };
    report
}

/// Entries and bytes of the targeted table, by its own accounting (cheap: read per packet).
fn held(kind: Kind, decoder: &Decoder, flows: &FlowTable, detector: &Detector) -> (usize, usize) {
    match kind {
        Kind::Syn => (flows.len(), flows.reasm_bytes()),
        Kind::HalfOpenHello => (flows.len(), flows.reasm_bytes()),
        Kind::Fragments => decoder.defrag_held(),
        Kind::QuicInitials => (flows.quic.pending(), flows.quic.held_bytes()),
        Kind::DnsAnswers => (detector.resolved.len(), 0),
        Kind::Suppression => (detector.suppressor().lock().map_or(0, |s| s.len()), 0),
    }
}

/// Memory of the whole targeted table (walks it: sampled).
fn table_memory(kind: Kind, decoder: &Decoder, flows: &FlowTable, detector: &Detector) -> usize {
    match kind {
        Kind::Syn | Kind::HalfOpenHello => flows.memory_bytes(),
        Kind::Fragments => decoder.defrag_held().1,
        Kind::QuicInitials => flows.quic.held_bytes(),
        Kind::DnsAnswers => detector.resolved.memory_bytes(),
        Kind::Suppression => detector.suppressor().lock().map_or(0, |s| s.memory_bytes()),
    }
}
