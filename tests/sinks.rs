//! Network outputs against real servers started here on loopback: redis-server (list and
//! stream) and rsyslogd (RFC 5424 over TCP, octet-counted). Each server is stopped mid-run and
//! restarted; what arrived plus what vendorwatch counted as dropped must equal what it
//! produced. Skips with a printed reason when a server binary is absent (.ci/run installs
//! them on Debian).

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::pipe::{PipeScan, output_figures};
use common::servers::{
    Net, find_tool, free_port, metric, redis_query, redis_start, rsyslog_received, rsyslog_start,
    scrape, stop, wait_for,
};
use vw_testkit::http::{SCRAPE, Slowloris, exchange, idle_connections};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vendorwatch-sinks-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A scan fed through a pipe, with the sinks' test settings: suppression off, a 15 s drain,
/// a buffer of 1000; every packet a DNS query from 10.1.0.11 (one alert each).
struct Scan(PipeScan);

impl Scan {
    fn start(extra: &[&str]) -> Scan {
        let mut args = vec!["--sink-buffer", "1000"];
        if !extra.contains(&"--suppress-window") {
            args.extend(["--suppress-window", "0"]);
        }
        if !extra.contains(&"--sink-drain") {
            args.extend(["--sink-drain", "15"]);
        }
        args.extend(extra);
        Scan(PipeScan::start(&args, |_| [10, 1, 0, 11]))
    }

    fn send(&mut self, n: u32) {
        self.0.send(n);
    }

    /// Close the input, wait for the exit, return (produced, delivered, dropped) of the one
    /// network output, from the summary.
    fn finish(self) -> (u64, u64, u64) {
        output_figures(&self.0.finish(), "")
    }
}

// ---- Redis ----

fn redis_round_trip(stream: bool) {
    let Some(bin) = find_tool(&["redis-server"]) else {
        eprintln!(
            "SKIP redis round trip: redis-server not installed (apt-get install redis-server)"
        );
        return;
    };
    let mode = if stream { "stream" } else { "list" };
    let dir = temp_dir(mode);
    let port = free_port();
    let mut server = redis_start(Net::Host, &bin, &dir, port);
    let len_cmd = if stream { "XLEN" } else { "LLEN" };
    let arrived = |port| -> u64 {
        redis_query(Net::Host, port, &[len_cmd, "vw"])
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    let url = format!("redis://127.0.0.1:{port}/");
    let mut scan = Scan::start(&["--redis", &url, "--redis-key", "vw", "--redis-mode", mode]);
    scan.send(300);
    wait_for("300 records in redis", Duration::from_secs(20), || {
        arrived(port) == 300
    });
    stop(&mut server.0);
    // While the server is down: more than the sink can hold (1000 buffered + 1000 in its
    // channel).
    scan.send(3000);
    std::thread::sleep(Duration::from_millis(800));
    server = redis_start(Net::Host, &bin, &dir, port);
    assert_eq!(arrived(port), 300, "AOF reload lost records");
    scan.send(300);
    let (produced, delivered, dropped) = scan.finish();
    let got = arrived(port);
    eprintln!("redis {mode}: produced {produced}, arrived {got}, dropped {dropped}");
    stop(&mut server.0);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(produced, 3600);
    assert_eq!(got, delivered);
    assert_eq!(got + dropped, produced);
    assert!((1000..=3000).contains(&dropped), "dropped {dropped}");
}

#[test]
fn redis_list_stop_restart_accounts_for_every_record() {
    redis_round_trip(false);
}

#[test]
fn redis_stream_stop_restart_accounts_for_every_record() {
    redis_round_trip(true);
}

// ---- rsyslog ----

#[test]
fn syslog_tcp_stop_restart_accounts_for_every_record() {
    let Some(bin) = find_tool(&["rsyslogd"]) else {
        eprintln!("SKIP syslog round trip: rsyslogd not installed (apt-get install rsyslog)");
        return;
    };
    let dir = temp_dir("rsyslog");
    let port = free_port();
    let mut server = rsyslog_start(Net::Host, &bin, &dir, port, false);
    let url = format!("tcp://127.0.0.1:{port}");
    let mut scan = Scan::start(&["--syslog", &url]);
    scan.send(300);
    wait_for(
        "300 messages in rsyslog's file",
        Duration::from_secs(20),
        || rsyslog_received(&dir).len() == 300,
    );
    stop(&mut server.0);
    scan.send(3000);
    std::thread::sleep(Duration::from_millis(800));
    server = rsyslog_start(Net::Host, &bin, &dir, port, false);
    scan.send(300);
    let (produced, delivered, dropped) = scan.finish();
    // rsyslog writes asynchronously: wait until the delivered count has landed.
    let deadline = Instant::now() + Duration::from_secs(10);
    while (rsyslog_received(&dir).len() as u64) < delivered && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(&mut server.0);
    let got = rsyslog_received(&dir);
    eprintln!(
        "syslog tcp: produced {produced}, arrived {}, dropped {dropped}",
        got.len()
    );
    assert!(
        got.iter()
            .all(|r| r["event_type"] == "alert" && r["community_id"].is_string())
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(produced, 3600);
    assert_eq!(got.len() as u64, delivered);
    assert_eq!(got.len() as u64 + dropped, produced);
    assert!(
        dropped >= 1000,
        "the outage should have overflowed the buffer: {dropped}"
    );
}

// ---- Prometheus metrics ----

/// Counters while a scan runs (fed through a pipe) and at its end, including the live
/// counters of a network output whose server is down.
#[test]
fn metrics_endpoint_serves_counters_mid_run() {
    let port = free_port();
    let dead = free_port();
    let listen = format!("127.0.0.1:{port}");
    let syslog = format!("tcp://127.0.0.1:{dead}");
    let mut scan = Scan::start(&[
        "--suppress-window",
        "3600",
        "--metrics-listen",
        &listen,
        "--syslog",
        &syslog,
        "--sink-drain",
        "0.5",
    ]);
    scan.send(320);
    let mut body = String::new();
    wait_for("320 packets in metrics", Duration::from_secs(10), || {
        body = scrape(Net::Host, port).unwrap_or_default();
        metric(&body, "vendorwatch_packets_total") == Some(320)
    });
    eprintln!(
        "{}",
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(metric(&body, "vendorwatch_dns_messages_total"), Some(320));
    assert_eq!(
        metric(
            &body,
            "vendorwatch_alerts_total{sid=\"4200001\",signature=\"Kaspersky update servers (s00-s19.upd, downloads.upd, cm.k)\"}"
        ),
        Some(1)
    );
    assert_eq!(
        metric(&body, "vendorwatch_alerts_suppressed_total"),
        Some(319)
    );
    assert_eq!(metric(&body, "vendorwatch_kernel_drops_total"), Some(0));
    assert!(
        metric(
            &body,
            "vendorwatch_decode_failures_total{reason=\"not-ip\"}"
        )
        .is_some()
    );
    let out = format!(
        "vendorwatch_output_records_total{{output=\"syslog {syslog}\",state=\"produced\"}}"
    );
    assert_eq!(metric(&body, &out), Some(1), "{body}");
    assert!(body.contains("# TYPE vendorwatch_output_errors_total counter"));
    // The syslog server never existed: at exit (after the drain time) the record is dropped.
    let (produced, delivered, dropped) = scan.finish();
    assert_eq!((produced, delivered, dropped), (1, 0, 1));
}

/// The endpoint of a running scan answers a scrape at once beside a slowloris and 20 idle
/// connections, and refuses other methods (9768e19 served one connection at a time, so the
/// scrape waited for the slow client; POST got 200).
#[test]
fn metrics_endpoint_outlasts_slow_and_idle_clients() {
    let port = free_port();
    let mut scan = Scan::start(&["--metrics-listen", &format!("127.0.0.1:{port}")]);
    scan.send(64);
    wait_for("64 packets in metrics", Duration::from_secs(10), || {
        scrape(Net::Host, port)
            .is_some_and(|body| metric(&body, "vendorwatch_packets_total") == Some(64))
    });
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let slow = Slowloris::start(addr);
    let idle = idle_connections(addr, 20);
    std::thread::sleep(Duration::from_millis(300));
    let r = exchange(addr, SCRAPE, Duration::from_secs(1))
        .unwrap_or_else(|e| panic!("scrape beside a slowloris and 20 idle connections: {e}"));
    eprintln!(
        "scrape beside a slowloris and 20 idle connections: {:?}",
        r.took
    );
    assert_eq!(r.status, "HTTP/1.1 200 OK");
    assert_eq!(metric(&r.body, "vendorwatch_packets_total"), Some(64));
    let post = b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
    let r = exchange(addr, post, Duration::from_secs(1)).unwrap_or_else(|e| panic!("POST: {e}"));
    assert_eq!(r.status, "HTTP/1.1 405 Method Not Allowed");
    drop((idle, slow, scan));
}

/// RFC 5424 over UDP into rsyslogd: best effort by nature, so the test paces the records and
/// checks what arrived against what vendorwatch counted as sent.
#[test]
fn syslog_udp_delivers_to_rsyslog() {
    let Some(bin) = find_tool(&["rsyslogd"]) else {
        eprintln!("SKIP syslog udp: rsyslogd not installed (apt-get install rsyslog)");
        return;
    };
    let dir = temp_dir("rsyslog-udp");
    let port = free_port();
    let mut server = rsyslog_start(Net::Host, &bin, &dir, port, true);
    let url = format!("udp://127.0.0.1:{port}");
    let mut scan = Scan::start(&["--syslog", &url]);
    for _ in 0..10 {
        scan.send(30);
        std::thread::sleep(Duration::from_millis(20));
    }
    let (produced, delivered, dropped) = scan.finish();
    let deadline = Instant::now() + Duration::from_secs(10);
    while (rsyslog_received(&dir).len() as u64) < delivered && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop(&mut server.0);
    let got = rsyslog_received(&dir);
    eprintln!(
        "syslog udp: produced {produced}, sent {delivered}, arrived {}, dropped {dropped}",
        got.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!((produced, delivered + dropped), (300, 300));
    // UDP gives the sender no word of loss: what vendorwatch counts is what it sent. Under
    // load the receiver's socket buffer can still overflow on loopback, so a few missing
    // datagrams are tolerated (and printed above); a broken sink would lose them all.
    let arrived = got.len() as u64;
    assert!(arrived <= delivered, "more arrived than was sent");
    assert!(
        arrived * 100 >= delivered * 95,
        "{arrived} of {delivered} datagrams arrived"
    );
}
