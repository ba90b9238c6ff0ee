//! Host inventory report: from EVE alert records (a finished scan's, or EVE files given to
//! `vendorwatch report`), the hosts still calling home, with vendors, channels, rules, names,
//! first/last seen, counts and whether they were seen after the update cut-off, most recent
//! first. Text, JSON, CSV, or one self-contained HTML file (sortable table, inline SVG
//! timeline per host; no external scripts, styles or fonts).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{self, BufRead, Write};

use crate::capture::Timestamp;
use crate::time::UtcTime;

/// The Kaspersky update cut-off: 2024-09-29T00:00:00Z. A host seen at or after it still
/// talks to a vendor that no longer ships updates.
pub const CUTOFF_SECS: i64 = 1_727_568_000;

/// Points kept per host for its timeline; beyond it, counts are merged into the nearest kept
/// point, so memory stays bounded on huge EVE files.
const MAX_POINTS_PER_HOST: usize = 4096;

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// Aligned columns for a terminal.
    Text,
    /// A JSON array of host objects.
    Json,
    /// RFC 4180 CSV with a header row.
    Csv,
    /// One self-contained HTML page.
    Html,
}

impl ReportFormat {
    /// Parse `text|json|csv|html`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "text" | "txt" => Some(ReportFormat::Text),
            "json" => Some(ReportFormat::Json),
            "csv" => Some(ReportFormat::Csv),
            "html" | "htm" => Some(ReportFormat::Html),
            _ => None,
        }
    }

    /// The format a file name's extension asks for.
    pub fn from_path(path: &std::path::Path) -> Option<Self> {
        path.extension()
            .and_then(|e| e.to_str())
            .and_then(Self::parse)
    }
}

/// One alert, as the report needs it.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    /// The host running the product (query sender, response receiver, TLS client).
    pub host: &'a str,
    /// Vendor of the pack.
    pub vendor: &'a str,
    /// Channel of the rule.
    pub channel: &'a str,
    /// Rule sid.
    pub sid: u64,
    /// Rule name.
    pub signature: &'a str,
    /// Matched name or address.
    pub name: &'a str,
    /// Alert time.
    pub ts: Timestamp,
    /// 1 + suppressed repeats the alert carries.
    pub count: u64,
}

#[derive(Debug, Clone, Default)]
struct HostRow {
    vendors: BTreeSet<String>,
    channels: BTreeSet<String>,
    rules: BTreeMap<u64, String>,
    names: BTreeSet<String>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    alerts: u64,
    count: u64,
    count_after_cutoff: u64,
    points: BTreeMap<i64, u64>,
}

/// Accumulates alerts by host.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    hosts: BTreeMap<String, HostRow>,
    /// Lines that were not JSON (counted, reported on stderr by the CLI).
    pub bad_lines: u64,
    /// Alert records read.
    pub alerts: u64,
}

fn insert(set: &mut BTreeSet<String>, v: &str) {
    if !v.is_empty() && !set.contains(v) {
        set.insert(v.to_string());
    }
}

impl ReportBuilder {
    /// Add one alert.
    pub fn add(&mut self, a: &AlertFacts<'_>) {
        self.alerts += 1;
        self.add_counts(a, true);
    }

    /// Add repeats that no alert carried (suppressed and still pending when the scan ended):
    /// they count for the host and its last-seen time, but are not alert records.
    pub fn add_repeats(&mut self, a: &AlertFacts<'_>) {
        self.add_counts(a, false);
    }

    fn add_counts(&mut self, a: &AlertFacts<'_>, is_alert: bool) {
        let row = match self.hosts.get_mut(a.host) {
            Some(r) => r,
            None => self.hosts.entry(a.host.to_string()).or_default(),
        };
        insert(&mut row.vendors, a.vendor);
        insert(&mut row.channels, a.channel);
        insert(&mut row.names, a.name);
        row.rules
            .entry(a.sid)
            .or_insert_with(|| a.signature.to_string());
        row.first = Some(row.first.map_or(a.ts, |f| f.min(a.ts)));
        row.last = Some(row.last.map_or(a.ts, |l| l.max(a.ts)));
        row.alerts += u64::from(is_alert);
        row.count += a.count;
        if a.ts.secs >= CUTOFF_SECS {
            row.count_after_cutoff += a.count;
        }
        if row.points.len() < MAX_POINTS_PER_HOST || row.points.contains_key(&a.ts.secs) {
            *row.points.entry(a.ts.secs).or_default() += a.count;
        } else {
            let near = row
                .points
                .range(..=a.ts.secs)
                .next_back()
                .or_else(|| row.points.range(a.ts.secs..).next())
                .map(|(k, _)| *k);
            if let Some(k) = near {
                *row.points.entry(k).or_default() += a.count;
            }
        }
    }

    /// Add one EVE line; anything but an alert record is ignored.
    pub fn add_eve_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            self.bad_lines += 1;
            return;
        };
        if v["event_type"] != "alert" {
            return;
        }
        let s = |x: &serde_json::Value| x.as_str().unwrap_or("").to_string();
        let meta = &v["alert"]["metadata"];
        let first = |k: &str| s(&meta[k][0]);
        let dns_type = s(&v["dns"]["type"]);
        // DNS v3 `type: response`, v2 event `type: answer`, v2 alert `answer: {...}`.
        let response =
            dns_type == "response" || dns_type == "answer" || v["dns"]["answer"].is_object();
        let host = if response {
            s(&v["dest_ip"])
        } else {
            s(&v["src_ip"])
        };
        let repeats = first("repeats").parse::<u64>().unwrap_or(0);
        let Some(ts) = v["timestamp"].as_str().and_then(parse_eve_time) else {
            self.bad_lines += 1;
            return;
        };
        self.add(&AlertFacts {
            host: &host,
            vendor: &first("vendor"),
            channel: &first("channel"),
            sid: v["alert"]["signature_id"].as_u64().unwrap_or(0),
            signature: &s(&v["alert"]["signature"]),
            name: &first("matched_name"),
            ts,
            count: 1 + repeats,
        });
    }

    /// Add every line of an EVE file.
    pub fn add_eve_reader(&mut self, r: impl BufRead) -> io::Result<()> {
        for line in r.lines() {
            self.add_eve_line(&line?);
        }
        Ok(())
    }

    /// Hosts, most recently seen first.
    fn rows(&self) -> Vec<(&String, &HostRow)> {
        let mut rows: Vec<_> = self.hosts.iter().collect();
        rows.sort_by(|a, b| b.1.last.cmp(&a.1.last).then_with(|| a.0.cmp(b.0)));
        rows
    }

    /// Vendor -> hosts that alerted for it (both sorted).
    pub fn by_vendor(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (host, r) in &self.hosts {
            for v in &r.vendors {
                out.entry(v.clone()).or_default().push(host.clone());
            }
        }
        out
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no alert was added.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Write the report.
    pub fn write(&self, w: &mut dyn Write, format: ReportFormat) -> io::Result<()> {
        match format {
            ReportFormat::Text => self.write_text(w),
            ReportFormat::Json => self.write_json(w),
            ReportFormat::Csv => self.write_csv(w),
            ReportFormat::Html => self.write_html(w),
        }
    }

    fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "hosts calling home: {} (from {} alert records)",
            self.len(),
            self.alerts
        )?;
        writeln!(
            w,
            "{:<39} {:<10} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} RULES",
            "HOST", "VENDORS", "CHANNELS", "ALERTS", "COUNT", "FIRST SEEN", "LAST SEEN", "AFTER"
        )?;
        for (host, r) in self.rows() {
            writeln!(
                w,
                "{:<39} {:<10} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} {}",
                host,
                join(&r.vendors),
                join(&r.channels),
                r.alerts,
                r.count,
                fmt_ts(r.first),
                fmt_ts(r.last),
                yes_no(r),
                rules_list(r)
            )?;
        }
        let by_vendor = self.by_vendor();
        writeln!(w, "vendors: {}", by_vendor.len())?;
        for (vendor, hosts) in &by_vendor {
            writeln!(
                w,
                "  {vendor:<12} {:>4} host(s): {}",
                hosts.len(),
                hosts.join(", ")
            )?;
        }
        writeln!(
            w,
            "AFTER: seen at or after the update cut-off {} (2024-09-29); COUNT includes suppressed repeats",
            fmt_ts(Some(Timestamp {
                secs: CUTOFF_SECS,
                nanos: 0
            }))
        )
    }

    fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        let hosts: Vec<serde_json::Value> = self
            .rows()
            .into_iter()
            .map(|(host, r)| {
                serde_json::json!({
                    "host": host,
                    "vendors": r.vendors,
                    "channels": r.channels,
                    "rules": r.rules.iter().map(|(sid, name)| serde_json::json!({"sid": sid, "name": name})).collect::<Vec<_>>(),
                    "names": r.names,
                    "first_seen": fmt_ts(r.first),
                    "last_seen": fmt_ts(r.last),
                    "alerts": r.alerts,
                    "count": r.count,
                    "seen_after_cutoff": r.count_after_cutoff > 0,
                    "count_after_cutoff": r.count_after_cutoff,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "cutoff": fmt_ts(Some(Timestamp { secs: CUTOFF_SECS, nanos: 0 })),
            "alert_records": self.alerts,
            "hosts": hosts,
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }

    fn write_csv(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "host,vendors,channels,rules,names,first_seen,last_seen,alerts,count,seen_after_cutoff,count_after_cutoff"
        )?;
        for (host, r) in self.rows() {
            let fields = [
                host.clone(),
                join(&r.vendors),
                join(&r.channels),
                rules_list(r),
                join(&r.names),
                fmt_ts(r.first),
                fmt_ts(r.last),
                r.alerts.to_string(),
                r.count.to_string(),
                (r.count_after_cutoff > 0).to_string(),
                r.count_after_cutoff.to_string(),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            writeln!(w, "{}", line.join(","))?;
        }
        Ok(())
    }

    fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.rows();
        let (t0, t1) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (_, r)| {
            (
                lo.min(r.first.map_or(lo, |t| t.secs)),
                hi.max(r.last.map_or(hi, |t| t.secs)),
            )
        });
        let mut body = String::new();
        for (host, r) in &rows {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(host),
                esc(&join(&r.vendors)),
                esc(&join(&r.channels)),
                esc(&rules_list(r)),
                r.first.map_or(0, |t| t.secs),
                esc(&fmt_ts(r.first)),
                r.last.map_or(0, |t| t.secs),
                esc(&fmt_ts(r.last)),
                r.count,
                r.count,
                r.count_after_cutoff,
                yes_no(r),
                esc(&join(&r.names)),
                timeline_svg(r, t0, t1),
            );
        }
        write!(
            w,
            r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vendorwatch: hosts calling home</title>
<style>
body{{font-family:sans-serif;margin:1.5em;color:#222}}
table{{border-collapse:collapse;font-size:13px}}
th,td{{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}}
th{{background:#eee;cursor:pointer;user-select:none}}
th.sorted-asc::after{{content:" \25B2"}} th.sorted-desc::after{{content:" \25BC"}}
td.after-yes{{color:#a00;font-weight:bold}}
</style></head><body>
<h1>Hosts still calling home</h1>
<p id="summary">{hosts} host(s) from {alerts} alert record(s). Cut-off: 2024-09-29 (vendor updates end); "after" counts what was seen at or after it. Counts include suppressed repeats. Click a column header to sort.</p>
<table id="hosts"><thead><tr><th data-t="s">Host</th><th data-t="s">Vendors</th><th data-t="s">Channels</th><th data-t="s">Rules</th><th data-t="n">First seen</th><th data-t="n">Last seen</th><th data-t="n">Count</th><th data-t="n">After cut-off</th><th data-t="s">Names</th><th>Timeline</th></tr></thead>
<tbody>
{body}</tbody></table>
<script>
(function(){{
var t=document.getElementById('hosts');
var hs=t.tHead.rows[0].cells;
for(var i=0;i<hs.length;i++){{(function(i){{
var h=hs[i];if(!h.dataset.t)return;
h.addEventListener('click',function(){{
var asc=!h.classList.contains('sorted-asc');
for(var k=0;k<hs.length;k++)hs[k].classList.remove('sorted-asc','sorted-desc');
h.classList.add(asc?'sorted-asc':'sorted-desc');
var rows=Array.prototype.slice.call(t.tBodies[0].rows);
rows.sort(function(a,b){{
var x=a.cells[i],y=b.cells[i],c;
if(h.dataset.t==='n'){{c=Number(x.dataset.v)-Number(y.dataset.v);}}
else{{c=x.textContent.localeCompare(y.textContent,undefined,{{numeric:true}});}}
return asc?c:-c;}});
rows.forEach(function(r){{t.tBodies[0].appendChild(r);}});
}});}})(i);}}
document.body.setAttribute('data-sortable','ready');
}})();
</script>
</body></html>
"#,
            hosts = rows.len(),
            alerts = self.alerts,
            body = body
        )
    }
}

/// An inline SVG: the host's alerts as bars on the report's common time axis, the cut-off as a
/// red line when it falls inside the axis.
fn timeline_svg(r: &HostRow, t0: i64, t1: i64) -> String {
    const W: f64 = 240.0;
    const H: f64 = 24.0;
    let span = (t1 - t0).max(1) as f64;
    let x = |t: i64| 2.0 + (t - t0) as f64 / span * (W - 4.0);
    let mut bins = [0u64; 60];
    for (t, n) in &r.points {
        let i = (((t - t0) as f64 / span) * 59.0).round().clamp(0.0, 59.0) as usize;
        bins[i] += n;
    }
    let max = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
    let mut s = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{W}" height="{H}" viewBox="0 0 {W} {H}"><rect width="{W}" height="{H}" fill="#f7f7f7"/>"##
    );
    if (t0..=t1).contains(&CUTOFF_SECS) {
        let cx = x(CUTOFF_SECS);
        let _ = write!(
            s,
            r##"<line x1="{cx:.1}" y1="0" x2="{cx:.1}" y2="{H}" stroke="#c00" stroke-dasharray="2,2"/>"##
        );
    }
    for (i, n) in bins.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let h = 2.0 + (*n as f64 / max) * (H - 4.0);
        let bx = 2.0 + i as f64 / 60.0 * (W - 4.0);
        let _ = write!(
            s,
            r##"<rect x="{bx:.1}" y="{:.1}" width="3" height="{h:.1}" fill="#36c"><title>{n}</title></rect>"##,
            H - h
        );
    }
    s.push_str("</svg>");
    s
}

fn yes_no(r: &HostRow) -> &'static str {
    if r.count_after_cutoff > 0 {
        "yes"
    } else {
        "no"
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().map(String::as_str).collect::<Vec<_>>().join(",")
}

fn rules_list(r: &HostRow) -> String {
    r.rules
        .iter()
        .map(|(sid, name)| format!("{sid} {name}"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn fmt_ts(t: Option<Timestamp>) -> String {
    t.map(|t| UtcTime::from_timestamp(t).to_string())
        .unwrap_or_default()
}

/// One RFC 4180 field. A cell a spreadsheet would read as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or carriage return; names come from the traffic) gets a leading `'`, as the
/// OWASP CSV injection guidance says, so it is shown as text and never run.
fn csv_field(f: &str) -> String {
    let guard = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        "'"
    } else {
        ""
    };
    if f.contains([',', '"', '\n', '\r']) {
        format!("\"{guard}{}\"", f.replace('"', "\"\""))
    } else {
        format!("{guard}{f}")
    }
}

fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Parse EVE's `2024-10-01T12:00:00.123456+0000` (any `+hhmm`/`-hhmm` offset).
pub fn parse_eve_time(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let mut v: u64 = frac[..digits.min(9)].parse().unwrap_or(0);
        for _ in digits.min(9)..9 {
            v *= 10;
        }
        nanos = v as u32;
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes().first() {
        Some(sign @ (b'+' | b'-')) if rest.len() >= 5 => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(rest.len() - 2..)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => 0,
    };
    // days_from_civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(Timestamp {
        secs: days * 86_400 + h * 3600 + mi * 60 + se - offset,
        nanos,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_time_round_trip() {
        for (secs, nanos) in [(0, 0), (1_727_784_000, 123_456_000), (951_782_400, 0)] {
            let t = Timestamp { secs, nanos };
            let s = UtcTime::from_timestamp(t).to_string();
            assert_eq!(parse_eve_time(&s), Some(t), "{s}");
        }
        assert_eq!(
            parse_eve_time("2024-10-01T14:00:00.000000+0200").map(|t| t.secs),
            Some(1_727_784_000)
        );
        assert_eq!(
            parse_eve_time("2024-09-29T00:00:00+0000").map(|t| t.secs),
            Some(CUTOFF_SECS)
        );
    }

    /// OWASP CSV injection: a cell that a spreadsheet would read as a formula gets a
    /// leading `'`; quoting stays RFC 4180.
    #[test]
    fn csv_cells_never_start_a_formula() {
        for (cell, want) in [
            ("=1+2", "'=1+2"),
            ("+1", "'+1"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("=a,b", "\"'=a,b\""),
            ("=\"q\"", "\"'=\"\"q\"\"\""),
            ("a=b", "a=b"),
            ("10.0.0.1", "10.0.0.1"),
            ("", ""),
        ] {
            assert_eq!(csv_field(cell), want, "{cell:?}");
        }
    }

    #[test]
    fn rows_sorted_by_most_recent_with_exact_counts() {
        let mut b = ReportBuilder::default();
        let a = |host, secs, count| AlertFacts {
            host,
            vendor: "Kaspersky",
            channel: "update",
            sid: 1,
            signature: "r",
            name: "x.kaspersky.com",
            ts: Timestamp { secs, nanos: 0 },
            count,
        };
        b.add(&a("10.0.0.1", CUTOFF_SECS - 100, 1));
        b.add(&a("10.0.0.2", CUTOFF_SECS + 100, 5));
        b.add(&a("10.0.0.1", CUTOFF_SECS - 50, 2));
        let rows = b.rows();
        assert_eq!(rows[0].0, "10.0.0.2");
        assert_eq!((rows[0].1.count, yes_no(rows[0].1)), (5, "yes"));
        assert_eq!((rows[1].1.count, yes_no(rows[1].1)), (3, "no"));
        let mut csv = Vec::new();
        b.write(&mut csv, ReportFormat::Csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .starts_with("10.0.0.2,Kaspersky,update,1 r,")
        );
    }
}
