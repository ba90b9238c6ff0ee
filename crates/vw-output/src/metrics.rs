//! Prometheus text exposition on `--metrics-listen ADDR:PORT` (`GET /metrics`). The reader
//! publishes a snapshot of the stages' counters every 64 packets and after each input (live:
//! every 200 ms); the hub publishes alert and record counts after each batch; network-output
//! counters are read live. Every counter is described in the README (Outputs, Metrics).
//!
//! The endpoint is hyper's HTTP/1 server on a current-thread tokio runtime of its own, on the
//! `metrics` thread. `scan` has no runtime and `live`'s control runtime stalls for the seconds a
//! reload compiles packs, so the endpoint brings its own and behaves the same in both. hyper
//! parses the request (head at most 8 KiB, 100 headers) and answers HEAD without a body; each
//! connection is a task, so a slow or idle client delays nobody. Bounds: one request per
//! connection, done (head in, response out) within 5 s or closed; at most 64 connections, past
//! which the oldest one still sending its request head is closed to make room (refused when
//! none is). Those closes are counted in `vendorwatch_metrics_connections_closed_total`. The
//! text is written by `prometheus-client`'s Prometheus 0.0.4 encoder (escaping, `_total`
//! names), byte for byte what the hand-written exposition of 9768e19 served.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet, prometheus_text};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

use crate::decode::SkipReason;
use crate::record::counters::StatsSnapshot;
use crate::sink::SinkStats;

/// Connections served at once; past it the oldest still sending its request is closed.
const MAX_CONNECTIONS: usize = 64;
/// From accept to the end of the response: a client slower than this is closed.
const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// The largest request head read (hyper's smallest buffer bound); larger ones get 431.
const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// Counters as last published: the stages' (by the reader) and the outputs' (by the hub).
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Reader and stage counters.
    pub stats: StatsSnapshot,
    /// Alerts written, by (sid, signature).
    pub alerts_by_rule: BTreeMap<u32, (String, u64)>,
    /// Records that reached the EVE output whole.
    pub records: u64,
    /// Reopens of the EVE file (SIGHUP) that failed.
    pub eve_reopen_failures: u64,
}

/// Live counters of the network outputs, by label.
pub type SinkList = Vec<(String, Arc<SinkStats>)>;

/// Connections the endpoint closed before answering, by reason.
#[derive(Debug, Default)]
struct EndpointStats {
    /// The oldest connection still sending its request, closed to make room at the limit.
    evicted: AtomicU64,
    /// New connections closed at once: the limit reached and every connection answering.
    refused: AtomicU64,
    /// Request and response not done within the deadline.
    timed_out: AtomicU64,
}

/// What the endpoint serves, shared by the publishers and the server thread.
#[derive(Default)]
struct Shared {
    snapshot: Mutex<Snapshot>,
    sinks: Mutex<SinkList>,
    endpoint: EndpointStats,
}

/// The endpoint: the server thread and the shared snapshot. Dropping it stops the thread.
pub struct MetricsServer {
    shared: Arc<Shared>,
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsServer {
    /// Bind and start serving.
    pub fn start(addr: &str) -> io::Result<MetricsServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        let bound = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _in_runtime = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        let (stop, stopped) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || runtime.block_on(serve(listener, state, stopped)))?;
        Ok(MetricsServer {
            shared,
            addr: bound,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Network outputs whose live counters are exposed.
    pub fn set_sinks(&self, sinks: SinkList) {
        if let Ok(mut s) = self.shared.sinks.lock() {
            *s = sinks;
        }
    }

    /// The network outputs now exposed.
    pub fn sinks(&self) -> SinkList {
        self.shared
            .sinks
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    /// Publish the reader's and the stages' counters.
    pub fn set_stats(&self, stats: &StatsSnapshot) {
        if let Ok(mut s) = self.shared.snapshot.lock() {
            s.stats = *stats;
        }
    }

    /// Publish the outputs' counters (the alert table only when it changed).
    pub fn set_output(
        &self,
        alerts_by_rule: Option<&BTreeMap<u32, (String, u64)>>,
        records: u64,
        eve_reopen_failures: u64,
    ) {
        if let Ok(mut s) = self.shared.snapshot.lock() {
            if let Some(alerts) = alerts_by_rule {
                s.alerts_by_rule.clone_from(alerts);
            }
            s.records = records;
            s.eve_reopen_failures = eve_reopen_failures;
        }
    }
}

impl Drop for MetricsServer {
    /// Stop accepting, close every connection (the runtime drops its tasks) and join the thread.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One accepted connection, as the accept loop sees it.
#[derive(Default)]
struct Slot {
    /// Its request head has arrived: it is being answered, never evicted.
    answering: AtomicBool,
    /// Close it now (evicted).
    close: Notify,
}

/// Accept until `stop`, one task per connection, at most [`MAX_CONNECTIONS`] at once.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    // Oldest first; a slot whose task ended holds the only reference left.
    let mut open: VecDeque<Arc<Slot>> = VecDeque::with_capacity(MAX_CONNECTIONS);
    loop {
        let stream = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of descriptors, or the client gave up: pause rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        open.retain(|slot| Arc::strong_count(slot) > 1);
        if open.len() >= MAX_CONNECTIONS {
            let waiting = open
                .iter()
                .position(|slot| !slot.answering.load(Ordering::Relaxed));
            match waiting.and_then(|i| open.remove(i)) {
                Some(victim) => {
                    victim.close.notify_one();
                    shared.endpoint.evicted.fetch_add(1, Ordering::Relaxed);
                }
                None => {
                    shared.endpoint.refused.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            }
        }
        let slot = Arc::new(Slot::default());
        open.push_back(Arc::clone(&slot));
        tokio::spawn(connection(stream, slot, Arc::clone(&shared)));
    }
}

/// Serve one request on `stream`, then close; closed early at the deadline or when evicted.
async fn connection(stream: TcpStream, slot: Arc<Slot>, shared: Arc<Shared>) {
    let service = service_fn(|req: Request<Incoming>| {
        slot.answering.store(true, Ordering::Relaxed);
        let response = respond(&req, &shared);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut http = http1::Builder::new();
    http.keep_alive(false)
        .title_case_headers(true)
        .max_buf_size(MAX_REQUEST_HEAD);
    let conn = http.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        done = tokio::time::timeout(REQUEST_DEADLINE, conn) => {
            if done.is_err() {
                shared.endpoint.timed_out.fetch_add(1, Ordering::Relaxed);
            }
        }
        () = slot.close.notified() => {}
    }
}

/// `GET`/`HEAD /metrics`: the exposition; another method there: 405; another path: 404.
fn respond(req: &Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let text = "text/plain; charset=utf-8";
    let (status, content_type, body) = match (req.uri().path(), req.method()) {
        ("/metrics", &Method::GET | &Method::HEAD) => (
            StatusCode::OK,
            prometheus_text::CONTENT_TYPE,
            shared.render(),
        ),
        ("/metrics", _) => (
            StatusCode::METHOD_NOT_ALLOWED,
            text,
            "vendorwatch: /metrics answers GET and HEAD\n".to_string(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            text,
            "vendorwatch: metrics are at /metrics\n".to_string(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    }
    response
}

impl Shared {
    /// The exposition now: the published counters, the sinks' live ones, the endpoint's own.
    fn render(&self) -> String {
        let snapshot = self.snapshot.lock().map(|s| s.clone()).unwrap_or_default();
        let sinks = self.sinks.lock().map(|s| s.clone()).unwrap_or_default();
        let e = &self.endpoint;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let endpoint = Family {
            name: "metrics_connections_closed",
            help: "Connections to this endpoint closed before an answer, by reason: evicted (the oldest still sending its request, to make room past the 64-connection limit), refused (at the limit with every connection answering), timed_out (request and response not done within 5 s).",
            rows: vec![
                (vec![("reason", "evicted".into())], load(&e.evicted)),
                (vec![("reason", "refused".into())], load(&e.refused)),
                (vec![("reason", "timed_out".into())], load(&e.timed_out)),
            ],
        };
        let mut families = families(&snapshot, &sinks);
        families.0.push(endpoint);
        families.encode()
    }
}

/// Label names and values of one series (values escaped by the encoder).
type Labels = Vec<(&'static str, String)>;

/// One counter family: `vendorwatch_{name}_total`, its help and its series in order.
#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    rows: Vec<(Labels, u64)>,
}

/// Counter families in exposition order; a [`Collector`] so prometheus-client writes them.
#[derive(Debug, Default)]
struct Families(Vec<Family>);

impl Families {
    fn counter(&mut self, name: &'static str, help: &'static str, rows: Vec<(Labels, u64)>) {
        self.0.push(Family { name, help, rows });
    }

    /// A family of one series without labels.
    fn one(&mut self, name: &'static str, help: &'static str, value: u64) {
        self.counter(name, help, vec![(Vec::new(), value)]);
    }

    /// The Prometheus 0.0.4 text.
    fn encode(self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self));
        let mut text = String::with_capacity(8192);
        // Writing to a String cannot fail; a collector's error would leave the text short.
        let _ = prometheus_text::encode(&mut text, &registry);
        text
    }
}

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let name = format!("vendorwatch_{}", family.name);
            let mut metric =
                encoder.encode_descriptor(&name, family.help, None, MetricType::Counter)?;
            for (labels, value) in &family.rows {
                if labels.is_empty() {
                    metric.encode_counter::<NoLabelSet, _, u64>(value, None)?;
                } else {
                    metric
                        .encode_family(labels)?
                        .encode_counter::<NoLabelSet, _, u64>(value, None)?;
                }
            }
        }
        Ok(())
    }
}

/// The exposition of a snapshot and the sinks' live counters.
pub fn render(s: &Snapshot, sinks: &[(String, Arc<SinkStats>)]) -> String {
    families(s, sinks).encode()
}

/// The stages', outputs' and sinks' counter families, as the README's Metrics table lists them.
fn families(s: &Snapshot, sinks: &[(String, Arc<SinkStats>)]) -> Families {
    let mut o = Families::default();
    let (r, c) = (&s.stats.read, &s.stats.counters);
    let (d, f) = (&c.detect, &c.flow);
    let by = |label: &'static str, rows: &[(&str, u64)]| -> Vec<(Labels, u64)> {
        rows.iter()
            .map(|(v, n)| (vec![(label, (*v).to_string())], *n))
            .collect()
    };
    o.counter(
        "files",
        "Inputs finished, by result (ok: read to the end; failed: not opened or damaged).",
        by("result", &[("ok", r.files_ok), ("failed", r.files_failed)]),
    );
    o.one("packets", "Packets read.", r.packets);
    o.one(
        "bytes",
        "Bytes of packets read (original wire lengths).",
        r.bytes,
    );
    o.counter(
        "packet_time_anomalies",
        "Packets with a suspect time, by kind: out_of_range (outside years 0001-9999, written clamped), jump (more than a day away from the packets before them).",
        by(
            "kind",
            &[("out_of_range", r.ts_out_of_range), ("jump", r.ts_jumps)],
        ),
    );
    o.one(
        "kernel_drops",
        "Packets the capture kernel dropped (live capture only; always 0 for files).",
        r.capture.map_or(0, |k| k.kernel_drops),
    );
    let skipped: Vec<(&str, u64)> = SkipReason::ALL
        .iter()
        .map(|reason| (reason.label(), c.skipped[reason.index()]))
        .collect();
    o.counter(
        "decode_failures",
        "Packets not decoded, by reason.",
        by("reason", &skipped),
    );
    o.one("dns_messages", "DNS messages parsed.", d.dns_messages);
    o.one(
        "dns_invalid",
        "DNS-port payloads that were not valid DNS.",
        d.dns_invalid,
    );
    // The help names the walker's limits; the assertion keeps the text true.
    const _: () =
        assert!(crate::proto::dns::MAX_QUESTIONS == 16 && crate::proto::dns::MAX_ANSWERS == 4096);
    o.one(
        "dns_over_limit",
        "Questions and answers of DNS messages not parsed: past the per-message limits (16 questions, 4096 answers).",
        d.dns_over_limit,
    );
    o.one(
        "tls_client_hellos",
        "TLS ClientHellos parsed.",
        d.client_hellos,
    );
    o.one(
        "http_requests",
        "HTTP request heads parsed.",
        d.http_requests,
    );
    o.one(
        "tunnelled_packets",
        "Packets decoded inside a tunnel (GRE, ERSPAN, VXLAN, Geneve, IP-in-IP).",
        c.decode.tunnelled,
    );
    o.one(
        "ip_fragments",
        "IP fragments seen.",
        c.decode.defrag.fragments,
    );
    o.one(
        "ip_defragmented",
        "IP datagrams reassembled from fragments.",
        c.decode.defrag.reassembled,
    );
    o.counter(
        "flows",
        "TCP flows, by event: created, closed (FIN/RST), evicted_idle, evicted_cap (table full).",
        by(
            "event",
            &[
                ("created", f.flows_created),
                ("closed", f.closed),
                ("evicted_idle", f.evicted_idle),
                ("evicted_cap", f.evicted_cap),
            ],
        ),
    );
    o.one(
        "reassembled_messages",
        "Messages (ClientHello, HTTP head, DNS over TCP) reassembled from TCP segments.",
        f.reassembled,
    );
    o.counter(
        "caps_hit",
        "Times a bound was hit, by table: hits_per_packet (matches over the per-packet limit), suppression (keys evicted from the full suppression table), migration (hosts evicted from the full migration memory), flow_table (flows evicted at the flow cap), reassembly (segments refused at the reassembly memory cap), first_flight (first-flight size limits hit), tls_hello (ClientHellos cut at the first-flight limit), http_head (HTTP request heads cut at the head limit), defrag (fragments evicted or dropped at the defrag caps), identity (addresses, DHCP clients and MACs evicted from the full host identity table).",
        by(
            "table",
            &[
                ("hits_per_packet", d.hits_dropped),
                ("suppression", c.suppress.evictions),
                ("migration", d.lineage_evicted),
                ("flow_table", f.evicted_cap),
                ("reassembly", f.reasm_refused),
                ("first_flight", f.first_flight_limit_hit),
                ("tls_hello", f.hellos_cut),
                ("http_head", f.http_heads_cut),
                (
                    "defrag",
                    c.decode.defrag.evicted + c.decode.defrag.dropped,
                ),
                (
                    "identity",
                    c.identity.lease_evictions
                        + c.identity.client_evictions
                        + c.identity.mac_evictions,
                ),
            ],
        ),
    );
    let alerts = s
        .alerts_by_rule
        .iter()
        .map(|(sid, (name, n))| {
            (
                vec![("sid", sid.to_string()), ("signature", name.clone())],
                *n,
            )
        })
        .collect();
    o.counter("alerts", "Alerts written, by rule.", alerts);
    o.one(
        "alerts_suppressed",
        "Repeats suppressed (same host, rule, name and observation within --suppress-window).",
        c.suppress.suppressed,
    );
    o.one(
        "records",
        "Records that reached the EVE output whole (alerts and --log events).",
        s.records,
    );
    o.one(
        "eve_reopen_failures",
        "Reopens of the EVE file on SIGHUP that failed (the file opened before is still written; retried at the next SIGHUP).",
        s.eve_reopen_failures,
    );
    let mut out_rows = Vec::new();
    let mut err_rows = Vec::new();
    for (name, st) in sinks {
        for (state, v) in [
            ("produced", &st.produced),
            ("delivered", &st.delivered),
            ("dropped", &st.dropped),
            ("oversized", &st.oversized),
        ] {
            out_rows.push((
                vec![("output", name.clone()), ("state", state.to_string())],
                v.load(Ordering::Relaxed),
            ));
        }
        err_rows.push((
            vec![("output", name.clone())],
            st.errors.load(Ordering::Relaxed),
        ));
    }
    o.counter(
        "output_records",
        "Records per network output (syslog, Redis): produced, delivered, dropped (produced = delivered + dropped once closed); oversized: of the dropped, records too large for one datagram.",
        out_rows,
    );
    o.counter(
        "output_errors",
        "Connect, write and reply errors per network output (sink errors).",
        err_rows,
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};
    use vw_testkit::http::{SCRAPE, Slowloris, closed_by_server, exchange, idle_connections};

    /// A scrape must answer within this, whatever other clients do.
    const PROMPT: Duration = Duration::from_secs(1);

    fn server() -> MetricsServer {
        MetricsServer::start("127.0.0.1:0").expect("bind 127.0.0.1:0")
    }

    fn scrape_ok(m: &MetricsServer, what: &str) -> String {
        let r = exchange(m.addr, SCRAPE, PROMPT).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(r.status, "HTTP/1.1 200 OK", "{what}: {r:?}");
        eprintln!("{what}: scrape answered in {:?}", r.took);
        r.body
    }

    /// Open `n` idle connections, then scrape: the connections and the exposition.
    fn scrape_beside_idle(m: &MetricsServer, n: usize) -> (Vec<std::net::TcpStream>, String) {
        let idle = idle_connections(m.addr, n);
        assert_eq!(idle.len(), n);
        std::thread::sleep(Duration::from_millis(100));
        let body = scrape_ok(m, &format!("beside {n} idle connections"));
        (idle, body)
    }

    /// Every counter set to a distinct value, label values that need escaping, and u64::MAX.
    fn sample() -> (Snapshot, SinkList) {
        let mut s = Snapshot::default();
        let r = &mut s.stats.read;
        (r.files_ok, r.files_failed, r.packets, r.bytes) = (3, 1, 123_456_789_012, u64::MAX);
        r.capture = Some(crate::capture::CaptureCounters {
            kernel_packets: 9,
            kernel_drops: 7,
            kernel_ifdrops: 1,
            kernel_freeze_queue: 0,
            ring_bad_blocks: 0,
        });
        let c = &mut s.stats.counters;
        for (i, v) in c.skipped.iter_mut().enumerate() {
            *v = 100 + i as u64;
        }
        let d = &mut c.detect;
        (d.dns_messages, d.dns_invalid, d.client_hellos) = (11, 12, 13);
        (d.http_requests, d.hits_dropped) = (14, 15);
        let g = &mut c.decode.defrag;
        (g.fragments, g.reassembled, g.evicted, g.dropped) = (17, 18, 19, 20);
        c.decode.tunnelled = 16;
        let f = &mut c.flow;
        (f.flows_created, f.closed, f.evicted_idle, f.evicted_cap) = (21, 22, 23, 24);
        (f.reassembled, f.reasm_refused, f.first_flight_limit_hit) = (25, 26, 27);
        (c.suppress.evictions, c.suppress.suppressed) = (28, 29);
        let id = &mut c.identity;
        (id.lease_evictions, id.client_evictions, id.mac_evictions) = (1, 2, 3);
        s.alerts_by_rule
            .insert(4_200_001, ("Kaspersky \"update\" \\ servers\nx".into(), 30));
        s.alerts_by_rule.insert(7, ("plain".into(), 0));
        s.records = 31;
        let net = SinkStats::default();
        for (a, v) in [
            (&net.produced, 32),
            (&net.delivered, 33),
            (&net.dropped, 34),
            (&net.errors, 35),
        ] {
            a.store(v, Ordering::Relaxed);
        }
        let sinks = vec![
            ("syslog tcp://127.0.0.1:1".to_string(), Arc::new(net)),
            ("redis \"q\"".to_string(), Arc::default()),
        ];
        (s, sinks)
    }

    /// Every line 9768e19 served is served byte for byte, in the same order (names, help,
    /// label order and escaping, values): dashboards and alert rules written against it keep
    /// working. Families added since are listed here; any other difference fails.
    #[test]
    fn render_keeps_every_line_9768e19_served() {
        const ADDED: [&str; 8] = [
            "vendorwatch_dns_over_limit_total",
            "vendorwatch_packet_time_anomalies_total",
            "vendorwatch_eve_reopen_failures_total",
            "state=\"oversized\"",
            "vendorwatch_caps_hit_total{table=\"tls_hello\"}",
            "vendorwatch_caps_hit_total{table=\"http_head\"}",
            "vendorwatch_caps_hit_total{table=\"migration\"}",
            "vendorwatch_caps_hit_total{table=\"identity\"} 6",
        ];
        // A help text may grow (new label values described); its metric keeps its name.
        let name_of_help = |l: &str| -> String {
            match l.strip_prefix("# HELP ") {
                Some(rest) => format!("# HELP {}", rest.split(' ').next().unwrap_or("")),
                None => l.to_string(),
            }
        };
        let (s, sinks) = sample();
        let want = include_str!("../testdata/metrics-9768e19.prom");
        let got = render(&s, &sinks);
        let mut old = want.lines().map(name_of_help).peekable();
        for line in got.lines() {
            if old.peek() == Some(&name_of_help(line)) {
                old.next();
                continue;
            }
            assert!(
                ADDED.iter().any(|name| line.contains(name)),
                "a line 9768e19 did not serve: {line:?}"
            );
        }
        assert_eq!(old.next(), None, "a line 9768e19 served is gone or changed");
    }

    /// A client sending one byte every 1.5 s held a scrape off for as long as it kept sending.
    /// Now the scrape answers at once and the slow client is closed at the request deadline.
    #[test]
    fn a_slow_client_does_not_hold_off_a_scrape() {
        let m = server();
        let slow = Slowloris::start(m.addr);
        std::thread::sleep(Duration::from_millis(300));
        scrape_ok(&m, "beside a slowloris");
        let closed = slow.closed_after();
        assert!(
            closed.is_some_and(|d| d < Duration::from_secs(7)),
            "the slow client should be closed at the 5 s deadline: {closed:?}"
        );
    }

    /// 20 connections that send nothing made a scrape wait 2 s each.
    #[test]
    fn idle_connections_do_not_delay_a_scrape() {
        scrape_beside_idle(&server(), 20);
    }

    /// Past the connection limit (64), the oldest connections still waiting for their request
    /// make room: a scrape is served, and the evictions are counted.
    #[test]
    fn beyond_the_connection_limit_a_scrape_still_works() {
        let (idle, body) = scrape_beside_idle(&server(), 100);
        let t = Instant::now();
        let closed = idle
            .iter()
            .filter(|s| closed_by_server(s, Duration::from_millis(30)))
            .count();
        assert!(
            closed >= 37,
            "{closed} of 100 idle connections closed ({:?})",
            t.elapsed()
        );
        // 100 idle and the scrape: 37 past the limit when the scrape was accepted.
        assert!(
            body.contains("vendorwatch_metrics_connections_closed_total{reason=\"evicted\"} 37\n"),
            "{body}"
        );
    }

    /// Only `GET` and `HEAD` of `/metrics` are served; POST and DELETE were answered 200.
    #[test]
    fn only_get_and_head_of_metrics_are_served() {
        let m = server();
        let ask = |req: &str| {
            exchange(m.addr, req.as_bytes(), PROMPT).unwrap_or_else(|e| panic!("{req:?}: {e}"))
        };
        for method in ["POST", "DELETE", "PUT"] {
            let r = ask(&format!(
                "{method} /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
            ));
            assert_eq!(
                r.status, "HTTP/1.1 405 Method Not Allowed",
                "{method}: {r:?}"
            );
            assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}: {r:?}");
        }
        for path in ["/", "/other", "/metricsx", "/metrics/x"] {
            let r = ask(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
            assert_eq!(r.status, "HTTP/1.1 404 Not Found", "{path}: {r:?}");
        }
        let get = ask("GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(get.status, "HTTP/1.1 200 OK");
        assert_eq!(
            get.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        let head = ask("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(head.status, "HTTP/1.1 200 OK", "{head:?}");
        assert_eq!(head.body, "", "HEAD has no body");
        assert_eq!(
            head.header("content-length"),
            Some(get.body.len().to_string().as_str())
        );
    }

    /// A request head over the 8 KiB bound is refused (9768e19 read up to 16 KiB and served it).
    #[test]
    fn an_oversized_request_head_is_refused() {
        let m = server();
        let big = format!(
            "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "a".repeat(12 * 1024)
        );
        match exchange(m.addr, big.as_bytes(), PROMPT) {
            Ok(r) => assert_eq!(r.status, "HTTP/1.1 431 Request Header Fields Too Large"),
            // The server may close while the head is still being sent.
            Err(e) => assert!(e.contains("reset") || e.contains("pipe"), "{e}"),
        }
    }

    /// Dropping the server stops its thread: the port no longer accepts.
    #[test]
    fn the_server_stops_when_dropped() {
        let m = server();
        let addr = m.addr;
        scrape_ok(&m, "before drop");
        drop(m);
        let refused = std::net::TcpStream::connect_timeout(&addr, PROMPT).is_err();
        assert!(refused, "{addr} still accepts after the server was dropped");
    }
}
