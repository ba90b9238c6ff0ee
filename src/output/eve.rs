//! EVE JSON lines, shaped as Suricata 8 writes them, so Filebeat, Splunk, Wazuh and jq
//! pipelines take them unchanged. Fields Suricata has no name for go in `alert.metadata`
//! (the schema forbids unknown top-level keys).

use std::io::{self, Write};
use std::net::IpAddr;

use crate::decode::{L4Proto, VlanIds};
use crate::detect::event::{AppRecord, DnsRecord, HttpRecord, QuicRecord, TlsRecord};
use crate::detect::{FlowMeta, Observation};
use crate::output::community_id::{CommunityId, community_id};
use crate::output::formats::{self, OutputFormat};
use crate::output::json::JsonWriter;
use crate::output::report::{AlertFacts, ReportBuilder};
use crate::output::sink::{NetSink, SinkReport, SinkStats};
use crate::output::time::UtcTime;
use crate::proto::{dns, quic, tls};
use crate::sigs::{PackInfo, Rule};

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
}

/// Writes EVE records, one JSON object per line, through a buffer.
///
/// A write error (disk full, closed pipe) is kept, not retried: later writes are dropped, the
/// error is reported by [`EveWriter::finish`], and the scan exits non-zero.
pub struct EveWriter {
    sink: io::BufWriter<Box<dyn Write>>,
    json: JsonWriter,
    pcap_filename: String,
    /// `in_iface`: the sensor interface; empty (omitted) for capture files unless set.
    in_iface: String,
    /// Seed of the Community ID hash (Suricata's `community-id-seed`, default 0).
    community_id_seed: u16,
    /// Record shape (`--format`).
    format: OutputFormat,
    /// EVE DNS object version: 3 (Suricata 8 default) or 2.
    dns_version: u8,
    /// Alerts written per rule sid (with the rule name), for metrics.
    alerts_by_rule: std::collections::BTreeMap<u32, (String, u64)>,
    /// Network outputs (syslog, Redis) that get a copy of every record.
    sinks: Vec<NetSink>,
    /// Syslog severity and MSGID of the record being written.
    severity: u8,
    msgid: &'static str,
    /// Host inventory report fed by every alert written (`scan --report`).
    report: Option<ReportBuilder>,
    records: u64,
    error: Option<io::Error>,
}

impl EveWriter {
    /// Wrap a sink (stdout or a file).
    pub fn new(sink: Box<dyn Write>) -> Self {
        EveWriter {
            sink: io::BufWriter::with_capacity(256 * 1024, sink),
            json: JsonWriter::new(),
            pcap_filename: String::new(),
            in_iface: String::new(),
            community_id_seed: 0,
            report: None,
            sinks: Vec::new(),
            alerts_by_rule: std::collections::BTreeMap::new(),
            severity: 6,
            msgid: "alert",
            format: OutputFormat::Eve,
            dns_version: 3,
            records: 0,
            error: None,
        }
    }

    /// Name of the capture file now being read, written as `pcap_filename`.
    pub fn set_pcap_filename(&mut self, name: &str) {
        self.pcap_filename.clear();
        self.pcap_filename.push_str(name);
    }

    /// Interface name written as `in_iface` (empty: field omitted).
    pub fn set_in_iface(&mut self, name: &str) {
        self.in_iface.clear();
        self.in_iface.push_str(name);
    }

    /// Seed of the Community ID hash; must match the other sensors' for records to join.
    pub fn set_community_id_seed(&mut self, seed: u16) {
        self.community_id_seed = seed;
    }

    /// Also send every record to a network sink.
    pub fn add_sink(&mut self, sink: NetSink) {
        self.sinks.push(sink);
    }

    /// Counters of the network sinks (for the metrics endpoint).
    pub fn sink_stats(&self) -> Vec<(String, std::sync::Arc<SinkStats>)> {
        self.sinks
            .iter()
            .map(|s| (s.label().to_string(), s.stats()))
            .collect()
    }

    /// Alerts written so far, by rule sid: (rule name, count).
    pub fn alerts_by_rule(&self) -> &std::collections::BTreeMap<u32, (String, u64)> {
        &self.alerts_by_rule
    }

    /// Close the network sinks, letting each deliver what it holds, and report on them.
    pub fn close_sinks(&mut self) -> Vec<SinkReport> {
        self.sinks.drain(..).map(NetSink::close).collect()
    }

    /// Record shape: EVE (default), ECS or Zeek intel.log.
    pub fn set_format(&mut self, format: OutputFormat) {
        self.format = format;
    }

    /// EVE DNS object version, 2 or 3 (anything else is taken as 3).
    pub fn set_dns_version(&mut self, version: u8) {
        self.dns_version = if version == 2 { 2 } else { 3 };
    }

    fn community_id(&self, flow: &FlowMeta) -> CommunityId {
        community_id(
            self.community_id_seed,
            flow.src_ip,
            flow.dst_ip,
            flow.src_port,
            flow.dst_port,
            flow.proto.number(),
        )
    }

    /// Build a host inventory report from the alerts written (taken by [`Self::take_report`]).
    pub fn enable_report(&mut self) {
        self.report = Some(ReportBuilder::default());
    }

    /// The report built so far, if enabled.
    pub fn take_report(&mut self) -> Option<ReportBuilder> {
        self.report.take()
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// True once a write has failed; callers stop producing work.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// An alert with the protocol record it came from.
    pub fn write_alert(
        &mut self,
        flow: &FlowMeta,
        rule: &Rule,
        pack: &PackInfo,
        facts: &MatchFacts<'_>,
        app: &AppRecord,
    ) {
        self.add_to_report(flow, rule, pack, facts, app);
        match self.alerts_by_rule.get_mut(&rule.sid) {
            Some(e) => e.1 += 1,
            None => {
                self.alerts_by_rule.insert(rule.sid, (rule.name.clone(), 1));
            }
        }
        // Syslog severity from the rule's: 1 high -> err, 2 -> warning, 3 -> notice.
        self.severity = 2 + rule.severity.clamp(1, 3);
        self.msgid = "alert";
        match self.format {
            OutputFormat::Eve => {}
            OutputFormat::Ecs => {
                let cid = self.community_id(flow);
                formats::ecs_alert(&mut self.json, flow, rule, pack, facts, app, cid.as_str());
                self.end_record();
                return;
            }
            OutputFormat::ZeekIntel => {
                formats::zeek_intel(&mut self.json, flow, pack, facts, app);
                self.end_record();
                return;
            }
        }
        self.begin_record(flow, "alert");
        let j = &mut self.json;
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
            j.key("references");
            j.begin_array();
            for r in &rule.references {
                j.str(r);
            }
            j.end_array();
        }
        j.key("metadata");
        j.begin_object();
        j.field_str_array1("vendor", &pack.vendor);
        j.field_str_array1("channel", &rule.channel);
        j.field_str_array1("pack", &pack.id);
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
        j.end_object();
        j.end_object();
        match app {
            AppRecord::Dns(rec) if self.dns_version == 2 => formats::eve_dns_alert_v2(j, rec),
            _ => write_app_object(j, app),
        }
        self.end_record();
    }

    fn add_to_report(
        &mut self,
        flow: &FlowMeta,
        rule: &Rule,
        pack: &PackInfo,
        facts: &MatchFacts<'_>,
        app: &AppRecord,
    ) {
        if let Some(report) = &mut self.report {
            // The host running the product: the asker of a DNS query, the receiver of the
            // response, the TLS client.
            let host = match app {
                AppRecord::Dns(rec) if rec.response => flow.dst_ip,
                _ => flow.src_ip,
            };
            report.add(&AlertFacts {
                host: &host.to_string(),
                vendor: &pack.vendor,
                channel: &rule.channel,
                sid: u64::from(rule.sid),
                signature: &rule.name,
                name: facts.matched_name,
                ts: flow.ts,
                count: 1 + facts.repeats,
            });
        }
    }

    /// A protocol record of `--log` (`event_type` dns, tls, quic or http), in the selected
    /// format: EVE (DNS v3, or v2 with one record per question of a request), ECS, or nothing
    /// for Zeek intel.log, which only has matches.
    pub fn write_event(&mut self, flow: &FlowMeta, app: &AppRecord) {
        self.severity = 6;
        self.msgid = app.app_proto();
        match (self.format, app) {
            (OutputFormat::ZeekIntel, _) | (_, AppRecord::None) => {}
            (OutputFormat::Ecs, _) => {
                let cid = self.community_id(flow);
                formats::ecs_event(&mut self.json, flow, app, cid.as_str());
                self.end_record();
            }
            (OutputFormat::Eve, AppRecord::Dns(rec)) if self.dns_version == 2 => {
                // v2: a request gives one record per question.
                let n = if rec.response {
                    1
                } else {
                    rec.queries.len().max(1)
                };
                for i in 0..n {
                    self.begin_record(flow, "dns");
                    formats::eve_dns_event_v2(&mut self.json, rec, i);
                    self.end_record();
                }
            }
            (OutputFormat::Eve, _) => {
                self.begin_record(flow, app.app_proto());
                write_app_object(&mut self.json, app);
                self.end_record();
            }
        }
    }

    /// An `event_type: stats` record ([`crate::output::stats`]), also sent to the network
    /// outputs. EVE format only.
    pub fn write_stats(&mut self, input: &crate::output::stats::StatsInput) {
        if self.format != OutputFormat::Eve {
            return;
        }
        self.severity = 6;
        self.msgid = "stats";
        crate::output::stats::write_stats(&mut self.json, crate::output::stats::now(), input);
        self.emit();
    }

    /// Flush buffered records; the first write error of the run, if any.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.sink.flush()
    }

    /// Push buffered records to the sink (live capture when idle, workers after each batch);
    /// a write error is kept for [`EveWriter::finish`].
    pub fn flush_buffer(&mut self) -> io::Result<()> {
        if self.error.is_some() {
            return Ok(());
        }
        if let Err(e) = self.sink.flush() {
            self.error = Some(e);
        }
        Ok(())
    }

    /// One finished JSON object (a `stats` record), written as a line and counted.
    pub fn write_line(&mut self, line: &[u8]) {
        if self.error.is_some() {
            return;
        }
        match self
            .sink
            .write_all(line)
            .and_then(|()| self.sink.write_all(b"\n"))
        {
            Ok(()) => self.records += 1,
            Err(e) => self.error = Some(e),
        }
    }

    /// Flush and report the first error of the run.
    pub fn finish(mut self) -> io::Result<u64> {
        self.flush()?;
        Ok(self.records)
    }

    fn begin_record(&mut self, flow: &FlowMeta, event_type: &str) {
        let j = &mut self.json;
        j.reset();
        j.begin_object();
        j.key("timestamp");
        j.fmt_str(format_args!("{}", UtcTime::from_timestamp(flow.ts)));
        j.field_u64("flow_id", flow.flow_id());
        if !self.in_iface.is_empty() {
            j.field_str("in_iface", &self.in_iface);
        }
        if !self.pcap_filename.is_empty() {
            j.field_str("pcap_filename", &self.pcap_filename);
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
        let cid = self.community_id(flow);
        self.json.field_str("community_id", cid.as_str());
    }

    fn end_record(&mut self) {
        self.json.end_object();
        self.emit();
    }

    /// Write the finished object in `json` as a line, to the sink and the network outputs.
    fn emit(&mut self) {
        for sink in &self.sinks {
            sink.send(self.json.as_bytes(), self.severity, self.msgid);
        }
        if self.error.is_some() {
            return;
        }
        let result = self
            .sink
            .write_all(self.json.as_bytes())
            .and_then(|()| self.sink.write_all(b"\n"));
        match result {
            Ok(()) => self.records += 1,
            Err(e) => self.error = Some(e),
        }
    }
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
    j.field_str("ja4", rec.ja4.as_str());
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
