//! Encapsulations: GRE, ERSPAN, VXLAN, Geneve, MPLS, PPPoE. (IP in IP is [`crate::ipv4`] with
//! protocol 4 or 41.)

/// GRE header (RFC 2784/2890): `flags` (C, K, S add a 4-byte field holding 7), type `proto`.
pub fn gre(flags: u16, proto: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(16 + payload.len());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&proto.to_be_bytes());
    for bit in [0x8000u16, 0x2000, 0x1000] {
        if flags & bit != 0 {
            p.extend_from_slice(&[0, 0, 0, 7]);
        }
    }
    p.extend_from_slice(payload);
    p
}

/// ERSPAN type II header (GRE 0x88be, S set): version 1, `vlan`, `session`, index 0.
pub fn erspan2(vlan: u16, session: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + payload.len());
    p.extend_from_slice(&(0x1000 | (vlan & 0x0fff)).to_be_bytes());
    p.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(payload);
    p
}

/// ERSPAN type III header (GRE 0x22eb): version 2, with `platform` the O bit and that sub-header.
pub fn erspan3(
    vlan: u16,
    session: u16,
    timestamp: u32,
    platform: Option<[u8; 8]>,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(20 + payload.len());
    p.extend_from_slice(&(0x2000 | (vlan & 0x0fff)).to_be_bytes());
    p.extend_from_slice(&(session & 0x03ff).to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, u8::from(platform.is_some())]);
    if let Some(sub) = platform {
        p.extend_from_slice(&sub);
    }
    p.extend_from_slice(payload);
    p
}

/// VXLAN header (RFC 7348): the I flag and `vni`, before `payload` (an Ethernet frame).
pub fn vxlan(vni: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + payload.len());
    p.extend_from_slice(&[0x08, 0, 0, 0]);
    p.extend_from_slice(&(vni << 8).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Geneve header (RFC 8926): version 0, type `proto`, `vni`, `options` (4-byte multiple).
pub fn geneve(proto: u16, vni: u32, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert!(
        options.len().is_multiple_of(4) && options.len() <= 252,
        "Geneve options"
    );
    let mut p = Vec::with_capacity(8 + options.len() + payload.len());
    p.extend_from_slice(&[(options.len() / 4) as u8, 0]);
    p.extend_from_slice(&proto.to_be_bytes());
    p.extend_from_slice(&(vni << 8).to_be_bytes());
    p.extend_from_slice(options);
    p.extend_from_slice(payload);
    p
}

/// MPLS label stack (RFC 3032), outermost label first: TC 0, TTL 64, S on the last.
pub fn mpls(labels: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(4 * labels.len() + payload.len());
    for (i, label) in labels.iter().enumerate() {
        let bottom = u32::from(i + 1 == labels.len());
        p.extend_from_slice(&((label << 12) | (bottom << 8) | 64).to_be_bytes());
    }
    p.extend_from_slice(payload);
    p
}

/// PPPoE session header (RFC 2516) and the PPP `protocol` (0x0021 IPv4, 0x0057 IPv6).
pub fn pppoe(session: u16, protocol: u16, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + payload.len());
    p.extend_from_slice(&[0x11, 0x00]);
    p.extend_from_slice(&session.to_be_bytes());
    p.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    p.extend_from_slice(&protocol.to_be_bytes());
    p.extend_from_slice(payload);
    p
}
