//! `scan --workers 2` together with the outputs that used to force one worker (`--redis`,
//! `--report`, `--metrics-listen`): it must run with two workers (no fallback warning) and
//! give exactly what `--workers 1` gives: the same EVE records, the same Redis list, the same
//! report, the same final counters. Only the order of records may differ (records of
//! different flows interleave differently with several workers), so records are compared as
//! sorted multisets of JSON values.
//!
//! redis-server is started by the test on loopback (a random free port, a temporary
//! directory), as `tests/sinks.rs` does; the test skips with a printed reason without it.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::servers::{Net, find_tool, free_port, redis_lrange, redis_start, scrape, series, stop};
use serde_json::Value;

/// Sample captures that alert (DNS, TLS over three link types, IPv6, VLAN, the covered
/// vendors' names, payloads and User-Agents).
const INPUTS: [&str; 4] = [
    "pcaps/kaspersky-dns.pcap",
    "pcaps/kaspersky-tls.pcapng",
    "pcaps/loopback-mixed.pcap",
    "pcaps/covered-vendors.pcap",
];

/// Counter families whose final values cannot depend on the number of workers.
const COMPARED_METRICS: [&str; 9] = [
    "vendorwatch_files_total",
    "vendorwatch_packets_total",
    "vendorwatch_bytes_total",
    "vendorwatch_dns_messages_total",
    "vendorwatch_tls_client_hellos_total",
    "vendorwatch_http_requests_total",
    "vendorwatch_alerts_total",
    "vendorwatch_records_total",
    "vendorwatch_output_records_total",
];

/// What one scan produced.
struct Outcome {
    status: Option<i32>,
    stderr: String,
    /// EVE lines of the `--eve` file.
    eve: Vec<String>,
    /// The Redis list, in arrival order.
    redis: Vec<String>,
    /// The `--report` file, parsed.
    report: Value,
    /// The last successful scrape of /metrics (taken during `--metrics-linger`, after the
    /// scan ended and the outputs were drained).
    metrics: String,
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-scan-workers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn scan(workers: usize, dir: &Path, redis_port: u16) -> Outcome {
    let eve = dir.join(format!("eve-{workers}.json"));
    let report = dir.join(format!("report-{workers}.json"));
    let key = format!("K{workers}");
    let metrics_port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .current_dir(common::repo())
        .arg("scan")
        .args(["--workers", &workers.to_string()])
        .args(["--suppress-window", "0"])
        .arg("--eve")
        .arg(&eve)
        .args(["--redis", &format!("redis://127.0.0.1:{redis_port}/0")])
        .args(["--redis-key", &key])
        .arg("--report")
        .arg(&report)
        .args(["--metrics-listen", &format!("127.0.0.1:{metrics_port}")])
        .args(["--metrics-linger", "2"])
        .args(INPUTS)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vendorwatch scan");
    let mut stderr_pipe = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });
    // Scrape until the process ends; the last answer comes from the linger time.
    let mut last = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("scan --workers {workers} did not end within 60 s");
        }
        if let Some(body) = scrape(Net::Host, metrics_port) {
            last = body;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = reader.join().expect("stderr reader");
    eprintln!("--- scan --workers {workers} stderr:\n{stderr}");
    let eve_lines: Vec<String> = std::fs::read_to_string(&eve)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let redis = redis_lrange(Net::Host, redis_port, &key).expect("LRANGE");
    let report = std::fs::read_to_string(&report)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    Outcome {
        status: status.code(),
        stderr,
        eve: eve_lines,
        redis,
        report,
        metrics: last,
    }
}

/// Lines as JSON values, sorted by their text (the order of records is all that may differ).
fn sorted_values(lines: &[String]) -> Vec<Value> {
    let mut values: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect();
    values.sort_by_cached_key(|v| v.to_string());
    values
}

/// What is in `a` and not in `b`, counting repeats (for readable failures).
fn only_in(a: &[Value], b: &[Value]) -> Vec<String> {
    let mut rest: Vec<&Value> = b.iter().collect();
    let mut out = Vec::new();
    for v in a {
        match rest.iter().position(|w| *w == v) {
            Some(i) => {
                rest.swap_remove(i);
            }
            None => out.push(v.to_string()),
        }
    }
    out
}

fn compare_records(what: &str, one: &[Value], two: &[Value], failures: &mut Vec<String>) {
    if one != two {
        failures.push(format!(
            "{what}: --workers 1 gave {} record(s), --workers 2 gave {}\n  only with 1 worker: {:#?}\n  only with 2 workers: {:#?}",
            one.len(),
            two.len(),
            only_in(one, two),
            only_in(two, one)
        ));
    }
}

/// The compared counter series of a scrape, sorted. The Redis output's label names its key,
/// which differs between the runs on purpose (`K1`, `K2`): it is written as `KEY`.
fn final_counters(body: &str, key: &str) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = COMPARED_METRICS
        .iter()
        .flat_map(|name| series(body, name))
        .map(|(k, v)| (k.replace(&format!(" {key}\""), " KEY\""), v))
        .collect();
    out.sort();
    out
}

#[test]
fn two_workers_with_redis_report_and_metrics_match_one_worker() {
    let Some(bin) = find_tool(&["redis-server"]) else {
        eprintln!(
            "SKIP scan_workers_outputs: redis-server not installed (apt-get install redis-server)"
        );
        return;
    };
    let dir = temp_dir();
    let redis_port = free_port();
    let mut server = redis_start(Net::Host, &bin, &dir, redis_port);

    let one = scan(1, &dir, redis_port);
    let two = scan(2, &dir, redis_port);
    stop(&mut server.0);
    let _ = std::fs::remove_dir_all(&dir);

    // Every difference is collected, so one run of the test shows all of them.
    let mut failures: Vec<String> = Vec::new();
    for (n, o) in [(1, &one), (2, &two)] {
        if o.status != Some(0) {
            failures.push(format!("--workers {n}: exit status {:?}", o.status));
        }
        // The old fallback said "--workers: --syslog, --redis, --report and --metrics-listen
        // run with one worker".
        let fallback: Vec<&str> = o
            .stderr
            .lines()
            .filter(|l| l.contains("run with one worker"))
            .collect();
        if !fallback.is_empty() {
            failures.push(format!(
                "--workers {n}: fell back to one worker: {fallback:?}"
            ));
        }
        // Every record went to Redis as to the EVE file.
        let (eve, redis) = (sorted_values(&o.eve), sorted_values(&o.redis));
        compare_records(
            &format!("--workers {n}: EVE file vs Redis list"),
            &eve,
            &redis,
            &mut failures,
        );
        if o.metrics.is_empty() {
            failures.push(format!("--workers {n}: /metrics never answered"));
        }
    }
    let (eve1, eve2) = (sorted_values(&one.eve), sorted_values(&two.eve));
    assert!(
        eve1.iter().filter(|r| r["event_type"] == "alert").count() >= 20,
        "the inputs should give many alerts with one worker; got {} records:\n{}",
        eve1.len(),
        one.stderr
    );
    compare_records("EVE records", &eve1, &eve2, &mut failures);
    compare_records(
        "Redis list",
        &sorted_values(&one.redis),
        &sorted_values(&two.redis),
        &mut failures,
    );
    // The report has no field that may legitimately differ (no generation time; hosts are
    // sorted by last-seen time, then address), so the whole documents are compared.
    if one.report.is_null() {
        failures.push("--workers 1: no parsable report file".into());
    } else if one.report["hosts"].as_array().is_none_or(|h| h.is_empty()) {
        failures.push(format!(
            "--workers 1: a report without hosts: {}",
            one.report
        ));
    }
    if one.report != two.report {
        failures.push(format!(
            "reports differ:\n--workers 1: {:#}\n--workers 2: {:#}",
            one.report, two.report
        ));
    }
    let (m1, m2) = (
        final_counters(&one.metrics, "K1"),
        final_counters(&two.metrics, "K2"),
    );
    if m1 != m2 {
        let d1: Vec<_> = m1.iter().filter(|x| !m2.contains(x)).collect();
        let d2: Vec<_> = m2.iter().filter(|x| !m1.contains(x)).collect();
        failures.push(format!(
            "final counters differ:\n  --workers 1: {d1:?}\n  --workers 2: {d2:?}"
        ));
    }
    assert!(
        failures.is_empty(),
        "{} difference(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
