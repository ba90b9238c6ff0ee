//! Records: what detection hands forward to the outputs. Detection produces them (an
//! alert, a protocol event, a `stats` snapshot) and gives them to a [`RecordSink`]; it never
//! formats or writes. The outputs format them (EVE, ECS, Zeek intel) and deliver them; they
//! never reach back into detection. This module is the small layer both sides share.

// The crates to the left, named as modules (`crate::decode`, `crate::sigs`).
use vw_sigs as sigs;
use vw_wire::{capture, decode, proto};

pub mod app;
pub mod counters;
pub mod lineage;

use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{Decoded, L4Proto, LinkAddrs, Tunnel, VlanIds};
use crate::sigs::{PackInfo, Rule};
use app::AppRecord;
use counters::StatsSnapshot;

/// Where in a protocol a name was observed; reported as `alert.metadata.observation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observation {
    /// A question name in a DNS query or response.
    DnsQuery,
    /// A CNAME target or A/AAAA address in a DNS answer.
    DnsAnswer,
    /// server_name of a TLS ClientHello.
    TlsSni,
    /// `Host` header (or CONNECT / absolute-URI authority) of an HTTP/1.x request.
    HttpHost,
    /// server_name of the ClientHello in a QUIC Initial.
    QuicSni,
    /// A connection (TCP flow or UDP) without a name of its own to an address resolved earlier
    /// from a matched name.
    ResolvedIp,
    /// The JA4 fingerprint of a ClientHello (TLS or QUIC) listed by a rule's `ja4`.
    TlsJa4,
    /// The server port of a flow (a TCP SYN's destination, a UDP packet's) listed by a port
    /// rule (`ports = ["tcp/13000"]`).
    Port,
    /// The start of a UDP datagram's or TCP segment's payload to a server port, listed by a
    /// rule's `payloads` (`{ proto = "udp", port = 8800, prefix = "DHGET " }`).
    Payload,
    /// The `User-Agent` header of an HTTP/1.x request, listed by a rule's `user_agents`.
    HttpUserAgent,
}

impl Observation {
    /// Stable label used in EVE metadata and reports.
    pub fn label(self) -> &'static str {
        match self {
            Observation::DnsQuery => "dns-query",
            Observation::DnsAnswer => "dns-answer",
            Observation::TlsSni => "tls-sni",
            Observation::HttpHost => "http-host",
            Observation::QuicSni => "quic-sni",
            Observation::ResolvedIp => "resolved-ip",
            Observation::TlsJa4 => "tls-ja4",
            Observation::Port => "port",
            Observation::Payload => "payload",
            Observation::HttpUserAgent => "http-user-agent",
        }
    }
}

/// The packet facts every record carries. Copyable and small, so building it per observation
/// costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowMeta {
    /// Capture time.
    pub ts: Timestamp,
    /// 1-based packet number within the file (EVE `pcap_cnt`).
    pub pcap_cnt: u64,
    /// Source address.
    pub src_ip: IpAddr,
    /// Destination address.
    pub dst_ip: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP or UDP.
    pub proto: L4Proto,
    /// VLAN ids, outermost first.
    pub vlans: VlanIds,
    /// The outermost tunnel the packet came through.
    pub tunnel: Option<Tunnel>,
    /// Index of the capture interface (live: the `-i` interface, in order; files: 0), written
    /// as EVE `in_iface` by name.
    pub iface: u32,
    /// Ethernet addresses of the frame (`None` for other links and inside tunnels without
    /// Ethernet): the host's MAC for its identity.
    pub macs: Option<LinkAddrs>,
}

impl FlowMeta {
    /// Facts of a decoded packet.
    pub fn new(pkt: &Decoded<'_>, ts: Timestamp, pcap_cnt: u64) -> Self {
        FlowMeta {
            ts,
            pcap_cnt,
            src_ip: pkt.src_ip,
            dst_ip: pkt.dst_ip,
            src_port: pkt.src_port,
            dst_port: pkt.dst_port,
            proto: pkt.proto,
            vlans: pkt.vlans,
            tunnel: pkt.tunnel,
            iface: 0,
            macs: pkt.macs,
        }
    }

    /// The facts of `pkt` captured at `at`.
    #[inline]
    pub fn at(pkt: &Decoded<'_>, at: &PacketAt) -> Self {
        FlowMeta {
            iface: at.iface,
            ..FlowMeta::new(pkt, at.ts, at.pcap_cnt)
        }
    }

    /// The MAC of the frame's side that `host` is (source or destination address), if the
    /// frame had Ethernet addresses.
    pub fn mac_of(&self, host: IpAddr) -> Option<[u8; 6]> {
        let macs = self.macs?;
        if host == self.src_ip {
            Some(macs.src)
        } else if host == self.dst_ip {
            Some(macs.dst)
        } else {
            None
        }
    }

    /// Turn the facts around (client to server when the packet came from the server).
    pub fn reverse(&mut self) {
        std::mem::swap(&mut self.src_ip, &mut self.dst_ip);
        std::mem::swap(&mut self.src_port, &mut self.dst_port);
        if let Some(m) = &mut self.macs {
            std::mem::swap(&mut m.src, &mut m.dst);
        }
    }

    /// A stable flow id: the same for both directions of a flow (endpoints are ordered before
    /// hashing), positive as EVE's integer `flow_id`.
    pub fn flow_id(&self) -> u64 {
        let a = (self.src_ip, self.src_port);
        let b = (self.dst_ip, self.dst_port);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let mut h = Fnv64::default();
        for (ip, port) in [lo, hi] {
            match ip {
                IpAddr::V4(v4) => h.write(&v4.octets()),
                IpAddr::V6(v6) => h.write(&v6.octets()),
            }
            h.write(&port.to_be_bytes());
        }
        h.write(&[self.proto.number()]);
        for id in self.vlans.as_slice() {
            h.write(&id.to_be_bytes());
        }
        // The same inner addresses in two tunnels are two flows; the outer endpoints are
        // ordered like the inner ones so both directions share an id.
        if let Some(t) = &self.tunnel {
            let (lo, hi) = if t.src_ip <= t.dst_ip {
                (t.src_ip, t.dst_ip)
            } else {
                (t.dst_ip, t.src_ip)
            };
            for ip in [lo, hi] {
                match ip {
                    IpAddr::V4(v4) => h.write(&v4.octets()),
                    IpAddr::V6(v6) => h.write(&v6.octets()),
                }
            }
            h.write(&[t.proto]);
        }
        h.finish() & 0x7fff_ffff_ffff_ffff
    }
}

/// Where and when a packet was captured: what a record needs besides the decoded packet.
/// The hot path carries this (16 bytes) and builds a [`FlowMeta`] only when a record, or a
/// table keyed by it, is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketAt {
    /// Capture time.
    pub ts: Timestamp,
    /// 1-based packet number within the input (EVE `pcap_cnt`).
    pub pcap_cnt: u64,
    /// Index of the capture interface.
    pub iface: u32,
}

impl PacketAt {
    /// Packet number `pcap_cnt`, captured at `ts` on interface 0.
    pub fn new(ts: Timestamp, pcap_cnt: u64) -> Self {
        PacketAt {
            ts,
            pcap_cnt,
            iface: 0,
        }
    }
}

/// FNV-1a, 64 bit: tiny, no allocation, good enough to tell flows apart.
pub struct Fnv64(u64);

impl Default for Fnv64 {
    fn default() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv64 {
    /// Hash more bytes.
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// What an alert says about the match, beyond the rule itself.
#[derive(Debug, Clone, Copy)]
pub struct MatchFacts<'a> {
    /// The observed name (normalised) or address that matched.
    pub matched_name: &'a str,
    /// The pack pattern that matched it.
    pub matched_pattern: &'a str,
    /// Where in the protocol the name was seen.
    pub observation: Observation,
    /// For `resolved-ip`: the matched name the address was resolved from.
    pub resolved_from: Option<&'a str>,
    /// Repeats of the same (host, rule, name, observation) suppressed since the previous alert
    /// for it; written as `alert.metadata.repeats` when non-zero.
    pub repeats: u64,
    /// The host's migration verdict where this alert already settles it
    /// ([`lineage::Verdict`]): `alert.metadata.verdict`.
    pub verdict: Option<&'a str>,
}

/// One alert: the packet's facts, the rule and pack that matched, what matched, and the
/// protocol record it came from (`AppRecord::None` for port, payload and resolved-ip
/// alerts).
#[derive(Debug, Clone, Copy)]
pub struct Alert<'a> {
    /// The packet the alert is about.
    pub flow: &'a FlowMeta,
    /// The host running the product: the asker of a DNS query (the receiver of a response),
    /// the client of a connection.
    pub host: IpAddr,
    /// The rule that matched.
    pub rule: &'a Rule,
    /// Its pack.
    pub pack: &'a PackInfo,
    /// What matched and how.
    pub facts: MatchFacts<'a>,
    /// The protocol record.
    pub app: &'a AppRecord,
    /// Who held the host's address at the packet's time, when known.
    pub identity: Option<&'a HostIdentity>,
}

/// The machine behind an address at a moment: what the identity table knows (from DHCP, the
/// Ethernet source of its frames, an EUI-64 IPv6 address). Built only for an alert.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostIdentity {
    /// Its MAC address.
    pub mac: Option<[u8; 6]>,
    /// DHCP host name (option 12, else the client FQDN).
    pub hostname: Option<String>,
    /// DHCP vendor class (option 60), e.g. `MSFT 5.0`.
    pub vendor_class: Option<String>,
    /// DHCP client identifier (option 61), as hex bytes joined by `:`.
    pub client_id: Option<String>,
}

impl HostIdentity {
    /// True when nothing is known.
    pub fn is_empty(&self) -> bool {
        self.mac.is_none() && self.hostname.is_none()
    }

    /// The MAC as `3c:52:82:01:02:03`.
    pub fn mac_text(&self) -> Option<String> {
        self.mac.map(|m| mac_text(&m))
    }
}

/// A MAC (or any bytes) as lowercase hex pairs joined by `:`.
pub fn mac_text(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Repeats that no alert carried (suppressed, still pending when the input ended): they count
/// for the host in the inventory, but are not alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRepeats {
    /// The host.
    pub host: IpAddr,
    /// Vendor of the rule's pack.
    pub vendor: String,
    /// Channel of the rule.
    pub channel: String,
    /// Rule sid.
    pub sid: u32,
    /// Rule name.
    pub signature: String,
    /// Matched name or address.
    pub name: String,
    /// Packet time of the last repeat.
    pub last: Timestamp,
    /// Repeats pending.
    pub count: u64,
    /// The rule's pack cut-off (Unix seconds of its first day), when it has one.
    pub cutoff: Option<i64>,
    /// The rule's pack in migrations.
    pub lineage: lineage::Lineage,
}

/// Where detection hands its records. Implemented by the outputs (a formatter that turns
/// records into lines for the output hub) and by tests; detection knows only this trait.
pub trait RecordSink {
    /// A new input begins: the capture file's name (EVE `pcap_filename`), empty for live
    /// capture.
    fn begin_input(&mut self, pcap_filename: &str);
    /// An alert.
    fn alert(&mut self, alert: &Alert<'_>);
    /// A protocol event of `--log` (`event_type` dns, tls, http or quic).
    fn event(&mut self, flow: &FlowMeta, app: &AppRecord);
    /// A `stats` record.
    fn stats(&mut self, stats: &StatsSnapshot);
    /// The end of a batch of packets (or an idle moment): hand what was made forward.
    fn flush(&mut self);
    /// True once the output has failed for good: the reader stops.
    fn failed(&self) -> bool;
}

/// A sink that drops every record (benchmarks, and tests of detection counters).
#[derive(Debug, Default)]
pub struct NullSink;

impl RecordSink for NullSink {
    fn begin_input(&mut self, _: &str) {}
    fn alert(&mut self, _: &Alert<'_>) {}
    fn event(&mut self, _: &FlowMeta, _: &AppRecord) {}
    fn stats(&mut self, _: &StatsSnapshot) {}
    fn flush(&mut self) {}
    fn failed(&self) -> bool {
        false
    }
}
