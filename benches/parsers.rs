//! Parser micro-benchmarks: DNS (a query; a response with CNAME and A records) and TLS
//! ClientHello (Chrome-like 517-byte hello; a post-quantum sized 1.8 KB hello as the flow layer
//! will hand it over once joined). Each input is measured twice, so criterion reports both
//! messages/s and bytes/s. QUIC: deriving a connection's client Initial keys from its DCID,
//! and trying to decrypt an Initial-looking datagram whose payload is random (every one costs
//! a key derivation and a failed tag check).
//!
//! ```text
//! cargo bench --bench parsers
//! ```
//!
//! The inputs come from the gen-mix generator, the same bytes the throughput runs use.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use vendorwatch::capture::{Timestamp, linktype};
use vendorwatch::decode::Decoder;
use vendorwatch::proto::dns::{self, DnsItem};
use vendorwatch::proto::quic::{self, Flavor, InitialDecryptor};
use vendorwatch::proto::{http, tls};
use vw_craft::{ACK, ETH_IPV4, ETH_VLAN, PSH, eth, ipv4, tcp, udp, vlan, vxlan};

#[path = "../examples/gen-mix.rs"]
mod gen_mix;

/// Measures `f` on `input` as messages/s and as bytes/s.
fn both<F: Fn(&[u8]) -> usize>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    input: &[u8],
    f: F,
) {
    g.throughput(Throughput::Elements(1));
    g.bench_function(format!("{name}/msgs"), |b| b.iter(|| f(black_box(input))));
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function(format!("{name}/bytes"), |b| b.iter(|| f(black_box(input))));
}

/// Walks a DNS message and counts what a detector looks at (names and addresses).
fn walk_dns(msg: &[u8]) -> usize {
    let mut n = 0;
    let res = dns::walk(msg, |item| match item {
        DnsItem::Question { name, .. } => n += name.len(),
        DnsItem::Answer { .. } => n += 1,
    });
    assert!(res.is_ok());
    n
}

fn parse_hello(payload: &[u8]) -> usize {
    let hello = tls::parse_client_hello(payload).expect("a ClientHello");
    hello.sni.map_or(0, <[u8]>::len)
}

fn bench_dns(c: &mut Criterion) {
    let mut rng = gen_mix::Rng::new(9);
    let mut query = Vec::new();
    gen_mix::dns_query(&mut query, 0x1234, "mail.fabrikam.org", 1);
    let mut response = Vec::new();
    gen_mix::dns_response(
        &mut response,
        0x1234,
        "s05.upd.kaspersky.com",
        1,
        "s05-upd-kaspersky-com.edge.cdn-example.net",
        &mut rng,
    );
    let mut g = c.benchmark_group("dns");
    both(&mut g, "query", &query, walk_dns);
    both(&mut g, "response-cname-a", &response, walk_dns);
    g.finish();
}

fn bench_tls(c: &mut Criterion) {
    let mut rng = gen_mix::Rng::new(9);
    let mut hello = Vec::new();
    gen_mix::client_hello(&mut hello, "teams.office365.com", false, &mut rng);
    let mut pq = Vec::new();
    gen_mix::client_hello(&mut pq, "dc1.ksn.kaspersky-labs.com", true, &mut rng);
    let mut g = c.benchmark_group("tls");
    both(&mut g, "client-hello-517", &hello, parse_hello);
    both(&mut g, "client-hello-pq", &pq, parse_hello);
    // The cheap gate every TCP payload goes through.
    both(&mut g, "not-a-hello-gate", &[0x17, 3, 3, 0, 40, 0], |p| {
        usize::from(tls::looks_like_client_hello(p))
    });
    g.finish();
}

/// A QUIC v1 Initial-looking datagram like gen-mix's: real long header (8-byte DCID, no SCID,
/// no token), random protected payload, 1250 bytes.
fn garbage_initial() -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    };
    let mut p = vec![0xc3, 0, 0, 0, 1, 8];
    p.extend((0..8).map(|_| next()));
    p.extend_from_slice(&[0, 0]);
    let rest = 1250 - p.len() - 2;
    p.extend_from_slice(&(0x4000 | rest as u16).to_be_bytes());
    p.extend((0..rest).map(|_| next()));
    p
}

fn bench_quic(c: &mut Criterion) {
    let dcid = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
    let garbage = garbage_initial();
    assert!(quic::looks_like_initial(&garbage));
    let mut dec = InitialDecryptor::new();
    let mut g = c.benchmark_group("quic");
    g.throughput(Throughput::Elements(1));
    g.bench_function("derive-initial-keys", |b| {
        b.iter(|| quic::client_initial_material(Flavor::V1, black_box(&dcid)).map(|m| m.hp[0]))
    });
    g.bench_function("garbage-initial", |b| {
        b.iter(|| {
            let s = dec.for_each_initial(black_box(&garbage), |_, _| {});
            assert_eq!(s.failed, 1);
            s.failed
        })
    });
    // RFC 9001 Appendix A.2's client Initial (1200 bytes, SNI example.com): decrypted with
    // fresh keys (a connection's first Initial), and with the keys the decryptor caches.
    let real = unhex(include_str!(
        "../crates/vw-wire/src/proto/testdata/rfc9001-a2-client-initial.hex"
    ));
    let sni_len = |dec: &mut InitialDecryptor| {
        let mut n = 0;
        dec.for_each_initial(black_box(&real), |_, crypto| n += crypto.len());
        n
    };
    assert!(sni_len(&mut InitialDecryptor::new()) > 0);
    g.bench_function("rfc9001-initial-new-keys", |b| {
        b.iter(|| sni_len(&mut InitialDecryptor::new()))
    });
    let mut cached = InitialDecryptor::new();
    g.bench_function("rfc9001-initial-cached-keys", |b| {
        b.iter(|| sni_len(&mut cached))
    });
    g.finish();
}

fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    s.chunks(2)
        .filter_map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

/// The HTTP request-head parser on a plain-HTTP update download (Host header, user agent).
fn bench_http(c: &mut Criterion) {
    let head = b"GET /diffs/bases/av/kdb/i386/kdb-i386-0607g.xml.dif HTTP/1.1\r\n\
Host: dnl-01.geo.kaspersky.com\r\nUser-Agent: Kaspersky Lab Update Agent 11.0\r\n\
Accept: */*\r\nConnection: keep-alive\r\nCache-Control: no-cache\r\n\r\n";
    assert!(matches!(
        http::parse_request_head(head),
        http::HttpParse::Complete(_)
    ));
    let mut g = c.benchmark_group("http");
    both(
        &mut g,
        "request-head",
        head,
        |p| match http::parse_request_head(p) {
            http::HttpParse::Complete(r) => r.host.map_or(0, <[u8]>::len),
            _ => 0,
        },
    );
    g.finish();
}

/// Ethernet (with these 802.1Q ids) + IPv4 10.0.0.1 -> 10.0.0.2 carrying `l4` as `proto`.
fn eth_ipv4(vlans: &[u16], proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut inner = ipv4([10, 0, 0, 1], [10, 0, 0, 2], proto, l4);
    let mut ethertype = ETH_IPV4;
    for &id in vlans.iter().rev() {
        inner = vlan(id, ethertype, &inner);
        ethertype = ETH_VLAN;
    }
    eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], ethertype, &inner)
}

/// The decoder on the frames that make up most traffic (its fast path), and on a VXLAN frame
/// that takes the full walk.
fn bench_decode(c: &mut Criterion) {
    // TCP 50000 -> 443, UDP 54321 -> `dport`.
    let https = |flags: u8, payload: &[u8]| tcp(50_000, 443, 0x1000, 0x2000, flags, payload);
    let udp_to = |dport: u16, payload: &[u8]| udp(54_321, dport, payload);
    let data = eth_ipv4(&[], 6, &https(PSH | ACK, &[0x17; gen_mix::MSS]));
    let ack = eth_ipv4(&[], 6, &https(ACK, &[]));
    let tagged_dns = eth_ipv4(&[10, 20], 17, &udp_to(53, &[0; 40]));
    let vxlan = eth_ipv4(&[], 17, &udp_to(4789, &vxlan(1, &tagged_dns)));
    let mut decoder = Decoder::default();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    for (name, frame) in [
        ("tcp-data", &data),
        ("tcp-ack", &ack),
        ("qinq-udp", &tagged_dns),
        ("vxlan-udp", &vxlan),
    ] {
        assert!(
            decoder
                .decode(linktype::ETHERNET, frame, Timestamp::default())
                .is_ok()
        );
        g.bench_function(name, |b| {
            b.iter(|| {
                decoder
                    .decode(linktype::ETHERNET, black_box(frame), Timestamp::default())
                    .map_or(0, |d| d.payload.len())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_dns,
    bench_tls,
    bench_quic,
    bench_http,
    bench_decode
);
criterion_main!(benches);
