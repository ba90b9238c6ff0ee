//! The HTML report: one self-contained page (no external scripts, styles or fonts).

use std::fmt::Write as _;
use std::io::{self, Write};

use std::collections::BTreeMap;

use super::{HostRow, ReportBuilder, fmt_day, fmt_ts, join, rules_list, yes_no};

impl ReportBuilder {
    pub(super) fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        let rows = self.rows();
        let (t0, t1) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), (_, r)| {
            (
                lo.min(r.first.map_or(lo, |t| t.secs)),
                hi.max(r.last.map_or(hi, |t| t.secs)),
            )
        });
        let cutoff_text = if self.cutoffs.is_empty() {
            "No pack names a cut-off date.".to_string()
        } else {
            let days: Vec<String> = self
                .cutoffs
                .iter()
                .map(|(vendor, secs)| format!("{vendor} {}", fmt_day(*secs)))
                .collect();
            format!(
                "Cut-off (vendor updates end): {}; \"after\" counts what was seen at or after it.",
                days.join(", ")
            )
        };
        let mut body = String::new();
        for (host, r) in &rows {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(host),
                esc(&r.machine()),
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
                timeline_svg(r, t0, t1, &self.cutoffs),
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
<p id="summary">{hosts} host(s) from {alerts} alert record(s). {cutoff_text} Counts include suppressed repeats. Click a column header to sort.</p>
<table id="hosts"><thead><tr><th data-t="s">Host</th><th data-t="s">Machine</th><th data-t="s">Vendors</th><th data-t="s">Channels</th><th data-t="s">Rules</th><th data-t="n">First seen</th><th data-t="n">Last seen</th><th data-t="n">Count</th><th data-t="n">After cut-off</th><th data-t="s">Names</th><th>Timeline</th></tr></thead>
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
            cutoff_text = esc(&cutoff_text),
            alerts = self.alerts,
            body = body
        )
    }
}

/// An inline SVG: the host's alerts as bars on the report's common time axis, the cut-off as a
/// red line when it falls inside the axis.
fn timeline_svg(r: &HostRow, t0: i64, t1: i64, cutoffs: &BTreeMap<String, i64>) -> String {
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
    for cutoff in r.vendors.iter().filter_map(|v| cutoffs.get(v)) {
        if !(t0..=t1).contains(cutoff) {
            continue;
        }
        let cx = x(*cutoff);
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
