//! EVE JSON lines, shaped as Suricata 8 writes them, so Filebeat, Splunk, Wazuh and jq
//! pipelines take them unchanged. Fields Suricata has no name for go in `alert.metadata`
//! (the schema forbids unknown top-level keys).

use std::io::{self, Write};
use std::net::IpAddr;

use crate::decode::{L4Proto, VlanIds};
use crate::detect::event::{AppRecord, DnsRecord, HttpRecord, TlsRecord};
use crate::detect::{FlowMeta, Observation};
use crate::output::json::JsonWriter;
use crate::output::time::UtcTime;
use crate::proto::{dns, tls};
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
}

/// Writes EVE records, one JSON object per line, through a buffer.
///
/// A write error (disk full, closed pipe) is kept, not retried: later writes are dropped, the
/// error is reported by [`EveWriter::finish`], and the scan exits non-zero.
pub struct EveWriter {
    sink: io::BufWriter<Box<dyn Write>>,
    json: JsonWriter,
    pcap_filename: String,
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
            records: 0,
            error: None,
        }
    }

    /// Name of the capture file now being read, written as `pcap_filename`.
    pub fn set_pcap_filename(&mut self, name: &str) {
        self.pcap_filename.clear();
        self.pcap_filename.push_str(name);
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
        self.begin_record(flow, "alert");
        let j = &mut self.json;
        j.field_str("app_proto", app.app_proto());
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
        if let Some(confidence) = &rule.confidence {
            j.field_str_array1("confidence", confidence);
        }
        j.end_object();
        j.end_object();
        match app {
            AppRecord::Dns(rec) => write_dns_object(j, rec),
            AppRecord::Tls(rec) => write_tls_object(j, rec),
            AppRecord::Http(rec) => write_http_object(j, rec),
        }
        self.end_record();
    }

    /// A passive-DNS record (`event_type: dns`).
    pub fn write_dns(&mut self, flow: &FlowMeta, rec: &DnsRecord) {
        self.begin_record(flow, "dns");
        write_dns_object(&mut self.json, rec);
        self.end_record();
    }

    /// A ClientHello record (`event_type: tls`).
    pub fn write_tls(&mut self, flow: &FlowMeta, rec: &TlsRecord) {
        self.begin_record(flow, "tls");
        write_tls_object(&mut self.json, rec);
        self.end_record();
    }

    /// An HTTP request record (`event_type: http`).
    pub fn write_http(&mut self, flow: &FlowMeta, rec: &HttpRecord) {
        self.begin_record(flow, "http");
        write_http_object(&mut self.json, rec);
        self.end_record();
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
    }

    fn end_record(&mut self) {
        self.json.end_object();
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
fn category(channel: &str) -> &'static str {
    match channel {
        "update" => "Vendor update channel",
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

fn write_rrtype(j: &mut JsonWriter, rrtype: u16) {
    j.key("rrtype");
    match dns::rrtype_name(rrtype) {
        Some(name) => j.str(name),
        None => j.fmt_str(format_args!("{rrtype}")),
    }
}

/// RCODE mnemonics as Suricata logs them.
fn rcode_name(rcode: u8) -> &'static str {
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
    j.end_object();
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
