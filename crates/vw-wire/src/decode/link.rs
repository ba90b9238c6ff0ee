//! Link layers: where a captured frame's first network layer starts.

use super::{Layer, SkipReason, read_u16, rest};
use crate::capture::linktype;

/// PPP in HDLC-like framing (RFC 1662), as captured by pppd and on PPP links.
pub const LINKTYPE_PPP: u32 = 9;
/// Linux NFLOG (netfilter log) records.
pub const LINKTYPE_NFLOG: u32 = 239;

/// The first layer of a frame of this link type, and its bytes.
pub fn start(link_type: u32, frame: &[u8]) -> Result<(Layer, &[u8]), SkipReason> {
    Ok(match link_type {
        linktype::ETHERNET => (Layer::Ethernet, frame),
        linktype::LINUX_SLL => {
            let protocol = read_u16(frame, 14).ok_or(SkipReason::TruncatedLink)?;
            (Layer::EtherType(protocol), rest(frame, 16)?)
        }
        linktype::LINUX_SLL2 => {
            let protocol = read_u16(frame, 0).ok_or(SkipReason::TruncatedLink)?;
            (Layer::EtherType(protocol), rest(frame, 20)?)
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
                2 | 10 | 24 | 28 | 30 => (Layer::Ip, rest(frame, 4)?),
                _ => return Err(SkipReason::NotIp),
            }
        }
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 | linktype::IPV6 => {
            (Layer::Ip, frame)
        }
        LINKTYPE_PPP => (Layer::Ppp, frame),
        LINKTYPE_NFLOG => (Layer::Ip, nflog_payload(frame)?),
        _ => return Err(SkipReason::UnknownLinkType),
    })
}

/// True when the decoder knows this link type.
pub fn supported(link_type: u32) -> bool {
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

/// PPP: optional 0xff 0x03 address/control, then a 1- or 2-byte protocol field (RFC 1661).
/// Returns the protocol and what follows it.
pub fn ppp(frame: &[u8]) -> Result<(u16, &[u8]), SkipReason> {
    let body = match frame {
        [0xff, 0x03, rest @ ..] => rest,
        _ => frame,
    };
    match body {
        [first, rest @ ..] if first & 1 == 1 => Ok((u16::from(*first), rest)),
        [hi, lo, rest @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => Err(SkipReason::TruncatedLink),
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
