//! The text report: what was analysed, aligned columns for a terminal, then the summary
//! figures (the same as the JSON's `summary` and the HTML's header).

use std::io::{self, Write};

use super::{
    ReportBuilder, fmt_day, fmt_ts, join, rules_list, sensors_list, span_text, verdict_or_dash,
    yes_no,
};

impl ReportBuilder {
    pub(super) fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        let summary = self.summary();
        writeln!(
            w,
            "hosts calling home: {} (from {} alert records)",
            summary.hosts, summary.alerts
        )?;
        let ctx = &self.context;
        if !ctx.inputs.is_empty() {
            writeln!(
                w,
                "analysed: {}: {}",
                ctx.source.inputs_label(),
                ctx.inputs.join(", ")
            )?;
        }
        if let Some(sensor) = &ctx.sensor {
            writeln!(w, "sensor: {sensor}")?;
        }
        let (captures, sensors) = self.eve_sources();
        if !captures.is_empty() {
            writeln!(w, "capture files in the records: {}", list(captures))?;
        }
        if !sensors.is_empty() {
            writeln!(w, "sensors in the records: {}", list(sensors))?;
        }
        let packs: Vec<String> = self
            .packs()
            .iter()
            .map(|p| match p.version.as_str() {
                "" => p.id.clone(),
                v => format!("{} {v}", p.id),
            })
            .collect();
        if !packs.is_empty() {
            writeln!(w, "packs: {}", packs.join(", "))?;
        }
        writeln!(w, "time span: {}", span_text(&summary))?;
        writeln!(
            w,
            "{:<39} {:<40} {:<16} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} {:<10} {:<20} {:<28} RULES",
            "HOST",
            "MACHINE",
            "VENDORS",
            "CHANNELS",
            "ALERTS",
            "COUNT",
            "FIRST SEEN",
            "LAST SEEN",
            "AFTER",
            "IFACE",
            "SENSORS",
            "VERDICT"
        )?;
        for (host, r) in self.rows() {
            let ifaces = join(&r.ifaces);
            writeln!(
                w,
                "{:<39} {:<40} {:<16} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} {:<10} {:<20} {:<28} {}",
                host,
                match r.machine() {
                    m if m.is_empty() => "-".to_string(),
                    m => m,
                },
                join(&r.vendors),
                join(&r.channels),
                r.alerts,
                r.count,
                fmt_ts(r.first),
                fmt_ts(r.last),
                yes_no(&r),
                if ifaces.is_empty() { "-" } else { &ifaces },
                sensors_list(&r),
                verdict_or_dash(self, &r),
                rules_list(&r)
            )?;
        }
        writeln!(
            w,
            "summary: {} host(s), {} alert record(s), {} suppressed repeat(s)",
            summary.hosts, summary.alerts, summary.suppressed
        )?;
        let by_vendor = self.by_vendor();
        writeln!(w, "vendors: {}", summary.vendors.len())?;
        for v in &summary.vendors {
            let hosts = by_vendor.get(&v.vendor).map(|h| h.join(", "));
            writeln!(
                w,
                "  {:<12} {:>4} host(s): {}",
                v.vendor,
                v.hosts,
                hosts.unwrap_or_default()
            )?;
        }
        let relations = self.relations_text();
        if !relations.is_empty() {
            writeln!(
                w,
                "VERDICT: migrations {}; websites (channel portal) never make one",
                relations.join(", ")
            )?;
        }
        let after: Vec<String> = summary
            .vendors
            .iter()
            .filter_map(|v| {
                let (n, c) = (v.hosts_after_cutoff?, v.cutoff?);
                Some(format!(
                    "{} {n} of {} (cut-off {})",
                    v.vendor,
                    v.hosts,
                    fmt_day(c)
                ))
            })
            .collect();
        if !after.is_empty() {
            writeln!(w, "hosts active after the cut-off: {}", after.join("; "))?;
        }
        writeln!(w, "channels: {}", summary.channels.len())?;
        for (channel, hosts, count) in &summary.channels {
            writeln!(w, "  {channel:<12} {hosts:>4} host(s), count {count}")?;
        }
        let cutoffs: Vec<String> = self
            .cutoffs
            .iter()
            .map(|(vendor, secs)| format!("{vendor} {}", fmt_day(*secs)))
            .collect();
        if cutoffs.is_empty() {
            writeln!(
                w,
                "AFTER: no pack names a cut-off date (-); COUNT includes suppressed repeats"
            )
        } else {
            writeln!(
                w,
                "AFTER: seen at or after the vendor's cut-off ({}); COUNT includes suppressed repeats",
                cutoffs.join(", ")
            )
        }
    }
}

fn list(set: &std::collections::BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}
