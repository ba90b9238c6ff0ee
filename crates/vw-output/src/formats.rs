//! Record shapes besides Suricata EVE v3 (`--format`, `--eve-dns-version`):
//!
//! - EVE with Suricata's DNS v2 shape, for pipelines that never moved to v3 (Elastic's
//!   Suricata ingest pipeline maps `dns.question.name` only from v2's `dns.rrname`);
//! - ECS-native JSON for Elastic (`@timestamp`, `event.kind`, `source.*`, `destination.*`,
//!   `dns.question.name`, `tls.client.server_name`, `rule.*`, `threat.indicator.*`);
//! - Zeek `intel.log` JSON (`seen.indicator`, `seen.indicator_type`, `seen.where`, ...).
//!
//! All are written with the same [`JsonWriter`] into the writer's reused buffer.

use std::net::IpAddr;

use crate::eve::{category, rcode_name};
use crate::json::JsonWriter;
use crate::proto::{dns, tls};
use crate::record::app::{AppRecord, DnsRecord, HttpRecord, TlsRecord};
use crate::record::{Alert, FlowMeta, MatchFacts, Observation};
use crate::sigs::PackInfo;
use crate::time::{EpochSecs, UtcTime};

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// Suricata EVE JSON (default).
    #[default]
    Eve,
    /// Elastic Common Schema JSON.
    Ecs,
    /// Zeek intel.log JSON (alerts only).
    ZeekIntel,
}

impl OutputFormat {
    /// Parse `eve|ecs|zeek-intel`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "eve" => Some(OutputFormat::Eve),
            "ecs" => Some(OutputFormat::Ecs),
            "zeek-intel" | "zeek" => Some(OutputFormat::ZeekIntel),
            _ => None,
        }
    }
}

/// ECS `@timestamp` / Zeek-style ISO time: `2024-10-01T12:00:00.123456Z`.
fn iso_z(j: &mut JsonWriter, key: &str, flow: &FlowMeta) {
    let t = UtcTime::from_timestamp(flow.ts);
    j.key(key);
    j.fmt_str(format_args!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.micros
    ));
}

fn ip_field(j: &mut JsonWriter, key: &str, ip: IpAddr) {
    j.key(key);
    j.fmt_str(format_args!("{ip}"));
}

/// Where an ECS record was seen: its flow's Community ID, the capture interface and the
/// sensor's name ("" for none).
pub struct Observer<'a> {
    /// The flow's Community ID.
    pub community_id: &'a str,
    /// `observer.ingress.interface.name`.
    pub iface: &'a str,
    /// `observer.name` (`--sensor-name`).
    pub sensor: &'a str,
}

/// Common ECS fields of every record; leaves the top-level object open.
fn ecs_begin(j: &mut JsonWriter, flow: &FlowMeta, kind: &str, app: &AppRecord, at: &Observer) {
    let iface = at.iface;
    j.reset();
    j.begin_object();
    iso_z(j, "@timestamp", flow);
    j.key("ecs");
    j.begin_object();
    j.field_str("version", "8.11.0");
    j.end_object();
    j.key("event");
    j.begin_object();
    j.field_str("kind", kind);
    j.key("category");
    j.begin_array();
    j.str("network");
    if kind == "alert" {
        j.str("intrusion_detection");
    }
    j.end_array();
    j.field_str("module", "vendorwatch");
    j.field_str(
        "dataset",
        if kind == "alert" {
            "vendorwatch.alert"
        } else {
            "vendorwatch.protocol"
        },
    );
    j.end_object();
    j.key("observer");
    j.begin_object();
    if !at.sensor.is_empty() {
        j.field_str("name", at.sensor);
    }
    j.field_str("product", "vendorwatch");
    j.field_str("type", "ids");
    if !iface.is_empty() {
        // ECS: the interface the packet came in on.
        j.key("ingress");
        j.begin_object();
        j.key("interface");
        j.begin_object();
        j.field_str("name", iface);
        j.end_object();
        j.end_object();
    }
    j.end_object();
    j.key("source");
    j.begin_object();
    ip_field(j, "ip", flow.src_ip);
    j.field_u64("port", u64::from(flow.src_port));
    j.end_object();
    j.key("destination");
    j.begin_object();
    ip_field(j, "ip", flow.dst_ip);
    j.field_u64("port", u64::from(flow.dst_port));
    // The server's name when the protocol gives it (TLS SNI); a DNS question names no
    // endpoint of this flow (the destination is the resolver).
    match app {
        AppRecord::Tls(TlsRecord { sni: Some(sni), .. }) => {
            j.key("domain");
            j.bytes_as_str(sni);
        }
        AppRecord::Http(HttpRecord {
            hostname: Some(host),
            ..
        }) => j.field_str("domain", host),
        _ => {}
    }
    j.end_object();
}

fn ecs_network(j: &mut JsonWriter, flow: &FlowMeta, app: &str, community_id: &str) {
    j.key("network");
    j.begin_object();
    j.field_str("transport", &flow.proto.eve_name().to_ascii_lowercase());
    j.field_str("protocol", app);
    j.field_str("community_id", community_id);
    if !flow.vlans.as_slice().is_empty() {
        j.key("vlan");
        j.begin_object();
        j.key("id");
        j.fmt_str(format_args!("{}", flow.vlans.as_slice()[0]));
        j.end_object();
    }
    j.end_object();
}

fn ecs_dns(j: &mut JsonWriter, rec: &DnsRecord) {
    j.key("dns");
    j.begin_object();
    j.field_u64("id", u64::from(rec.id));
    j.field_str("type", if rec.response { "answer" } else { "query" });
    j.field_str("op_code", if rec.opcode() == 0 { "QUERY" } else { "OTHER" });
    if let Some(q) = rec.queries.first() {
        j.key("question");
        j.begin_object();
        j.field_str("name", &q.rrname);
        j.key("type");
        match dns::rrtype_name(q.rrtype) {
            Some(n) => j.str(n),
            None => j.fmt_str(format_args!("{}", q.rrtype)),
        }
        j.end_object();
    }
    if rec.response {
        j.field_str("response_code", rcode_name(rec.rcode()));
        if !rec.answers.is_empty() {
            j.key("answers");
            j.begin_array();
            for a in &rec.answers {
                j.begin_object();
                j.field_str("name", &a.rrname);
                j.key("type");
                match dns::rrtype_name(a.rrtype) {
                    Some(n) => j.str(n),
                    None => j.fmt_str(format_args!("{}", a.rrtype)),
                }
                j.field_u64("ttl", u64::from(a.ttl));
                if let Some(d) = &a.rdata {
                    j.field_str("data", d);
                }
                j.end_object();
            }
            j.end_array();
            let mut ips = rec
                .answers
                .iter()
                .filter(|a| a.rrtype == 1 || a.rrtype == 28)
                .filter_map(|a| a.rdata.as_deref())
                .peekable();
            if ips.peek().is_some() {
                j.key("resolved_ip");
                j.begin_array();
                for ip in ips {
                    j.str(ip);
                }
                j.end_array();
            }
        }
    }
    j.end_object();
}

fn ecs_tls(j: &mut JsonWriter, rec: &TlsRecord) {
    j.key("tls");
    j.begin_object();
    let version = tls::version_name(rec.version);
    if let Some(v) = version.strip_prefix("TLS ") {
        j.field_str("version", v);
        j.field_str("version_protocol", "tls");
    } else {
        j.field_str("version", version);
    }
    if let Some(sni) = &rec.sni {
        j.key("client");
        j.begin_object();
        j.key("server_name");
        j.bytes_as_str(sni);
        j.end_object();
    }
    j.end_object();
}

fn ecs_http(j: &mut JsonWriter, rec: &HttpRecord) {
    j.key("http");
    j.begin_object();
    j.key("request");
    j.begin_object();
    j.field_str("method", &rec.method);
    j.end_object();
    if let Some(v) = rec.protocol.strip_prefix("HTTP/") {
        j.field_str("version", v);
    }
    j.end_object();
    j.key("url");
    j.begin_object();
    j.field_str("original", &rec.url);
    if let Some(host) = &rec.hostname {
        j.field_str("domain", host);
    }
    j.end_object();
    if let Some(ua) = &rec.user_agent {
        j.key("user_agent");
        j.begin_object();
        j.field_str("original", ua);
        j.end_object();
    }
}

/// ECS fields of a DHCP message: the client (`client.mac`, `client.ip`: the assigned
/// address, else the client's own) and the host name it gave (`host.hostname`).
fn ecs_dhcp(j: &mut JsonWriter, rec: &crate::record::app::DhcpRecord) {
    j.key("client");
    j.begin_object();
    let addr = if rec.assigned_ip.is_unspecified() {
        rec.client_ip
    } else {
        rec.assigned_ip
    };
    if !addr.is_unspecified() {
        j.key("ip");
        j.fmt_str(format_args!("{addr}"));
    }
    if let Some(mac) = &rec.client_mac {
        j.key("mac");
        j.fmt_str(format_args!("{}", EcsMac(mac)));
    }
    j.end_object();
    if let Some(h) = &rec.hostname {
        j.key("host");
        j.begin_object();
        j.field_str("hostname", h);
        j.end_object();
    }
}

/// A MAC the way ECS writes it: uppercase hex pairs joined by `-`.
struct EcsMac<'a>(&'a [u8; 6]);

impl std::fmt::Display for EcsMac<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("-")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// ECS `host` of an alert: the address, and what the identity table knew of the machine
/// (`host.mac`, `host.name`).
fn ecs_host(j: &mut JsonWriter, alert: &Alert<'_>) {
    j.key("host");
    j.begin_object();
    j.key("ip");
    j.begin_array();
    j.fmt_str(format_args!("{}", alert.host));
    j.end_array();
    if let Some(id) = alert.identity {
        if let Some(mac) = &id.mac {
            j.key("mac");
            j.begin_array();
            j.fmt_str(format_args!("{}", EcsMac(mac)));
            j.end_array();
        }
        if let Some(name) = &id.hostname {
            j.field_str("name", name);
        }
    }
    j.end_object();
}

/// An ECS alert document; the top-level object is left open for the writer to close.
pub fn ecs_alert(j: &mut JsonWriter, alert: &Alert<'_>, at: &Observer) {
    let (flow, rule, pack, facts, app) =
        (alert.flow, alert.rule, alert.pack, &alert.facts, alert.app);
    ecs_head(j, flow, "alert", app, at);
    ecs_host(j, alert);
    j.key("rule");
    j.begin_object();
    j.key("id");
    j.fmt_str(format_args!("{}", rule.sid));
    j.field_str("name", &rule.name);
    j.field_str("category", category(&rule.channel));
    j.key("version");
    j.fmt_str(format_args!("{}", rule.rev));
    j.field_str("ruleset", &pack.id);
    if let Some(r) = rule.references.first() {
        j.field_str("reference", r);
    }
    j.end_object();
    j.key("threat");
    j.begin_object();
    j.key("indicator");
    j.begin_object();
    let ip = facts.matched_name.parse::<IpAddr>().ok();
    j.field_str(
        "type",
        match ip {
            Some(IpAddr::V4(_)) => "ipv4-addr",
            Some(IpAddr::V6(_)) => "ipv6-addr",
            None => "domain-name",
        },
    );
    if ip.is_some() {
        j.field_str("ip", facts.matched_name);
    } else {
        j.key("url");
        j.begin_object();
        j.field_str("domain", facts.matched_name);
        j.end_object();
    }
    j.field_str("provider", &pack.vendor);
    j.field_str(
        "description",
        &format!("{} ({} channel)", rule.name, rule.channel),
    );
    if let Some(c) = &rule.confidence {
        j.field_str(
            "confidence",
            match c.as_str() {
                "high" => "High",
                "medium" => "Medium",
                _ => "Low",
            },
        );
    }
    j.end_object();
    j.key("feed");
    j.begin_object();
    j.field_str("name", &pack.id);
    j.end_object();
    j.end_object();
    j.key("labels");
    j.begin_object();
    j.field_str("vendor", &pack.vendor);
    j.field_str("channel", &rule.channel);
    j.field_str("observation", facts.observation.label());
    j.field_str("matched_pattern", facts.matched_pattern);
    j.key("repeats");
    j.fmt_str(format_args!("{}", facts.repeats));
    j.end_object();
    // The caller closes the top-level object.
}

/// An ECS protocol event (`--log`); the top-level object is left open.
pub fn ecs_event(j: &mut JsonWriter, flow: &FlowMeta, app: &AppRecord, at: &Observer) {
    ecs_head(j, flow, "event", app, at);
}

/// What ECS alerts and events share: the base fields, `network`, and the protocol object.
fn ecs_head(j: &mut JsonWriter, flow: &FlowMeta, kind: &str, app: &AppRecord, at: &Observer) {
    ecs_begin(j, flow, kind, app, at);
    ecs_network(j, flow, app.app_proto(), at.community_id);
    match app {
        AppRecord::Dns(rec) => ecs_dns(j, rec),
        AppRecord::Tls(rec) => ecs_tls(j, rec),
        AppRecord::Http(rec) => ecs_http(j, rec),
        AppRecord::Quic(rec) => ecs_tls(j, &rec.as_tls()),
        AppRecord::Dhcp(rec) => ecs_dhcp(j, rec),
        // A port alert carries no protocol object.
        AppRecord::None => {}
    }
}

/// Zeek `seen.where` for an observation (by its stable label, so observation kinds added
/// later map without touching this file until they get their own value).
pub fn zeek_where(observation: Observation) -> &'static str {
    match observation.label() {
        "dns-query" => "DNS::IN_REQUEST",
        "dns-answer" => "DNS::IN_RESPONSE",
        "tls-sni" | "quic-sni" => "SSL::IN_SERVER_NAME",
        "http-host" => "HTTP::IN_HOST_HEADER",
        "http-user-agent" => "HTTP::IN_USER_AGENT_HEADER",
        _ => "Conn::IN_RESP",
    }
}

/// A Zeek-style connection uid (`C` + base62) derived from the flow id, so every record of a
/// flow shares it.
fn zeek_uid(j: &mut JsonWriter, flow_id: u64) {
    const B62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut buf = [b'0'; 12];
    let mut v = flow_id;
    for slot in buf.iter_mut().rev() {
        *slot = B62[(v % 62) as usize];
        v /= 62;
    }
    j.key("uid");
    j.fmt_str(format_args!(
        "C{}",
        std::str::from_utf8(&buf).unwrap_or("0")
    ));
}

/// A Zeek intel.log record for an alert (`seen.node`: the sensor's name, else
/// `vendorwatch`); the top-level object is left open.
pub fn zeek_intel(
    j: &mut JsonWriter,
    flow: &FlowMeta,
    pack: &PackInfo,
    facts: &MatchFacts<'_>,
    app: &AppRecord,
    sensor: &str,
) {
    j.reset();
    j.begin_object();
    j.key("ts");
    j.raw_number(format_args!("{}", EpochSecs(flow.ts)));
    zeek_uid(j, flow.flow_id());
    // The originator is the client: the receiver of a DNS response.
    let ((oh, op), (rh, rp)) = match app {
        AppRecord::Dns(rec) if rec.response => {
            ((flow.dst_ip, flow.dst_port), (flow.src_ip, flow.src_port))
        }
        _ => ((flow.src_ip, flow.src_port), (flow.dst_ip, flow.dst_port)),
    };
    ip_field(j, "id.orig_h", oh);
    j.field_u64("id.orig_p", u64::from(op));
    ip_field(j, "id.resp_h", rh);
    j.field_u64("id.resp_p", u64::from(rp));
    j.field_str("seen.indicator", facts.matched_name);
    let kind = if facts.matched_name.parse::<IpAddr>().is_ok() {
        "Intel::ADDR"
    } else {
        "Intel::DOMAIN"
    };
    j.field_str("seen.indicator_type", kind);
    j.field_str("seen.where", zeek_where(facts.observation));
    j.field_str(
        "seen.node",
        if sensor.is_empty() {
            "vendorwatch"
        } else {
            sensor
        },
    );
    j.key("matched");
    j.begin_array();
    j.str(kind);
    j.end_array();
    j.key("sources");
    j.begin_array();
    j.str(&pack.id);
    j.end_array();
}
