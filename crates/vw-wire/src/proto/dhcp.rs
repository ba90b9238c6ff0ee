//! Allocation-free DHCP readers: DHCPv4 (RFC 2131/2132) messages on UDP 67/68, and the
//! parts of DHCPv6 (RFC 8415) that name a host (client FQDN, option 39; the client DUID; the
//! addresses of an IA_NA in a reply).
//!
//! What the identity table needs from a message: who (client hardware address, client id,
//! host name, client FQDN, vendor class), what address (assigned, requested, client's), the
//! lease time and the message type. Every field is a slice of the payload or a small copy;
//! nothing is allocated. A message that is not DHCP (short, wrong magic cookie, an option
//! running past the end) is `None`.
//!
//! Bounds: options are walked once, each step consumes at least one byte, and the overload
//! option (52) can add the `file` and `sname` fields once each, so the walk is linear in the
//! message length. Repeated options: the first occurrence wins (RFC 3396 concatenation of
//! long options is not done: the fields read here are short).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// The server port (client to server).
pub const SERVER_PORT: u16 = 67;
/// The client port (server to client).
pub const CLIENT_PORT: u16 = 68;
/// DHCPv6 client port.
pub const V6_CLIENT_PORT: u16 = 546;
/// DHCPv6 server and relay port.
pub const V6_SERVER_PORT: u16 = 547;

/// The fixed BOOTP header, up to the magic cookie.
const FIXED_LEN: usize = 236;
/// RFC 2131's magic cookie after the fixed header.
const MAGIC: [u8; 4] = [99, 130, 83, 99];

/// DHCP message types (option 53).
pub mod msg {
    /// DHCPDISCOVER.
    pub const DISCOVER: u8 = 1;
    /// DHCPOFFER.
    pub const OFFER: u8 = 2;
    /// DHCPREQUEST.
    pub const REQUEST: u8 = 3;
    /// DHCPDECLINE.
    pub const DECLINE: u8 = 4;
    /// DHCPACK.
    pub const ACK: u8 = 5;
    /// DHCPNAK.
    pub const NAK: u8 = 6;
    /// DHCPRELEASE.
    pub const RELEASE: u8 = 7;
    /// DHCPINFORM.
    pub const INFORM: u8 = 8;
}

/// True when a UDP datagram between these ports may be DHCPv4 (either port 67 or 68).
#[inline]
pub fn is_v4_port(src: u16, dst: u16) -> bool {
    matches!(src, SERVER_PORT | CLIENT_PORT) || matches!(dst, SERVER_PORT | CLIENT_PORT)
}

/// True when a UDP datagram between these ports may be DHCPv6 (546 or 547).
#[inline]
pub fn is_v6_port(src: u16, dst: u16) -> bool {
    matches!(src, V6_CLIENT_PORT | V6_SERVER_PORT) || matches!(dst, V6_CLIENT_PORT | V6_SERVER_PORT)
}

/// The lowercase name Suricata gives a message type (`dhcp_type`).
pub fn type_name(t: u8) -> &'static str {
    match t {
        msg::DISCOVER => "discover",
        msg::OFFER => "offer",
        msg::REQUEST => "request",
        msg::DECLINE => "decline",
        msg::ACK => "ack",
        msg::NAK => "nak",
        msg::RELEASE => "release",
        msg::INFORM => "inform",
        _ => "unknown",
    }
}

/// The name Suricata gives a parameter request list entry (option 55), if it has one.
pub fn param_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "subnet_mask",
        2 => "time_offset",
        3 => "router",
        6 => "dns_server",
        12 => "hostname",
        15 => "domain",
        26 => "interface_mtu",
        28 => "broadcast_address",
        31 => "router_discovery",
        33 => "static_route",
        42 => "ntp_server",
        44 => "netbios_name_server",
        46 => "netbios_node_type",
        47 => "netbios_scope",
        51 => "lease_time",
        58 => "renewal_time",
        59 => "rebinding_time",
        119 => "domain_search",
        121 => "classless_static_route",
        249 => "msft_classless_static_route",
        252 => "wpad",
        _ => return None,
    })
}

/// Client FQDN (DHCPv4 option 81, RFC 4702; DHCPv6 option 39, RFC 4704).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fqdn<'a> {
    /// The flags byte (S, O, E, N).
    pub flags: u8,
    /// The name: DNS wire format (length-prefixed labels) when `wire`, else ASCII.
    pub name: &'a [u8],
    /// True when `name` is in DNS wire format (DHCPv4 with the E flag; always for DHCPv6).
    pub wire: bool,
}

impl Fqdn<'_> {
    /// The name in dotted presentation form, written into `out`; the length written, or
    /// `None` when the wire form is malformed or does not fit. Labels are copied as they are.
    pub fn write_dotted(&self, out: &mut [u8]) -> Option<usize> {
        if !self.wire {
            let n = self.name.len();
            out.get_mut(..n)?.copy_from_slice(self.name);
            return Some(n);
        }
        let mut at = 0usize;
        let mut len = 0usize;
        while let Some(&l) = self.name.get(at) {
            if l == 0 {
                break;
            }
            if l > 63 {
                return None;
            }
            let label = self.name.get(at + 1..at + 1 + usize::from(l))?;
            if len > 0 {
                *out.get_mut(len)? = b'.';
                len += 1;
            }
            out.get_mut(len..len + label.len())?.copy_from_slice(label);
            len += label.len();
            at += 1 + usize::from(l);
        }
        Some(len)
    }
}

/// A DHCPv4 message: the fixed fields and the options the identity table and the `dhcp`
/// event use, borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpV4<'a> {
    /// 1 BOOTREQUEST (client), 2 BOOTREPLY (server).
    pub op: u8,
    /// Transaction id.
    pub xid: u32,
    /// The client's address (renewing, or informing).
    pub ciaddr: [u8; 4],
    /// The address the server assigns ("your" address).
    pub yiaddr: [u8; 4],
    /// Next server (boot).
    pub siaddr: [u8; 4],
    /// Relay agent.
    pub giaddr: [u8; 4],
    /// The client hardware address when it is Ethernet (htype 1, hlen 6).
    pub chaddr: Option<[u8; 6]>,
    /// Option 53.
    pub message_type: Option<u8>,
    /// Option 12.
    pub hostname: Option<&'a [u8]>,
    /// Option 50.
    pub requested_ip: Option<[u8; 4]>,
    /// Option 51, seconds.
    pub lease_time: Option<u32>,
    /// Option 58, seconds.
    pub renewal_time: Option<u32>,
    /// Option 59, seconds.
    pub rebinding_time: Option<u32>,
    /// Option 54.
    pub server_id: Option<[u8; 4]>,
    /// Option 1.
    pub subnet_mask: Option<[u8; 4]>,
    /// Option 3 (addresses, 4 bytes each).
    pub routers: Option<&'a [u8]>,
    /// Option 6 (addresses, 4 bytes each).
    pub dns_servers: Option<&'a [u8]>,
    /// Option 55: the codes the client asks for.
    pub params: Option<&'a [u8]>,
    /// Option 60.
    pub vendor_class: Option<&'a [u8]>,
    /// Option 61 (type byte, then the id).
    pub client_id: Option<&'a [u8]>,
    /// Option 81.
    pub fqdn: Option<Fqdn<'a>>,
}

impl<'a> DhcpV4<'a> {
    /// Parse one DHCPv4 message (a UDP payload); `None` when it is not one.
    pub fn parse(payload: &'a [u8]) -> Option<DhcpV4<'a>> {
        let fixed = payload.first_chunk::<FIXED_LEN>()?;
        if payload.get(FIXED_LEN..FIXED_LEN + 4)? != MAGIC {
            return None;
        }
        let op = *fixed.first()?;
        if op != 1 && op != 2 {
            return None;
        }
        let ip4 = |at: usize| -> Option<[u8; 4]> { fixed.get(at..at + 4)?.try_into().ok() };
        let chaddr = match (fixed.get(1), fixed.get(2)) {
            (Some(1), Some(6)) => fixed.get(28..34)?.try_into().ok(),
            _ => None,
        };
        let mut m = DhcpV4 {
            op,
            xid: u32::from_be_bytes(ip4(4)?),
            ciaddr: ip4(12)?,
            yiaddr: ip4(16)?,
            siaddr: ip4(20)?,
            giaddr: ip4(24)?,
            chaddr,
            message_type: None,
            hostname: None,
            requested_ip: None,
            lease_time: None,
            renewal_time: None,
            rebinding_time: None,
            server_id: None,
            subnet_mask: None,
            routers: None,
            dns_servers: None,
            params: None,
            vendor_class: None,
            client_id: None,
            fqdn: None,
        };
        let overload = m.read_options(payload.get(FIXED_LEN + 4..)?)?;
        // Option 52: the `file` (1), `sname` (2) or both (3) fields hold more options, read
        // in that order (RFC 2132 section 9.3). Their own overload option is ignored.
        if overload & 1 != 0 {
            m.read_options(fixed.get(108..236)?)?;
        }
        if overload & 2 != 0 {
            m.read_options(fixed.get(44..108)?)?;
        }
        Some(m)
    }

    /// Walk one options area; the overload value met (0 when none). `None` when an option
    /// runs past the area.
    fn read_options(&mut self, area: &'a [u8]) -> Option<u8> {
        let mut overload = 0u8;
        let mut at = 0usize;
        while let Some(&code) = area.get(at) {
            match code {
                0 => {
                    at += 1;
                    continue;
                }
                255 => break,
                _ => {}
            }
            let len = usize::from(*area.get(at + 1)?);
            let data = area.get(at + 2..at + 2 + len)?;
            at += 2 + len;
            let ip4 = || -> Option<[u8; 4]> { data.try_into().ok() };
            let u32_ = || ip4().map(u32::from_be_bytes);
            match code {
                1 => self.subnet_mask = self.subnet_mask.or_else(ip4),
                3 if len >= 4 => self.routers = self.routers.or(Some(data)),
                6 if len >= 4 => self.dns_servers = self.dns_servers.or(Some(data)),
                12 if len > 0 => self.hostname = self.hostname.or(Some(data)),
                50 => self.requested_ip = self.requested_ip.or_else(ip4),
                51 => self.lease_time = self.lease_time.or_else(u32_),
                52 => overload = data.first().copied().unwrap_or(0) & 3,
                53 => self.message_type = self.message_type.or(data.first().copied()),
                54 => self.server_id = self.server_id.or_else(ip4),
                55 if len > 0 => self.params = self.params.or(Some(data)),
                58 => self.renewal_time = self.renewal_time.or_else(u32_),
                59 => self.rebinding_time = self.rebinding_time.or_else(u32_),
                60 if len > 0 => self.vendor_class = self.vendor_class.or(Some(data)),
                61 if len > 0 => self.client_id = self.client_id.or(Some(data)),
                81 if len >= 3 && self.fqdn.is_none() => {
                    let flags = data.first().copied().unwrap_or(0);
                    self.fqdn = Some(Fqdn {
                        flags,
                        name: data.get(3..).unwrap_or(&[]),
                        wire: flags & 0x04 != 0,
                    });
                }
                _ => {}
            }
        }
        Some(overload)
    }

    /// True for a message from a client (BOOTREQUEST).
    pub fn is_request(&self) -> bool {
        self.op == 1
    }
}

/// DHCPv6 message types that matter here.
pub mod msg6 {
    /// SOLICIT.
    pub const SOLICIT: u8 = 1;
    /// ADVERTISE.
    pub const ADVERTISE: u8 = 2;
    /// REQUEST.
    pub const REQUEST: u8 = 3;
    /// RENEW.
    pub const RENEW: u8 = 5;
    /// REBIND.
    pub const REBIND: u8 = 6;
    /// REPLY.
    pub const REPLY: u8 = 7;
    /// RELEASE.
    pub const RELEASE: u8 = 8;
    /// INFORMATION-REQUEST.
    pub const INFORMATION_REQUEST: u8 = 11;
    /// RELAY-FORW.
    pub const RELAY_FORW: u8 = 12;
    /// RELAY-REPL.
    pub const RELAY_REPL: u8 = 13;
}

/// Most IA_NA addresses of one DHCPv6 reply kept.
pub const MAX_V6_ADDRS: usize = 4;

/// A DHCPv6 client/server message (relayed messages are not unwrapped): the host name it
/// carries, the client's DUID and, in a reply, the IA_NA addresses with their valid lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpV6<'a> {
    /// Message type.
    pub msg_type: u8,
    /// Transaction id (24 bits).
    pub xid: u32,
    /// Option 1: the client's DUID.
    pub client_id: Option<&'a [u8]>,
    /// Option 39: client FQDN (wire format).
    pub fqdn: Option<Fqdn<'a>>,
    /// Option 16: vendor class (enterprise number, then length-prefixed data).
    pub vendor_class: Option<&'a [u8]>,
    /// Addresses of IA_NA (option 3) / IAADDR (option 5), with their valid lifetime.
    pub addrs: [([u8; 16], u32); MAX_V6_ADDRS],
    /// How many of `addrs` are set.
    pub addr_count: usize,
}

impl<'a> DhcpV6<'a> {
    /// Parse one DHCPv6 message; `None` when it is not one this reader takes (relay messages,
    /// unknown types, an option running past the end).
    pub fn parse(payload: &'a [u8]) -> Option<DhcpV6<'a>> {
        let (&msg_type, rest) = payload.split_first()?;
        if msg_type == 0 || msg_type >= msg6::RELAY_FORW || msg_type > 20 {
            return None;
        }
        let xid = rest.first_chunk::<3>()?;
        let mut m = DhcpV6 {
            msg_type,
            xid: u32::from_be_bytes([0, xid[0], xid[1], xid[2]]),
            client_id: None,
            fqdn: None,
            vendor_class: None,
            addrs: [([0; 16], 0); MAX_V6_ADDRS],
            addr_count: 0,
        };
        for opt in Options6(rest.get(3..)?) {
            let (code, data) = opt?;
            match code {
                1 => m.client_id = m.client_id.or(Some(data)),
                16 => m.vendor_class = m.vendor_class.or(Some(data)),
                39 if !data.is_empty() && m.fqdn.is_none() => {
                    m.fqdn = Some(Fqdn {
                        flags: data.first().copied().unwrap_or(0),
                        name: data.get(1..).unwrap_or(&[]),
                        wire: true,
                    });
                }
                // IA_NA: IAID, T1, T2, then options (IAADDR among them).
                3 => {
                    for opt in Options6(data.get(12..)?) {
                        let (code, data) = opt?;
                        if code != 5 || m.addr_count >= MAX_V6_ADDRS {
                            continue;
                        }
                        let addr: [u8; 16] = data.get(..16)?.try_into().ok()?;
                        let valid: [u8; 4] = data.get(20..24)?.try_into().ok()?;
                        if let Some(slot) = m.addrs.get_mut(m.addr_count) {
                            *slot = (addr, u32::from_be_bytes(valid));
                            m.addr_count += 1;
                        }
                    }
                }
                _ => {}
            }
        }
        Some(m)
    }

    /// The IA_NA addresses with their valid lifetimes.
    pub fn addresses(&self) -> &[([u8; 16], u32)] {
        self.addrs.get(..self.addr_count).unwrap_or(&[])
    }
}

/// DHCPv6 options: (code, data) pairs; an `Err`-like `None` item when one runs past the end.
struct Options6<'a>(&'a [u8]);

impl<'a> Iterator for Options6<'a> {
    type Item = Option<(u16, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let item = (|| {
            let h = self.0.first_chunk::<4>()?;
            let code = u16::from_be_bytes([h[0], h[1]]);
            let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
            let data = self.0.get(4..4 + len)?;
            self.0 = self.0.get(4 + len..)?;
            Some((code, data))
        })();
        if item.is_none() {
            self.0 = &[];
        }
        Some(item)
    }
}

/// The MAC address inside an IPv6 modified EUI-64 interface identifier (`xx:xx:xx:ff:fe:xx:
/// xx:xx` with the universal/local bit flipped back), as SLAAC forms it; `None` for other
/// interface identifiers (privacy, stable-opaque, manual).
pub fn eui64_mac(addr: &[u8; 16]) -> Option<[u8; 6]> {
    let iid = addr.get(8..16)?;
    if iid.get(3..5)? != [0xff, 0xfe] {
        return None;
    }
    let mac = [
        iid.first()? ^ 0x02,
        *iid.get(1)?,
        *iid.get(2)?,
        *iid.get(5)?,
        *iid.get(6)?,
        *iid.get(7)?,
    ];
    // An all-zero or broadcast/multicast "MAC" is not a host's.
    if mac == [0; 6] || mac.first()? & 1 != 0 {
        return None;
    }
    Some(mac)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A DHCPv4 message: op, xid, chaddr, yiaddr and the options bytes (255 appended).
    fn v4(op: u8, yiaddr: [u8; 4], mac: [u8; 6], options: &[u8]) -> Vec<u8> {
        let mut m = vec![0u8; FIXED_LEN];
        m[0] = op;
        m[1] = 1;
        m[2] = 6;
        m[4..8].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        m[16..20].copy_from_slice(&yiaddr);
        m[28..34].copy_from_slice(&mac);
        m.extend_from_slice(&MAGIC);
        m.extend_from_slice(options);
        m.push(255);
        m
    }

    const MAC: [u8; 6] = [0x3c, 0x52, 0x82, 0x01, 0x02, 0x03];

    fn request_options() -> Vec<u8> {
        let mut o = vec![53, 1, msg::REQUEST, 50, 4, 10, 1, 0, 11, 12, 10];
        o.extend_from_slice(b"WS-FIN-042");
        o.extend_from_slice(&[60, 8]);
        o.extend_from_slice(b"MSFT 5.0");
        o.extend_from_slice(&[61, 7, 1]);
        o.extend_from_slice(&MAC);
        o.extend_from_slice(&[55, 3, 1, 3, 6]);
        o.extend_from_slice(&[81, 3 + 13, 0x05, 0, 0, 6]);
        o.extend_from_slice(b"ws-fin");
        o.extend_from_slice(&[4]);
        o.extend_from_slice(b"corp");
        o.push(0);
        o
    }

    #[test]
    fn request_fields() {
        let msg = v4(1, [0; 4], MAC, &request_options());
        let m = DhcpV4::parse(&msg).unwrap();
        assert!(m.is_request());
        assert_eq!(m.xid, 0x1234_5678);
        assert_eq!(m.chaddr, Some(MAC));
        assert_eq!(m.message_type, Some(msg::REQUEST));
        assert_eq!(m.requested_ip, Some([10, 1, 0, 11]));
        assert_eq!(m.hostname, Some(&b"WS-FIN-042"[..]));
        assert_eq!(m.vendor_class, Some(&b"MSFT 5.0"[..]));
        assert_eq!(m.client_id.map(<[u8]>::len), Some(7));
        assert_eq!(m.params, Some(&[1u8, 3, 6][..]));
        let fqdn = m.fqdn.unwrap();
        assert!(fqdn.wire);
        let mut out = [0u8; 64];
        let n = fqdn.write_dotted(&mut out).unwrap();
        assert_eq!(&out[..n], b"ws-fin.corp");
    }

    #[test]
    fn ack_fields() {
        let opts = [
            53,
            1,
            msg::ACK,
            51,
            4,
            0,
            0,
            0x0e,
            0x10,
            54,
            4,
            10,
            1,
            0,
            1,
            1,
            4,
            255,
            255,
            255,
            0,
        ];
        let msg = v4(2, [10, 1, 0, 11], MAC, &opts);
        let m = DhcpV4::parse(&msg).unwrap();
        assert!(!m.is_request());
        assert_eq!(m.yiaddr, [10, 1, 0, 11]);
        assert_eq!(m.lease_time, Some(3600));
        assert_eq!(m.server_id, Some([10, 1, 0, 1]));
        assert_eq!(m.subnet_mask, Some([255, 255, 255, 0]));
        assert_eq!(type_name(m.message_type.unwrap()), "ack");
    }

    #[test]
    fn overload_reads_file_field() {
        let mut msg = v4(1, [0; 4], MAC, &[53, 1, msg::DISCOVER, 52, 1, 1]);
        // Host name in the `file` field (offset 108).
        msg[108..114].copy_from_slice(&[12, 3, b'p', b'c', b'1', 255]);
        let m = DhcpV4::parse(&msg).unwrap();
        assert_eq!(m.hostname, Some(&b"pc1"[..]));
    }

    #[test]
    fn truncated_at_every_offset_is_none_or_partial_never_panics() {
        let msg = v4(1, [0; 4], MAC, &request_options());
        for cut in 0..msg.len() {
            let m = DhcpV4::parse(&msg[..cut]);
            // Short of the cookie: not DHCP. Past it: an option cut short is not DHCP either,
            // unless the cut falls exactly between options (then what was read stands).
            if cut < FIXED_LEN + 4 {
                assert!(m.is_none(), "cut {cut}");
            }
        }
    }

    #[test]
    fn bad_cookie_or_op_or_overrun() {
        let mut msg = v4(1, [0; 4], MAC, &request_options());
        msg[FIXED_LEN] = 0;
        assert!(DhcpV4::parse(&msg).is_none());
        let mut msg = v4(3, [0; 4], MAC, &[]);
        assert!(DhcpV4::parse(&msg).is_none());
        msg[0] = 1;
        assert!(DhcpV4::parse(&msg).is_some());
        // An option whose length runs past the end.
        let mut msg = v4(1, [0; 4], MAC, &[12, 200, b'a']);
        msg.pop();
        assert!(DhcpV4::parse(&msg).is_none());
    }

    #[test]
    fn non_ethernet_chaddr_is_none() {
        let mut msg = v4(1, [0; 4], MAC, &[]);
        msg[1] = 6; // IEEE 802 token ring
        assert_eq!(DhcpV4::parse(&msg).unwrap().chaddr, None);
    }

    #[test]
    fn v6_request_with_fqdn_and_reply_addresses() {
        let mut m = vec![msg6::REQUEST, 0xaa, 0xbb, 0xcc];
        m.extend_from_slice(&[0, 1, 0, 10, 0, 3, 0, 1]);
        m.extend_from_slice(&MAC);
        let name = b"\x06ws-fin\x04corp\x00";
        m.extend_from_slice(&[0, 39, 0, 1 + name.len() as u8, 0x01]);
        m.extend_from_slice(name);
        let p = DhcpV6::parse(&m).unwrap();
        assert_eq!(p.xid, 0xaabbcc);
        assert_eq!(p.client_id.map(<[u8]>::len), Some(10));
        let mut out = [0u8; 64];
        let n = p.fqdn.unwrap().write_dotted(&mut out).unwrap();
        assert_eq!(&out[..n], b"ws-fin.corp");

        let mut r = vec![msg6::REPLY, 0, 0, 1];
        let mut iaaddr = vec![0, 5, 0, 24];
        let addr: [u8; 16] = "2001:db8::11"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets();
        iaaddr.extend_from_slice(&addr);
        iaaddr.extend_from_slice(&3600u32.to_be_bytes());
        iaaddr.extend_from_slice(&7200u32.to_be_bytes());
        r.extend_from_slice(&[0, 3, 0, (12 + iaaddr.len()) as u8]);
        r.extend_from_slice(&[0; 12]);
        r.extend_from_slice(&iaaddr);
        let p = DhcpV6::parse(&r).unwrap();
        assert_eq!(p.addresses(), &[(addr, 7200)]);
        for cut in 0..r.len() {
            let _ = DhcpV6::parse(&r[..cut]);
        }
        assert!(DhcpV6::parse(&[msg6::RELAY_FORW, 0, 0, 0]).is_none());
    }

    #[test]
    fn eui64() {
        let a: std::net::Ipv6Addr = "fe80::3e52:82ff:fe01:203".parse().unwrap();
        assert_eq!(eui64_mac(&a.octets()), Some(MAC));
        let b: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
        assert_eq!(eui64_mac(&b.octets()), None);
    }

    #[test]
    fn dotted_rejects_bad_wire() {
        let f = Fqdn {
            flags: 4,
            name: b"\x09short",
            wire: true,
        };
        assert_eq!(f.write_dotted(&mut [0u8; 64]), None);
        let f = Fqdn {
            flags: 0,
            name: b"pc.example",
            wire: false,
        };
        assert_eq!(f.write_dotted(&mut [0u8; 4]), None);
    }
}
