//! Deterministic generator of the small sample captures in `pcaps/`.
//!
//! ```text
//! cargo run --example gen-samples -- pcaps/
//! ```
//!
//! Writes `kaspersky-dns.pcap`, `kaspersky-tls.pcapng`, `benign-decoys.pcap`,
//! `loopback-mixed.pcap`, `covered-vendors.pcap` (the other FCC Covered List vendors' main
//! channels and the intel's decoys, one client host per vendor) and `EXPECTED.tsv` (one row
//! per planted name, with the pack id that must report it) into the given directory.
//!
//! Only `std` and `vw-craft` (the test packet builders, which depend on nothing) are used, and
//! nothing from the vendorwatch library, so the samples do not depend on the code they test.
//! Every frame is built layer by layer: link layer (Ethernet with and without 802.1Q, raw IPv4,
//! Linux SLL and SLL2, BSD null), IPv4 (header checksum) and IPv6, UDP and TCP (pseudo-header
//! checksums, 3-way handshake, correct sequence numbers), DNS (compression pointers, CNAME
//! chains, 0x20 mixed case, EDNS0) and TLS 1.3-style ClientHellos (GREASE, SNI, ALPN,
//! supported_versions, key_share). Timestamps start at 2024-10-01T12:00:00Z and all
//! "random" bytes come from a fixed-seed xorshift, so two runs give identical bytes.
//!
//! The file is also compiled as a module by `tests/samples.rs` (determinism check), so the
//! entry point for that is the public [`generate`].

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::Path;

use vw_craft::dns::{Dns, Rdata};
use vw_craft::tls::{CHROMIUM_CIPHERS, ClientHello};
use vw_craft::{
    ACK, DF, ETH_IPV4, ETH_IPV6, ETH_VLAN, Ipv4, Ipv6, PSH, SYN, Tcp, eth, http, set_l4_checksum,
    sll, sll2,
};

/// 2024-10-01T12:00:00Z as Unix seconds.
const T0_SECS: u64 = 1_727_784_000;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "pcaps".to_string());
    match generate(Path::new(&dir)) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", Path::new(&dir).join(f).display());
            }
        }
        Err(e) => {
            eprintln!("gen-samples: {dir}: {e}");
            std::process::exit(1);
        }
    }
}

/// Writes all sample files into `dir` (created if missing) and returns their file names.
pub fn generate(dir: &Path) -> io::Result<Vec<String>> {
    fs::create_dir_all(dir)?;
    let caps = [
        kaspersky_dns(),
        kaspersky_tls(),
        benign_decoys(),
        loopback_mixed(),
        covered_vendors(),
        ultraav_migration(),
    ];
    let mut names = Vec::new();
    let mut tsv = String::from("# file\tframe\tkind\tname\tshould_alert\tnote\tvendor\n");
    for cap in &caps {
        fs::write(dir.join(&cap.name), cap.serialize())?;
        names.push(cap.name.clone());
        for r in &cap.rows {
            let _ = writeln!(
                tsv,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                cap.name,
                r.frame,
                r.kind,
                r.name,
                if r.alert { "yes" } else { "no" },
                r.note,
                r.vendor
            );
        }
    }
    fs::write(dir.join("EXPECTED.tsv"), tsv)?;
    names.push("EXPECTED.tsv".to_string());
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// Deterministic "randomness"

/// xorshift64* with a fixed seed per file.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn u16(&mut self) -> u16 {
        (self.next() >> 48) as u16
    }
    fn u32(&mut self) -> u32 {
        (self.next() >> 32) as u32
    }
    fn port(&mut self) -> u16 {
        49152 + (self.u16() % 16000)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
    /// One of the 16 GREASE values 0x?a?a (RFC 8701).
    fn grease(&mut self) -> u16 {
        let n = (self.next() >> 60) as u16;
        (n << 12) | 0x0a00 | (n << 4) | 0x000a
    }
}

// ---------------------------------------------------------------------------------------------
// Expected observations

/// Should a name alert? Kaspersky's registrable domains `kaspersky.com` and
/// `kaspersky-labs.com` and every name below them (the pack's catch-alls, intel row 65);
/// anything else, including look-alikes that merely contain the string, must not.
fn is_kaspersky(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    ["kaspersky.com", "kaspersky-labs.com"]
        .iter()
        .any(|d| n == *d || n.ends_with(&format!(".{d}")))
}

struct Row {
    frame: usize,
    kind: &'static str,
    name: String,
    alert: bool,
    /// `-`, or `out-of-scope:...` for a name the scanner must neither alert on nor log.
    note: &'static str,
    /// Pack id the row belongs to (`-` for names of no vendor); with `alert`, the pack that
    /// must report it, without, a decoy of that vendor.
    vendor: &'static str,
}

// ---------------------------------------------------------------------------------------------
// IP, UDP, TCP

fn ip(a: &str) -> IpAddr {
    a.parse().expect("valid address literal")
}

/// Wraps an L4 segment in an IPv4 (DF for TCP, as Linux sets it; UDP without) or IPv6 header.
fn ip_packet(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8], ident: u16, ttl: u8) -> Vec<u8> {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => Ipv4 {
            id: ident,
            frag: if proto == 6 { DF } else { 0 },
            ttl,
            ..Ipv4::new(s, d, proto)
        }
        .build(seg),
        // Flow label derived from the identifier so that it is stable per flow.
        (IpAddr::V6(s), IpAddr::V6(d)) => Ipv6 {
            flow_label: (u32::from(ident) * 13) & 0xf_ffff,
            hop_limit: ttl,
            ..Ipv6::new(s, d, proto)
        }
        .build(seg),
        _ => panic!("mixed address families"),
    }
}

/// A UDP datagram with its checksum.
fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = vw_craft::udp(sport, dport, payload);
    set_l4_checksum(src, dst, 17, &mut s);
    s
}

/// A TCP segment with its checksum.
#[allow(clippy::too_many_arguments)]
fn tcp(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut s = Tcp {
        window,
        options,
        ..Tcp::new(sport, dport, seq, ack, flags)
    }
    .build(payload);
    set_l4_checksum(src, dst, 6, &mut s);
    s
}

/// SYN options as Linux sends them, minus timestamps: MSS, NOP, wscale, SACK permitted, NOP NOP.
fn syn_options(mss: u16, wscale: u8) -> Vec<u8> {
    let mut o = vec![2, 4];
    o.extend_from_slice(&mss.to_be_bytes());
    o.extend_from_slice(&[1, 3, 3, wscale, 4, 2, 1, 1]);
    o
}

// ---------------------------------------------------------------------------------------------
// Link layers

#[derive(Clone, Copy)]
enum Link {
    /// Ethernet II, optionally with one 802.1Q tag.
    Eth { vlan: Option<u16> },
    /// No link header (LINKTYPE_IPV4 / LINKTYPE_RAW).
    Raw,
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL, 113).
    Sll,
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2, 276).
    Sll2 { ifindex: u32 },
    /// BSD null/loopback (LINKTYPE_NULL, 0); `v6_family` is 24, 28 or 30 by OS.
    Null { big_endian: bool, v6_family: u32 },
}

impl Link {
    fn linktype(self) -> u32 {
        match self {
            Link::Eth { .. } => 1,
            Link::Raw => 228,
            Link::Sll => 113,
            Link::Sll2 { .. } => 276,
            Link::Null { .. } => 0,
        }
    }
}

const ROUTER_MAC: [u8; 6] = [0x00, 0x00, 0x5e, 0x00, 0x01, 0x0a];

/// Hosts on the local segment (10/8, 2001:db8:0..ff::/48) get a MAC derived from their address;
/// everything else is reached through the router.
fn mac_for(a: IpAddr) -> [u8; 6] {
    let (local, [b0, b1, b2, b3]) = match a {
        IpAddr::V4(v) => (v.octets()[0] == 10, v.octets()),
        IpAddr::V6(v) => {
            let (s, b) = (v.segments(), v.octets());
            let local = s[0] == 0x2001 && s[1] == 0xdb8 && s[2] < 0x100;
            (local, [b[12], b[13], b[14], b[15]])
        }
    };
    if local {
        [0x02, 0x42, b0, b1, b2, b3]
    } else {
        ROUTER_MAC
    }
}

/// Frames an IP packet. `outgoing` = sent by the client side (SLL packet type 4), else 0
/// (to this host); a multicast destination gives packet type 2.
fn frame(link: Link, src: IpAddr, dst: IpAddr, outgoing: bool, pkt: &[u8]) -> Vec<u8> {
    let et = if src.is_ipv4() { ETH_IPV4 } else { ETH_IPV6 };
    let pkttype: u8 = if dst.is_multicast() {
        2
    } else if outgoing {
        4
    } else {
        0
    };
    match link {
        Link::Eth { vlan } => {
            let dmac = match dst {
                IpAddr::V4(d) if d.is_multicast() => {
                    let o = d.octets();
                    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
                }
                _ => mac_for(dst),
            };
            match vlan {
                Some(id) => eth(mac_for(src), dmac, ETH_VLAN, &vw_craft::vlan(id, et, pkt)),
                None => eth(mac_for(src), dmac, et, pkt),
            }
        }
        Link::Raw => pkt.to_vec(),
        Link::Sll => sll(u16::from(pkttype), mac_for(src), et, pkt),
        Link::Sll2 { ifindex } => sll2(ifindex, pkttype, mac_for(src), et, pkt),
        Link::Null {
            big_endian,
            v6_family,
        } => {
            let fam: u32 = if src.is_ipv4() { 2 } else { v6_family };
            let fam = if big_endian {
                fam.to_be_bytes()
            } else {
                fam.to_le_bytes()
            };
            [&fam[..], pkt].concat()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DNS

/// A planted resource record of a response: owner and data.
struct Rr<'a> {
    owner: &'a str,
    ttl: u32,
    rd: Rdata<'a>,
}

/// An AAAA record's address.
fn v6(a: &str) -> [u8; 16] {
    a.parse::<std::net::Ipv6Addr>()
        .expect("v6 literal")
        .octets()
}

// ---------------------------------------------------------------------------------------------
// TLS ClientHello

/// A ClientHello shaped like a current Chromium one, in one TLS record.
fn client_hello(rng: &mut Rng, sni: Option<&str>) -> Vec<u8> {
    let g_cipher = rng.grease();
    let g_ext1 = rng.grease();
    let mut g_ext2 = rng.grease();
    if g_ext2 == g_ext1 {
        g_ext2 ^= 0x1010;
    }
    let g_group = rng.grease();
    let g_ver = rng.grease();
    let mut random = [0u8; 32];
    random.copy_from_slice(&rng.bytes(32));
    let session_id = rng.bytes(32);
    let mut hello = ClientHello::new()
        .random(random)
        .session_id(&session_id)
        .ciphers(&[&[g_cipher][..], &CHROMIUM_CIPHERS].concat())
        .ext(g_ext1, &[]);
    if let Some(name) = sni {
        hello = hello.sni(name);
    }
    hello
        .chromium_extensions(&[g_group, 0x001d, 0x0017, 0x0018])
        .ext(0x0012, &[]) // signed_certificate_timestamp
        .key_share(&[(g_group, &[0]), (0x001d, &rng.bytes(32))])
        .ext(0x002d, &[1, 1]) // psk_key_exchange_modes: psk_dhe_ke
        .versions(&[g_ver, 0x0304, 0x0303])
        .ext(0x001b, &[2, 0, 2]) // compress_certificate: brotli
        .ext(g_ext2, &[0])
        .record()
}

// ---------------------------------------------------------------------------------------------
// Capture files

enum Format {
    /// Classic pcap with one link type.
    Pcap {
        big_endian: bool,
        nanos: bool,
        link: Link,
    },
    /// pcapng (little-endian) with these interfaces: (link, name, tsresol exponent if not 6).
    Pcapng {
        ifaces: Vec<(Link, &'static str, Option<u8>)>,
    },
}

struct Capture {
    name: String,
    format: Format,
    /// (interface index, nanoseconds after T0, bytes, comment)
    frames: Vec<(usize, u64, Vec<u8>, Option<String>)>,
    rows: Vec<Row>,
    clock_ns: u64,
    rng: Rng,
    ip_id: u16,
    /// (name, pack id, should alert) for names outside Kaspersky's: planted indicators and
    /// decoys of the other vendors.
    labels: Vec<(&'static str, &'static str, bool)>,
    /// Unix seconds of the first frame (T0_SECS unless a capture needs another day).
    t0_secs: u64,
}

impl Capture {
    fn new(name: &str, format: Format, seed: u64) -> Self {
        Capture {
            name: name.to_string(),
            format,
            frames: Vec::new(),
            rows: Vec::new(),
            clock_ns: 0,
            rng: Rng::new(seed),
            ip_id: 0x1c00,
            labels: Vec::new(),
            t0_secs: T0_SECS,
        }
    }

    fn link(&self, iface: usize) -> Link {
        match &self.format {
            Format::Pcap { link, .. } => *link,
            Format::Pcapng { ifaces } => ifaces[iface].0,
        }
    }

    fn advance(&mut self, ns: u64) {
        self.clock_ns += ns;
    }

    fn next_id(&mut self) -> u16 {
        self.ip_id = self.ip_id.wrapping_add(1 + (self.rng.u16() & 0x3f));
        self.ip_id
    }

    /// Appends a frame; returns its 1-based number.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        iface: usize,
        link: Link,
        src: IpAddr,
        dst: IpAddr,
        outgoing: bool,
        l4: u8,
        seg: &[u8],
    ) -> usize {
        // mDNS (RFC 6762) requires hop limit 255 on link-local multicast.
        let ttl = if dst.is_multicast() {
            255
        } else if outgoing {
            64
        } else {
            57
        };
        let id = self.next_id();
        let pkt = ip_packet(src, dst, l4, seg, id, ttl);
        self.frames.push((
            iface,
            self.clock_ns,
            frame(link, src, dst, outgoing, &pkt),
            None,
        ));
        self.frames.len()
    }

    fn row(&mut self, frame: usize, kind: &'static str, name: &str, note: &'static str) {
        let (vendor, alert) = match self.labels.iter().find(|l| l.0 == name) {
            Some(&(_, vendor, alert)) => (vendor, alert && note == "-"),
            None if is_kaspersky(name) => ("kaspersky", note == "-"),
            None => ("-", false),
        };
        self.rows.push(Row {
            frame,
            kind,
            name: name.trim_end_matches('.').to_string(),
            alert,
            note,
            vendor,
        });
    }

    /// One UDP datagram from `client` to `server:dport`; returns its frame number.
    #[allow(clippy::too_many_arguments)]
    fn udp_send(
        &mut self,
        iface: usize,
        link: Link,
        client: &str,
        server: &str,
        dport: u16,
        payload: &[u8],
    ) -> usize {
        let (c, s) = (ip(client), ip(server));
        let sport = self.rng.port();
        self.push(
            iface,
            link,
            c,
            s,
            true,
            17,
            &udp(c, s, sport, dport, payload),
        )
    }

    /// A DNS query and (unless `answers` is None) its response.
    #[allow(clippy::too_many_arguments)]
    fn dns(
        &mut self,
        iface: usize,
        link: Link,
        client: &str,
        server: &str,
        qname: &str,
        qtype: u16,
        answers: Option<(u16, &[Rr])>,
        rtt_ns: u64,
    ) {
        let (c, s) = (ip(client), ip(server));
        let id = self.rng.u16();
        let sport = self.rng.port();
        let q = Dns::query(id).question(qname, qtype).opt().build();
        let f = self.push(iface, link, c, s, true, 17, &udp(c, s, sport, 53, &q));
        self.row(f, "dns-query", qname, "-");
        let Some((rcode, rrs)) = answers else { return };
        self.advance(rtt_ns);
        let mut r = Dns::new(id, 0x8180 | rcode).question(qname, qtype);
        for rr in rrs {
            r = r.answer(rr.owner, rr.ttl, rr.rd);
        }
        let r = r.opt().build();
        let f = self.push(iface, link, s, c, false, 17, &udp(s, c, 53, sport, &r));
        self.row(f, "dns-query", qname, "-");
        for rr in rrs {
            match rr.rd {
                Rdata::Cname(t) => self.row(f, "dns-answer-cname", t, "-"),
                _ => self.row(f, "dns-answer-a", rr.owner, "-"),
            }
        }
    }

    /// TCP handshake, one ClientHello segment, the server's ACK: five frames.
    #[allow(clippy::too_many_arguments)]
    fn tls(
        &mut self,
        iface: usize,
        link: Link,
        client: &str,
        server: &str,
        dport: u16,
        sni: Option<&str>,
        rtt_ns: u64,
    ) {
        let f = self.tcp_first_flight(iface, link, client, server, dport, rtt_ns, |rng| {
            client_hello(rng, sni)
        });
        if let Some(n) = sni {
            self.row(f, "tls-sni", n, "-");
        }
    }

    /// TCP handshake, one client data segment (`data`, built after the handshake's random
    /// numbers are drawn), the server's ACK: five frames. Returns the data frame's number.
    #[allow(clippy::too_many_arguments)]
    fn tcp_first_flight(
        &mut self,
        iface: usize,
        link: Link,
        client: &str,
        server: &str,
        dport: u16,
        rtt_ns: u64,
        data: impl FnOnce(&mut Rng) -> Vec<u8>,
    ) -> usize {
        let (c, s) = (ip(client), ip(server));
        let sport = self.rng.port();
        let cisn = self.rng.u32();
        let sisn = self.rng.u32();
        let mss = if c.is_ipv4() { 1460 } else { 1440 };
        let t = |sp, dp, seq, ack, fl, win, opt: &[u8], pl: &[u8], a, b| {
            tcp(a, b, sp, dp, seq, ack, fl, win, opt, pl)
        };
        self.push(
            iface,
            link,
            c,
            s,
            true,
            6,
            &t(
                sport,
                dport,
                cisn,
                0,
                SYN,
                64240,
                &syn_options(mss, 7),
                &[],
                c,
                s,
            ),
        );
        self.advance(rtt_ns);
        self.push(
            iface,
            link,
            s,
            c,
            false,
            6,
            &t(
                dport,
                sport,
                sisn,
                cisn.wrapping_add(1),
                SYN | ACK,
                65160,
                &syn_options(mss, 9),
                &[],
                s,
                c,
            ),
        );
        self.advance(61_017);
        let (cseq, sseq) = (cisn.wrapping_add(1), sisn.wrapping_add(1));
        self.push(
            iface,
            link,
            c,
            s,
            true,
            6,
            &t(sport, dport, cseq, sseq, ACK, 502, &[], &[], c, s),
        );
        self.advance(412_345);
        let ch = data(&mut self.rng);
        let f = self.push(
            iface,
            link,
            c,
            s,
            true,
            6,
            &t(sport, dport, cseq, sseq, PSH | ACK, 502, &[], &ch, c, s),
        );
        self.advance(rtt_ns);
        let acked = cseq.wrapping_add(ch.len() as u32);
        self.push(
            iface,
            link,
            s,
            c,
            false,
            6,
            &t(dport, sport, sseq, acked, ACK, 501, &[], &[], s, c),
        );
        f
    }

    fn serialize(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match &self.format {
            Format::Pcap {
                big_endian, nanos, ..
            } => {
                let be = *big_endian;
                let w32 = |o: &mut Vec<u8>, v: u32| {
                    o.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
                };
                let w16 = |o: &mut Vec<u8>, v: u16| {
                    o.extend_from_slice(&if be { v.to_be_bytes() } else { v.to_le_bytes() })
                };
                w32(&mut out, if *nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
                w16(&mut out, 2);
                w16(&mut out, 4);
                w32(&mut out, 0); // thiszone
                w32(&mut out, 0); // sigfigs
                w32(&mut out, 262_144); // snaplen
                w32(&mut out, self.link(0).linktype());
                for (_, ns, data, _) in &self.frames {
                    let secs = self.t0_secs + ns / 1_000_000_000;
                    let sub = ns % 1_000_000_000;
                    w32(&mut out, secs as u32);
                    w32(
                        &mut out,
                        if *nanos {
                            sub as u32
                        } else {
                            (sub / 1000) as u32
                        },
                    );
                    w32(&mut out, data.len() as u32);
                    w32(&mut out, data.len() as u32);
                    out.extend_from_slice(data);
                }
            }
            Format::Pcapng { ifaces } => {
                // Section header block.
                let mut opts = Vec::new();
                pcapng_opt(&mut opts, 4, b"vendorwatch examples/gen-samples.rs"); // shb_userappl
                pcapng_opt(&mut opts, 0, &[]);
                let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
                body.extend_from_slice(&1u16.to_le_bytes());
                body.extend_from_slice(&0u16.to_le_bytes());
                body.extend_from_slice(&(-1i64).to_le_bytes());
                body.extend_from_slice(&opts);
                pcapng_block(&mut out, 0x0a0d_0d0a, &body);
                // Interface description blocks.
                for (link, name, tsresol) in ifaces {
                    let mut body = (link.linktype() as u16).to_le_bytes().to_vec();
                    body.extend_from_slice(&[0, 0]);
                    body.extend_from_slice(&262_144u32.to_le_bytes());
                    pcapng_opt(&mut body, 2, name.as_bytes()); // if_name
                    if let Some(r) = tsresol {
                        pcapng_opt(&mut body, 9, &[*r]); // if_tsresol
                    }
                    pcapng_opt(&mut body, 0, &[]);
                    pcapng_block(&mut out, 1, &body);
                }
                // Enhanced packet blocks.
                for (iface, ns, data, comment) in &self.frames {
                    let exp = ifaces[*iface].2.unwrap_or(6) as u32;
                    let total_ns = u128::from(self.t0_secs) * 1_000_000_000 + u128::from(*ns);
                    let units = (total_ns * 10u128.pow(exp) / 1_000_000_000) as u64;
                    let mut body = (*iface as u32).to_le_bytes().to_vec();
                    body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
                    body.extend_from_slice(&(units as u32).to_le_bytes());
                    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                    body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                    body.extend_from_slice(data);
                    pad4(&mut body);
                    if let Some(c) = comment {
                        pcapng_opt(&mut body, 1, c.as_bytes()); // opt_comment
                        pcapng_opt(&mut body, 0, &[]);
                    }
                    pcapng_block(&mut out, 6, &body);
                }
            }
        }
        out
    }
}

fn pad4(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(4) {
        v.push(0);
    }
}

fn pcapng_opt(out: &mut Vec<u8>, code: u16, val: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&(val.len() as u16).to_le_bytes());
    out.extend_from_slice(val);
    pad4(out);
}

fn pcapng_block(out: &mut Vec<u8>, typ: u32, body: &[u8]) {
    let total = (12 + body.len()) as u32;
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.extend_from_slice(&total.to_le_bytes());
}

// ---------------------------------------------------------------------------------------------
// The four sample files

const RESOLVER: &str = "10.0.0.53";
const RESOLVER6: &str = "2001:db8::53";

/// DNS lookups of Kaspersky product names. Ethernet, little-endian microsecond pcap.
fn kaspersky_dns() -> Capture {
    let mut c = Capture::new(
        "kaspersky-dns.pcap",
        Format::Pcap {
            big_endian: false,
            nanos: false,
            link: Link::Eth { vlan: None },
        },
        0x6b61_7370_646e_7301,
    );
    let eth = Link::Eth { vlan: None };
    let a = |o: &'static str, ttl, ip: [u8; 4]| Rr {
        owner: o,
        ttl,
        rd: Rdata::A(ip),
    };

    c.dns(
        0,
        eth,
        "10.1.0.11",
        RESOLVER,
        "s01.upd.kaspersky.com",
        1,
        Some((
            0,
            &[
                a("s01.upd.kaspersky.com", 300, [192, 0, 2, 11]),
                a("s01.upd.kaspersky.com", 300, [192, 0, 2, 12]),
            ],
        )),
        1_843_211,
    );
    c.advance(250_113_407);
    c.dns(
        0,
        eth,
        "10.1.0.12",
        RESOLVER,
        "dnl-07.geo.kaspersky.com",
        1,
        Some((0, &[a("dnl-07.geo.kaspersky.com", 60, [192, 0, 2, 17])])),
        23_401_777,
    );
    c.advance(410_220_019);
    c.dns(
        0,
        eth,
        "10.1.0.13",
        RESOLVER,
        "dc1.ksn.kaspersky-labs.com",
        1,
        Some((
            0,
            &[a("dc1.ksn.kaspersky-labs.com", 120, [198, 51, 100, 31])],
        )),
        31_004_512,
    );
    c.advance(301_551_002);
    // CNAME chain: the second target is a CDN name that merely contains "kaspersky.com".
    c.dns(
        0,
        eth,
        "10.1.0.14",
        RESOLVER,
        "activation-v2.kaspersky.com",
        1,
        Some((
            0,
            &[
                Rr {
                    owner: "activation-v2.kaspersky.com",
                    ttl: 3600,
                    rd: Rdata::Cname("activation-v2.geo.kaspersky.com"),
                },
                Rr {
                    owner: "activation-v2.geo.kaspersky.com",
                    ttl: 300,
                    rd: Rdata::Cname("activation-v2.kaspersky.com.edgekey.net"),
                },
                a(
                    "activation-v2.kaspersky.com.edgekey.net",
                    20,
                    [203, 0, 113, 40],
                ),
            ],
        )),
        44_120_903,
    );
    c.advance(520_004_118);
    // AAAA over IPv6 transport.
    c.dns(
        0,
        eth,
        "2001:db8:1::15",
        RESOLVER6,
        "ksn-url-geo.kaspersky-labs.com",
        28,
        Some((
            0,
            &[Rr {
                owner: "ksn-url-geo.kaspersky-labs.com",
                ttl: 300,
                rd: Rdata::Aaaa(v6("2001:db8:ffff::25")),
            }],
        )),
        12_777_310,
    );
    c.advance(333_000_333);
    // 0x20 mixed case, as a resolver randomises it; the answer owner points at the question.
    c.dns(
        0,
        eth,
        "10.1.0.16",
        RESOLVER,
        "DS.KaSpErSkY.CoM",
        1,
        Some((0, &[a("DS.KaSpErSkY.CoM", 600, [192, 0, 2, 9])])),
        9_876_543,
    );
    c.advance(287_650_001);
    // On VLAN 100.
    c.dns(
        0,
        Link::Eth { vlan: Some(100) },
        "10.100.0.21",
        RESOLVER,
        "s05.upd.kaspersky.com",
        1,
        Some((0, &[a("s05.upd.kaspersky.com", 300, [192, 0, 2, 15])])),
        2_034_991,
    );
    c.advance(190_000_777);
    // Fallback to a public resolver (intel section 1), with the product's reachability test name.
    c.dns(
        0,
        eth,
        "10.1.0.11",
        "8.8.8.8",
        "downloads.upd.kaspersky.com",
        1,
        Some((0, &[a("downloads.upd.kaspersky.com", 300, [192, 0, 2, 20])])),
        14_002_468,
    );
    c.advance(150_321_654);
    // A benign lookup in the same capture.
    c.dns(
        0,
        eth,
        "10.1.0.12",
        RESOLVER,
        "www.example.org",
        1,
        Some((0, &[a("www.example.org", 3600, [192, 0, 2, 80])])),
        1_500_042,
    );
    c
}

/// TLS ClientHellos to Kaspersky names. pcapng with Ethernet, raw IPv4 (ns resolution) and
/// Linux SLL2 interfaces.
fn kaspersky_tls() -> Capture {
    let ifaces = vec![
        (Link::Eth { vlan: None }, "eth0", None),
        (Link::Raw, "tun0", Some(9)),
        (Link::Sll2 { ifindex: 3 }, "any", None),
    ];
    let mut c = Capture::new(
        "kaspersky-tls.pcapng",
        Format::Pcapng { ifaces },
        0x6b61_7370_746c_7302,
    );
    let (eth, raw, sll2) = (c.link(0), c.link(1), c.link(2));
    c.tls(
        0,
        eth,
        "10.2.0.11",
        "192.0.2.11",
        443,
        Some("downloads.upd.kaspersky.com"),
        18_204_311,
    );
    c.frames[0].3 = Some("generated by vendorwatch examples/gen-samples.rs".to_string());
    c.advance(700_123_456);
    c.tls(
        1,
        raw,
        "10.2.0.12",
        "198.51.100.40",
        443,
        Some("cm.k.kaspersky-labs.com"),
        27_651_009,
    );
    c.advance(512_345_678);
    c.tls(
        2,
        sll2,
        "10.2.0.13",
        "198.51.100.50",
        443,
        Some("dc1-st.ksn.kaspersky-labs.com"),
        35_002_117,
    );
    c.advance(440_404_404);
    c.tls(
        0,
        eth,
        "10.2.0.14",
        "203.0.113.40",
        443,
        Some("activation-v2.kaspersky.com"),
        21_987_654,
    );
    c.advance(610_000_123);
    c.tls(
        1,
        raw,
        "10.2.0.15",
        "203.0.113.60",
        443,
        Some("ksc.kaspersky.com"),
        40_123_456,
    );
    c.advance(333_333_333);
    c.tls(
        2,
        sll2,
        "2001:db8:2::16",
        "2001:db8:ffff::19",
        443,
        Some("s19.upd.kaspersky.com"),
        19_191_919,
    );
    c.advance(271_828_182);
    // Not on 443: KSC Cloud Console agent port range 23100-23199 (intel row 44); the host label
    // is illustrative, the `*.ksc.kaspersky.com` pattern and port range are documented.
    c.tls(
        0,
        eth,
        "10.2.0.17",
        "203.0.113.70",
        23101,
        Some("eu-1.ksc.kaspersky.com"),
        45_678_901,
    );
    c
}

/// Benign names and look-alike decoys that must not alert. Linux SLL v1, big-endian
/// nanosecond pcap.
fn benign_decoys() -> Capture {
    let mut c = Capture::new(
        "benign-decoys.pcap",
        Format::Pcap {
            big_endian: true,
            nanos: true,
            link: Link::Sll,
        },
        0x6265_6e69_676e_0003,
    );
    let sll = Link::Sll;
    let a = |o: &'static str, ttl, ip: [u8; 4]| Rr {
        owner: o,
        ttl,
        rd: Rdata::A(ip),
    };
    c.dns(
        0,
        sll,
        "10.3.0.11",
        RESOLVER,
        "www.example.org",
        1,
        Some((0, &[a("www.example.org", 3600, [192, 0, 2, 80])])),
        1_204_301,
    );
    c.advance(120_000_017);
    c.dns(
        0,
        sll,
        "10.3.0.11",
        RESOLVER,
        "github.com",
        1,
        Some((0, &[a("github.com", 60, [192, 0, 2, 81])])),
        15_333_101,
    );
    c.advance(98_765_432);
    c.dns(
        0,
        sll,
        "10.3.0.12",
        RESOLVER,
        "kaspersky.com.evil.example",
        1,
        Some((3, &[])),
        30_000_303,
    );
    c.advance(77_777_777);
    c.dns(
        0,
        sll,
        "10.3.0.12",
        RESOLVER,
        "notkaspersky.com",
        1,
        Some((0, &[a("notkaspersky.com", 300, [198, 51, 100, 77])])),
        25_252_525,
    );
    c.advance(88_888_888);
    c.dns(
        0,
        sll,
        "10.3.0.13",
        RESOLVER,
        "api.kaspersky.one",
        1,
        Some((0, &[a("api.kaspersky.one", 300, [203, 0, 113, 66])])),
        41_414_141,
    );
    c.advance(66_006_600);
    c.dns(
        0,
        sll,
        "10.3.0.13",
        RESOLVER,
        "kasperskytte.github.io",
        1,
        Some((0, &[a("kasperskytte.github.io", 600, [192, 0, 2, 85])])),
        12_121_212,
    );
    c.advance(55_005_500);
    c.dns(
        0,
        sll,
        "10.3.0.14",
        RESOLVER,
        "kasserver.com",
        1,
        Some((0, &[a("kasserver.com", 300, [198, 51, 100, 88])])),
        22_022_022,
    );
    c.advance(44_004_400);
    c.dns(
        0,
        sll,
        "10.3.0.14",
        RESOLVER,
        "norton-kaspersky.com",
        1,
        Some((3, &[])),
        33_033_033,
    );
    c.advance(210_987_654);
    c.tls(
        0,
        sll,
        "10.3.0.11",
        "192.0.2.81",
        443,
        Some("github.com"),
        15_432_100,
    );
    c.advance(123_456_789);
    c.tls(
        0,
        sll,
        "10.3.0.11",
        "192.0.2.80",
        443,
        Some("www.example.org"),
        1_234_567,
    );
    c.advance(234_567_891);
    c.tls(
        0,
        sll,
        "10.3.0.13",
        "192.0.2.85",
        443,
        Some("kasperskytte.github.io"),
        12_345_678,
    );
    c.advance(98_989_898);
    c.tls(
        0,
        sll,
        "10.3.0.13",
        "203.0.113.66",
        443,
        Some("api.kaspersky.one"),
        41_000_001,
    );
    c.advance(77_000_007);
    c.tls(
        0,
        sll,
        "10.3.0.12",
        "198.51.100.99",
        443,
        Some("kaspersky.com.evil.example"),
        29_000_009,
    );
    c.advance(150_000_015);
    // mDNS on 5353 names a real update host: out of scope, must be neither alerted nor logged.
    {
        let (src, dst) = (ip("10.3.0.30"), ip("224.0.0.251"));
        let q = Dns::new(0, 0).question("s01.upd.kaspersky.com", 1).build();
        let f = c.push(0, sll, src, dst, true, 17, &udp(src, dst, 5353, 5353, &q));
        c.row(
            f,
            "dns-query",
            "s01.upd.kaspersky.com",
            "out-of-scope:mdns-5353",
        );
    }
    c
}

/// BSD null link type (as macOS writes for utun/lo0), big-endian microsecond pcap, the address
/// family in the file's byte order: 2 for IPv4, 24 (NetBSD/OpenBSD) and 30 (macOS) for IPv6.
fn loopback_mixed() -> Capture {
    let mut c = Capture::new(
        "loopback-mixed.pcap",
        Format::Pcap {
            big_endian: true,
            nanos: false,
            link: Link::Null {
                big_endian: true,
                v6_family: 30,
            },
        },
        0x6c6f_6f70_6261_6304,
    );
    let null30 = Link::Null {
        big_endian: true,
        v6_family: 30,
    };
    let null24 = Link::Null {
        big_endian: true,
        v6_family: 24,
    };
    c.dns(
        0,
        null30,
        "10.4.0.11",
        RESOLVER,
        "www.kaspersky.com",
        1,
        Some((
            0,
            &[Rr {
                owner: "www.kaspersky.com",
                ttl: 300,
                rd: Rdata::A([192, 0, 2, 90]),
            }],
        )),
        3_141_592,
    );
    c.advance(200_000_002);
    c.dns(
        0,
        null24,
        "2001:db8:4::11",
        RESOLVER6,
        "support.kaspersky.com",
        28,
        Some((
            0,
            &[Rr {
                owner: "support.kaspersky.com",
                ttl: 300,
                rd: Rdata::Aaaa(v6("2001:db8:ffff::91")),
            }],
        )),
        2_718_281,
    );
    c.advance(100_000_001);
    c.tls(
        0,
        null30,
        "2001:db8:4::11",
        "2001:db8:ffff::91",
        443,
        Some("support.kaspersky.com"),
        24_681_357,
    );
    c.advance(300_000_003);
    c.tls(
        0,
        null30,
        "10.4.0.11",
        "203.0.113.99",
        443,
        None,
        13_579_246,
    );
    c
}

/// The other FCC Covered List vendors (intel `covered-vendors.md`): per vendor, DNS lookups
/// of its cloud names and a TLS ClientHello from one client host (10.77.V.10); Dahua's Easy4IP
/// `DHGET` over UDP 8800; Huawei's OTA download over plain HTTP with
/// `User-Agent: HwOUCDownloadManager`. Decoys of section 4 come from 10.77.9.10 and must not
/// alert; so must a `DHGET` to another port and a non-Dahua payload to 8800.
fn covered_vendors() -> Capture {
    let link = Link::Eth { vlan: None };
    let mut c = Capture::new(
        "covered-vendors.pcap",
        Format::Pcap {
            big_endian: false,
            nanos: false,
            link,
        },
        0x636f_7665_7265_6405,
    );
    const DNS: &str = "10.77.0.53";
    // (pack id, client, planted DNS names, TLS SNIs)
    let vendors: [(&str, &str, &[&str], &[&str]); 5] = [
        (
            "hikvision",
            "10.77.1.10",
            &[
                "litedev.hik-connect.com",
                "dev.hik-connect.com",
                "apiieu.hik-connect.com",
                "devcl.ys7.com",
                "dev.ys7.com",
                "pbdev.ys7.com",
                "pbsgp.p2papi.ezviz7.com",
            ],
            &["apiieu.hik-connect.com", "api.guardingvision.com"],
        ),
        (
            "dahua",
            "10.77.2.10",
            &[
                "www.easy4ipcloud.com",
                "www.dahuap2pcloud.com",
                "iotaccess.easy4ipcloud.com",
                "dmss-di.dolynkcloud.com",
                "www.dahuaddns.com",
            ],
            &["dmss-di.dolynkcloud.com"],
        ),
        (
            "huawei",
            "10.77.3.10",
            &[
                "query.hicloud.com",
                "update.dbankcdn.com",
                "data.hicloud.com",
                "logservice.hicloud.com",
            ],
            &["query.hicloud.com"],
        ),
        (
            "zte",
            "10.77.4.10",
            &[
                "dms.ztems.com",
                "st.ztems.com",
                "zxapp.ztems.com",
                "report.server.nubia.cn",
            ],
            &["st.ztems.com"],
        ),
        (
            "dji-autel",
            "10.77.5.10",
            &["flysafe-api.dji.com", "mydjiflight.dji.com"],
            &["flysafe-api.dji.com"],
        ),
    ];
    // Decoys (section 4), by the vendor whose pack they could fool.
    let decoys: &[(&str, &str)] = &[
        ("www.hikingproject.com", "hikvision"),
        ("aset.elitedev.space", "hikvision"),
        ("open.ys7.com", "hikvision"),
        ("iusopen.ezvizlife.com", "hikvision"),
        (
            "usdclog-1571272846.us-east-1.elb.amazonaws.com",
            "hikvision",
        ),
        ("openapi.easy4ip.com", "dahua"),
        ("openapi.lechange.cn", "dahua"),
        ("open-api-sg.dolynkcloud.com", "dahua"),
        ("secu100.net", "dahua"),
        ("cloudlinks.cn", "dahua"),
        ("connectivitycheck.platform.hicloud.com", "huawei"),
        ("api.push.hicloud.com", "huawei"),
        ("login.cloud.huawei.com", "huawei"),
        ("grs.dbankcloud.com", "huawei"),
        ("metrics1.data.hicloud.com", "huawei"),
        ("token-drcn.push.dbankcloud.com", "huawei"),
        ("www.myhuaweicloud.com", "huawei"),
        ("www.hihonor.com", "huawei"),
        ("www.tvazteca.com", "zte"),
        ("ufi.ztedevice.com", "zte"),
        ("djinni.co", "dji-autel"),
        ("dl.djicdn.com", "dji-autel"),
        // Autel: low confidence, shipped disabled, so not an alert by default.
        ("app.autelrobotics.com", "dji-autel"),
    ];
    for (vendor, _, names, snis) in &vendors {
        for n in names.iter().chain(snis.iter()) {
            c.labels.push((n, vendor, true));
        }
    }
    for (n, vendor) in decoys {
        c.labels.push((n, vendor, false));
    }
    for (_, client, names, snis) in &vendors {
        for n in *names {
            c.dns(0, link, client, DNS, n, 1, None, 0);
            c.advance(1_250_000);
        }
        for (i, n) in snis.iter().enumerate() {
            let server = format!("198.51.100.{}", 10 + i);
            c.tls(0, link, client, &server, 443, Some(n), 21_000_000);
            c.advance(3_000_000);
        }
    }
    // Dahua Easy4IP P2P signalling: DHGET to udp/8800 (the device serial in the path).
    let dhget = b"DHGET /probe/p2psrv HTTP/1.1\r\nCSeq: 1\r\n\
X-WSSE: UsernameToken Username=\"P2PClient\"\r\n\r\n";
    c.labels.push(("203.0.113.88:8800", "dahua", true));
    let f = c.udp_send(0, link, "10.77.2.10", "203.0.113.88", 8800, dhget);
    c.row(f, "payload", "203.0.113.88:8800", "-");
    c.advance(2_000_000);
    let dhpost = b"DHPOST /online/p2psrv/7M0ABCDEF1234567 HTTP/1.1\r\nCSeq: 2\r\n\r\n";
    let f = c.udp_send(0, link, "10.77.2.10", "203.0.113.88", 8800, dhpost);
    c.row(f, "payload", "203.0.113.88:8800", "-");
    c.advance(2_000_000);
    // Huawei OTA download over plain HTTP.
    let ua = "HwOUCDownloadManager";
    c.labels.push((ua, "huawei", true));
    let req = http::request(
        "GET",
        "/TDS/data/files/p3/s15/G1026/g1699/v1003486/f1/full/update_full_base.zip",
        &[
            ("Host", "update.dbankcdn.com"),
            ("User-Agent", ua),
            ("Range", "bytes=0-"),
            ("Connection", "Keep-Alive"),
        ],
    );
    let f = c.tcp_first_flight(
        0,
        link,
        "10.77.3.10",
        "198.51.100.80",
        80,
        18_000_000,
        |_| req,
    );
    c.row(f, "http-host", "update.dbankcdn.com", "-");
    c.row(f, "http-user-agent", ua, "-");
    c.advance(5_000_000);
    // Decoys: names, and payloads that must not match.
    for (n, _) in decoys {
        c.dns(0, link, "10.77.9.10", DNS, n, 1, None, 0);
        c.advance(1_100_000);
    }
    c.tls(
        0,
        link,
        "10.77.9.10",
        "198.51.100.90",
        443,
        Some("open.ys7.com"),
        20_000_000,
    );
    c.advance(2_000_000);
    c.labels.push(("203.0.113.88:8801", "dahua", false));
    let f = c.udp_send(0, link, "10.77.9.10", "203.0.113.88", 8801, dhget);
    c.row(f, "payload", "203.0.113.88:8801", "-");
    c.labels.push(("203.0.113.89:8800", "dahua", false));
    let f = c.udp_send(
        0,
        link,
        "10.77.9.10",
        "203.0.113.89",
        8800,
        b"GET / HTTP/1.1\r\n\r\n",
    );
    c.row(f, "payload", "203.0.113.89:8800", "-");
    let browser = "Mozilla/5.0 (Linux; Android 14; SM-S918B) HwOUC-curious/1.0";
    c.labels.push((browser, "huawei", false));
    let req = http::request(
        "GET",
        "/",
        &[("Host", "www.example.org"), ("User-Agent", browser)],
    );
    let f = c.tcp_first_flight(
        0,
        link,
        "10.77.9.10",
        "198.51.100.91",
        80,
        18_000_000,
        |_| req,
    );
    c.row(f, "http-user-agent", browser, "-");
    c
}

/// The Kaspersky -> UltraAV migration (signatures/ultraav.toml, `migrated_from = "kaspersky"`):
/// one host of each verdict the inventory gives, over three days around the handover
/// (2024-09-19) and Kaspersky's cut-off (2024-09-29), plus a decoy host.
///
/// - 10.6.1.10 `migrated-to-ultraav`: Kaspersky update on 2024-09-10, UltraAV and UltraVPN on
///   2024-09-20.
/// - 10.6.2.10 `kaspersky-after-cutoff`: Kaspersky on 2024-09-10 and again on 2024-10-01.
/// - 10.6.3.10 `ultraav-only`: UltraAV on 2024-09-20, never Kaspersky.
/// - 10.6.4.10 `kaspersky-before-cutoff-only`: Kaspersky on 2024-09-10 only.
/// - 10.6.9.10 decoy: UltraAV's website, its help center and an UltraVPN ad click on
///   2024-09-20: informational (portal) alerts and a pass decoy, no verdict.
///
/// `client-example.ultrasecureav.com` and `client-example.ultravpn.com` are illustrative
/// names below the pack's catch-alls: no public source names UltraAV's own hosts.
fn ultraav_migration() -> Capture {
    let link = Link::Eth { vlan: None };
    let mut c = Capture::new(
        "ultraav-migration.pcap",
        Format::Pcap {
            big_endian: false,
            nanos: false,
            link,
        },
        0x756c_7472_6161_7606,
    );
    // 2024-09-10T12:00:00Z.
    c.t0_secs = 1_725_969_600;
    const DAY_NS: u64 = 86_400 * 1_000_000_000;
    const DNS: &str = "10.6.0.53";
    const PRODUCT_AV: &str = "client-example.ultrasecureav.com";
    const PRODUCT_VPN: &str = "client-example.ultravpn.com";
    for n in [
        PRODUCT_AV,
        PRODUCT_VPN,
        "www.ultrasecureav.com",
        "antivirus.ultravpn.com",
    ] {
        c.labels.push((n, "ultraav", true));
    }
    c.labels.push(("track.ultravpn.com", "ultraav", false));
    // 2024-09-10: three hosts run Kaspersky.
    c.dns(
        0,
        link,
        "10.6.1.10",
        DNS,
        "s12.upd.kaspersky.com",
        1,
        None,
        0,
    );
    c.advance(1_500_000);
    c.dns(
        0,
        link,
        "10.6.2.10",
        DNS,
        "dnl-11.geo.kaspersky.com",
        1,
        None,
        0,
    );
    c.advance(1_500_000);
    c.tls(
        0,
        link,
        "10.6.4.10",
        "198.51.100.40",
        443,
        Some("s15.upd.kaspersky.com"),
        22_000_000,
    );
    // 2024-09-20, after the handover update: UltraAV and UltraVPN on the migrated host, UltraAV
    // on a host that never ran Kaspersky, and the decoy host browsing.
    c.advance(10 * DAY_NS);
    c.dns(0, link, "10.6.1.10", DNS, PRODUCT_AV, 1, None, 0);
    c.advance(1_000_000);
    c.tls(
        0,
        link,
        "10.6.1.10",
        "198.51.100.41",
        443,
        Some(PRODUCT_AV),
        19_000_000,
    );
    c.advance(2_000_000);
    c.dns(0, link, "10.6.1.10", DNS, PRODUCT_VPN, 1, None, 0);
    c.advance(1_000_000);
    c.tls(
        0,
        link,
        "10.6.3.10",
        "198.51.100.41",
        443,
        Some(PRODUCT_AV),
        20_000_000,
    );
    c.advance(2_000_000);
    c.dns(
        0,
        link,
        "10.6.9.10",
        DNS,
        "www.ultrasecureav.com",
        1,
        None,
        0,
    );
    c.advance(1_000_000);
    c.tls(
        0,
        link,
        "10.6.9.10",
        "198.51.100.42",
        443,
        Some("www.ultrasecureav.com"),
        18_000_000,
    );
    c.advance(2_000_000);
    c.dns(
        0,
        link,
        "10.6.9.10",
        DNS,
        "antivirus.ultravpn.com",
        1,
        None,
        0,
    );
    c.advance(1_000_000);
    c.dns(0, link, "10.6.9.10", DNS, "track.ultravpn.com", 1, None, 0);
    // 2024-10-01, after Kaspersky's cut-off: one host still runs it.
    c.advance(11 * DAY_NS);
    c.tls(
        0,
        link,
        "10.6.2.10",
        "198.51.100.43",
        443,
        Some("s16.upd.kaspersky.com"),
        21_000_000,
    );
    c
}
