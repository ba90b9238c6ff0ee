//! Counters of the stages, defined here (below both the engine that counts and the outputs
//! that report) so the `stats` record, the metrics and the summary read them without
//! reaching into the engine. Each sums with `+=` next to its definition: a field added later
//! is summed where it is declared.

use std::ops::AddAssign;

use crate::capture::CaptureCounters;
use crate::capture::clock::TimeCheck;
use crate::decode::{DecodeStats, SkipReason};
use crate::proto::quic::AssemblyStats;

/// Counters of the flow layer, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowStats {
    /// Flows created.
    pub flows_created: u64,
    /// Flows dropped after `idle_timeout_secs` without packets.
    pub evicted_idle: u64,
    /// Flows dropped to make room under `max_flows`.
    pub evicted_cap: u64,
    /// Flows ended by RST or FIN in both directions.
    pub closed: u64,
    /// Segments (or parts of them) refused because the global reassembly cap was reached.
    pub reasm_refused: u64,
    /// Directions given up because the first flight reached its limit undecided.
    pub first_flight_limit_hit: u64,
    /// Segments copied into a reassembly buffer.
    pub segments_buffered: u64,
    /// Bytes that arrived again for an offset already held (retransmissions, overlaps).
    pub overlap_bytes: u64,
    /// Most bytes held in reassembly buffers at once.
    pub reasm_peak_bytes: u64,
    /// ClientHellos, request heads and DNS messages completed from more than one segment.
    pub reassembled: u64,
    /// ClientHellos longer than the first-flight limit, parsed from what it held (no JA4).
    pub hellos_cut: u64,
    /// HTTP request heads longer than the head limit, parsed from what it held (the rest of
    /// the head skipped).
    pub http_heads_cut: u64,
    /// HTTP client streams whose framing was lost (no request where one should start, a bad
    /// chunk line, a gap, the reassembly cap) and taken up again at a segment starting a request.
    pub http_resyncs: u64,
}

/// Counters for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuicStats {
    /// Datagrams that passed the Initial pre-check.
    pub datagrams: u64,
    /// Client Initial packets decrypted.
    pub initials: u64,
    /// Initial packets that did not authenticate (server Initials, damage, look-alikes).
    pub undecryptable: u64,
    /// ClientHellos handed on.
    pub client_hellos: u64,
    /// Initial packets whose frames could not all be walked (unknown frame type, damage).
    pub frame_errors: u64,
    /// The reassembly table's counters.
    pub assembly: AssemblyStats,
}

/// Counters of what detection saw, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// DNS messages parsed.
    pub dns_messages: u64,
    /// DNS-port payloads that were not valid DNS.
    pub dns_invalid: u64,
    /// Questions and answers of valid DNS messages not parsed: past the walk's limits
    /// (`proto::dns::MAX_QUESTIONS`, `MAX_ANSWERS`) in their message.
    pub dns_over_limit: u64,
    /// TLS ClientHellos parsed.
    pub client_hellos: u64,
    /// ClientHellos from QUIC Initials.
    pub quic_hellos: u64,
    /// HTTP/1.x request heads parsed.
    pub http_requests: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Hits beyond the per-packet limit, dropped (see [`MAX_HITS_PER_PACKET`]).
    pub hits_dropped: u64,
    /// Hosts forgotten by the migration memory at its capacity (their later alerts carry no
    /// `migrated-to-...` verdict; the report's verdicts are unaffected).
    pub lineage_evicted: u64,
}

/// Counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AnswerStats {
    /// Addresses remembered (new or refreshed).
    pub remembered: u64,
    /// Addresses evicted at the capacity.
    pub evicted: u64,
    /// Lookups that found a live address.
    pub hits: u64,
}

/// Adds the named `u64` fields of two values; the struct is taken apart so that a field
/// missing from the list fails to compile.
macro_rules! add_fields {
    ($ty:ident { $($field:ident),* $(,)? } $(max { $($peak:ident),* })?) => {
        impl AddAssign for $ty {
            fn add_assign(&mut self, other: Self) {
                let $ty { $($field,)* $($($peak,)*)? } = other;
                $(self.$field += $field;)*
                $($(self.$peak = self.$peak.max($peak);)*)?
            }
        }
    };
}

add_fields!(FlowStats {
    flows_created,
    evicted_idle,
    evicted_cap,
    closed,
    reasm_refused,
    first_flight_limit_hit,
    segments_buffered,
    overlap_bytes,
    reassembled,
    hellos_cut,
    http_heads_cut,
    http_resyncs,
} max { reasm_peak_bytes });

add_fields!(QuicStats {
    datagrams,
    initials,
    undecryptable,
    client_hellos,
    frame_errors,
    assembly,
});

add_fields!(DetectStats {
    dns_messages,
    dns_invalid,
    dns_over_limit,
    client_hellos,
    quic_hellos,
    http_requests,
    alerts,
    hits_dropped,
    lineage_evicted,
});

add_fields!(AnswerStats {
    remembered,
    evicted,
    hits,
});

add_fields!(SuppressStats {
    suppressed,
    evictions,
});

add_fields!(IdentityStats {
    dhcp_messages,
    dhcp_invalid,
    leases,
    lease_evictions,
    client_evictions,
    mac_evictions,
} max { leases_held, clients_held, macs_held, routers });

/// What the host identity table did (one table shared by every worker, counted once).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentityStats {
    /// DHCP messages (v4 and v6) read.
    pub dhcp_messages: u64,
    /// Datagrams on a DHCP port that did not parse as DHCP.
    pub dhcp_invalid: u64,
    /// Leases recorded (DHCPACK, DHCPv6 Reply addresses).
    pub leases: u64,
    /// Addresses whose lease history was dropped at the table's capacity.
    pub lease_evictions: u64,
    /// DHCP clients (by MAC) dropped at the capacity.
    pub client_evictions: u64,
    /// MACs learned from frames dropped at the capacity.
    pub mac_evictions: u64,
    /// Addresses with a lease history held now.
    pub leases_held: u64,
    /// DHCP clients held now.
    pub clients_held: u64,
    /// MACs learned from frames held now.
    pub macs_held: u64,
    /// Of those, MACs seen in front of many addresses (routers): never attributed.
    pub routers: u64,
}

/// What the alert suppression table did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SuppressStats {
    /// Alerts suppressed as repeats.
    pub suppressed: u64,
    /// Keys evicted at the table's capacity.
    pub evictions: u64,
}

/// Every counter of the stages after capture, summed over workers: what a `stats` record,
/// the metrics endpoint and the summary report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Decoder counters.
    pub decode: DecodeStats,
    /// Packets not decoded, by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::ALL.len()],
    /// TCP flow table counters.
    pub flow: FlowStats,
    /// QUIC Initial counters.
    pub quic: QuicStats,
    /// Detection counters.
    pub detect: DetectStats,
    /// The DNS answer table.
    pub answers: AnswerStats,
    /// Alert suppression (a table shared by workers is counted once).
    pub suppress: SuppressStats,
    /// The host identity table (shared by workers, counted once).
    pub identity: IdentityStats,
    /// Flows in the tables now.
    pub active_flows: u64,
}

impl AddAssign for Counters {
    fn add_assign(&mut self, o: Self) {
        let Counters {
            decode,
            skipped,
            flow,
            quic,
            detect,
            answers,
            suppress,
            identity,
            active_flows,
        } = o;
        self.decode += decode;
        for (t, s) in self.skipped.iter_mut().zip(skipped) {
            *t += s;
        }
        self.flow += flow;
        self.quic += quic;
        self.detect += detect;
        self.answers += answers;
        self.suppress += suppress;
        self.identity += identity;
        self.active_flows += active_flows;
    }
}

impl Counters {
    /// Packets that were malformed (Suricata's `decoder.invalid`): skips whose reason says
    /// the bytes were bad, not that the packet was simply not ours (ARP, ICMP, ...).
    pub fn invalid(&self) -> u64 {
        SkipReason::ALL
            .iter()
            .filter(|r| r.is_malformed())
            .map(|r| self.skipped[r.index()])
            .sum()
    }

    /// Every packet not decoded, whatever the reason.
    pub fn not_decoded(&self) -> u64 {
        self.skipped.iter().sum()
    }
}

/// What the reader counted: inputs, packets and bytes read, kernel capture counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCounters {
    /// Captures read to the end without error.
    pub files_ok: u64,
    /// Inputs that could not be opened or read completely.
    pub files_failed: u64,
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire (original lengths).
    pub bytes: u64,
    /// Kernel capture counters (live capture only).
    pub capture: Option<CaptureCounters>,
    /// Packets stamped outside years 0001..=9999: read, and written with the time clamped.
    pub ts_out_of_range: u64,
    /// Packets whose time jumped by more than a day from the packets before them (a bogus
    /// stamp, or the first packet after a real gap or clock step).
    pub ts_jumps: u64,
}

impl ReadCounters {
    /// Count one packet's time as the reader's clock judged it.
    #[inline]
    pub fn count_time(&mut self, check: TimeCheck) {
        match check {
            TimeCheck::InLine => {}
            TimeCheck::OutOfRange => self.ts_out_of_range += 1,
            TimeCheck::Jump => self.ts_jumps += 1,
        }
    }
}

/// One `stats` record: the reader's and the stages' counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Seconds since vendorwatch started.
    pub uptime_secs: u64,
    /// Inputs, packets, bytes, kernel counters.
    pub read: ReadCounters,
    /// Stage counters summed over workers.
    pub counters: Counters,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_counts_malformed_packets_only() {
        let mut c = Counters::default();
        c.skipped[SkipReason::NotIp.index()] = 10; // ARP
        c.skipped[SkipReason::OtherTransport.index()] = 4; // ICMP
        c.skipped[SkipReason::IpFragment.index()] = 2;
        assert_eq!(c.invalid(), 0);
        assert_eq!(c.not_decoded(), 16);
        c.skipped[SkipReason::BadIp.index()] = 1;
        c.skipped[SkipReason::BadTransport.index()] = 1;
        assert_eq!(c.invalid(), 2);
    }

    #[test]
    fn counters_sum_field_by_field() {
        let mut a = Counters::default();
        a.flow.flows_created = 3;
        a.flow.reasm_peak_bytes = 100;
        a.detect.alerts = 1;
        a.skipped[0] = 2;
        let mut b = a;
        b.flow.reasm_peak_bytes = 50;
        b.quic.assembly.completed = 7;
        a += b;
        assert_eq!(a.flow.flows_created, 6);
        // A peak is the largest of the workers', not their sum.
        assert_eq!(a.flow.reasm_peak_bytes, 100);
        assert_eq!(a.detect.alerts, 2);
        assert_eq!(a.skipped[0], 4);
        assert_eq!(a.quic.assembly.completed, 7);
    }
}
