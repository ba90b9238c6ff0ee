//! EVE JSON lines, shaped as Suricata 8 writes them, so Filebeat, Splunk, Wazuh and jq
//! pipelines take them unchanged. Fields Suricata has no name for go in `alert.metadata`
//! (the schema forbids unknown top-level keys).

use std::net::IpAddr;

use crate::decode::{L4Proto, VlanIds};
use crate::json::JsonWriter;
use crate::proto::{dhcp, dns, quic, tls};
use crate::record::app::{AppRecord, DhcpRecord, DnsRecord, HttpRecord, QuicRecord, TlsRecord};
use crate::record::{Alert, FlowMeta, HostIdentity};
use crate::time::UtcTime;

/// The fields every EVE record starts with, up to `community_id`; the object is left open.
pub fn begin_record(
    j: &mut JsonWriter,
    flow: &FlowMeta,
    event_type: &str,
    in_iface: &str,
    pcap_filename: &str,
    community_id: &str,
) {
    j.reset();
    j.begin_object();
    j.key("timestamp");
    j.fmt_str(format_args!("{}", UtcTime::from_timestamp(flow.ts)));
    j.field_u64("flow_id", flow.flow_id());
    if !in_iface.is_empty() {
        j.field_str("in_iface", in_iface);
    }
    if !pcap_filename.is_empty() {
        j.field_str("pcap_filename", pcap_filename);
    }
    j.field_u64("pcap_cnt", flow.pcap_cnt);
    j.field_str("event_type", event_type);
    write_vlans(j, &flow.vlans);
    write_ip(j, "src_ip", flow.src_ip);
    j.field_u64("src_port", u64::from(flow.src_port));
    write_ip(j, "dest_ip", flow.dst_ip);
    j.field_u64("dest_port", u64::from(flow.dst_port));
    j.field_str("proto", proto_name(flow.proto));
    if let Some(t) = &flow.tunnel {
        j.key("tunnel");
        j.begin_object();
        write_ip(j, "src_ip", t.src_ip);
        write_ip(j, "dest_ip", t.dst_ip);
        j.field_str("proto", t.proto_name());
        j.field_u64("depth", u64::from(t.depth));
        j.end_object();
    }
    j.field_str("community_id", community_id);
}

/// The sensor's name as EVE's top-level `host` (Suricata's `sensor-name`), when one is set;
/// written last, as Suricata does.
pub fn sensor_name(j: &mut JsonWriter, sensor: &str) {
    if !sensor.is_empty() {
        j.field_str("host", sensor);
    }
}

/// The rest of an EVE alert after [`begin_record`]: `app_proto`, the `alert` object with our
/// facts in `alert.metadata`, and the protocol object (DNS in the v2 or v3 shape). The object
/// is left open.
pub fn alert_body(j: &mut JsonWriter, alert: &Alert<'_>, dns_version: u8) {
    let (rule, pack, facts, app) = (alert.rule, alert.pack, &alert.facts, alert.app);
    if !app.app_proto().is_empty() {
        j.field_str("app_proto", app.app_proto());
    }
    j.key("alert");
    j.begin_object();
    j.field_str("action", "allowed");
    j.field_u64("gid", 1);
    j.field_u64("signature_id", u64::from(rule.sid));
    j.field_u64("rev", u64::from(rule.rev));
    j.field_str("signature", &rule.name);
    j.field_str("category", category(&rule.channel));
    j.field_u64("severity", u64::from(rule.severity));
    if !rule.references.is_empty() {
        j.field_str_array("references", &rule.references);
    }
    j.key("metadata");
    j.begin_object();
    j.field_str_array1("vendor", &pack.vendor);
    j.field_str_array1("channel", &rule.channel);
    j.field_str_array1("pack", &pack.id);
    if let Some(cutoff) = pack.cutoff {
        // The pack's cut-off travels with the alert, so a report made from EVE alone (other
        // sensors', a Kafka topic's) knows it.
        j.key("cutoff");
        j.begin_array();
        j.fmt_str(format_args!("{cutoff}"));
        j.end_array();
    }
    // Migrations between packs travel the same way, so `report` over EVE files computes the
    // same per-host verdicts as the scan did.
    if let Some(from) = &pack.migrated_from {
        j.field_str_array1("migrated_from", from);
    }
    if let Some(migration) = pack.migration {
        j.key("migration");
        j.begin_array();
        j.fmt_str(format_args!("{migration}"));
        j.end_array();
    }
    if !pack.migrated_to.is_empty() {
        j.field_str_array("migrated_to", &pack.migrated_to);
    }
    if let Some(verdict) = facts.verdict {
        j.field_str_array1("verdict", verdict);
    }
    j.field_str_array1("matched_name", facts.matched_name);
    j.field_str_array1("matched_pattern", facts.matched_pattern);
    j.field_str_array1("observation", facts.observation.label());
    if let Some(name) = facts.resolved_from {
        j.field_str_array1("resolved_from", name);
    }
    if let Some(confidence) = &rule.confidence {
        j.field_str_array1("confidence", confidence);
    }
    // Suricata's `tls` and `quic` objects allow no key of ours (additionalProperties is
    // false), so the ECH flag travels in the metadata, as the schema allows there.
    if app.ech() {
        j.field_str_array1("ech", "true");
    }
    if facts.repeats > 0 {
        j.key("repeats");
        j.begin_array();
        j.fmt_str(format_args!("{}", facts.repeats));
        j.end_array();
    }
    if let Some(id) = alert.identity {
        write_identity_metadata(j, id);
    }
    j.end_object();
    j.end_object();
    match app {
        AppRecord::Dns(rec) if dns_version == 2 => eve_dns_alert_v2(j, rec),
        _ => write_app_object(j, app),
    }
}

/// Who held the alert's host address at the packet's time, as `alert.metadata` arrays:
/// `host_mac`, `host_name`, `host_vendor_class`, `host_client_id` (each only when known).
pub fn write_identity_metadata(j: &mut JsonWriter, id: &HostIdentity) {
    if let Some(mac) = id.mac {
        j.key("host_mac");
        j.begin_array();
        j.fmt_str(format_args!("{}", MacText(&mac)));
        j.end_array();
    }
    if let Some(name) = &id.hostname {
        j.field_str_array1("host_name", name);
    }
    if let Some(vc) = &id.vendor_class {
        j.field_str_array1("host_vendor_class", vc);
    }
    if let Some(cid) = &id.client_id {
        j.field_str_array1("host_client_id", cid);
    }
}

/// Bytes as lowercase hex pairs joined by `:` (a MAC, a DHCP client id), without a String.
pub struct MacText<'a>(pub &'a [u8]);

impl std::fmt::Display for MacText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The protocol object of an EVE protocol event (DNS v3 shape) after [`begin_record`].
pub fn event_body(j: &mut JsonWriter, app: &AppRecord) {
    write_app_object(j, app);
}

/// The EVE `dns` object of an alert in the v2 shape: `query: [...]` for a request, `answer`
/// for a response (as Suricata 7 logged alerts with DNS v2).
pub fn eve_dns_alert_v2(j: &mut JsonWriter, rec: &DnsRecord) {
    j.key("dns");
    j.begin_object();
    // Suricata 8's schema requires `version` in every dns object.
    j.field_u64("version", 2);
    if rec.response {
        j.key("answer");
        v2_answer_header(j, rec);
        j.end_object();
    } else {
        j.key("query");
        j.begin_array();
        for q in &rec.queries {
            j.begin_object();
            j.field_str("type", "query");
            j.field_u64("id", u64::from(rec.id));
            j.field_str("rrname", &q.rrname);
            write_rrtype(j, q.rrtype);
            j.field_u64("tx_id", 0);
            j.field_u64("opcode", u64::from(rec.opcode()));
            j.end_object();
        }
        j.end_array();
    }
    j.end_object();
}

/// Opens an object with the v2 response header fields; the caller closes it.
fn v2_answer_header(j: &mut JsonWriter, rec: &DnsRecord) {
    j.begin_object();
    j.field_u64("version", 2);
    j.field_str("type", "answer");
    j.field_u64("id", u64::from(rec.id));
    j.key("flags");
    j.fmt_str(format_args!("{:x}", rec.flags));
    j.field_bool("qr", true);
    if rec.flags & 0x0100 != 0 {
        j.field_bool("rd", true);
    }
    if rec.flags & 0x0080 != 0 {
        j.field_bool("ra", true);
    }
    j.field_u64("opcode", u64::from(rec.opcode()));
    if let Some(q) = rec.queries.first() {
        j.field_str("rrname", &q.rrname);
        write_rrtype(j, q.rrtype);
    }
    j.field_str("rcode", rcode_name(rec.rcode()));
}

/// The EVE `dns` object of an `event_type: dns` record in the v2 shape. A request gives one
/// record per question (`index` selects it); a response one record with `answers` and
/// `grouped`.
pub fn eve_dns_event_v2(j: &mut JsonWriter, rec: &DnsRecord, index: usize) {
    j.key("dns");
    if rec.response {
        v2_answer_header(j, rec);
        if !rec.answers.is_empty() {
            write_dns_answers(j, rec);
            j.key("grouped");
            j.begin_object();
            for (t, name) in [(1u16, "A"), (28, "AAAA"), (5, "CNAME")] {
                let mut items = rec
                    .answers
                    .iter()
                    .filter(|a| a.rrtype == t)
                    .filter_map(|a| a.rdata.as_deref())
                    .peekable();
                if items.peek().is_none() {
                    continue;
                }
                j.key(name);
                j.begin_array();
                for r in items {
                    j.str(r);
                }
                j.end_array();
            }
            j.end_object();
        }
        j.end_object();
        return;
    }
    j.begin_object();
    j.field_u64("version", 2);
    j.field_str("type", "query");
    j.field_u64("id", u64::from(rec.id));
    if let Some(q) = rec.queries.get(index) {
        j.field_str("rrname", &q.rrname);
        write_rrtype(j, q.rrtype);
    }
    j.field_u64("tx_id", 0);
    j.field_u64("opcode", u64::from(rec.opcode()));
    j.end_object();
}

/// EVE `alert.category` for a channel: a readable phrase as Suricata's classification gives.
pub(crate) fn category(channel: &str) -> &'static str {
    match channel {
        "update" => "Vendor update channel",
        "cloud" => "Vendor cloud/P2P channel",
        "telemetry" => "Vendor telemetry channel",
        "activation" => "Vendor licensing channel",
        "management" => "Vendor management channel",
        "portal" => "Vendor web portal",
        _ => "Vendor network activity",
    }
}

fn proto_name(proto: L4Proto) -> &'static str {
    proto.eve_name()
}

fn write_ip(j: &mut JsonWriter, key: &str, ip: IpAddr) {
    j.key(key);
    j.fmt_str(format_args!("{ip}"));
}

fn write_vlans(j: &mut JsonWriter, vlans: &VlanIds) {
    if vlans.as_slice().is_empty() {
        return;
    }
    j.key("vlan");
    j.begin_array();
    for id in vlans.as_slice() {
        j.u64(u64::from(*id));
    }
    j.end_array();
}

pub(crate) fn write_rrtype(j: &mut JsonWriter, rrtype: u16) {
    j.key("rrtype");
    match dns::rrtype_name(rrtype) {
        Some(name) => j.str(name),
        None => j.fmt_str(format_args!("{rrtype}")),
    }
}

/// RCODE mnemonics as Suricata logs them.
pub(crate) fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => "UNKNOWN",
    }
}

/// The protocol object of a record, as Suricata names it (`dns` in the v3 shape, `tls`,
/// `http`, `quic`); nothing for a record without one.
fn write_app_object(j: &mut JsonWriter, app: &AppRecord) {
    match app {
        AppRecord::Dns(rec) => write_dns_object(j, rec),
        AppRecord::Tls(rec) => write_tls_object(j, rec),
        AppRecord::Http(rec) => write_http_object(j, rec),
        AppRecord::Quic(rec) => write_quic_object(j, rec),
        AppRecord::Dhcp(rec) => write_dhcp_object(j, rec),
        AppRecord::None => {}
    }
}

/// EVE DNS v3 object (Suricata 8's default).
fn write_dns_object(j: &mut JsonWriter, rec: &DnsRecord) {
    j.key("dns");
    j.begin_object();
    j.field_u64("version", 3);
    j.field_str("type", if rec.response { "response" } else { "request" });
    j.field_u64("tx_id", 0);
    j.field_u64("id", u64::from(rec.id));
    j.key("flags");
    j.fmt_str(format_args!("{:x}", rec.flags));
    if rec.response {
        j.field_bool("qr", true);
    }
    if rec.flags & 0x0400 != 0 {
        j.field_bool("aa", true);
    }
    if rec.flags & 0x0200 != 0 {
        j.field_bool("tc", true);
    }
    if rec.flags & 0x0100 != 0 {
        j.field_bool("rd", true);
    }
    if rec.flags & 0x0080 != 0 {
        j.field_bool("ra", true);
    }
    j.field_u64("opcode", u64::from(rec.opcode()));
    j.field_str("rcode", rcode_name(rec.rcode()));
    if !rec.queries.is_empty() {
        j.key("queries");
        j.begin_array();
        for q in &rec.queries {
            j.begin_object();
            j.field_str("rrname", &q.rrname);
            write_rrtype(j, q.rrtype);
            j.end_object();
        }
        j.end_array();
    }
    if !rec.answers.is_empty() {
        write_dns_answers(j, rec);
    }
    j.end_object();
}

/// `"answers": [{rrname, rrtype, ttl, rdata}]`, the same in DNS v2 and v3 records.
pub(crate) fn write_dns_answers(j: &mut JsonWriter, rec: &DnsRecord) {
    j.key("answers");
    j.begin_array();
    for a in &rec.answers {
        j.begin_object();
        j.field_str("rrname", &a.rrname);
        write_rrtype(j, a.rrtype);
        j.field_u64("ttl", u64::from(a.ttl));
        if let Some(rdata) = &a.rdata {
            j.field_str("rdata", rdata);
        }
        j.end_object();
    }
    j.end_array();
}

/// EVE `tls` object for a ClientHello (the server side is not parsed).
fn write_tls_object(j: &mut JsonWriter, rec: &TlsRecord) {
    j.key("tls");
    j.begin_object();
    if let Some(sni) = &rec.sni {
        j.key("sni");
        j.bytes_as_str(sni);
    }
    j.field_str("version", tls::version_name(rec.version));
    if let Some(ja4) = &rec.ja4 {
        j.field_str("ja4", ja4.as_str());
    }
    j.end_object();
}

/// EVE `quic` object: `sni`, `version` as Suricata writes it (hex, `"1"` for v1), `ja4`.
fn write_quic_object(j: &mut JsonWriter, rec: &QuicRecord) {
    j.key("quic");
    j.begin_object();
    j.key("version");
    j.fmt_str(format_args!("{}", quic::VersionName(rec.version)));
    if let Some(sni) = &rec.sni {
        j.key("sni");
        j.bytes_as_str(sni);
    }
    j.field_str("ja4", rec.ja4.as_str());
    j.end_object();
}

/// EVE `dhcp` object, as Suricata's extended DHCP log writes it.
fn write_dhcp_object(j: &mut JsonWriter, rec: &DhcpRecord) {
    let ip = |j: &mut JsonWriter, key: &str, a: std::net::Ipv4Addr| {
        j.key(key);
        j.fmt_str(format_args!("{a}"));
    };
    let ips = |j: &mut JsonWriter, key: &str, list: &[std::net::Ipv4Addr]| {
        if list.is_empty() {
            return;
        }
        j.key(key);
        j.begin_array();
        for a in list {
            j.fmt_str(format_args!("{a}"));
        }
        j.end_array();
    };
    j.key("dhcp");
    j.begin_object();
    j.field_str("type", if rec.request { "request" } else { "reply" });
    j.field_u64("id", u64::from(rec.xid));
    if let Some(mac) = &rec.client_mac {
        j.key("client_mac");
        j.fmt_str(format_args!("{}", MacText(mac)));
    }
    ip(j, "assigned_ip", rec.assigned_ip);
    ip(j, "client_ip", rec.client_ip);
    if let Some(a) = rec.relay_ip {
        ip(j, "relay_ip", a);
    }
    if let Some(a) = rec.next_server_ip {
        ip(j, "next_server_ip", a);
    }
    if let Some(t) = rec.dhcp_type {
        j.field_str("dhcp_type", dhcp::type_name(t));
    }
    if let Some(cid) = &rec.client_id {
        j.key("client_id");
        j.fmt_str(format_args!("{}", MacText(cid)));
    }
    if let Some(h) = &rec.hostname {
        j.field_str("hostname", h);
    }
    if let Some(a) = rec.requested_ip {
        ip(j, "requested_ip", a);
    }
    for (key, v) in [
        ("lease_time", rec.lease_time),
        ("renewal_time", rec.renewal_time),
        ("rebinding_time", rec.rebinding_time),
    ] {
        if let Some(v) = v {
            j.field_u64(key, u64::from(v));
        }
    }
    if let Some(a) = rec.subnet_mask {
        ip(j, "subnet_mask", a);
    }
    ips(j, "routers", &rec.routers);
    ips(j, "dns_servers", &rec.dns_servers);
    if !rec.params.is_empty() {
        j.key("params");
        j.begin_array();
        for &code in &rec.params {
            match dhcp::param_name(code) {
                Some(name) => j.str(name),
                None => j.fmt_str(format_args!("{code}")),
            }
        }
        j.end_array();
    }
    if let Some(vc) = &rec.vendor_class {
        j.field_str("vendor_class_identifier", vc);
    }
    j.end_object();
}

/// EVE `http` object for a request (the response is not parsed).
fn write_http_object(j: &mut JsonWriter, rec: &HttpRecord) {
    j.key("http");
    j.begin_object();
    if let Some(host) = &rec.hostname {
        j.field_str("hostname", host);
    }
    if let Some(port) = rec.port {
        j.field_u64("http_port", u64::from(port));
    }
    j.field_str("url", &rec.url);
    if let Some(ua) = &rec.user_agent {
        j.field_str("http_user_agent", ua);
    }
    j.field_str("http_method", &rec.method);
    if !rec.protocol.is_empty() {
        j.field_str("protocol", &rec.protocol);
    }
    j.end_object();
}
