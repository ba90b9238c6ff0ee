//! Host inventory report: from EVE alert records (a finished scan's, or EVE files given to
//! `vendorwatch report`), the hosts still calling home, with vendors, channels, rules, names,
//! first/last seen, counts and whether they were seen after the vendor's cut-off, most recent
//! first. Text, JSON, CSV, or one self-contained HTML file (header with what was analysed,
//! summary figures, per-vendor sortable tables, an SVG timeline; no external scripts, styles
//! or fonts). One module per format.
//!
//! The model: one [`HostRow`] per (vendor, host), so a vendor's table and its cut-off count
//! only that vendor's activity; the per-host views (text, JSON, CSV) merge a host's rows
//! ([`HostRow::merge`]). A new column is a field of `HostRow` (filled in `add_counts`, merged
//! in `merge`) and one cell per renderer.
//!
//! A "host" is a machine when the alerts name it (`alert.metadata.host_mac`, else
//! `host_name`: the engine's identity table): its rows are keyed by the machine, list every
//! address it alerted from, and carry its MAC, host name and vendor class, so a lease that
//! moved does not merge two machines or split one. Alerts without an identity stay keyed by
//! address.

mod csv;
mod from_eve;
pub use from_eve::{EveReadError, MAX_LINE, parse_eve_time};
mod html;
mod json;
mod text;
mod verdict;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use crate::capture::Timestamp;
use crate::record::lineage::{Lineage, Seen};
use crate::time::UtcTime;

/// Points kept per row for its timeline; beyond it, counts are merged into the nearest kept
/// point, so memory stays bounded on huge EVE files.
const MAX_POINTS_PER_HOST: usize = 4096;

/// Channels told apart in the timeline; a pack set with more puts the rest under the last.
const MAX_CHANNELS: usize = 16;

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

/// What was analysed, as the session or the CLI knows it: the report's header.
#[derive(Debug, Clone, Default)]
pub struct ReportContext {
    /// What the records came from.
    pub source: ReportSource,
    /// Capture files or directories (`scan`), EVE files (`report`), interfaces (`live`), as
    /// named on the command line.
    pub inputs: Vec<String>,
    /// The sensor's host name (`live`).
    pub sensor: Option<String>,
    /// The packs the run loaded (`scan`, `live`); a report from EVE files lists the packs its
    /// alerts name instead.
    pub packs: Vec<PackSummary>,
}

/// What the records of a report came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportSource {
    /// `vendorwatch scan` of capture files.
    Scan,
    /// `vendorwatch live` on interfaces.
    Live,
    /// EVE files read back by `vendorwatch report`.
    #[default]
    Eve,
}

impl ReportSource {
    /// What its inputs are, for the header.
    pub fn inputs_label(self) -> &'static str {
        match self {
            ReportSource::Scan => "capture files",
            ReportSource::Live => "interfaces",
            ReportSource::Eve => "EVE files",
        }
    }

    /// The source's name in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            ReportSource::Scan => "scan",
            ReportSource::Live => "live",
            ReportSource::Eve => "eve",
        }
    }
}

/// One pack, as the header names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackSummary {
    /// Pack id.
    pub id: String,
    /// Vendor.
    pub vendor: String,
    /// Version ("" when unknown: EVE alerts do not carry it).
    pub version: String,
    /// Cut-off (Unix seconds of the day), when the pack names one.
    pub cutoff: Option<i64>,
}

/// One alert, as the report needs it.
#[derive(Debug, Clone)]
pub struct AlertFacts<'a> {
    /// The host running the product (query sender, response receiver, TLS client).
    pub host: &'a str,
    /// Vendor of the pack.
    pub vendor: &'a str,
    /// Pack id ("" when unknown).
    pub pack: &'a str,
    /// Channel of the rule.
    pub channel: &'a str,
    /// Rule sid.
    pub sid: u64,
    /// Rule name.
    pub signature: &'a str,
    /// Matched name or address.
    pub name: &'a str,
    /// The sensor interface the packet came in on (EVE `in_iface`; "" when unknown).
    pub iface: &'a str,
    /// Alert time.
    pub ts: Timestamp,
    /// 1 + suppressed repeats the alert carries.
    pub count: u64,
    /// The vendor's cut-off from its pack (Unix seconds of the day), when the pack names one.
    pub cutoff: Option<i64>,
    /// The pack in migrations (`Lineage::default()` for a pack in none).
    pub lineage: &'a Lineage,
    /// The sensor that saw it (EVE `host`, `--sensor-name`; "" for none).
    pub sensor: &'a str,
    /// Who held the address then, when known.
    pub identity: IdentityFacts<'a>,
}

/// The machine behind an alert's address, as far as the alert says (`alert.metadata`
/// `host_mac`, `host_name`, `host_vendor_class`: the engine's identity table).
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

/// Sensors kept per host, and interfaces per sensor; beyond them more are not listed (a
/// fleet inventory names the few that saw a host, never an unbounded list).
const MAX_SENSORS_PER_HOST: usize = 256;
const MAX_IFACES_PER_SENSOR: usize = 64;

/// What the report knows of one host for one vendor (or, merged, for all of its vendors).
#[derive(Debug, Clone, Default)]
pub(crate) struct HostRow {
    vendors: BTreeSet<String>,
    channels: BTreeSet<String>,
    rules: BTreeMap<u64, String>,
    names: BTreeSet<String>,
    /// Sensor interfaces the host was seen on.
    ifaces: BTreeSet<String>,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    alerts: u64,
    count: u64,
    /// Some alert of the host is for a vendor with a cut-off (else "after" does not apply).
    has_cutoff: bool,
    count_after_cutoff: u64,
    /// (second, channel index into `ReportBuilder::channel_ids`) -> count.
    points: BTreeMap<(i64, u8), u64>,
    /// Pack id -> what the host did for it, for packs in a migration (product evidence
    /// only: a vendor's website is not its product); see [`verdict`].
    migration: BTreeMap<String, Seen>,
    /// Sensor name -> the interfaces it saw the host on ("" names an unnamed sensor).
    sensors: BTreeMap<String, BTreeSet<String>>,
    /// The addresses the row's alerts came from (one for a row by address; a machine's
    /// every address).
    addresses: BTreeSet<String>,
    /// The machine's MAC, host name and vendor class (the latest alert's that named them).
    mac: Option<String>,
    hostname: Option<String>,
    vendor_class: Option<String>,
}

impl HostRow {
    /// Fold another row of the same host into this one.
    fn merge(&mut self, o: &HostRow) {
        self.vendors.extend(o.vendors.iter().cloned());
        self.channels.extend(o.channels.iter().cloned());
        self.names.extend(o.names.iter().cloned());
        self.ifaces.extend(o.ifaces.iter().cloned());
        for (sensor, ifaces) in &o.sensors {
            if self.sensors.len() < MAX_SENSORS_PER_HOST || self.sensors.contains_key(sensor) {
                let mine = self.sensors.entry(sensor.clone()).or_default();
                mine.extend(ifaces.iter().take(MAX_IFACES_PER_SENSOR).cloned());
            }
        }
        for (sid, name) in &o.rules {
            self.rules.entry(*sid).or_insert_with(|| name.clone());
        }
        self.first = self.first.min(o.first).or(self.first).or(o.first);
        self.last = self.last.max(o.last);
        self.alerts += o.alerts;
        self.count += o.count;
        self.has_cutoff |= o.has_cutoff;
        self.count_after_cutoff += o.count_after_cutoff;
        for (k, n) in &o.points {
            *self.points.entry(*k).or_default() += n;
        }
        for (pack, seen) in &o.migration {
            match self.migration.get_mut(pack) {
                Some(mine) => {
                    mine.add(seen.first, seen.after_cutoff);
                    mine.add(seen.last, false);
                }
                None => {
                    self.migration.insert(pack.clone(), *seen);
                }
            }
        }
        self.addresses.extend(o.addresses.iter().cloned());
        for (mine, theirs) in [
            (&mut self.mac, &o.mac),
            (&mut self.hostname, &o.hostname),
            (&mut self.vendor_class, &o.vendor_class),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    /// The addresses, comma-separated: the row's `host`.
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
}

/// Summary figures, the same in every format.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Distinct hosts.
    pub hosts: usize,
    /// Alert records.
    pub alerts: u64,
    /// Repeats that suppression folded into alerts (or still held at the end).
    pub suppressed: u64,
    /// Earliest and latest activity.
    pub first: Option<Timestamp>,
    /// Latest activity.
    pub last: Option<Timestamp>,
    /// Per vendor, most hosts first.
    pub vendors: Vec<VendorSummary>,
    /// Per channel, by name: (channel, hosts, count).
    pub channels: Vec<(String, usize, u64)>,
}

/// One vendor's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorSummary {
    /// Vendor.
    pub vendor: String,
    /// Hosts that alerted for it.
    pub hosts: usize,
    /// Hosts active at or after its cut-off (`None`: its packs name no cut-off).
    pub hosts_after_cutoff: Option<usize>,
    /// Its cut-off (Unix seconds of the day).
    pub cutoff: Option<i64>,
    /// Alert records and repeats.
    pub count: u64,
}

/// Accumulates alerts by vendor and host.
#[derive(Debug, Default)]
pub struct ReportBuilder {
    /// (vendor, host) -> row.
    rows: BTreeMap<(String, String), HostRow>,
    /// Lines that were not JSON (counted, reported on stderr by the CLI).
    pub bad_lines: u64,
    /// Alert records read.
    pub alerts: u64,
    /// Vendor -> its cut-off (Unix seconds), from the packs (or the alerts' metadata).
    cutoffs: BTreeMap<String, i64>,
    /// Channel names in the order first seen; `points` refer to them by index.
    channel_ids: Vec<String>,
    /// Pack id -> vendor, of the packs alerts named.
    packs_seen: BTreeMap<String, String>,
    /// What was analysed.
    context: ReportContext,
    /// EVE `pcap_filename` and `host` (sensor name) values of the records read back, at most
    /// [`MAX_SOURCES`] of each: what EVE files say they were made from.
    eve_captures: BTreeSet<String>,
    eve_sensors: BTreeSet<String>,
    /// (replaced pack, replacing pack) -> the migration day (Unix seconds) when known, from
    /// the alerts' pack relations.
    relations: BTreeMap<(String, String), Option<i64>>,
    /// Address -> the machine row that alerted from it last (time, row key): repeats that
    /// carry no identity (pending at the end) go there.
    machine_of: BTreeMap<String, (Timestamp, String)>,
}

/// Capture file and sensor names kept from EVE records for the header.
const MAX_SOURCES: usize = 256;

fn insert(set: &mut BTreeSet<String>, v: &str) {
    if !v.is_empty() && !set.contains(v) {
        set.insert(v.to_string());
    }
}

impl ReportBuilder {
    /// A builder whose header says what was analysed.
    pub fn with_context(context: ReportContext) -> Self {
        ReportBuilder {
            context,
            ..Self::default()
        }
    }

    /// Set what was analysed (the header).
    pub fn set_context(&mut self, context: ReportContext) {
        self.context = context;
    }

    /// What was analysed.
    pub fn context(&self) -> &ReportContext {
        &self.context
    }

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

    /// The index of a channel for the timeline points (the last one past the cap).
    fn channel_id(&mut self, channel: &str) -> u8 {
        if let Some(i) = self.channel_ids.iter().position(|c| c == channel) {
            return i as u8;
        }
        if self.channel_ids.len() < MAX_CHANNELS {
            self.channel_ids.push(channel.to_string());
        }
        (self.channel_ids.len() - 1) as u8
    }

    fn add_counts(&mut self, a: &AlertFacts<'_>, is_alert: bool) {
        if let Some(cutoff) = a.cutoff
            && self.cutoffs.get(a.vendor) != Some(&cutoff)
        {
            // Two packs of one vendor with different dates: the earlier one is shown.
            let at = self.cutoffs.entry(a.vendor.to_string()).or_insert(cutoff);
            *at = (*at).min(cutoff);
        }
        if !a.pack.is_empty() && !self.packs_seen.contains_key(a.pack) {
            self.packs_seen
                .insert(a.pack.to_string(), a.vendor.to_string());
        }
        let ch = self.channel_id(a.channel);
        // Rows are machines when the alert names one (see the module doc), else addresses.
        let row_key = match a.identity.row_key() {
            Some(key) => {
                if self.machine_of.get(a.host).is_none_or(|(t, _)| *t <= a.ts) {
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
        let key = (a.vendor.to_string(), row_key);
        let row = self.rows.entry(key).or_default();
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
        insert(&mut row.ifaces, a.iface);
        // Named sensors only: the interfaces alone are in `ifaces`.
        if !a.sensor.is_empty()
            && (row.sensors.len() < MAX_SENSORS_PER_HOST || row.sensors.contains_key(a.sensor))
        {
            let ifaces = match row.sensors.get_mut(a.sensor) {
                Some(i) => i,
                None => row.sensors.entry(a.sensor.to_string()).or_default(),
            };
            if ifaces.len() < MAX_IFACES_PER_SENSOR {
                insert(ifaces, a.iface);
            }
        }
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
        verdict::note(&mut self.relations, row, a);
        let k = (a.ts.secs, ch);
        if row.points.len() < MAX_POINTS_PER_HOST || row.points.contains_key(&k) {
            *row.points.entry(k).or_default() += a.count;
        } else {
            let near = row
                .points
                .range(..=k)
                .next_back()
                .or_else(|| row.points.range(k..).next())
                .map(|(k, _)| *k);
            if let Some(k) = near {
                *row.points.entry(k).or_default() += a.count;
            }
        }
    }

    /// Row key (the machine, else the address) -> its rows of every vendor merged.
    fn merged_by_key(&self) -> BTreeMap<&str, Cow<'_, HostRow>> {
        let mut merged: BTreeMap<&str, Cow<'_, HostRow>> = BTreeMap::new();
        for ((_, key), r) in &self.rows {
            match merged.get_mut(key.as_str()) {
                Some(m) => m.to_mut().merge(r),
                None => {
                    merged.insert(key, Cow::Borrowed(r));
                }
            }
        }
        merged
    }

    /// Hosts (each host's or machine's rows of all vendors merged), most recently seen first,
    /// with their `host` text (the addresses).
    fn rows(&self) -> Vec<(String, Cow<'_, HostRow>)> {
        let mut rows: Vec<_> = self
            .merged_by_key()
            .into_values()
            .map(|r| (r.host(), r))
            .collect();
        rows.sort_by(|a, b| b.1.last.cmp(&a.1.last).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    /// One vendor's hosts, most recently seen first, with their addresses.
    fn vendor_rows(&self, vendor: &str) -> Vec<(String, &HostRow)> {
        self.vendor_rows_keyed(vendor)
            .into_iter()
            .map(|(host, _, r)| (host, r))
            .collect()
    }

    /// [`Self::vendor_rows`] with each row's key (the machine, else the address).
    fn vendor_rows_keyed(&self, vendor: &str) -> Vec<(String, &str, &HostRow)> {
        let mut rows: Vec<(String, &str, &HostRow)> = self
            .rows
            .range((vendor.to_string(), String::new())..)
            .take_while(|((v, _), _)| v == vendor)
            .map(|((_, key), r)| (r.host(), key.as_str(), r))
            .collect();
        rows.sort_by(|a, b| b.2.last.cmp(&a.2.last).then_with(|| a.0.cmp(&b.0)));
        rows
    }

    /// Row key -> the machine's verdict over all its vendors' alerts (`-` when none).
    fn verdicts_by_key(&self) -> BTreeMap<&str, String> {
        self.merged_by_key()
            .into_iter()
            .map(|(key, r)| (key, verdict_or_dash(self, &r)))
            .collect()
    }

    /// Vendor -> its cut-off (Unix seconds of the day) for the vendors whose packs name one.
    pub fn cutoffs(&self) -> &BTreeMap<String, i64> {
        &self.cutoffs
    }

    /// Vendor -> hosts that alerted for it (both sorted): by address, a machine's addresses
    /// followed by its host name when known.
    pub fn by_vendor(&self) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((vendor, _), r) in &self.rows {
            let label = match &r.hostname {
                Some(name) => format!("{} ({name})", r.host()),
                None => r.host(),
            };
            out.entry(vendor.clone()).or_default().push(label);
        }
        for hosts in out.values_mut() {
            hosts.sort();
        }
        out
    }

    /// The packs the header names: the run's (scan, live), else those the alerts named.
    pub fn packs(&self) -> Vec<PackSummary> {
        if !self.context.packs.is_empty() {
            return self.context.packs.clone();
        }
        self.packs_seen
            .iter()
            .map(|(id, vendor)| PackSummary {
                id: id.clone(),
                vendor: vendor.clone(),
                version: String::new(),
                cutoff: self.cutoffs.get(vendor).copied(),
            })
            .collect()
    }

    /// Capture files and sensors the EVE records read back name (empty for scan and live,
    /// whose context says it).
    pub fn eve_sources(&self) -> (&BTreeSet<String>, &BTreeSet<String>) {
        (&self.eve_captures, &self.eve_sensors)
    }

    /// The summary figures.
    pub fn summary(&self) -> Summary {
        let mut s = Summary {
            alerts: self.alerts,
            ..Summary::default()
        };
        let mut hosts = BTreeSet::new();
        let mut vendors: BTreeMap<&str, VendorSummary> = BTreeMap::new();
        let mut channels: BTreeMap<&str, (BTreeSet<&str>, u64)> = BTreeMap::new();
        let mut count = 0;
        for ((vendor, host), r) in &self.rows {
            hosts.insert(host.as_str());
            count += r.count;
            s.first = s.first.min(r.first).or(s.first).or(r.first);
            s.last = s.last.max(r.last);
            let cutoff = self.cutoffs.get(vendor).copied();
            let v = vendors.entry(vendor).or_insert_with(|| VendorSummary {
                vendor: vendor.clone(),
                hosts: 0,
                hosts_after_cutoff: cutoff.map(|_| 0),
                cutoff,
                count: 0,
            });
            v.hosts += 1;
            v.count += r.count;
            if r.count_after_cutoff > 0
                && let Some(n) = &mut v.hosts_after_cutoff
            {
                *n += 1;
            }
            for c in &r.channels {
                channels.entry(c).or_default().0.insert(host);
            }
            for ((_, ch), n) in &r.points {
                if let Some(c) = self.channel_ids.get(usize::from(*ch)) {
                    channels.entry(c).or_default().1 += n;
                }
            }
        }
        s.hosts = hosts.len();
        s.suppressed = count.saturating_sub(self.alerts);
        s.vendors = vendors.into_values().collect();
        // Most hosts first: the vendor that matters most leads the summary and the tables.
        s.vendors
            .sort_by(|a, b| b.hosts.cmp(&a.hosts).then_with(|| a.vendor.cmp(&b.vendor)));
        s.channels = channels
            .into_iter()
            .map(|(c, (h, n))| (c.to_string(), h.len(), n))
            .collect();
        s
    }

    /// Number of hosts.
    pub fn len(&self) -> usize {
        self.rows
            .keys()
            .map(|(_, h)| h)
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// True when no alert was added.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
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

/// The host's migration verdicts (joined with ','), `-` when none applies.
fn verdict_or_dash(b: &ReportBuilder, r: &HostRow) -> String {
    let v = b.verdicts(r);
    if v.is_empty() {
        "-".to_string()
    } else {
        v.join(",")
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

/// The named sensors that saw a host, each with its interfaces: `a (eth0,eth1); b`.
fn sensors_list(r: &HostRow) -> String {
    r.sensors
        .iter()
        .map(|(name, ifaces)| match ifaces.is_empty() {
            true => name.clone(),
            false => format!("{name} ({})", join(ifaces)),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn fmt_ts(t: Option<Timestamp>) -> String {
    t.map(|t| UtcTime::from_timestamp(t).to_string())
        .unwrap_or_default()
}

/// The time span of the activity, `first .. last` in EVE's form, or "none".
fn span_text(s: &Summary) -> String {
    match (s.first, s.last) {
        (Some(a), Some(b)) => format!("{} .. {}", fmt_ts(Some(a)), fmt_ts(Some(b))),
        _ => "none".to_string(),
    }
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
        let none = Lineage::default();
        let a = |host, secs, count| AlertFacts {
            host,
            vendor: "Kaspersky",
            pack: "kaspersky",
            channel: "update",
            sid: 1,
            signature: "r",
            name: "x.kaspersky.com",
            iface: "",
            ts: Timestamp { secs, nanos: 0 },
            count,
            cutoff: Some(CUTOFF_SECS),
            lineage: &none,
            sensor: "",
            identity: IdentityFacts::default(),
        };
        b.add(&a("10.0.0.1", CUTOFF_SECS - 100, 1));
        b.add(&a("10.0.0.2", CUTOFF_SECS + 100, 5));
        b.add(&a("10.0.0.1", CUTOFF_SECS - 50, 2));
        let rows = b.rows();
        assert_eq!(rows[0].0, "10.0.0.2");
        assert_eq!((rows[0].1.count, yes_no(&rows[0].1)), (5, "yes"));
        assert_eq!((rows[1].1.count, yes_no(&rows[1].1)), (3, "no"));
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
        let none = Lineage::default();
        let fact = |host, vendor, secs, cutoff| AlertFacts {
            host,
            vendor,
            pack: "",
            channel: "update",
            sid: 1,
            signature: "r",
            name: "x",
            iface: "",
            ts: Timestamp { secs, nanos: 0 },
            count: 1,
            cutoff,
            lineage: &none,
            sensor: "",
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

    /// A host seen by two sensors (EVE `host`, `in_iface`) is one row naming both, with their
    /// interfaces, in every format; a host seen by one names it alone.
    #[test]
    fn a_host_seen_by_several_sensors_is_one_row_naming_them() {
        let line = |src: &str, sensor: &str, iface: &str| {
            format!(
                r#"{{"timestamp":"2024-10-01T12:00:00.000000+0000","event_type":"alert","src_ip":"{src}","dest_ip":"10.0.0.53","in_iface":"{iface}","alert":{{"signature_id":1,"signature":"r","metadata":{{"vendor":["Kaspersky"],"channel":["update"],"matched_name":["x"]}}}},"host":"{sensor}"}}"#
            )
        };
        let mut b = ReportBuilder::default();
        b.add_eve_line(&line("10.0.0.1", "a", "eth0"));
        b.add_eve_line(&line("10.0.0.1", "b", "eth1"));
        b.add_eve_line(&line("10.0.0.1", "b", "eth2"));
        b.add_eve_line(&line("10.0.0.2", "b", "eth1"));
        assert_eq!(b.len(), 2);
        let render = |f| {
            let mut out = Vec::new();
            b.write(&mut out, f).unwrap();
            String::from_utf8(out).unwrap()
        };
        let text = render(ReportFormat::Text);
        let row = |h: &str| text.lines().find(|l| l.starts_with(h)).unwrap().to_string();
        assert!(
            row("10.0.0.1 ").contains("a (eth0); b (eth1,eth2)"),
            "{text}"
        );
        assert!(row("10.0.0.2 ").contains(" b (eth1) "), "{text}");
        let csv = render(ReportFormat::Csv);
        assert!(
            csv.lines()
                .next()
                .unwrap()
                .ends_with(",sensors,interfaces,host_mac,host_name,host_vendor_class,verdict")
        );
        // Sensors and interfaces, then no identity and no verdict (no migration here).
        assert!(
            csv.contains(",\"a (eth0); b (eth1,eth2)\",\"eth0,eth1,eth2\",,,,\n"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(ReportFormat::Json)).unwrap();
        let host1 = json["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["host"] == "10.0.0.1")
            .unwrap();
        assert_eq!(
            host1["sensors"],
            serde_json::json!([
                {"name": "a", "interfaces": ["eth0"]},
                {"name": "b", "interfaces": ["eth1", "eth2"]}
            ])
        );
        let html = render(ReportFormat::Html);
        assert!(html.contains("<th data-t=\"s\">Sensor (interface)</th>"));
        assert!(
            html.contains("<td>a (eth0); b (eth1,eth2)</td></tr>"),
            "{html}"
        );
    }

    fn fact<'a>(
        host: &'a str,
        vendor: &'a str,
        channel: &'a str,
        name: &'a str,
        secs: i64,
        count: u64,
    ) -> AlertFacts<'a> {
        AlertFacts {
            host,
            vendor,
            pack: "",
            channel,
            sid: 7,
            signature: "r",
            name,
            iface: "eth1",
            ts: Timestamp { secs, nanos: 0 },
            count,
            cutoff: (vendor == "Kaspersky").then_some(CUTOFF_SECS),
            lineage: &NO_LINEAGE,
            sensor: "",
            identity: IdentityFacts::default(),
        }
    }

    /// An alert of a pack in no migration.
    static NO_LINEAGE: Lineage = Lineage {
        pack: String::new(),
        migrated_from: None,
        migrated_to: Vec::new(),
        migration: None,
    };

    fn render(b: &ReportBuilder, format: ReportFormat) -> String {
        let mut out = Vec::new();
        b.write(&mut out, format).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// A host that alerts for two vendors: one row per vendor (each vendor's table and
    /// cut-off count only its own activity), one merged row per host in JSON; the summary
    /// figures (hosts, after cut-off, alerts, suppressed repeats, channels) are the same in
    /// text and JSON.
    #[test]
    fn per_vendor_rows_merge_per_host_and_summaries_agree() {
        let mut b = ReportBuilder::default();
        b.add(&fact(
            "10.0.0.1",
            "Kaspersky",
            "update",
            "a.kaspersky.com",
            CUTOFF_SECS + 10,
            3,
        ));
        b.add(&fact(
            "10.0.0.1",
            "Dahua",
            "cloud",
            "x.easy4ipcloud.com",
            CUTOFF_SECS + 20,
            1,
        ));
        b.add(&fact(
            "10.0.0.2",
            "Kaspersky",
            "telemetry",
            "ksn.kaspersky-labs.com",
            CUTOFF_SECS - 10,
            1,
        ));
        b.add_repeats(&fact(
            "10.0.0.2",
            "Kaspersky",
            "telemetry",
            "ksn.kaspersky-labs.com",
            CUTOFF_SECS - 5,
            4,
        ));
        let s = b.summary();
        assert_eq!((s.hosts, s.alerts, s.suppressed), (2, 3, 2 + 4));
        assert_eq!(s.vendors[0].vendor, "Kaspersky");
        assert_eq!(
            (s.vendors[0].hosts, s.vendors[0].hosts_after_cutoff),
            (2, Some(1))
        );
        assert_eq!(
            (s.vendors[1].hosts, s.vendors[1].hosts_after_cutoff),
            (1, None)
        );
        assert_eq!(
            s.channels,
            vec![
                ("cloud".to_string(), 1, 1),
                ("telemetry".to_string(), 1, 5),
                ("update".to_string(), 1, 3)
            ]
        );
        let dahua = b.vendor_rows("Dahua");
        assert_eq!(
            (dahua.len(), dahua[0].1.count, yes_no(dahua[0].1)),
            (1, 1, "-")
        );

        let json: serde_json::Value =
            serde_json::from_str(&render(&b, ReportFormat::Json)).unwrap();
        let host = &json["hosts"][0];
        assert_eq!(host["host"], "10.0.0.1");
        assert_eq!(host["vendors"], serde_json::json!(["Dahua", "Kaspersky"]));
        assert_eq!(
            (host["count"].as_u64(), host["alerts"].as_u64()),
            (Some(4), Some(2))
        );
        assert_eq!(host["interfaces"], serde_json::json!(["eth1"]));
        let sj = &json["summary"];
        assert_eq!(
            (sj["hosts"].as_u64(), sj["alert_records"].as_u64()),
            (Some(2), Some(3))
        );
        assert_eq!(sj["suppressed_repeats"], 6);
        assert_eq!(sj["vendors"][0]["hosts_after_cutoff"], 1);
        let text = render(&b, ReportFormat::Text);
        assert!(
            text.contains("summary: 2 host(s), 3 alert record(s), 6 suppressed repeat(s)"),
            "{text}"
        );
        assert!(
            text.contains("hosts active after the cut-off: Kaspersky 1 of 2 (cut-off 2024-09-29)"),
            "{text}"
        );
        assert!(
            text.contains("telemetry       1 host(s), count 5"),
            "{text}"
        );
        let csv = render(&b, ReportFormat::Csv);
        assert_eq!(csv.lines().count(), 3);
        // interfaces, the identity (none here), then the verdict (no migration here).
        assert!(csv.lines().nth(1).unwrap().ends_with(",eth1,,,,"), "{csv}");
        // HTML: the host in both vendors' tables, each with its own count.
        let html = render(&b, ReportFormat::Html);
        assert_eq!(html.matches("<tr><td>10.0.0.1</td>").count(), 2);
        assert!(html.contains("<span class=\"after\" data-k=\"after\">1</span>"));
    }

    /// The timeline: a lane per host up to 40 hosts, per vendor beyond; the cut-off line
    /// comes after every bar (drawn over them); the axis is labelled with dates; names from
    /// the traffic are escaped.
    #[test]
    fn timeline_lanes_axis_and_cutoff_over_the_bars() {
        let lanes = |hosts: u32| {
            let mut b = ReportBuilder::default();
            for i in 0..hosts {
                let host = format!("10.0.{}.{}", i / 200, i % 200);
                b.add(&fact(
                    &host,
                    "Kaspersky",
                    "update",
                    "<script>x</script>",
                    CUTOFF_SECS - 86_400 * i64::from(i % 5),
                    1,
                ));
                b.add(&fact(
                    &host,
                    "Kaspersky",
                    "update",
                    "b.kaspersky.com",
                    CUTOFF_SECS + 86_400 * i64::from(i % 7),
                    1,
                ));
            }
            let html = render(&b, ReportFormat::Html);
            assert!(!html.contains("<script>x"), "unescaped name");
            let last_bar = html.rfind("class=\"bar\"").expect("bars");
            let cutoff = html.find("<line class=\"cutoff\"").expect("cut-off line");
            assert!(cutoff > last_bar, "cut-off drawn under the bars");
            assert!(
                html.contains("class=\"tick\"") && html.contains(">2024-09-"),
                "no dated axis"
            );
            assert!(html.contains("Kaspersky cut-off 2024-09-29</text>"));
            html.matches("<text class=\"lane\"").count()
        };
        assert_eq!(lanes(40), 40);
        assert_eq!(lanes(41), 1);
        let empty = render(&ReportBuilder::default(), ReportFormat::Html);
        assert!(empty.contains("<p>No alerts.</p>") && empty.contains("data-k=\"hosts\">0<"));
    }

    /// Reading EVE back: a capture file or a text file is not EVE (with the line), blank
    /// lines before the first record are fine, a later broken line is counted, a line with
    /// no end is read a bounded piece at a time.
    #[test]
    fn eve_reader_refuses_what_is_not_eve() {
        let read = |bytes: &[u8]| {
            let mut b = ReportBuilder::default();
            let r = b.add_eve_reader(bytes);
            (r, b)
        };
        let pcap = [0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, b'\n', 0xff];
        match read(&pcap).0 {
            Err(EveReadError::NotEve {
                line: 1,
                capture: true,
            }) => {}
            other => panic!("{other:?}"),
        }
        match read(b"\n  \nhello\n").0 {
            Err(EveReadError::NotEve {
                line: 3,
                capture: false,
            }) => {}
            other => panic!("{other:?}"),
        }
        match read(b"{\"timestamp\": \"x\"}\n").0 {
            Err(EveReadError::NotEve { line: 1, .. }) => {}
            other => panic!("{other:?}"),
        }
        let (r, b) = read(b"");
        assert!(r.is_ok() && b.is_empty());
        let (r, b) = read(b"\n{\"event_type\":\"stats\"}\nnot json\n\xff\xfe\n");
        assert!(r.is_ok());
        assert_eq!((b.bad_lines, b.alerts), (2, 0));
        let long = vec![b'x'; MAX_LINE * 3];
        assert!(matches!(
            read(&long).0,
            Err(EveReadError::NotEve { line: 1, .. })
        ));
        let mut eve = b"{\"event_type\":\"stats\"}\n".to_vec();
        eve.extend_from_slice(&long);
        eve.extend_from_slice(b"\n{\"event_type\":\"flow\"}\n");
        let (r, b) = read(&eve);
        assert!(r.is_ok());
        assert_eq!(b.bad_lines, 1);
    }

    /// One row per machine: two machines that held one address are two rows; one machine
    /// seen at two addresses is one row listing both; repeats without an identity go to the
    /// machine that alerted from the address last.
    #[test]
    fn rows_group_by_machine() {
        let mut b = ReportBuilder::default();
        let fact = |host, mac, name, secs| AlertFacts {
            identity: IdentityFacts {
                mac,
                hostname: name,
                vendor_class: None,
            },
            ..fact(host, "Kaspersky", "update", "x", secs, 1)
        };
        let a = Some("3c:52:82:0a:0a:0a");
        let bb = Some("3c:52:82:0b:0b:0b");
        b.add(&fact("10.1.0.11", a, Some("WS-A"), 100));
        b.add(&fact("10.1.0.11", bb, Some("LAPTOP-B"), 200));
        b.add(&fact("10.1.0.12", a, Some("WS-A"), 300));
        b.add(&fact("10.9.9.9", None, None, 50));
        b.add_repeats(&fact("10.1.0.11", None, None, 250));
        let got: Vec<_> = b
            .rows()
            .iter()
            .map(|(host, r)| (host.clone(), r.machine(), r.count))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "10.1.0.11,10.1.0.12".into(),
                    "WS-A (3c:52:82:0a:0a:0a)".into(),
                    2
                ),
                ("10.1.0.11".into(), "LAPTOP-B (3c:52:82:0b:0b:0b)".into(), 2),
                ("10.9.9.9".into(), String::new(), 1),
            ]
        );
        assert_eq!(b.summary().hosts, 3);
        let csv = render(&b, ReportFormat::Csv);
        assert!(
            csv.lines()
                .nth(1)
                .unwrap()
                .ends_with(",3c:52:82:0a:0a:0a,WS-A,,"),
            "{csv}"
        );
        let text = render(&b, ReportFormat::Text);
        assert!(
            text.contains("10.1.0.11 (LAPTOP-B), 10.1.0.11,10.1.0.12 (WS-A), 10.9.9.9"),
            "{text}"
        );
        let html = render(&b, ReportFormat::Html);
        assert!(
            html.contains("LAPTOP-B (3c:52:82:0b:0b:0b)"),
            "machine in the HTML table"
        );
    }
}
