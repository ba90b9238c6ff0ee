//! The human summary printed on stderr at the end of `scan` and `live`: what was read, what
//! was not decoded and why, what alerted, and which hosts still call home.

use std::io::{self, Write};

use vendorwatch::decode::SkipReason;
use vendorwatch::detect::inventory::Inventory;
use vendorwatch::detect::suppress::Suppressor;
use vendorwatch::output::hub::HubReport;
use vendorwatch::output::time::UtcTime;
use vendorwatch::pipeline::ScanStats;
use vendorwatch::record::counters::Counters;
use vendorwatch::sigs::text::printable;

/// Which job the summary is of: `scan` lists its files, `live` its kernel counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `vendorwatch scan`.
    Scan,
    /// `vendorwatch live`.
    Live,
}

/// Write the summary (to stderr in the CLI; any writer in tests).
pub fn write_summary(
    w: &mut dyn Write,
    job: Job,
    scan: &ScanStats,
    counters: &Counters,
    inventory: &Inventory,
    suppress: &Suppressor,
    hub: &HubReport,
) -> io::Result<()> {
    let read = &scan.read;
    match job {
        Job::Scan => {
            writeln!(w, "vendorwatch scan summary")?;
            write!(
                w,
                "  files: {} read, {} failed",
                read.files_ok, read.files_failed
            )?;
            if scan.files_unfinished > 0 {
                write!(
                    w,
                    ", {} not finished (the output failed)",
                    scan.files_unfinished
                )?;
            }
            if scan.files_not_captures > 0 {
                write!(
                    w,
                    ", {} skipped in directories (not pcap/pcapng)",
                    scan.files_not_captures
                )?;
            }
            writeln!(w)?;
            if scan.dirs_repeated + scan.files_repeated > 0 {
                writeln!(
                    w,
                    "  reached again through links or loops, skipped: {} directories, {} files",
                    scan.dirs_repeated, scan.files_repeated
                )?;
            }
        }
        Job::Live => {
            writeln!(w, "vendorwatch live summary")?;
            if let Some(k) = &read.capture {
                writeln!(
                    w,
                    "  capture: {} packets from the kernel, {} dropped (buffer full), {} dropped by the interfaces",
                    k.kernel_packets, k.kernel_drops, k.kernel_ifdrops
                )?;
                // AF_PACKET only, and only when something happened.
                for (n, what) in [
                    (
                        k.kernel_freeze_queue,
                        "time(s) the AF_PACKET ring was full (--ring-size)",
                    ),
                    (
                        k.ring_bad_blocks,
                        "AF_PACKET ring block(s) with a malformed frame header, cut there",
                    ),
                ] {
                    if n > 0 {
                        writeln!(w, "  capture: {n} {what}")?;
                    }
                }
            }
        }
    }
    writeln!(w, "  packets: {} ({} bytes)", read.packets, read.bytes)?;
    if read.ts_out_of_range + read.ts_jumps > 0 {
        writeln!(
            w,
            "  timestamps: {} out of range (clamped in records), {} jumped by more than {} h",
            read.ts_out_of_range,
            read.ts_jumps,
            vendorwatch::capture::clock::MAX_JUMP_SECS / 3600
        )?;
    }
    let skipped = counters.not_decoded();
    let detect = &counters.detect;
    let d = &counters.decode;
    writeln!(
        w,
        "  decoded: {} ({} from tunnels, {} reassembled from fragments)",
        d.decoded, d.tunnelled, d.reassembled
    )?;
    writeln!(
        w,
        "  not decoded: {skipped} ({} malformed)",
        counters.invalid()
    )?;
    for reason in SkipReason::ALL {
        let n = counters.skipped[reason.index()];
        if n > 0 {
            writeln!(w, "    {:<26} {n:>10}", reason.label())?;
        }
    }
    let f = &d.defrag;
    if f.fragments > 0 {
        writeln!(
            w,
            "  ip fragments: {} ({} datagrams reassembled, {} overlaps kept first, {} datagrams expired, {} evicted by cap, {} fragments dropped)",
            f.fragments, f.reassembled, f.overlaps, f.expired, f.evicted, f.dropped
        )?;
    }
    writeln!(
        w,
        "  dns messages: {} ({} invalid), tls client hellos: {}",
        detect.dns_messages, detect.dns_invalid, detect.client_hellos
    )?;
    if detect.dns_over_limit > 0 {
        writeln!(
            w,
            "  dns: {} questions and answers not parsed (over the limit of {} questions, {} answers per message)",
            detect.dns_over_limit,
            vendorwatch::proto::dns::MAX_QUESTIONS,
            vendorwatch::proto::dns::MAX_ANSWERS
        )?;
    }
    let f = &counters.flow;
    writeln!(
        w,
        "  http requests: {}; tcp flows: {} ({} closed, {} evicted idle, {} evicted at the flow cap), reassembled: {}, reassembly refused at the memory cap: {}, first-flight limit hit: {}",
        detect.http_requests,
        f.flows_created,
        f.closed,
        f.evicted_idle,
        f.evicted_cap,
        f.reassembled,
        f.reasm_refused,
        f.first_flight_limit_hit
    )?;
    writeln!(
        w,
        "  tcp streams: client hellos cut at the first-flight limit: {} (no JA4), http heads cut at the head limit: {}, http streams resynchronised: {}",
        f.hellos_cut, f.http_heads_cut, f.http_resyncs
    )?;
    let q = &counters.quic;
    writeln!(
        w,
        "  quic: initial datagrams: {}, client initials decrypted: {} ({} not decryptable), client hellos: {} ({} reassembled over packets, {} pending evicted, {} expired, {} crypto frames over the cap)",
        q.datagrams,
        q.initials,
        q.undecryptable,
        q.client_hellos,
        q.assembly.completed,
        q.assembly.evicted,
        q.assembly.expired,
        q.assembly.overflow
    )?;
    let id = &counters.identity;
    if id.dhcp_messages + id.dhcp_invalid + id.macs_held > 0 {
        writeln!(
            w,
            "  host identity: {} dhcp messages ({} invalid), {} leases; held: {} addresses, {} dhcp clients, {} macs ({} routers); evicted at the cap: {} addresses, {} dhcp clients, {} macs",
            id.dhcp_messages,
            id.dhcp_invalid,
            id.leases,
            id.leases_held,
            id.clients_held,
            id.macs_held,
            id.routers,
            id.lease_evictions,
            id.client_evictions,
            id.mac_evictions
        )?;
    }
    let a = &counters.answers;
    if a.remembered > 0 {
        writeln!(
            w,
            "  resolved addresses: {} remembered from answers to matched names, {} evicted at the cap, {} connections attributed",
            a.remembered, a.evicted, a.hits
        )?;
    }
    write!(
        w,
        "  alerts: {}, eve records written: {}",
        detect.alerts, hub.records
    )?;
    if hub.reopen_failures > 0 {
        write!(
            w,
            ", eve reopen failures: {} (kept writing to the file opened before)",
            hub.reopen_failures
        )?;
    }
    writeln!(w)?;
    write_suppression(w, suppress)?;
    if detect.hits_dropped > 0 {
        writeln!(
            w,
            "  hits dropped (over the per-packet limit): {}",
            detect.hits_dropped
        )?;
    }
    if detect.lineage_evicted > 0 {
        writeln!(
            w,
            "  migration memory evictions (--migration-capacity): {} (those hosts' later alerts \
             may lack alert.metadata.verdict; the report's verdicts are unaffected)",
            detect.lineage_evicted
        )?;
    }
    if !scan.errors.is_empty() {
        writeln!(w, "  errors: {}", scan.errors.len())?;
    }
    if inventory.is_empty() {
        writeln!(w, "hosts calling home: none")?;
        return Ok(());
    }
    writeln!(w, "hosts calling home: {}", inventory.len())?;
    writeln!(
        w,
        "  {:<39} {:<10} {:<36} {:>6}  {:<31}  {:<31}",
        "HOST", "VENDOR", "CHANNELS", "HITS", "FIRST SEEN", "LAST SEEN"
    )?;
    for (host, entry) in inventory.hosts() {
        // Vendor names come from packs: printed with control characters escaped.
        let vendors: Vec<_> = entry.vendors.iter().map(|v| printable(v)).collect();
        let channels: Vec<&str> = entry.channels.iter().map(String::as_str).collect();
        writeln!(
            w,
            "  {:<39} {:<10} {:<36} {:>6}  {}  {}",
            host.to_string(),
            vendors.join(","),
            channels.join(","),
            entry.alerts,
            UtcTime::from_timestamp(entry.first_seen),
            UtcTime::from_timestamp(entry.last_seen)
        )?;
    }
    writeln!(w, "vendors seen: {}", inventory.by_vendor().len())?;
    for (vendor, hosts) in inventory.by_vendor() {
        let hosts: Vec<String> = hosts.iter().map(ToString::to_string).collect();
        writeln!(
            w,
            "  {:<12} {:>4} host(s): {}",
            printable(vendor),
            hosts.len(),
            hosts.join(", ")
        )?;
    }
    Ok(())
}

/// Most keys listed in the suppression roll-up; the totals line always covers all of them.
const ROLLUP_LINES: usize = 20;

/// Suppression totals and the roll-up of keys with suppressed repeats.
fn write_suppression(w: &mut dyn Write, s: &Suppressor) -> io::Result<()> {
    if !s.enabled() {
        return writeln!(w, "  suppression: off");
    }
    writeln!(
        w,
        "  suppressed repeats: {} ({} carried in later alerts' metadata.repeats, {} pending at exit, {} in {} evicted keys)",
        s.suppressed,
        s.reported_in_alerts,
        s.pending(),
        s.evicted_pending,
        s.evictions
    )?;
    let rollup = s.rollup();
    for (key, total) in rollup.iter().take(ROLLUP_LINES) {
        writeln!(
            w,
            "    {:<39} sid {:<8} {:<11} {:<40} {total} suppressed",
            key.host.to_string(),
            key.sid,
            key.observation,
            key.name
        )?;
    }
    if rollup.len() > ROLLUP_LINES {
        writeln!(w, "    ... and {} more keys", rollup.len() - ROLLUP_LINES)?;
    }
    Ok(())
}
