//! Packet crafting for tests, benches, fuzz seeds and examples; never a dependency of the
//! product.
//!
//! Every builder returns the bytes of one layer wrapped around the bytes it is given, so a
//! frame reads from the outside in, as in scapy:
//!
//! ```
//! use vw_craft::{SYN, eth, ipv4, tcp};
//!
//! let syn = tcp(40000, 443, 1, 0, SYN, &[]);
//! let ip = ipv4([10, 0, 0, 1], [192, 0, 2, 1], 6, &syn);
//! let frame = eth([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 0x0800, &ip);
//! assert_eq!(frame.len(), 14 + 20 + 20);
//! ```
//!
//! Fields a builder does not take have the values most tests want (IPv4: id 1, DF, TTL 64;
//! TCP: window 65535); the structs ([`Ipv4`], [`Ipv6`], [`Tcp`]) set the others with struct
//! update syntax. IPv4 header checksums are always correct; TCP and UDP checksums are 0 unless
//! [`set_l4_checksum`] fills them. Protocol messages live in modules: [`tls`] (ClientHello), [`dhcp`] (DHCPv4),
//! [`quic`] (CRYPTO frames), [`dns`] (queries and responses), [`http`] (request heads); [`pcap`] writes them into a capture file.
//!
//! This crate depends on nothing, so it cannot test the project against itself.

pub mod dhcp;
pub mod dns;
pub mod http;
mod ip;
mod link;
pub mod pcap;
pub mod quic;
pub mod tls;
mod transport;
mod tunnel;

pub use ip::{DF, Ipv4, Ipv6, MF, ipv4, ipv6, set_l4_checksum};
pub use link::{ETH_IPV4, ETH_IPV6, ETH_VLAN, eth, sll, sll2, vlan};
pub use transport::{ACK, FIN, PSH, RST, SYN, Tcp, tcp, udp};
pub use tunnel::{erspan2, erspan3, geneve, gre, mpls, pppoe, vxlan};
