//! The output hub: every destination a formatted record goes to, configured once and run in
//! one place (the output thread with `--workers N`, the reader's thread with one worker).
//!
//! ```text
//! detection ──records──> Formatter (per worker) ──RecordBatch──> OutputHub
//!                         EVE / ECS / Zeek lines                  ├─ EVE file or stdout (reopen on SIGHUP)
//!                         + a tag per line                        ├─ syslog, Redis (NetSink threads)
//!                                                                 ├─ inventory report
//!                                                                 └─ per-rule alert counts (metrics)
//! ```
//!
//! A [`RecordBatch`] holds finished lines and, per line, the few facts the destinations need
//! besides the bytes: the syslog severity and MSGID, and for an alert what the report and the
//! metrics count. A new destination is one more field here; detection does not change.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::capture::Timestamp;
use crate::eve_file::{EveWrite, Stream, write_lines};
#[cfg(feature = "kafka")]
use crate::kafka::KafkaSink;
pub use crate::key::RecordKey;
use crate::metrics::MetricsServer;
use crate::record::PendingRepeats;
use crate::record::lineage::Lineage;
use crate::report::{AlertFacts, IdentityFacts, ReportBuilder};
use crate::sink::{NetSink, SinkReport};

/// What the report and the metrics need of an alert line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertTag {
    /// The host running the product.
    pub host: IpAddr,
    /// Vendor of the pack.
    pub vendor: String,
    /// Pack id.
    pub pack: String,
    /// Channel of the rule.
    pub channel: String,
    /// Rule sid.
    pub sid: u32,
    /// Rule name.
    pub signature: String,
    /// Matched name or address.
    pub name: String,
    /// The capture interface's name (EVE `in_iface`; "" when unknown).
    pub iface: String,
    /// Packet time.
    pub ts: Timestamp,
    /// 1 + the repeats the alert carries.
    pub count: u64,
    /// The pack's cut-off (Unix seconds of its first day), when it has one.
    pub cutoff: Option<i64>,
    /// The pack in migrations (empty for most packs).
    pub lineage: Lineage,
    /// The machine that held the host address then (MAC as text, host name, vendor class),
    /// when known: the report groups by it.
    pub identity: Option<TagIdentity>,
}

/// The identity facts an alert hands the report.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TagIdentity {
    /// MAC, `3c:52:82:01:02:03`.
    pub mac: Option<String>,
    /// DHCP host name.
    pub hostname: Option<String>,
    /// DHCP vendor class.
    pub vendor_class: Option<String>,
}

impl TagIdentity {
    /// The report's view of it.
    pub fn facts(this: Option<&TagIdentity>) -> IdentityFacts<'_> {
        match this {
            Some(t) => IdentityFacts {
                mac: t.mac.as_deref(),
                hostname: t.hostname.as_deref(),
                vendor_class: t.vendor_class.as_deref(),
            },
            None => IdentityFacts::default(),
        }
    }
}

/// One line of a batch: where it ends and what the destinations need to know of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineTag {
    /// Offset just past the line's newline in [`RecordBatch::bytes`].
    pub end: usize,
    /// Syslog severity (0..7).
    pub severity: u8,
    /// EVE event type, the syslog MSGID.
    pub msgid: &'static str,
    /// Set for alert lines.
    pub alert: Option<AlertTag>,
    /// The record's host and flow.
    pub key: RecordKey,
}

/// Finished lines (each ending in `\n`) and their tags, handed from a formatter to the hub.
/// Emptied batches are reused, so steady state allocates no batch.
#[derive(Debug, Default)]
pub struct RecordBatch {
    /// The lines, back to back.
    pub bytes: Vec<u8>,
    /// One tag per line.
    pub lines: Vec<LineTag>,
}

impl RecordBatch {
    /// Nothing in it.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Empty it, keeping its allocations.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.lines.clear();
    }

    /// The lines with their tags.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &LineTag)> {
        let mut start = 0;
        self.lines.iter().map(move |tag| {
            let line = self.bytes.get(start..tag.end).unwrap_or(&[]);
            start = tag.end;
            (line, tag)
        })
    }
}

/// Where a formatter hands its batches: the hub itself (one worker), or the output thread.
pub trait Forward {
    /// Take the batch's lines (the batch comes back empty).
    fn forward(&mut self, batch: &mut RecordBatch);
    /// True once the EVE output failed: nothing more can be written.
    fn failed(&self) -> bool;
    /// An idle moment or the end of an input: push buffered bytes out to the file.
    fn idle(&mut self) {}
    /// Bytes a formatter collects before forwarding without waiting for a flush: 0 for the
    /// hub in the same thread (each record goes out at once, in packet order, as it is
    /// made), more when a batch crosses threads.
    fn batch_bytes(&self) -> usize {
        64 * 1024
    }
}

/// Final figures of the hub.
#[derive(Debug)]
pub struct HubReport {
    /// Records that reached the EVE output whole.
    pub records: u64,
    /// Reopens of the EVE file (SIGHUP) that failed; the file opened before was kept.
    pub reopen_failures: u64,
    /// The network outputs' figures.
    pub sinks: Vec<SinkReport>,
    /// The first EVE write error, if any.
    pub error: Option<io::Error>,
}

/// Bytes of whole lines the hub holds for the EVE output before writing them.
const EVE_BUFFER: usize = 256 * 1024;

/// The EVE output and the whole lines waiting for it.
struct EveOut {
    w: Box<dyn EveWrite>,
    buf: Vec<u8>,
    /// Lines in `buf`.
    lines: u64,
}

/// The destinations. Built once from the command line by the binary.
pub struct OutputHub {
    eve: Option<EveOut>,
    sinks: Vec<NetSink>,
    #[cfg(feature = "kafka")]
    kafka: Vec<KafkaSink>,
    report: Option<Arc<Mutex<ReportBuilder>>>,
    metrics: Option<Arc<MetricsServer>>,
    alerts_by_rule: BTreeMap<u32, (String, u64)>,
    /// The sensor's name (`--sensor-name`), for the report's sensors.
    sensor: String,
    records: u64,
    error: Option<io::Error>,
    /// Shared with every forwarder: set when the EVE output fails.
    failed: Arc<AtomicBool>,
}

impl OutputHub {
    /// A hub writing EVE lines to `eve`, a writer with no file behind it (`None`: no EVE
    /// output, only the other destinations).
    pub fn new(eve: Option<Box<dyn Write + Send>>) -> Self {
        Self::with_eve(eve.map(|w| Box::new(Stream(w)) as Box<dyn EveWrite>))
    }

    /// A hub writing EVE lines to `eve` (a file, stdout): whole lines only, see
    /// [`write_lines`].
    pub fn with_eve(eve: Option<Box<dyn EveWrite>>) -> Self {
        OutputHub {
            eve: eve.map(|w| EveOut {
                w,
                buf: Vec::with_capacity(EVE_BUFFER),
                lines: 0,
            }),
            sinks: Vec::new(),
            #[cfg(feature = "kafka")]
            kafka: Vec::new(),
            report: None,
            metrics: None,
            alerts_by_rule: BTreeMap::new(),
            sensor: String::new(),
            records: 0,
            error: None,
            failed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Also send every record to a network output (syslog, Redis).
    pub fn add_sink(&mut self, sink: NetSink) {
        self.publish_sink(sink.label(), sink.stats());
        self.sinks.push(sink);
    }

    /// Show a network output's counters on the metrics endpoint, when there is one.
    fn publish_sink(&self, label: &str, stats: Arc<crate::sink::SinkStats>) {
        if let Some(m) = &self.metrics {
            let mut all = m.sinks();
            all.push((label.to_string(), stats));
            m.set_sinks(all);
        }
    }

    /// Also send every record to Kafka.
    #[cfg(feature = "kafka")]
    pub fn add_kafka(&mut self, sink: KafkaSink) {
        self.publish_sink(sink.label(), sink.stats());
        self.kafka.push(sink);
    }

    /// Every network output's label and counters (syslog, Redis, Kafka), for the metrics.
    fn sink_stats(&self) -> Vec<(String, Arc<crate::sink::SinkStats>)> {
        let net = self
            .sinks
            .iter()
            .map(|s| (s.label().to_string(), s.stats()));
        #[cfg(feature = "kafka")]
        let net = net.chain(
            self.kafka
                .iter()
                .map(|s| (s.label().to_string(), s.stats())),
        );
        net.collect()
    }

    /// The sensor's name the report gives the hosts this hub sees ("" for none).
    pub fn set_sensor(&mut self, name: &str) {
        self.sensor = name.to_string();
    }

    /// Build the host inventory report from every alert; the builder is shared so the report
    /// can be written while the hub runs (`live` on SIGUSR1).
    pub fn enable_report(&mut self) -> Arc<Mutex<ReportBuilder>> {
        let report = Arc::new(Mutex::new(ReportBuilder::default()));
        self.report = Some(Arc::clone(&report));
        report
    }

    /// Publish alert and record counts (and the network outputs' counters) to the metrics
    /// endpoint.
    pub fn set_metrics(&mut self, metrics: Arc<MetricsServer>) {
        metrics.set_sinks(self.sink_stats());
        self.metrics = Some(metrics);
    }

    /// Deliver every line of `batch` to every destination, then empty it.
    pub fn deliver(&mut self, batch: &mut RecordBatch) {
        let mut alerts = false;
        for (line, tag) in batch.iter() {
            let record = line.strip_suffix(b"\n").unwrap_or(line);
            for sink in &self.sinks {
                sink.send(record, tag.severity, tag.msgid);
            }
            #[cfg(feature = "kafka")]
            for sink in &self.kafka {
                sink.send(record, &tag.key);
            }
            if let Some(a) = &tag.alert {
                alerts = true;
                match self.alerts_by_rule.get_mut(&a.sid) {
                    Some(e) => e.1 += 1,
                    None => {
                        self.alerts_by_rule.insert(a.sid, (a.signature.clone(), 1));
                    }
                }
                if let Some(report) = &self.report {
                    report
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .add(&AlertFacts {
                            host: &a.host.to_string(),
                            vendor: &a.vendor,
                            pack: &a.pack,
                            channel: &a.channel,
                            sid: u64::from(a.sid),
                            signature: &a.signature,
                            name: &a.name,
                            iface: &a.iface,
                            ts: a.ts,
                            count: a.count,
                            cutoff: a.cutoff,
                            lineage: &a.lineage,
                            sensor: &self.sensor,
                            identity: TagIdentity::facts(a.identity.as_ref()),
                        });
                }
            }
        }
        if self.eve.is_none() {
            self.records += batch.lines.len() as u64;
        } else {
            // As a BufWriter does, without growing: what does not fit goes out first, and a
            // batch as large as the buffer is written directly.
            let held = self.eve.as_ref().map_or(0, |e| e.buf.len());
            if held + batch.bytes.len() > EVE_BUFFER {
                self.write_eve(None);
            }
            if batch.bytes.len() >= EVE_BUFFER {
                self.write_eve(Some(batch));
            } else if let Some(eve) = &mut self.eve
                && self.error.is_none()
            {
                eve.buf.extend_from_slice(&batch.bytes);
                eve.lines += batch.lines.len() as u64;
            }
        }
        self.publish(alerts);
        batch.clear();
    }

    /// Write the buffered lines (then `direct`, if given) to the EVE output, counting the
    /// records that reached it whole; the first error stops the EVE output for good.
    fn write_eve(&mut self, direct: Option<&RecordBatch>) {
        let Some(eve) = &mut self.eve else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let (mut n, mut error) = write_lines(&mut *eve.w, &eve.buf, eve.lines);
        eve.buf.clear();
        eve.lines = 0;
        if let (None, Some(batch)) = (&error, direct) {
            let (more, e) = write_lines(&mut *eve.w, &batch.bytes, batch.lines.len() as u64);
            (n, error) = (n + more, e);
        }
        self.records += n;
        if let Some(e) = error {
            self.error = Some(e);
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    /// Publish the output counters to the metrics (the alert table only when it changed).
    fn publish(&self, alerts: bool) {
        if let Some(m) = &self.metrics {
            m.set_output(
                alerts.then_some(&self.alerts_by_rule),
                self.records,
                self.reopen_failures(),
            );
        }
    }

    /// Reopens of the EVE file that failed so far.
    fn reopen_failures(&self) -> u64 {
        self.eve.as_ref().map_or(0, |e| e.w.reopen_failures())
    }

    /// Write what the hub holds for the EVE output (idle moments, the end); a reopen asked
    /// for is done here too.
    pub fn flush(&mut self) {
        self.write_eve(None);
        self.publish(false);
    }

    /// Repeats still held by suppression when the run ended: they count for the host in the
    /// report, so its totals equal the summary's.
    pub fn add_pending_repeats(&mut self, pending: &[PendingRepeats]) {
        let Some(report) = &self.report else {
            return;
        };
        let mut report = report.lock().unwrap_or_else(|e| e.into_inner());
        for p in pending {
            report.add_repeats(&AlertFacts {
                host: &p.host.to_string(),
                vendor: &p.vendor,
                pack: "",
                channel: &p.channel,
                sid: u64::from(p.sid),
                signature: &p.signature,
                name: &p.name,
                iface: "",
                ts: p.last,
                count: p.count,
                cutoff: p.cutoff,
                lineage: &p.lineage,
                sensor: &self.sensor,
                identity: IdentityFacts::default(),
            });
        }
    }

    /// Records that reached the EVE output whole so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Flush, close the network outputs (each gets its drain time to deliver what it holds)
    /// and report.
    pub fn finish(mut self) -> HubReport {
        self.flush();
        let sinks = self.sinks.drain(..).map(NetSink::close);
        #[cfg(feature = "kafka")]
        let sinks = sinks.chain(self.kafka.drain(..).map(KafkaSink::close));
        let sinks = sinks.collect();
        HubReport {
            records: self.records,
            reopen_failures: self.reopen_failures(),
            sinks,
            error: self.error.take(),
        }
    }
}

impl Forward for OutputHub {
    fn forward(&mut self, batch: &mut RecordBatch) {
        self.deliver(batch);
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn idle(&mut self) {
        self.flush();
    }

    fn batch_bytes(&self) -> usize {
        0
    }
}

/// Free batches, shared by the forwarders (take) and the output thread (give back).
type Pool = Arc<Mutex<Vec<RecordBatch>>>;

/// Most batches queued for the output thread before a worker waits.
const QUEUE_BATCHES: usize = 16;

/// The hub on its own thread (`--workers N`): workers' formatters send it batches.
pub struct OutputThread {
    tx: Option<SyncSender<RecordBatch>>,
    pool: Pool,
    failed: Arc<AtomicBool>,
    handle: Option<JoinHandle<OutputHub>>,
}

impl OutputThread {
    /// Move `hub` to a thread of its own.
    pub fn start(hub: OutputHub) -> io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel::<RecordBatch>(QUEUE_BATCHES);
        let pool: Pool = Arc::default();
        let failed = Arc::clone(&hub.failed);
        let thread_pool = Arc::clone(&pool);
        let handle = std::thread::Builder::new()
            .name("vw-output".into())
            .spawn(move || output_loop(rx, hub, thread_pool))?;
        Ok(OutputThread {
            tx: Some(tx),
            pool,
            failed,
            handle: Some(handle),
        })
    }

    /// A forwarder for one formatter (one per worker, one for the reader's stats records).
    pub fn forwarder(&self) -> ToOutputThread {
        ToOutputThread {
            tx: self.tx.clone(),
            pool: Arc::clone(&self.pool),
            failed: Arc::clone(&self.failed),
        }
    }

    /// Wait until every forwarder is dropped and every batch delivered; the hub comes back
    /// for its final report. A panicked output thread is an error.
    pub fn join(mut self) -> io::Result<OutputHub> {
        self.tx = None;
        match self.handle.take().map(JoinHandle::join) {
            Some(Ok(hub)) => Ok(hub),
            _ => Err(io::Error::other("the output thread panicked")),
        }
    }
}

fn output_loop(rx: Receiver<RecordBatch>, mut hub: OutputHub, pool: Pool) -> OutputHub {
    loop {
        let mut batch = match rx.try_recv() {
            Ok(b) => b,
            Err(mpsc::TryRecvError::Empty) => {
                // Nothing waiting: push what is buffered out before sleeping.
                hub.flush();
                match rx.recv() {
                    Ok(b) => b,
                    Err(_) => break,
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        hub.deliver(&mut batch);
        let mut free = pool.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < 64 {
            free.push(batch);
        }
    }
    hub.flush();
    hub
}

/// A formatter's way to the output thread.
pub struct ToOutputThread {
    tx: Option<SyncSender<RecordBatch>>,
    pool: Pool,
    failed: Arc<AtomicBool>,
}

impl Forward for ToOutputThread {
    fn forward(&mut self, batch: &mut RecordBatch) {
        if batch.is_empty() {
            return;
        }
        let fresh = self
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let full = std::mem::replace(batch, fresh);
        let sent = self.tx.as_ref().map(|tx| tx.send(full));
        if !matches!(sent, Some(Ok(()))) {
            self.failed.store(true, Ordering::Relaxed);
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(lines: &[&str]) -> RecordBatch {
        let mut b = RecordBatch::default();
        for l in lines {
            b.bytes.extend_from_slice(l.as_bytes());
            b.bytes.push(b'\n');
            b.lines.push(LineTag {
                end: b.bytes.len(),
                severity: 6,
                msgid: "dns",
                alert: None,
                key: RecordKey::default(),
            });
        }
        b
    }

    /// Only records that reached the output whole are counted written.
    #[test]
    fn counts_only_whole_lines_that_reached_the_output() {
        let full = crate::eve_file::Full {
            inner: Vec::new(),
            room: 25,
        };
        let mut hub = OutputHub::new(Some(Box::new(full)));
        hub.deliver(&mut batch(&[
            "{\"a\":1111}",
            "{\"b\":2222}",
            "{\"c\":3333}",
        ]));
        let report = hub.finish();
        assert!(report.error.is_some());
        assert_eq!(report.records, 2);
    }
}
