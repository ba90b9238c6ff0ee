//! Link, network and transport layers: from a captured frame to the innermost IP addresses,
//! ports and transport payload, all borrowed from the frame.
//!
//! IP headers (with IPv6 extension headers) are sliced by `etherparse`; the link layers that
//! etherparse does not cover (Linux SLL/SLL2, BSD null/loop, NFLOG, PPP) and the 802.1Q loop are
//! read here. A packet that carries nothing we can extract from is not an error: it is skipped
//! with a [`SkipReason`], counted per reason in the scan summary.

use std::net::IpAddr;

use etherparse::{LaxIpSlice, TcpHeaderSlice};

use crate::capture::linktype;

/// Most VLAN ids kept per packet (QinQ plus one more); deeper tags are still decoded, not kept.
pub const MAX_VLANS: usize = 3;

/// IP protocol numbers we extract from.
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// EtherTypes the link loop understands.
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// Why a packet produced no transport payload. Each has a stable label for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The capture's link type is not one we decode.
    UnknownLinkType,
    /// The frame ends inside a link-layer header.
    TruncatedLink,
    /// Link layer carries something other than IP (ARP, LLDP, STP, ...).
    NotIp,
    /// IP header missing, cut short or invalid.
    BadIp,
    /// An IP fragment; reassembly comes with the decoder issue, until then fragments are counted.
    IpFragment,
    /// IP carries a protocol other than TCP and UDP (ICMP, tunnels not yet decoded, ...).
    OtherTransport,
    /// TCP or UDP header cut short or invalid.
    BadTransport,
}

impl SkipReason {
    /// Every reason, in the order the summary prints them.
    pub const ALL: [SkipReason; 7] = [
        SkipReason::UnknownLinkType,
        SkipReason::TruncatedLink,
        SkipReason::NotIp,
        SkipReason::BadIp,
        SkipReason::IpFragment,
        SkipReason::OtherTransport,
        SkipReason::BadTransport,
    ];

    /// Stable label for summaries and stats.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::UnknownLinkType => "unknown-link-type",
            SkipReason::TruncatedLink => "truncated-link-header",
            SkipReason::NotIp => "not-ip",
            SkipReason::BadIp => "bad-ip-header",
            SkipReason::IpFragment => "ip-fragment",
            SkipReason::OtherTransport => "other-ip-protocol",
            SkipReason::BadTransport => "bad-transport-header",
        }
    }

    /// Index into a per-reason counter array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Transport protocol of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl L4Proto {
    /// EVE's `proto` value.
    pub fn eve_name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "TCP",
            L4Proto::Udp => "UDP",
        }
    }

    /// IANA protocol number (for flow hashing and Community ID).
    pub fn number(self) -> u8 {
        match self {
            L4Proto::Tcp => IPPROTO_TCP,
            L4Proto::Udp => IPPROTO_UDP,
        }
    }
}

/// TCP flag bits kept from the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// Sequence number (kept with the flags: the TCP header facts the flow layer needs).
    pub seq: u32,
}

/// VLAN ids of a frame, outermost first, held inline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VlanIds {
    ids: [u16; MAX_VLANS],
    len: u8,
}

impl VlanIds {
    /// The ids, outermost first.
    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..usize::from(self.len)]
    }

    fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.len)) {
            *slot = id;
            self.len += 1;
        }
    }
}

/// The part of a packet the extractors need, borrowed from the frame.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// Source address of the innermost IP header.
    pub src_ip: IpAddr,
    /// Destination address of the innermost IP header.
    pub dst_ip: IpAddr,
    /// TCP or UDP.
    pub proto: L4Proto,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP flags (all false for UDP).
    pub tcp_flags: TcpFlags,
    /// Transport payload (may be cut short by the snaplen).
    pub payload: &'a [u8],
    /// 802.1Q/QinQ ids met on the way in.
    pub vlans: VlanIds,
}

/// Decode one frame of the given link type down to its transport payload.
pub fn decode(link_type: u32, frame: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    let mut vlans = VlanIds::default();
    let ip = match link_type {
        linktype::ETHERNET => {
            let ethertype = read_u16(frame, 12).ok_or(SkipReason::TruncatedLink)?;
            ethertype_payload(ethertype, rest(frame, 14)?, &mut vlans)?
        }
        linktype::LINUX_SLL => {
            let protocol = read_u16(frame, 14).ok_or(SkipReason::TruncatedLink)?;
            ethertype_payload(protocol, rest(frame, 16)?, &mut vlans)?
        }
        linktype::LINUX_SLL2 => {
            let protocol = read_u16(frame, 0).ok_or(SkipReason::TruncatedLink)?;
            ethertype_payload(protocol, rest(frame, 20)?, &mut vlans)?
        }
        linktype::NULL | linktype::LOOP => {
            let raw = frame.get(..4).ok_or(SkipReason::TruncatedLink)?;
            let bytes = [raw[0], raw[1], raw[2], raw[3]];
            // DLT_NULL stores the family in the capturing host's byte order; a real family is
            // small, so whichever reading is small is the right one. DLT_LOOP is big-endian.
            let family = if link_type == linktype::LOOP {
                u32::from_be_bytes(bytes)
            } else {
                let le = u32::from_le_bytes(bytes);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(bytes)
                }
            };
            match family {
                // AF_INET everywhere; AF_INET6 is 10 (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD),
                // 30 (macOS). Anything else is not IP.
                2 | 10 | 24 | 28 | 30 => rest(frame, 4)?,
                _ => return Err(SkipReason::NotIp),
            }
        }
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 | linktype::IPV6 => {
            frame
        }
        LINKTYPE_PPP => ppp_payload(frame)?,
        LINKTYPE_NFLOG => nflog_payload(frame)?,
        _ => return Err(SkipReason::UnknownLinkType),
    };
    decode_ip(ip, vlans)
}

/// PPP in HDLC-like framing (RFC 1662), as captured by pppd and on PPP links.
const LINKTYPE_PPP: u32 = 9;
/// Linux NFLOG (netfilter log) records.
const LINKTYPE_NFLOG: u32 = 239;

/// True when [`decode`] knows this link type; lets the pipeline report an unknown one once per
/// interface instead of once per packet.
pub fn link_type_supported(link_type: u32) -> bool {
    matches!(
        link_type,
        linktype::ETHERNET
            | linktype::LINUX_SLL
            | linktype::LINUX_SLL2
            | linktype::NULL
            | linktype::LOOP
            | linktype::RAW
            | linktype::RAW_12
            | linktype::RAW_14
            | linktype::IPV4
            | linktype::IPV6
            | LINKTYPE_PPP
            | LINKTYPE_NFLOG
    )
}

fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn rest(data: &[u8], from: usize) -> Result<&[u8], SkipReason> {
    data.get(from..).ok_or(SkipReason::TruncatedLink)
}

/// Follow 802.1Q/QinQ tags to the IP header.
fn ethertype_payload<'a>(
    mut ethertype: u16,
    mut data: &'a [u8],
    vlans: &mut VlanIds,
) -> Result<&'a [u8], SkipReason> {
    loop {
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => return Ok(data),
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD => {
                let tci = read_u16(data, 0).ok_or(SkipReason::TruncatedLink)?;
                vlans.push(tci & 0x0fff);
                ethertype = read_u16(data, 2).ok_or(SkipReason::TruncatedLink)?;
                data = rest(data, 4)?;
            }
            _ => return Err(SkipReason::NotIp),
        }
    }
}

/// PPP: optional 0xff 0x03 address/control, then a 1- or 2-byte protocol field.
fn ppp_payload(frame: &[u8]) -> Result<&[u8], SkipReason> {
    let body = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    let (protocol, inner) = match body {
        [first, rest @ ..] if first & 1 == 1 => (u16::from(*first), rest),
        [hi, lo, rest @ ..] => (u16::from_be_bytes([*hi, *lo]), rest),
        _ => return Err(SkipReason::TruncatedLink),
    };
    match protocol {
        0x0021 | 0x0057 => Ok(inner),
        _ => Err(SkipReason::NotIp),
    }
}

/// NFLOG: 4-byte header, then TLVs (little-endian length and type, 4-byte aligned);
/// type 9 holds the packet, starting at its IP header.
fn nflog_payload(frame: &[u8]) -> Result<&[u8], SkipReason> {
    let mut at = 4usize;
    if frame.len() < at {
        return Err(SkipReason::TruncatedLink);
    }
    while let Some(tlv) = frame.get(at..at + 4) {
        let len = usize::from(u16::from_le_bytes([tlv[0], tlv[1]]));
        let kind = u16::from_le_bytes([tlv[2], tlv[3]]);
        if len < 4 {
            return Err(SkipReason::TruncatedLink);
        }
        if kind == 9 {
            let end = (at + len).min(frame.len());
            return frame.get(at + 4..end).ok_or(SkipReason::TruncatedLink);
        }
        at += (len + 3) & !3;
    }
    Err(SkipReason::NotIp)
}

/// IP (v4 or v6, with extension headers) then TCP or UDP.
fn decode_ip(ip: &[u8], vlans: VlanIds) -> Result<Decoded<'_>, SkipReason> {
    let (slice, _ext_error) = LaxIpSlice::from_slice(ip).map_err(|_| SkipReason::BadIp)?;
    let payload = slice.payload();
    if payload.fragmented {
        return Err(SkipReason::IpFragment);
    }
    let (src_ip, dst_ip) = (slice.source_addr(), slice.destination_addr());
    let data = payload.payload;
    match payload.ip_number.0 {
        IPPROTO_UDP => {
            let header = data.get(..8).ok_or(SkipReason::BadTransport)?;
            let src_port = u16::from_be_bytes([header[0], header[1]]);
            let dst_port = u16::from_be_bytes([header[2], header[3]]);
            let udp_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
            // A UDP length shorter than the header is invalid; longer than the data means the
            // snaplen cut it: keep what we have.
            if udp_len < 8 {
                return Err(SkipReason::BadTransport);
            }
            let end = udp_len.min(data.len());
            Ok(Decoded {
                src_ip,
                dst_ip,
                proto: L4Proto::Udp,
                src_port,
                dst_port,
                tcp_flags: TcpFlags::default(),
                payload: data.get(8..end).unwrap_or(&[]),
                vlans,
            })
        }
        IPPROTO_TCP => {
            let tcp = TcpHeaderSlice::from_slice(data).map_err(|_| SkipReason::BadTransport)?;
            let header_len = tcp.slice().len();
            Ok(Decoded {
                src_ip,
                dst_ip,
                proto: L4Proto::Tcp,
                src_port: tcp.source_port(),
                dst_port: tcp.destination_port(),
                tcp_flags: TcpFlags {
                    syn: tcp.syn(),
                    ack: tcp.ack(),
                    fin: tcp.fin(),
                    rst: tcp.rst(),
                    seq: tcp.sequence_number(),
                },
                payload: data.get(header_len..).unwrap_or(&[]),
                vlans,
            })
        }
        _ => Err(SkipReason::OtherTransport),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 + UDP 10.0.0.1:5555 -> 10.0.0.53:53 carrying `payload`.
    fn ipv4_udp(payload: &[u8]) -> Vec<u8> {
        let total = 20 + 8 + payload.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            1,
            0,
            0,
            64,
            17,
            0,
            0,
            10,
            0,
            0,
            1,
            10,
            0,
            0,
            53,
        ];
        let udp_len = 8 + payload.len();
        p.extend_from_slice(&[0x15, 0xb3, 0, 53, (udp_len >> 8) as u8, udp_len as u8, 0, 0]);
        p.extend_from_slice(payload);
        p
    }

    #[test]
    fn ethernet_with_two_vlans() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00]);
        frame.extend(ipv4_udp(b"hello"));
        let d = decode(linktype::ETHERNET, &frame).expect("decodes");
        assert_eq!(d.vlans.as_slice(), &[100, 200]);
        assert_eq!(d.proto, L4Proto::Udp);
        assert_eq!((d.src_port, d.dst_port), (5555, 53));
        assert_eq!(d.payload, b"hello");
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
    fn skip_reasons() {
        assert_eq!(
            decode(999, &[0; 40]).err(),
            Some(SkipReason::UnknownLinkType)
        );
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 0]);
        assert_eq!(
            decode(linktype::ETHERNET, &arp).err(),
            Some(SkipReason::NotIp)
        );
        let mut frag = ipv4_udp(b"frag");
        frag[6] = 0x20; // more fragments
        assert_eq!(
            decode(linktype::RAW, &frag).err(),
            Some(SkipReason::IpFragment)
        );
    }

    #[test]
    fn every_truncation_is_handled() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
        frame.extend(ipv4_udp(b"payload"));
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
            }
        }
    }
}
