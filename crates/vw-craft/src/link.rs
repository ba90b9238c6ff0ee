//! Link layers: Ethernet II, 802.1Q tags, Linux cooked captures.

/// EtherType of IPv4.
pub const ETH_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETH_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q tag.
pub const ETH_VLAN: u16 = 0x8100;

/// ARPHRD_ETHER, the link type of the cooked captures' source address.
const ARPHRD_ETHER: u16 = 1;

/// Ethernet II frame from `src` to `dst` carrying `payload` as `ethertype`.
pub fn eth(src: [u8; 6], dst: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// 802.1Q tag (TCI: priority, DEI, VLAN id) and the EtherType of `payload` that follows it.
pub fn vlan(tci: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + payload.len());
    f.extend_from_slice(&tci.to_be_bytes());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked capture (SLL) header: packet type, Ethernet source address, EtherType.
pub fn sll(packet_type: u16, src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + payload.len());
    f.extend_from_slice(&packet_type.to_be_bytes());
    f.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f.extend_from_slice(&6u16.to_be_bytes());
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Linux cooked capture v2 (SLL2) header: EtherType, interface, packet type, source address.
pub fn sll2(
    ifindex: u32,
    packet_type: u8,
    src: [u8; 6],
    ethertype: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(20 + payload.len());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&ifindex.to_be_bytes());
    f.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
    f.push(packet_type);
    f.push(6);
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}
