//! `vendorwatch live` with the outputs `scan` has: a client namespace joined to a server
//! namespace by TWO veth pairs (two subnets), vendorwatch capturing on both client interfaces
//! with two workers and writing ECS records to an EVE file, Redis and rsyslog (both started by
//! the test on the client namespace's own loopback), serving metrics, matching port rules and
//! writing the host report at exit. Real `dig` (over interface A), `curl` TLS (over B) and a
//! TCP connection attempt to the Kaspersky Security Center port 13000 (over A).
//!
//! Each record names the interface that captured it (ECS `observer.ingress.interface.name`).
//! A second test runs `--format eve` with one worker: `in_iface` names the capturing
//! interface, and SIGUSR1 writes the report without stopping the capture. Both run with each
//! `--capture` method (AF_PACKET rings and libpcap).
//!
//! Needs root and `ip netns`; skips with a printed reason otherwise or when a tool is missing
//! (`.ci/run` installs them). Namespaces and processes are removed by a Drop guard; traffic
//! stays inside the namespaces the test creates.

mod common;

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use common::netns::{
    Lab, complete_len, is_root, json_lines, json_lines_from, missing, path, poll, run_in, signal,
    unique,
};
use common::servers::{
    Net, find_tool, metric, redis_lrange, redis_start, rsyslog_received, rsyslog_start, scrape,
    series,
};
use serde_json::Value;

/// The two tests start namespaces, servers and a capture each: one at a time on a small
/// machine keeps the timing bounds comfortable.
static SERIAL: Mutex<()> = Mutex::new(());

/// Interface A's subnet: DNS and the port-13000 attempt.
const A_CLIENT: &str = "10.252.1.1";
const A_SERVER: &str = "10.252.1.2";
/// Interface B's subnet: TLS.
const B_CLIENT: &str = "10.252.2.1";
const B_SERVER: &str = "10.252.2.2";

/// Names looked up over A that must alert (`vendorwatch sigs test NAME`): sid 4200002 "update
/// mirrors (dnl-NN.geo)" and the kaspersky-labs.com catch-all 4200091.
const EXPECTED_DNS: [(&str, &str); 2] = [
    ("4200002", "dnl-01.geo.kaspersky.com"),
    ("4200091", "ksn-a.kaspersky-labs.com"),
];
/// ClientHello over B that must alert: sid 4200020 "activation 2.0 service".
const EXPECTED_SNI: (&str, &str) = ("4200020", "activation-v2.kaspersky.com");
/// The KSC server-port rule (`sigs test tcp/13000`), matched only with --enable-port-rules.
const PORT_SID: &str = "4200110";
/// Looked up over A and sent as SNI over B; must never alert.
const DECOYS: [&str; 2] = ["www.example.org", "notkaspersky.com"];

fn skip(test: &str, reason: &str) {
    eprintln!("SKIP {test}: {reason}");
}

/// Client and server namespaces, two veth pairs, dnsmasq (answering every name with
/// `A_SERVER`) and `openssl s_server` on 443 in the server namespace.
struct Topology {
    lab: Lab,
    client: String,
    server: String,
    if_a: String,
    if_b: String,
}

fn topology(tag: &str) -> Result<Topology, String> {
    let id = unique("");
    let mut lab = Lab::new(&format!("{tag}-{id}"));
    let (client, server) = (format!("vw{tag}c{id}"), format!("vw{tag}s{id}"));
    lab.netns(&client)?;
    lab.netns(&server)?;
    let (if_a, if_b) = (format!("vwA{id}"), format!("vwB{id}"));
    lab.veth(
        (&client, &if_a, &format!("{A_CLIENT}/24")),
        (&server, &format!("vwSA{id}"), &format!("{A_SERVER}/24")),
    )?;
    lab.veth(
        (&client, &if_b, &format!("{B_CLIENT}/24")),
        (&server, &format!("vwSB{id}"), &format!("{B_SERVER}/24")),
    )?;
    Ok(Topology {
        lab,
        client,
        server,
        if_a,
        if_b,
    })
}

impl Topology {
    fn servers(&mut self) {
        self.lab
            .resolver(&self.server, A_SERVER, A_SERVER)
            .expect("dnsmasq");
        self.lab
            .tls_server(&self.server, B_SERVER)
            .expect("openssl s_server");
    }

    fn dig(&self, name: &str) -> String {
        run_in(
            &self.client,
            &[
                "dig",
                "+short",
                "+time=2",
                "+tries=2",
                &format!("@{A_SERVER}"),
                name,
            ],
        )
        .expect("dig")
    }

    /// A TLS connection to `host` at `addr`:443 (the ClientHello carries `host` as SNI).
    fn tls(&self, host: &str, addr: &str) {
        let _ = run_in(
            &self.client,
            &[
                "curl",
                "-sk",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "--resolve",
                &format!("{host}:443:{addr}"),
                &format!("https://{host}/"),
            ],
        );
    }

    /// A TCP connection attempt (a SYN is all a port rule needs; nothing listens, so the
    /// server answers RST and curl gives up at once).
    fn connect(&self, addr: &str, port: u16) {
        let _ = run_in(
            &self.client,
            &["curl", "-s", "-m", "3", &format!("http://{addr}:{port}/")],
        );
    }

    /// The capturing interface a record belongs to, from its addresses.
    fn iface_of(&self, src: &str, dst: &str) -> Option<&str> {
        let on = |prefix: &str| src.starts_with(prefix) || dst.starts_with(prefix);
        if on("10.252.1.") {
            Some(&self.if_a)
        } else if on("10.252.2.") {
            Some(&self.if_b)
        } else {
            None
        }
    }
}

/// (rule id, matched name, observation) of an ECS alert document.
fn ecs_alert_key(r: &Value) -> (String, String, String) {
    let ind = &r["threat"]["indicator"];
    let name = ind["url"]["domain"]
        .as_str()
        .or_else(|| ind["ip"].as_str())
        .unwrap_or("");
    (
        r["rule"]["id"].as_str().unwrap_or("").to_string(),
        name.to_string(),
        r["labels"]["observation"]
            .as_str()
            .unwrap_or("")
            .to_string(),
    )
}

fn ecs_alerts(records: &[Value]) -> Vec<Value> {
    let mut v: Vec<Value> = records
        .iter()
        .filter(|r| r["event"]["kind"] == "alert")
        .cloned()
        .collect();
    v.sort_by_cached_key(|r| r.to_string());
    v
}

fn report_hosts(report: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(report).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    Some(
        doc["hosts"]
            .as_array()?
            .iter()
            .filter_map(|h| h["host"].as_str().map(str::to_string))
            .collect(),
    )
}

#[test]
fn live_ecs_to_eve_redis_syslog_metrics_and_report_on_two_interfaces_afpacket() {
    live_ecs_to_eve_redis_syslog_metrics_and_report_on_two_interfaces("afpacket");
}

#[test]
fn live_ecs_to_eve_redis_syslog_metrics_and_report_on_two_interfaces_pcap() {
    live_ecs_to_eve_redis_syslog_metrics_and_report_on_two_interfaces("pcap");
}

fn live_ecs_to_eve_redis_syslog_metrics_and_report_on_two_interfaces(capture: &str) {
    const NAME: &str = "live_outputs";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !is_root() {
        return skip(NAME, "not root");
    }
    if let Some(tool) = missing(&["ip", "dig", "dnsmasq", "curl", "openssl"]) {
        return skip(NAME, &format!("{tool} not installed (.ci/run installs it)"));
    }
    let Some(redis_bin) = find_tool(&["redis-server"]) else {
        return skip(NAME, "redis-server not installed (.ci/run installs it)");
    };
    let Some(rsyslog_bin) = find_tool(&["rsyslogd"]) else {
        return skip(NAME, "rsyslogd not installed (.ci/run installs it)");
    };
    let mut topo = match topology(&format!("o{}", &capture[..1])) {
        Ok(t) => t,
        Err(e) => return skip(NAME, &format!("namespace setup failed: {e}")),
    };
    topo.servers();
    let client = topo.client.clone();
    let net = Net::Ns(&client);
    // Redis and rsyslogd on the client namespace's loopback, where vendorwatch runs: its
    // outputs never cross the captured interfaces, and the ports are free in a new namespace.
    let (redis_port, syslog_port, metrics_port) = (6379u16, 5514u16, 9464u16);
    let (redis_dir, syslog_dir) = (topo.lab.dir.join("redis"), topo.lab.dir.join("rsyslog"));
    std::fs::create_dir_all(&redis_dir).unwrap();
    std::fs::create_dir_all(&syslog_dir).unwrap();
    // Declared after `topo`: dropped (killed) before the namespaces are deleted.
    let _redis = redis_start(net, &redis_bin, &redis_dir, redis_port);
    let _rsyslog = rsyslog_start(net, &rsyslog_bin, &syslog_dir, syslog_port, false);

    let (eve, report) = (
        topo.lab.dir.join("eve.json"),
        topo.lab.dir.join("report.json"),
    );
    let (if_a, if_b) = (topo.if_a.clone(), topo.if_b.clone());
    let mut vw = topo.lab.vendorwatch_in(
        &client,
        &[
            "live",
            "--capture",
            capture,
            "-i",
            &if_a,
            "-i",
            &if_b,
            "--workers",
            "2",
            "--format",
            "ecs",
            "--redis",
            &format!("redis://127.0.0.1:{redis_port}/0"),
            "--syslog",
            &format!("tcp://127.0.0.1:{syslog_port}"),
            "--metrics-listen",
            &format!("127.0.0.1:{metrics_port}"),
            "--enable-port-rules",
            "--report",
            path(&report),
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("vendorwatch");

    for (_, name) in EXPECTED_DNS {
        assert!(topo.dig(name).contains(A_SERVER), "dnsmasq answered {name}");
    }
    for name in DECOYS {
        assert!(topo.dig(name).contains(A_SERVER), "dnsmasq answered {name}");
    }
    topo.tls(EXPECTED_SNI.1, B_SERVER);
    for name in DECOYS {
        topo.tls(name, B_SERVER);
    }
    topo.connect(A_SERVER, 13000);

    let port_name = format!("{A_SERVER}:13000");
    let mut want: Vec<(String, String, String)> = EXPECTED_DNS
        .iter()
        .map(|(sid, n)| (sid.to_string(), n.to_string(), "dns-query".to_string()))
        .collect();
    want.push((
        EXPECTED_SNI.0.into(),
        EXPECTED_SNI.1.into(),
        "tls-sni".into(),
    ));
    want.push((PORT_SID.into(), port_name.clone(), "port".into()));
    // Every expected alert reaches the EVE file while capturing (flushed within a second).
    let arrived = poll(Duration::from_secs(15), || {
        let got: Vec<_> = ecs_alerts(&json_lines(&eve))
            .iter()
            .map(ecs_alert_key)
            .collect();
        want.iter().all(|w| got.contains(w))
    });
    assert!(
        arrived,
        "expected alerts {want:?} not all in the EVE file while capturing; got {:?}",
        ecs_alerts(&json_lines(&eve))
            .iter()
            .map(ecs_alert_key)
            .collect::<Vec<_>>()
    );

    // Metrics while the capture runs (before SIGTERM): packets counted, alerts counted.
    let mut body = String::new();
    let live_counters = poll(Duration::from_secs(10), || {
        body = scrape(net, metrics_port).unwrap_or_default();
        metric(&body, "vendorwatch_packets_total").is_some_and(|n| n > 0)
            && series(&body, "vendorwatch_alerts_total")
                .iter()
                .any(|(_, n)| *n > 0)
    });
    assert!(
        live_counters,
        "/metrics during capture: want vendorwatch_packets_total > 0 and a \
         vendorwatch_alerts_total series > 0, got:\n{body}"
    );
    assert!(
        report_hosts(&report).is_none(),
        "the report is written at exit (or on SIGUSR1), not before"
    );

    signal(vw.pid, libc::SIGTERM);
    // Outputs may take --sink-drain (5 s) at exit.
    let status = topo
        .lab
        .wait_exit(vw.pid, Duration::from_secs(30))
        .expect("vendorwatch did not stop within 30 s of SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit 0 after SIGTERM:\n{}",
        vw.stderr.text()
    );

    // EVE file: every expected alert, no decoy, the right interfaces.
    let records = json_lines(&eve);
    let eve_alerts = ecs_alerts(&records);
    let keys: Vec<_> = eve_alerts.iter().map(ecs_alert_key).collect();
    eprintln!("alerts: {keys:?}");
    for w in &want {
        assert!(keys.contains(w), "EVE file: missing alert {w:?}: {keys:?}");
    }
    for decoy in DECOYS {
        assert!(
            !keys.iter().any(|(_, n, _)| n.contains(decoy)),
            "decoy {decoy} alerted: {keys:?}"
        );
    }
    // ECS names the capturing interface in observer.ingress.interface.name (EVE's
    // `in_iface`, checked in the test below).
    let mut per_iface = [0usize; 2];
    for r in &records {
        let (src, dst) = (
            r["source"]["ip"].as_str().unwrap_or(""),
            r["destination"]["ip"].as_str().unwrap_or(""),
        );
        if let Some(want_if) = topo.iface_of(src, dst) {
            assert_eq!(
                r["observer"]["ingress"]["interface"]["name"].as_str(),
                Some(want_if),
                "observer.ingress.interface.name of {r}"
            );
            per_iface[usize::from(want_if == if_b)] += 1;
        }
    }
    assert!(
        per_iface[0] > 0 && per_iface[1] > 0,
        "records from both interfaces: {per_iface:?}"
    );

    // Redis: the same alert documents as the EVE file.
    let redis_records: Vec<Value> = redis_lrange(net, redis_port, "vendorwatch")
        .expect("LRANGE vendorwatch")
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("Redis: bad JSON {l:?}: {e}")))
        .collect();
    let redis_alerts = ecs_alerts(&redis_records);
    assert_eq!(
        redis_alerts.iter().map(ecs_alert_key).collect::<Vec<_>>(),
        eve_alerts.iter().map(ecs_alert_key).collect::<Vec<_>>(),
        "Redis holds the EVE file's alerts"
    );
    assert_eq!(redis_alerts, eve_alerts, "Redis: identical alert documents");

    // rsyslog (writes asynchronously): the same alert documents.
    let mut syslog_alerts = Vec::new();
    poll(Duration::from_secs(10), || {
        syslog_alerts = ecs_alerts(&rsyslog_received(&syslog_dir));
        syslog_alerts.len() >= eve_alerts.len()
    });
    assert_eq!(
        syslog_alerts.iter().map(ecs_alert_key).collect::<Vec<_>>(),
        eve_alerts.iter().map(ecs_alert_key).collect::<Vec<_>>(),
        "rsyslog received the EVE file's alerts"
    );
    assert_eq!(
        syslog_alerts, eve_alerts,
        "rsyslog: identical alert documents"
    );

    // The report written at exit names the client on both subnets.
    let hosts = report_hosts(&report).expect("a JSON report file at exit");
    for host in [A_CLIENT, B_CLIENT] {
        assert!(
            hosts.iter().any(|h| h == host),
            "report names {host}: {hosts:?}"
        );
    }
}

#[test]
fn live_eve_in_iface_and_report_on_sigusr1_afpacket() {
    live_eve_in_iface_and_report_on_sigusr1("afpacket");
}

#[test]
fn live_eve_in_iface_and_report_on_sigusr1_pcap() {
    live_eve_in_iface_and_report_on_sigusr1("pcap");
}

fn live_eve_in_iface_and_report_on_sigusr1(capture: &str) {
    const NAME: &str = "live_outputs sigusr1";
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if !is_root() {
        return skip(NAME, "not root");
    }
    if let Some(tool) = missing(&["ip", "dig", "dnsmasq", "curl", "openssl"]) {
        return skip(NAME, &format!("{tool} not installed (.ci/run installs it)"));
    }
    let mut topo = match topology(&format!("u{}", &capture[..1])) {
        Ok(t) => t,
        Err(e) => return skip(NAME, &format!("namespace setup failed: {e}")),
    };
    topo.servers();
    let client = topo.client.clone();
    let (eve, report) = (
        topo.lab.dir.join("eve.json"),
        topo.lab.dir.join("report.json"),
    );
    let (if_a, if_b) = (topo.if_a.clone(), topo.if_b.clone());
    let mut vw = topo.lab.vendorwatch_in(
        &client,
        &[
            "live",
            "--capture",
            capture,
            "-i",
            &if_a,
            "-i",
            &if_b,
            "--workers",
            "1",
            "--format",
            "eve",
            "--report",
            path(&report),
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("vendorwatch");
    let (dns_sid, dns_name) = EXPECTED_DNS[0];
    assert!(topo.dig(dns_name).contains(A_SERVER));
    topo.tls(EXPECTED_SNI.1, B_SERVER);
    let sids = |records: &[Value]| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .map(|r| r["alert"]["signature_id"].to_string())
            .collect()
    };
    assert!(
        poll(Duration::from_secs(15), || {
            let got = sids(&json_lines(&eve));
            got.iter().any(|s| s == dns_sid) && got.iter().any(|s| s == EXPECTED_SNI.0)
        }),
        "alerts {dns_sid} (over {if_a}) and {} (over {if_b}) in the EVE file; got {:?}",
        EXPECTED_SNI.0,
        sids(&json_lines(&eve))
    );
    assert!(
        !report.exists(),
        "no report before SIGUSR1 (it is written at exit or on SIGUSR1)"
    );

    signal(vw.pid, libc::SIGUSR1);
    let mut hosts = Vec::new();
    let mut both = || {
        hosts = report_hosts(&report).unwrap_or_default();
        hosts.iter().any(|h| h == A_CLIENT) && hosts.iter().any(|h| h == B_CLIENT)
    };
    poll(Duration::from_secs(10), || {
        both() || !topo.lab.running(vw.pid)
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        topo.lab.running(vw.pid),
        "SIGUSR1 must not stop the capture (exit status {:?}):\n{}",
        topo.lab.wait_exit(vw.pid, Duration::ZERO),
        vw.stderr.text()
    );
    assert!(
        both(),
        "SIGUSR1 writes the report naming {A_CLIENT} and {B_CLIENT}; got {hosts:?}\n{}",
        vw.stderr.text()
    );
    // Still capturing after SIGUSR1: a new lookup alerts.
    let before = complete_len(&eve);
    let (sid2, name2) = EXPECTED_DNS[1];
    assert!(topo.dig(name2).contains(A_SERVER));
    assert!(
        poll(Duration::from_secs(10), || sids(&json_lines_from(
            &eve, before
        ))
        .iter()
        .any(|s| s == sid2)),
        "capture goes on after SIGUSR1: alert {sid2} for {name2}"
    );

    // in_iface names the interface that captured each packet.
    let records = json_lines(&eve);
    let mut per_iface = [0usize; 2];
    for r in records.iter().filter(|r| r["event_type"] == "alert") {
        let (src, dst) = (
            r["src_ip"].as_str().unwrap_or(""),
            r["dest_ip"].as_str().unwrap_or(""),
        );
        let want_if = topo
            .iface_of(src, dst)
            .unwrap_or_else(|| panic!("an alert outside the test's subnets: {r}"));
        assert_eq!(r["in_iface"].as_str(), Some(want_if), "in_iface of {r}");
        per_iface[usize::from(want_if == if_b)] += 1;
    }
    assert!(
        per_iface[0] > 0 && per_iface[1] > 0,
        "alerts from both interfaces: {per_iface:?}"
    );

    signal(vw.pid, libc::SIGTERM);
    let status = topo
        .lab
        .wait_exit(vw.pid, Duration::from_secs(20))
        .expect("vendorwatch did not stop within 20 s of SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit 0 after SIGTERM:\n{}",
        vw.stderr.text()
    );
    let hosts = report_hosts(&report).expect("the report rewritten at exit");
    assert!(
        hosts.iter().any(|h| h == A_CLIENT) && hosts.iter().any(|h| h == B_CLIENT),
        "report at exit: {hosts:?}"
    );
}
