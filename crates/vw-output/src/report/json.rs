//! The JSON report: what was analysed, the summary figures, and the hosts, most recent first.

use std::io::{self, Write};

use super::{ReportBuilder, fmt_day, fmt_ts};

impl ReportBuilder {
    pub(super) fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
        let hosts: Vec<serde_json::Value> = self
            .rows()
            .into_iter()
            .map(|(host, r)| {
                let verdict = Some(self.verdicts(&r).join(",")).filter(|v| !v.is_empty());
                serde_json::json!({
                    "host": host,
                    "vendors": r.vendors,
                    "channels": r.channels,
                    "rules": r.rules.iter().map(|(sid, name)| serde_json::json!({"sid": sid, "name": name})).collect::<Vec<_>>(),
                    "names": r.names,
                    "interfaces": r.ifaces,
                    "first_seen": fmt_ts(r.first),
                    "last_seen": fmt_ts(r.last),
                    "alerts": r.alerts,
                    "count": r.count,
                    "seen_after_cutoff": r.has_cutoff.then_some(r.count_after_cutoff > 0),
                    "count_after_cutoff": r.count_after_cutoff,
                    "verdict": verdict,
                    "sensors": r.sensors.iter().map(|(name, ifaces)| serde_json::json!({"name": name, "interfaces": ifaces})).collect::<Vec<_>>(),
                    "addresses": r.addresses,
                    "host_mac": r.mac,
                    "host_name": r.hostname,
                    "host_vendor_class": r.vendor_class,
                })
            })
            .collect();
        let s = self.summary();
        let ctx = &self.context;
        let doc = serde_json::json!({
            "analysed": {
                "source": ctx.source.name(),
                "inputs": ctx.inputs,
                "sensor": ctx.sensor,
                "capture_files_in_records": self.eve_sources().0,
                "sensors_in_records": self.eve_sources().1,
                "packs": self.packs().iter().map(|p| serde_json::json!({
                    "id": p.id,
                    "vendor": p.vendor,
                    "version": (!p.version.is_empty()).then_some(&p.version),
                    "cutoff": p.cutoff.map(fmt_day),
                })).collect::<Vec<_>>(),
                "first_seen": s.first.map(|t| fmt_ts(Some(t))),
                "last_seen": s.last.map(|t| fmt_ts(Some(t))),
            },
            "summary": {
                "hosts": s.hosts,
                "alert_records": s.alerts,
                "suppressed_repeats": s.suppressed,
                "vendors": s.vendors.iter().map(|v| serde_json::json!({
                    "vendor": v.vendor,
                    "hosts": v.hosts,
                    "hosts_after_cutoff": v.hosts_after_cutoff,
                    "cutoff": v.cutoff.map(fmt_day),
                    "count": v.count,
                })).collect::<Vec<_>>(),
                "channels": s.channels.iter().map(|(c, h, n)| serde_json::json!({
                    "channel": c, "hosts": h, "count": n,
                })).collect::<Vec<_>>(),
            },
            "cutoffs": self
                .cutoffs
                .iter()
                .map(|(vendor, secs)| (vendor.clone(), serde_json::Value::from(fmt_day(*secs))))
                .collect::<serde_json::Map<_, _>>(),
            "migrations": self.relations_text(),
            "alert_records": self.alerts,
            "hosts": hosts,
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }
}
