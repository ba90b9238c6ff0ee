//! The fast path: the frames that make up nearly all traffic, decoded straight through without
//! the general walk's layer loop and without etherparse.
//!
//! It accepts only:
//! - link type Ethernet (up to two 802.1Q / 802.1ad / old-QinQ tags) or raw IP
//!   (`RAW`, `RAW_12`, `RAW_14`, `IPV4`, `IPV6`);
//! - IPv4 with any valid IHL (options skipped) that is not a fragment (MF clear, offset 0),
//!   carrying TCP or UDP directly; or IPv6 whose fixed header's next header is TCP or UDP
//!   (no extension headers);
//! - a TCP header with a valid data offset, wholly in the frame; or a UDP header with a length
//!   of at least 8 whose destination port is no tunnel port (VXLAN incl. configured ports,
//!   Geneve, GRE-in-UDP, MPLS-in-UDP) and with neither port Teredo.
//!
//! Everything else (other link types, more tags, MPLS, PPPoE, fragments, IPv4 AH, IPv6
//! extension headers, tunnels, other protocols, any header cut short or invalid) returns `None`
//! and goes to the full walk, which is the reference: for every frame this accepts, the result
//! is the one the full walk gives (the `fast_path_matches_full_walk` test checks this on
//! captures, truncations and mutations). The length rules are the full walk's, which are
//! etherparse's lax ones: an IPv4 total length below the header length or beyond the frame,
//! and an IPv6 payload length of 0 or beyond the frame, mean "up to the end of the frame";
//! otherwise the IP payload ends where the header says (Ethernet padding is cut off). A UDP
//! length beyond the data is cut to the data. No checksum is checked, by either path.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tunnel::ethertype;
use super::{
    Decoded, DecoderConfig, GENEVE_PORT, GRE_UDP_PORT, IPPROTO_TCP, IPPROTO_UDP, L4Proto,
    LinkAddrs, MPLS_UDP_PORT, TEREDO_PORT, TcpFlags, VXLAN_PORT, VlanIds,
};
use crate::capture::linktype;

/// Most VLAN tags the fast path steps over (QinQ); a third goes to the full walk.
const MAX_FAST_TAGS: usize = 2;

/// Decode a common frame (see the module doc), or `None` to leave it to the full walk.
///
/// Always inlined into its two callers (the walk and `dispatch_hash`): the `Decoded` is then
/// built in the caller's result instead of being copied out of an `Option` (about 20
/// instructions a packet, measured with callgrind).
#[inline(always)]
pub(super) fn decode<'a>(
    config: &DecoderConfig,
    link_type: u32,
    frame: &'a [u8],
) -> Option<Decoded<'a>> {
    let mut vlans = VlanIds::default();
    let mut macs = None;
    let ip = match link_type {
        linktype::ETHERNET => {
            let (eth, mut data) = frame.split_first_chunk::<14>()?;
            macs = Some(LinkAddrs::of_header(eth));
            let mut et = u16::from_be_bytes([eth[12], eth[13]]);
            for _ in 0..MAX_FAST_TAGS {
                if !matches!(et, ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD) {
                    break;
                }
                let (tag, inner) = data.split_first_chunk::<4>()?;
                vlans.push(u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff);
                et = u16::from_be_bytes([tag[2], tag[3]]);
                data = inner;
            }
            // Either EtherType leads to the IP layer, which goes by the version nibble.
            if et != ethertype::IPV4 && et != ethertype::IPV6 {
                return None;
            }
            data
        }
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 | linktype::IPV6 => {
            frame
        }
        _ => return None,
    };
    let (src_ip, dst_ip, proto, l4) = ip_layer(ip)?;
    let t = match proto {
        IPPROTO_TCP => tcp(l4)?,
        IPPROTO_UDP => udp(config, l4)?,
        _ => return None,
    };
    Some(Decoded {
        src_ip,
        dst_ip,
        proto: t.proto,
        src_port: t.src_port,
        dst_port: t.dst_port,
        tcp_flags: t.tcp_flags,
        payload: t.payload,
        vlans,
        tunnel: None,
        reassembled: false,
        macs,
    })
}

/// An unfragmented IPv4 header or an IPv6 header without extensions: addresses, protocol and
/// the payload as far as the header's length field says (or to the end of `ip`).
#[inline]
fn ip_layer(ip: &[u8]) -> Option<(IpAddr, IpAddr, u8, &[u8])> {
    match ip.first()? >> 4 {
        4 => {
            let h = ip.first_chunk::<20>()?;
            let header_len = usize::from(h[0] & 0x0f) * 4;
            // IHL < 5 is invalid; a fragment (MF set or an offset; DF and the reserved bit do
            // not count) needs reassembly.
            let frag = u16::from_be_bytes([h[6], h[7]]) & 0x3fff;
            if header_len < 20 || frag != 0 {
                return None;
            }
            // The total length ends the payload (cutting Ethernet padding off) unless it is
            // below the header length or past the frame: then the frame's end does.
            let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let end = if total < header_len || total > ip.len() {
                ip.len()
            } else {
                total
            };
            // None when the options run past the frame.
            let payload = ip.get(header_len..end)?;
            let src = Ipv4Addr::new(h[12], h[13], h[14], h[15]);
            let dst = Ipv4Addr::new(h[16], h[17], h[18], h[19]);
            Some((src.into(), dst.into(), h[9], payload))
        }
        6 => {
            let (h, body) = ip.split_first_chunk::<40>()?;
            // The payload length ends the payload unless it is 0 (jumbogram or unset) or past
            // the frame: then the frame's end does.
            let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let payload = match body.get(..payload_len) {
                Some(p) if payload_len != 0 => p,
                _ => body,
            };
            let (src, dst) = (addr6(h, 8)?, addr6(h, 24)?);
            Some((src.into(), dst.into(), h[6], payload))
        }
        _ => None,
    }
}

/// The IPv6 address at `at` of a fixed header (a constant offset: the check folds away).
#[inline]
fn addr6(h: &[u8; 40], at: usize) -> Option<Ipv6Addr> {
    let bytes = h.get(at..)?.first_chunk::<16>()?;
    Some(Ipv6Addr::from(*bytes))
}

/// The transport layer's part of [`Decoded`].
struct Transport<'a> {
    proto: L4Proto,
    src_port: u16,
    dst_port: u16,
    tcp_flags: TcpFlags,
    payload: &'a [u8],
}

/// A TCP header whose data offset is at least 5 and which lies wholly in `l4`.
#[inline]
fn tcp(l4: &[u8]) -> Option<Transport<'_>> {
    let h = l4.first_chunk::<20>()?;
    let header_len = usize::from(h[12] >> 4) * 4;
    if header_len < 20 {
        return None;
    }
    let flags = h[13];
    Some(Transport {
        proto: L4Proto::Tcp,
        src_port: u16::from_be_bytes([h[0], h[1]]),
        dst_port: u16::from_be_bytes([h[2], h[3]]),
        tcp_flags: TcpFlags {
            syn: flags & 0x02 != 0,
            ack: flags & 0x10 != 0,
            fin: flags & 0x01 != 0,
            rst: flags & 0x04 != 0,
            seq: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
        },
        payload: l4.get(header_len..)?,
    })
}

/// A UDP header with a length of at least 8, on no tunnel port.
#[inline]
fn udp<'a>(config: &DecoderConfig, l4: &'a [u8]) -> Option<Transport<'a>> {
    let h = l4.first_chunk::<8>()?;
    let src_port = u16::from_be_bytes([h[0], h[1]]);
    let dst_port = u16::from_be_bytes([h[2], h[3]]);
    let tunnel_port = matches!(
        dst_port,
        VXLAN_PORT | GENEVE_PORT | GRE_UDP_PORT | MPLS_UDP_PORT | TEREDO_PORT
    ) || src_port == TEREDO_PORT
        || config.vxlan_ports.contains(&dst_port);
    let udp_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
    if tunnel_port || udp_len < 8 {
        return None;
    }
    Some(Transport {
        proto: L4Proto::Udp,
        src_port,
        dst_port,
        tcp_flags: TcpFlags::default(),
        // A length beyond the data: the snaplen cut it; keep what there is.
        payload: l4.get(8..udp_len.min(l4.len()))?,
    })
}
