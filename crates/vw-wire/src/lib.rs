//! The wire: packet sources (`capture`: pcap/pcapng files, gzip, stdin, libpcap live
//! capture), the layer decoder (`decode`: link layers, VLAN, MPLS, tunnels, IP reassembly,
//! TCP/UDP) and the allocation-free protocol parsers (`proto`: DNS, TLS ClientHello and JA4,
//! QUIC Initials, HTTP request heads). Everything borrows from the packet; nothing here knows
//! signatures, flows, records or outputs.

pub mod capture;
pub mod decode;
pub mod proto;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
