//! The flow layer: a bounded TCP flow table and reassembly of only what extraction needs —
//! the client's first flight (a ClientHello split over segments and TLS records), every
//! HTTP/1.x request head of a client stream (keep-alive, pipelining, heads over several
//! segments) and DNS-over-TCP messages (2-byte length prefix, several per connection, both
//! directions).
//!
//! Per packet: look the flow up (normalised 5-tuple + VLAN ids + tunnel context), then per
//! direction:
//! - `Start`: the first bytes decide the protocol. A segment that holds a whole ClientHello,
//!   request head or DNS message is parsed in place (no copy, no allocation). Only a message
//!   that is not complete in one segment (or a segment that arrives out of order) is copied
//!   into a per-direction [`reasm::Reasm`] buffer, bounded by the first-flight limit and the
//!   table's global reassembly cap. A ClientHello longer than the first-flight limit is parsed
//!   from the part held once no more will be ([`tls::parse_client_hello_prefix`]: SNI when
//!   within, no JA4, counted). The first bytes of a request move the direction to `Http`.
//! - `Dns`: length-prefixed messages, framed continuously.
//! - `Http`: the client stream for the life of the connection: a request head wherever it
//!   starts (held only while incomplete, at most `http_head_limit` bytes: a longer head is
//!   read up to there, its Host found when within, and the rest of its lines skipped, counted),
//!   then its body skipped by `Content-Length` or chunk by chunk (the base moves past body
//!   bytes, so they are never held), then the next head. After `CONNECT`, or where a
//!   ClientHello stands in place of a request, the bytes go back to `Start` (the hello through
//!   the tunnel). When the framing is lost (not a request where one should start, a bad chunk
//!   line, a gap the stream does not fill within the limit, the reassembly cap) the direction
//!   resynchronises on the next segment that starts a request or a ClientHello (counted).
//! - `Decided`: nothing more to do; a packet costs the lookup.
//!
//! Overlap policy: first wins (see [`reasm`]). Missing SYN: the first payload of a direction
//! sets its base; an earlier segment arriving later moves the base back (before anything was
//! consumed). A first payload that is neither the start of a ClientHello, a request, nor DNS
//! decides the direction at once (a mid-stream capture of bulk data costs nothing).
//! Sequence numbers wrap: offsets are computed with wrapping arithmetic.
//!
//! Resolved addresses: a new flow whose server was resolved from a matched name (the sink
//! says so, [`AppSink::new_flow`]) holds a [`Pending`] candidate until the flow is decided.
//! A ClientHello with an SNI, an HTTP request head with a Host (or CONNECT authority) that is
//! a name rather than an address literal, or a DNS message is a name of its own: the
//! candidate is dropped. The client direction's first flight ending otherwise (a first payload
//! that is not TLS/HTTP/DNS, a ClientHello without SNI, a request head without Host, the
//! first-flight limit or the reassembly cap), a FIN or RST from either side, idle or cap
//! eviction and [`FlowTable::drain`] (end of input) decide it unnamed
//! ([`AppSink::unnamed`]).

pub mod quic;
pub mod reasm;

use std::collections::HashMap;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::decode::{Decoded, L4Proto};
use crate::proto::http::{self, HttpRequest};
use crate::proto::{dns, tls};
use reasm::Reasm;

/// Limits of the flow table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowConfig {
    /// Most flows tracked at once; a new flow beyond it evicts an old one (counted).
    pub max_flows: usize,
    /// Most bytes held in reassembly buffers over all flows; beyond it segments are refused.
    pub max_reasm_bytes: usize,
    /// Most bytes of a client's first flight buffered to find a ClientHello; a longer hello is
    /// parsed from its first this-many bytes (SNI found when within, no JA4, counted).
    pub first_flight_limit: usize,
    /// Most bytes of one HTTP request head held per flow; a longer head is read up to here
    /// (Host found when within) and the rest of it skipped (counted).
    pub http_head_limit: usize,
    /// Seconds without a packet after which a flow is dropped (by packet timestamps).
    pub idle_timeout_secs: i64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 65_536,
            max_reasm_bytes: 32 * 1024 * 1024,
            first_flight_limit: 16 * 1024,
            http_head_limit: 16 * 1024,
            idle_timeout_secs: 120,
        }
    }
}

/// Largest DNS-over-TCP message plus its length prefix.
const DNS_TCP_LIMIT: usize = 2 + 65_535;

/// Most body bytes the base moves past at once: offsets are read as `i32` from the base, so
/// a longer body is skipped in steps as the stream reaches each one ([`HttpState::body`]).
const SKIP_STEP: u64 = 1 << 30;

/// Bytes of a header line start held to read its name (a longer line is skipped unread).
const LINE_HOLD: usize = 256;

/// Longest chunk-size line (size and extensions) before the framing counts as lost.
const CHUNK_LINE_MAX: usize = 1024;

/// A connection to a remembered address whose decision is still open: held (boxed, so a
/// flow without one costs a null pointer) by the TCP flow-table entry until the flow yields a
/// name of its own (the candidate is dropped) or is decided without one (the `resolved-ip`
/// alert is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The flow oriented client to server; `ts` and `pcap_cnt` are those of the flow's latest
    /// packet (used when the decision comes without a packet of the flow: eviction, end of
    /// input).
    pub meta: crate::record::FlowMeta,
    /// The matched name the address was resolved from.
    pub name: String,
    /// Index of the rule that matched it.
    pub rule: usize,
    /// Index of the pattern within the rule's `domains`.
    pub pattern: usize,
}

pub use crate::record::counters::FlowStats;

/// What the flow layer found in a stream, borrowed from the packet or a flow buffer.
#[derive(Debug, Clone, Copy)]
pub enum AppEvent<'a> {
    /// A ClientHello.
    Tls(tls::ClientHello<'a>),
    /// An HTTP/1.x request head.
    Http(HttpRequest<'a>),
    /// One DNS message (without its length prefix).
    Dns(&'a [u8]),
}

/// Receives what the flow layer extracts; the packet that completed it is the current one.
///
/// The resolved-address methods have empty defaults, so a closure over [`AppEvent`] is a sink
/// that never holds candidates.
pub trait AppSink {
    /// One extracted message.
    fn on_app(&mut self, event: AppEvent<'_>);

    /// The current packet starts a new flow; `server_is_src` when it came from the server (a
    /// SYN-ACK). A candidate returned is held by the flow until it is decided. Called once per
    /// new flow; must not allocate unless it returns a candidate.
    fn new_flow(&mut self, server_is_src: bool) -> Option<Box<Pending>> {
        let _ = server_is_src;
        None
    }

    /// A packet of a flow holding `pending` (to note the flow's latest packet).
    fn touch(&mut self, pending: &mut Pending) {
        let _ = pending;
    }

    /// The flow holding `pending` was decided without a name of its own: by the current
    /// packet (`by_packet`), or without a packet of the flow (eviction, end of input).
    fn unnamed(&mut self, pending: Box<Pending>, by_packet: bool) {
        let _ = (pending, by_packet);
    }
}

impl<F: FnMut(AppEvent<'_>)> AppSink for F {
    fn on_app(&mut self, event: AppEvent<'_>) {
        self(event)
    }
}

/// Normalised flow key: endpoints ordered so both directions give the same key.
///
/// Packed into fixed-width integers because it is hashed and compared on every TCP packet:
/// with the addresses as `IpAddr` enums and the fields hashed one by one, the lookup cost a
/// third of a whole scan; as five words it is a few multiplies and integer compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// The lower endpoint's address ([`ip_word`]).
    lo_ip: u128,
    /// The higher endpoint's address.
    hi_ip: u128,
    /// Low port, high port, IP protocol, address family and VLAN count, packed.
    ports: u64,
    /// The VLAN ids, 16 bits each.
    vlans: u64,
    /// Tunnel context ([`crate::decode::Tunnel::context_id`]); 0 when not tunnelled.
    pub tunnel: u64,
}

/// An address as one 128-bit word (IPv4 in the low 32 bits; the family is kept apart in the
/// key). Ordering the words orders addresses of one family as `IpAddr` does.
#[inline]
fn ip_word(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The flow and QUIC tables' hasher: keyed with a per-process random seed (an attacker cannot
/// aim packets at one bucket without knowing it) and far cheaper than std's SipHash on the
/// small fixed-size keys of the per-packet lookups.
pub type FlowHasher = foldhash::fast::RandomState;

impl FlowKey {
    /// The key of a packet and its direction (0: sent by the lower endpoint, 1: by the higher).
    #[inline]
    pub fn of(pkt: &Decoded<'_>) -> (FlowKey, usize) {
        let a = (ip_word(pkt.src_ip), pkt.src_port);
        let b = (ip_word(pkt.dst_ip), pkt.dst_port);
        let (lo, hi, dir) = if a <= b { (a, b, 0) } else { (b, a, 1) };
        let vlan_ids = pkt.vlans.as_slice();
        let mut vlans = 0u64;
        for &id in vlan_ids {
            vlans = vlans << 16 | u64::from(id);
        }
        let v6 = u64::from(pkt.src_ip.is_ipv6());
        (
            FlowKey {
                lo_ip: lo.0,
                hi_ip: hi.0,
                ports: u64::from(lo.1)
                    | u64::from(hi.1) << 16
                    | u64::from(pkt.proto.number()) << 32
                    | v6 << 40
                    | (vlan_ids.len() as u64) << 48,
                vlans,
                tunnel: pkt.tunnel.map_or(0, |t| t.context_id()),
            },
            dir,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DirState {
    Start,
    Dns,
    Http,
    Decided,
}

/// Where an HTTP client stream is, at the direction's base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpPhase {
    /// A request head starts here (empty lines before it are skipped).
    Head,
    /// Header lines skipped one by one: the rest of a head cut at the head limit (body
    /// framing noted), or the trailers after the last chunk. `mid_line`: inside a line too
    /// long to hold.
    Lines {
        mid_line: bool,
        chunked: bool,
        trailers: bool,
    },
    /// A chunk-size line starts here (after the CRLF that ends the previous chunk).
    ChunkSize,
    /// Framing lost: the next segment that starts a request re-anchors the stream.
    Resync,
}

/// The HTTP state of a client direction; inline (no allocation for a new HTTP flow).
#[derive(Debug, Clone, Copy)]
struct HttpState {
    phase: HttpPhase,
    /// A request head was read on this direction (it has shown it carries HTTP).
    seen_head: bool,
    /// `Lines` of a cut head: the `Content-Length` noted so far. Otherwise: body bytes still
    /// to skip past the base, beyond [`SKIP_STEP`].
    body: u64,
    /// Bytes at the base already searched for the end of the head.
    scanned: u32,
}

impl HttpState {
    const NEW: HttpState = HttpState {
        phase: HttpPhase::Head,
        seen_head: false,
        body: 0,
        scanned: 0,
    };

    /// Body bytes remain to be skipped past the base.
    fn skipping(&self) -> bool {
        self.body > 0 && matches!(self.phase, HttpPhase::Head | HttpPhase::ChunkSize)
    }
}

#[derive(Debug)]
struct Dir {
    state: DirState,
    http: HttpState,
    /// Sequence number of offset 0 of the buffer (the next byte to analyse).
    base: u32,
    base_known: bool,
    /// Base came from a SYN, or bytes were consumed: earlier segments are old, not missing.
    base_fixed: bool,
    buf: Option<Box<Reasm>>,
    fin: bool,
}

impl Dir {
    fn new() -> Self {
        Dir {
            state: DirState::Start,
            base: 0,
            base_known: false,
            base_fixed: false,
            buf: None,
            fin: false,
            http: HttpState::NEW,
        }
    }

    /// The direction has not shown yet what it carries (its first message is still open).
    fn first_flight_open(&self) -> bool {
        match self.state {
            DirState::Start => true,
            DirState::Http => !self.http.seen_head,
            DirState::Dns | DirState::Decided => false,
        }
    }
}

#[derive(Debug)]
struct Flow {
    key: FlowKey,
    last_seen: i64,
    referenced: bool,
    dns: bool,
    /// Direction index of the client, for `pending`.
    client: u8,
    dirs: [Dir; 2],
    /// A connection to a resolved address, not decided yet (see the module text).
    pending: Option<Box<Pending>>,
}

impl Flow {
    fn decided(&self) -> bool {
        self.dirs.iter().all(|d| d.state == DirState::Decided)
    }
}

/// The bounded flow table.
pub struct FlowTable {
    config: FlowConfig,
    index: HashMap<FlowKey, u32, FlowHasher>,
    slab: Vec<Flow>,
    hand: usize,
    next_sweep: i64,
    reasm_bytes: usize,
    /// Reused buffer for a ClientHello split over several TLS records.
    scratch: Vec<u8>,
    /// Counters.
    pub stats: FlowStats,
    /// QUIC Initials on UDP (their own small table, see [`quic`]).
    pub quic: quic::QuicFlows,
    /// Ports whose TCP streams are DNS from the first byte (53 and `--dns-port`); the same
    /// set the detector reads UDP DNS on.
    pub dns_ports: dns::DnsPorts,
}

impl FlowTable {
    /// An empty table.
    pub fn new(config: FlowConfig) -> Self {
        // Sized once for twice the flow cap: with the index at most half full, removing and
        // inserting flows only ever rehashes in place, so churn never allocates. Only the
        // control bytes are written up front; buckets cost memory once used.
        let index = if config.max_flows <= 1 << 20 {
            HashMap::with_capacity_and_hasher(2 * config.max_flows.max(1), FlowHasher::default())
        } else {
            HashMap::with_hasher(FlowHasher::default())
        };
        FlowTable {
            config,
            index,
            slab: Vec::new(),
            hand: 0,
            next_sweep: i64::MIN,
            reasm_bytes: 0,
            scratch: Vec::new(),
            stats: FlowStats::default(),
            quic: quic::QuicFlows::default(),
            dns_ports: dns::DnsPorts::default(),
        }
    }

    /// Flows held now.
    pub fn len(&self) -> usize {
        self.slab.len()
    }

    /// True when no flow is held.
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    /// Bytes held in reassembly buffers now.
    pub fn reasm_bytes(&self) -> usize {
        self.reasm_bytes
    }

    /// Bytes the table holds now: flow slots, index buckets (as allocated) and reassembly
    /// buffers.
    pub fn memory_bytes(&self) -> usize {
        self.slab.capacity() * std::mem::size_of::<Flow>()
            + self.index.capacity() * (std::mem::size_of::<(FlowKey, u32)>() + 1) * 8 / 7
            + self.reasm_bytes
            + self.reasm_buffers() * std::mem::size_of::<Reasm>()
    }

    /// The most memory a table with this configuration may hold (flow slots grown by
    /// doubling, index sized for twice the flow cap, reassembly cap, buffer headers).
    pub fn memory_bound(config: &FlowConfig) -> usize {
        let flows = config.max_flows.max(1);
        let slots = flows.next_power_of_two();
        slots * std::mem::size_of::<Flow>()
            + (2 * flows).next_power_of_two() * 2 * (std::mem::size_of::<(FlowKey, u32)>() + 1)
            + config.max_reasm_bytes
            + 2 * flows * std::mem::size_of::<Reasm>()
    }

    fn reasm_buffers(&self) -> usize {
        self.slab
            .iter()
            .flat_map(|f| f.dirs.iter())
            .filter(|d| d.buf.is_some())
            .count()
    }

    /// True when the packet's flow exists and needs nothing more (test and stats helper).
    pub fn is_decided(&self, pkt: &Decoded<'_>) -> bool {
        let (key, _) = FlowKey::of(pkt);
        self.index
            .get(&key)
            .and_then(|i| self.slab.get(*i as usize))
            .is_some_and(Flow::decided)
    }

    /// Feed one TCP packet; extracted messages go to `sink`. Other protocols are ignored.
    pub fn on_tcp(&mut self, pkt: &Decoded<'_>, ts: Timestamp, sink: &mut dyn AppSink) {
        if pkt.proto != L4Proto::Tcp {
            return;
        }
        self.sweep_idle(ts.secs, sink);
        let (key, d) = FlowKey::of(pkt);
        let flags = pkt.tcp_flags;
        let slot = match self.index.get(&key) {
            Some(i) => *i as usize,
            None => {
                // Only a SYN or data starts a flow; a stray ACK, FIN or RST does not.
                if flags.rst || (!flags.syn && pkt.payload.is_empty()) {
                    return;
                }
                let slot = self.insert(key, pkt, ts.secs, sink);
                let server_is_src = flags.syn && flags.ack;
                if let Some(flow) = self.slab.get_mut(slot)
                    && let Some(pending) = sink.new_flow(server_is_src)
                {
                    flow.pending = Some(pending);
                    flow.client = if server_is_src { 1 - d as u8 } else { d as u8 };
                }
                slot
            }
        };
        let Some(flow) = self.slab.get_mut(slot) else {
            return;
        };
        flow.last_seen = ts.secs;
        flow.referenced = true;
        if let Some(pending) = flow.pending.as_deref_mut() {
            sink.touch(pending);
        }
        if flow.decided() {
            // The fast path of a decided flow: close tracking, and a ClientHello that sits
            // whole in this segment (a repeated hello, as tshark also reports) parsed in place.
            single_segment_hello(pkt.payload, sink);
            if flags.rst || flags.fin {
                self.close(slot, d, flags.rst, sink);
            }
            return;
        }
        if flags.syn {
            let dir = &mut flow.dirs[d];
            if dir.buf.is_none() && !dir.base_fixed {
                dir.base = flags.seq.wrapping_add(1);
                dir.base_known = true;
                dir.base_fixed = true;
            }
        }
        if !pkt.payload.is_empty() {
            let mut ctx = Ctx {
                config: &self.config,
                reasm_bytes: &mut self.reasm_bytes,
                scratch: &mut self.scratch,
                stats: &mut self.stats,
                sink,
                named: false,
            };
            // Data on a SYN (TCP Fast Open) starts after the SYN's sequence number.
            let seq = flags.seq.wrapping_add(u32::from(flags.syn));
            ctx.segment(flow, d, seq, pkt.payload);
            if ctx.named {
                // The flow has a name of its own: its own observation decides.
                flow.pending = None;
            }
        }
        if flow.pending.is_some() {
            let client_decided = flow
                .dirs
                .get(usize::from(flow.client))
                .is_some_and(|dir| !dir.first_flight_open());
            if (client_decided || flags.rst || flags.fin)
                && let Some(pending) = flow.pending.take()
            {
                sink.unnamed(pending, true);
            }
        }
        if flags.rst || flags.fin {
            self.close(slot, d, flags.rst, sink);
        }
    }

    /// Hand every candidate still open to `sink` as decided without a name (the end of an
    /// input: nothing more of these flows will be seen in it). The flows stay.
    pub fn drain(&mut self, sink: &mut dyn AppSink) {
        for flow in &mut self.slab {
            if let Some(pending) = flow.pending.take() {
                sink.unnamed(pending, false);
            }
        }
    }

    /// Flows holding an open candidate (test and stats helper).
    pub fn pending(&self) -> usize {
        self.slab.iter().filter(|f| f.pending.is_some()).count()
    }

    fn close(&mut self, slot: usize, d: usize, rst: bool, sink: &mut dyn AppSink) {
        let Some(flow) = self.slab.get_mut(slot) else {
            return;
        };
        flow.dirs[d].fin = true;
        if rst || flow.dirs.iter().all(|x| x.fin) {
            if let Some(pending) = self.remove_at(slot) {
                sink.unnamed(pending, true);
            }
            self.stats.closed += 1;
        }
    }

    fn insert(
        &mut self,
        key: FlowKey,
        pkt: &Decoded<'_>,
        now: i64,
        sink: &mut dyn AppSink,
    ) -> usize {
        if self.slab.len() >= self.config.max_flows.max(1) {
            self.evict_one(sink);
        }
        let mut flow = Flow {
            key,
            last_seen: now,
            referenced: true,
            dns: self.dns_ports.either(pkt.src_port, pkt.dst_port),
            client: 0,
            dirs: [Dir::new(), Dir::new()],
            pending: None,
        };
        if flow.dns {
            for dir in &mut flow.dirs {
                dir.state = DirState::Dns;
            }
        }
        let slot = self.slab.len();
        self.slab.push(flow);
        self.index.insert(key, slot as u32);
        self.stats.flows_created += 1;
        slot
    }

    /// Second-chance clock: evict the first flow not touched since the hand last passed it.
    fn evict_one(&mut self, sink: &mut dyn AppSink) {
        let n = self.slab.len();
        for _ in 0..=2 * n {
            if self.hand >= self.slab.len() {
                self.hand = 0;
            }
            let Some(flow) = self.slab.get_mut(self.hand) else {
                return;
            };
            if flow.referenced {
                flow.referenced = false;
                self.hand += 1;
            } else {
                if let Some(pending) = self.remove_at(self.hand) {
                    sink.unnamed(pending, false);
                }
                self.stats.evicted_cap += 1;
                return;
            }
        }
    }

    fn sweep_idle(&mut self, now: i64, sink: &mut dyn AppSink) {
        if now < self.next_sweep {
            return;
        }
        let timeout = self.config.idle_timeout_secs.max(1);
        self.next_sweep = now.saturating_add((timeout / 4).max(1));
        let mut i = 0;
        while i < self.slab.len() {
            let idle = self
                .slab
                .get(i)
                .is_some_and(|f| now.saturating_sub(f.last_seen) > timeout);
            if idle {
                if let Some(pending) = self.remove_at(i) {
                    sink.unnamed(pending, false);
                }
                self.stats.evicted_idle += 1;
            } else {
                i += 1;
            }
        }
    }

    /// Remove the flow in slot `i`; its open candidate, if any, is returned to be decided.
    fn remove_at(&mut self, i: usize) -> Option<Box<Pending>> {
        if i >= self.slab.len() {
            return None;
        }
        let mut flow = self.slab.swap_remove(i);
        self.index.remove(&flow.key);
        for dir in &flow.dirs {
            if let Some(b) = &dir.buf {
                self.reasm_bytes = self.reasm_bytes.saturating_sub(b.held());
            }
        }
        if let Some(moved) = self.slab.get(i)
            && let Some(ix) = self.index.get_mut(&moved.key)
        {
            *ix = i as u32;
        }
        flow.pending.take()
    }
}

/// What analysing the bytes at a direction's base found.
enum Step {
    /// `n` bytes were consumed; go on in `next`. `n` may pass the end of the bytes looked at:
    /// an HTTP body skipped (the base moves past bytes not seen yet).
    Consumed(usize, DirState),
    /// The message at the base is not complete yet.
    NeedMore,
    /// Nothing to extract here.
    Done,
    /// An HTTP stream's framing is lost ([`HttpPhase::Resync`]).
    Lost,
}

struct Ctx<'a> {
    config: &'a FlowConfig,
    reasm_bytes: &'a mut usize,
    scratch: &'a mut Vec<u8>,
    stats: &'a mut FlowStats,
    sink: &'a mut dyn AppSink,
    /// Something extracted in this packet names the flow (see [`names_flow`]).
    named: bool,
}

impl Ctx<'_> {
    fn app(&mut self, event: AppEvent<'_>) {
        self.named |= names_flow(&event);
        self.sink.on_app(event);
    }

    fn segment(&mut self, flow: &mut Flow, d: usize, seq: u32, payload: &[u8]) {
        let dns_flow = flow.dns;
        self.segment_dir(&mut flow.dirs[d], dns_flow, seq, payload);
        if !dns_flow && flow.dirs[d].state == DirState::Dns {
            // DNS found on a non-standard port: the other direction carries the answers.
            flow.dns = true;
            for dir in &mut flow.dirs {
                if dir.state == DirState::Start && dir.buf.is_none() {
                    dir.state = DirState::Dns;
                }
            }
        }
    }

    fn segment_dir(&mut self, dir: &mut Dir, dns_flow: bool, seq: u32, payload: &[u8]) {
        if dir.state == DirState::Decided {
            // The common case (the other direction still open): only a repeated hello.
            single_segment_hello(payload, &mut *self.sink);
            return;
        }
        let (mut seq, mut payload) = (seq, payload);
        // A segment's tail past the limit is taken again once the base has moved (an HTTP
        // head cut at the limit and skipped, its next request in the same segment).
        loop {
            let base = dir.base;
            let left = self.segment_part(dir, dns_flow, seq, payload);
            let live = matches!(dir.state, DirState::Start | DirState::Dns | DirState::Http);
            if left == 0 || dir.base == base || !live {
                return;
            }
            let taken = payload.len() - left;
            seq = seq.wrapping_add(taken as u32);
            payload = payload.get(taken..).unwrap_or(&[]);
        }
    }

    /// One segment (or the tail of one) on a direction; returns how many bytes at its end
    /// were not taken for being past the limit.
    fn segment_part(&mut self, dir: &mut Dir, dns_flow: bool, seq: u32, payload: &[u8]) -> usize {
        match dir.state {
            DirState::Decided => return 0,
            DirState::Http if dir.http.phase == HttpPhase::Resync => {
                // Not before where the framing was lost (a retransmission is not new).
                let starts = starts_request(payload) || tls::looks_like_client_hello(payload);
                if !starts || (seq.wrapping_sub(dir.base) as i32) < 0 {
                    return 0;
                }
                self.reanchor(dir, seq);
            }
            DirState::Start | DirState::Dns | DirState::Http => {}
        }
        if !dir.base_known {
            dir.base = seq;
            dir.base_known = true;
        }
        let (mut seq, mut payload) = (seq, payload);
        let mut off;
        loop {
            off = seq.wrapping_sub(dir.base) as i32;
            if off < 0 {
                let back = off.unsigned_abs() as usize;
                if !dir.base_fixed && back <= self.limit(dir.state) {
                    // Mid-stream start, and this segment comes before the first one seen.
                    if let Some(buf) = &mut dir.buf {
                        if !self.reserve(back) {
                            return 0;
                        }
                        buf.rebase_up(back);
                    }
                    dir.base = seq;
                    off = 0;
                } else {
                    // Old data (retransmission of consumed bytes, or body skipped): keep only
                    // what is new.
                    let Some(rest) = payload.get(back..).filter(|r| !r.is_empty()) else {
                        return 0;
                    };
                    payload = rest;
                    seq = dir.base;
                    off = 0;
                }
            }
            if !dir.http.skipping() || dir.state != DirState::Http {
                break;
            }
            // A body longer than one skip step: what is at or past the base is still body.
            let step = dir.http.body.min(SKIP_STEP);
            dir.http.body -= step;
            dir.base = dir.base.wrapping_add(step as u32);
        }
        let mut off = off as usize;
        let limit = self.limit(dir.state);
        if off >= limit {
            if dir.state != DirState::Http || !starts_request(payload) {
                return 0;
            }
            // A gap the HTTP stream does not fill within its limit (a segment the capture
            // lost): go on from this request.
            self.stats.http_resyncs += 1;
            self.reanchor(dir, seq);
            off = 0;
        }
        // Fast path: in order, nothing held: analyse the payload where it lies.
        if off == 0 && dir.buf.is_none() {
            let mut at = 0;
            loop {
                let rest = payload.get(at..).unwrap_or(&[]);
                let before = dir.state;
                match self.analyse(dir.state, dns_flow, &mut dir.http, rest, false) {
                    Step::Consumed(n, next) => {
                        at += n;
                        self.advance(dir, n, next);
                        if next == DirState::Decided || at >= payload.len() {
                            return 0;
                        }
                        if n == 0 && next == before {
                            break;
                        }
                    }
                    Step::Done => {
                        dir.state = DirState::Decided;
                        return 0;
                    }
                    Step::NeedMore => break,
                    Step::Lost => {
                        self.lost(dir);
                        return 0;
                    }
                }
            }
            // A message not complete in this segment: keep the rest.
            let rest = payload.get(at..).unwrap_or(&[]);
            return rest.len() - self.buffer(dir, 0, rest);
        }
        let taken = self.buffer(dir, off, payload);
        self.drain(dir, dns_flow);
        payload.len() - taken
    }

    /// Move a direction's base past `n` consumed bytes, into state `next`.
    fn advance(&mut self, dir: &mut Dir, n: usize, next: DirState) {
        dir.base = dir.base.wrapping_add(n as u32);
        dir.base_fixed = true;
        dir.state = next;
        if n > 0 {
            dir.http.scanned = 0;
        }
    }

    fn limit(&self, state: DirState) -> usize {
        match state {
            DirState::Dns => DNS_TCP_LIMIT,
            DirState::Http => self.config.http_head_limit.max(1),
            _ => self.config.first_flight_limit,
        }
    }

    fn reserve(&mut self, n: usize) -> bool {
        if *self.reasm_bytes + n > self.config.max_reasm_bytes {
            self.stats.reasm_refused += 1;
            return false;
        }
        *self.reasm_bytes += n;
        self.stats.reasm_peak_bytes = self.stats.reasm_peak_bytes.max(*self.reasm_bytes as u64);
        true
    }

    /// Copy a segment into the direction's buffer, within the limits. Returns how many of its
    /// bytes were taken (or dropped, when refused at the memory cap).
    fn buffer(&mut self, dir: &mut Dir, off: usize, bytes: &[u8]) -> usize {
        let limit = self.limit(dir.state);
        let take = bytes.len().min(limit.saturating_sub(off));
        let Some(bytes) = bytes.get(..take) else {
            return 0;
        };
        if bytes.is_empty() {
            return 0;
        }
        let held = dir.buf.as_ref().map_or(0, |b| b.held());
        let grow = (off + bytes.len()).saturating_sub(held);
        if !self.reserve(grow) {
            match dir.state {
                DirState::Start => self.give_up(dir),
                // The stream now has a hole: find the next request where a segment starts.
                DirState::Http => self.lost(dir),
                DirState::Dns | DirState::Decided => {}
            }
            return take;
        }
        let buf = dir.buf.get_or_insert_with(Box::default);
        self.stats.overlap_bytes += buf.insert(off, bytes) as u64;
        self.stats.segments_buffered += 1;
        take
    }

    /// Analyse the contiguous bytes held at the base, consume what was extracted.
    fn drain(&mut self, dir: &mut Dir, dns_flow: bool) {
        loop {
            let Some(buf) = dir.buf.as_deref_mut() else {
                return;
            };
            let prefix = buf.prefix();
            if prefix.is_empty() {
                return;
            }
            let before = dir.state;
            match self.analyse(dir.state, dns_flow, &mut dir.http, prefix, true) {
                Step::Consumed(n, next) => {
                    let held_before = buf.held();
                    buf.consume(n);
                    let freed = held_before - buf.held();
                    *self.reasm_bytes = self.reasm_bytes.saturating_sub(freed);
                    if buf.held() == 0 {
                        dir.buf = None;
                    }
                    self.advance(dir, n, next);
                    match next {
                        DirState::Decided => {
                            self.free(dir);
                            return;
                        }
                        _ if n == 0 && next == before => return,
                        _ => continue,
                    }
                }
                Step::Done => {
                    dir.state = DirState::Decided;
                    self.free(dir);
                    return;
                }
                Step::NeedMore => {
                    if prefix.len() >= self.limit(dir.state) {
                        if dir.state == DirState::Http {
                            self.lost(dir);
                        } else {
                            self.stats.first_flight_limit_hit += 1;
                            self.give_up(dir);
                        }
                    }
                    return;
                }
                Step::Lost => {
                    self.lost(dir);
                    return;
                }
            }
        }
    }

    fn give_up(&mut self, dir: &mut Dir) {
        dir.state = DirState::Decided;
        self.free(dir);
    }

    fn free(&mut self, dir: &mut Dir) {
        if let Some(b) = dir.buf.take() {
            *self.reasm_bytes = self.reasm_bytes.saturating_sub(b.held());
        }
    }

    /// An HTTP stream's framing is lost. Before any request was read the direction was not
    /// HTTP after all: decided, as any first flight that is nothing known. After: requests
    /// are looked for where segments start, until one re-anchors the stream.
    fn lost(&mut self, dir: &mut Dir) {
        if !dir.http.seen_head {
            self.give_up(dir);
            return;
        }
        self.stats.http_resyncs += 1;
        dir.http.phase = HttpPhase::Resync;
        dir.http.body = 0;
        self.free(dir);
    }

    /// Start the HTTP stream again at `seq`, where a segment starts with a request (or a
    /// ClientHello).
    fn reanchor(&mut self, dir: &mut Dir, seq: u32) {
        self.free(dir);
        dir.base = seq;
        dir.base_known = true;
        dir.base_fixed = true;
        dir.http = HttpState {
            seen_head: true,
            ..HttpState::NEW
        };
    }

    /// Look at the bytes at a direction's base.
    fn analyse(
        &mut self,
        state: DirState,
        dns_flow: bool,
        http: &mut HttpState,
        data: &[u8],
        buffered: bool,
    ) -> Step {
        if state == DirState::Http {
            return self.http_stream(http, data, buffered);
        }
        if state == DirState::Dns || dns_flow {
            return self.dns_messages(data, buffered);
        }
        if data.first() == Some(&tls::CONTENT_HANDSHAKE) {
            return self.tls_hello(data, buffered);
        }
        if http::looks_like_request(data) {
            *http = HttpState::NEW;
            return Step::Consumed(0, DirState::Http);
        }
        if !buffered && looks_like_dns_tcp(data) {
            return self.dns_messages(data, buffered);
        }
        Step::Done
    }

    /// The bytes at the base of an HTTP client stream.
    fn http_stream(&mut self, h: &mut HttpState, data: &[u8], buffered: bool) -> Step {
        match h.phase {
            HttpPhase::Head => self.http_head(h, data, buffered),
            HttpPhase::Lines {
                mid_line,
                chunked,
                trailers,
            } => {
                let hold = LINE_HOLD.min(self.limit(DirState::Http));
                header_line(h, data, hold, mid_line, chunked, trailers)
            }
            HttpPhase::ChunkSize => chunk_line(h, data),
            // Handled where segments arrive (`segment_dir`); nothing is held meanwhile.
            HttpPhase::Resync => Step::Lost,
        }
    }

    /// A request head at the base: complete, or cut at the head limit, or not yet whole.
    fn http_head(&mut self, h: &mut HttpState, data: &[u8], buffered: bool) -> Step {
        // Empty lines before a request are allowed (RFC 9112 section 2.2).
        if let Some(step) = blank_lines(data) {
            return step;
        }
        if !http::looks_like_request(data) {
            // A ClientHello where a request would start (TLS after a request the proxy
            // answered, as after CONNECT): the first-flight logic takes it.
            if tls::looks_like_client_hello(data) {
                return Step::Consumed(0, DirState::Start);
            }
            return Step::Lost;
        }
        if let Some(end) = http::head_end(data, h.scanned as usize) {
            let Some(req) = data.get(..end).and_then(http::parse_head) else {
                return Step::Lost;
            };
            if buffered {
                self.stats.reassembled += 1;
            }
            h.seen_head = true;
            self.app(AppEvent::Http(req));
            // After CONNECT the tunnel's first bytes (a ClientHello) follow in order.
            if req.is_connect() {
                return Step::Consumed(end, DirState::Start);
            }
            return skip_body(h, http::Framing::of(&req), end);
        }
        let limit = self.limit(DirState::Http);
        if data.len() < limit {
            h.scanned = u32::try_from(data.len().saturating_sub(2)).unwrap_or(0);
            return Step::NeedMore;
        }
        // Longer than the head limit: read what is held; skip the rest line by line.
        let Some(req) = http::parse_cut_head(data.get(..limit).unwrap_or(data)) else {
            return Step::Lost;
        };
        self.stats.http_heads_cut += 1;
        h.seen_head = true;
        self.app(AppEvent::Http(req));
        h.phase = HttpPhase::Lines {
            mid_line: false,
            chunked: req.chunked,
            trailers: false,
        };
        h.body = req.content_length.unwrap_or(0);
        Step::Consumed(req.head_len, DirState::Http)
    }

    /// Frame length-prefixed DNS messages from the start of `data`.
    fn dns_messages(&mut self, data: &[u8], buffered: bool) -> Step {
        let mut at = 0;
        while let Some([hi, lo]) = data.get(at..at + 2) {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some(msg) = data.get(at + 2..at + 2 + len) else {
                break;
            };
            if buffered {
                self.stats.reassembled += 1;
            }
            if !msg.is_empty() {
                self.app(AppEvent::Dns(msg));
            }
            at += 2 + len;
        }
        Step::Consumed(at, DirState::Dns)
    }

    /// A ClientHello at the start of `data`, possibly spread over several handshake records.
    /// At most `first_flight_limit` bytes of the handshake message are joined: a longer hello
    /// is parsed from those once no more will come (SNI found when within, no JA4).
    fn tls_hello(&mut self, data: &[u8], buffered: bool) -> Step {
        // Fast path: the whole hello in the first record.
        if let Some(hello) = tls::parse_client_hello(data) {
            if buffered {
                self.stats.reassembled += 1;
            }
            self.app(AppEvent::Tls(hello));
            return Step::Consumed(data.len(), DirState::Decided);
        }
        let limit = self.config.first_flight_limit;
        // Everything of this direction's first flight that will be held is here.
        let all_held = buffered && data.len() >= limit;
        // Walk the records, joining handshake bodies until the hello is complete.
        let mut at = 0;
        let mut record_version = None;
        let mut need: Option<usize> = None;
        self.scratch.clear();
        loop {
            let Some(header) = data.get(at..at + 5) else {
                return self.hello_so_far(data, need, all_held, record_version);
            };
            let [ctype, major, _minor, l1, l2] = header else {
                return Step::Done;
            };
            if *ctype != tls::CONTENT_HANDSHAKE || *major != 3 {
                return Step::Done;
            }
            let rv = u16::from_be_bytes([header[1], header[2]]);
            record_version.get_or_insert(rv);
            let rlen = usize::from(u16::from_be_bytes([*l1, *l2]));
            if rlen == 0 || rlen > 16_384 + 2048 {
                return Step::Done;
            }
            let body = data.get(at + 5..).unwrap_or(&[]);
            let complete = body.len() >= rlen;
            let body = body.get(..rlen).unwrap_or(body);
            let room = limit.saturating_sub(self.scratch.len());
            self.scratch
                .extend_from_slice(body.get(..room).unwrap_or(body));
            at += 5 + rlen;
            if need.is_none() && self.scratch.len() >= 4 {
                let Some([t, a, b, c]) = self.scratch.get(..4) else {
                    return Step::Done;
                };
                if *t != tls::HANDSHAKE_CLIENT_HELLO {
                    return Step::Done;
                }
                let hs_len = (usize::from(*a) << 16) | (usize::from(*b) << 8) | usize::from(*c);
                need = Some(hs_len + 4);
            }
            if let Some(n) = need
                && self.scratch.len() >= n
            {
                let rv = record_version.unwrap_or(0x0301);
                let result = self
                    .scratch
                    .get(4..n)
                    .and_then(|body| tls::parse_client_hello_body(body, rv));
                return match result {
                    Some(hello) => {
                        self.stats.reassembled += 1;
                        // (Not `self.app`: the hello borrows `self.scratch`.)
                        let event = AppEvent::Tls(hello);
                        self.named |= names_flow(&event);
                        self.sink.on_app(event);
                        Step::Consumed(at.min(data.len()), DirState::Decided)
                    }
                    None => Step::Done,
                };
            }
            if !complete || self.scratch.len() >= limit {
                return self.hello_so_far(data, need, all_held, record_version);
            }
        }
    }

    /// A ClientHello not complete in `data` (its bodies joined in `scratch`): wait for more,
    /// or, when no more will be held (`all_held`, or `limit` bytes joined), parse the part
    /// joined as a cut hello.
    fn hello_so_far(
        &mut self,
        data: &[u8],
        need: Option<usize>,
        all_held: bool,
        record_version: Option<u16>,
    ) -> Step {
        let limit = self.config.first_flight_limit;
        let longer = need.is_some_and(|n| n > limit);
        if !(all_held || longer && self.scratch.len() >= limit) {
            return self.need_more_tls(data);
        }
        let rv = record_version.unwrap_or(0x0301);
        let hello = self
            .scratch
            .get(4..)
            .filter(|_| need.is_some())
            .and_then(|prefix| tls::parse_client_hello_prefix(prefix, rv));
        let Some(hello) = hello else {
            self.stats.first_flight_limit_hit += 1;
            return Step::Done;
        };
        self.stats.hellos_cut += 1;
        self.stats.reassembled += 1;
        let event = AppEvent::Tls(hello);
        self.named |= names_flow(&event);
        self.sink.on_app(event);
        Step::Consumed(data.len(), DirState::Decided)
    }

    fn need_more_tls(&self, data: &[u8]) -> Step {
        // Bytes so far must at least start like a handshake record of a ClientHello.
        match data {
            [tls::CONTENT_HANDSHAKE] | [tls::CONTENT_HANDSHAKE, 3] => Step::NeedMore,
            [tls::CONTENT_HANDSHAKE, 3, 0..=4, ..] if data.len() < 6 => Step::NeedMore,
            [
                tls::CONTENT_HANDSHAKE,
                3,
                0..=4,
                _,
                _,
                tls::HANDSHAKE_CLIENT_HELLO,
                ..,
            ] => Step::NeedMore,
            _ => Step::Done,
        }
    }
}

/// True when an extracted message gives its flow a name of its own: a ClientHello with an
/// SNI, a request head with a Host (or CONNECT / absolute-URI authority) that is a name and
/// not an address literal, any DNS message (its names go through DNS matching).
fn names_flow(event: &AppEvent<'_>) -> bool {
    match event {
        AppEvent::Tls(hello) => crate::proto::name::has_name(hello.sni),
        AppEvent::Http(req) => crate::proto::name::has_name(req.hostname()),
        AppEvent::Dns(_) => true,
    }
}

/// A ClientHello complete in one segment, on a direction already decided.
fn single_segment_hello(payload: &[u8], sink: &mut dyn AppSink) {
    if tls::looks_like_client_hello(payload)
        && let Some(hello) = tls::parse_client_hello(payload)
    {
        sink.on_app(AppEvent::Tls(hello));
    }
}

/// Consume `n` bytes of a request head, then skip a body of `framing`: chunked, its chunk-size
/// lines follow; otherwise its length (the base moves past it, [`SKIP_STEP`] at most at once,
/// the rest left in [`HttpState::body`]).
fn skip_body(h: &mut HttpState, framing: http::Framing, n: usize) -> Step {
    if framing.chunked {
        h.phase = HttpPhase::ChunkSize;
        h.body = 0;
        return Step::Consumed(n, DirState::Http);
    }
    let len = framing.content_length.unwrap_or(0);
    let now = len.min(SKIP_STEP);
    h.phase = HttpPhase::Head;
    h.body = len - now;
    Step::Consumed(n + now as usize, DirState::Http)
}

/// One header line at the base, in [`HttpPhase::Lines`]: the rest of a head cut at the head
/// limit (its body framing noted) or a trailer. A line start shorter than `hold` bytes is held
/// until its end arrives; a longer line is skipped unread (`mid_line`).
fn header_line(
    h: &mut HttpState,
    data: &[u8],
    hold: usize,
    mid_line: bool,
    chunked: bool,
    trailers: bool,
) -> Step {
    let lines = |mid_line, chunked| HttpPhase::Lines {
        mid_line,
        chunked,
        trailers,
    };
    let Some(lf) = data.iter().position(|b| *b == b'\n') else {
        if !mid_line && data.len() < hold {
            return Step::NeedMore;
        }
        // Inside a line too long to hold (a cookie): skip it unread.
        h.phase = lines(true, chunked);
        return Step::Consumed(data.len(), DirState::Http);
    };
    let line = data.get(..lf).unwrap_or(&[]);
    let mut framing = http::Framing {
        content_length: Some(h.body),
        chunked,
    };
    if mid_line {
        h.phase = lines(false, chunked);
    } else if line.is_empty() || line == b"\r" {
        // The empty line: the head (and its body follows) or the trailers ended.
        if !trailers {
            return skip_body(h, framing, lf + 1);
        }
        h.phase = HttpPhase::Head;
    } else {
        framing.note_line(line);
        h.body = framing.content_length.unwrap_or(0);
        h.phase = lines(false, framing.chunked);
    }
    Step::Consumed(lf + 1, DirState::Http)
}

/// A chunk-size line at the base, in [`HttpPhase::ChunkSize`]: the chunk's data is skipped; the
/// last (zero) chunk leads to the trailers.
fn chunk_line(h: &mut HttpState, data: &[u8]) -> Step {
    // The CRLF that ends the previous chunk's data.
    if let Some(step) = blank_lines(data) {
        return step;
    }
    let Some(lf) = data.iter().position(|b| *b == b'\n') else {
        return if data.len() > CHUNK_LINE_MAX {
            Step::Lost
        } else {
            Step::NeedMore
        };
    };
    let line = data.get(..lf).unwrap_or(&[]);
    match http::chunk_size(line.strip_suffix(b"\r").unwrap_or(line)) {
        None => Step::Lost,
        Some(0) => {
            h.phase = HttpPhase::Lines {
                mid_line: false,
                chunked: false,
                trailers: true,
            };
            Step::Consumed(lf + 1, DirState::Http)
        }
        Some(size) => {
            let framing = http::Framing {
                content_length: Some(size),
                chunked: false,
            };
            let step = skip_body(h, framing, lf + 1);
            h.phase = HttpPhase::ChunkSize;
            step
        }
    }
}

/// Line ends (CR, LF) at the base of an HTTP stream, consumed on their own: the empty lines
/// allowed before a request, the CRLF after a chunk's data.
fn blank_lines(data: &[u8]) -> Option<Step> {
    let n = data
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    (n > 0).then_some(Step::Consumed(n, DirState::Http))
}

/// A segment that starts with a request method and a space: where a lost HTTP stream takes
/// up again.
fn starts_request(payload: &[u8]) -> bool {
    payload.len() >= 4 && http::looks_like_request(payload)
}

/// A first segment on a port not read as DNS that is exactly one length-prefixed DNS query
/// (one question, no records but EDNS, a clean walk): DNS over TCP on a non-standard port.
fn looks_like_dns_tcp(data: &[u8]) -> bool {
    let Some([hi, lo]) = data.get(..2) else {
        return false;
    };
    let len = usize::from(u16::from_be_bytes([*hi, *lo]));
    let Some(msg) = data.get(2..) else {
        return false;
    };
    if len != msg.len() {
        return false;
    }
    let Some(h) = dns::DnsHeader::parse(msg) else {
        return false;
    };
    if h.is_response() || h.opcode() != 0 || h.qdcount != 1 || h.ancount != 0 || h.nscount != 0 {
        return false;
    }
    if h.arcount > 1 {
        return false;
    }
    dns::walk(msg, |_| {}).is_ok_and(|s| s.is_complete())
}

#[cfg(test)]
mod tests;
