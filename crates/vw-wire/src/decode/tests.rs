//! Frames for every encapsulation, built layer by layer with `vw-craft` (each of its builders
//! names the RFC whose layout it follows); headers made malformed on purpose are written here.

use std::net::{IpAddr, Ipv4Addr};

use vw_craft::{
    Ipv4, MF, erspan2, erspan3, eth, geneve, gre, ipv4, ipv6, mpls, pppoe, udp, vlan, vxlan,
};

use super::*;
use crate::capture::linktype;

const MAC: [u8; 6] = [0; 6];
const V6_A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6_B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const A: [u8; 4] = [10, 0, 0, 1];
const B: [u8; 4] = [10, 0, 0, 53];
const OUTER_A: [u8; 4] = [192, 0, 2, 1];
const OUTER_B: [u8; 4] = [192, 0, 2, 2];

fn ts(secs: i64) -> Timestamp {
    Timestamp { secs, nanos: 0 }
}

/// IPv4 header from `src` to `dst` with id, more-fragments bit and fragment offset (in 8-byte
/// units), no DF.
fn ipv4_frag(
    proto: u8,
    src: [u8; 4],
    dst: [u8; 4],
    id: u16,
    mf: bool,
    off: u16,
    payload: &[u8],
) -> Vec<u8> {
    let frag = if mf { MF } else { 0 } | off;
    Ipv4 {
        id,
        frag,
        ..Ipv4::new(src, dst, proto)
    }
    .build(payload)
}

/// IPv4 + UDP 10.0.0.1:5555 -> 10.0.0.53:53 carrying `payload`.
fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
    ipv4(A, B, 17, &udp(5555, 53, payload))
}

/// Ethernet + IPv4 192.0.2.1 -> 192.0.2.2 carrying `payload` as `proto`.
fn outer(proto: u8, payload: &[u8]) -> Vec<u8> {
    eth(MAC, MAC, 0x0800, &ipv4(OUTER_A, OUTER_B, proto, payload))
}

/// [`outer`] with GRE inside.
fn outer_gre(flags: u16, proto: u16, payload: &[u8]) -> Vec<u8> {
    outer(47, &gre(flags, proto, payload))
}

/// [`outer`] with UDP `sport` -> `dport` inside.
fn outer_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    outer(17, &udp(sport, dport, payload))
}

fn inner_eth() -> Vec<u8> {
    eth(MAC, MAC, 0x0800, &ipv4_udp(b"inner"))
}

fn expect_inner(d: &Decoded<'_>) {
    assert_eq!(d.src_ip, IpAddr::V4(Ipv4Addr::from(A)));
    assert_eq!((d.src_port, d.dst_port), (5555, 53));
    assert_eq!(d.payload, b"inner");
}

fn expect_outer(d: &Decoded<'_>, proto: u8, depth: u8) {
    let t = d.tunnel.expect("tunnel context");
    assert_eq!(t.src_ip, IpAddr::V4(Ipv4Addr::from(OUTER_A)));
    assert_eq!(t.dst_ip, IpAddr::V4(Ipv4Addr::from(OUTER_B)));
    assert_eq!((t.proto, t.depth), (proto, depth));
}

fn dec(frame: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    decode(linktype::ETHERNET, frame)
}

#[test]
fn ethernet_with_two_vlans() {
    let tagged = vlan(100, 0x8100, &vlan(200, 0x0800, &ipv4_udp(b"hello")));
    let frame = eth(MAC, MAC, 0x88a8, &tagged);
    let d = dec(&frame).expect("decodes");
    assert_eq!(d.vlans.as_slice(), &[100, 200]);
    assert_eq!(d.proto, L4Proto::Udp);
    assert_eq!((d.src_port, d.dst_port), (5555, 53));
    assert_eq!(d.payload, b"hello");
    assert!(d.tunnel.is_none());
}

#[test]
fn qinq_old_ethertype_and_triple_tag() {
    // 0x9100 outer, 0x88a8, then 0x8100: three ids kept outermost first.
    let inner = vlan(0x2003, 0x0800, &ipv4_udp(b"inner"));
    let frame = eth(MAC, MAC, 0x9100, &vlan(1, 0x88a8, &vlan(2, 0x8100, &inner)));
    let d = dec(&frame).expect("decodes");
    assert_eq!(d.vlans.as_slice(), &[1, 2, 3]);
    expect_inner(&d);
}

#[test]
fn null_loopback_both_byte_orders_and_raw() {
    for family in [[2u8, 0, 0, 0], [0, 0, 0, 2]] {
        let mut frame = family.to_vec();
        frame.extend(ipv4_udp(b"x"));
        assert_eq!(decode(linktype::NULL, &frame).expect("null").payload, b"x");
    }
    assert_eq!(
        decode(linktype::IPV4, &ipv4_udp(b"y"))
            .expect("raw")
            .payload,
        b"y"
    );
}

#[test]
fn sll_and_sll2() {
    let mut sll = vec![0u8; 14];
    sll.extend_from_slice(&[0x08, 0x00]);
    sll.extend(ipv4_udp(b"s1"));
    assert_eq!(
        decode(linktype::LINUX_SLL, &sll).expect("sll").payload,
        b"s1"
    );
    let mut sll2 = vec![0x08, 0x00];
    sll2.extend_from_slice(&[0u8; 18]);
    sll2.extend(ipv4_udp(b"s2"));
    assert_eq!(
        decode(linktype::LINUX_SLL2, &sll2).expect("sll2").payload,
        b"s2"
    );
}

#[test]
fn mpls_label_stack_and_pseudowire() {
    // RFC 3032: label 100 (S=0), label 200 (S=1), then IPv4 (first nibble 4).
    let stack = mpls(&[100, 200], &ipv4_udp(b"inner"));
    for et in [0x8847, 0x8848] {
        let frame = eth(MAC, MAC, et, &stack);
        let d = dec(&frame).expect("mpls ip");
        expect_inner(&d);
        assert!(d.tunnel.is_none());
    }
    // Pseudowire (RFC 4448): bottom label, control word 0x00000000 (RFC 4385), Ethernet.
    let tagged = eth(MAC, MAC, 0x8100, &vlan(42, 0x0800, &ipv4_udp(b"inner")));
    let pw = mpls(&[100], &[&[0, 0, 0, 0][..], &tagged].concat());
    let frame = eth(MAC, MAC, 0x8847, &pw);
    let d = dec(&frame).expect("pseudowire");
    expect_inner(&d);
    assert_eq!(d.vlans.as_slice(), &[42]);
    // Unknown first nibble.
    let bad = eth(MAC, MAC, 0x8847, &[0x00, 0x06, 0x41, 0x40, 0x90, 0, 0, 0]);
    assert_eq!(dec(&bad).err(), Some(SkipReason::UnknownTunnelPayload));
}

#[test]
fn pppoe_session_ipv4_and_ipv6() {
    // RFC 2516: ver/type 0x11, code 0, session 0x0001, length, PPP protocol 0x0021.
    let body = pppoe(1, 0x0021, &ipv4_udp(b"inner"));
    expect_inner(&dec(&eth(MAC, MAC, 0x8864, &body)).expect("pppoe"));
    let body = pppoe(1, 0x0057, &ipv6(V6_A, V6_B, 17, &udp(1, 53, b"six")));
    assert_eq!(
        dec(&eth(MAC, MAC, 0x8864, &body))
            .expect("pppoe v6")
            .payload,
        b"six"
    );
}

#[test]
fn ipv6_extension_headers_with_ah() {
    // Hop-by-hop (0) -> routing (43) -> destination options (60) -> AH (51) -> UDP.
    let udp_part = udp(1, 53, b"ext");
    let mut exts = vec![43, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop, 8 bytes (PadN)
    exts.extend_from_slice(&[60, 0, 0, 0, 0, 0, 0, 0]); // routing type 0, 0 segments left
    exts.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]); // dest options
    // AH (RFC 4302): next, payload len (in 4-byte units minus 2) = 4 -> 24 bytes.
    exts.extend_from_slice(&[17, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    exts.extend_from_slice(&[0u8; 12]);
    exts.extend(udp_part);
    let frame = eth(MAC, MAC, 0x86dd, &ipv6(V6_A, V6_B, 0, &exts));
    let d = dec(&frame).expect("exts");
    assert_eq!(d.payload, b"ext");
}

#[test]
fn gre_plain_and_with_checksum_key_sequence() {
    for flags in [0x0000u16, 0x8000, 0x2000, 0x1000, 0xb000] {
        let frame = outer_gre(flags, 0x0800, &ipv4_udp(b"inner"));
        let d = dec(&frame).expect("gre ip");
        expect_inner(&d);
        expect_outer(&d, 47, 1);
        assert_eq!(d.tunnel.map(|t| t.proto_name()), Some("GRE"));
    }
    // Transparent Ethernet bridging.
    let frame = outer_gre(0x2000, 0x6558, &inner_eth());
    let d = dec(&frame).expect("gre teb");
    expect_inner(&d);
    // IPv6 inner.
    let frame = outer_gre(0, 0x86dd, &ipv6(V6_A, V6_B, 17, &udp(1, 53, b"v6")));
    let d = dec(&frame).expect("gre v6");
    assert_eq!(d.payload, b"v6");
    // Source routing and unknown protocols are counted, not guessed.
    assert_eq!(
        dec(&outer_gre(0x4000, 0x0800, &ipv4_udp(b"x"))).err(),
        Some(SkipReason::BadTunnel)
    );
    assert_eq!(
        dec(&outer_gre(0, 0x1234, &ipv4_udp(b"x"))).err(),
        Some(SkipReason::UnknownTunnelPayload)
    );
}

#[test]
fn gre_version_1_pptp_ppp() {
    // RFC 2637: flags K|S|A, version 1, protocol 0x880b, payload length + call id, seq, ack.
    let ppp = [&[0xff, 0x03, 0x00, 0x21][..], &ipv4_udp(b"inner")].concat();
    let mut g = vec![0x30, 0x81, 0x88, 0x0b];
    g.extend_from_slice(&(ppp.len() as u16).to_be_bytes());
    g.extend_from_slice(&[0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 1]);
    g.extend(ppp);
    let frame = outer(47, &g);
    let d = dec(&frame).expect("pptp");
    expect_inner(&d);
    expect_outer(&d, 47, 1);
}

#[test]
fn erspan_types_one_two_three() {
    // Type I: GRE 0x88be, no sequence bit, the mirrored frame right after GRE.
    let frame = outer_gre(0, 0x88be, &inner_eth());
    let d = dec(&frame).expect("erspan I");
    expect_inner(&d);
    expect_outer(&d, 47, 1);
    // Type II: sequence bit, 8-byte header with version 1, VLAN 7, session 5.
    let ii = erspan2(7, 5, &inner_eth());
    expect_inner(&dec(&outer_gre(0x1000, 0x88be, &ii)).expect("erspan II"));
    // Type III: 0x22eb, version 2, 12 bytes; with O set an 8-byte platform sub-header.
    let iii = erspan3(7, 5, 1, None, &inner_eth());
    expect_inner(&dec(&outer_gre(0x1000, 0x22eb, &iii)).expect("erspan III"));
    let platform = [0x08, 0, 0, 0, 0, 0, 0, 0];
    let iii_o = erspan3(7, 5, 1, Some(platform), &inner_eth());
    expect_inner(&dec(&outer_gre(0x1000, 0x22eb, &iii_o)).expect("erspan III + O"));
    // Type II with a wrong version is a bad header.
    let mut bad = vec![0x50, 0, 0, 0, 0, 0, 0, 0];
    bad.extend(inner_eth());
    assert_eq!(
        dec(&outer_gre(0x1000, 0x88be, &bad)).err(),
        Some(SkipReason::BadTunnel)
    );
}

#[test]
fn vxlan_default_and_extra_port() {
    let payload = vxlan(42, &inner_eth());
    let frame = outer_udp(40000, 4789, &payload);
    let d = dec(&frame).expect("vxlan");
    expect_inner(&d);
    expect_outer(&d, 17, 1);
    assert_eq!(d.tunnel.map(|t| t.proto_name()), Some("UDP"));
    // Port 8472 (Linux default) only when configured.
    let frame = outer_udp(40000, 8472, &payload);
    let plain = dec(&frame).expect("plain udp");
    assert_eq!(plain.dst_port, 8472);
    assert!(plain.tunnel.is_none());
    let mut decoder = Decoder::new(DecoderConfig {
        vxlan_ports: vec![4789, 8472],
        ..DecoderConfig::default()
    });
    expect_inner(&decoder.decode(1, &frame, ts(0)).expect("vxlan 8472"));
    // Without the I flag it is not VXLAN: plain UDP.
    let mut no_i = payload.clone();
    no_i[0] = 0;
    let frame = outer_udp(40000, 4789, &no_i);
    assert_eq!(dec(&frame).expect("plain").dst_port, 4789);
}

#[test]
fn geneve_with_options() {
    // RFC 8926: ver 0, opt len 2 (8 bytes), protocol 0x6558, VNI, one 8-byte option.
    let option = [0x01, 0x02, 0x80, 0x01, 0, 0, 0, 0];
    let g = geneve(0x6558, 42, &option, &inner_eth());
    let frame = outer_udp(40000, 6081, &g);
    let d = dec(&frame).expect("geneve");
    expect_inner(&d);
    expect_outer(&d, 17, 1);
    // IP directly inside.
    let g = geneve(0x0800, 42, &[], &ipv4_udp(b"inner"));
    let frame = outer_udp(40000, 6081, &g);
    expect_inner(&dec(&frame).expect("geneve ip"));
}

#[test]
fn ip_in_ip_and_six_in_four() {
    let frame = outer(4, &ipv4_udp(b"inner"));
    let d = dec(&frame).expect("4in4");
    expect_inner(&d);
    expect_outer(&d, 4, 1);
    let six = ipv6(V6_A, V6_B, 17, &udp(1, 53, b"6in4"));
    let frame = outer(41, &six);
    let d = dec(&frame).expect("6in4");
    assert_eq!(d.payload, b"6in4");
    expect_outer(&d, 41, 1);
    // IPv4 in IPv6.
    let frame = eth(MAC, MAC, 0x86dd, &ipv6(V6_A, V6_B, 4, &ipv4_udp(b"inner")));
    let d = dec(&frame).expect("4in6");
    expect_inner(&d);
    assert_eq!(d.tunnel.map(|t| t.proto), Some(4));
}

#[test]
fn gre_over_udp_mpls_over_udp_and_teredo() {
    let g = gre(0, 0x0800, &ipv4_udp(b"inner"));
    let frame = outer_udp(40000, 4754, &g);
    let d = dec(&frame).expect("gre/udp");
    expect_inner(&d);
    expect_outer(&d, 17, 1);
    let m = mpls(&[100], &ipv4_udp(b"inner"));
    let frame = outer_udp(40000, 6635, &m);
    expect_inner(&dec(&frame).expect("mpls/udp"));
    // Teredo with an origin indication (RFC 4380 5.1.1).
    let mut t = vec![0x00, 0x00, 0x0d, 0x96, 0x3f, 0xff, 0xfd, 0xfe];
    t.extend(ipv6(V6_A, V6_B, 17, &udp(1, 53, b"teredo")));
    let frame = outer_udp(3544, 40000, &t);
    let d = dec(&frame).expect("teredo");
    assert_eq!(d.payload, b"teredo");
    expect_outer(&d, 17, 1);
    // On the Teredo port but not IPv6: plain UDP.
    let frame = outer_udp(3544, 40000, b"junk");
    assert_eq!(dec(&frame).expect("plain").payload, b"junk");
}

#[test]
fn vlans_from_any_depth_and_outermost_tunnel() {
    // Outer VLAN 10, GRE, TEB, inner VLAN 20, IP-in-IP: vlans [10, 20], tunnel = the GRE
    // header's addresses, depth 2.
    let ip_in_ip = ipv4([1, 1, 1, 1], [2, 2, 2, 2], 4, &ipv4_udp(b"inner"));
    let inner = eth(MAC, MAC, 0x8100, &vlan(20, 0x0800, &ip_in_ip));
    let gre_pkt = ipv4(OUTER_A, OUTER_B, 47, &gre(0, 0x6558, &inner));
    let frame = eth(MAC, MAC, 0x8100, &vlan(10, 0x0800, &gre_pkt));
    let d = dec(&frame).expect("nested");
    expect_inner(&d);
    assert_eq!(d.vlans.as_slice(), &[10, 20]);
    expect_outer(&d, 47, 2);
}

#[test]
fn tunnel_depth_limit() {
    let nest = |n: usize| {
        let mut p = ipv4_udp(b"inner");
        for _ in 0..n {
            p = ipv4(OUTER_A, OUTER_B, 4, &p);
        }
        p
    };
    let ok = nest(usize::from(MAX_TUNNEL_DEPTH));
    let d = decode(linktype::RAW, &ok).expect("8 deep");
    expect_inner(&d);
    expect_outer(&d, 4, MAX_TUNNEL_DEPTH);
    let deep = nest(usize::from(MAX_TUNNEL_DEPTH) + 1);
    assert_eq!(
        decode(linktype::RAW, &deep).err(),
        Some(SkipReason::TunnelTooDeep)
    );
    // MPLS pseudowires nest without IP headers and count too.
    let mut frame = eth(MAC, MAC, 0x0800, &ipv4_udp(b"x"));
    for _ in 0..20 {
        let pw = mpls(&[100], &[&[0, 0, 0, 0][..], &frame].concat());
        frame = eth(MAC, MAC, 0x8847, &pw);
    }
    assert_eq!(dec(&frame).err(), Some(SkipReason::TunnelTooDeep));
}

#[test]
fn skip_reasons() {
    assert_eq!(
        decode(999, &[0; 40]).err(),
        Some(SkipReason::UnknownLinkType)
    );
    let arp = eth(MAC, MAC, 0x0806, &[0, 0]);
    assert_eq!(dec(&arp).err(), Some(SkipReason::NotIp));
    let mut frag = ipv4_udp(b"frag");
    frag[6] = 0x20; // more fragments
    // Without reassembly state a fragment is dropped; with it, held.
    assert_eq!(
        decode(linktype::RAW, &frag).err(),
        Some(SkipReason::FragmentDropped)
    );
    let mut decoder = Decoder::default();
    assert_eq!(
        decoder.decode(linktype::RAW, &frag, ts(0)).err(),
        Some(SkipReason::IpFragment)
    );
    let icmp = ipv4(A, B, 1, &[8, 0, 0, 0]);
    assert_eq!(
        decode(linktype::RAW, &icmp).err(),
        Some(SkipReason::OtherTransport)
    );
    let labels: Vec<&str> = SkipReason::ALL.iter().map(|r| r.label()).collect();
    for (i, r) in SkipReason::ALL.iter().enumerate() {
        assert_eq!(r.index(), i);
        assert_eq!(labels.iter().filter(|l| **l == r.label()).count(), 1);
    }
}

/// A UDP/53 datagram split into IPv4 fragments of `size` bytes (a multiple of 8).
fn v4_fragments(id: u16, datagram: &[u8], size: usize) -> Vec<Vec<u8>> {
    let chunks: Vec<&[u8]> = datagram.chunks(size).collect();
    chunks
        .iter()
        .enumerate()
        .map(|(i, c)| ipv4_frag(17, A, B, id, i + 1 < chunks.len(), (i * size / 8) as u16, c))
        .collect()
}

fn dns_like(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

#[test]
fn fragments_in_order_and_out_of_order() {
    let body = dns_like(1000);
    let datagram = udp(5555, 53, &body);
    for order in [vec![0, 1, 2], vec![2, 0, 1], vec![1, 2, 0]] {
        let frags = v4_fragments(7, &datagram, 400);
        let mut decoder = Decoder::default();
        let mut done = None;
        for (n, &i) in order.iter().enumerate() {
            match decoder.decode(linktype::RAW, &frags[i], ts(1)) {
                Ok(d) => {
                    assert_eq!(n, 2, "completes on the last fragment");
                    assert!(d.reassembled);
                    assert_eq!(d.dst_port, 53);
                    done = Some(d.payload.to_vec());
                }
                Err(e) => assert_eq!(e, SkipReason::IpFragment),
            }
        }
        assert_eq!(done.as_deref(), Some(&body[..]));
        let s = decoder.stats();
        assert_eq!(
            (s.defrag.fragments, s.defrag.reassembled, s.reassembled),
            (3, 1, 1)
        );
        assert_eq!(decoder.defrag.pending(), 0);
    }
}

#[test]
fn fragment_overlap_first_wins() {
    let datagram = udp(5555, 53, &[b'A'; 24]);
    // Fragment 1: bytes 0..16 (UDP header + 8 'A'), fragment 2 at 8 overlapping with 'B's,
    // then the last fragment.
    let f1 = ipv4_frag(17, A, B, 9, true, 0, &datagram[..16]);
    let f2 = ipv4_frag(17, A, B, 9, true, 1, &[b'B'; 16]);
    let f3 = ipv4_frag(17, A, B, 9, false, 2, &datagram[16..]);
    let mut decoder = Decoder::default();
    assert!(decoder.decode(linktype::RAW, &f1, ts(1)).is_err());
    assert!(decoder.decode(linktype::RAW, &f2, ts(1)).is_err());
    let d = decoder.decode(linktype::RAW, &f3, ts(1)).expect("complete");
    // Bytes 8..16 came first from f1 ('A'), 16..24 from f2 ('B'), f3's overlap is ignored.
    assert_eq!(&d.payload[..8], &[b'A'; 8]);
    assert_eq!(&d.payload[8..16], &[b'B'; 8]);
    assert_eq!(&d.payload[16..], &[b'A'; 8]);
    assert_eq!(decoder.stats().defrag.overlaps, 2);
}

#[test]
fn fragment_timeout_expires_by_packet_time() {
    let frags = v4_fragments(3, &udp(5555, 53, &dns_like(800)), 400);
    let mut decoder = Decoder::default();
    assert!(decoder.decode(linktype::RAW, &frags[0], ts(100)).is_err());
    // 61 seconds later the first fragment is gone; the rest cannot complete.
    assert!(decoder.decode(linktype::RAW, &frags[1], ts(161)).is_err());
    assert!(decoder.decode(linktype::RAW, &frags[2], ts(161)).is_err());
    let s = decoder.stats().defrag;
    assert_eq!((s.expired, s.reassembled), (1, 0));
}

#[test]
fn fragment_memory_cap_evicts_oldest() {
    let mut decoder = Decoder::new(DecoderConfig {
        defrag: DefragConfig {
            memcap: 4096,
            ..DefragConfig::default()
        },
        ..DecoderConfig::default()
    });
    // Twenty datagrams' first fragments of 1000 bytes cannot all be held in 4 KiB.
    for id in 0..20u16 {
        let f = ipv4_frag(17, A, B, id, true, 0, &dns_like(1000));
        assert!(decoder.decode(linktype::RAW, &f, ts(1)).is_err());
        assert!(decoder.defrag.held() <= 4096);
    }
    let s = decoder.stats().defrag;
    assert!(s.evicted > 0, "evictions counted: {s:?}");
    // A fragment bigger than the cap itself is dropped.
    let big = ipv4_frag(17, A, B, 99, true, 0, &dns_like(8000));
    assert_eq!(
        decoder.decode(linktype::RAW, &big, ts(1)).err(),
        Some(SkipReason::IpFragment)
    );
    assert!(decoder.stats().defrag.dropped > 0);
    // Too long a datagram (offset beyond 64 KiB) is dropped.
    let far = ipv4_frag(17, A, B, 100, false, 8190, &dns_like(100));
    assert!(decoder.decode(linktype::RAW, &far, ts(1)).is_err());
}

#[test]
fn ipv6_fragments_with_dest_options_after_fragment_header() {
    let body = dns_like(600);
    // Fragmentable part: destination options (8 bytes) then UDP.
    let mut part = vec![17, 0, 1, 4, 0, 0, 0, 0];
    part.extend(udp(5555, 53, &body));
    let cut = 304;
    let frag_hdr = |off: usize, more: bool| {
        let v = ((off / 8) as u16) << 3 | u16::from(more);
        let mut h = vec![60, 0];
        h.extend_from_slice(&v.to_be_bytes());
        h.extend_from_slice(&0xdead_beefu32.to_be_bytes());
        h
    };
    let f1 = ipv6(
        V6_A,
        V6_B,
        44,
        &[frag_hdr(0, true), part[..cut].to_vec()].concat(),
    );
    let f2 = ipv6(
        V6_A,
        V6_B,
        44,
        &[frag_hdr(cut, false), part[cut..].to_vec()].concat(),
    );
    let mut decoder = Decoder::default();
    assert_eq!(
        decoder.decode(linktype::IPV6, &f2, ts(5)).err(),
        Some(SkipReason::IpFragment)
    );
    let d = decoder
        .decode(linktype::IPV6, &f1, ts(5))
        .expect("v6 reassembled");
    assert_eq!(d.payload, &body[..]);
    assert_eq!(d.dst_port, 53);
    assert!(d.reassembled);
}

#[test]
fn fragmented_tunnel_payload_is_reassembled_then_decoded() {
    // GRE carried in two IPv4 fragments: the reassembled GRE goes back into the loop.
    let g = gre(0, 0x0800, &ipv4_udp(b"inner"));
    let f1 = ipv4_frag(47, OUTER_A, OUTER_B, 5, true, 0, &g[..16]);
    let f2 = ipv4_frag(47, OUTER_A, OUTER_B, 5, false, 2, &g[16..]);
    let mut decoder = Decoder::default();
    assert!(decoder.decode(linktype::RAW, &f1, ts(1)).is_err());
    let d = decoder
        .decode(linktype::RAW, &f2, ts(1))
        .expect("gre reassembled");
    expect_inner(&d);
    expect_outer(&d, 47, 1);
}

#[test]
fn every_truncation_is_handled() {
    let frames = [
        eth(MAC, MAC, 0x8100, &vlan(5, 0x0800, &ipv4_udp(b"payload"))),
        outer_gre(0xb000, 0x6558, &inner_eth()),
        outer_gre(
            0x1000,
            0x22eb,
            &erspan3(0, 0, 0, Some([0; 8]), &inner_eth()),
        ),
        outer_udp(1, 4789, &vxlan(42, &inner_eth())),
        eth(
            MAC,
            MAC,
            0x8847,
            &mpls(&[100], &[&[0, 0, 0, 0][..], &inner_eth()].concat()),
        ),
    ];
    let mut decoder = Decoder::default();
    for frame in &frames {
        for lt in [
            linktype::ETHERNET,
            linktype::LINUX_SLL,
            linktype::LINUX_SLL2,
            linktype::NULL,
            linktype::RAW,
            LINKTYPE_PPP,
            LINKTYPE_NFLOG,
        ] {
            for cut in 0..=frame.len() {
                let _ = decode(lt, &frame[..cut]);
                let _ = decoder.decode(lt, &frame[..cut], ts(0));
            }
        }
    }
}

/// xorshift64: fixed seed, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// Wraps random bytes in the headers of one encapsulation.
type Builder = Box<dyn Fn(&[u8]) -> Vec<u8>>;

#[test]
fn random_bytes_behind_every_tunnel_header_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut decoder = Decoder::new(DecoderConfig {
        defrag: DefragConfig {
            memcap: 1 << 20,
            ..DefragConfig::default()
        },
        ..DecoderConfig::default()
    });
    // Each prefix ends where a tunnel's inner bytes begin; random bytes follow.
    let prefixes: Vec<(&str, Builder)> = vec![
        ("vlan", Box::new(|r| eth(MAC, MAC, 0x8100, r))),
        ("qinq", Box::new(|r| eth(MAC, MAC, 0x88a8, r))),
        ("mpls", Box::new(|r| eth(MAC, MAC, 0x8847, r))),
        (
            "mpls-pw",
            Box::new(|r| eth(MAC, MAC, 0x8847, &mpls(&[0], &[&[0; 4][..], r].concat()))),
        ),
        ("pppoe", Box::new(|r| eth(MAC, MAC, 0x8864, r))),
        ("ipv4", Box::new(|r| eth(MAC, MAC, 0x0800, r))),
        ("ipv6", Box::new(|r| eth(MAC, MAC, 0x86dd, r))),
        (
            "ipv6-frag",
            Box::new(|r| eth(MAC, MAC, 0x86dd, &ipv6(V6_A, V6_B, 44, r))),
        ),
        (
            "ipv4-frag",
            Box::new(|r| {
                eth(
                    MAC,
                    MAC,
                    0x0800,
                    &ipv4_frag(17, A, B, 1, true, 0, &r[..r.len() & !7]),
                )
            }),
        ),
        ("gre", Box::new(|r| outer(47, r))),
        ("gre-teb", Box::new(|r| outer_gre(0x3000, 0x6558, r))),
        ("gre-ppp", Box::new(|r| outer_gre(0x3081, 0x880b, r))),
        ("erspan-i", Box::new(|r| outer_gre(0, 0x88be, r))),
        ("erspan-ii", Box::new(|r| outer_gre(0x1000, 0x88be, r))),
        ("erspan-iii", Box::new(|r| outer_gre(0x1000, 0x22eb, r))),
        ("vxlan", Box::new(|r| outer_udp(40000, 4789, &vxlan(42, r)))),
        ("geneve", Box::new(|r| outer_udp(40000, 6081, r))),
        ("gre-udp", Box::new(|r| outer_udp(40000, 4754, r))),
        ("mpls-udp", Box::new(|r| outer_udp(40000, 6635, r))),
        ("teredo", Box::new(|r| outer_udp(40000, 3544, r))),
        ("ipip", Box::new(|r| outer(4, r))),
        ("6in4", Box::new(|r| outer(41, r))),
    ];
    for (_name, build) in &prefixes {
        for round in 0..400u64 {
            let len = (rng.next() % 200) as usize;
            let mut random = rng.bytes(len);
            // Every few rounds, start the random part like a valid inner header.
            if round % 4 == 0 && random.len() > 2 {
                random[0] = [0x45, 0x60, 0x00, 0x08][(round / 4 % 4) as usize];
            }
            let frame = build(&random);
            let _ = decode(linktype::ETHERNET, &frame);
            let _ = decoder.decode(linktype::ETHERNET, &frame, ts(round as i64));
        }
    }
}

#[test]
fn dispatch_hash_is_symmetric_inner_and_fragment_safe() {
    let config = DecoderConfig::default();
    let h = |frame: &[u8]| dispatch_hash(&config, linktype::ETHERNET, frame);
    let fwd = eth(MAC, MAC, 0x0800, &ipv4(A, B, 17, &udp(5555, 53, b"q")));
    let rev = eth(MAC, MAC, 0x0800, &ipv4(B, A, 17, &udp(53, 5555, b"r")));
    assert_eq!(h(&fwd), h(&rev), "both directions meet");
    let other = eth(MAC, MAC, 0x0800, &ipv4(A, B, 17, &udp(5556, 53, b"q")));
    assert_ne!(h(&fwd), h(&other), "another flow may go elsewhere");
    // A tunnel is hashed on its inner flow: two outer source ports (VXLAN entropy), one
    // inner flow, one worker; the inner reverse direction too.
    let vx = |sport: u16, inner: &[u8]| {
        let payload = vxlan(42, &eth(MAC, MAC, 0x0800, inner));
        outer_udp(sport, 4789, &payload)
    };
    let inner_fwd = ipv4(A, B, 17, &udp(5555, 53, b"q"));
    let inner_rev = ipv4(B, A, 17, &udp(53, 5555, b"r"));
    assert_eq!(h(&vx(40000, &inner_fwd)), h(&fwd));
    assert_eq!(h(&vx(40001, &inner_rev)), h(&fwd));
    // Fragments: every piece of a datagram hashes alike (IP pair only).
    let first = eth(
        MAC,
        MAC,
        0x0800,
        &ipv4_frag(17, A, B, 7, true, 0, &udp(5555, 53, &[0; 16])),
    );
    let second = eth(MAC, MAC, 0x0800, &ipv4_frag(17, A, B, 7, false, 3, &[0; 8]));
    assert_eq!(h(&first), h(&second));
}

/// Found by the `decode` fuzz target: an IPv6 packet whose extension chain made
/// etherparse 0.16's `Ipv6ExtensionSliceIter` slice out of bounds. The chain is walked
/// here now; this must decode (or skip) without a panic.
#[test]
fn ipv6_extension_chain_fuzz_crash() {
    let frame: &[u8] = &[
        0xaa, 0x00, 0x04, 0x00, 0x0a, 0x04, 0x00, 0x10, 0x18, 0x95, 0x30, 0x6a, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x1c, 0x3c, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x0f, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x06, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x90, 0x57, 0x00, 0x50, 0xe3,
        0x1e, 0xbd, 0x4f, 0xbd, 0xdb, 0xf8, 0x15, 0x50, 0x10, 0x20, 0x00, 0x4d, 0x56, 0x00, 0x00,
    ];
    let _ = decode(linktype::ETHERNET, frame);
    let mut decoder = Decoder::default();
    let _ = decoder.decode(linktype::ETHERNET, frame, Timestamp::default());
}

/// The gen-mix generator (the same frames the throughput runs use).
#[path = "../../../../examples/gen-mix.rs"]
mod gen_mix;

/// Field by field (the payload by address and length: the same bytes of the same frame).
/// Destructured, so a new field of `Decoded` fails to compile here until it is compared.
fn assert_same(fast: &Decoded<'_>, full: &Decoded<'_>, what: &str) {
    let Decoded {
        src_ip,
        dst_ip,
        proto,
        src_port,
        dst_port,
        tcp_flags,
        payload,
        vlans,
        tunnel,
        reassembled,
        macs,
    } = *full;
    assert_eq!(fast.macs, macs, "{what}");
    assert_eq!(fast.src_ip, src_ip, "{what}");
    assert_eq!(fast.dst_ip, dst_ip, "{what}");
    assert_eq!(fast.proto, proto, "{what}");
    assert_eq!(
        (fast.src_port, fast.dst_port),
        (src_port, dst_port),
        "{what}"
    );
    assert_eq!(fast.tcp_flags, tcp_flags, "{what}");
    assert_eq!(
        (fast.payload.as_ptr(), fast.payload.len()),
        (payload.as_ptr(), payload.len()),
        "{what}"
    );
    assert_eq!(fast.vlans, vlans, "{what}");
    assert_eq!(fast.tunnel, tunnel, "{what}");
    assert_eq!(fast.reassembled, reassembled, "{what}");
}

/// Counts of frames the fast path took and left.
#[derive(Default, Debug)]
struct FastCount {
    taken: u64,
    left: u64,
}

/// Runs the fast path and the full walk on one frame: whenever the fast path takes a frame, the
/// walk must decode it to the same result.
fn check_fast(configs: &[DecoderConfig], link_type: u32, frame: &[u8], n: &mut FastCount) {
    for config in configs {
        let fast = fast::decode(config, link_type, frame);
        let full = walk_in(
            config,
            None,
            link_type,
            frame,
            ts(0),
            &mut Context::default(),
        );
        match (fast, full) {
            (None, _) => n.left += 1,
            (Some(f), Ok(w)) => {
                n.taken += 1;
                assert_same(&f, &w, &format!("link {link_type} frame {frame:02x?}"));
            }
            (Some(_), Err(e)) => {
                panic!("fast path took a frame the walk skips ({e:?}): {frame:02x?}")
            }
        }
    }
}

/// Every frame of every sample capture and of a gen-mix capture (distinct headers only).
fn sample_frames() -> Vec<(u32, Vec<u8>)> {
    let mut captures = Vec::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pcaps");
    for entry in std::fs::read_dir(&dir).expect("pcaps/") {
        let path = entry.expect("dir entry").path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pcap" | "pcapng")
        ) {
            captures.push(std::fs::read(&path).expect("sample capture"));
        }
    }
    assert!(captures.len() >= 5, "the sample captures are there");
    let cfg = gen_mix::Config {
        packets: 20_000,
        bytes: u64::MAX,
        seed: 0x5eed_0fa5,
    };
    let mut mix = Vec::new();
    gen_mix::generate(&cfg, &mut mix, &mut Vec::new()).expect("in-memory mix");
    captures.push(mix);
    // Bulk data and ACKs repeat the same headers: keep one frame per header shape (the first
    // 96 bytes with sequence/ack numbers and IP ids as they are, so still many per flow).
    let mut seen = std::collections::HashSet::new();
    let mut frames = Vec::new();
    for capture in &captures {
        let mut reader =
            crate::capture::file::CaptureReader::new(&capture[..]).expect("capture header");
        while let Some(p) = reader.next_packet().expect("valid capture") {
            let key = (
                p.link_type,
                p.data.len(),
                p.data[..p.data.len().min(96)].to_vec(),
            );
            if seen.insert(key) {
                frames.push((p.link_type, p.data.to_vec()));
            }
        }
    }
    frames
}

/// Frames built here for the edges of what the fast path takes.
fn edge_frames() -> Vec<Vec<u8>> {
    // A TCP header with any data offset (bytes of 1 up to it past 20).
    let tcp = |flags: u8, data_offset: u8, payload: &[u8]| {
        let mut t = vw_craft::tcp(40000, 443, 0x0102_0304, 0x0506_0708, flags, &[]);
        t[12] = data_offset << 4;
        t.resize(usize::from(data_offset.max(5)) * 4, 1);
        t.extend_from_slice(payload);
        t
    };
    let with_options = |proto: u8, ihl: u8, l4: &[u8]| {
        let mut p = ipv4(A, B, proto, l4);
        p[0] = 0x40 | ihl;
        let extra = usize::from(ihl.saturating_sub(5)) * 4;
        p.splice(20..20, std::iter::repeat_n(1u8, extra));
        let total = (p.len() as u16).to_be_bytes();
        p[2..4].copy_from_slice(&total);
        p
    };
    let mut frames = Vec::new();
    for flags in [0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14, 0x3f, 0x00] {
        frames.push(eth(
            MAC,
            MAC,
            0x0800,
            &ipv4(A, B, 6, &tcp(flags, 5, b"data")),
        ));
        frames.push(eth(
            MAC,
            MAC,
            0x86dd,
            &ipv6(V6_A, V6_B, 6, &tcp(flags, 8, b"data")),
        ));
    }
    for off in [0, 4, 5, 6, 15] {
        frames.push(eth(MAC, MAC, 0x0800, &ipv4(A, B, 6, &tcp(0x18, off, b"x"))));
    }
    for ihl in [4, 5, 6, 15] {
        frames.push(eth(
            MAC,
            MAC,
            0x0800,
            &with_options(6, ihl, &tcp(0x10, 5, b"opt")),
        ));
        frames.push(eth(
            MAC,
            MAC,
            0x0800,
            &with_options(17, ihl, &udp(5555, 53, b"opt")),
        ));
    }
    // Fragments: MF, an offset, DF alone (not a fragment), the reserved bit.
    for frag in [0x2000u16, 0x0001, 0x4000, 0x8000, 0x1fff] {
        let mut p = ipv4_udp(b"frag");
        p[6..8].copy_from_slice(&frag.to_be_bytes());
        frames.push(eth(MAC, MAC, 0x0800, &p));
    }
    // Ethernet padding after a short datagram, and total lengths off either way.
    for total in [0u16, 19, 20, 27, 28, 36, 40, 60, 1500] {
        let mut p = ipv4_udp(b"pad");
        p[2..4].copy_from_slice(&total.to_be_bytes());
        p.resize(46, 0);
        frames.push(eth(MAC, MAC, 0x0800, &p));
    }
    for plen in [0u16, 1, 8, 11, 12, 40, 1500] {
        let mut p = ipv6(V6_A, V6_B, 17, &udp(5555, 53, b"pad"));
        p[4..6].copy_from_slice(&plen.to_be_bytes());
        p.resize(70, 0);
        frames.push(eth(MAC, MAC, 0x86dd, &p));
    }
    for ulen in [0u16, 7, 8, 9, 11, 200] {
        let mut u = udp(5555, 53, b"udp");
        u[4..6].copy_from_slice(&ulen.to_be_bytes());
        frames.push(eth(MAC, MAC, 0x0800, &ipv4(A, B, 17, &u)));
    }
    // Tunnel ports, either direction, and the protocols the walk tunnels or skips.
    for (sport, dport) in [
        (1, 4789),
        (4789, 1),
        (1, 6081),
        (1, 4754),
        (1, 6635),
        (1, 3544),
        (3544, 1),
        (1, 8472),
        (1, 443),
    ] {
        let u = udp(sport, dport, &vxlan(42, &inner_eth()));
        frames.push(outer(17, &u));
        frames.push(eth(MAC, MAC, 0x86dd, &ipv6(V6_A, V6_B, 17, &u)));
    }
    for proto in [1, 4, 41, 47, 50, 51, 58, 132] {
        frames.push(eth(MAC, MAC, 0x0800, &ipv4(A, B, proto, &ipv4_udp(b"in"))));
        frames.push(eth(
            MAC,
            MAC,
            0x86dd,
            &ipv6(V6_A, V6_B, proto, &ipv4_udp(b"in")),
        ));
    }
    for next in [0, 43, 44, 60] {
        frames.push(eth(
            MAC,
            MAC,
            0x86dd,
            &ipv6(
                V6_A,
                V6_B,
                next,
                &[&[17, 0, 0, 0, 0, 0, 0, 0][..], &udp(1, 53, b"x")].concat(),
            ),
        ));
    }
    // Tags: none, one, two, three, each kind; a version nibble that disagrees with the
    // EtherType; other EtherTypes.
    let inner = ipv4(A, B, 6, &tcp(0x18, 5, b"tagged"));
    let tag_sets: [&[u16]; 5] = [
        &[],
        &[0x8100],
        &[0x88a8, 0x8100],
        &[0x9100, 0x8100],
        &[0x8100, 0x8100, 0x8100],
    ];
    for tags in tag_sets {
        // Each tag: a TCI (priority 7, id 5, 6, ...), then the EtherType that follows it.
        let mut b = inner.clone();
        for i in (0..tags.len()).rev() {
            let next = tags.get(i + 1).copied().unwrap_or(0x0800);
            b = vlan(0xe005 + i as u16, next, &b);
        }
        frames.push(eth(MAC, MAC, tags.first().copied().unwrap_or(0x0800), &b));
    }
    frames.push(eth(MAC, MAC, 0x86dd, &inner));
    frames.push(eth(
        MAC,
        MAC,
        0x0800,
        &ipv6(V6_A, V6_B, 6, &tcp(0x10, 5, b"")),
    ));
    for et in [0x0806, 0x8847, 0x8864, 0x88cc, 0x0000] {
        frames.push(eth(MAC, MAC, et, &inner));
    }
    frames
}

#[test]
fn fast_path_matches_full_walk() {
    let configs = [
        DecoderConfig::default(),
        DecoderConfig {
            vxlan_ports: vec![VXLAN_PORT, 8472],
            ..DecoderConfig::default()
        },
        // What the free `decode` uses.
        DecoderConfig {
            vxlan_ports: Vec::new(),
            ..DecoderConfig::default()
        },
    ];
    let mut n = FastCount::default();
    let mut frames = sample_frames();
    let edges = edge_frames();
    let edges = {
        let n = edges.len();
        frames.extend(edges.into_iter().map(|f| (linktype::ETHERNET, f)));
        n
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let interesting = [
        0x00, 0x01, 0x05, 0x06, 0x08, 0x11, 0x12, 0x20, 0x40, 0x45, 0x46, 0x4f, 0x50, 0x60, 0x81,
        0x86, 0x88, 0xa8, 0xb5, 0xdd, 0xff,
    ];
    for (i, (link_type, frame)) in frames.iter().enumerate() {
        let link_type = *link_type;
        // One config a check past the whole frame, in turn: the tunnel ports are what differs.
        let config = std::slice::from_ref(&configs[i % configs.len()]);
        // The frame, and for Ethernet its IP packet as raw IP (after any tags).
        check_fast(&configs, link_type, frame, &mut n);
        if link_type == linktype::ETHERNET
            && let Ok(d) = decode(link_type, frame)
            && d.tunnel.is_none()
        {
            let at = 14 + 4 * d.vlans.as_slice().len();
            for lt in [
                linktype::RAW,
                linktype::IPV4,
                linktype::IPV6,
                linktype::LINUX_SLL,
            ] {
                check_fast(config, lt, &frame[at..], &mut n);
            }
        }
        // Every truncation through the headers, and a few in the payload (gen-mix frames are
        // many and alike: one in 16 of them).
        if i % 16 == 0 || i >= frames.len() - edges {
            let cuts = (0..=frame.len().min(160))
                .chain((0..8).map(|_| rng.next() as usize % (frame.len() + 1)));
            for cut in cuts {
                check_fast(config, link_type, &frame[..cut], &mut n);
            }
        }
        // Random mutations, mostly in the headers.
        let head = frame.len().min(80);
        let rounds = if i % 4 == 0 || i >= frames.len() - edges {
            32
        } else {
            0
        };
        for round in 0..rounds {
            if head == 0 {
                break;
            }
            let mut m = frame.clone();
            for _ in 0..1 + round % 3 {
                let at = rng.next() as usize % if round % 4 == 0 { m.len() } else { head };
                m[at] = if round % 2 == 0 {
                    rng.next() as u8
                } else {
                    interesting[rng.next() as usize % interesting.len()]
                };
            }
            check_fast(config, link_type, &m, &mut n);
        }
    }
    // Every header byte through the values that steer the walk, on the edge frames and a few
    // frames of the captures.
    let few = frames.len() / 64;
    for (i, (link_type, frame)) in frames.iter().enumerate() {
        if i % few != 0 && i < frames.len() - edges {
            continue;
        }
        let config = std::slice::from_ref(&configs[i % configs.len()]);
        for at in 0..frame.len().min(80) {
            for v in interesting {
                let mut m = frame.clone();
                m[at] = v;
                check_fast(config, *link_type, &m, &mut n);
            }
        }
    }
    // The fast path took most frames (it is the common case), and left some to the walk.
    assert!(n.taken > n.left / 4 && n.left > 0, "{n:?}");
    eprintln!("fast path: {n:?} over {} frames", frames.len());
}

#[test]
fn ethernet_addresses_of_the_innermost_frame() {
    const HOST: [u8; 6] = [0x3c, 0x52, 0x82, 1, 2, 3];
    const GW: [u8; 6] = [0x00, 0x11, 0x22, 3, 4, 5];
    let plain = eth(HOST, GW, 0x0800, &ipv4_udp(b"x"));
    let d = dec(&plain).unwrap();
    assert_eq!(d.macs, Some(LinkAddrs { src: HOST, dst: GW }));
    // The full walk (a third VLAN tag) agrees.
    let tagged = eth(
        HOST,
        GW,
        0x8100,
        &vlan(
            1,
            0x8100,
            &vlan(2, 0x8100, &vlan(3, 0x0800, &ipv4_udp(b"x"))),
        ),
    );
    assert_eq!(
        dec(&tagged).unwrap().macs,
        Some(LinkAddrs { src: HOST, dst: GW })
    );
    // VXLAN: the inner frame's addresses.
    let inner = eth(GW, HOST, 0x0800, &ipv4_udp(b"in"));
    let outer_frame = eth(
        MAC,
        MAC,
        0x0800,
        &ipv4(A, B, 17, &udp(1234, 4789, &vxlan(7, &inner))),
    );
    assert_eq!(
        dec(&outer_frame).unwrap().macs,
        Some(LinkAddrs { src: GW, dst: HOST })
    );
    // IP in IP: the inner packet has no Ethernet header of its own.
    let ipip = eth(HOST, GW, 0x0800, &ipv4(A, B, 4, &ipv4_udp(b"in")));
    assert_eq!(dec(&ipip).unwrap().macs, None);
    // Raw IP: none.
    assert_eq!(decode(linktype::RAW, &ipv4_udp(b"x")).unwrap().macs, None);
}
