//! The JSON report: one document with the hosts, most recent first.

use std::io::{self, Write};

use super::{ReportBuilder, fmt_day, fmt_ts};

impl ReportBuilder {
    pub(super) fn write_json(&self, w: &mut dyn Write) -> io::Result<()> {
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
                    "seen_after_cutoff": r.has_cutoff.then_some(r.count_after_cutoff > 0),
                    "count_after_cutoff": r.count_after_cutoff,
                    "addresses": r.addresses,
                    "host_mac": r.mac,
                    "host_name": r.hostname,
                    "host_vendor_class": r.vendor_class,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "cutoffs": self
                .cutoffs
                .iter()
                .map(|(vendor, secs)| (vendor.clone(), serde_json::Value::from(fmt_day(*secs))))
                .collect::<serde_json::Map<_, _>>(),
            "alert_records": self.alerts,
            "hosts": hosts,
        });
        serde_json::to_writer_pretty(&mut *w, &doc)?;
        writeln!(w)
    }
}
