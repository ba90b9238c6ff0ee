//! The EVE `stats` record: Suricata's `event_type: stats` shape, with only keys Suricata's
//! schema knows (it forbids unknown ones at every level): `uptime`, `capture.kernel_*` (live
//! capture, from libpcap), `decoder.pkts/bytes/invalid/avg_pkt_size` (`invalid`: malformed packets only), `flow.tcp/active`,
//! `tcp.sessions`, `app_layer.tx.dns_udp/tls/http`, `detect.alert/alerts_suppressed`.
//! Counters are totals since start, as Suricata writes them. The one writer of the record,
//! for `scan --stats` (one worker or many) and `live` alike.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::capture::Timestamp;
use crate::json::JsonWriter;
use crate::record::counters::StatsSnapshot;
use crate::time::UtcTime;

/// Now, as a capture timestamp.
pub fn now() -> Timestamp {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: d.subsec_nanos(),
    }
}

/// Build the record in `j`; the top-level object is left open (the formatter adds the
/// sensor's `host` and closes it).
pub fn write_stats(j: &mut JsonWriter, ts: Timestamp, s: &StatsSnapshot) {
    j.reset();
    j.begin_object();
    j.key("timestamp");
    j.fmt_str(format_args!("{}", UtcTime::from_timestamp(ts)));
    j.field_str("event_type", "stats");
    j.key("stats");
    j.begin_object();
    j.field_u64("uptime", s.uptime_secs);
    if let Some(c) = &s.read.capture {
        j.key("capture");
        j.begin_object();
        j.field_u64("kernel_packets", c.kernel_packets);
        j.field_u64("kernel_drops", c.kernel_drops);
        j.field_u64("kernel_ifdrops", c.kernel_ifdrops);
        j.end_object();
    }
    j.key("decoder");
    j.begin_object();
    j.field_u64("pkts", s.read.packets);
    j.field_u64("bytes", s.read.bytes);
    // Malformed packets only; ARP, ICMP and the like are not ours, not invalid.
    j.field_u64("invalid", s.counters.invalid());
    j.field_u64(
        "avg_pkt_size",
        s.read.bytes.checked_div(s.read.packets).unwrap_or(0),
    );
    j.end_object();
    j.key("flow");
    j.begin_object();
    j.field_u64("tcp", s.counters.flow.flows_created);
    j.field_u64("active", s.counters.active_flows);
    j.end_object();
    j.key("tcp");
    j.begin_object();
    j.field_u64("sessions", s.counters.flow.flows_created);
    j.end_object();
    j.key("app_layer");
    j.begin_object();
    j.key("tx");
    j.begin_object();
    j.field_u64("dns_udp", s.counters.detect.dns_messages);
    j.field_u64("tls", s.counters.detect.client_hellos);
    j.field_u64("http", s.counters.detect.http_requests);
    j.field_u64("dhcp", s.counters.identity.dhcp_messages);
    j.end_object();
    j.end_object();
    j.key("detect");
    j.begin_object();
    j.field_u64("alert", s.counters.detect.alerts);
    j.field_u64("alerts_suppressed", s.counters.suppress.suppressed);
    j.end_object();
    j.end_object();
}
