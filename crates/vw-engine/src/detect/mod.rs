//! From extracted names to alerts: normalise, match against the signature packs, and for a
//! match build the owned records, write the alert and update the host inventory.
//!
//! The non-matching path allocates nothing: names are normalised into a stack [`NameBuf`],
//! hits are kept in a fixed array, and owned records are only built when a hit exists or the
//! user asked for protocol logging.

pub mod answers;
pub mod inventory;
pub mod lineage;
pub mod suppress;

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::capture::Timestamp;
use crate::decode::{Decoded, L4Proto};
use crate::flow::Pending;
use crate::identity::IdentityTable;
use crate::proto::dhcp;
use crate::proto::dns::{self, DnsItem, Rdata};
use crate::proto::http::HttpRequest;
use crate::proto::name::has_name;
use crate::proto::{NameBuf, ja4, tls};
use crate::record::app::{AppRecord, DhcpRecord, DnsRecord, HttpRecord, QuicRecord, TlsRecord};
pub use crate::record::counters::DetectStats;
use crate::record::lineage::{Verdict as Migration, is_product_evidence};
use crate::record::{
    Alert, FlowMeta, Fnv64, HostIdentity, MatchFacts, Observation, PacketAt, RecordSink,
};
use crate::sigs::{CompiledRules, Matcher, PortProto, normalise_name};
use crate::sigs::{PackInfo, Rule};
use inventory::Inventory;
use lineage::HostLineage;
use suppress::{Suppressor, Verdict};

/// Which protocol events to log besides alerts (`--log`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogSelection {
    /// `event_type: dns` for every DNS message.
    pub dns: bool,
    /// `event_type: tls` for every ClientHello.
    pub tls: bool,
    /// `event_type: http` for every HTTP/1.x request head.
    pub http: bool,
    /// `event_type: quic` for every ClientHello in a QUIC Initial.
    pub quic: bool,
    /// `event_type: dhcp` for every DHCPv4 message.
    pub dhcp: bool,
}

/// Size of the table of UDP port alerts already written (8 bytes each, 32 KiB).
pub const UDP_REPORTED_SLOTS: usize = 4096;

/// Most distinct (rule, name) hits one packet can raise; more are counted as dropped.
pub const MAX_HITS_PER_PACKET: usize = 16;

/// Longest normalised name kept for a hit; patterns are at most 253 bytes, so a longer name
/// cannot have matched.
const HIT_NAME_CAPACITY: usize = 256;

#[derive(Clone, Copy)]
struct Hit {
    rule: usize,
    pattern: usize,
    observation: Observation,
    name: [u8; HIT_NAME_CAPACITY],
    name_len: usize,
}

impl Hit {
    fn name(&self) -> &[u8] {
        &self.name[..self.name_len]
    }
}

/// Hits of one packet, held on the stack.
struct Hits {
    items: [Option<Hit>; MAX_HITS_PER_PACKET],
    len: usize,
    dropped: u64,
}

impl Hits {
    fn new() -> Self {
        Hits {
            items: [None; MAX_HITS_PER_PACKET],
            len: 0,
            dropped: 0,
        }
    }

    /// Add a hit unless the same rule already matched the same name in this packet.
    fn add(&mut self, rule: usize, pattern: usize, observation: Observation, name: &[u8]) {
        if name.len() > HIT_NAME_CAPACITY {
            return;
        }
        if self.iter().any(|h| h.rule == rule && h.name() == name) {
            return;
        }
        let Some(slot) = self.items.get_mut(self.len) else {
            self.dropped += 1;
            return;
        };
        let mut stored = [0u8; HIT_NAME_CAPACITY];
        stored[..name.len()].copy_from_slice(name);
        *slot = Some(Hit {
            rule,
            pattern,
            observation,
            name: stored,
            name_len: name.len(),
        });
        self.len += 1;
    }

    fn iter(&self) -> impl Iterator<Item = &Hit> {
        self.items[..self.len].iter().flatten()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Matches observations against the packs and turns hits into records.
pub struct Detector {
    /// The compiled signatures; swapped whole on reload ([`Detector::set_rules`]), so every
    /// flag derived from them (JA4, port and payload rules present) comes with them.
    compiled: Arc<CompiledRules>,
    log: LogSelection,
    /// UDP port alerts already written, as hashes of (client, server, port) in a fixed
    /// direct-mapped table (empty unless port rules are on); see [`Detector::on_port`].
    udp_reported: Box<[u64]>,
    /// Hosts that alerted.
    pub inventory: Inventory,
    /// Counters for the summary.
    pub stats: DetectStats,
    /// Addresses resolved from matched names ([`answers`]).
    pub resolved: answers::ResolvedIps,
    /// UDP (client, address, port) whose `resolved-ip` decision was taken, bounded.
    udp_decided: std::collections::HashSet<(IpAddr, IpAddr, u16), crate::flow::FlowHasher>,
    /// Ports whose UDP datagrams are read as DNS (53 and `--dns-port`); DNS traffic is not a
    /// connection to a resolved address.
    pub dns_ports: dns::DnsPorts,
    /// Alert suppression (`--suppress-window`), one table shared by every worker so a host's
    /// repeats fold into one alert whichever workers its flows land on. Locked only for a
    /// hit, never per packet.
    suppress: Arc<Mutex<Suppressor>>,
    /// When each host first showed a replaced product ([`lineage`]), shared by every worker
    /// like `suppress`. Locked only for a hit of a pack in a migration.
    lineage: Arc<Mutex<HostLineage>>,
    /// Host identity (shared by every worker; fed by the dispatcher or the stages, read here
    /// only to name the machine behind an alert).
    identity: Arc<Mutex<IdentityTable>>,
}

/// Most addresses remembered from DNS answers.
pub const RESOLVED_CAPACITY: usize = 65_536;
/// Most UDP (client, address, port) triples remembered as decided.
pub const UDP_DECIDED_CAPACITY: usize = 4096;

impl Detector {
    /// Compile the rules (default matcher options) into a detector of its own (tests and
    /// benches; the engine builds detectors from one compiled set with
    /// [`Detector::with_compiled`]).
    pub fn new(rules: crate::sigs::RuleSet, log: LogSelection) -> Self {
        Detector::with_options(rules, log, crate::sigs::MatchOptions::default())
    }

    /// [`Detector::new`] with matcher options (`--enable-port-rules`).
    pub fn with_options(
        rules: crate::sigs::RuleSet,
        log: LogSelection,
        options: crate::sigs::MatchOptions,
    ) -> Self {
        Detector::with_compiled(
            Arc::new(CompiledRules::compile(rules, options)),
            log,
            Arc::new(Mutex::new(Suppressor::default())),
        )
    }

    /// A detector over a compiled rule set, with the suppression table it shares with the
    /// other workers.
    pub fn with_compiled(
        compiled: Arc<CompiledRules>,
        log: LogSelection,
        suppress: Arc<Mutex<Suppressor>>,
    ) -> Self {
        let mut detector = Detector {
            compiled: Arc::clone(&compiled),
            log,
            udp_reported: Box::default(),
            inventory: Inventory::default(),
            stats: DetectStats::default(),
            resolved: answers::ResolvedIps::new(RESOLVED_CAPACITY),
            udp_decided: std::collections::HashSet::default(),
            dns_ports: dns::DnsPorts::default(),
            suppress,
            lineage: Arc::default(),
            identity: Arc::default(),
        };
        detector.set_rules(compiled);
        detector
    }

    /// Swap in a compiled rule set (SIGHUP reload); counters, inventory and the tables of
    /// resolved addresses stay. The UDP port de-dup table follows the new set: made when it
    /// has port rules, kept across reloads that keep them.
    pub fn set_rules(&mut self, compiled: Arc<CompiledRules>) {
        if compiled.matcher.has_port_rules() {
            if self.udp_reported.is_empty() {
                self.udp_reported = vec![0u64; UDP_REPORTED_SLOTS].into_boxed_slice();
            }
        } else {
            self.udp_reported = Box::default();
        }
        self.compiled = compiled;
    }

    /// The compiled rules in use.
    pub fn rules(&self) -> &Arc<CompiledRules> {
        &self.compiled
    }

    /// The suppression table (shared by every worker).
    pub fn suppressor(&self) -> &Arc<Mutex<Suppressor>> {
        &self.suppress
    }

    /// Replace the suppression table (e.g. with other window and capacity settings).
    pub fn set_suppressor(&mut self, suppress: Arc<Mutex<Suppressor>>) {
        self.suppress = suppress;
    }

    /// The migration memory (shared by every worker).
    pub fn lineage(&self) -> &Arc<Mutex<HostLineage>> {
        &self.lineage
    }

    /// Replace the migration memory (the engine gives every worker the same one).
    pub fn set_lineage(&mut self, lineage: Arc<Mutex<HostLineage>>) {
        self.lineage = lineage;
    }

    /// The host's migration verdict where this alert already settles it: the replaced
    /// product at or after its cut-off, or the replacing product after the replaced one was
    /// remembered from the same host. None when not (yet) known.
    fn lineage_verdict(
        &self,
        host: IpAddr,
        pack: &PackInfo,
        rule: &Rule,
        ts: Timestamp,
    ) -> Option<String> {
        if !is_product_evidence(&rule.channel) {
            return None;
        }
        if let Some(from) = &pack.migrated_from {
            let first = self
                .lineage
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .first_seen(host, from);
            if first.is_some_and(|f| f <= ts) {
                return Some(Migration::Migrated.label(from, &pack.id));
            }
        }
        let cutoff = pack.cutoff?;
        (!pack.migrated_to.is_empty() && ts.secs >= cutoff.secs)
            .then(|| Migration::FromAfterCutoff.label(&pack.id, ""))
    }

    /// The identity table (shared by every worker).
    pub fn identity(&self) -> &Arc<Mutex<IdentityTable>> {
        &self.identity
    }

    /// Read identities from `table` (the engine's, shared by every worker).
    pub fn set_identity(&mut self, table: Arc<Mutex<IdentityTable>>) {
        self.identity = table;
    }

    /// Who held `host` at the packet's time (`meta`), for an alert about to be written.
    fn identify(&self, host: IpAddr, meta: &FlowMeta) -> Option<HostIdentity> {
        self.identity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .lookup(host, meta.ts.secs, meta.mac_of(host))
    }

    /// Suppression verdict for one hit.
    fn suppress_check(
        &self,
        host: IpAddr,
        sid: u32,
        name: &str,
        observation: Observation,
        ts: Timestamp,
    ) -> Verdict {
        self.suppress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .check(host, sid, name, observation, ts)
    }

    /// Look at one decoded packet: port rules (when any are enabled) for TCP and UDP, DNS on
    /// UDP port 53 and the [`Detector::dns_ports`] added to it. TCP payloads are not looked
    /// at here: they go through the flow layer (`flow::FlowTable`), which hands complete
    /// messages to [`Detector::on_dns`], [`Detector::on_client_hello`] and
    /// [`Detector::on_http`].
    pub fn on_packet(&mut self, pkt: &Decoded<'_>, at: &PacketAt, out: &mut dyn RecordSink) {
        if !self.udp_reported.is_empty() {
            self.on_port(pkt, at, out);
        }
        if !pkt.payload.is_empty() && self.compiled.matcher.has_payload_rules() {
            self.on_payload(pkt, at, out);
        }
        if pkt.proto == L4Proto::Udp && self.dns_ports.either(pkt.src_port, pkt.dst_port) {
            self.on_dns(pkt.payload, &FlowMeta::at(pkt, at), out)
        }
        if self.log.dhcp
            && pkt.proto == L4Proto::Udp
            && dhcp::is_v4_port(pkt.src_port, pkt.dst_port)
            && let Some(m) = dhcp::DhcpV4::parse(pkt.payload)
        {
            let app = AppRecord::Dhcp(DhcpRecord::from_message(&m));
            out.event(&FlowMeta::at(pkt, at), &app);
        }
    }

    /// Port rules, matched on the server side of a flow: for TCP the destination port of a
    /// SYN without ACK (one per connection attempt, retransmitted SYNs aside); for UDP the
    /// destination port of a packet whose source port is not itself a listed port (so the
    /// server's replies do not count). Until the flow layer says "first packet of the flow",
    /// UDP alerts are de-duplicated by a fixed table of [`UDP_REPORTED_SLOTS`] hashes of
    /// (client, server, port): a repeat is silent unless another triple took its slot since
    /// (then it alerts once more). No allocation: a bitmap test, then a hash on a hit only.
    fn on_port(&mut self, pkt: &Decoded<'_>, at: &PacketAt, out: &mut dyn RecordSink) {
        let proto = match pkt.proto {
            L4Proto::Tcp if pkt.tcp_flags.syn && !pkt.tcp_flags.ack => PortProto::Tcp,
            L4Proto::Udp
                if !self
                    .compiled
                    .matcher
                    .port_listed(PortProto::Udp, pkt.src_port) =>
            {
                PortProto::Udp
            }
            _ => return,
        };
        let Some(m) = self.compiled.matcher.match_port(proto, pkt.dst_port) else {
            return;
        };
        if proto == PortProto::Udp {
            let mut h = Fnv64::default();
            for ip in [pkt.src_ip, pkt.dst_ip] {
                match ip {
                    IpAddr::V4(v4) => h.write(&v4.octets()),
                    IpAddr::V6(v6) => h.write(&v6.octets()),
                }
            }
            h.write(&pkt.dst_port.to_be_bytes());
            let key = h.finish() | 1;
            let slot = (key as usize) % self.udp_reported.len();
            if self.udp_reported[slot] == key {
                return;
            }
            self.udp_reported[slot] = key;
        }
        let mut hits = Hits::new();
        let mut buf = [0u8; 64];
        let Some(len) = write_endpoint(&mut buf, pkt.dst_ip, pkt.dst_port) else {
            return;
        };
        hits.add(m.rule, m.pattern, Observation::Port, &buf[..len]);
        let meta = FlowMeta::at(pkt, at);
        self.emit(&hits, meta.src_ip, &meta, &AppRecord::None, out);
    }

    /// Payload rules (`payloads`): a UDP datagram, or a TCP segment carrying data, whose
    /// destination port a rule lists and whose payload starts with the rule's prefix. TCP is
    /// matched per segment, not per reassembled stream: a client's first data (the request or
    /// hello the prefixes describe) starts a segment; later segments of the flow that happen
    /// to start with the prefix alert too, and suppression folds those repeats. A bitmap test
    /// per packet when nothing matches; no allocation.
    fn on_payload(&mut self, pkt: &Decoded<'_>, at: &PacketAt, out: &mut dyn RecordSink) {
        let proto = match pkt.proto {
            L4Proto::Tcp => PortProto::Tcp,
            L4Proto::Udp => PortProto::Udp,
        };
        let Some(m) = self
            .compiled
            .matcher
            .match_payload(proto, pkt.dst_port, pkt.payload)
        else {
            return;
        };
        let mut buf = [0u8; 64];
        let Some(len) = write_endpoint(&mut buf, pkt.dst_ip, pkt.dst_port) else {
            return;
        };
        let mut hits = Hits::new();
        hits.add(m.rule, m.pattern, Observation::Payload, &buf[..len]);
        let meta = FlowMeta::at(pkt, at);
        self.emit(&hits, meta.src_ip, &meta, &AppRecord::None, out);
    }

    /// One DNS message (a UDP payload, or a TCP one without its length prefix). Read up to
    /// the walk's limits; what lies past them is counted in `dns_over_limit`.
    pub fn on_dns(&mut self, msg: &[u8], meta: &FlowMeta, out: &mut dyn RecordSink) {
        if !dns::looks_like_dns(msg) {
            self.stats.dns_invalid += 1;
            return;
        }
        self.stats.dns_messages += 1;
        let mut hits = Hits::new();
        let mut norm = NameBuf::new();
        let matcher = &self.compiled.matcher;
        let mut check_name = |raw: &NameBuf, observation: Observation, hits: &mut Hits| {
            check_name(matcher, raw.as_bytes(), observation, &mut norm, hits)
        };
        let walked = dns::walk(msg, |item| match item {
            DnsItem::Question { name, .. } => check_name(name, Observation::DnsQuery, &mut hits),
            DnsItem::Answer { rdata, .. } => match rdata {
                Rdata::Cname(target) => check_name(target, Observation::DnsAnswer, &mut hits),
                Rdata::A(a) => check_ip(matcher, IpAddr::from(*a), &mut hits),
                Rdata::Aaaa(a) => check_ip(matcher, IpAddr::from(*a), &mut hits),
                Rdata::Other(_) => {}
            },
        });
        match walked {
            Ok(summary) => self.stats.dns_over_limit += u64::from(summary.over_limit),
            Err(_) => {
                self.stats.dns_invalid += 1;
                return;
            }
        }
        self.stats.hits_dropped += hits.dropped;
        if hits.is_empty() && !self.log.dns {
            return;
        }
        if let Some(first) = hits.iter().find(|h| h.pattern & IP_PATTERN_FLAG == 0) {
            self.remember_answers(msg, first, meta);
        }
        let Some(record) = DnsRecord::from_message(msg) else {
            return;
        };
        // The host that runs the product is the one asking: the sender of a query, the
        // receiver of a response.
        let host = if record.response {
            meta.dst_ip
        } else {
            meta.src_ip
        };
        let app = AppRecord::Dns(record);
        if self.log.dns {
            out.event(meta, &app);
        }
        self.emit(&hits, host, meta, &app, out);
    }

    /// A TCP payload that starts like a ClientHello.
    pub fn on_tls(&mut self, payload: &[u8], meta: &FlowMeta, out: &mut dyn RecordSink) {
        if let Some(hello) = tls::parse_client_hello(payload) {
            self.on_client_hello(&hello, meta, out);
        }
    }

    /// An HTTP/1.x request head (from the flow layer).
    pub fn on_http(&mut self, req: &HttpRequest<'_>, meta: &FlowMeta, out: &mut dyn RecordSink) {
        self.stats.http_requests += 1;
        let mut hits = Hits::new();
        if let Some(host) = req.hostname() {
            let mut norm = NameBuf::new();
            check_name(
                &self.compiled.matcher,
                host,
                Observation::HttpHost,
                &mut norm,
                &mut hits,
            );
        }
        if let Some(ua) = req.user_agent
            && let Some(m) = self.compiled.matcher.match_user_agent(ua)
        {
            // The header as sent (cut to what a hit holds; a longer one still matched).
            let shown = &ua[..ua.len().min(HIT_NAME_CAPACITY)];
            hits.add(m.rule, m.pattern, Observation::HttpUserAgent, shown);
        }
        self.stats.hits_dropped += hits.dropped;
        if hits.is_empty() && !self.log.http {
            return;
        }
        let record = HttpRecord::from_request(req);
        let app = AppRecord::Http(record);
        if self.log.http {
            out.event(meta, &app);
        }
        self.emit(&hits, meta.src_ip, meta, &app, out);
    }

    /// A parsed ClientHello (one payload, or reassembled by the flow layer).
    pub fn on_client_hello(
        &mut self,
        hello: &tls::ClientHello<'_>,
        meta: &FlowMeta,
        out: &mut dyn RecordSink,
    ) {
        self.stats.client_hellos += 1;
        let hits = self.hello_hits(hello, Observation::TlsSni, ja4::Transport::Tcp);
        if hits.is_empty() && !self.log.tls {
            return;
        }
        let record = TlsRecord::from_client_hello(hello);
        let app = AppRecord::Tls(record);
        if self.log.tls {
            out.event(meta, &app);
        }
        self.emit(&hits, meta.src_ip, meta, &app, out);
    }

    /// The hits of a ClientHello, TLS or QUIC alike: its SNI, and its JA4 when rules list one.
    fn hello_hits(
        &mut self,
        hello: &tls::ClientHello<'_>,
        observation: Observation,
        transport: ja4::Transport,
    ) -> Hits {
        let mut hits = Hits::new();
        if let Some(sni) = hello.sni {
            let mut norm = NameBuf::new();
            check_name(
                &self.compiled.matcher,
                sni,
                observation,
                &mut norm,
                &mut hits,
            );
        }
        self.check_ja4(hello, transport, &mut hits);
        self.stats.hits_dropped += hits.dropped;
        hits
    }

    /// Match the hello's JA4 against rules with `ja4 = [...]`. Costs nothing when no rule
    /// has one; otherwise the fingerprint is computed (stack only) and compared. A hello cut
    /// at the first-flight limit has no JA4 (its later extensions are missing).
    fn check_ja4(&self, hello: &tls::ClientHello<'_>, transport: ja4::Transport, hits: &mut Hits) {
        if !self.compiled.has_ja4_rules || hello.cut {
            return;
        }
        let fp = ja4::ja4(hello, transport);
        for (i, rule) in self.compiled.rules.rules.iter().enumerate() {
            if let Some(p) = rule
                .ja4
                .iter()
                .position(|j| j.eq_ignore_ascii_case(fp.as_str()))
            {
                hits.add(i, p, Observation::TlsJa4, fp.as_str().as_bytes());
            }
        }
    }

    /// A new capture file begins: addresses resolved in earlier files are forgotten (the
    /// packet times of separate files need not follow each other).
    pub fn start_capture(&mut self) {
        self.resolved.clear();
        self.udp_decided.clear();
    }

    /// Remember the A/AAAA addresses of a DNS message whose name matched (`hit`).
    fn remember_answers(&mut self, msg: &[u8], hit: &Hit, meta: &FlowMeta) {
        let name = String::from_utf8_lossy(hit.name()).into_owned();
        // The host that asked: the sender of a query, the receiver of a response.
        let client = match msg.get(2) {
            Some(flags) if flags & 0x80 != 0 => meta.dst_ip,
            _ => meta.src_ip,
        };
        let resolved = &mut self.resolved;
        let _ = dns::walk(msg, |item| {
            if let DnsItem::Answer { ttl, rdata, .. } = item {
                let ip = match rdata {
                    Rdata::A(a) => IpAddr::from(*a),
                    Rdata::Aaaa(a) => IpAddr::from(*a),
                    _ => return,
                };
                resolved.remember(ip, client, &name, hit.rule, hit.pattern, *ttl, meta.ts.secs);
            }
        });
    }

    /// A UDP datagram (TCP flows go through [`Detector::tcp_candidate`]): when its
    /// destination was resolved from a matched name, decide at once whether the flow has a name
    /// of its own. The first datagram of a (client, address, port) triple decides it: a QUIC
    /// Initial leaves the decision to its ClientHello ([`Detector::on_quic_hello`]: an SNI is a
    /// name of its own, a hello without one alerts); any other datagram alerts `resolved-ip`
    /// now. Later datagrams of the triple are silent (a bounded set of [`UDP_DECIDED_CAPACITY`]
    /// triples, cleared when full). DNS (port 53 or a `--dns-port`) is not a connection to the
    /// address.
    /// Costs one hash probe (none while nothing was resolved) and allocates nothing when it
    /// does not match.
    pub fn on_connection(&mut self, pkt: &Decoded<'_>, at: &PacketAt, out: &mut dyn RecordSink) {
        if pkt.proto != L4Proto::Udp
            || self.dns_ports.either(pkt.src_port, pkt.dst_port)
            || self.resolved.is_empty()
        {
            return;
        }
        let Some(entry) = self.resolved.lookup(pkt.dst_ip, at.ts.secs) else {
            return;
        };
        let (rule, pattern) = (entry.rule, entry.pattern);
        if self.udp_decided.len() >= UDP_DECIDED_CAPACITY {
            self.udp_decided.clear();
        }
        if !self
            .udp_decided
            .insert((pkt.src_ip, pkt.dst_ip, pkt.dst_port))
        {
            return;
        }
        if crate::proto::quic::looks_like_initial(pkt.payload) {
            return;
        }
        let name = entry.name.clone();
        self.alert_resolved(&FlowMeta::at(pkt, at), &name, rule, pattern, out);
    }

    /// A new TCP flow (a SYN, a SYN-ACK, or the first data of a flow seen mid-stream) whose
    /// server (`server_is_src`: the packet came from it) is an address resolved from a matched
    /// name: the candidate the flow holds until it is decided. One hash probe (none while
    /// nothing was resolved); nothing allocated unless the address is remembered.
    pub fn tcp_candidate(
        &mut self,
        pkt: &Decoded<'_>,
        at: &PacketAt,
        server_is_src: bool,
    ) -> Option<Box<Pending>> {
        if self.resolved.is_empty() || self.dns_ports.either(pkt.src_port, pkt.dst_port) {
            return None;
        }
        let server = if server_is_src {
            pkt.src_ip
        } else {
            pkt.dst_ip
        };
        let entry = self.resolved.lookup(server, at.ts.secs)?;
        // Only a remembered server gets its flow's facts built, oriented client to server.
        let mut flow = FlowMeta::at(pkt, at);
        if server_is_src {
            flow.reverse();
        }
        Some(Box::new(Pending {
            meta: flow,
            name: entry.name.clone(),
            rule: entry.rule,
            pattern: entry.pattern,
        }))
    }

    /// A TCP flow holding a candidate was decided without a name of its own: alert
    /// `resolved-ip`. `at` is the packet that decided it (its time and number are reported);
    /// `None` when the decision came without one (idle or cap eviction, end of input): the
    /// flow's latest packet is reported.
    pub fn resolved_unnamed(
        &mut self,
        pending: &Pending,
        at: Option<&FlowMeta>,
        out: &mut dyn RecordSink,
    ) {
        let mut meta = pending.meta;
        if let Some(at) = at {
            meta.ts = at.ts;
            meta.pcap_cnt = at.pcap_cnt;
        }
        self.alert_resolved(&meta, &pending.name, pending.rule, pending.pattern, out);
    }

    /// Write a `resolved-ip` alert for the connection `meta` (client to server).
    fn alert_resolved(
        &mut self,
        meta: &FlowMeta,
        name: &str,
        rule_idx: usize,
        pattern_idx: usize,
        out: &mut dyn RecordSink,
    ) {
        let compiled = &self.compiled;
        let Some(rule) = compiled.rules.rules.get(rule_idx) else {
            return;
        };
        let Some(pack) = compiled.rules.packs.get(rule.pack) else {
            return;
        };
        let pattern = rule.domains.get(pattern_idx).map_or("", String::as_str);
        let ip = meta.dst_ip.to_string();
        self.inventory
            .record(meta.src_ip, &pack.vendor, &rule.channel, meta.ts);
        self.stats.lineage_evicted += note_lineage(&self.lineage, meta.src_ip, pack, rule, meta.ts);
        let repeats =
            match self.suppress_check(meta.src_ip, rule.sid, &ip, Observation::ResolvedIp, meta.ts)
            {
                Verdict::Alert { repeats } => repeats,
                Verdict::Suppressed => return,
            };
        let verdict = self.lineage_verdict(meta.src_ip, pack, rule, meta.ts);
        let facts = MatchFacts {
            matched_name: &ip,
            matched_pattern: pattern,
            observation: Observation::ResolvedIp,
            resolved_from: Some(name),
            repeats,
            verdict: verdict.as_deref(),
        };
        let identity = self.identify(meta.src_ip, meta);
        out.alert(&Alert {
            flow: meta,
            host: meta.src_ip,
            rule,
            pack,
            facts,
            app: &AppRecord::None,
            identity: identity.as_ref(),
        });
        self.stats.alerts += 1;
    }

    /// The ClientHello of a QUIC client Initial (decrypted and reassembled by the flow layer).
    pub fn on_quic_hello(
        &mut self,
        version: u32,
        hello: &tls::ClientHello<'_>,
        meta: &FlowMeta,
        out: &mut dyn RecordSink,
    ) {
        self.stats.quic_hellos += 1;
        let hits = self.hello_hits(hello, Observation::QuicSni, ja4::Transport::Quic);
        if !has_name(hello.sni) && !self.resolved.is_empty() {
            // A QUIC connection to a resolved address that names nothing: the hello decides
            // it (see `on_connection`).
            if let Some(entry) = self.resolved.lookup(meta.dst_ip, meta.ts.secs) {
                let (name, rule, pattern) = (entry.name.clone(), entry.rule, entry.pattern);
                self.alert_resolved(meta, &name, rule, pattern, out);
            }
        }
        if hits.is_empty() && !self.log.quic {
            return;
        }
        let record = QuicRecord::from_client_hello(version, hello);
        let app = AppRecord::Quic(record);
        if self.log.quic {
            out.event(meta, &app);
        }
        self.emit(&hits, meta.src_ip, meta, &app, out);
    }

    fn emit(
        &mut self,
        hits: &Hits,
        host: IpAddr,
        meta: &FlowMeta,
        app: &AppRecord,
        out: &mut dyn RecordSink,
    ) {
        let compiled = &self.compiled;
        // Looked up once, at the first hit written (all hits of a packet share a host).
        let mut identity: Option<Option<HostIdentity>> = None;
        for hit in hits.iter() {
            let Some(rule) = compiled.rules.rules.get(hit.rule) else {
                continue;
            };
            let Some(pack) = compiled.rules.packs.get(rule.pack) else {
                continue;
            };
            let pattern = match hit.observation {
                // Addresses match the rule's `ips`, names its `domains`.
                Observation::DnsAnswer if hit.pattern & IP_PATTERN_FLAG != 0 => rule
                    .ips
                    .get(hit.pattern & !IP_PATTERN_FLAG)
                    .map(String::as_str),
                Observation::Port => rule.ports.get(hit.pattern).map(String::as_str),
                Observation::TlsJa4 => rule.ja4.get(hit.pattern).map(String::as_str),
                Observation::Payload => rule.payloads.get(hit.pattern).map(|p| p.label.as_str()),
                Observation::HttpUserAgent => rule.user_agents.get(hit.pattern).map(String::as_str),
                _ => rule.domains.get(hit.pattern).map(String::as_str),
            }
            .unwrap_or("");
            let name = String::from_utf8_lossy(hit.name());
            // Every hit counts for the host, written or suppressed.
            self.inventory
                .record(host, &pack.vendor, &rule.channel, meta.ts);
            self.stats.lineage_evicted += note_lineage(&self.lineage, host, pack, rule, meta.ts);
            let repeats = match self.suppress_check(host, rule.sid, &name, hit.observation, meta.ts)
            {
                Verdict::Alert { repeats } => repeats,
                Verdict::Suppressed => continue,
            };
            let verdict = self.lineage_verdict(host, pack, rule, meta.ts);
            let facts = MatchFacts {
                matched_name: &name,
                matched_pattern: pattern,
                observation: hit.observation,
                resolved_from: None,
                repeats,
                verdict: verdict.as_deref(),
            };
            let identity = identity.get_or_insert_with(|| {
                self.identity
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .lookup(host, meta.ts.secs, meta.mac_of(host))
            });
            out.alert(&Alert {
                flow: meta,
                host,
                rule,
                pack,
                facts,
                app,
                identity: identity.as_ref(),
            });
            self.stats.alerts += 1;
        }
    }
}

/// Note a hit of a replaced product's pack in the migration memory (every hit, written or
/// suppressed): 1 when a host was evicted to make room, else 0. Nothing is locked for packs
/// in no migration.
fn note_lineage(
    lineage: &Mutex<HostLineage>,
    host: IpAddr,
    pack: &PackInfo,
    rule: &Rule,
    ts: Timestamp,
) -> u64 {
    if pack.migrated_to.is_empty() || !is_product_evidence(&rule.channel) {
        return 0;
    }
    let evicted = lineage
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .note(host, &pack.id, ts);
    u64::from(evicted)
}

/// Write `ip:port` (`[ip]:port` for IPv6) into `buf`; the length written.
fn write_endpoint(buf: &mut [u8; 64], ip: IpAddr, port: u16) -> Option<usize> {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let written = match ip {
        IpAddr::V4(a) => write!(cursor, "{a}:{port}"),
        IpAddr::V6(a) => write!(cursor, "[{a}]:{port}"),
    };
    written.ok().map(|()| cursor.position() as usize)
}

/// Marks a hit's pattern index as an index into `ips` rather than `domains`.
const IP_PATTERN_FLAG: usize = 1 << (usize::BITS - 1);

/// Normalise `raw` into `norm` and record a hit if a rule matches it.
fn check_name(
    matcher: &Matcher,
    raw: &[u8],
    observation: Observation,
    norm: &mut NameBuf,
    hits: &mut Hits,
) {
    if !normalise_name(raw, norm) {
        return;
    }
    if let Some(m) = matcher.match_name(norm.as_bytes()) {
        hits.add(m.rule, m.pattern, observation, norm.as_bytes());
    }
}

fn check_ip(matcher: &Matcher, ip: IpAddr, hits: &mut Hits) {
    if let Some(m) = matcher.match_ip(ip) {
        // Format the address on the stack; only matched addresses get here.
        let mut buf = [0u8; 64];
        let len = {
            use std::io::Write;
            let mut cursor = std::io::Cursor::new(&mut buf[..]);
            if write!(cursor, "{ip}").is_err() {
                return;
            }
            cursor.position() as usize
        };
        hits.add(
            m.rule,
            m.pattern | IP_PATTERN_FLAG,
            Observation::DnsAnswer,
            &buf[..len],
        );
    }
}
