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
