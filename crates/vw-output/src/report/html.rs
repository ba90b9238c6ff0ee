//! The HTML report: one self-contained page (no external scripts, styles or fonts) that reads
//! at 1280-1600 px and prints cleanly. A header with what was analysed and the summary
//! figures, an SVG timeline (a lane per host, or per vendor when there are many hosts, a dated
//! axis, each vendor's cut-off drawn over the bars), then one table per vendor (sortable and
//! filterable by a small inline script; complete without it).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::{HostRow, ReportBuilder, Summary, fmt_day, fmt_ts, rules_list, sensors_list, yes_no};
use crate::capture::Timestamp;

/// Above this many hosts, the timeline has one lane per vendor (with host counts).
const MAX_HOST_LANES: usize = 40;
/// Names shown in a cell before the rest go behind a disclosure.
const NAMES_INLINE: usize = 4;
/// Inputs listed in the header before the rest go behind a disclosure.
const INPUTS_INLINE: usize = 8;

const STYLE: &str = r#"
:root{--red:#b00020;--ink:#1d2327;--mute:#5b6670;--line:#d5dbe0;--head:#eef1f4}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;margin:0;color:var(--ink);background:#fff}
main{max-width:1560px;margin:0 auto;padding:18px 28px 40px}
h1{font-size:22px;margin:0}
h2{font-size:18px;margin:30px 0 6px;padding-bottom:3px;border-bottom:2px solid var(--ink)}
h2 small{font-size:13px;font-weight:normal;color:var(--mute);margin-left:8px}
.sub{color:var(--mute);margin:2px 0 10px}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:0 0 14px}
dl.meta dt{color:var(--mute)}
dl.meta dd{margin:0;overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:170px;max-width:380px}
.card h3{font-size:13px;margin:0;color:var(--mute);font-weight:600}
.card .big{font-size:26px;font-weight:650;line-height:1.2}
.card .after{color:var(--red);font-weight:600}
.card ul{list-style:none;margin:2px 0 0;padding:0}
.sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:baseline}
.timeline svg{display:block;width:100%;height:auto}
.timeline text{font-family:system-ui,"DejaVu Sans",Arial,sans-serif}
table.hosts{width:100%;table-layout:fixed;border-collapse:collapse;font-size:13px}
table.hosts th,table.hosts td{border-bottom:1px solid var(--line);padding:4px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere}
table.hosts th{background:var(--head);position:sticky;top:0;z-index:1;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
table.hosts th.sortable{cursor:pointer;user-select:none}
table.hosts th[aria-sort=ascending]::after{content:" \25B2"}
table.hosts th[aria-sort=descending]::after{content:" \25BC"}
table.hosts tbody tr:nth-child(even){background:#f8f9fa}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.after-yes{background:#fdecee;color:var(--red);font-weight:700;box-shadow:inset 3px 0 0 var(--red)}
td.after-no{color:var(--mute)}
.ch{display:inline-block;padding:0 5px;border-radius:3px;color:#fff;font-size:12px;margin:1px 3px 1px 0;white-space:nowrap}
.nm{margin-right:7px}
.grp{margin:2px 0}
.grp b{font-weight:600;color:var(--mute);margin-right:4px}
details summary{cursor:pointer;color:#1a4f8b}
.filterbar{margin:4px 0 6px;display:flex;gap:10px;align-items:center}
.filterbar input{font:inherit;padding:3px 8px;width:340px;border:1px solid var(--line);border-radius:4px}
.filterbar .shown{color:var(--mute)}
footer{margin-top:30px;color:var(--mute);font-size:12px}
@media print{
@page{size:A4 landscape;margin:10mm}
main{max-width:none;padding:0}
.filterbar{display:none}
table.hosts{font-size:10.5px}
table.hosts th{position:static}
thead{display:table-header-group}
tr{break-inside:avoid}
h2{break-after:avoid}
section.vendor.first{break-before:page}
table.hosts th{white-space:normal}
.timeline,.card{break-inside:avoid}
body{-webkit-print-color-adjust:exact;print-color-adjust:exact}
details>summary{display:none}
details::details-content{content-visibility:visible;display:contents}
}
"#;

const SCRIPT: &str = r#"
(function(){
var each=function(l,f){Array.prototype.forEach.call(l,f);};
each(document.querySelectorAll('table.hosts'),function(t){
 var hs=t.tHead.rows[0].cells;
 each(hs,function(h,i){
  h.classList.add('sortable');h.tabIndex=0;
  var go=function(){
   var asc=h.getAttribute('aria-sort')!=='ascending';
   each(hs,function(x){x.removeAttribute('aria-sort');});
   h.setAttribute('aria-sort',asc?'ascending':'descending');
   var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows);
   rows.sort(function(p,q){var x=p.cells[i],y=q.cells[i],c;
    if(h.dataset.t==='n'){c=Number(x.dataset.v)-Number(y.dataset.v);}
    else{c=x.textContent.localeCompare(y.textContent,undefined,{numeric:true});}
    return asc?c:-c;});
   rows.forEach(function(r){b.appendChild(r);});
  };
  h.addEventListener('click',go);
  h.addEventListener('keydown',function(e){if(e.key==='Enter'||e.key===' '){e.preventDefault();go();}});
 });
});
each(document.querySelectorAll('.filterbar'),function(bar){
 var inp=bar.querySelector('input'),out=bar.querySelector('.shown'),t=document.getElementById(inp.dataset.table);
 bar.hidden=false;
 inp.addEventListener('input',function(){
  var q=inp.value.trim().toLowerCase(),n=0,rows=t.tBodies[0].rows;
  each(rows,function(r){var ok=!q||r.textContent.toLowerCase().indexOf(q)>=0;r.hidden=!ok;if(ok)n++;});
  out.textContent=q?(n+' of '+rows.length+' hosts'):'';
 });
});
window.addEventListener('beforeprint',function(){each(document.querySelectorAll('details'),function(d){d.open=true;});});
document.body.setAttribute('data-sortable','ready');
})();
"#;

/// Colours of the usual channels; others take the spare palette in order.
fn channel_color(channel: &str, index: usize) -> &'static str {
    const SPARE: [&str; 6] = [
        "#b5651d", "#4d7c0f", "#6b21a8", "#0e7490", "#9f1239", "#52525b",
    ];
    match channel {
        "update" => "#1f6fb4",
        "telemetry" => "#e07b00",
        "activation" => "#2e8b3e",
        "management" => "#7e57c2",
        "portal" => "#8d6e63",
        "cloud" => "#00897b",
        "other" => "#757575",
        _ => SPARE[index % SPARE.len()],
    }
}

/// A channel's colour (grey for one the legend does not know).
fn color_of<'a>(colors: &BTreeMap<&str, &'a str>, channel: &str) -> &'a str {
    colors.get(channel).copied().unwrap_or("#777")
}

impl ReportBuilder {
    pub(super) fn write_html(&self, w: &mut dyn Write) -> io::Result<()> {
        let s = self.summary();
        let colors: BTreeMap<&str, &str> = s
            .channels
            .iter()
            .enumerate()
            .map(|(i, (c, _, _))| (c.as_str(), channel_color(c, i)))
            .collect();
        let mut out = String::with_capacity(64 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>vendorwatch: hosts calling home</title><style>{STYLE}</style></head>\
             <body><main>\n"
        );
        self.html_header(&mut out, &s, &colors);
        out.push_str("<section class=\"timeline\"><h2>Timeline</h2>\n");
        out.push_str(&self.timeline_svg(&s, &colors));
        out.push_str("</section>\n");
        for (i, v) in s.vendors.iter().enumerate() {
            self.html_vendor_table(&mut out, i, &v.vendor, &colors);
        }
        let _ = write!(
            out,
            "<footer>Written by vendorwatch {}. Count = alert records plus the repeats \
             suppression folded into them. \"After cut-off\": seen at or after the vendor's \
             cut-off date, from its signature pack.</footer>\n</main>\n<script>{SCRIPT}</script>\n</body></html>\n",
            env!("CARGO_PKG_VERSION")
        );
        w.write_all(out.as_bytes())
    }

    /// What was analysed, then the summary figures.
    fn html_header(&self, out: &mut String, s: &Summary, colors: &BTreeMap<&str, &str>) {
        let ctx = &self.context;
        out.push_str("<header><h1>Hosts still calling home</h1>");
        out.push_str("<p class=\"sub\">vendorwatch inventory report. All times are UTC.</p>");
        out.push_str("<dl class=\"meta\" id=\"analysed\">");
        if !ctx.inputs.is_empty() {
            let list = |items: &[String]| {
                items
                    .iter()
                    .map(|i| format!("<code>{}</code>", esc(i)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = write!(
                out,
                "<dt>Analysed</dt><dd>{} ({}): {}",
                ctx.source.inputs_label(),
                ctx.inputs.len(),
                list(&ctx.inputs[..ctx.inputs.len().min(INPUTS_INLINE)])
            );
            if ctx.inputs.len() > INPUTS_INLINE {
                let _ = write!(
                    out,
                    "<details><summary>all {}</summary>{}</details>",
                    ctx.inputs.len(),
                    list(&ctx.inputs)
                );
            }
            out.push_str("</dd>");
        }
        if let Some(sensor) = &ctx.sensor {
            let _ = write!(out, "<dt>Sensor</dt><dd>{}</dd>", esc(sensor));
        }
        let (captures, sensors) = self.eve_sources();
        for (label, set) in [("Capture files", captures), ("Sensors", sensors)] {
            if set.is_empty() {
                continue;
            }
            let list: Vec<String> = set
                .iter()
                .map(|c| format!("<code>{}</code>", esc(c)))
                .collect();
            let _ = write!(
                out,
                "<dt>{label}</dt><dd>named in the records: {}</dd>",
                list.join(", ")
            );
        }
        let span = match (s.first, s.last) {
            (Some(a), Some(b)) => format!(
                "{} to {} ({})",
                short_ts(a),
                short_ts(b),
                fmt_duration(b.secs - a.secs)
            ),
            _ => "no alerts".to_string(),
        };
        let _ = write!(out, "<dt>Time span</dt><dd id=\"span\">{span}</dd>");
        let packs: Vec<String> = self
            .packs()
            .iter()
            .map(|p| {
                let mut t = format!("<code>{}</code>", esc(&p.id));
                if !p.version.is_empty() {
                    let _ = write!(t, " {}", esc(&p.version));
                }
                let _ = write!(t, " ({}", esc(&p.vendor));
                if let Some(c) = p.cutoff {
                    let _ = write!(t, ", cut-off {}", fmt_day(c));
                }
                t.push(')');
                t
            })
            .collect();
        let packs = if packs.is_empty() {
            "none named".to_string()
        } else {
            packs.join("; ")
        };
        let _ = write!(out, "<dt>Packs</dt><dd id=\"packs\">{packs}</dd>");
        out.push_str("</dl></header>\n");

        out.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
        let _ = write!(
            out,
            "<div class=\"card\"><h3>Hosts</h3><div class=\"big\" data-k=\"hosts\">{}</div>\
             {} vendor(s)</div>",
            s.hosts,
            s.vendors.len()
        );
        for v in &s.vendors {
            let after = match (v.hosts_after_cutoff, v.cutoff) {
                (Some(n), Some(c)) => format!(
                    "<span class=\"after\" data-k=\"after\">{n}</span> active after the cut-off {}",
                    fmt_day(c)
                ),
                _ => "its packs name no cut-off".to_string(),
            };
            let _ = write!(
                out,
                "<div class=\"card vendor-card\"><h3>{}</h3><div class=\"big\">{}</div>host(s); {after}</div>",
                esc(&v.vendor),
                v.hosts
            );
        }
        let _ = write!(
            out,
            "<div class=\"card\"><h3>Alerts</h3><div class=\"big\" data-k=\"alerts\">{}</div>\
             alert records; <span data-k=\"suppressed\">{}</span> suppressed repeat(s)</div>",
            s.alerts, s.suppressed
        );
        out.push_str("<div class=\"card\"><h3>Channels seen</h3><ul>");
        for (c, hosts, count) in &s.channels {
            let _ = write!(
                out,
                "<li><span class=\"sw\" style=\"background:{}\"></span>{}: {hosts} host(s), count {count}</li>",
                color_of(colors, c),
                esc(c)
            );
        }
        out.push_str("</ul></div></div></section>\n");
    }

    /// One vendor's table.
    fn html_vendor_table(
        &self,
        out: &mut String,
        index: usize,
        vendor: &str,
        colors: &BTreeMap<&str, &str>,
    ) {
        let rows = self.vendor_rows_keyed(vendor);
        let cutoff = self.cutoffs.get(vendor).copied();
        let after = rows
            .iter()
            .filter(|(_, _, r)| r.count_after_cutoff > 0)
            .count();
        let note = match cutoff {
            Some(c) => format!(
                "{} host(s), {after} active after the cut-off {}",
                rows.len(),
                fmt_day(c)
            ),
            None => format!("{} host(s), no cut-off in its packs", rows.len()),
        };
        let id = format!("t{index}");
        // The verdict is the host's (all its vendors' alerts), shown only when the packs name
        // a migration; the names column gives it the room.
        let verdicts = (!self.relations.is_empty()).then(|| self.verdicts_by_key());
        let (names_width, verdict_col, verdict_head) = match verdicts {
            Some(_) => (
                16,
                "<col style=\"width:9%\">",
                "<th data-t=\"s\">Verdict</th>",
            ),
            None => (25, "", ""),
        };
        let _ = write!(
            out,
            "<section class=\"vendor{}\"><h2>{}<small>{note}</small></h2>\
             <div class=\"filterbar\" hidden><input type=\"search\" data-table=\"{id}\" \
             placeholder=\"Filter: host, name, channel, interface\" aria-label=\"Filter the {} hosts\">\
             <span class=\"shown\"></span></div>\
             <table class=\"hosts\" id=\"{id}\"><colgroup><col style=\"width:12%\"><col style=\"width:12%\">\
             <col style=\"width:10%\"><col style=\"width:9%\"><col style=\"width:9%\"><col style=\"width:6%\"><col style=\"width:8%\">\
             {verdict_col}<col style=\"width:{names_width}%\"><col style=\"width:9%\"></colgroup><thead><tr>\
             <th data-t=\"s\">Host</th><th data-t=\"s\">Machine</th><th data-t=\"s\">Channels</th><th data-t=\"n\">First seen</th>\
             <th data-t=\"n\">Last seen</th><th data-t=\"n\">Count</th><th data-t=\"n\">After cut-off</th>\
             {verdict_head}<th data-t=\"s\">Names matched</th><th data-t=\"s\">Sensor (interface)</th></tr></thead><tbody>",
            if index == 0 { " first" } else { "" },
            esc(vendor),
            esc(vendor)
        );
        for (host, key, r) in rows {
            let verdict = verdicts
                .as_ref()
                .map(|v| v.get(key).map_or("-", String::as_str));
            self.html_row(out, &host, r, verdict, colors);
        }
        out.push_str("</tbody></table></section>\n");
    }

    fn html_row(
        &self,
        out: &mut String,
        host: &str,
        r: &HostRow,
        verdict: Option<&str>,
        colors: &BTreeMap<&str, &str>,
    ) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td>",
            esc(host),
            esc(&r.machine())
        );
        let _ = write!(out, "<td title=\"{}\">", esc(&rules_list(r)));
        for c in &r.channels {
            let _ = write!(
                out,
                "<span class=\"ch\" style=\"background:{}\">{}</span>",
                color_of(colors, c),
                esc(c)
            );
        }
        out.push_str("</td>");
        for t in [r.first, r.last] {
            let _ = write!(
                out,
                "<td data-v=\"{}\">{}</td>",
                t.map_or(0, |t| t.secs),
                t.map(short_ts).unwrap_or_default()
            );
        }
        let _ = write!(out, "<td class=\"num\" data-v=\"{0}\">{0}</td>", r.count);
        let after = yes_no(r);
        let text = match after {
            "yes" => format!("yes ({})", r.count_after_cutoff),
            other => other.to_string(),
        };
        let _ = write!(
            out,
            "<td class=\"after-{}\" data-v=\"{}\">{text}</td>",
            match after {
                "yes" => "yes",
                "no" => "no",
                _ => "none",
            },
            if r.has_cutoff {
                r.count_after_cutoff as i64
            } else {
                -1
            }
        );
        if let Some(v) = verdict {
            let _ = write!(out, "<td class=\"verdict\">{}</td>", esc(v));
        }
        out.push_str("<td>");
        names_cell(out, r);
        out.push_str("</td>");
        // Named sensors with their interfaces (a fleet's report), else the interfaces.
        let ifaces: Vec<String> = r.ifaces.iter().map(|i| esc(i)).collect();
        let cell = if r.sensors.keys().any(|s| !s.is_empty()) {
            esc(&sensors_list(r))
        } else if ifaces.is_empty() {
            "-".to_string()
        } else {
            ifaces.join(", ")
        };
        let _ = writeln!(out, "<td>{cell}</td></tr>");
    }

    /// The timeline: lanes (a host each, or a vendor each past [`MAX_HOST_LANES`] hosts), a
    /// dated axis, each vendor's cut-off drawn after (so over) the bars, a legend.
    fn timeline_svg(&self, s: &Summary, colors: &BTreeMap<&str, &str>) -> String {
        let (Some(first), Some(last)) = (s.first, s.last) else {
            return "<p>No alerts.</p>".to_string();
        };
        const W: f64 = 1200.0;
        const X0: f64 = 200.0;
        const X1: f64 = 1140.0;
        const BINS: usize = 140;
        let (mut t0, mut t1) = (first.secs, last.secs + 1);
        // A cut-off near the activity widens the axis so its line shows; a far one is named
        // at the edge instead of squeezing the bars into a corner.
        let reach = (t1 - t0).max(86_400);
        for c in self.cutoffs.values() {
            if *c < t0 && t0 - c <= reach {
                t0 = *c;
            } else if *c > t1 && c - t1 <= reach {
                t1 = *c;
            }
        }
        if t1 - t0 < 10 {
            let mid = t0 + (t1 - t0) / 2;
            (t0, t1) = (mid - 5, mid + 5);
        }
        let pad = (t1 - t0) / 50;
        let (t0, t1) = (t0 - pad, t1 + pad);
        let span = (t1 - t0) as f64;
        let x = |t: i64| X0 + (t - t0) as f64 / span * (X1 - X0);
        let bin_of = |t: i64| {
            (((t - t0) as f64 / span) * BINS as f64).clamp(0.0, BINS as f64 - 1.0) as usize
        };
        let bin_w = (X1 - X0) / BINS as f64;

        // Lanes: label, per-bin counts by channel index, per-bin hosts (vendor lanes).
        struct Lane {
            label: String,
            group: Option<String>,
            bins: Vec<BTreeMap<u8, u64>>,
            hosts: Vec<u32>,
        }
        let per_host = s.hosts <= MAX_HOST_LANES;
        let mut lanes: Vec<Lane> = Vec::new();
        for v in &s.vendors {
            let mut rows = self.vendor_rows(&v.vendor);
            rows.sort_by(|a, b| a.1.first.cmp(&b.1.first).then_with(|| a.0.cmp(&b.0)));
            let new_lane = |label: String, group| Lane {
                label,
                group,
                bins: vec![BTreeMap::new(); BINS],
                hosts: vec![0; BINS],
            };
            if per_host {
                for (i, (host, r)) in rows.iter().enumerate() {
                    let mut lane = new_lane(host.to_string(), (i == 0).then(|| v.vendor.clone()));
                    add_points(&mut lane.bins, &mut lane.hosts, r, &bin_of);
                    lanes.push(lane);
                }
            } else {
                let mut lane = new_lane(format!("{} ({} hosts)", v.vendor, rows.len()), None);
                for (_, r) in &rows {
                    add_points(&mut lane.bins, &mut lane.hosts, r, &bin_of);
                }
                lanes.push(lane);
            }
        }
        fn add_points(
            bins: &mut [BTreeMap<u8, u64>],
            hosts: &mut [u32],
            r: &HostRow,
            bin_of: &dyn Fn(i64) -> usize,
        ) {
            let mut touched = vec![false; bins.len()];
            for ((t, ch), n) in &r.points {
                let b = bin_of(*t);
                *bins[b].entry(*ch).or_default() += n;
                touched[b] = true;
            }
            for (h, t) in hosts.iter_mut().zip(touched) {
                *h += u32::from(t);
            }
        }

        let lane_h = if per_host { 18.0 } else { 30.0 };
        let group_h = if per_host { 18.0 } else { 0.0 };
        let far_cutoffs: Vec<(&String, i64)> = self
            .cutoffs
            .iter()
            .filter(|(_, c)| !(t0..=t1).contains(*c))
            .map(|(v, c)| (v, *c))
            .collect();
        let near_cutoffs: Vec<(&String, i64)> = self
            .cutoffs
            .iter()
            .filter(|(_, c)| (t0..=t1).contains(*c))
            .map(|(v, c)| (v, *c))
            .collect();
        let top = 10.0 + 16.0 * (near_cutoffs.len() + far_cutoffs.len()) as f64;
        let groups = lanes.iter().filter(|l| l.group.is_some()).count() as f64;
        let plot_bottom = top + lanes.len() as f64 * lane_h + groups * group_h;
        let axis_y = plot_bottom + 4.0;
        let legend_y = axis_y + 40.0;
        let h = legend_y + 16.0;
        let mut svg = String::with_capacity(32 * 1024);
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" id="timeline" viewBox="0 0 {W} {h:.0}" width="{W}" height="{h:.0}" role="img" aria-label="Alerts over time, {}" font-size="11">"##,
            if per_host {
                "one lane per host"
            } else {
                "one lane per vendor"
            }
        );
        // Ticks and grid first (under everything).
        svg.push_str(r##"<g class="axis">"##);
        let step = tick_step(t1 - t0, X1 - X0);
        let mut t = t0.div_euclid(step) * step;
        if t < t0 {
            t += step;
        }
        let _ = write!(
            svg,
            r##"<line x1="{X0}" y1="{axis_y:.1}" x2="{X1}" y2="{axis_y:.1}" stroke="#333"/>"##
        );
        while t <= t1 {
            let tx = x(t);
            let mut label = short_ts(Timestamp { secs: t, nanos: 0 });
            label.truncate(tick_label_len(step));
            let _ = write!(
                svg,
                r##"<line x1="{tx:.1}" y1="{top:.1}" x2="{tx:.1}" y2="{axis_y:.1}" stroke="#e3e6e9"/><line x1="{tx:.1}" y1="{axis_y:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#333"/><text class="tick" x="{tx:.1}" y="{:.1}" text-anchor="middle" fill="#333">{label}</text>"##,
                axis_y + 5.0,
                axis_y + 18.0
            );
            t += step;
        }
        svg.push_str("</g>\n");
        // Lanes and their bars.
        let max_v = lanes
            .iter()
            .flat_map(|l| {
                l.bins.iter().zip(&l.hosts).map(|(b, hcount)| {
                    if per_host {
                        b.values().sum::<u64>()
                    } else {
                        u64::from(*hcount)
                    }
                })
            })
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        svg.push_str(r##"<g class="lanes">"##);
        let mut y = top;
        for (i, lane) in lanes.iter().enumerate() {
            if let Some(g) = &lane.group {
                let _ = write!(
                    svg,
                    r##"<text x="4" y="{:.1}" font-weight="bold" fill="#1d2327">{}</text>"##,
                    y + 13.0,
                    esc(g)
                );
                y += group_h;
            }
            if i % 2 == 0 {
                let _ = write!(
                    svg,
                    r##"<rect x="0" y="{y:.1}" width="{X1}" height="{lane_h}" fill="#f4f6f8"/>"##
                );
            }
            let _ = write!(
                svg,
                r##"<text class="lane" x="{}" y="{:.1}" fill="#333">{}</text>"##,
                if per_host { 14 } else { 4 },
                y + lane_h / 2.0 + 4.0,
                esc(&lane.label)
            );
            for (b, counts) in lane.bins.iter().enumerate() {
                let total: u64 = counts.values().sum();
                if total == 0 {
                    continue;
                }
                let v = if per_host {
                    total as f64
                } else {
                    f64::from(lane.hosts[b])
                };
                let bar_h = (lane_h - 4.0) * (0.35 + 0.65 * v / max_v);
                let bx = X0 + b as f64 * bin_w;
                let mut by = y + lane_h - 2.0;
                let mut tip = String::new();
                if !per_host {
                    let _ = write!(tip, "{} host(s); ", lane.hosts[b]);
                }
                let _ = write!(
                    tip,
                    "{total} from {}",
                    short_ts(Timestamp {
                        secs: t0 + (b as f64 * span / BINS as f64) as i64,
                        nanos: 0
                    })
                );
                for (ch, n) in counts {
                    let name = self
                        .channel_ids
                        .get(usize::from(*ch))
                        .map_or("?", String::as_str);
                    let _ = write!(tip, "; {name} {n}");
                }
                for (ch, n) in counts {
                    let name = self
                        .channel_ids
                        .get(usize::from(*ch))
                        .map_or("?", String::as_str);
                    let seg = bar_h * *n as f64 / total as f64;
                    by -= seg;
                    let _ = write!(
                        svg,
                        r##"<rect class="bar" x="{bx:.1}" y="{by:.1}" width="{:.1}" height="{seg:.1}" fill="{}"><title>{}</title></rect>"##,
                        (bin_w - 1.0).max(1.0),
                        color_of(colors, name),
                        esc(&tip)
                    );
                }
            }
            y += lane_h;
        }
        svg.push_str("</g>\n");
        // Cut-offs last, so they are drawn over the bars.
        svg.push_str(r##"<g class="cutoffs">"##);
        for (i, (vendor, c)) in near_cutoffs.iter().enumerate() {
            let cx = x(*c);
            let ly = 12.0 + 16.0 * i as f64;
            let anchor = if cx > X1 - 200.0 { "end" } else { "start" };
            let lx = if anchor == "end" { cx - 4.0 } else { cx + 4.0 };
            let _ = write!(
                svg,
                r##"<line class="cutoff" x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{axis_y:.1}" stroke="#b00020" stroke-width="2" stroke-dasharray="6,3"/><text class="cutoff-label" x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="#b00020" font-weight="bold">{} cut-off {}</text>"##,
                ly - 10.0,
                esc(vendor),
                fmt_day(*c)
            );
        }
        for (i, (vendor, c)) in far_cutoffs.iter().enumerate() {
            let ly = 12.0 + 16.0 * (near_cutoffs.len() + i) as f64;
            let (lx, anchor, text) = if *c < t0 {
                (
                    X0,
                    "start",
                    format!(
                        "\u{25C0} {} cut-off {} (before the axis: all shown is after it)",
                        vendor,
                        fmt_day(*c)
                    ),
                )
            } else {
                (
                    X1,
                    "end",
                    format!(
                        "{} cut-off {} (after the axis) \u{25B6}",
                        vendor,
                        fmt_day(*c)
                    ),
                )
            };
            let _ = write!(
                svg,
                r##"<text class="cutoff-label" x="{lx:.1}" y="{ly:.1}" text-anchor="{anchor}" fill="#b00020" font-weight="bold">{}</text>"##,
                esc(&text)
            );
        }
        svg.push_str("</g>\n");
        // Legend: channels, then the cut-off line.
        let _ = write!(svg, r##"<g class="legend">"##);
        let mut lx = X0;
        for (c, color) in colors {
            let _ = write!(
                svg,
                r##"<rect x="{lx:.1}" y="{:.1}" width="12" height="12" fill="{color}"/><text x="{:.1}" y="{legend_y:.1}" fill="#333">{}</text>"##,
                legend_y - 10.0,
                lx + 16.0,
                esc(c)
            );
            lx += 28.0 + 7.0 * c.chars().count() as f64;
        }
        let _ = write!(
            svg,
            r##"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#b00020" stroke-width="2" stroke-dasharray="6,3"/><text x="{:.1}" y="{legend_y:.1}" fill="#333">vendor cut-off</text><text x="{X1}" y="{legend_y:.1}" text-anchor="end" fill="#5b6670">{}</text>"##,
            legend_y - 4.0,
            lx + 22.0,
            legend_y - 4.0,
            lx + 28.0,
            if per_host {
                "bar height: count in the interval"
            } else {
                "bar height: hosts active in the interval"
            }
        );
        svg.push_str("</g></svg>\n");
        svg
    }
}

/// The names of a row: up to [`NAMES_INLINE`] as they are, more as the first two and the full
/// list behind a disclosure, grouped by the domain they are under (addresses apart).
fn names_cell(out: &mut String, r: &HostRow) {
    let mut groups: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for n in &r.names {
        groups.entry(group_of(n)).or_default().push(n);
    }
    let grouped = |out: &mut String| {
        for (g, names) in &groups {
            let _ = write!(
                out,
                "<div class=\"grp\"><b>{} ({})</b>",
                esc(g),
                names.len()
            );
            for n in names {
                let _ = write!(out, "<span class=\"nm\">{}</span> ", esc(n));
            }
            out.push_str("</div>");
        }
    };
    if r.names.len() <= NAMES_INLINE {
        for n in &r.names {
            let _ = write!(out, "<span class=\"nm\">{}</span> ", esc(n));
        }
        return;
    }
    for n in r.names.iter().take(2) {
        let _ = write!(out, "<span class=\"nm\">{}</span> ", esc(n));
    }
    let _ = write!(
        out,
        "<details><summary>all {} names, {} group(s)</summary>",
        r.names.len(),
        groups.len()
    );
    grouped(out);
    out.push_str("</details>");
}

/// The group of a matched name: "addresses" for an IP, else its last two labels.
fn group_of(name: &str) -> String {
    if name.parse::<std::net::IpAddr>().is_ok() {
        return "addresses".to_string();
    }
    let labels: Vec<&str> = name.trim_end_matches('.').rsplitn(3, '.').collect();
    match labels.as_slice() {
        [tld, sld, ..] => format!("{sld}.{tld}"),
        _ => name.to_string(),
    }
}

/// Characters of a tick label at a step: the date, with minutes below a day, with seconds
/// below a minute.
fn tick_label_len(step: i64) -> usize {
    match step {
        86_400.. => 10,
        60.. => 16,
        _ => 19,
    }
}

/// A step for the time axis giving at most 10 ticks, and no more than their labels (about
/// 6.6 units a character at the axis' font size) fit across `width` without overlapping.
fn tick_step(span: i64, width: f64) -> i64 {
    const STEPS: [i64; 25] = [
        1,
        2,
        5,
        10,
        30,
        60,
        300,
        900,
        1800,
        3600,
        3 * 3600,
        6 * 3600,
        12 * 3600,
        86_400,
        2 * 86_400,
        4 * 86_400,
        7 * 86_400,
        14 * 86_400,
        30 * 86_400,
        91 * 86_400,
        182 * 86_400,
        365 * 86_400,
        730 * 86_400,
        1826 * 86_400,
        3652 * 86_400,
    ];
    let fits = |step: i64| {
        let room = (width / (tick_label_len(step) as f64 * 6.6 + 16.0)) as i64;
        span / step <= room.min(10)
    };
    STEPS
        .into_iter()
        .find(|s| fits(*s))
        .unwrap_or_else(|| (span / 10).max(1))
}

/// `YYYY-MM-DD HH:MM:SS` (UTC).
fn short_ts(t: Timestamp) -> String {
    let mut s = fmt_ts(Some(t));
    s.truncate(19);
    s.replace('T', " ")
}

/// A duration as days, hours and minutes.
fn fmt_duration(secs: i64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
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
