//! Tunnel and label headers: each function reads one header and says which layer follows.
//! None of them recurse; the decoder loop in `mod.rs` walks into whatever they return.

use super::{Layer, SkipReason, read_u16, rest};

/// EtherTypes carried by GRE, Geneve and the link layers.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad (QinQ service tag).
    pub const QINQ: u16 = 0x88a8;
    /// Pre-standard QinQ.
    pub const QINQ_OLD: u16 = 0x9100;
    /// MPLS unicast.
    pub const MPLS_UC: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MC: u16 = 0x8848;
    /// PPPoE session stage.
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Transparent Ethernet bridging (GRE, Geneve).
    pub const TEB: u16 = 0x6558;
    /// ERSPAN type I and II (GRE).
    pub const ERSPAN_I_II: u16 = 0x88be;
    /// ERSPAN type III (GRE).
    pub const ERSPAN_III: u16 = 0x22eb;
    /// PPP (GRE version 1, PPTP).
    pub const PPP: u16 = 0x880b;
}

/// What an EtherType (in Ethernet, GRE or Geneve) leads to; None when we do not decode it.
pub fn by_ethertype(et: u16) -> Option<Layer> {
    Some(match et {
        ethertype::IPV4 | ethertype::IPV6 => Layer::Ip,
        ethertype::TEB => Layer::Ethernet,
        ethertype::MPLS_UC | ethertype::MPLS_MC => Layer::Mpls,
        ethertype::PPP => Layer::Ppp,
        _ => return None,
    })
}

/// GRE (RFC 2784, RFC 2890 key and sequence; RFC 2637 version 1 for PPTP), including the ERSPAN
/// headers that follow GRE protocol 0x88be / 0x22eb.
pub fn gre(data: &[u8]) -> Result<(Layer, &[u8]), SkipReason> {
    let flags = read_u16(data, 0).ok_or(SkipReason::BadTunnel)?;
    let proto = read_u16(data, 2).ok_or(SkipReason::BadTunnel)?;
    let version = flags & 0x0007;
    let (checksum, routing, key, seq) = (
        flags & 0x8000 != 0,
        flags & 0x4000 != 0,
        flags & 0x2000 != 0,
        flags & 0x1000 != 0,
    );
    // Source routing (RFC 1701, deprecated) has a variable list we do not walk.
    if routing || version > 1 {
        return Err(SkipReason::BadTunnel);
    }
    let mut len = 4;
    if version == 0 && checksum {
        len += 4;
    }
    if key {
        len += 4;
    }
    if seq {
        len += 4;
    }
    // Version 1 (enhanced GRE, PPTP): acknowledgement number when the A bit is set.
    if version == 1 && flags & 0x0080 != 0 {
        len += 4;
    }
    let inner = rest(data, len).map_err(|_| SkipReason::BadTunnel)?;
    match proto {
        // ERSPAN type II has the sequence bit and an 8-byte header (version 1); type I has
        // neither, the mirrored frame follows GRE directly.
        ethertype::ERSPAN_I_II if seq => {
            let ver = inner.first().ok_or(SkipReason::BadTunnel)? >> 4;
            if ver != 1 {
                return Err(SkipReason::BadTunnel);
            }
            Ok((
                Layer::Ethernet,
                rest(inner, 8).map_err(|_| SkipReason::BadTunnel)?,
            ))
        }
        ethertype::ERSPAN_I_II => Ok((Layer::Ethernet, inner)),
        ethertype::ERSPAN_III => erspan3(inner),
        other => Ok((
            by_ethertype(other).ok_or(SkipReason::UnknownTunnelPayload)?,
            inner,
        )),
    }
}

/// ERSPAN type III: 12-byte header, then an 8-byte platform sub-header when the O bit (lowest
/// bit of byte 11) is set; frame type (FT, byte 10 bits 6..2) 0 is Ethernet, 2 is IP.
fn erspan3(data: &[u8]) -> Result<(Layer, &[u8]), SkipReason> {
    let header = data.get(..12).ok_or(SkipReason::BadTunnel)?;
    if header[0] >> 4 != 2 {
        return Err(SkipReason::BadTunnel);
    }
    let len = if header[11] & 0x01 != 0 { 20 } else { 12 };
    let inner = rest(data, len).map_err(|_| SkipReason::BadTunnel)?;
    match (header[10] >> 2) & 0x1f {
        0 => Ok((Layer::Ethernet, inner)),
        2 => Ok((Layer::Ip, inner)),
        _ => Err(SkipReason::UnknownTunnelPayload),
    }
}

/// VXLAN (RFC 7348): 8 bytes, the I flag (0x08) must be set; an Ethernet frame follows.
/// None when the payload does not look like VXLAN (then it is plain UDP).
pub fn vxlan(data: &[u8]) -> Option<&[u8]> {
    let header = data.get(..8)?;
    // Only the I flag is required (RFC 7348 5: other bits are reserved and ignored on receipt,
    // as tshark and Suricata do); port 4789 is VXLAN, not VXLAN-GPE.
    if header[0] & 0x08 == 0 {
        return None;
    }
    data.get(8..)
}

/// Geneve (RFC 8926): version 0, options of `opt_len * 4` bytes, then the protocol type's frame.
pub fn geneve(data: &[u8]) -> Result<(Layer, &[u8]), SkipReason> {
    let first = *data.first().ok_or(SkipReason::BadTunnel)?;
    if first >> 6 != 0 {
        return Err(SkipReason::BadTunnel);
    }
    let len = 8 + usize::from(first & 0x3f) * 4;
    let proto = read_u16(data, 2).ok_or(SkipReason::BadTunnel)?;
    let inner = rest(data, len).map_err(|_| SkipReason::BadTunnel)?;
    let layer = by_ethertype(proto).ok_or(SkipReason::UnknownTunnelPayload)?;
    Ok((layer, inner))
}

/// An MPLS label stack (RFC 3032) up to the bottom-of-stack label, then the payload guessed from
/// its first nibble (4 or 6: IP; 0: a pseudowire control word (RFC 4385) then Ethernet).
/// Returns the layer after the stack, its bytes, and whether it is a pseudowire.
pub fn mpls(mut data: &[u8]) -> Result<(Layer, &[u8], bool), SkipReason> {
    loop {
        let entry = data.get(..4).ok_or(SkipReason::BadTunnel)?;
        let bottom = entry[2] & 0x01 != 0;
        data = rest(data, 4).map_err(|_| SkipReason::BadTunnel)?;
        if bottom {
            break;
        }
    }
    match data.first().map(|b| b >> 4) {
        Some(4) | Some(6) => Ok((Layer::Ip, data, false)),
        Some(0) => Ok((
            Layer::Ethernet,
            rest(data, 4).map_err(|_| SkipReason::BadTunnel)?,
            true,
        )),
        Some(_) => Err(SkipReason::UnknownTunnelPayload),
        None => Err(SkipReason::BadTunnel),
    }
}

/// PPPoE session stage (RFC 2516): version/type 0x11, code 0, session id, length, then PPP.
pub fn pppoe_session(data: &[u8]) -> Result<&[u8], SkipReason> {
    let header = data.get(..6).ok_or(SkipReason::TruncatedLink)?;
    if header[0] != 0x11 || header[1] != 0 {
        return Err(SkipReason::NotIp);
    }
    let len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    let body = rest(data, 6)?;
    Ok(body.get(..len).unwrap_or(body))
}

/// Teredo (RFC 4380): optional authentication and origin indications, then an IPv6 packet whose
/// payload length matches the datagram exactly. None when it does not look like Teredo.
pub fn teredo(mut data: &[u8]) -> Option<&[u8]> {
    // Authentication indicator: 0x0001, id-len, auth-len, id, auth, 8-byte nonce, confirmation.
    if data.get(..2)? == [0x00, 0x01] {
        let id_len = usize::from(*data.get(2)?);
        let auth_len = usize::from(*data.get(3)?);
        data = data.get(4 + id_len + auth_len + 9..)?;
    }
    // Origin indication: 0x0000, port, address (8 bytes).
    if data.get(..2)? == [0x00, 0x00] {
        data = data.get(8..)?;
    }
    let first = *data.first()?;
    let payload_len = usize::from(read_u16(data, 4)?);
    (first >> 4 == 6 && data.len() == 40 + payload_len).then_some(data)
}
