//! Host inventory report: from EVE alert records (a finished scan's, or EVE files given to
//! `vendorwatch report`), the hosts still calling home, with vendors, channels, rules, names,
//! first/last seen, counts and whether they were seen after the update cut-off, most recent
//! first. Text, JSON, CSV, or one self-contained HTML file (sortable table, inline SVG
//! timeline per host; no external scripts, styles or fonts). One module per format.
//!
//! Rows are machines when the alerts say who held the address (`alert.metadata.host_mac`,
//! `host_name`: the engine's identity table): one row per MAC (else per DHCP host name), with
//! every address the machine alerted from, so a lease that moved does not merge two machines
//! or split one. Alerts without an identity stay one row per address.

mod csv;
mod from_eve;
pub use from_eve::parse_eve_time;
mod html;
mod json;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use crate::capture::Timestamp;
use crate::time::UtcTime;

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
    /// The vendor's cut-off from its pack (Unix seconds of the day), when the pack names one.
    pub cutoff: Option<i64>,
    /// Who held the address then, when known.
    pub identity: IdentityFacts<'a>,
}

/// The machine behind an alert's address, as far as the alert says.
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityFacts<'a> {
    /// MAC, `3c:52:82:01:02:03`.
    pub mac: Option<&'a str>,
    /// DHCP host name.
    pub hostname: Option<&'a str>,
    /// DHCP vendor class.
    pub vendor_class: Option<&'a str>,
}

impl IdentityFacts<'_> {
    /// The row a machine's alerts go to: its MAC, else its host name; `None` when unknown.
    fn row_key(&self) -> Option<String> {
        match (self.mac, self.hostname) {
            (Some(mac), _) if !mac.is_empty() => Some(format!("mac {mac}")),
            (_, Some(name)) if !name.is_empty() => Some(format!("name {name}")),
            _ => None,
        }
    }
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
    /// Some alert of the host is for a vendor with a cut-off (else "after" does not apply).
    has_cutoff: bool,
    count_after_cutoff: u64,
    points: BTreeMap<i64, u64>,
    /// The addresses the row's alerts came from (one for a row by address).
    addresses: BTreeSet<String>,
    /// The machine's MAC, host name and vendor class (the latest alert's that named them).
    mac: Option<String>,
    hostname: Option<String>,
    vendor_class: Option<String>,
}

impl HostRow {
    /// The addresses, comma-separated.
    fn host(&self) -> String {
        join(&self.addresses)
    }

    /// `host name (MAC, vendor class)` as far as known; empty for a row by address.
    fn machine(&self) -> String {
        let mut parts = Vec::new();
        if let Some(m) = &self.mac {
            parts.push(m.as_str());
        }
        if let Some(v) = &self.vendor_class {
            parts.push(v.as_str());
        }
        match (&self.hostname, parts.is_empty()) {
            (Some(h), true) => h.clone(),
            (Some(h), false) => format!("{h} ({})", parts.join(", ")),
            (None, _) => parts.join(", "),
        }
    }

    /// How the row is named in lists: its addresses, with the host name when known.
    fn label(&self) -> String {
        match &self.hostname {
            Some(name) => format!("{} ({name})", self.host()),
            None => self.host(),
        }
    }
}

/// Accumulates alerts by host.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    hosts: BTreeMap<String, HostRow>,
    /// Lines that were not JSON (counted, reported on stderr by the CLI).
    pub bad_lines: u64,
    /// Alert records read.
    pub alerts: u64,
    /// Vendor -> its cut-off (Unix seconds), from the packs (or the alerts' metadata).
    cutoffs: BTreeMap<String, i64>,
    /// Address -> the machine row that alerted from it last (time, row key): repeats that
    /// carry no identity (pending at the end) go there.
    machine_of: BTreeMap<String, (Timestamp, String)>,
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
        if let Some(cutoff) = a.cutoff
            && self.cutoffs.get(a.vendor) != Some(&cutoff)
        {
            // Two packs of one vendor with different dates: the earlier one is shown.
            let at = self.cutoffs.entry(a.vendor.to_string()).or_insert(cutoff);
            *at = (*at).min(cutoff);
        }
        let key = match a.identity.row_key() {
            Some(key) => {
                let latest = self.machine_of.get(a.host).is_none_or(|(t, _)| *t <= a.ts);
                if latest {
                    self.machine_of
                        .insert(a.host.to_string(), (a.ts, key.clone()));
                }
                key
            }
            None if !is_alert => match self.machine_of.get(a.host) {
                Some((_, key)) => key.clone(),
                None => a.host.to_string(),
            },
            None => a.host.to_string(),
        };
        let row = self.hosts.entry(key).or_default();
        insert(&mut row.addresses, a.host);
        let id = &a.identity;
        let newest = row.last.is_none_or(|l| l <= a.ts);
        for (field, value) in [
            (&mut row.mac, id.mac),
            (&mut row.hostname, id.hostname),
            (&mut row.vendor_class, id.vendor_class),
        ] {
            if let Some(v) = value.filter(|v| !v.is_empty())
                && (newest || field.is_none())
                && field.as_deref() != Some(v)
            {
                *field = Some(v.to_string());
            }
        }
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
        if let Some(cutoff) = a.cutoff {
            row.has_cutoff = true;
            if a.ts.secs >= cutoff {
                row.count_after_cutoff += a.count;
            }
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

    /// Rows (their addresses, and the row), most recently seen first.
    fn rows(&self) -> Vec<(String, &HostRow)> {
        let mut rows: Vec<_> = self.hosts.iter().collect();
        rows.sort_by(|a, b| b.1.last.cmp(&a.1.last).then_with(|| a.0.cmp(b.0)));
        rows.into_iter().map(|(_, r)| (r.host(), r)).collect()
    }

    /// Vendor -> its cut-off (Unix seconds of the day) for the vendors whose packs name one.
    pub fn cutoffs(&self) -> &BTreeMap<String, i64> {
        &self.cutoffs
    }

    /// Vendor -> hosts that alerted for it (both sorted): by address, a machine's addresses
    /// followed by its host name when known.
    pub fn by_vendor(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in self.hosts.values() {
            for v in &r.vendors {
                out.entry(v.clone()).or_default().push(r.label());
            }
        }
        for hosts in out.values_mut() {
            hosts.sort();
        }
        out
    }

    /// Number of rows (machines, and addresses without a known machine).
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
}

/// Seen at or after its vendor's cut-off: "yes", "no", or "-" when no vendor of the host has
/// a cut-off.
fn yes_no(r: &HostRow) -> &'static str {
    if r.count_after_cutoff > 0 {
        "yes"
    } else if r.has_cutoff {
        "no"
    } else {
        "-"
    }
}

/// `YYYY-MM-DD` of a cut-off.
fn fmt_day(secs: i64) -> String {
    let mut s = UtcTime::from_timestamp(Timestamp { secs, nanos: 0 }).to_string();
    s.truncate(10);
    s
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

#[cfg(test)]
mod tests {
    use super::csv::csv_field;
    use super::from_eve::parse_eve_time;
    use super::*;

    /// Kaspersky's cut-off in the tests: 2024-09-29T00:00:00Z.
    const CUTOFF_SECS: i64 = 1_727_568_000;

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
            cutoff: Some(CUTOFF_SECS),
            identity: IdentityFacts::default(),
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

    /// The cut-off is the pack's, per vendor: a vendor without one never makes a host
    /// "after", and the JSON names each vendor's date.
    #[test]
    fn cutoff_comes_from_each_alert_and_applies_per_vendor() {
        let mut b = ReportBuilder::default();
        let fact = |host, vendor, secs, cutoff| AlertFacts {
            host,
            vendor,
            channel: "update",
            sid: 1,
            signature: "r",
            name: "x",
            ts: Timestamp { secs, nanos: 0 },
            count: 1,
            cutoff,
            identity: IdentityFacts::default(),
        };
        b.add(&fact(
            "10.0.0.1",
            "Kaspersky",
            CUTOFF_SECS + 5,
            Some(CUTOFF_SECS),
        ));
        b.add(&fact("10.0.0.2", "Dahua", CUTOFF_SECS + 5, None));
        let rows = b.rows();
        let after: Vec<_> = rows.iter().map(|(h, r)| (h.as_str(), yes_no(r))).collect();
        assert!(after.contains(&("10.0.0.1", "yes")) && after.contains(&("10.0.0.2", "-")));
        let mut json = Vec::new();
        b.write(&mut json, ReportFormat::Json).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["cutoffs"], serde_json::json!({"Kaspersky": "2024-09-29"}));
        let mut text = Vec::new();
        b.write(&mut text, ReportFormat::Text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("Kaspersky 2024-09-29"), "{text}");
    }

    /// One row per machine: two machines that held one address are two rows; one machine
    /// seen at two addresses is one row listing both; repeats without an identity go to the
    /// machine that alerted from the address last.
    #[test]
    fn rows_group_by_machine() {
        let mut b = ReportBuilder::default();
        let fact = |host, mac, name, secs| AlertFacts {
            host,
            vendor: "Kaspersky",
            channel: "update",
            sid: 1,
            signature: "r",
            name: "x",
            ts: Timestamp { secs, nanos: 0 },
            count: 1,
            cutoff: None,
            identity: IdentityFacts {
                mac,
                hostname: name,
                vendor_class: None,
            },
        };
        let a = Some("3c:52:82:0a:0a:0a");
        let bb = Some("3c:52:82:0b:0b:0b");
        b.add(&fact("10.1.0.11", a, Some("WS-A"), 100));
        b.add(&fact("10.1.0.11", bb, Some("LAPTOP-B"), 200));
        b.add(&fact("10.1.0.12", a, Some("WS-A"), 300));
        b.add(&fact("10.9.9.9", None, None, 50));
        b.add_repeats(&fact("10.1.0.11", None, None, 250));
        let rows = b.rows();
        let got: Vec<_> = rows
            .iter()
            .map(|(host, r)| (host.as_str(), r.machine(), r.count))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "10.1.0.11,10.1.0.12",
                    "WS-A (3c:52:82:0a:0a:0a)".to_string(),
                    2
                ),
                ("10.1.0.11", "LAPTOP-B (3c:52:82:0b:0b:0b)".to_string(), 2),
                ("10.9.9.9", String::new(), 1),
            ]
        );
        let mut csv = Vec::new();
        b.write(&mut csv, ReportFormat::Csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .ends_with(",3c:52:82:0a:0a:0a,WS-A,"),
            "{csv}"
        );
        let mut text = Vec::new();
        b.write(&mut text, ReportFormat::Text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("Kaspersky       3 host(s): 10.1.0.11 (LAPTOP-B), 10.1.0.11,10.1.0.12 (WS-A), 10.9.9.9"),
            "{text}"
        );
    }
}
