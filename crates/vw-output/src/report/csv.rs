//! The CSV report: RFC 4180 with a header row, guarded against formula injection.

use std::io::{self, Write};

use super::{ReportBuilder, fmt_ts, join, rules_list, sensors_list};

impl ReportBuilder {
    pub(super) fn write_csv(&self, w: &mut dyn Write) -> io::Result<()> {
        writeln!(
            w,
            "host,vendors,channels,rules,names,first_seen,last_seen,alerts,count,seen_after_cutoff,count_after_cutoff,sensors,interfaces,host_mac,host_name,host_vendor_class,verdict"
        )?;
        for (host, r) in self.rows() {
            let fields = [
                host.to_string(),
                join(&r.vendors),
                join(&r.channels),
                rules_list(&r),
                join(&r.names),
                fmt_ts(r.first),
                fmt_ts(r.last),
                r.alerts.to_string(),
                r.count.to_string(),
                match r.has_cutoff {
                    true => (r.count_after_cutoff > 0).to_string(),
                    false => String::new(),
                },
                r.count_after_cutoff.to_string(),
                sensors_list(&r),
                join(&r.ifaces),
                r.mac.clone().unwrap_or_default(),
                r.hostname.clone().unwrap_or_default(),
                r.vendor_class.clone().unwrap_or_default(),
                self.verdicts(&r).join(","),
            ];
            let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
            writeln!(w, "{}", line.join(","))?;
        }
        Ok(())
    }
}

/// One RFC 4180 field. A cell a spreadsheet would read as a formula (starting with `=`, `+`,
/// `-`, `@`, tab or carriage return; names come from the traffic) gets a leading `'`, as the
/// OWASP CSV injection guidance says, so it is shown as text and never run.
pub(super) fn csv_field(f: &str) -> String {
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
