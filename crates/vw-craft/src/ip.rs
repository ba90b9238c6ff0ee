//! IPv4 and IPv6 headers, the Internet checksum, TCP/UDP checksums.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 flags/fragment offset: don't fragment.
pub const DF: u16 = 0x4000;
/// IPv4 flags/fragment offset: more fragments (or it with the offset in 8-byte units).
pub const MF: u16 = 0x2000;

/// An IPv4 header without options; [`Ipv4::new`] gives the defaults, struct update the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4 {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    /// Protocol of the payload (6 TCP, 17 UDP, 47 GRE, 4 IPv4, 41 IPv6, ...).
    pub proto: u8,
    pub id: u16,
    /// Flags and fragment offset ([`DF`], [`MF`] | offset in 8-byte units).
    pub frag: u16,
    pub ttl: u8,
}

impl Ipv4 {
    /// Header from `src` to `dst` for `proto`: id 1, DF, TTL 64.
    pub fn new(src: impl Into<Ipv4Addr>, dst: impl Into<Ipv4Addr>, proto: u8) -> Ipv4 {
        Ipv4 {
            src: src.into(),
            dst: dst.into(),
            proto,
            id: 1,
            frag: DF,
            ttl: 64,
        }
    }

    /// The header, with its checksum, followed by `payload`.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(20 + payload.len());
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.frag.to_be_bytes());
        p.extend_from_slice(&[self.ttl, self.proto, 0, 0]);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        let c = checksum(sum(0, &p));
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }
}

/// IPv4 packet from `src` to `dst` carrying `payload` as `proto` (id 1, DF, TTL 64).
pub fn ipv4(
    src: impl Into<Ipv4Addr>,
    dst: impl Into<Ipv4Addr>,
    proto: u8,
    payload: &[u8],
) -> Vec<u8> {
    Ipv4::new(src, dst, proto).build(payload)
}

/// An IPv6 header without extension headers; [`Ipv6::new`] gives the defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    /// Next header (the payload's protocol or an extension header).
    pub next: u8,
    /// Flow label (20 bits); the traffic class is 0.
    pub flow_label: u32,
    pub hop_limit: u8,
}

impl Ipv6 {
    /// Header from `src` to `dst` for `next`: flow label 0, hop limit 64.
    pub fn new(src: impl Into<Ipv6Addr>, dst: impl Into<Ipv6Addr>, next: u8) -> Ipv6 {
        Ipv6 {
            src: src.into(),
            dst: dst.into(),
            next,
            flow_label: 0,
            hop_limit: 64,
        }
    }

    /// The header followed by `payload`.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        let mut p = Vec::with_capacity(40 + payload.len());
        p.extend_from_slice(&(0x6000_0000 | (self.flow_label & 0xf_ffff)).to_be_bytes());
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[self.next, self.hop_limit]);
        p.extend_from_slice(&self.src.octets());
        p.extend_from_slice(&self.dst.octets());
        p.extend_from_slice(payload);
        p
    }
}

/// IPv6 packet from `src` to `dst` carrying `payload` as `next` (flow label 0, hop limit 64).
pub fn ipv6(
    src: impl Into<Ipv6Addr>,
    dst: impl Into<Ipv6Addr>,
    next: u8,
    payload: &[u8],
) -> Vec<u8> {
    Ipv6::new(src, dst, next).build(payload)
}

/// Writes the checksum of TCP (`proto` 6) or UDP (17) `seg` sent from `src` to `dst`.
pub fn set_l4_checksum(src: IpAddr, dst: IpAddr, proto: u8, seg: &mut [u8]) {
    let at = if proto == 6 { 16 } else { 6 };
    seg[at..at + 2].fill(0);
    let mut acc = sum(sum(0, &octets(src)), &octets(dst));
    acc += u64::from(proto) + seg.len() as u64;
    let mut c = checksum(sum(acc, seg));
    // UDP sends a computed 0 as 0xffff (0 means no checksum).
    if proto == 17 && c == 0 {
        c = 0xffff;
    }
    seg[at..at + 2].copy_from_slice(&c.to_be_bytes());
}

fn octets(a: IpAddr) -> Vec<u8> {
    match a {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// Adds `data` as big-endian 16-bit words (an odd last byte padded with zero) to `acc`.
fn sum(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [b] = words.remainder() {
        acc += u64::from(*b) << 8;
    }
    acc
}

/// The Internet checksum (RFC 1071) of a sum: folded to 16 bits, complemented.
fn checksum(mut acc: u64) -> u16 {
    while acc >> 16 != 0 {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksums_to_zero() {
        let p = ipv4([10, 0, 0, 1], [192, 0, 2, 1], 17, b"x");
        assert_eq!(checksum(sum(0, &p[..20])), 0);
        // RFC 1071's example header.
        let h = [
            0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0,
            0xc7,
        ];
        assert_eq!(checksum(sum(0, &h)), 0xb861);
    }

    #[test]
    fn l4_checksum_verifies() {
        let (s, d) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        let mut seg = crate::udp(5353, 53, b"odd");
        set_l4_checksum(s, d, 17, &mut seg);
        let acc = sum(sum(0, &octets(s)), &octets(d)) + 17 + seg.len() as u64;
        assert_eq!(checksum(sum(acc, &seg)), 0);
    }
}
