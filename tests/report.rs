//! `vendorwatch report` and `scan --report`: content of every format, and the HTML rendered by
//! headless Chromium (skipped with a printed reason when `chromium` is absent).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vendorwatch-report-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// Hosts that alerted in pcaps/, from the EVE records themselves.
fn expected_hosts(records: &[serde_json::Value]) -> Vec<String> {
    let mut hosts: Vec<String> = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            let key = if r["dns"]["type"] == "response" {
                "dest_ip"
            } else {
                "src_ip"
            };
            r[key].as_str().unwrap().to_string()
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Run the binary without parsing stdout as EVE.
fn raw(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(common::repo())
        .output()
        .expect("run vendorwatch")
}

#[test]
fn report_formats_from_scan_and_from_eve_files() {
    let dir = temp_dir("formats");
    let eve = dir.join("eve.json");
    let html = dir.join("hosts.html");
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--eve",
        &eve.to_string_lossy(),
        "--report",
        &html.to_string_lossy(),
        "pcaps/",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let records = common::parse_lines(&std::fs::read(&eve).unwrap());
    let hosts = expected_hosts(&records);
    assert!(hosts.len() >= 10, "{hosts:?}");

    // JSON from the EVE file: every host, counts summing to the alerts, most recent first.
    let json = raw(&["report", "--format", "json", &eve.to_string_lossy()]);
    assert!(json.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = doc["hosts"].as_array().unwrap();
    let mut got: Vec<String> = rows
        .iter()
        .map(|h| h["host"].as_str().unwrap().to_string())
        .collect();
    let lasts: Vec<&str> = rows
        .iter()
        .map(|h| h["last_seen"].as_str().unwrap())
        .collect();
    assert!(
        lasts.windows(2).all(|w| w[0] >= w[1]),
        "not most recent first: {lasts:?}"
    );
    got.sort();
    assert_eq!(got, hosts);
    let total: u64 = rows.iter().map(|h| h["count"].as_u64().unwrap()).sum();
    assert_eq!(
        total as usize,
        records
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .count()
    );
    // Kaspersky hosts, after the cut-off its pack names; plus one host per Covered List
    // vendor from covered-vendors.pcap, whose packs name no cut-off ("after" does not apply).
    assert!(rows.iter().all(|h| {
        let vendor = h["vendors"][0].as_str().unwrap_or("");
        (vendor == "Kaspersky" && h["seen_after_cutoff"] == true)
            || (h["host"].as_str().is_some_and(|a| a.starts_with("10.77."))
                && h["seen_after_cutoff"].is_null())
    }));
    assert_eq!(
        doc["cutoffs"],
        serde_json::json!({"Kaspersky": "2024-09-29"})
    );
    let h = rows
        .iter()
        .find(|h| h["host"] == "10.1.0.14")
        .expect("10.1.0.14");
    assert_eq!(h["channels"], serde_json::json!(["activation", "update"]));

    // CSV and text.
    let csv = raw(&["report", "--format", "csv", &eve.to_string_lossy()]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert!(csv.starts_with("host,vendors,channels,rules,names,first_seen,last_seen,"));
    assert_eq!(csv.lines().count(), hosts.len() + 1);
    let out = dir.join("hosts.txt");
    let text = common::vendorwatch(&[
        "report",
        &eve.to_string_lossy(),
        "-o",
        &out.to_string_lossy(),
    ]);
    assert_eq!(text.code(), Some(0));
    let text = std::fs::read_to_string(&out).unwrap();
    for host in &hosts {
        assert!(
            text.contains(host.as_str()),
            "{host} missing from text report"
        );
    }

    // HTML written by scan --report: self-contained, every host, one SVG timeline per host.
    let page = std::fs::read_to_string(&html).unwrap();
    for host in &hosts {
        assert!(
            page.contains(&format!("<td>{host}</td>")),
            "{host} missing from HTML"
        );
    }
    assert_eq!(page.matches("<svg").count(), hosts.len());
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("@import")
    );
    chromium_check(&html, &hosts, &dir);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Headless Chromium: the page renders (a non-trivial PNG) and, after its script ran, the DOM
/// holds every host and the sortable marker the script sets.
fn chromium_check(html: &Path, hosts: &[String], dir: &Path) {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        eprintln!("SKIP chromium check: no chromium/chromium-browser/google-chrome on PATH");
        return;
    };
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let png = dir.join("shot.png");
    let common_args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
    ];
    let shot = Command::new(chromium)
        .args(common_args)
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1600,1200")
        .arg(&url)
        .output()
        .expect("run chromium");
    let meta = std::fs::metadata(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // A blank 1600x1200 page compresses to a few kB; the table is far larger.
    assert!(
        meta.len() > 20_000,
        "screenshot too small: {} bytes",
        meta.len()
    );
    eprintln!(
        "chromium screenshot: {} bytes at {}",
        meta.len(),
        png.display()
    );
    let dom = Command::new(chromium)
        .args(common_args)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("data-sortable=\"ready\""),
        "script did not run"
    );
    for host in hosts {
        assert!(
            dom.contains(host.as_str()),
            "{host} missing from rendered DOM"
        );
    }
}

/// The report finds the same hosts from DNS v2 alert records as from v3 ones.
#[test]
fn report_reads_dns_v2_alerts() {
    let dir = temp_dir("v2");
    let mut hosts = Vec::new();
    for version in ["3", "2"] {
        let eve = dir.join(format!("eve-v{version}.json"));
        let run = common::vendorwatch(&[
            "scan",
            "--quiet",
            "--eve-dns-version",
            version,
            "--eve",
            &eve.to_string_lossy(),
            "pcaps/",
        ]);
        assert_eq!(run.code(), Some(0));
        let out = raw(&["report", "--format", "csv", &eve.to_string_lossy()]);
        hosts.push(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(hosts[0], hosts[1]);
    let _ = std::fs::remove_dir_all(&dir);
}
