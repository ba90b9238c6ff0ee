//! Deterministic generator of large mixed captures for throughput and correctness-at-speed runs.
//!
//! ```text
//! cargo run --release --example gen-mix -- --packets 2400000 --out /tmp/mix.pcap [--seed S]
//! cargo run --release --example gen-mix -- --bytes 2G --out /tmp/mix.pcap
//! ```
//!
//! Writes a classic pcap (Ethernet, microsecond timestamps) with an enterprise-like mix, by
//! packet count roughly: 57 % bulk TCP data in full-size segments (1448-byte payloads, on
//! long-lived flows that open with a 3-way handshake), 29 % pure ACKs, 7 % DNS queries and
//! answers (CNAME + A/AAAA) for many random names, a few % other UDP (QUIC short-header data,
//! NTP), QUIC-looking UDP/443 Initials (random bytes), TLS sessions (handshake, a ClientHello in
//! one segment or, for a post-quantum sized hello, split over two segments with the SNI in the
//! second), HTTP/1.1 requests, and GRE- and VXLAN-tunneled DNS and TLS. About 15 % of flows are
//! 802.1Q tagged and 10 % use IPv6.
//!
//! A few of the names are Kaspersky's (hosts of `signatures/kaspersky.toml`). Every packet that
//! carries one is an *observation*, listed in the sidecar `FILE.planted.tsv` as
//! `frame<TAB>kind<TAB>name<TAB>note` (frame = 1-based packet number = EVE `pcap_cnt`), and the
//! count per kind is printed on stderr, so a scan of the file can be checked at speed:
//!
//! | kind            | what                                              | found by vendorwatch once |
//! |-----------------|---------------------------------------------------|---------------------------|
//! | `dns-query`     | question name of a DNS query or response          | now                       |
//! | `tls-sni`       | SNI of a ClientHello in one TCP segment           | now                       |
//! | `tls-sni-split` | SNI in the 2nd segment of a 2-segment ClientHello | the flow layer lands      |
//! | `http-host`     | `Host:` of an HTTP/1.1 request                    | proto/http lands          |
//! | `tunneled`      | DNS question or SNI inside GRE or VXLAN           | tunnel decoding lands     |
//!
//! Random names are drawn from fixed non-Kaspersky base domains, so any alert on a frame not in
//! the sidecar is a false positive. Same seed and options give the same bytes. The file is
//! streamed through a buffered writer: memory stays flat whatever the size.
//!
//! The file is also compiled as a module by `tests/gen_mix.rs`, which scans a small mix
//! in memory; the entry point for that is the public [`generate`].

#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vw_craft::dns::{Dns, Rdata};
use vw_craft::tls::{CHROMIUM_CIPHERS, ClientHello};
use vw_craft::{
    ACK, DF, ETH_IPV4, ETH_IPV6, ETH_VLAN, FIN, Ipv4, Ipv6, PSH, SYN, Tcp, eth, gre, http,
    set_l4_checksum, udp,
};

/// 2024-10-01T12:00:00Z as Unix seconds.
const T0_SECS: u64 = 1_727_784_000;

/// Full-size TCP payload on a 1500-byte MTU path with timestamps off (1500 - 20 - 20 - 12 ...):
/// the common 1448 of Linux senders.
pub const MSS: usize = 1448;

/// Kaspersky names planted (all under the pack's rules).
pub const KASPERSKY_NAMES: &[&str] = &[
    "s05.upd.kaspersky.com",
    "dnl-03.geo.kaspersky.com",
    "dc1.ksn.kaspersky-labs.com",
    "activation-v2.kaspersky.com",
    "ds.kaspersky.com",
    "ksn-file-geo.kaspersky-labs.com",
];

/// Base domains of the random names: none is, or is under, a Kaspersky domain.
const BASES: &[&str] = &[
    "example.com",
    "contoso.net",
    "office365.com",
    "azureedge.net",
    "cloudfront.net",
    "akamaiedge.net",
    "googleapis.com",
    "fabrikam.org",
    "corp.internal",
    "slack-edge.com",
];

/// Observation kinds, in the order they are reported.
pub const KINDS: [&str; 5] = [
    "dns-query",
    "tls-sni",
    "tls-sni-split",
    "http-host",
    "tunneled",
];

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Stop after this many packets.
    pub packets: u64,
    /// Stop once this many bytes are written (file size), whichever comes first.
    pub bytes: u64,
    /// Seed of the generator.
    pub seed: u64,
}

/// What was generated.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Packets written.
    pub packets: u64,
    /// File size in bytes.
    pub file_bytes: u64,
    /// Sum of packet lengths.
    pub packet_bytes: u64,
    /// Packets per traffic class (see [`CLASSES`]).
    pub classes: [u64; CLASSES.len()],
    /// Planted observations per kind (see [`KINDS`]).
    pub planted: [u64; KINDS.len()],
}

/// Traffic classes counted in the summary.
pub const CLASSES: [&str; 11] = [
    "tcp-data",
    "tcp-ack",
    "tcp-ctl",
    "dns",
    "udp-other",
    "quic-initial",
    "tls-hello",
    "http",
    "gre",
    "vxlan",
    "vlan-tagged",
];
const C_DATA: usize = 0;
const C_ACK: usize = 1;
const C_CTL: usize = 2;
const C_DNS: usize = 3;
const C_UDP: usize = 4;
const C_QUIC: usize = 5;
const C_TLS: usize = 6;
const C_HTTP: usize = 7;
const C_GRE: usize = 8;
const C_VXLAN: usize = 9;
const C_VLAN: usize = 10;

const K_DNS: usize = 0;
const K_SNI: usize = 1;
const K_SNI_SPLIT: usize = 2;
const K_HTTP: usize = 3;
const K_TUNNEL: usize = 4;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = Config {
        packets: u64::MAX,
        bytes: u64::MAX,
        seed: 0x5eed_0009,
    };
    let mut out: Option<String> = None;
    let mut i = 0;
    let usage = "usage: gen-mix (--packets N | --bytes SIZE[K|M|G]) --out FILE [--seed S]";
    while i < args.len() {
        let val = args.get(i + 1).cloned();
        let need = |v: Option<String>| {
            v.unwrap_or_else(|| {
                eprintln!("{usage}");
                std::process::exit(2)
            })
        };
        match args[i].as_str() {
            "--packets" => cfg.packets = parse_size(&need(val)),
            "--bytes" => cfg.bytes = parse_size(&need(val)),
            "--seed" => cfg.seed = parse_size(&need(val)),
            "--out" => out = Some(need(val)),
            "-h" | "--help" => {
                println!("{usage}");
                return;
            }
            other => {
                eprintln!("gen-mix: unknown argument {other}\n{usage}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let Some(out) = out else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    if cfg.packets == u64::MAX && cfg.bytes == u64::MAX {
        eprintln!("gen-mix: give --packets or --bytes\n{usage}");
        std::process::exit(2);
    }
    let started = std::time::Instant::now();
    let res = (|| -> io::Result<Summary> {
        let pcap = BufWriter::with_capacity(1 << 20, File::create(&out)?);
        let tsv = BufWriter::new(File::create(format!("{out}.planted.tsv"))?);
        generate(&cfg, pcap, tsv)
    })();
    let s = match res {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gen-mix: {out}: {e}");
            std::process::exit(1);
        }
    };
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "gen-mix: wrote {out}: {} packets, {} bytes ({:.1} MB/s), seed {:#x}",
        s.packets,
        s.file_bytes,
        s.file_bytes as f64 / secs / 1e6,
        cfg.seed
    );
    let classes: Vec<String> = CLASSES
        .iter()
        .zip(s.classes)
        .map(|(c, n)| format!("{c}={n}"))
        .collect();
    eprintln!("gen-mix: packets by class: {}", classes.join(" "));
    let total: u64 = s.planted.iter().sum();
    eprintln!("gen-mix: planted Kaspersky observations: {total} (sidecar {out}.planted.tsv)");
    for (k, n) in KINDS.iter().zip(s.planted) {
        eprintln!("gen-mix:   {k:<14} {n}");
    }
}

/// `123`, `0x7b`, `4K`, `200M`, `2G` (binary multiples).
fn parse_size(s: &str) -> u64 {
    let (num, mul) = match s.chars().last().map(|c| c.to_ascii_uppercase()) {
        Some('K') => (&s[..s.len() - 1], 1u64 << 10),
        Some('M') => (&s[..s.len() - 1], 1 << 20),
        Some('G') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n = match num.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => num.parse(),
    };
    match n {
        Ok(n) => n.saturating_mul(mul),
        Err(_) => {
            eprintln!("gen-mix: bad number {s}");
            std::process::exit(2)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Randomness

/// xorshift64*: fast, deterministic, good enough for traffic shapes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in 0..n.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next() >> 32) * u128::from(n)) >> 32) as u64
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn u16(&mut self) -> u16 {
        (self.next() >> 48) as u16
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn port(&mut self) -> u16 {
        32768 + (self.u16() % 28000)
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
    fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        for _ in 0..n {
            out.push(self.byte());
        }
    }
    /// A random DNS label of lowercase letters and digits.
    fn label(&mut self, out: &mut String, min: u64, max: u64) {
        const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let n = min + self.below(max - min + 1);
        for i in 0..n {
            let set = if i == 0 { 26 } else { ALPHA.len() as u64 };
            out.push(ALPHA[self.below(set) as usize] as char);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Packet building

/// One direction of a flow.
#[derive(Debug, Clone, Copy)]
struct Ep {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    vlan: Option<u16>,
}

impl Ep {
    fn reverse(self) -> Ep {
        Ep {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            vlan: self.vlan,
        }
    }
}

fn mac(a: IpAddr) -> [u8; 6] {
    let o = match a {
        IpAddr::V4(v) => v.octets(),
        IpAddr::V6(v) => {
            let b = v.octets();
            [b[12], b[13], b[14], b[15]]
        }
    };
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

/// Ethernet (MACs from the addresses, an 802.1Q tag with `vlan`) around an IP packet.
fn ether(src: IpAddr, dst: IpAddr, vlan: Option<u16>, ip: &[u8]) -> Vec<u8> {
    let et = if src.is_ipv4() { ETH_IPV4 } else { ETH_IPV6 };
    match vlan {
        Some(id) => eth(
            mac(src),
            mac(dst),
            ETH_VLAN,
            &vw_craft::vlan(id & 0x0fff, et, ip),
        ),
        None => eth(mac(src), mac(dst), et, ip),
    }
}

/// An IPv4 (DF on TCP) or IPv6 (flow label `ident`) header around `l4` of protocol `proto`.
fn ip(src: IpAddr, dst: IpAddr, proto: u8, ident: u16, l4: &[u8]) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ipv4 {
            id: ident,
            frag: if proto == 6 { DF } else { 0 },
            ..Ipv4::new(s, d, proto)
        }
        .build(l4),
        (IpAddr::V6(s), IpAddr::V6(d)) => Ipv6 {
            flow_label: u32::from(ident),
            ..Ipv6::new(s, d, proto)
        }
        .build(l4),
        _ => unreachable!("mixed address families"),
    }
}

/// IP + TCP (window 502, checksum) + payload, no link header.
fn ip_tcp(ep: &Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut seg = Tcp {
        window: 502,
        ..Tcp::new(ep.sport, ep.dport, seq, ack, flags)
    }
    .build(payload);
    set_l4_checksum(ep.src, ep.dst, 6, &mut seg);
    ip(ep.src, ep.dst, 6, seq as u16, &seg)
}

/// IP + UDP (checksum) + payload, no link header.
fn ip_udp(ep: &Ep, ident: u16, payload: &[u8]) -> Vec<u8> {
    let mut seg = udp(ep.sport, ep.dport, payload);
    set_l4_checksum(ep.src, ep.dst, 17, &mut seg);
    ip(ep.src, ep.dst, 17, ident, &seg)
}

/// A full TCP frame for `ep`.
fn tcp_frame(ep: &Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    ether(
        ep.src,
        ep.dst,
        ep.vlan,
        &ip_tcp(ep, seq, ack, flags, payload),
    )
}

// ---------------------------------------------------------------------------------------------
// Application payloads

/// A query for `name` with an EDNS0 OPT record.
pub fn dns_query(out: &mut Vec<u8>, id: u16, name: &str, qtype: u16) {
    out.extend_from_slice(&Dns::query(id).question(name, qtype).opt().build());
}

/// Response: question, CNAME to `cname`, then `n_addr` A or AAAA records for the CNAME.
pub fn dns_response(
    out: &mut Vec<u8>,
    id: u16,
    name: &str,
    qtype: u16,
    cname: &str,
    rng: &mut Rng,
) {
    let n_addr = 1 + rng.below(3);
    let ttl = 60 + rng.below(3000) as u32;
    let mut m = Dns::response(id)
        .whole_name_pointers()
        .question(name, qtype)
        .answer(name, ttl, Rdata::Cname(cname));
    for _ in 0..n_addr {
        let ttl = 20 + rng.below(300) as u32;
        let rdata = if qtype == 28 {
            let mut a = [
                0x20, 0x01, 0x0d, 0xb8, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ];
            for b in &mut a[6..] {
                *b = rng.byte();
            }
            Rdata::Aaaa(a)
        } else {
            // TEST-NET-2/3 answers: outside every address rule.
            let [a, b, c] = if rng.chance(500) {
                [198, 51, 100]
            } else {
                [203, 0, 113]
            };
            Rdata::A([a, b, c, rng.below(254) as u8 + 1])
        };
        m = m.answer(cname, ttl, rdata);
    }
    out.extend_from_slice(&m.build());
}

fn grease(rng: &mut Rng) -> u16 {
    let n = rng.below(16) as u16;
    (n << 12) | 0x0a00 | (n << 4) | 0x000a
}

/// A Chrome-like TLS 1.3 ClientHello record. `pq` adds an X25519MLKEM768 key share (1216
/// bytes), which makes the hello larger than one segment; the SNI then goes last so it lands in
/// the second segment. Otherwise the hello is padded to 517 bytes like Chrome's.
pub fn client_hello(out: &mut Vec<u8>, sni: &str, pq: bool, rng: &mut Rng) {
    // The random parts, in the order the generator has always drawn them.
    let g_ext = grease(rng);
    let g_share = grease(rng);
    let mut mlkem = Vec::new();
    if pq {
        rng.fill(&mut mlkem, 1216);
    }
    let mut x25519 = Vec::with_capacity(32);
    rng.fill(&mut x25519, 32);
    let g_ver = grease(rng);
    let g_last = grease(rng);
    let mut random = [0u8; 32];
    random.fill_with(|| rng.byte());
    let mut session_id = Vec::with_capacity(32);
    rng.fill(&mut session_id, 32);
    let g_cipher = grease(rng);

    let mut shares: Vec<(u16, &[u8])> = vec![(g_share, &[0])];
    if pq {
        shares.push((0x11ec, &mlkem));
    }
    shares.push((0x001d, &x25519));
    let mut hello = ClientHello::new()
        .random(random)
        .session_id(&session_id)
        .ciphers(&[&[g_cipher][..], &CHROMIUM_CIPHERS].concat())
        .ext(g_ext, &[]);
    if !pq {
        hello = hello.sni(sni);
    }
    hello = hello
        .chromium_extensions(&[0x11ec, 0x001d, 0x0017, 0x0018])
        .key_share(&shares)
        .ext(0x002d, &[1, 1]) // psk_key_exchange_modes
        .versions(&[g_ver, 0x0304, 0x0303]);
    if pq {
        hello = hello.sni(sni);
    }
    hello = hello.ext(g_last, &[0]);
    if !pq {
        // A 512-byte hello body.
        hello = hello.pad_to(4 + 512);
    }
    out.extend_from_slice(&hello.record());
}

// ---------------------------------------------------------------------------------------------
// The generator

/// A long-lived bulk TCP flow (client = `ep.src`).
struct Bulk {
    ep: Ep,
    /// Next sequence numbers of client and server.
    cseq: u32,
    sseq: u32,
    /// Server sends (download) or client sends (upload).
    download: bool,
    /// Data segments left before the flow closes.
    left: u32,
    opened: bool,
}

struct Gen<W: Write, T: Write> {
    cfg: Config,
    rng: Rng,
    pcap: W,
    tsv: T,
    sum: Summary,
    /// Capture clock in nanoseconds since T0.
    clock_ns: u64,
    /// Random bytes the bulk payloads are sliced from.
    pool: Vec<u8>,
    frame: Vec<u8>,
    app: Vec<u8>,
    bulk: Vec<Bulk>,
    names: String,
}

/// Writes a pcap of the mix described in the module docs to `pcap` and the planted
/// observations to `tsv`.
pub fn generate<W: Write, T: Write>(cfg: &Config, pcap: W, tsv: T) -> io::Result<Summary> {
    let mut rng = Rng::new(cfg.seed);
    let mut pool = Vec::with_capacity(1 << 20);
    rng.fill(&mut pool, 1 << 20);
    let mut g = Gen {
        cfg: cfg.clone(),
        rng,
        pcap,
        tsv,
        sum: Summary::default(),
        clock_ns: 0,
        pool,
        frame: Vec::new(),
        app: Vec::with_capacity(4096),
        bulk: Vec::new(),
        names: String::new(),
    };
    // pcap header: usec, snaplen 262144, Ethernet.
    let mut hdr = Vec::with_capacity(24);
    hdr.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    hdr.extend_from_slice(&2u16.to_le_bytes());
    hdr.extend_from_slice(&4u16.to_le_bytes());
    hdr.extend_from_slice(&[0; 8]);
    hdr.extend_from_slice(&262_144u32.to_le_bytes());
    hdr.extend_from_slice(&1u32.to_le_bytes());
    g.pcap.write_all(&hdr)?;
    g.sum.file_bytes = 24;
    g.tsv
        .write_all(b"# frame\tkind\tname\tnote (gen-mix planted Kaspersky observations)\n")?;
    for _ in 0..48 {
        let b = g.new_bulk();
        g.bulk.push(b);
    }
    while !g.done() {
        g.step()?;
    }
    g.pcap.flush()?;
    g.tsv.flush()?;
    Ok(g.sum)
}

impl<W: Write, T: Write> Gen<W, T> {
    fn done(&self) -> bool {
        self.sum.packets >= self.cfg.packets || self.sum.file_bytes >= self.cfg.bytes
    }

    /// Writes `self.frame` as the next packet. Returns its frame number, or None once the
    /// target is reached (nothing written).
    fn emit(&mut self, class: usize) -> io::Result<Option<u64>> {
        if self.done() {
            return Ok(None);
        }
        let len = self.frame.len() as u64;
        // 1 Gbit/s line rate plus a little idle time: 8 ns per byte.
        self.clock_ns += (len + 24) * 8 + self.rng.below(400);
        let secs = T0_SECS + self.clock_ns / 1_000_000_000;
        let usecs = (self.clock_ns % 1_000_000_000) / 1000;
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&(secs as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&(usecs as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        rec[12..16].copy_from_slice(&(len as u32).to_le_bytes());
        self.pcap.write_all(&rec)?;
        self.pcap.write_all(&self.frame)?;
        self.sum.packets += 1;
        self.sum.file_bytes += 16 + len;
        self.sum.packet_bytes += len;
        self.sum.classes[class] += 1;
        // An Ethernet frame with an 802.1Q tag right after the MACs.
        if self.frame.get(12..14) == Some(&[0x81, 0x00][..]) {
            self.sum.classes[C_VLAN] += 1;
        }
        Ok(Some(self.sum.packets))
    }

    fn plant(&mut self, frame: Option<u64>, kind: usize, name: &str, note: &str) -> io::Result<()> {
        if let Some(f) = frame {
            self.sum.planted[kind] += 1;
            writeln!(self.tsv, "{f}\t{}\t{name}\t{note}", KINDS[kind])?;
        }
        Ok(())
    }

    /// A client/server pair: 10.x clients, public-looking servers; 10 % IPv6; 15 % tagged.
    fn endpoints(&mut self, dport: u16) -> Ep {
        let r = &mut self.rng;
        let (src, dst) = if r.chance(100) {
            let c = Ipv6Addr::new(0x2001, 0xdb8, 0x10, 0, 0, 0, r.u16() % 512, r.u16());
            let s = Ipv6Addr::new(0x2001, 0xdb8, 0xbeef, r.u16() % 64, 0, 0, 0, r.u16());
            (IpAddr::V6(c), IpAddr::V6(s))
        } else {
            let c = Ipv4Addr::new(
                10,
                (r.below(4)) as u8,
                r.below(256) as u8,
                1 + r.below(250) as u8,
            );
            // 100.64/10-ish servers, far from every vendor prefix.
            let s = Ipv4Addr::new(
                100,
                64 + r.below(64) as u8,
                r.below(256) as u8,
                1 + r.below(250) as u8,
            );
            (IpAddr::V4(c), IpAddr::V4(s))
        };
        let vlan = if r.chance(150) {
            Some(*r.pick(&[10u16, 20, 100, 200, 310]))
        } else {
            None
        };
        Ep {
            src,
            dst,
            sport: r.port(),
            dport,
            vlan,
        }
    }

    fn new_bulk(&mut self) -> Bulk {
        let dport = *self.rng.pick(&[443u16, 443, 443, 445, 80, 22, 8443, 3260]);
        let ep = self.endpoints(dport);
        Bulk {
            ep,
            cseq: self.rng.u32(),
            sseq: self.rng.u32(),
            download: self.rng.chance(800),
            left: 200 + self.rng.below(20_000) as u32,
            opened: false,
        }
    }

    /// Builds a full TCP frame for `ep` into `self.frame`.
    fn tcp_frame(&mut self, ep: &Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.frame = tcp_frame(ep, seq, ack, flags, payload);
    }

    fn udp_frame(&mut self, ep: &Ep, payload: &[u8]) {
        let ident = self.rng.u16();
        self.frame = ether(ep.src, ep.dst, ep.vlan, &ip_udp(ep, ident, payload));
    }

    /// One step of the mix; see the module docs for the proportions.
    fn step(&mut self) -> io::Result<()> {
        let r = self.rng.below(1000);
        match r {
            0..800 => self.bulk_step(),
            800..900 => self.dns_transaction(),
            900..960 => self.other_udp(),
            960..970 => self.quic_initial(),
            970..982 => self.tls_session(),
            982..987 => self.http_session(),
            _ => self.tunneled(),
        }
    }

    /// Two full-size data segments and one ACK back on a random bulk flow.
    fn bulk_step(&mut self) -> io::Result<()> {
        let i = self.rng.below(self.bulk.len() as u64) as usize;
        let (ep, mut cseq, mut sseq, download, opened) = {
            let b = &self.bulk[i];
            (b.ep, b.cseq, b.sseq, b.download, b.opened)
        };
        if !opened {
            self.handshake(&ep, &mut cseq, &mut sseq)?;
        }
        let data_ep = if download { ep.reverse() } else { ep };
        let (mut seq, ack) = if download { (sseq, cseq) } else { (cseq, sseq) };
        for _ in 0..2 {
            let off = self.rng.below((self.pool.len() - MSS) as u64) as usize;
            self.frame = tcp_frame(&data_ep, seq, ack, ACK, &self.pool[off..off + MSS]);
            self.emit(C_DATA)?;
            seq = seq.wrapping_add(MSS as u32);
        }
        self.tcp_frame(&data_ep.reverse(), ack, seq, ACK, &[]);
        self.emit(C_ACK)?;
        if download {
            sseq = seq;
        } else {
            cseq = seq;
        }
        let b = &mut self.bulk[i];
        b.cseq = cseq;
        b.sseq = sseq;
        b.opened = true;
        b.left = b.left.saturating_sub(2);
        if b.left == 0 {
            // FIN from the sender, FIN+ACK back; then a fresh flow takes the slot.
            self.tcp_frame(&data_ep, seq, ack, FIN | ACK, &[]);
            self.emit(C_CTL)?;
            self.tcp_frame(&data_ep.reverse(), ack, seq.wrapping_add(1), FIN | ACK, &[]);
            self.emit(C_CTL)?;
            self.bulk[i] = self.new_bulk();
        }
        Ok(())
    }

    /// SYN, SYN-ACK, ACK; advances both sequence numbers past the SYNs.
    fn handshake(&mut self, ep: &Ep, cseq: &mut u32, sseq: &mut u32) -> io::Result<()> {
        self.tcp_frame(ep, *cseq, 0, SYN, &[]);
        self.emit(C_CTL)?;
        *cseq = cseq.wrapping_add(1);
        self.tcp_frame(&ep.reverse(), *sseq, *cseq, SYN | ACK, &[]);
        self.emit(C_CTL)?;
        *sseq = sseq.wrapping_add(1);
        self.tcp_frame(ep, *cseq, *sseq, ACK, &[]);
        self.emit(C_CTL)?;
        Ok(())
    }

    /// A random name under one of the base domains: 1-3 labels.
    fn random_name(&mut self) -> String {
        let mut n = String::with_capacity(48);
        let labels = 1 + self.rng.below(3);
        for _ in 0..labels {
            self.rng.label(&mut n, 2, 12);
            n.push('.');
        }
        let base = BASES[self.rng.below(BASES.len() as u64) as usize];
        n.push_str(base);
        n
    }

    /// Query and response; 1 % ask for a Kaspersky name (both packets are observations).
    fn dns_transaction(&mut self) -> io::Result<()> {
        let kasp = self.rng.chance(10);
        let name = if kasp {
            (*self.rng.pick(KASPERSKY_NAMES)).to_string()
        } else {
            self.random_name()
        };
        let mut ep = self.endpoints(53);
        // Clients ask the internal resolvers.
        if ep.src.is_ipv4() {
            ep.dst = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53 + self.rng.below(2) as u8));
        }
        let id = self.rng.u16();
        let qtype = if self.rng.chance(300) { 28 } else { 1 };
        let mut app = std::mem::take(&mut self.app);
        app.clear();
        dns_query(&mut app, id, &name, qtype);
        self.udp_frame(&ep, &app);
        let f = self.emit(C_DNS)?;
        if kasp {
            self.plant(f, K_DNS, &name, vlan_note(&ep))?;
        }
        app.clear();
        let cname = format!("{}.edge.{}", name.replace('.', "-"), "cdn-example.net");
        dns_response(&mut app, id, &name, qtype, &cname, &mut self.rng);
        self.udp_frame(&ep.reverse(), &app);
        let f = self.emit(C_DNS)?;
        if kasp {
            self.plant(f, K_DNS, &name, vlan_note(&ep))?;
        }
        self.app = app;
        Ok(())
    }

    /// QUIC short-header data (UDP/443) or NTP.
    fn other_udp(&mut self) -> io::Result<()> {
        let mut app = std::mem::take(&mut self.app);
        app.clear();
        let ep = if self.rng.chance(800) {
            let ep = self.endpoints(443);
            app.push(0x40 | (self.rng.below(64) as u8));
            let n = 200 + self.rng.below(1050) as usize;
            self.rng.fill(&mut app, n);
            ep
        } else {
            let ep = self.endpoints(123);
            app.extend_from_slice(&[0x23, 0, 6, 0xec]);
            self.rng.fill(&mut app, 44);
            ep
        };
        self.udp_frame(&ep, &app);
        self.app = app;
        self.emit(C_UDP)?;
        Ok(())
    }

    /// A QUIC v1 Initial-looking datagram to UDP/443: real long header, random protected
    /// payload, padded to 1250 bytes.
    fn quic_initial(&mut self) -> io::Result<()> {
        let mut app = std::mem::take(&mut self.app);
        app.clear();
        let ep = self.endpoints(443);
        app.push(0xc3);
        app.extend_from_slice(&1u32.to_be_bytes());
        app.push(8);
        self.rng.fill(&mut app, 8);
        app.push(0);
        app.push(0); // token length
        let rest = 1250 - app.len() - 2;
        app.extend_from_slice(&(0x4000 | rest as u16).to_be_bytes());
        self.rng.fill(&mut app, rest);
        self.udp_frame(&ep, &app);
        self.app = app;
        self.emit(C_QUIC)?;
        Ok(())
    }

    /// Handshake, ClientHello (one segment, or two for a post-quantum sized hello), ACK.
    fn tls_session(&mut self) -> io::Result<()> {
        let kasp = self.rng.chance(30);
        let name = if kasp {
            (*self.rng.pick(KASPERSKY_NAMES)).to_string()
        } else {
            self.random_name()
        };
        let split = self.rng.chance(150);
        let ep = self.endpoints(443);
        let (mut cseq, mut sseq) = (self.rng.u32(), self.rng.u32());
        self.handshake(&ep, &mut cseq, &mut sseq)?;
        let mut app = std::mem::take(&mut self.app);
        app.clear();
        client_hello(&mut app, &name, split, &mut self.rng);
        if split {
            let (a, b) = app.split_at(MSS.min(app.len() - 1));
            self.tcp_frame(&ep, cseq, sseq, ACK, a);
            self.emit(C_TLS)?;
            self.tcp_frame(&ep, cseq.wrapping_add(a.len() as u32), sseq, PSH | ACK, b);
            let f = self.emit(C_TLS)?;
            if kasp {
                self.plant(f, K_SNI_SPLIT, &name, vlan_note(&ep))?;
            }
        } else {
            self.tcp_frame(&ep, cseq, sseq, PSH | ACK, &app);
            let f = self.emit(C_TLS)?;
            if kasp {
                self.plant(f, K_SNI, &name, vlan_note(&ep))?;
            }
        }
        let end = cseq.wrapping_add(app.len() as u32);
        self.app = app;
        self.tcp_frame(&ep.reverse(), sseq, end, ACK, &[]);
        self.emit(C_ACK)?;
        Ok(())
    }

    /// Handshake, GET with a Host header, a short response, ACK.
    fn http_session(&mut self) -> io::Result<()> {
        let kasp = self.rng.chance(50);
        let name = if kasp {
            (*self.rng.pick(KASPERSKY_NAMES)).to_string()
        } else {
            self.random_name()
        };
        let ep = self.endpoints(80);
        let (mut cseq, mut sseq) = (self.rng.u32(), self.rng.u32());
        self.handshake(&ep, &mut cseq, &mut sseq)?;
        let path = if kasp {
            "/diffs/bases/av/kdb/i386/kdb-i386-0607g.xml.dif"
        } else {
            "/index.html"
        };
        let req = http::request(
            "GET",
            path,
            &[
                ("Host", &name),
                ("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"),
                ("Accept", "*/*"),
                ("Connection", "keep-alive"),
            ],
        );
        self.tcp_frame(&ep, cseq, sseq, PSH | ACK, &req);
        let f = self.emit(C_HTTP)?;
        if kasp {
            self.plant(f, K_HTTP, &name, vlan_note(&ep))?;
        }
        let cend = cseq.wrapping_add(req.len() as u32);
        let resp = b"HTTP/1.1 304 Not Modified\r\nServer: nginx\r\nETag: \"5f1a\"\r\nConnection: keep-alive\r\n\r\n";
        self.tcp_frame(&ep.reverse(), sseq, cend, PSH | ACK, resp);
        self.emit(C_HTTP)?;
        let send = sseq.wrapping_add(resp.len() as u32);
        self.tcp_frame(&ep, cend, send, ACK, &[]);
        self.emit(C_ACK)?;
        Ok(())
    }

    /// A DNS query or a ClientHello inside GRE (IPv4 in GRE) or VXLAN (Ethernet in UDP/4789)
    /// between two sites; 10 % carry a Kaspersky name.
    fn tunneled(&mut self) -> io::Result<()> {
        let kasp = self.rng.chance(100);
        let name = if kasp {
            (*self.rng.pick(KASPERSKY_NAMES)).to_string()
        } else {
            self.random_name()
        };
        let dns = self.rng.chance(600);
        let mut inner_ep = self.endpoints(if dns { 53 } else { 443 });
        if !inner_ep.src.is_ipv4() {
            inner_ep.src = IpAddr::V4(Ipv4Addr::new(10, 9, 0, 7));
            inner_ep.dst = IpAddr::V4(Ipv4Addr::new(100, 64, 9, 9));
        }
        inner_ep.vlan = None;
        let mut app = std::mem::take(&mut self.app);
        app.clear();
        if dns {
            dns_query(&mut app, self.rng.u16(), &name, 1);
        } else {
            client_hello(&mut app, &name, false, &mut self.rng);
        }
        let vxlan = self.rng.chance(500);
        let inner_ip = if dns {
            ip_udp(&inner_ep, self.rng.u16(), &app)
        } else {
            let seq = self.rng.u32();
            let ack = self.rng.u32();
            ip_tcp(&inner_ep, seq, ack, PSH | ACK, &app)
        };
        self.app = app;
        let site_a = IpAddr::V4(Ipv4Addr::new(192, 168, 250, 1));
        let site_b = IpAddr::V4(Ipv4Addr::new(192, 168, 251, 1 + self.rng.below(8) as u8));
        let (outer, class) = if vxlan {
            let inner = ether(inner_ep.src, inner_ep.dst, None, &inner_ip);
            let ep = Ep {
                src: site_a,
                dst: site_b,
                sport: 49152 + self.rng.below(16000) as u16,
                dport: 4789,
                vlan: None,
            };
            (
                ip_udp(&ep, self.rng.u16(), &vw_craft::vxlan(5001, &inner)),
                C_VXLAN,
            )
        } else {
            let ident = self.rng.u16();
            let payload = gre(0, ETH_IPV4, &inner_ip);
            (ip(site_a, site_b, 47, ident, &payload), C_GRE)
        };
        self.frame = ether(site_a, site_b, None, &outer);
        let f = self.emit(class)?;
        if kasp {
            let note = match (class == C_VXLAN, dns) {
                (true, true) => "vxlan-dns",
                (true, false) => "vxlan-tls",
                (false, true) => "gre-dns",
                (false, false) => "gre-tls",
            };
            self.plant(f, K_TUNNEL, &name, note)?;
        }
        Ok(())
    }
}

fn vlan_note(ep: &Ep) -> &'static str {
    match (ep.vlan.is_some(), ep.src.is_ipv4()) {
        (true, true) => "vlan",
        (true, false) => "vlan,ipv6",
        (false, true) => "-",
        (false, false) => "ipv6",
    }
}
