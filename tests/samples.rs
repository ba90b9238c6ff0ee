//! End-to-end runs of `vendorwatch scan` on the sample captures in `pcaps/`, checked against
//! `pcaps/EXPECTED.tsv` (written by `examples/gen-samples.rs`, cross-checked with tshark).
//!
//! EXPECTED.tsv: lines starting with `#` are comments; columns are
//! `file  frame  kind  name  should_alert  note  vendor`, where kind is `dns-query`,
//! `dns-answer-cname`, `dns-answer-a`, `tls-sni`, `http-host`, `http-user-agent` or `payload`
//! (the last three are checked by `tests/covered_vendors.rs`), vendor is a pack id or `-`, `name` is spelled as on the wire, and `note` is `-` or
//! `out-of-scope:...` for a name that must be neither alerted on nor logged (mDNS on 5353).
//! The expected results are read at test time, never hard-coded here.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The generator itself, compiled as a module, for the determinism test.
#[allow(dead_code, clippy::all)]
#[path = "../examples/gen-samples.rs"]
mod gen_samples;

const BIN: &str = env!("CARGO_BIN_EXE_vendorwatch");

fn pcaps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps")
}

#[derive(Debug, Clone)]
struct Row {
    file: String,
    frame: usize,
    kind: String,
    /// As on the wire (may be mixed case).
    name: String,
    should_alert: bool,
    out_of_scope: bool,
}

fn expected() -> Vec<Row> {
    let path = pcaps_dir().join("EXPECTED.tsv");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            f.len() >= 5,
            "EXPECTED.tsv:{}: want at least 5 tab-separated fields: {line:?}",
            i + 1
        );
        rows.push(Row {
            file: f[0].to_string(),
            frame: f[1]
                .parse()
                .unwrap_or_else(|_| panic!("EXPECTED.tsv:{}: bad frame {:?}", i + 1, f[1])),
            kind: f[2].to_string(),
            name: f[3].to_string(),
            should_alert: match f[4] {
                "yes" => true,
                "no" => false,
                other => panic!(
                    "EXPECTED.tsv:{}: should_alert must be yes/no, not {other:?}",
                    i + 1
                ),
            },
            out_of_scope: f.get(5).is_some_and(|n| n.starts_with("out-of-scope")),
        });
    }
    assert!(!rows.is_empty(), "EXPECTED.tsv has no rows");
    rows
}

/// Capture files named in EXPECTED.tsv, in first-seen order.
fn sample_files(rows: &[Row]) -> Vec<String> {
    let mut files: Vec<String> = Vec::new();
    for r in rows {
        if !files.contains(&r.file) {
            files.push(r.file.clone());
        }
    }
    files
}

/// Runs `vendorwatch scan ARGS...` (stdin from `stdin_file` if given), asserts exit status 0 and
/// returns the EVE records written to stdout.
fn scan(args: &[&str], stdin_file: Option<&Path>) -> Vec<Value> {
    let mut cmd = Command::new(BIN);
    cmd.arg("scan")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd.stdin(match stdin_file {
        Some(p) => {
            Stdio::from(fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        }
        None => Stdio::null(),
    });
    let out = cmd.output().expect("run vendorwatch");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "vendorwatch scan {args:?} exited with {}; stderr:\n{stderr}",
        out.status
    );
    let stdout = String::from_utf8(out.stdout).expect("EVE output is UTF-8");
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {l}"))
        })
        .collect()
}

fn path_str(file: &str) -> String {
    pcaps_dir().join(file).to_string_lossy().into_owned()
}

fn event_type(v: &Value) -> &str {
    v["event_type"].as_str().unwrap_or("")
}

/// A metadata value as a list of strings (EVE metadata values are arrays; accept a bare string).
fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        Value::String(s) => vec![s.clone()],
        _ => Vec::new(),
    }
}

fn alerts(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| event_type(e) == "alert").collect()
}

/// (matched_name, observation) of every alert, sorted: a comparable summary of a run.
fn alert_summary(events: &[Value]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = alerts(events)
        .iter()
        .map(|a| {
            let md = &a["alert"]["metadata"];
            (
                strs(&md["matched_name"]).join(","),
                strs(&md["observation"]).join(","),
            )
        })
        .collect();
    v.sort();
    v
}

fn check_alert_fields(file: &str, a: &Value, failures: &mut Vec<String>) {
    // A payload (UDP/TCP port plus prefix) alert has no application protocol.
    let payload = strs(&a["alert"]["metadata"]["observation"]) == ["payload"];
    for key in ["src_ip", "dest_ip", "proto", "app_proto"] {
        if payload && key == "app_proto" {
            continue;
        }
        if !a[key].is_string() {
            failures.push(format!("{file}: alert without string `{key}`: {a}"));
        }
    }
    if !a["alert"]["signature_id"].is_u64() {
        failures.push(format!(
            "{file}: alert without numeric alert.signature_id: {a}"
        ));
    }
    let md = &a["alert"]["metadata"];
    if strs(&md["matched_name"]).len() != 1 {
        failures.push(format!(
            "{file}: alert.metadata.matched_name is not an array of one string: {a}"
        ));
    }
    if strs(&md["channel"]).is_empty() {
        failures.push(format!(
            "{file}: alert.metadata.channel missing or empty: {a}"
        ));
    }
}

fn report(what: &str, failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{what}: {} problem(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

/// (a) Every should_alert=yes dns-query / tls-sni row has an alert for its lowercased name with
/// the right observation and app_proto; no alert names a should_alert=no name of the same file.
#[test]
fn alerts_match_expected_rows() {
    let rows = expected();
    let mut failures = Vec::new();
    for file in sample_files(&rows) {
        let events = scan(&[&path_str(&file)], None);
        let alerts = alerts(&events);
        for a in &alerts {
            check_alert_fields(&file, a, &mut failures);
        }
        let in_file: Vec<&Row> = rows.iter().filter(|r| r.file == file).collect();
        for r in in_file.iter().filter(|r| r.should_alert) {
            let (obs, proto) = match r.kind.as_str() {
                "dns-query" => ("dns-query", "dns"),
                "tls-sni" => ("tls-sni", "tls"),
                _ => continue,
            };
            let want = r.name.to_ascii_lowercase();
            let hit = alerts.iter().any(|a| {
                let md = &a["alert"]["metadata"];
                strs(&md["matched_name"]).contains(&want)
                    && strs(&md["observation"]).iter().any(|o| o == obs)
                    && a["app_proto"].as_str() == Some(proto)
            });
            if !hit {
                failures.push(format!("{file} frame {}: no {proto} alert with matched_name {want:?}, observation {obs:?}", r.frame));
            }
        }
        let yes: BTreeSet<String> = in_file
            .iter()
            .filter(|r| r.should_alert)
            .map(|r| r.name.to_ascii_lowercase())
            .collect();
        let no: BTreeSet<String> = in_file
            .iter()
            .filter(|r| !r.should_alert)
            .map(|r| r.name.to_ascii_lowercase())
            .filter(|n| !yes.contains(n))
            .collect();
        for a in &alerts {
            for n in strs(&a["alert"]["metadata"]["matched_name"]) {
                if no.contains(&n.to_ascii_lowercase()) {
                    failures.push(format!(
                        "{file}: alert on decoy/out-of-scope name {n:?}: {a}"
                    ));
                }
            }
        }
    }
    report("alerts vs EXPECTED.tsv", failures);
}

/// Names logged by `--log dns,tls`: DNS question names, DNS answers (rrname, rrtype, rdata), SNIs.
#[derive(Default)]
struct Logged {
    dns_queries: BTreeSet<String>,
    dns_answers: BTreeSet<(String, String, String)>,
    sni: BTreeSet<String>,
}

fn logged(events: &[Value]) -> Logged {
    let mut l = Logged::default();
    for e in events {
        match event_type(e) {
            "dns" => {
                let d = &e["dns"];
                // Suricata 8 (version 3) writes `queries[]`; version 2 a top-level `rrname`.
                if let Some(q) = d["queries"].as_array() {
                    l.dns_queries.extend(
                        q.iter()
                            .filter_map(|q| q["rrname"].as_str().map(str::to_string)),
                    );
                }
                if let Some(n) = d["rrname"].as_str() {
                    l.dns_queries.insert(n.to_string());
                }
                if let Some(ans) = d["answers"].as_array() {
                    for a in ans {
                        let s = |k: &str| a[k].as_str().unwrap_or("").to_string();
                        l.dns_answers.insert((s("rrname"), s("rrtype"), s("rdata")));
                    }
                }
            }
            "tls" => {
                if let Some(s) = e["tls"]["sni"].as_str() {
                    l.sni.insert(s.to_string());
                }
            }
            _ => {}
        }
    }
    l
}

/// (b) With `--log dns,tls`, every dns-query and tls-sni row is logged with its on-the-wire
/// spelling, and out-of-scope names (mDNS) are not logged at all.
#[test]
fn logged_names_match_expected_rows() {
    let rows = expected();
    let mut failures = Vec::new();
    for file in sample_files(&rows) {
        let l = logged(&scan(&["--log", "dns,tls", &path_str(&file)], None));
        for r in rows.iter().filter(|r| r.file == file) {
            let set = match r.kind.as_str() {
                "dns-query" => &l.dns_queries,
                "tls-sni" => &l.sni,
                _ => continue,
            };
            match (r.out_of_scope, set.contains(&r.name)) {
                (false, false) => failures.push(format!(
                    "{file} frame {}: {} {:?} not logged",
                    r.frame, r.kind, r.name
                )),
                (true, true) => failures.push(format!(
                    "{file} frame {}: out-of-scope {} {:?} was logged",
                    r.frame, r.kind, r.name
                )),
                _ => {}
            }
        }
    }
    report("--log dns,tls vs EXPECTED.tsv", failures);
}

/// (b') With `--log dns`, every CNAME target appears as the rdata of a logged CNAME answer and
/// every A/AAAA owner as the rrname of a logged A/AAAA answer (spelling as on the wire).
#[test]
fn logged_dns_answers_match_expected_rows() {
    let rows = expected();
    let mut failures = Vec::new();
    for file in sample_files(&rows) {
        let l = logged(&scan(&["--log", "dns,tls", &path_str(&file)], None));
        for r in rows.iter().filter(|r| r.file == file && !r.out_of_scope) {
            let found = match r.kind.as_str() {
                "dns-answer-cname" => l
                    .dns_answers
                    .iter()
                    .any(|(_, t, d)| t == "CNAME" && *d == r.name),
                "dns-answer-a" => l
                    .dns_answers
                    .iter()
                    .any(|(n, t, _)| (t == "A" || t == "AAAA") && *n == r.name),
                _ => continue,
            };
            if !found {
                failures.push(format!(
                    "{file} frame {}: {} {:?} not among logged answers",
                    r.frame, r.kind, r.name
                ));
            }
        }
    }
    report("logged DNS answers vs EXPECTED.tsv", failures);
}

/// (c) `scan pcaps/` gives the same alerts as scanning the capture files one by one. The sample
/// files use disjoint client addresses and names, so suppression cannot merge alerts across
/// files. (pcaps/ also holds README.md and EXPECTED.tsv: a directory scan must skip them.)
#[test]
fn directory_scan_matches_per_file_scans() {
    let rows = expected();
    let mut one_by_one = Vec::new();
    for file in sample_files(&rows) {
        one_by_one.extend(alert_summary(&scan(&[&path_str(&file)], None)));
    }
    one_by_one.sort();
    let dir = pcaps_dir().to_string_lossy().into_owned();
    let whole = alert_summary(&scan(&[&dir], None));
    assert!(
        !one_by_one.is_empty(),
        "no alerts at all from the sample files"
    );
    assert_eq!(
        whole.len(),
        one_by_one.len(),
        "alert count: `scan pcaps/` vs the files one by one"
    );
    assert_eq!(
        whole, one_by_one,
        "alerts (matched_name, observation): `scan pcaps/` vs one by one"
    );
}

/// (d) `scan -` reads a capture (pcap or pcapng) from stdin and gives the same alerts.
#[test]
fn stdin_input_matches_file_input() {
    let rows = expected();
    for file in sample_files(&rows) {
        let path = pcaps_dir().join(&file);
        let from_file = alert_summary(&scan(&[&path_str(&file)], None));
        let planted = rows.iter().any(|r| r.file == file && r.should_alert);
        assert!(
            !planted || !from_file.is_empty(),
            "{file}: no alerts from `scan file`, nothing to compare"
        );
        let from_stdin = alert_summary(&scan(&["-"], Some(&path)));
        assert_eq!(
            from_stdin, from_file,
            "{file}: `scan -` < file vs `scan file`"
        );
    }
}

/// (e) The generator is deterministic and pcaps/ is what it writes now: regenerate into a
/// temporary directory and compare byte for byte. Needs no vendorwatch binary.
#[test]
fn generator_output_matches_committed_pcaps() {
    let tmp = std::env::temp_dir().join(format!("vendorwatch-gen-samples-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let names = gen_samples::generate(&tmp).expect("generate samples");
    let again = tmp.join("again");
    gen_samples::generate(&again).expect("generate samples again");
    let mut stale = Vec::new();
    for name in &names {
        let fresh = fs::read(tmp.join(name)).expect("read generated file");
        if fs::read(again.join(name)).ok().as_ref() != Some(&fresh) {
            stale.push(format!("{name}: two runs of the generator differ"));
        }
        match fs::read(pcaps_dir().join(name)) {
            Ok(committed) if committed == fresh => {}
            Ok(_) => stale.push(format!("pcaps/{name} differs from the generator's output")),
            Err(e) => stale.push(format!("pcaps/{name}: {e}")),
        }
    }
    let _ = fs::remove_dir_all(&tmp);
    assert!(
        stale.is_empty(),
        "{}\nregenerate with `cargo run --example gen-samples -- pcaps/` and commit",
        stale.join("\n")
    );
}
