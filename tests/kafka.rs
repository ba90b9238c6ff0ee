//! The Kafka output and the fleet report against a real broker: tansu (an Apache-2.0
//! Kafka-protocol broker, `cargo install tansu --locked --features dynostore`, which
//! `scripts/deps.sh test` does), started here on a free loopback port with its in-memory
//! storage. What arrives is counted by an rdkafka consumer of the test's own, never by the
//! producer's counters. Skips with a printed reason when tansu is not installed.

#![cfg(feature = "kafka")]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::netns::{Lab, is_root, missing, path, poll, run_in, signal, unique};
use common::pipe::{PipeScan, output_figures};
use common::servers::{Net, Server, free_port, metric, scrape, stop, wait_for};
use serde_json::Value;
use vendorwatch::output::kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use vendorwatch::output::kafka::rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use vendorwatch::output::kafka::{ReadConfig, read_topic};

/// Partitions of every test topic.
const PARTITIONS: i32 = 3;

/// The tansu binary: on PATH, else where `cargo install` puts it.
fn tansu_bin() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter()
        .map(|d| d.join("tansu"))
        .find(|p| p.is_file())
}

macro_rules! tansu_or_skip {
    ($test:expr) => {
        match tansu_bin() {
            Some(bin) => bin,
            None => {
                eprintln!(
                    "SKIP {}: tansu not installed (scripts/deps.sh test: cargo install tansu --locked --features dynostore)",
                    $test
                );
                return;
            }
        }
    };
}

/// A tansu broker on 127.0.0.1:`port` (of namespace `ns`, or the test's own), in-memory
/// storage: a restart starts empty.
struct Broker {
    bin: PathBuf,
    ns: Option<String>,
    port: u16,
    log: PathBuf,
    server: Option<Server>,
}

impl Broker {
    fn start(bin: &Path, ns: Option<&str>, port: u16, log: &Path) -> Broker {
        let mut b = Broker {
            bin: bin.to_path_buf(),
            ns: ns.map(str::to_string),
            port,
            log: log.to_path_buf(),
            server: None,
        };
        b.up();
        b
    }

    fn command(&self) -> Command {
        match &self.ns {
            None => Command::new(&self.bin),
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&self.bin);
                c
            }
        }
    }

    fn url(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }

    fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Start the broker and wait until it accepts connections.
    fn up(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("broker log");
        let child = self
            .command()
            .args(["broker", "--listener-url", &self.url()])
            .args(["--advertised-listener-url", &self.url()])
            .args(["--storage-engine", "memory://tansu/"])
            .env_remove("CLUSTER_ID")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start tansu");
        self.server = Some(Server(child));
        let net = match &self.ns {
            None => Net::Host,
            Some(ns) => Net::Ns(ns),
        };
        wait_for("tansu to listen", Duration::from_secs(20), || {
            net.connect(self.port).is_some()
        });
    }

    /// Stop it (SIGTERM); what it stored is gone.
    fn down(&mut self) {
        if let Some(mut s) = self.server.take() {
            stop(&mut s.0);
        }
    }

    /// Create `topic` with [`PARTITIONS`] partitions.
    fn create_topic(&self, topic: &str) {
        let t = Instant::now();
        loop {
            let out = self
                .command()
                .args(["topic", "create", topic, "--partitions"])
                .arg(PARTITIONS.to_string())
                .args(["--broker", &self.url()])
                .output()
                .expect("tansu topic create");
            if out.status.success() {
                return;
            }
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "tansu topic create {topic}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A message as the test's consumer read it.
#[derive(Debug, Clone)]
struct Got {
    partition: i32,
    key: Option<String>,
    payload: String,
}

/// Every message of `topic` up to its end, read by `read_topic` (in namespace `ns`).
fn read_all(ns: Option<&str>, brokers: &str, topic: &str) -> Vec<Got> {
    let config = ReadConfig {
        brokers: brokers.to_string(),
        topic: topic.to_string(),
        group: None,
        options: Vec::new(),
        timeout: Duration::from_secs(20),
    };
    in_netns(ns, move || {
        let mut got = Vec::new();
        read_topic(&config, |m| {
            got.push(Got {
                partition: m.partition,
                key: m.key.map(|k| String::from_utf8_lossy(k).into_owned()),
                payload: String::from_utf8_lossy(m.payload).into_owned(),
            })
        })
        .unwrap_or_else(|e| panic!("reading the topic: {e}"));
        got
    })
}

/// Run `f` in a thread inside namespace `ns` (threads it starts, librdkafka's included, stay
/// in that namespace).
fn in_netns<T: Send + 'static>(ns: Option<&str>, f: impl FnOnce() -> T + Send + 'static) -> T {
    let file = ns.map(|ns| std::fs::File::open(format!("/run/netns/{ns}")).expect("netns file"));
    std::thread::spawn(move || {
        if let Some(file) = file {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on a valid namespace file descriptor, for this thread only.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns");
        }
        f()
    })
    .join()
    .expect("thread in namespace")
}

/// Check what the consumer read against the EVE lines the same run wrote: the same records,
/// each key's records in one partition and in the EVE file's order. Returns the count.
fn check_arrived(eve: &[String], got: &[Got]) -> usize {
    let mut at: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, line) in eve.iter().enumerate() {
        at.entry(line.as_str()).or_default().push(i);
    }
    let mut want: Vec<&str> = eve.iter().map(String::as_str).collect();
    let mut have: Vec<&str> = got.iter().map(|g| g.payload.as_str()).collect();
    want.sort_unstable();
    have.sort_unstable();
    assert_eq!(
        have.len(),
        want.len(),
        "records in the topic vs the EVE file"
    );
    assert!(
        have == want,
        "the topic holds other records than the EVE file"
    );
    // Per key: one partition, EVE order (messages come per partition in offset order).
    let mut last: BTreeMap<&str, (i32, usize)> = BTreeMap::new();
    let mut next_of: BTreeMap<&str, usize> = BTreeMap::new();
    for g in got {
        let Some(key) = g.key.as_deref() else {
            continue;
        };
        let seen = next_of.entry(g.payload.as_str()).or_default();
        let idx = at[g.payload.as_str()][(*seen).min(at[g.payload.as_str()].len() - 1)];
        *seen += 1;
        if let Some((p, prev)) = last.get(key) {
            assert_eq!(*p, g.partition, "key {key} in two partitions");
            assert!(idx > *prev, "key {key}: record out of order: {}", g.payload);
        }
        last.insert(key, (g.partition, idx));
    }
    got.len()
}

/// (produced, delivered, dropped) of the summary's `output kafka ...` line.
fn kafka_summary(stderr: &str) -> (u64, u64, u64) {
    output_figures(stderr, "kafka ")
}

fn temp_dir(tag: &str) -> common::TempDir {
    common::TempDir::new(&format!("kafka-{tag}"))
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every record of a scan of `pcaps/` (`--log all`, the `stats` record too) arrives, in
/// order per key (host, then flow), and carries the sensor name.
#[test]
fn scan_of_pcaps_arrives_whole_and_in_order_per_key() {
    let bin = tansu_or_skip!("scan_of_pcaps_arrives_whole_and_in_order_per_key");
    let dir = temp_dir("pcaps");
    let mut broker = Broker::start(&bin, None, free_port(), &dir.path().join("broker.log"));
    let pcaps = common::repo().join("pcaps").to_string_lossy().into_owned();
    for key in ["host", "flow"] {
        let topic = format!("pcaps-{key}");
        broker.create_topic(&topic);
        let eve = dir.path().join(format!("{key}.json"));
        let run = common::vendorwatch(&[
            "scan",
            "--log",
            "all",
            "--stats",
            "--workers",
            "1",
            "--sensor-name",
            "sensor-a",
            "--eve",
            path(&eve),
            "--kafka",
            &broker.brokers(),
            "--kafka-topic",
            &topic,
            "--kafka-key",
            key,
            &pcaps,
        ]);
        assert!(matches!(run.code(), Some(0 | 1)), "{}", run.stderr());
        let eve = lines(&eve);
        let (produced, delivered, dropped) = kafka_summary(&run.stderr());
        assert_eq!(
            (produced, delivered, dropped),
            (eve.len() as u64, eve.len() as u64, 0)
        );
        let got = read_all(None, &broker.brokers(), &topic);
        let n = check_arrived(&eve, &got);
        eprintln!("--kafka-key {key}: {n} records in the topic, as in the EVE file");
        assert!(n > 100, "too few records to show anything: {n}");
        for g in &got {
            let r: Value = serde_json::from_str(&g.payload).expect("JSON");
            assert_eq!(r["host"], "sensor-a", "{r}");
            let want = match (key, r["event_type"].as_str()) {
                (_, Some("stats")) => None,
                ("flow", _) => Some(r["flow_id"].to_string()),
                // An event's client: the receiver of a DNS response, else the sender.
                (_, Some("dns")) if r["dns"]["type"] == "response" => {
                    r["dest_ip"].as_str().map(str::to_string)
                }
                (_, Some("alert")) => {
                    let k = g.key.clone().unwrap_or_default();
                    assert!(
                        r["src_ip"] == k.as_str() || r["dest_ip"] == k.as_str(),
                        "{r}"
                    );
                    Some(k)
                }
                _ => r["src_ip"].as_str().map(str::to_string),
            };
            assert_eq!(g.key, want, "key of {r}");
        }
    }
    broker.down();
}

/// A consumer that runs throughout a broker outage: it reads from the beginning of every
/// partition, lets go of them while the broker is down (`pause`) and reads the restarted
/// broker's empty log from its beginning again (`resume`).
struct Follower {
    got: Arc<Mutex<Vec<Got>>>,
    paused: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Follower {
    fn start(brokers: &str, topic: &str) -> Follower {
        let got = Arc::new(Mutex::new(Vec::new()));
        let paused = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (g, p, s) = (Arc::clone(&got), Arc::clone(&paused), Arc::clone(&stop));
        let (brokers, topic) = (brokers.to_string(), topic.to_string());
        let handle = std::thread::spawn(move || {
            // A consumer per broker life: made when reading starts or resumes, dropped while
            // the broker is down (librdkafka 2.12 crashes on the metadata a restarting tansu
            // answers before its topic is created again).
            let connect = || -> BaseConsumer {
                let consumer: BaseConsumer = ClientConfig::new()
                    .set("bootstrap.servers", &brokers)
                    .set("group.id", "vw-test-follower")
                    .set("enable.auto.commit", "false")
                    .set("auto.offset.reset", "earliest")
                    .create()
                    .expect("consumer");
                let mut all = TopicPartitionList::new();
                for p in 0..PARTITIONS {
                    all.add_partition_offset(&topic, p, Offset::Beginning)
                        .expect("partition");
                }
                consumer.assign(&all).expect("assign");
                consumer
            };
            let mut consumer = None;
            while !s.load(Ordering::Relaxed) {
                if p.load(Ordering::Relaxed) {
                    consumer = None;
                    std::thread::sleep(Duration::from_millis(20));
                    continue;
                }
                let c = consumer.get_or_insert_with(connect);
                if let Some(Ok(m)) = c.poll(Duration::from_millis(50)) {
                    g.lock().unwrap().push(Got {
                        partition: m.partition(),
                        key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                        payload: String::from_utf8_lossy(m.payload().unwrap_or(&[])).into_owned(),
                    });
                }
            }
        });
        Follower {
            got,
            paused,
            stop,
            handle: Some(handle),
        }
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }

    fn finish(mut self) -> Vec<Got> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().expect("follower");
        }
        std::mem::take(&mut *self.got.lock().unwrap())
    }
}

/// The broker goes away mid-scan and comes back (empty: in-memory storage); the consumer that
/// runs throughout reads every record vendorwatch counted delivered, and produced = delivered +
/// dropped: 0 dropped with the default queue, the overflow counted with a small one.
#[test]
fn broker_outage_mid_scan_is_counted_exactly() {
    let bin = tansu_or_skip!("broker_outage_mid_scan_is_counted_exactly");
    let dir = temp_dir("outage");
    // tansu's in-memory storage forgets the idempotent producer's state with the log (a Kafka
    // broker keeps it in the log): after the restart it answers UNKNOWN_PRODUCER_ID and
    // librdkafka keeps retrying until the drain time ends. So the default-queue case runs
    // without idempotence and must lose nothing; the idempotent case, with a queue of 1000,
    // must still count every record exactly.
    for (queue, outage_packets) in [(None, 3000u32), (Some("1000"), 3000)] {
        let mut broker = Broker::start(&bin, None, free_port(), &dir.path().join("broker.log"));
        let topic = "outage";
        broker.create_topic(topic);
        let follower = Follower::start(&broker.brokers(), topic);
        let metrics = free_port();
        let listen = format!("127.0.0.1:{metrics}");
        let eve = dir.path().join("outage.json");
        let _ = std::fs::remove_file(&eve);
        let brokers = broker.brokers();
        let mut args = vec![
            "--kafka",
            &brokers,
            "--kafka-topic",
            topic,
            "--sink-drain",
            if queue.is_none() { "30" } else { "5" },
            "--metrics-listen",
            &listen,
            "--eve",
            path(&eve),
        ];
        match queue {
            Some(q) => args.extend(["--kafka-queue", q]),
            None => args.extend(["--kafka-option", "enable.idempotence=false"]),
        }
        args.extend(["--suppress-window", "0", "--workers", "1"]);
        // Four hosts: four keys.
        let mut scan = PipeScan::start(&args, |i| [10, 1, 0, (i % 4) as u8 + 11]);
        scan.send(300);
        wait_for("300 records read", Duration::from_secs(30), || {
            follower.count() == 300
        });
        // Everything is acknowledged before the broker goes: nothing in flight is lost
        // with its memory.
        wait_for("300 delivered", Duration::from_secs(10), || {
            scrape(Net::Host, metrics).is_some_and(|b| {
                metric(
                    &b,
                    &format!(
                        "vendorwatch_output_records_total{{output=\"kafka {brokers} {topic}\",state=\"delivered\"}}"
                    ),
                ) == Some(300)
            })
        });
        follower.paused.store(true, Ordering::Relaxed);
        broker.down();
        scan.send(outage_packets);
        std::thread::sleep(Duration::from_secs(2));
        let body = scrape(Net::Host, metrics).unwrap_or_default();
        let state = |s: &str| {
            metric(
                &body,
                &format!(
                    "vendorwatch_output_records_total{{output=\"kafka {brokers} {topic}\",state=\"{s}\"}}"
                ),
            )
        };
        eprintln!(
            "during the outage: produced {:?}, delivered {:?}, dropped {:?}",
            state("produced"),
            state("delivered"),
            state("dropped")
        );
        assert_eq!(state("produced"), Some(300 + u64::from(outage_packets)));
        broker.up();
        broker.create_topic(topic);
        follower.paused.store(false, Ordering::Relaxed);
        scan.send(300);
        let stderr = scan.finish();
        let (produced, delivered, dropped) = kafka_summary(&stderr);
        let produced_want = 600 + u64::from(outage_packets);
        assert_eq!(produced, produced_want, "{stderr}");
        assert_eq!(produced, delivered + dropped);
        wait_for(
            "every delivered record read",
            Duration::from_secs(30),
            || follower.count() as u64 >= delivered,
        );
        std::thread::sleep(Duration::from_millis(500));
        let got = follower.finish();
        eprintln!(
            "queue {}: produced {produced}, delivered {delivered}, dropped {dropped}, read {}",
            queue.unwrap_or("default"),
            got.len()
        );
        assert_eq!(got.len() as u64, delivered, "{}", broker.log_text());
        match queue {
            None => assert_eq!(dropped, 0, "the default queue holds the outage"),
            Some(_) => assert!(
                dropped >= u64::from(outage_packets) - 1000,
                "a queue of 1000 overflows: {dropped}"
            ),
        }
        // What arrived is what the EVE file has, less what was dropped; each host's records
        // in order.
        let eve = lines(&eve);
        assert_eq!(eve.len() as u64, produced);
        if dropped == 0 {
            check_arrived(&eve, &got);
        }
        broker.down();
    }
}

/// `live` in a network namespace with two workers: every record it writes (DNS lookups by
/// `dig` through a real resolver, matched and not) arrives in the topic, in order per host,
/// with the machine's host name as the sensor name (the default for `live`).
#[test]
fn live_namespace_records_arrive_whole_and_in_order() {
    const NAME: &str = "live_namespace_records_arrive_whole_and_in_order";
    let bin = tansu_or_skip!(NAME);
    if !is_root() {
        eprintln!("SKIP {NAME}: not root");
        return;
    }
    if let Some(tool) = missing(&["ip", "dig", "dnsmasq"]) {
        eprintln!("SKIP {NAME}: {tool} not installed (.ci/run installs it)");
        return;
    }
    let id = unique("");
    let mut lab = Lab::new(&format!("kafka-{id}"));
    let (client, server) = (format!("vwkc{id}"), format!("vwks{id}"));
    let iface = format!("vwK{id}");
    let setup = lab
        .netns(&client)
        .and_then(|()| lab.netns(&server))
        .and_then(|()| {
            lab.veth(
                (&client, &iface, "10.253.1.1/24"),
                (&server, &format!("vwKS{id}"), "10.253.1.2/24"),
            )
        })
        .and_then(|()| lab.resolver(&server, "10.253.1.2", "10.253.1.2"));
    if let Err(e) = setup {
        eprintln!("SKIP {NAME}: namespace setup failed: {e}");
        return;
    }
    let mut broker = Broker::start(&bin, Some(&client), 9092, &lab.dir.join("broker.log"));
    broker.create_topic("live");
    let eve = lab.dir.join("eve.json");
    let mut vw = lab.vendorwatch_in(
        &client,
        &[
            "live",
            "-i",
            &iface,
            "--workers",
            "2",
            "--log",
            "all",
            "--suppress-window",
            "0",
            "--eve",
            path(&eve),
            "--kafka",
            &broker.brokers(),
            "--kafka-topic",
            "live",
        ],
    );
    vw.expect_capturing("vendorwatch");
    let names = [
        "dnl-01.geo.kaspersky.com",
        "ksn-a.kaspersky-labs.com",
        "www.example.org",
        "s01.upd.kaspersky.com",
    ];
    for round in 0..5 {
        for name in names {
            let out = run_in(
                &client,
                &["dig", "+short", "+time=2", "+tries=2", "@10.253.1.2", name],
            )
            .unwrap_or_else(|e| panic!("dig {name} (round {round}): {e}"));
            assert!(out.contains("10.253.1.2"), "{name}: {out}");
        }
    }
    let alerts = || {
        lines(&eve)
            .iter()
            .filter(|l| l.contains("\"event_type\":\"alert\""))
            .count()
    };
    assert!(
        poll(Duration::from_secs(15), || alerts() >= 15),
        "alerts in the EVE file: {}",
        alerts()
    );
    signal(vw.pid, libc::SIGTERM);
    assert!(
        lab.wait_exit(vw.pid, Duration::from_secs(30))
            .is_some_and(|s| s.success()),
        "vendorwatch did not exit cleanly:\n{}",
        vw.stderr.text()
    );
    let (produced, delivered, dropped) = kafka_summary(&vw.stderr.text());
    let eve = lines(&eve);
    assert_eq!(
        (produced, delivered, dropped),
        (eve.len() as u64, eve.len() as u64, 0)
    );
    let got = read_all(Some(&client), &broker.brokers(), "live");
    let n = check_arrived(&eve, &got);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    for g in &got {
        let r: Value = serde_json::from_str(&g.payload).expect("JSON");
        assert_eq!(r["host"].as_str(), Some(host.as_str()), "{r}");
    }
    eprintln!("live: {n} records in the topic, as in the EVE file, each with host {host:?}");
    broker.down();
}

/// Two sensors write into one topic (two captures sharing hosts); `report --kafka` makes one
/// inventory where a host both saw is one row naming both, with their interfaces. With
/// `--group` a report reads from the group's committed offsets: the second reads only what
/// was written since.
#[test]
fn two_sensors_one_topic_one_inventory() {
    let bin = tansu_or_skip!("two_sensors_one_topic_one_inventory");
    let dir = temp_dir("fleet");
    let mut broker = Broker::start(&bin, None, free_port(), &dir.path().join("broker.log"));
    broker.create_topic("fleet");
    let pcaps = common::repo().join("pcaps");
    let (dns, tls) = (
        pcaps.join("kaspersky-dns.pcap"),
        pcaps.join("kaspersky-tls.pcapng"),
    );
    let brokers = broker.brokers();
    let scan = |sensor: &str, iface: &str, inputs: &[&Path]| {
        let mut args = vec![
            "scan",
            "--sensor-name",
            sensor,
            "--in-iface",
            iface,
            "--kafka",
            &brokers,
            "--kafka-topic",
            "fleet",
        ];
        args.extend(inputs.iter().map(|p| path(p)));
        let run = common::vendorwatch(&args);
        assert!(matches!(run.code(), Some(0 | 1)), "{}", run.stderr());
        let (produced, delivered, dropped) = kafka_summary(&run.stderr());
        assert_eq!((delivered, dropped), (produced, 0));
    };
    scan("a", "eth0", &[&dns]);
    scan("b", "eth1", &[&dns, &tls]);
    let report = |group: Option<&str>| -> Value {
        let mut args = vec![
            "report",
            "--kafka",
            &brokers,
            "--kafka-topic",
            "fleet",
            "--format",
            "json",
        ];
        if let Some(g) = group {
            args.extend(["--group", g]);
        }
        let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
            .args(&args)
            .output()
            .expect("report");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("JSON report")
    };
    let sensors_of = |doc: &Value| -> BTreeMap<String, Vec<String>> {
        doc["hosts"]
            .as_array()
            .expect("hosts")
            .iter()
            .map(|h| {
                let s = h["sensors"]
                    .as_array()
                    .expect("sensors")
                    .iter()
                    .map(|s| format!("{} {}", s["name"].as_str().unwrap_or(""), s["interfaces"]))
                    .collect();
                (h["host"].as_str().unwrap_or("").to_string(), s)
            })
            .collect()
    };
    let all = sensors_of(&report(None));
    eprintln!("fleet report: {all:?}");
    let both = vec!["a [\"eth0\"]".to_string(), "b [\"eth1\"]".to_string()];
    let only_b = vec!["b [\"eth1\"]".to_string()];
    // Hosts of the DNS capture were seen by both sensors, those of the TLS capture by b.
    assert_eq!(all.get("10.1.0.11"), Some(&both), "{all:?}");
    assert_eq!(all.get("10.2.0.11"), Some(&only_b), "{all:?}");
    assert!(all.values().all(|s| *s == both || *s == only_b), "{all:?}");
    assert!(all.values().filter(|s| **s == both).count() >= 5, "{all:?}");

    // A group reads everything once, then only what is new.
    let first = report(Some("soc"));
    assert_eq!(sensors_of(&first), all);
    assert_eq!(report(Some("soc"))["alert_records"], 0);
    scan("c", "eth9", &[&tls]);
    let third = sensors_of(&report(Some("soc")));
    assert!(!third.is_empty());
    assert!(
        third
            .values()
            .all(|s| *s == vec!["c [\"eth9\"]".to_string()]),
        "{third:?}"
    );
    broker.down();
}
