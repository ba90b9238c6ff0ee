//! The text report: aligned columns for a terminal, then hosts per vendor.

use std::io::{self, Write};

use super::{ReportBuilder, fmt_day, fmt_ts, join, rules_list, yes_no};

impl ReportBuilder {
    pub(super) fn write_text(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "hosts calling home: {} (from {} alert records)",
            self.len(),
            self.alerts
        )?;
        writeln!(
            w,
            "{:<39} {:<40} {:<10} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} RULES",
            "HOST",
            "MACHINE",
            "VENDORS",
            "CHANNELS",
            "ALERTS",
            "COUNT",
            "FIRST SEEN",
            "LAST SEEN",
            "AFTER"
        )?;
        for (host, r) in self.rows() {
            writeln!(
                w,
                "{:<39} {:<40} {:<10} {:<28} {:>7} {:>7}  {:<31} {:<31} {:<5} {}",
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
