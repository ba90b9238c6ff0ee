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

/// `scan --eve EVE --report REPORT pcaps/`.
fn scan_pcaps(eve: &Path, report: &Path) -> common::Run {
    common::vendorwatch(&[
        "scan",
        "--quiet",
        "--eve",
        &eve.to_string_lossy(),
        "--report",
        &report.to_string_lossy(),
        "pcaps/",
    ])
}

#[test]
fn report_formats_from_scan_and_from_eve_files() {
    let dir = temp_dir("formats");
    let eve = dir.join("eve.json");
    let html = dir.join("hosts.html");
    let run = scan_pcaps(&eve, &html);
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

    // HTML written by scan --report: self-contained, every host in its vendor's table, one
    // SVG timeline with a lane per host (few hosts), the packs and inputs in the header.
    let page = std::fs::read_to_string(&html).unwrap();
    for host in &hosts {
        assert!(
            page.contains(&format!("<tr><td>{host}</td>")),
            "{host} missing from HTML"
        );
    }
    assert_eq!(page.matches("<svg").count(), 1);
    assert_eq!(page.matches("<text class=\"lane\"").count(), hosts.len());
    assert!(page.contains("<code>kaspersky</code>") && page.contains("cut-off 2024-09-29"));
    assert!(page.contains("capture files (1): <code>pcaps/</code>"));
    assert_self_contained(&page);
    if let Some(probe) = chromium_probe(&html, &dir, "report-few.png") {
        assert_layout(&probe);
        // The pcaps are two years after Kaspersky's cut-off: the cut-off is named at the
        // axis' edge rather than squeezing three seconds of bars into a corner.
        assert_eq!(probe["cutoffLines"], 0, "{probe}");
        assert!(
            probe["cutoffLabels"][0]
                .as_str()
                .is_some_and(|l| l.contains("Kaspersky cut-off 2024-09-29")),
            "{probe}"
        );
        assert_eq!(probe["lanes"].as_u64(), Some(hosts.len() as u64));
        print_to_pdf(&html, &dir);
        assert_eq!(probe["sortable"], "ready");
        assert_eq!(probe["filtered"], 1, "{probe}");
        for host in &hosts {
            assert!(
                probe["text"].as_str().unwrap().contains(host.as_str()),
                "{host} missing from rendered DOM"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// No external script, style, font or image: the page works offline and from a mail.
fn assert_self_contained(page: &str) {
    for bad in [
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
        "<link",
        "src=\"//",
    ] {
        assert!(!page.contains(bad), "page refers outside itself: {bad}");
    }
}

/// What the probe measured at 1400 px: no header or cell past the viewport, no cell whose
/// content overflows it, no horizontal scrolling, the axis labelled with dates, the timeline
/// inside the viewport, the "after" style applied.
fn assert_layout(probe: &serde_json::Value) {
    assert_eq!(probe["viewport"], 1400, "{probe}");
    assert!(probe["tables"].as_u64().unwrap() >= 1, "{probe}");
    assert_eq!(probe["overflow"], serde_json::json!([]), "{probe}");
    assert_eq!(probe["cellOverflow"], serde_json::json!([]), "{probe}");
    assert!(
        probe["scrollWidth"].as_f64().unwrap() <= 1400.0,
        "page scrolls sideways: {probe}"
    );
    assert!(probe["svgRight"].as_f64().unwrap() <= 1400.0, "{probe}");
    let ticks: Vec<&str> = probe["ticks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert!(ticks.len() >= 3, "axis ticks: {ticks:?}");
    // Tick labels do not overlap one another.
    let boxes: Vec<(f64, f64)> = probe["tickBoxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b[0].as_f64().unwrap(), b[1].as_f64().unwrap()))
        .collect();
    assert!(
        boxes.windows(2).all(|w| w[0].1 <= w[1].0),
        "tick labels overlap: {boxes:?} {ticks:?}"
    );
    for t in &ticks {
        let b = t.as_bytes();
        assert!(
            b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[7] == b'-',
            "tick {t:?} is not a date"
        );
    }
    // The red style is really applied to the "after cut-off: yes" cells.
    if probe["afterYes"].as_u64().unwrap_or(0) > 0 {
        assert_eq!(probe["afterYesColor"], "rgb(176, 0, 32)", "{probe}");
        assert_eq!(probe["afterYesBg"], "rgb(253, 236, 238)", "{probe}");
    }
}

/// A script the test adds after the report's own: after layout it measures the page and
/// exercises sorting and filtering, then writes what it found as JSON into `<pre id=probe>`,
/// which `--dump-dom` shows.
const PROBE: &str = r#"<script>
(function(){
var vw=document.documentElement.clientWidth,r={viewport:vw,overflow:[],cellOverflow:[],tables:0};
var each=function(l,f){Array.prototype.forEach.call(l,f);};
each(document.querySelectorAll('table.hosts'),function(t){r.tables++;
 each(t.querySelectorAll('th,td'),function(c){var b=c.getBoundingClientRect();
  if(b.right>vw+0.5||b.left<-0.5){r.overflow.push(c.textContent.slice(0,40)+' right='+b.right);}
  if(c.tagName==='TD'&&c.scrollWidth>c.clientWidth+1){r.cellOverflow.push(c.textContent.slice(0,40));}
 });
});
r.scrollWidth=document.documentElement.scrollWidth;
var svg=document.getElementById('timeline');
r.svgRight=svg.getBoundingClientRect().right;
r.ticks=Array.prototype.map.call(svg.querySelectorAll('text.tick'),function(t){return t.textContent;});
r.lanes=svg.querySelectorAll('text.lane').length;
r.laneLabels=Array.prototype.map.call(svg.querySelectorAll('text.lane'),function(t){return t.textContent;});
var bars=svg.querySelectorAll('.bar'),lines=svg.querySelectorAll('line.cutoff');
r.bars=bars.length;r.cutoffLines=lines.length;
var last=bars[bars.length-1];
r.cutoffAfterBars=lines.length>0&&bars.length>0&&Array.prototype.every.call(lines,function(l){
 return (last.compareDocumentPosition(l)&Node.DOCUMENT_POSITION_FOLLOWING)!==0;});
r.cutoffLabels=Array.prototype.map.call(svg.querySelectorAll('text.cutoff-label'),function(t){return t.textContent;});
var yes=document.querySelectorAll('td.after-yes');r.afterYes=yes.length;
r.afterYesBg=yes.length?getComputedStyle(yes[0]).backgroundColor:null;
r.afterYesColor=yes.length?getComputedStyle(yes[0]).color:null;
r.tickBoxes=Array.prototype.map.call(svg.querySelectorAll('text.tick'),function(t){var b=t.getBoundingClientRect();return [b.left,b.right];});
r.summaryAfter=Array.prototype.map.call(document.querySelectorAll('[data-k=after]'),function(e){return Number(e.textContent);});
var t=document.querySelector('table.hosts'),th=t.tHead.rows[0].cells[4];
th.click();th.click();
r.countsAfterSort=Array.prototype.map.call(t.tBodies[0].rows,function(x){return Number(x.cells[4].dataset.v);});
var bar=document.querySelector('.filterbar'),inp=bar.querySelector('input');
r.filterShown=!bar.hidden;
inp.value=t.tBodies[0].rows[0].cells[0].textContent;inp.dispatchEvent(new Event('input'));
r.filtered=Array.prototype.filter.call(t.tBodies[0].rows,function(x){return !x.hidden;}).length;
inp.value='';inp.dispatchEvent(new Event('input'));
r.sortable=document.body.getAttribute('data-sortable');
r.text=document.body.textContent;
var pre=document.createElement('pre');pre.id='probe';pre.textContent=JSON.stringify(r);document.body.appendChild(pre);
})();
</script></body>"#;

/// Chromium's print-to-PDF: the print style sheet gives the header and summary, the
/// timeline, then the tables (a page break before the first vendor's table): several A4
/// landscape pages.
fn print_to_pdf(html: &Path, dir: &Path) {
    let Some(chromium) = find_chromium() else {
        return;
    };
    let pdf = dir.join("report.pdf");
    let run = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", html.canonicalize().unwrap().display()))
        .output()
        .expect("run chromium");
    let bytes = std::fs::read(&pdf)
        .unwrap_or_else(|e| panic!("no PDF ({e}): {}", String::from_utf8_lossy(&run.stderr)));
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    // The page tree's `/Count N`.
    let pages = text
        .match_indices("/Count ")
        .filter_map(|(i, m)| {
            let digits: String = text[i + m.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse::<u32>().ok()
        })
        .max()
        .unwrap_or(0);
    // A4 landscape: 841.92 x 594.96 points.
    assert!(text.contains("/MediaBox [0 0 841.9"), "not A4 landscape");
    eprintln!("print-to-PDF: {} bytes, {pages} page(s)", bytes.len());
    assert!(pages >= 2, "{pages} page(s)");
}

fn find_chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// Headless Chromium at 1400 px: a screenshot of the report (copied to `$VW_REPORT_SHOTS/`
/// under `shot_name` when that is set), then the DOM after the report's script and the
/// [`PROBE`] ran; the probe's findings. `None` (with a printed reason) without Chromium.
fn chromium_probe(html: &Path, dir: &Path, shot_name: &str) -> Option<serde_json::Value> {
    let Some(chromium) = find_chromium() else {
        eprintln!("SKIP chromium check: no chromium/chromium-browser/google-chrome on PATH");
        return None;
    };
    let common_args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--window-size=1400,2000",
    ];
    let url = format!("file://{}", html.canonicalize().unwrap().display());
    let png = dir.join(shot_name);
    let shot = Command::new(chromium)
        .args(common_args)
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    let bytes = std::fs::read(&png).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&shot.stderr)
        )
    });
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // PNG IHDR: width at 16..20.
    let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    assert_eq!(width, 1400);
    // A blank page compresses to a few kB; the report is far larger.
    assert!(
        bytes.len() > 40_000,
        "screenshot too small: {} bytes",
        bytes.len()
    );
    if let Some(to) = std::env::var_os("VW_REPORT_SHOTS") {
        let _ = std::fs::copy(&png, Path::new(&to).join(shot_name));
    }
    let page = std::fs::read_to_string(html).unwrap();
    let probed = dir.join(format!("probed-{shot_name}.html"));
    std::fs::write(&probed, page.replacen("</body>", PROBE, 1)).unwrap();
    let url = format!("file://{}", probed.canonicalize().unwrap().display());
    let dom = Command::new(chromium)
        .args(common_args)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&dom.stdout);
    let start = dom
        .find("<pre id=\"probe\">")
        .expect("probe output in the DOM")
        + 16;
    let end = start + dom[start..].find("</pre>").expect("end of probe output");
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    let probe: serde_json::Value = serde_json::from_str(&json).expect("probe JSON");
    let mut shown = probe.clone();
    for long in ["text", "countsAfterSort", "tickBoxes", "laneLabels"] {
        shown[long] = serde_json::Value::Null;
    }
    eprintln!("{shot_name}: {} bytes; probe: {shown}", bytes.len());
    Some(probe)
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

/// One generated EVE alert line, in the shape `scan` writes.
#[allow(clippy::too_many_arguments)]
fn eve_alert(
    ts: &str,
    host: &str,
    iface: &str,
    vendor: &str,
    pack: &str,
    channel: &str,
    name: &str,
    cutoff: Option<&str>,
) -> String {
    let mut meta = serde_json::json!({
        "vendor": [vendor], "channel": [channel], "pack": [pack], "matched_name": [name],
    });
    if let Some(c) = cutoff {
        meta["cutoff"] = serde_json::json!([c]);
    }
    serde_json::json!({
        "timestamp": ts, "event_type": "alert", "src_ip": host, "src_port": 40000,
        "dest_ip": "192.0.2.1", "dest_port": 443, "proto": "TCP", "in_iface": iface,
        "alert": {"action": "allowed", "gid": 1, "signature_id": 4_200_001, "rev": 1,
                  "signature": format!("{vendor} {channel}"), "category": "", "severity": 2,
                  "metadata": meta},
    })
    .to_string()
}

/// 500 hosts over three weeks around Kaspersky's cut-off (2024-09-29): 450 Kaspersky hosts
/// (those with an even number keep calling after the cut-off; every tenth matches twelve
/// names) and 50 Dahua hosts (no cut-off). At 1400 px: the timeline has a lane per vendor
/// with its host count, a dated axis and the cut-off line drawn after the bars; no column
/// overflows; the summary's "after" figure equals the hosts generated after the cut-off, and
/// the JSON report says the same.
#[test]
fn html_report_of_500_generated_hosts() {
    let dir = common::TempDir::new("report-500");
    let mut lines = Vec::new();
    let mut expected_after = 0;
    for i in 0..500u32 {
        let host = format!("10.{}.{}.{}", 20 + i / 250, (i / 10) % 25, i % 250 + 1);
        let iface = if i % 2 == 0 { "eth1" } else { "eth2" };
        let (vendor, pack, cutoff) = if i < 450 {
            ("Kaspersky", "kaspersky", Some("2024-09-29"))
        } else {
            ("Dahua", "dahua", None)
        };
        let names = if i % 10 == 0 { 12 } else { 2 };
        // Before the cut-off for everyone; after it for the even Kaspersky hosts.
        let mut days = vec![20 + (i % 8)];
        if i % 2 == 0 {
            days.push(30 + (i % 10));
            if i < 450 {
                expected_after += 1;
            }
        }
        for (k, day) in days.iter().enumerate() {
            let (month, day) = if *day > 30 { (10, day - 30) } else { (9, *day) };
            for n in 0..names {
                let channel = ["update", "telemetry", "activation", "management"][(n + k) % 4];
                let ts = format!(
                    "2024-{month:02}-{day:02}T{:02}:{:02}:00.000000+0000",
                    (i + n as u32) % 24,
                    n * 3
                );
                let name = format!("dnl-{n:02}.geo.{}.example-updates-{}.com", i % 7, n % 3);
                lines.push(eve_alert(
                    &ts, &host, iface, vendor, pack, channel, &name, cutoff,
                ));
            }
        }
    }
    let eve = dir.path().join("gen.json");
    std::fs::write(&eve, lines.join("\n") + "\n").unwrap();
    let html = dir.path().join("gen.html");
    let run = common::vendorwatch(&[
        "report",
        &eve.to_string_lossy(),
        "-o",
        &html.to_string_lossy(),
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let page = std::fs::read_to_string(&html).unwrap();
    assert_self_contained(&page);
    assert_eq!(page.matches("<tr><td>10.").count(), 500);
    // Twelve names go behind a disclosure, grouped.
    assert_eq!(page.matches("<details><summary>all 12 names").count(), 50);

    let json = raw(&["report", "--format", "json", &eve.to_string_lossy()]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let kaspersky = &doc["summary"]["vendors"][0];
    assert_eq!(kaspersky["vendor"], "Kaspersky");
    assert_eq!(kaspersky["hosts"], 450);
    assert_eq!(kaspersky["hosts_after_cutoff"], expected_after);
    assert_eq!(
        doc["summary"]["vendors"][1]["hosts_after_cutoff"],
        serde_json::Value::Null
    );
    assert_eq!(doc["summary"]["hosts"], 500);
    assert_eq!(doc["summary"]["alert_records"], lines.len());
    assert_eq!(
        doc["hosts"][0]["interfaces"].as_array().map(Vec::len),
        Some(1)
    );

    if let Some(probe) = chromium_probe(&html, dir.path(), "report-500.png") {
        assert_layout(&probe);
        assert_eq!(
            probe["laneLabels"],
            serde_json::json!(["Kaspersky (450 hosts)", "Dahua (50 hosts)"])
        );
        assert!(probe["bars"].as_u64().unwrap() > 10, "{probe}");
        assert_eq!(probe["cutoffLines"], 1, "{probe}");
        assert_eq!(probe["cutoffAfterBars"], true, "{probe}");
        assert_eq!(
            probe["cutoffLabels"],
            serde_json::json!(["Kaspersky cut-off 2024-09-29"])
        );
        assert_eq!(probe["summaryAfter"], serde_json::json!([expected_after]));
        assert_eq!(probe["afterYes"], expected_after, "{probe}");
        let counts: Vec<u64> = probe["countsAfterSort"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c.as_u64())
            .collect();
        assert_eq!(counts.len(), 450);
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "not sorted: {counts:?}"
        );
        assert_eq!(probe["filterShown"], true);
        assert_eq!(probe["filtered"], 1, "{probe}");
    }
}

/// `DIR/eve.json` holding one Kaspersky alert.
fn one_alert_eve(dir: &Path) -> PathBuf {
    let eve = dir.join("eve.json");
    let line = eve_alert(
        "2024-10-01T12:00:00.000000+0000",
        "10.0.0.1",
        "eth0",
        "Kaspersky",
        "kaspersky",
        "update",
        "dnl-01.geo.kaspersky.com",
        Some("2024-09-29"),
    );
    std::fs::write(&eve, line + "\n").unwrap();
    eve
}

/// `report -o FILE` takes the format from the extension; an unknown one is an error and
/// writes nothing.
#[test]
fn report_format_from_output_extension() {
    let dir = common::TempDir::new("report-ext");
    let eve = one_alert_eve(dir.path());
    let eve_arg = eve.to_string_lossy().into_owned();
    for (ext, starts) in [
        ("html", "<!DOCTYPE html>"),
        ("json", "{"),
        ("csv", "host,vendors,"),
        ("txt", "hosts calling home: 1"),
    ] {
        let out = dir.path().join(format!("r.{ext}"));
        let run = raw(&["report", &eve_arg, "-o", &out.to_string_lossy()]);
        assert!(run.status.success(), "{ext}");
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(
            text.starts_with(starts),
            "{ext}: {}",
            &text[..40.min(text.len())]
        );
    }
    // --format wins over the extension.
    let out = dir.path().join("r.txt");
    assert!(
        raw(&[
            "report",
            &eve_arg,
            "--format",
            "json",
            "-o",
            &out.to_string_lossy()
        ])
        .status
        .success()
    );
    assert!(std::fs::read_to_string(&out).unwrap().starts_with('{'));
    // A device is written in place (it cannot be renamed over).
    let run = raw(&["report", &eve_arg, "--format", "json", "-o", "/dev/null"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for bad in ["r.pdf", "report"] {
        let out = dir.path().join(bad);
        let run = raw(&["report", &eve_arg, "-o", &out.to_string_lossy()]);
        assert!(!run.status.success(), "{bad} accepted");
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            err.contains(bad) && err.contains("cannot tell the report format"),
            "{err}"
        );
        assert!(!out.exists(), "{bad} written");
    }
}

/// A file that is not EVE (a pcap, a text file) is an error naming the file and line, exit
/// non-zero, and the -o file is neither written nor replaced.
#[test]
fn report_refuses_files_that_are_not_eve() {
    let dir = common::TempDir::new("report-not-eve");
    let eve = one_alert_eve(dir.path());
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "\nthese are my notes\n{\"not\": \"eve\"}\n").unwrap();
    let pcap = common::repo().join("pcaps/kaspersky-dns.pcap");
    let out = dir.path().join("out.html");
    for (bad, line, hint) in [(&pcap, 1, true), (&text, 2, false)] {
        std::fs::write(&out, "previous report").unwrap();
        let run = raw(&[
            "report",
            &eve.to_string_lossy(),
            &bad.to_string_lossy(),
            "-o",
            &out.to_string_lossy(),
        ]);
        assert_eq!(run.status.code(), Some(1), "{}", bad.display());
        let err = String::from_utf8_lossy(&run.stderr);
        assert!(
            err.contains(&format!(
                "{}: line {line}: not an EVE JSON file",
                bad.display()
            )),
            "{err}"
        );
        assert_eq!(err.contains("capture file"), hint, "{err}");
        assert!(err.contains("no report written"), "{err}");
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "previous report");
    }
    // Stdin too, and nothing on stdout.
    let run = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["report", "-"])
        .stdin(std::fs::File::open(&pcap).unwrap())
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(run.stdout.is_empty());
    assert!(String::from_utf8_lossy(&run.stderr).contains("stdin: line 1: not an EVE JSON file"));
}

/// `scan --report PATH` checks PATH before the scan, as --eve is: a directory that does not
/// exist, a directory as the file, or an unknown extension stop it at once, nothing written.
#[test]
fn scan_report_path_checked_before_the_scan() {
    let dir = common::TempDir::new("report-check");
    let eve = dir.path().join("eve.json");
    let missing = dir.path().join("no-such-dir/r.html");
    let is_dir = dir.path().join("a-directory.html");
    std::fs::create_dir(&is_dir).unwrap();
    let pdf = dir.path().join("r.pdf");
    for (report, why) in [
        (&missing, "cannot write the report"),
        (&is_dir, "is a directory"),
        (&pdf, "cannot tell the report format"),
    ] {
        let run = scan_pcaps(&eve, report);
        assert_eq!(run.code(), Some(2), "{}", report.display());
        let err = run.stderr();
        assert!(
            err.contains(&report.display().to_string()) && err.contains(why),
            "{err}"
        );
        assert!(!eve.exists(), "the scan ran: {}", report.display());
    }
}

/// `live --report PATH` is checked the same way, before capturing (needs root for the
/// capture handle; skipped otherwise).
#[test]
fn live_report_path_checked_before_capture() {
    if !common::netns::is_root() {
        eprintln!("SKIP live --report check: not root");
        return;
    }
    let dir = common::TempDir::new("report-live");
    let missing = dir.path().join("no-such-dir/r.json");
    let run = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["live", "-i", "lo", "--quiet", "--report"])
        .arg(&missing)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&run.stderr);
    if err.contains("lo:") && !err.contains("report") {
        eprintln!("SKIP live --report check: cannot capture on lo: {err}");
        return;
    }
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&missing.display().to_string()) && err.contains("cannot write the report"),
        "{err}"
    );
    assert!(!err.contains("capturing on"), "capture started: {err}");
}
