//! Classic pcap files (microsecond timestamps, little-endian) around crafted frames, for tests
//! that run the binary on a capture.

/// Link type of raw IPv4/IPv6 packets (no link header), `LINKTYPE_RAW`.
pub const LINKTYPE_RAW: u32 = 101;
/// Link type of Ethernet frames.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// A pcap file of `link_type` holding `packets` as (microseconds since the epoch, frame).
pub fn file(link_type: u32, packets: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + packets.iter().map(|(_, p)| 16 + p.len()).sum::<usize>());
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0; 8]); // thiszone, sigfigs
    out.extend_from_slice(&262_144u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&link_type.to_le_bytes());
    for (micros, p) in packets {
        out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn header_and_records() {
        let f = super::file(super::LINKTYPE_RAW, &[(1_500_000, vec![0x45; 3])]);
        assert_eq!(f.len(), 24 + 16 + 3);
        assert_eq!(&f[..4], &[0xd4, 0xc3, 0xb2, 0xa1]);
        assert_eq!(&f[20..24], &101u32.to_le_bytes());
        assert_eq!(&f[24..28], &1u32.to_le_bytes());
        assert_eq!(&f[28..32], &500_000u32.to_le_bytes());
    }
}
