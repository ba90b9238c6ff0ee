//! Packet sources. A source yields borrowed packets (`Packet<'_>`): the bytes stay in the
//! reader's buffer and are never copied on their way to the decoder.

#[cfg(target_os = "linux")]
pub mod afpacket;
pub mod clock;
pub mod file;
pub mod live;

/// Capture timestamp, as recorded by the capture file (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second (0..1_000_000_000).
    pub nanos: u32,
}

impl Timestamp {
    /// 0001-01-01T00:00:00Z: the first instant an RFC 3339 (four-digit year) timestamp holds.
    pub const RFC3339_MIN: Timestamp = Timestamp {
        secs: -62_135_596_800,
        nanos: 0,
    };
    /// 9999-12-31T23:59:59.999999999Z: the last one.
    pub const RFC3339_MAX: Timestamp = Timestamp {
        secs: 253_402_300_799,
        nanos: 999_999_999,
    };

    /// True when the time can be written as an RFC 3339 timestamp (years 0001 to 9999).
    /// A capture's 64-bit timestamps reach far beyond (all ones is year 586,524 in
    /// microseconds); such packets are read, counted, and written clamped.
    pub fn in_rfc3339_range(self) -> bool {
        (Self::RFC3339_MIN..=Self::RFC3339_MAX).contains(&self)
    }

    /// The time clamped to what RFC 3339 can say (see [`Timestamp::in_rfc3339_range`]).
    pub fn clamp_rfc3339(self) -> Timestamp {
        self.clamp(Self::RFC3339_MIN, Self::RFC3339_MAX)
    }
}

/// Link-layer header types (tcpdump.org LINKTYPE_* values) that the decoder understands.
/// Kept as plain numbers because capture files carry them as numbers and unknown ones must be
/// reported, not rejected at parse time.
pub mod linktype {
    /// BSD loopback/null: 4-byte address family in the host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II (and 802.3 frames with 802.1Q tags).
    pub const ETHERNET: u32 = 1;
    /// Raw IP, historical value on some BSDs.
    pub const RAW_12: u32 = 12;
    /// Raw IP, historical value on OpenBSD.
    pub const RAW_14: u32 = 14;
    /// Raw IP (LINKTYPE_RAW).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: like NULL but the family is big-endian.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2.
    pub const LINUX_SLL2: u32 = 276;
}

/// The kernel's capture counters, summed over interfaces (and workers): libpcap's
/// `pcap_stats`, or `PACKET_STATISTICS` of the AF_PACKET sockets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureCounters {
    /// Packets the kernel passed to the capture (`ps_recv`, `tp_packets`).
    pub kernel_packets: u64,
    /// Packets dropped for lack of buffer space (`ps_drop`, `tp_drops`).
    pub kernel_drops: u64,
    /// Packets dropped by the interface or its driver (`ps_ifdrop`).
    pub kernel_ifdrops: u64,
    /// Times the AF_PACKET ring was full and the kernel froze its queue (`tp_freeze_q_cnt`;
    /// 0 with libpcap).
    pub kernel_freeze_queue: u64,
    /// AF_PACKET ring blocks whose walk stopped at a malformed frame header (the kernel's ring
    /// should never hold one: counted rather than trusted; the block's later packets are lost).
    pub ring_bad_blocks: u64,
}

/// One captured packet, borrowed from the source's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// When the packet was captured.
    pub ts: Timestamp,
    /// LINKTYPE_* of the interface the packet came from (see [`linktype`]).
    pub link_type: u32,
    /// Captured bytes (may be shorter than `orig_len` when the snaplen cut it).
    pub data: &'a [u8],
    /// Length of the packet on the wire.
    pub orig_len: u32,
    /// Index of the capture interface (pcapng IDB index; 0 for pcap).
    pub interface: u32,
}
