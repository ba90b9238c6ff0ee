//! Prometheus text exposition on `--metrics-listen ADDR:PORT` (`GET /metrics`), served by one
//! plain thread with a std `TcpListener`. The reader publishes a snapshot of the stages'
//! counters every 64 packets and after each input (live: every 200 ms); the hub publishes alert
//! and record counts after each batch; network-output counters are read live. Every counter is described in the README (Outputs, Metrics).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::decode::SkipReason;
use crate::record::counters::StatsSnapshot;
use crate::sink::SinkStats;

/// Counters as last published: the stages' (by the reader) and the outputs' (by the hub).
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Reader and stage counters.
    pub stats: StatsSnapshot,
    /// Alerts written, by (sid, signature).
    pub alerts_by_rule: BTreeMap<u32, (String, u64)>,
    /// Records written to the EVE output.
    pub records: u64,
}

/// Live counters of the network outputs, by label.
pub type SinkList = Vec<(String, Arc<SinkStats>)>;

/// The endpoint: a listening thread and the shared snapshot.
pub struct MetricsServer {
    snapshot: Arc<Mutex<Snapshot>>,
    sinks: Arc<Mutex<SinkList>>,
    /// The bound address (useful with port 0).
    pub addr: std::net::SocketAddr,
}

impl MetricsServer {
    /// Bind and start serving.
    pub fn start(addr: &str) -> io::Result<MetricsServer> {
        let listener = TcpListener::bind(addr)?;
        let bound = listener.local_addr()?;
        let snapshot = Arc::new(Mutex::new(Snapshot::default()));
        let sinks: Arc<Mutex<SinkList>> = Arc::default();
        let (snap, sk) = (Arc::clone(&snapshot), Arc::clone(&sinks));
        std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    let _ = serve(conn, &snap, &sk);
                }
            })?;
        Ok(MetricsServer {
            snapshot,
            sinks,
            addr: bound,
        })
    }

    /// Network outputs whose live counters are exposed.
    pub fn set_sinks(&self, sinks: SinkList) {
        if let Ok(mut s) = self.sinks.lock() {
            *s = sinks;
        }
    }

    /// The network outputs now exposed.
    pub fn sinks(&self) -> SinkList {
        self.sinks.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Publish the reader's and the stages' counters.
    pub fn set_stats(&self, stats: &StatsSnapshot) {
        if let Ok(mut s) = self.snapshot.lock() {
            s.stats = *stats;
        }
    }

    /// Publish the outputs' counters (the alert table only when it changed).
    pub fn set_output(&self, alerts_by_rule: Option<&BTreeMap<u32, (String, u64)>>, records: u64) {
        if let Ok(mut s) = self.snapshot.lock() {
            if let Some(alerts) = alerts_by_rule {
                s.alerts_by_rule.clone_from(alerts);
            }
            s.records = records;
        }
    }
}

fn serve(mut conn: TcpStream, snap: &Mutex<Snapshot>, sinks: &Mutex<SinkList>) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut req = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(req.split(|b| *b == b'\n').next().unwrap_or(&[]));
    let path = line.split_whitespace().nth(1).unwrap_or("/");
    let (status, ctype, body) = if path == "/metrics" || path.starts_with("/metrics?") {
        let snapshot = snap.lock().map(|s| s.clone()).unwrap_or_default();
        let sinks = sinks.lock().map(|s| s.clone()).unwrap_or_default();
        (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            render(&snapshot, &sinks),
        )
    } else {
        (
            "404 Not Found",
            "text/plain; charset=utf-8",
            "vendorwatch: metrics are at /metrics\n".to_string(),
        )
    };
    write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    conn.flush()
}

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text exposition of a snapshot and the sinks' live counters.
pub fn render(s: &Snapshot, sinks: &[(String, Arc<SinkStats>)]) -> String {
    let mut o = String::with_capacity(4096);
    let (r, c) = (&s.stats.read, &s.stats.counters);
    let (d, f) = (&c.detect, &c.flow);
    let counter = |o: &mut String, name: &str, help: &str, rows: &[(String, u64)]| {
        let _ = writeln!(o, "# HELP vendorwatch_{name} {help}");
        let _ = writeln!(o, "# TYPE vendorwatch_{name} counter");
        for (labels, v) in rows {
            let _ = writeln!(o, "vendorwatch_{name}{labels} {v}");
        }
    };
    let one = |v: u64| vec![(String::new(), v)];
    counter(
        &mut o,
        "files_total",
        "Inputs finished, by result (ok: read to the end; failed: not opened or damaged).",
        &[
            ("{result=\"ok\"}".into(), r.files_ok),
            ("{result=\"failed\"}".into(), r.files_failed),
        ],
    );
    counter(&mut o, "packets_total", "Packets read.", &one(r.packets));
    counter(
        &mut o,
        "bytes_total",
        "Bytes of packets read (original wire lengths).",
        &one(r.bytes),
    );
    counter(
        &mut o,
        "kernel_drops_total",
        "Packets the capture kernel dropped (live capture only; always 0 for files).",
        &one(r.capture.map_or(0, |k| k.kernel_drops)),
    );
    let skipped: Vec<(String, u64)> = SkipReason::ALL
        .iter()
        .map(|reason| {
            (
                format!("{{reason=\"{}\"}}", label(reason.label())),
                c.skipped[reason.index()],
            )
        })
        .collect();
    counter(
        &mut o,
        "decode_failures_total",
        "Packets not decoded, by reason.",
        &skipped,
    );
    counter(
        &mut o,
        "dns_messages_total",
        "DNS messages parsed.",
        &one(d.dns_messages),
    );
    counter(
        &mut o,
        "dns_invalid_total",
        "DNS-port payloads that were not valid DNS.",
        &one(d.dns_invalid),
    );
    counter(
        &mut o,
        "dns_over_limit_total",
        &format!(
            "Questions and answers of DNS messages not parsed: past the per-message limits ({} questions, {} answers).",
            crate::proto::dns::MAX_QUESTIONS,
            crate::proto::dns::MAX_ANSWERS
        ),
        &one(d.dns_over_limit),
    );
    counter(
        &mut o,
        "tls_client_hellos_total",
        "TLS ClientHellos parsed.",
        &one(d.client_hellos),
    );
    counter(
        &mut o,
        "http_requests_total",
        "HTTP request heads parsed.",
        &one(d.http_requests),
    );
    counter(
        &mut o,
        "tunnelled_packets_total",
        "Packets decoded inside a tunnel (GRE, ERSPAN, VXLAN, Geneve, IP-in-IP).",
        &one(c.decode.tunnelled),
    );
    counter(
        &mut o,
        "ip_fragments_total",
        "IP fragments seen.",
        &one(c.decode.defrag.fragments),
    );
    counter(
        &mut o,
        "ip_defragmented_total",
        "IP datagrams reassembled from fragments.",
        &one(c.decode.defrag.reassembled),
    );
    counter(
        &mut o,
        "flows_total",
        "TCP flows, by event: created, closed (FIN/RST), evicted_idle, evicted_cap (table full).",
        &[
            ("{event=\"created\"}".into(), f.flows_created),
            ("{event=\"closed\"}".into(), f.closed),
            ("{event=\"evicted_idle\"}".into(), f.evicted_idle),
            ("{event=\"evicted_cap\"}".into(), f.evicted_cap),
        ],
    );
    counter(
        &mut o,
        "reassembled_messages_total",
        "Messages (ClientHello, HTTP head, DNS over TCP) reassembled from TCP segments.",
        &one(f.reassembled),
    );
    counter(
        &mut o,
        "caps_hit_total",
        "Times a bound was hit, by table: hits_per_packet (matches over the per-packet limit), suppression (keys evicted from the full suppression table), flow_table (flows evicted at the flow cap), reassembly (segments refused at the reassembly memory cap), first_flight (first-flight size limits hit), defrag (fragments evicted or dropped at the defrag caps).",
        &[
            ("{table=\"hits_per_packet\"}".into(), d.hits_dropped),
            ("{table=\"suppression\"}".into(), c.suppress.evictions),
            ("{table=\"flow_table\"}".into(), f.evicted_cap),
            ("{table=\"reassembly\"}".into(), f.reasm_refused),
            ("{table=\"first_flight\"}".into(), f.first_flight_limit_hit),
            (
                "{table=\"defrag\"}".into(),
                c.decode.defrag.evicted + c.decode.defrag.dropped,
            ),
        ],
    );
    let alerts: Vec<(String, u64)> = s
        .alerts_by_rule
        .iter()
        .map(|(sid, (name, n))| {
            (
                format!("{{sid=\"{sid}\",signature=\"{}\"}}", label(name)),
                *n,
            )
        })
        .collect();
    counter(&mut o, "alerts_total", "Alerts written, by rule.", &alerts);
    counter(
        &mut o,
        "alerts_suppressed_total",
        "Repeats suppressed (same host, rule, name and observation within --suppress-window).",
        &one(c.suppress.suppressed),
    );
    counter(
        &mut o,
        "records_total",
        "Records written to the EVE output (alerts and --log events).",
        &one(s.records),
    );
    let mut out_rows = Vec::new();
    let mut err_rows = Vec::new();
    for (name, st) in sinks {
        let l = label(name);
        for (state, v) in [
            ("produced", &st.produced),
            ("delivered", &st.delivered),
            ("dropped", &st.dropped),
        ] {
            out_rows.push((
                format!("{{output=\"{l}\",state=\"{state}\"}}"),
                v.load(Ordering::Relaxed),
            ));
        }
        err_rows.push((
            format!("{{output=\"{l}\"}}"),
            st.errors.load(Ordering::Relaxed),
        ));
    }
    counter(
        &mut o,
        "output_records_total",
        "Records per network output (syslog, Redis): produced, delivered, dropped.",
        &out_rows,
    );
    counter(
        &mut o,
        "output_errors_total",
        "Connect, write and reply errors per network output (sink errors).",
        &err_rows,
    );
    o
}
