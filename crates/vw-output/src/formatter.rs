//! The formatter: a [`RecordSink`] that turns records into lines in the selected shape (EVE
//! with DNS v3 or v2, ECS, Zeek intel.log) and collects them, tagged, in a [`RecordBatch`]
//! for the [`crate::hub::OutputHub`]. One per worker, so formatting runs in parallel;
//! the hub only moves bytes.

use std::sync::Arc;

use crate::community_id::{CommunityId, community_id};
use crate::formats::{self, OutputFormat};
use crate::hub::{AlertTag, Forward, LineTag, RecordBatch, RecordKey, TagIdentity};
use crate::json::JsonWriter;
use crate::record::app::AppRecord;
use crate::record::counters::StatsSnapshot;
use crate::record::lineage::Lineage;
use crate::record::{Alert, FlowMeta, RecordSink};
use crate::{eve, stats};

/// How records are shaped: the same for every worker.
#[derive(Debug, Clone)]
pub struct FormatConfig {
    /// Record shape (`--format`).
    pub format: OutputFormat,
    /// EVE DNS object version: 3 (Suricata 8's default) or 2.
    pub dns_version: u8,
    /// Seed of the Community ID hash (Suricata's `community-id-seed`).
    pub community_id_seed: u16,
    /// `in_iface` by capture interface index (live: the `-i` names in order; scan: the
    /// `--in-iface` name, or none). One name names every index (a pcapng file with several
    /// interface blocks, taken on one sensor port); with several, an index without a name
    /// writes no `in_iface`.
    pub interfaces: Vec<String>,
    /// The sensor's name (`--sensor-name`; "" for none): EVE `host`, ECS `observer.name`,
    /// Zeek intel `seen.node`, on every record.
    pub sensor: String,
}

impl Default for FormatConfig {
    fn default() -> Self {
        FormatConfig {
            format: OutputFormat::Eve,
            dns_version: 3,
            community_id_seed: 0,
            interfaces: Vec::new(),
            sensor: String::new(),
        }
    }
}

impl FormatConfig {
    /// The `in_iface` name of the packet's capture interface ("" for none).
    pub fn iface(&self, flow: &FlowMeta) -> &str {
        let names = &self.interfaces;
        let name = match names.as_slice() {
            [one] => Some(one),
            _ => usize::try_from(flow.iface).ok().and_then(|i| names.get(i)),
        };
        name.map_or("", String::as_str)
    }
}

/// Formats records and hands them forward in batches.
pub struct Formatter<F: Forward> {
    config: Arc<FormatConfig>,
    json: JsonWriter,
    pcap_filename: String,
    batch: RecordBatch,
    forward: F,
}

impl<F: Forward> Formatter<F> {
    /// A formatter handing its batches to `forward`.
    pub fn new(config: Arc<FormatConfig>, forward: F) -> Self {
        Formatter {
            config,
            json: JsonWriter::new(),
            pcap_filename: String::new(),
            batch: RecordBatch::default(),
            forward,
        }
    }

    /// Forward what is buffered, and give back the forwarder (the hub, with one worker).
    pub fn into_forward(mut self) -> F {
        self.forward.forward(&mut self.batch);
        self.forward
    }

    fn community_id(&self, flow: &FlowMeta) -> CommunityId {
        community_id(
            self.config.community_id_seed,
            flow.src_ip,
            flow.dst_ip,
            flow.src_port,
            flow.dst_port,
            flow.proto.number(),
        )
    }

    fn begin_eve(&mut self, flow: &FlowMeta, event_type: &str) {
        let cid = self.community_id(flow);
        let iface = self.config.iface(flow);
        eve::begin_record(
            &mut self.json,
            flow,
            event_type,
            iface,
            &self.pcap_filename,
            cid.as_str(),
        );
    }

    /// The key of a record about `flow` whose host is `host`.
    fn key(flow: &FlowMeta, host: std::net::IpAddr) -> RecordKey {
        RecordKey {
            host: Some(host),
            flow: Some(flow.flow_id()),
        }
    }

    /// Close the object in `json` (after the EVE `host`) and add it to the batch as a line.
    fn end_line(
        &mut self,
        severity: u8,
        msgid: &'static str,
        alert: Option<AlertTag>,
        key: RecordKey,
    ) {
        if self.config.format == OutputFormat::Eve {
            eve::sensor_name(&mut self.json, &self.config.sensor);
        }
        self.json.end_object();
        self.push_line(severity, msgid, alert, key);
    }

    fn push_line(
        &mut self,
        severity: u8,
        msgid: &'static str,
        alert: Option<AlertTag>,
        key: RecordKey,
    ) {
        self.batch.bytes.extend_from_slice(self.json.as_bytes());
        self.batch.bytes.push(b'\n');
        self.batch.lines.push(LineTag {
            end: self.batch.bytes.len(),
            severity,
            msgid,
            alert,
            key,
        });
        if self.batch.bytes.len() >= self.forward.batch_bytes() {
            self.forward.forward(&mut self.batch);
        }
    }
}

impl<F: Forward> RecordSink for Formatter<F> {
    fn begin_input(&mut self, pcap_filename: &str) {
        self.pcap_filename.clear();
        self.pcap_filename.push_str(pcap_filename);
    }

    fn alert(&mut self, alert: &Alert<'_>) {
        let (flow, rule, pack, facts, app) =
            (alert.flow, alert.rule, alert.pack, &alert.facts, alert.app);
        let key = Self::key(flow, alert.host);
        let tag = AlertTag {
            host: alert.host,
            vendor: pack.vendor.clone(),
            pack: pack.id.clone(),
            channel: rule.channel.clone(),
            sid: rule.sid,
            signature: rule.name.clone(),
            name: facts.matched_name.to_string(),
            iface: self.config.iface(flow).to_string(),
            ts: flow.ts,
            count: 1 + facts.repeats,
            cutoff: pack.cutoff.map(|c| c.secs),
            lineage: Lineage::of(pack),
            identity: alert.identity.map(|id| TagIdentity {
                mac: id.mac_text(),
                hostname: id.hostname.clone(),
                vendor_class: id.vendor_class.clone(),
            }),
        };
        // Syslog severity from the rule's: 1 high -> err, 2 -> warning, 3 -> notice.
        let severity = 2 + rule.severity.clamp(1, 3);
        match self.config.format {
            OutputFormat::Eve => {
                self.begin_eve(flow, "alert");
                eve::alert_body(&mut self.json, alert, self.config.dns_version);
            }
            OutputFormat::Ecs => {
                let cid = self.community_id(flow);
                let iface = self.config.iface(flow);
                let at = formats::Observer {
                    community_id: cid.as_str(),
                    iface,
                    sensor: &self.config.sensor,
                };
                formats::ecs_alert(&mut self.json, alert, &at);
            }
            OutputFormat::ZeekIntel => {
                formats::zeek_intel(&mut self.json, flow, pack, facts, app, &self.config.sensor);
            }
        }
        self.end_line(severity, "alert", Some(tag), key);
    }

    fn event(&mut self, flow: &FlowMeta, app: &AppRecord) {
        let msgid = app.app_proto();
        // The client: the receiver of a DNS response, else the sender.
        let host = match app {
            AppRecord::Dns(rec) if rec.response => flow.dst_ip,
            _ => flow.src_ip,
        };
        let key = Self::key(flow, host);
        match (self.config.format, app) {
            (OutputFormat::ZeekIntel, _) | (_, AppRecord::None) => {}
            (OutputFormat::Ecs, _) => {
                let cid = self.community_id(flow);
                let iface = self.config.iface(flow);
                let at = formats::Observer {
                    community_id: cid.as_str(),
                    iface,
                    sensor: &self.config.sensor,
                };
                formats::ecs_event(&mut self.json, flow, app, &at);
                self.end_line(6, msgid, None, key);
            }
            (OutputFormat::Eve, AppRecord::Dns(rec)) if self.config.dns_version == 2 => {
                // v2: a request gives one record per question.
                let n = if rec.response {
                    1
                } else {
                    rec.queries.len().max(1)
                };
                for i in 0..n {
                    self.begin_eve(flow, "dns");
                    eve::eve_dns_event_v2(&mut self.json, rec, i);
                    self.end_line(6, msgid, None, key);
                }
            }
            (OutputFormat::Eve, _) => {
                self.begin_eve(flow, app.app_proto());
                eve::event_body(&mut self.json, app);
                self.end_line(6, msgid, None, key);
            }
        }
    }

    /// A `stats` record: EVE only (ECS and Zeek intel have no such record).
    fn stats(&mut self, snapshot: &StatsSnapshot) {
        if self.config.format != OutputFormat::Eve {
            return;
        }
        stats::write_stats(&mut self.json, stats::now(), snapshot);
        self.end_line(6, "stats", None, RecordKey::default());
    }

    fn flush(&mut self) {
        self.forward.forward(&mut self.batch);
        self.forward.idle();
    }

    fn failed(&self) -> bool {
        self.forward.failed()
    }
}
