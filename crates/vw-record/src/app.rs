//! Owned records of what a packet said, built only when something will be written: a matched
//! observation, or a protocol event the user asked to log (`--log dns,tls`).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::proto::dns::{self, DnsItem, Rdata};
use crate::proto::http::HttpRequest;
use crate::proto::ja4::{self, Ja4, Transport};
use crate::proto::tls::ClientHello;

/// One question of a DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuery {
    /// Name as on the wire (case kept), presentation form.
    pub rrname: String,
    /// Query type.
    pub rrtype: u16,
}

/// One record of a DNS answer section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsAnswer {
    /// Owner name as on the wire.
    pub rrname: String,
    /// Record type.
    pub rrtype: u16,
    /// Time to live.
    pub ttl: u32,
    /// A/AAAA address or CNAME target; `None` for types we do not render.
    pub rdata: Option<String>,
}

/// A DNS message, as much of it as EVE's DNS v3 record shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsRecord {
    /// Transaction id.
    pub id: u16,
    /// Raw header flags.
    pub flags: u16,
    /// QR bit.
    pub response: bool,
    /// Questions.
    pub queries: Vec<DnsQuery>,
    /// Answer section records.
    pub answers: Vec<DnsAnswer>,
}

impl DnsRecord {
    /// Decode a DNS message into an owned record; `None` when even the header is unreadable.
    /// A message malformed part way keeps what came before the damage.
    pub fn from_message(msg: &[u8]) -> Option<DnsRecord> {
        let mut queries = Vec::new();
        let mut answers = Vec::new();
        let summary = dns::walk(msg, |item| match item {
            DnsItem::Question { name, qtype, .. } => queries.push(DnsQuery {
                rrname: String::from_utf8_lossy(name.as_bytes()).into_owned(),
                rrtype: *qtype,
            }),
            DnsItem::Answer {
                name,
                rtype,
                ttl,
                rdata,
                ..
            } => answers.push(DnsAnswer {
                rrname: String::from_utf8_lossy(name.as_bytes()).into_owned(),
                rrtype: *rtype,
                ttl: *ttl,
                rdata: match rdata {
                    Rdata::A(a) => Some(Ipv4Addr::from(*a).to_string()),
                    Rdata::Aaaa(a) => Some(Ipv6Addr::from(*a).to_string()),
                    Rdata::Cname(target) => {
                        Some(String::from_utf8_lossy(target.as_bytes()).into_owned())
                    }
                    Rdata::Other(_) => None,
                },
            }),
        })
        .ok()?;
        Some(DnsRecord {
            id: summary.header.id,
            flags: summary.header.flags,
            response: summary.header.is_response(),
            queries,
            answers,
        })
    }

    /// Opcode from the flags.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// Response code from the flags.
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0f) as u8
    }
}

/// The ClientHello facts EVE's `tls` object carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsRecord {
    /// server_name as on the wire; `None` when the hello has no SNI. With ECH this is the
    /// outer (public) name.
    pub sni: Option<Vec<u8>>,
    /// Highest version the client offers.
    pub version: u16,
    /// JA4 fingerprint (`t...`); `None` for a hello cut at the first-flight limit (JA4 needs
    /// every extension).
    pub ja4: Option<Ja4>,
    /// The hello carries encrypted_client_hello (real or GREASE).
    pub ech: bool,
}

impl TlsRecord {
    /// Copy what EVE needs out of a parsed ClientHello (JA4 is computed here).
    pub fn from_client_hello(hello: &ClientHello<'_>) -> TlsRecord {
        TlsRecord {
            sni: hello.sni.map(|s| s.to_vec()),
            version: hello.max_version(),
            ja4: (!hello.cut).then(|| ja4::ja4(hello, Transport::Tcp)),
            ech: hello.has_ech,
        }
    }
}

/// The facts EVE's `quic` object carries for a client Initial's ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicRecord {
    /// server_name as on the wire (the outer name with ECH).
    pub sni: Option<Vec<u8>>,
    /// QUIC version of the Initial packet.
    pub version: u32,
    /// JA4 fingerprint (`q...`).
    pub ja4: Ja4,
    /// The hello carries encrypted_client_hello (real or GREASE).
    pub ech: bool,
}

impl QuicRecord {
    /// The same facts as a TLS record (for formats with no QUIC object of their own).
    pub fn as_tls(&self) -> TlsRecord {
        TlsRecord {
            sni: self.sni.clone(),
            version: 0x0304,
            ja4: Some(self.ja4),
            ech: self.ech,
        }
    }

    /// Copy what EVE needs out of the ClientHello of a QUIC Initial.
    pub fn from_client_hello(version: u32, hello: &ClientHello<'_>) -> QuicRecord {
        QuicRecord {
            sni: hello.sni.map(|s| s.to_vec()),
            version,
            ja4: ja4::ja4(hello, Transport::Quic),
            ech: hello.has_ech,
        }
    }
}

/// The request facts EVE's `http` object carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRecord {
    /// `Host` header without its port (else the CONNECT / absolute-URI authority).
    pub hostname: Option<String>,
    /// Port of the host, when it named one.
    pub port: Option<u16>,
    /// Request-target as sent.
    pub url: String,
    /// Method.
    pub method: String,
    /// Protocol version (`HTTP/1.1`), empty for HTTP/0.9-style requests.
    pub protocol: String,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

impl HttpRecord {
    /// Copy what EVE needs out of a parsed request head.
    pub fn from_request(req: &HttpRequest<'_>) -> HttpRecord {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        HttpRecord {
            hostname: req.hostname().map(text),
            port: req.port(),
            url: text(req.target),
            method: text(req.method),
            protocol: text(req.version),
            user_agent: req.user_agent.map(text),
        }
    }
}

/// The facts EVE's `dhcp` object carries (Suricata's extended DHCP log), copied out of a
/// DHCPv4 message for `--log dhcp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpRecord {
    /// BOOTREQUEST (client) or BOOTREPLY (server).
    pub request: bool,
    /// Transaction id.
    pub xid: u32,
    /// Client hardware address (Ethernet only).
    pub client_mac: Option<[u8; 6]>,
    /// `ciaddr`.
    pub client_ip: Ipv4Addr,
    /// `yiaddr`.
    pub assigned_ip: Ipv4Addr,
    /// `giaddr`, when not 0.0.0.0.
    pub relay_ip: Option<Ipv4Addr>,
    /// `siaddr`, when not 0.0.0.0.
    pub next_server_ip: Option<Ipv4Addr>,
    /// Option 53.
    pub dhcp_type: Option<u8>,
    /// Option 61, raw.
    pub client_id: Option<Vec<u8>>,
    /// Option 12 (else the name of option 81), lossy UTF-8.
    pub hostname: Option<String>,
    /// Option 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// Options 51, 58, 59.
    pub lease_time: Option<u32>,
    /// Option 58.
    pub renewal_time: Option<u32>,
    /// Option 59.
    pub rebinding_time: Option<u32>,
    /// Option 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// Option 3.
    pub routers: Vec<Ipv4Addr>,
    /// Option 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 55 codes.
    pub params: Vec<u8>,
    /// Option 60, lossy UTF-8.
    pub vendor_class: Option<String>,
}

impl DhcpRecord {
    /// Copy what the `dhcp` event shows out of a parsed message.
    pub fn from_message(m: &crate::proto::dhcp::DhcpV4<'_>) -> DhcpRecord {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let nonzero = |a: [u8; 4]| (a != [0; 4]).then(|| Ipv4Addr::from(a));
        let addrs = |b: Option<&[u8]>| {
            b.unwrap_or(&[])
                .chunks_exact(4)
                .map(|c| Ipv4Addr::new(c[0], c[1], c[2], c[3]))
                .collect()
        };
        let hostname = m.hostname.map(text).or_else(|| {
            let mut buf = [0u8; 256];
            let fqdn = m.fqdn?;
            let n = fqdn.write_dotted(&mut buf)?;
            (n > 0).then(|| text(buf.get(..n).unwrap_or(&[])))
        });
        DhcpRecord {
            request: m.is_request(),
            xid: m.xid,
            client_mac: m.chaddr,
            client_ip: Ipv4Addr::from(m.ciaddr),
            assigned_ip: Ipv4Addr::from(m.yiaddr),
            relay_ip: nonzero(m.giaddr),
            next_server_ip: nonzero(m.siaddr),
            dhcp_type: m.message_type,
            client_id: m.client_id.map(<[u8]>::to_vec),
            hostname,
            requested_ip: m.requested_ip.map(Ipv4Addr::from),
            lease_time: m.lease_time,
            renewal_time: m.renewal_time,
            rebinding_time: m.rebinding_time,
            subnet_mask: m.subnet_mask.map(Ipv4Addr::from),
            routers: addrs(m.routers),
            dns_servers: addrs(m.dns_servers),
            params: m.params.map(<[u8]>::to_vec).unwrap_or_default(),
            vendor_class: m.vendor_class.map(text),
        }
    }
}

/// The protocol record that goes with an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppRecord {
    /// DNS message.
    Dns(DnsRecord),
    /// TLS ClientHello.
    Tls(TlsRecord),
    /// HTTP/1.x request.
    Http(HttpRecord),
    /// QUIC Initial ClientHello.
    Quic(QuicRecord),
    /// DHCPv4 message (`--log dhcp` events only; DHCP raises no alert).
    Dhcp(DhcpRecord),
    /// No application record (a port alert on a SYN or a first UDP packet, a `resolved-ip`
    /// alert): no `app_proto`.
    None,
}

impl AppRecord {
    /// EVE `app_proto` value; empty when not known (then not written).
    pub fn app_proto(&self) -> &'static str {
        match self {
            AppRecord::Dns(_) => "dns",
            AppRecord::Tls(_) => "tls",
            AppRecord::Http(_) => "http",
            AppRecord::Quic(_) => "quic",
            AppRecord::Dhcp(_) => "dhcp",
            AppRecord::None => "",
        }
    }

    /// True when the record is a ClientHello carrying encrypted_client_hello.
    pub fn ech(&self) -> bool {
        match self {
            AppRecord::Tls(r) => r.ech,
            AppRecord::Quic(r) => r.ech,
            _ => false,
        }
    }
}
