//! Prometheus text exposition on `--metrics-listen ADDR:PORT` (`GET /metrics`), served by one
//! plain thread with a std `TcpListener`. The scan publishes a snapshot of its counters every
//! [`crate::pipeline::TICK_PACKETS`] packets and after each input; network-output counters are
//! read live. Every counter is described in the README (Outputs, Metrics).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::decode::SkipReason;
use crate::detect::Detector;
use crate::output::eve::EveWriter;
use crate::output::sink::SinkStats;
use crate::pipeline::ScanStats;

/// Counters as last published by the scan.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Inputs read completely / not.
    pub files_ok: u64,
    /// Inputs that failed.
    pub files_failed: u64,
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire.
    pub bytes: u64,
    /// Packets not decoded, by reason label.
    pub skipped: Vec<(&'static str, u64)>,
    /// DNS messages parsed.
    pub dns_messages: u64,
    /// Port-53 payloads that were not DNS.
    pub dns_invalid: u64,
    /// ClientHellos parsed.
    pub client_hellos: u64,
    /// HTTP request heads parsed.
    pub http_requests: u64,
    /// Hits over the per-packet limit.
    pub hits_dropped: u64,
    /// Packets decoded inside tunnels.
    pub tunnelled: u64,
    /// IP fragments seen / datagrams reassembled / fragments dropped at the defrag caps.
    pub fragments: u64,
    /// IP datagrams reassembled from fragments.
    pub defragmented: u64,
    /// Fragment-table evictions and drops (caps hit).
    pub defrag_evicted: u64,
    /// Fragments dropped.
    pub defrag_dropped: u64,
    /// Flow counters: created, closed, evicted idle, evicted at the cap.
    pub flows: [u64; 4],
    /// Messages reassembled from TCP segments.
    pub reassembled: u64,
    /// Segments refused at the reassembly memory cap.
    pub reasm_refused: u64,
    /// First-flight limits hit.
    pub first_flight_limit_hit: u64,
    /// Alerts written, by (sid, signature).
    pub alerts_by_rule: BTreeMap<u32, (String, u64)>,
    /// Repeats suppressed.
    pub suppressed: u64,
    /// Suppression-table evictions.
    pub suppress_evictions: u64,
    /// Records written to the EVE output.
    pub records: u64,
}

impl Snapshot {
    /// Refresh from the scan's state.
    pub fn update(&mut self, scan: &ScanStats, detector: &Detector, out: &EveWriter) {
        self.files_ok = scan.files_ok;
        self.files_failed = scan.files_failed;
        self.packets = scan.packets;
        self.bytes = scan.bytes;
        self.skipped.clear();
        for reason in SkipReason::ALL {
            self.skipped
                .push((reason.label(), scan.skipped[reason.index()]));
        }
        self.tunnelled = scan.decode.tunnelled;
        self.fragments = scan.decode.defrag.fragments;
        self.defragmented = scan.decode.defrag.reassembled;
        self.defrag_evicted = scan.decode.defrag.evicted;
        self.defrag_dropped = scan.decode.defrag.dropped;
        let f = &scan.flow;
        self.flows = [f.flows_created, f.closed, f.evicted_idle, f.evicted_cap];
        self.reassembled = f.reassembled;
        self.reasm_refused = f.reasm_refused;
        self.first_flight_limit_hit = f.first_flight_limit_hit;
        let d = &detector.stats;
        self.http_requests = d.http_requests;
        self.dns_messages = d.dns_messages;
        self.dns_invalid = d.dns_invalid;
        self.client_hellos = d.client_hellos;
        self.hits_dropped = d.hits_dropped;
        self.suppressed = detector.suppress.suppressed;
        self.suppress_evictions = detector.suppress.evictions;
        self.records = out.records();
        for (sid, (name, n)) in out.alerts_by_rule() {
            match self.alerts_by_rule.get_mut(sid) {
                Some(e) => e.1 = *n,
                None => {
                    self.alerts_by_rule.insert(*sid, (name.clone(), *n));
                }
            }
        }
    }
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

    /// Publish the scan's counters.
    pub fn update(&self, scan: &ScanStats, detector: &Detector, out: &EveWriter) {
        if let Ok(mut s) = self.snapshot.lock() {
            s.update(scan, detector, out);
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
            ("{result=\"ok\"}".into(), s.files_ok),
            ("{result=\"failed\"}".into(), s.files_failed),
        ],
    );
    counter(&mut o, "packets_total", "Packets read.", &one(s.packets));
    counter(
        &mut o,
        "bytes_total",
        "Bytes of packets read (original wire lengths).",
        &one(s.bytes),
    );
    counter(
        &mut o,
        "kernel_drops_total",
        "Packets the capture kernel dropped (live capture only; always 0 for files).",
        &one(0),
    );
    let skipped: Vec<(String, u64)> = s
        .skipped
        .iter()
        .map(|(r, n)| (format!("{{reason=\"{}\"}}", label(r)), *n))
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
        &one(s.dns_messages),
    );
    counter(
        &mut o,
        "dns_invalid_total",
        "Port-53 payloads that were not valid DNS.",
        &one(s.dns_invalid),
    );
    counter(
        &mut o,
        "tls_client_hellos_total",
        "TLS ClientHellos parsed.",
        &one(s.client_hellos),
    );
    counter(
        &mut o,
        "http_requests_total",
        "HTTP request heads parsed.",
        &one(s.http_requests),
    );
    counter(
        &mut o,
        "tunnelled_packets_total",
        "Packets decoded inside a tunnel (GRE, ERSPAN, VXLAN, Geneve, IP-in-IP).",
        &one(s.tunnelled),
    );
    counter(
        &mut o,
        "ip_fragments_total",
        "IP fragments seen.",
        &one(s.fragments),
    );
    counter(
        &mut o,
        "ip_defragmented_total",
        "IP datagrams reassembled from fragments.",
        &one(s.defragmented),
    );
    counter(
        &mut o,
        "flows_total",
        "TCP flows, by event: created, closed (FIN/RST), evicted_idle, evicted_cap (table full).",
        &[
            ("{event=\"created\"}".into(), s.flows[0]),
            ("{event=\"closed\"}".into(), s.flows[1]),
            ("{event=\"evicted_idle\"}".into(), s.flows[2]),
            ("{event=\"evicted_cap\"}".into(), s.flows[3]),
        ],
    );
    counter(
        &mut o,
        "reassembled_messages_total",
        "Messages (ClientHello, HTTP head, DNS over TCP) reassembled from TCP segments.",
        &one(s.reassembled),
    );
    counter(
        &mut o,
        "caps_hit_total",
        "Times a bound was hit, by table: hits_per_packet (matches over the per-packet limit), suppression (keys evicted from the full suppression table), flow_table (flows evicted at the flow cap), reassembly (segments refused at the reassembly memory cap), first_flight (first-flight size limits hit), defrag (fragments evicted or dropped at the defrag caps).",
        &[
            ("{table=\"hits_per_packet\"}".into(), s.hits_dropped),
            ("{table=\"suppression\"}".into(), s.suppress_evictions),
            ("{table=\"flow_table\"}".into(), s.flows[3]),
            ("{table=\"reassembly\"}".into(), s.reasm_refused),
            ("{table=\"first_flight\"}".into(), s.first_flight_limit_hit),
            (
                "{table=\"defrag\"}".into(),
                s.defrag_evicted + s.defrag_dropped,
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
        &one(s.suppressed),
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
