//! DHCPv4 messages (RFC 2131/2132) and whole frames of the common exchanges, for tests,
//! fuzz seeds and the zero-allocation check.

use crate::{eth, ipv4, udp};

/// DISCOVER.
pub const DISCOVER: u8 = 1;
/// OFFER.
pub const OFFER: u8 = 2;
/// REQUEST.
pub const REQUEST: u8 = 3;
/// ACK.
pub const ACK: u8 = 5;
/// RELEASE.
pub const RELEASE: u8 = 7;

/// A DHCPv4 message: the fixed fields and options, built with [`Dhcp::build`].
#[derive(Debug, Clone)]
pub struct Dhcp {
    /// 1 request, 2 reply.
    pub op: u8,
    /// Transaction id.
    pub xid: u32,
    /// Client hardware address (Ethernet).
    pub chaddr: [u8; 6],
    /// `ciaddr`.
    pub ciaddr: [u8; 4],
    /// `yiaddr`.
    pub yiaddr: [u8; 4],
    /// Options as (code, data), in order; the message type is written first.
    pub options: Vec<(u8, Vec<u8>)>,
    /// Option 53.
    pub kind: u8,
}

impl Dhcp {
    /// A client message of type `kind` from `mac`.
    pub fn client(kind: u8, xid: u32, mac: [u8; 6]) -> Dhcp {
        Dhcp {
            op: 1,
            xid,
            chaddr: mac,
            ciaddr: [0; 4],
            yiaddr: [0; 4],
            options: Vec::new(),
            kind,
        }
    }

    /// A server message of type `kind` to `mac`, assigning `yiaddr`.
    pub fn server(kind: u8, xid: u32, mac: [u8; 6], yiaddr: [u8; 4]) -> Dhcp {
        Dhcp {
            op: 2,
            yiaddr,
            ..Dhcp::client(kind, xid, mac)
        }
    }

    /// Add an option.
    pub fn option(mut self, code: u8, data: &[u8]) -> Dhcp {
        self.options.push((code, data.to_vec()));
        self
    }

    /// Host name (option 12).
    pub fn hostname(self, name: &str) -> Dhcp {
        self.option(12, name.as_bytes())
    }

    /// Vendor class (option 60).
    pub fn vendor_class(self, vc: &str) -> Dhcp {
        self.option(60, vc.as_bytes())
    }

    /// Lease time (option 51).
    pub fn lease(self, secs: u32) -> Dhcp {
        self.option(51, &secs.to_be_bytes())
    }

    /// The message bytes (a UDP payload).
    pub fn build(&self) -> Vec<u8> {
        let mut m = vec![0u8; 236];
        m[0] = self.op;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&self.xid.to_be_bytes());
        m[12..16].copy_from_slice(&self.ciaddr);
        m[16..20].copy_from_slice(&self.yiaddr);
        m[28..34].copy_from_slice(&self.chaddr);
        m.extend_from_slice(&[99, 130, 83, 99, 53, 1, self.kind]);
        for (code, data) in &self.options {
            m.push(*code);
            m.push(data.len() as u8);
            m.extend_from_slice(data);
        }
        m.push(255);
        m
    }

    /// The whole Ethernet frame: a client message broadcast from 0.0.0.0:68 to
    /// 255.255.255.255:67 (from `ciaddr` when set), a server message from `server` (MAC
    /// `server_mac`) to the assigned address, port 68.
    pub fn frame(&self, server: [u8; 4], server_mac: [u8; 6]) -> Vec<u8> {
        let body = self.build();
        if self.op == 1 {
            let (src, dst) = if self.ciaddr == [0; 4] {
                ([0; 4], [255; 4])
            } else {
                (self.ciaddr, server)
            };
            let bcast = [0xff; 6];
            let dst_mac = if dst == [255; 4] { bcast } else { server_mac };
            eth(
                self.chaddr,
                dst_mac,
                0x0800,
                &ipv4(src, dst, 17, &udp(68, 67, &body)),
            )
        } else {
            eth(
                server_mac,
                self.chaddr,
                0x0800,
                &ipv4(server, self.yiaddr, 17, &udp(67, 68, &body)),
            )
        }
    }
}
