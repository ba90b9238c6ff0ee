//! Host identity from the traffic itself: which machine held an address at a given packet
//! time. Fed by DHCP (v4 ACKs and client messages; v6 Replies and client FQDNs), by the
//! Ethernet source of frames, and read from EUI-64 IPv6 addresses; consulted only when an
//! alert is written.
//!
//! - Leases: per address, the last [`LEASES_PER_ADDR`] leases (MAC, host name, vendor class,
//!   client id, start, end). A new lease of the address to another MAC ends the previous one
//!   at its start; a RELEASE ends it. An alert at time `t` is attributed to the lease that
//!   covered `t` (the latest one started at or before `t`, up to [`LEASE_GRACE_SECS`] past its
//!   end), not to the latest lease: so an alert written late, or by a worker that runs
//!   behind, still names the machine that held the address then.
//! - Clients: per MAC, what its own DHCP messages said (host name, vendor class, client id):
//!   an ACK seldom repeats them.
//! - MACs from frames: per source MAC, the distinct addresses (IPv4 addresses, IPv6 /64s;
//!   link-local addresses aside) it sent from, up to [`ROUTER_ADDRS`]: a MAC fronting that
//!   many is a router (or a NAT, a firewall), and its frames say nothing about the host
//!   behind it.
//!
//! An alert's MAC is the frame's own (the side of the frame the host is on) when that MAC
//! looks like one host's: it sent from at most one IPv4 address and one IPv6 /64, or DHCP
//! knows it and it is no router. A MAC in front of several addresses is not taken, so the
//! first hosts seen behind a router are not pinned on the router before it has shown
//! [`ROUTER_ADDRS`] of them. Else the lease's MAC at the packet's time; else the MAC inside an
//! EUI-64 IPv6 address. Its host name, vendor class and client id come from the lease holding the
//! address at that time when the lease's MAC is that MAC, else from the client's own DHCP
//! messages.
//!
//! Workers: one table for the whole engine, behind a mutex, like the suppression table.
//! Only one thread feeds it per packet stream: with `--workers N` the dispatcher (the
//! reader's thread) feeds it from its own stateless decode, before it hands any later packet
//! to a worker, so a worker that writes an alert always finds the leases of every earlier
//! packet, whichever worker the DHCP packets were hashed to (the time-aware lookup makes the
//! leases of later packets harmless). With one worker the stages feed it in packet order.
//! A driver that runs several sets of stages without a dispatcher (one capture socket per
//! worker, the kernel spreading flows) leaves each stages' feeder in place: every worker
//! feeds the one table from its own packets, and only a lease seen on one worker in the same
//! instant as an alert on another can be missed.
//! The workers only read it, for an alert. Feeding costs a port check and, for frames, one
//! probe of a small direct-mapped cache of (address, MAC) pairs seen this minute: the lock is
//! taken for DHCP and for a pair not in the cache. Nothing is allocated per packet once the
//! tables hold their entries (texts are held inline).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use crate::capture::Timestamp;
use crate::decode::{Decoded, L4Proto};
use crate::flow::FlowHasher;
use crate::proto::dhcp::{self, DhcpV4, DhcpV6};
use crate::record::counters::IdentityStats;
use crate::record::{HostIdentity, mac_text};

/// Default bound on each of the three tables (addresses with leases, DHCP clients, MACs).
pub const DEFAULT_CAPACITY: usize = 16_384;
/// Leases remembered per address (the latest ones).
pub const LEASES_PER_ADDR: usize = 4;
/// Distinct source addresses (IPv4, IPv6 /64) after which a MAC counts as a router's.
pub const ROUTER_ADDRS: usize = 8;
/// Length of a lease whose ACK names none (and of a DHCPINFORM's address binding).
pub const DEFAULT_LEASE_SECS: i64 = 86_400;
/// How long past its end a lease still names the address's holder when no other lease
/// followed (a renewal the sensor did not see).
pub const LEASE_GRACE_SECS: i64 = 3_600;
/// Most bytes of a host name, vendor class or client id kept.
pub const TEXT_CAP: usize = 64;
/// Slots of a feeder's cache of (address, MAC) pairs already learned (512 KiB): room for
/// the tens of thousands of hosts a busy segment shows in a minute.
const SEEN_SLOTS: usize = 65_536;
/// Router MACs a feeder remembers, to pass their frames over without a probe (a span port
/// sees a handful of first hops).
const KNOWN_ROUTERS: usize = 8;

/// A short text held inline (no allocation); longer input is cut at [`TEXT_CAP`] bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Text {
    buf: [u8; TEXT_CAP],
    len: u8,
}

impl Default for Text {
    fn default() -> Self {
        Text {
            buf: [0; TEXT_CAP],
            len: 0,
        }
    }
}

impl Text {
    fn of(bytes: Option<&[u8]>) -> Text {
        let mut t = Text::default();
        if let Some(b) = bytes {
            let n = b.len().min(TEXT_CAP);
            t.buf[..n].copy_from_slice(&b[..n]);
            t.len = n as u8;
        }
        t
    }

    fn get(&self) -> Option<&[u8]> {
        (self.len > 0).then(|| &self.buf[..usize::from(self.len)])
    }

    fn string(&self) -> Option<String> {
        self.get().map(|b| String::from_utf8_lossy(b).into_owned())
    }
}

/// What a client says about itself.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Attrs {
    hostname: Text,
    vendor_class: Text,
    client_id: Text,
}

impl Attrs {
    fn of_v4(m: &DhcpV4<'_>) -> Attrs {
        let mut name = [0u8; TEXT_CAP];
        let hostname = match (m.hostname, m.fqdn) {
            (Some(h), _) => Text::of(Some(h)),
            (None, Some(f)) => Text::of(f.write_dotted(&mut name).map(|n| &name[..n])),
            (None, None) => Text::default(),
        };
        Attrs {
            hostname,
            vendor_class: Text::of(m.vendor_class),
            client_id: Text::of(m.client_id),
        }
    }

    /// Fill what `self` lacks from `other`.
    fn fill_from(&mut self, other: &Attrs) {
        for (mine, theirs) in [
            (&mut self.hostname, &other.hostname),
            (&mut self.vendor_class, &other.vendor_class),
            (&mut self.client_id, &other.client_id),
        ] {
            if mine.len == 0 {
                *mine = *theirs;
            }
        }
    }

    /// Take what `other` says (a newer message), keeping what it does not say.
    fn update(&mut self, other: &Attrs) {
        let mut next = *other;
        next.fill_from(self);
        *self = next;
    }
}

#[derive(Clone, Copy)]
struct Lease {
    mac: Option<[u8; 6]>,
    attrs: Attrs,
    start: i64,
    end: i64,
}

impl Lease {
    /// A lease to `mac` from `start` for `secs`.
    fn new(mac: Option<[u8; 6]>, attrs: Attrs, start: i64, secs: i64) -> Lease {
        Lease {
            mac,
            attrs,
            start,
            end: start.saturating_add(secs),
        }
    }
}

/// The leases of one address, oldest first.
#[derive(Clone, Copy, Default)]
struct History {
    leases: [Option<Lease>; LEASES_PER_ADDR],
}

impl History {
    fn latest_end(&self) -> i64 {
        self.leases
            .iter()
            .flatten()
            .map(|l| l.end)
            .max()
            .unwrap_or(i64::MIN)
    }

    /// The lease covering `t`: the latest started at or before `t`, if `t` is not past its
    /// end by more than the grace.
    fn at(&self, t: i64) -> Option<&Lease> {
        self.leases
            .iter()
            .flatten()
            .filter(|l| l.start <= t)
            .max_by_key(|l| l.start)
            .filter(|l| t <= l.end.saturating_add(LEASE_GRACE_SECS))
    }

    fn record(&mut self, lease: Lease) {
        // The same MAC again (a renewal, an ACK seen twice): the lease goes on.
        for l in self.leases.iter_mut().flatten() {
            if l.mac == lease.mac && l.start <= lease.start && lease.start <= l.end {
                l.end = l.end.max(lease.end);
                l.attrs.update(&lease.attrs);
                return;
            }
        }
        // Another holder from now on: leases still running end here.
        for l in self.leases.iter_mut().flatten() {
            if l.start <= lease.start && lease.start < l.end {
                l.end = lease.start;
            }
        }
        let slot = match self.leases.iter().position(Option::is_none) {
            Some(i) => i,
            None => {
                // Drop the oldest.
                self.leases.rotate_left(1);
                LEASES_PER_ADDR - 1
            }
        };
        self.leases[slot] = Some(lease);
    }

    fn release(&mut self, mac: Option<[u8; 6]>, t: i64) {
        for l in self.leases.iter_mut().flatten() {
            if l.mac == mac && l.start <= t && t < l.end {
                l.end = t;
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Client {
    attrs: Attrs,
    last_seen: i64,
}

#[derive(Clone, Copy)]
struct MacSeen {
    /// Distinct source addresses (IPv4 as is, IPv6 by /64), up to [`ROUTER_ADDRS`].
    keys: [u64; ROUTER_ADDRS],
    count: u8,
    last_seen: i64,
}

impl MacSeen {
    fn is_router(&self) -> bool {
        usize::from(self.count) >= ROUTER_ADDRS
    }

    /// At most one IPv4 address and one IPv6 /64: the frames of one host.
    fn one_host(&self) -> bool {
        let keys = &self.keys[..usize::from(self.count)];
        let v6 = keys.iter().filter(|k| *k & V6_KEY != 0).count();
        v6 <= 1 && keys.len() - v6 <= 1
    }
}

/// The bit that marks an IPv6 /64 among [`MacSeen`]'s keys.
const V6_KEY: u64 = 1 << 63;

/// The identity table (see the module doc).
pub struct IdentityTable {
    capacity: usize,
    leases: HashMap<IpAddr, History, FlowHasher>,
    clients: HashMap<[u8; 6], Client, FlowHasher>,
    macs: HashMap<[u8; 6], MacSeen, FlowHasher>,
    /// Counters.
    pub stats: IdentityStats,
}

impl Default for IdentityTable {
    fn default() -> Self {
        IdentityTable::new(DEFAULT_CAPACITY)
    }
}

/// Drop the least recently seen eighth of `map` (at least one entry); how many.
fn evict_oldest<K: Copy + Eq + std::hash::Hash, V>(
    map: &mut HashMap<K, V, FlowHasher>,
    seen: impl Fn(&V) -> i64,
) -> u64 {
    let mut times: Vec<i64> = map.values().map(&seen).collect();
    let n = (times.len() / 8).max(1);
    if times.is_empty() {
        return 0;
    }
    let (_, cut, _) = times.select_nth_unstable(n - 1);
    let cut = *cut;
    let before = map.len();
    let mut dropped = 0usize;
    map.retain(|_, v| {
        if dropped < n && seen(v) <= cut {
            dropped += 1;
            false
        } else {
            true
        }
    });
    (before - map.len()) as u64
}

/// A key for the address a MAC sent from: IPv4 as is, IPv6 by its /64 (a host's SLAAC and
/// privacy addresses share one).
fn addr_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => u64::from(u32::from(v4)),
        IpAddr::V6(v6) => ((u128::from(v6) >> 64) as u64) | V6_KEY,
    }
}

/// An address a host may send from: not unspecified, multicast, broadcast or loopback.
fn host_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || v4.is_loopback())
        }
        // Link-local addresses are per link, not the host's address elsewhere.
        IpAddr::V6(v6) => {
            !(v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_loopback()
                || v6.is_unicast_link_local())
        }
    }
}

/// A MAC a host sends from: unicast, not all zero.
fn host_mac(mac: &[u8; 6]) -> bool {
    mac[0] & 1 == 0 && *mac != [0; 6]
}

impl IdentityTable {
    /// A table holding at most `capacity` entries in each of its three parts.
    pub fn new(capacity: usize) -> Self {
        IdentityTable {
            capacity: capacity.max(8),
            leases: HashMap::default(),
            clients: HashMap::default(),
            macs: HashMap::default(),
            stats: IdentityStats::default(),
        }
    }

    /// Counters, with the sizes now.
    pub fn stats(&self) -> IdentityStats {
        IdentityStats {
            leases_held: self.leases.len() as u64,
            clients_held: self.clients.len() as u64,
            macs_held: self.macs.len() as u64,
            routers: self.macs.values().filter(|m| m.is_router()).count() as u64,
            ..self.stats
        }
    }

    fn client(&mut self, mac: [u8; 6], attrs: &Attrs, t: i64) {
        if let Some(c) = self.clients.get_mut(&mac) {
            c.attrs.update(attrs);
            c.last_seen = c.last_seen.max(t);
            return;
        }
        if self.clients.len() >= self.capacity {
            self.stats.client_evictions += evict_oldest(&mut self.clients, |c| c.last_seen);
        }
        self.clients.insert(
            mac,
            Client {
                attrs: *attrs,
                last_seen: t,
            },
        );
    }

    fn lease(&mut self, addr: IpAddr, lease: Lease) {
        self.stats.leases += 1;
        if !self.leases.contains_key(&addr) && self.leases.len() >= self.capacity {
            self.stats.lease_evictions += evict_oldest(&mut self.leases, History::latest_end);
        }
        self.leases.entry(addr).or_default().record(lease);
    }

    /// A DHCPv4 message seen at `t` (seconds).
    pub fn on_dhcp4(&mut self, m: &DhcpV4<'_>, t: i64) {
        self.stats.dhcp_messages += 1;
        let attrs = Attrs::of_v4(m);
        let mac = m.chaddr.filter(host_mac);
        let kind = m.message_type.unwrap_or(0);
        if m.is_request() {
            if let Some(mac) = mac {
                self.client(mac, &attrs, t);
            }
            if kind == dhcp::msg::RELEASE && m.ciaddr != [0; 4] {
                let addr = IpAddr::from(m.ciaddr);
                if let Some(h) = self.leases.get_mut(&addr) {
                    h.release(mac, t);
                }
            }
            return;
        }
        if kind != dhcp::msg::ACK {
            return;
        }
        // An ACK: the assigned address, or for a DHCPINFORM's ACK the client's own.
        let addr = if m.yiaddr != [0; 4] {
            m.yiaddr
        } else {
            m.ciaddr
        };
        if addr == [0; 4] {
            return;
        }
        let mut lease_attrs = attrs;
        if let Some(c) = mac.and_then(|mac| self.clients.get(&mac)) {
            lease_attrs.fill_from(&c.attrs);
        }
        let secs = m.lease_time.map_or(DEFAULT_LEASE_SECS, |s| {
            // 0xffffffff is "infinite".
            if s == u32::MAX {
                i64::MAX / 4
            } else {
                i64::from(s)
            }
        });
        self.lease(IpAddr::from(addr), Lease::new(mac, lease_attrs, t, secs));
    }

    /// A DHCPv6 message seen at `t`; `client_mac` is the frame's address on the client's side
    /// (the source of a client message, the destination of a reply).
    pub fn on_dhcp6(&mut self, m: &DhcpV6<'_>, client_mac: Option<[u8; 6]>, t: i64) {
        self.stats.dhcp_messages += 1;
        let mut name = [0u8; TEXT_CAP];
        let attrs = Attrs {
            hostname: Text::of(
                m.fqdn
                    .and_then(|f| f.write_dotted(&mut name))
                    .and_then(|n| (n > 0).then(|| &name[..n])),
            ),
            vendor_class: Text::default(),
            client_id: Text::of(m.client_id),
        };
        let mac = client_mac.filter(host_mac);
        if m.msg_type != dhcp::msg6::REPLY {
            if let Some(mac) = mac {
                self.client(mac, &attrs, t);
            }
            return;
        }
        let mut lease_attrs = attrs;
        if let Some(c) = mac.and_then(|mac| self.clients.get(&mac)) {
            lease_attrs.fill_from(&c.attrs);
        }
        for &(addr, valid) in m.addresses() {
            let lease = Lease::new(mac, lease_attrs, t, i64::from(valid));
            self.lease(IpAddr::from(addr), lease);
        }
    }

    /// A frame from `mac` with source address `ip` at `t`; true when `mac` is (now) a
    /// router's.
    pub fn learn_mac(&mut self, ip: IpAddr, mac: [u8; 6], t: i64) -> bool {
        let key = addr_key(ip);
        if let Some(m) = self.macs.get_mut(&mac) {
            m.last_seen = m.last_seen.max(t);
            let n = usize::from(m.count);
            if n < ROUTER_ADDRS && !m.keys[..n].contains(&key) {
                m.keys[n] = key;
                m.count += 1;
            }
            return m.is_router();
        }
        if self.macs.len() >= self.capacity {
            self.stats.mac_evictions += evict_oldest(&mut self.macs, |m| m.last_seen);
        }
        let mut keys = [0u64; ROUTER_ADDRS];
        keys[0] = key;
        self.macs.insert(
            mac,
            MacSeen {
                keys,
                count: 1,
                last_seen: t,
            },
        );
        false
    }

    /// True when `mac` was seen in front of [`ROUTER_ADDRS`] addresses or more.
    pub fn is_router(&self, mac: &[u8; 6]) -> bool {
        self.macs.get(mac).is_some_and(MacSeen::is_router)
    }

    /// True when a frame from (or to) `mac` names the host on its side: a unicast MAC that
    /// sent from one IPv4 address and one IPv6 /64 at most, or one DHCP knows that is no
    /// router (see the module doc).
    fn host_frame_mac(&self, mac: &[u8; 6]) -> bool {
        if !host_mac(mac) {
            return false;
        }
        match self.macs.get(mac) {
            None => true,
            Some(seen) if seen.one_host() => true,
            Some(seen) => !seen.is_router() && self.clients.contains_key(mac),
        }
    }

    /// Who held `host` at `t`: `frame_mac` is the MAC of the alert's frame on the host's side,
    /// if it had one. `None` when nothing is known.
    pub fn lookup(&self, host: IpAddr, t: i64, frame_mac: Option<[u8; 6]>) -> Option<HostIdentity> {
        let lease = self.leases.get(&host).and_then(|h| h.at(t));
        let eui64 = match host {
            IpAddr::V6(v6) => dhcp::eui64_mac(&v6.octets()),
            IpAddr::V4(_) => None,
        };
        let mac = frame_mac
            .filter(|m| self.host_frame_mac(m))
            .or(lease.and_then(|l| l.mac))
            .or(eui64);
        let attrs = match (lease, mac) {
            (Some(l), _) if l.mac == mac || mac.is_none() => Some(l.attrs),
            (_, Some(m)) => self.clients.get(&m).map(|c| c.attrs),
            _ => None,
        };
        let identity = HostIdentity {
            mac,
            hostname: attrs.and_then(|a| a.hostname.string()),
            vendor_class: attrs.and_then(|a| a.vendor_class.string()),
            client_id: attrs.and_then(|a| a.client_id.get().map(mac_text)),
        };
        (!identity.is_empty()).then_some(identity)
    }
}

/// What feeds the table from one packet stream (see the module doc for which thread): DHCP
/// messages, and the (source address, source MAC) pairs of frames, the latter filtered by a
/// small cache so the table's lock is taken once a minute per pair at most.
pub struct IdentityFeed {
    table: Arc<Mutex<IdentityTable>>,
    seen: Box<[u64]>,
    /// MACs found to be routers' this minute (as `u64`, 0 for none), most recent replacing
    /// the oldest: their frames, a large share of a span port's, teach nothing more. Cleared
    /// each minute, so the table still sees each router once a minute (and does not evict it
    /// as unseen).
    routers: [u64; KNOWN_ROUTERS],
    next_router: usize,
    routers_minute: i64,
}

impl IdentityFeed {
    /// A feeder of `table`.
    pub fn new(table: Arc<Mutex<IdentityTable>>) -> Self {
        IdentityFeed {
            table,
            seen: vec![0u64; SEEN_SLOTS].into_boxed_slice(),
            routers: [0; KNOWN_ROUTERS],
            next_router: 0,
            routers_minute: 0,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdentityTable> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Learn from one decoded packet captured at `ts`.
    #[inline]
    pub fn observe(&mut self, pkt: &Decoded<'_>, ts: Timestamp) {
        if pkt.proto == L4Proto::Udp
            && (dhcp::is_v4_port(pkt.src_port, pkt.dst_port)
                || dhcp::is_v6_port(pkt.src_port, pkt.dst_port))
        {
            self.dhcp(pkt, ts.secs);
        }
        let Some(macs) = pkt.macs else {
            return;
        };
        // The common case costs this much: a few multiplies and one compare. The checks of
        // the address, the router list and the lock come only for a pair not seen this
        // "minute" (64 s of packet time; a collision only delays learning a pair).
        let [a, b, c, d, e, f] = macs.src;
        let mac = u64::from_le_bytes([a, b, c, d, e, f, 0, 0]);
        let ip = match pkt.src_ip {
            IpAddr::V4(v4) => u64::from(u32::from(v4)),
            IpAddr::V6(v6) => {
                let n = u128::from(v6);
                (n as u64) ^ ((n >> 64) as u64).rotate_left(17)
            }
        };
        let minute = ts.secs >> 6;
        let mut key = ip.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ mac.wrapping_mul(0xc2b2_ae3d_27d4_eb4f)
            ^ (minute as u64).wrapping_mul(0x1656_67b1_9e37_79f9);
        key ^= key >> 29;
        let key = key | 1;
        // A power of two: the slot is the key's low bits.
        let Some(seen) = self.seen.get_mut((key as usize) & (SEEN_SLOTS - 1)) else {
            return;
        };
        if *seen == key {
            return;
        }
        *seen = key;
        self.learn(pkt.src_ip, macs.src, mac, minute, ts.secs);
    }

    /// A (source address, source MAC) pair not in the cache: to the table, unless the MAC
    /// is not a host's or is a router found this minute.
    #[cold]
    #[inline(never)]
    fn learn(&mut self, ip: IpAddr, src: [u8; 6], mac: u64, minute: i64, t: i64) {
        if !host_mac(&src) || !host_address(ip) {
            return;
        }
        if minute != self.routers_minute {
            self.routers = [0; KNOWN_ROUTERS];
            self.routers_minute = minute;
        } else if self.routers.contains(&mac) {
            return;
        }
        if self.lock().learn_mac(ip, src, t) {
            self.routers[self.next_router % KNOWN_ROUTERS] = mac;
            self.next_router = self.next_router.wrapping_add(1);
        }
    }

    #[cold]
    #[inline(never)]
    fn dhcp(&mut self, pkt: &Decoded<'_>, t: i64) {
        if dhcp::is_v4_port(pkt.src_port, pkt.dst_port) {
            match DhcpV4::parse(pkt.payload) {
                Some(m) => self.lock().on_dhcp4(&m, t),
                None => self.lock().stats.dhcp_invalid += 1,
            }
        } else if dhcp::is_v6_port(pkt.src_port, pkt.dst_port) {
            let Some(m) = DhcpV6::parse(pkt.payload) else {
                self.lock().stats.dhcp_invalid += 1;
                return;
            };
            let client_mac = pkt.macs.map(|l| {
                if pkt.src_port == dhcp::V6_SERVER_PORT {
                    l.dst
                } else {
                    l.src
                }
            });
            self.lock().on_dhcp6(&m, client_mac, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 6] = [0x3c, 0x52, 0x82, 0, 0, 0xa1];
    const B: [u8; 6] = [0x3c, 0x52, 0x82, 0, 0, 0xb2];

    fn msg(op: u8, kind: u8, mac: [u8; 6], yiaddr: [u8; 4], name: &str, lease: u32) -> Vec<u8> {
        let mut m = vec![0u8; 236];
        m[0] = op;
        m[1] = 1;
        m[2] = 6;
        m[16..20].copy_from_slice(&yiaddr);
        m[28..34].copy_from_slice(&mac);
        m.extend_from_slice(&[99, 130, 83, 99, 53, 1, kind]);
        if !name.is_empty() {
            m.extend_from_slice(&[12, name.len() as u8]);
            m.extend_from_slice(name.as_bytes());
            m.extend_from_slice(&[60, 8]);
            m.extend_from_slice(b"MSFT 5.0");
        }
        if lease > 0 {
            m.extend_from_slice(&[51, 4]);
            m.extend_from_slice(&lease.to_be_bytes());
        }
        m.push(255);
        m
    }

    fn feed(t: &mut IdentityTable, bytes: &[u8], at: i64) {
        t.on_dhcp4(&DhcpV4::parse(bytes).unwrap(), at);
    }

    const ADDR: [u8; 4] = [10, 1, 0, 11];

    fn two_holders() -> IdentityTable {
        let mut t = IdentityTable::default();
        feed(&mut t, &msg(1, 3, A, [0; 4], "WS-FIN-042", 0), 100);
        feed(&mut t, &msg(2, 5, A, ADDR, "", 3600), 101);
        feed(&mut t, &msg(1, 3, B, [0; 4], "LAPTOP-B", 0), 500);
        feed(&mut t, &msg(2, 5, B, ADDR, "", 3600), 501);
        t
    }

    #[test]
    fn alert_goes_to_the_holder_at_the_packet_time() {
        let t = two_holders();
        let ip = IpAddr::from(ADDR);
        let first = t.lookup(ip, 300, None).unwrap();
        assert_eq!(first.mac, Some(A));
        assert_eq!(first.hostname.as_deref(), Some("WS-FIN-042"));
        assert_eq!(first.vendor_class.as_deref(), Some("MSFT 5.0"));
        let second = t.lookup(ip, 600, None).unwrap();
        assert_eq!(second.mac, Some(B));
        assert_eq!(second.hostname.as_deref(), Some("LAPTOP-B"));
        // Before any lease: nobody.
        assert_eq!(t.lookup(ip, 50, None), None);
        // Long after B's lease ended (and its grace): nobody.
        assert_eq!(t.lookup(ip, 501 + 3600 + LEASE_GRACE_SECS + 1, None), None);
    }

    #[test]
    fn frame_mac_wins_unless_it_is_a_router() {
        let mut t = two_holders();
        let ip = IpAddr::from(ADDR);
        // The frame says B while A's lease runs (a static address, a missed ACK): B it is,
        // with B's own DHCP names.
        let id = t.lookup(ip, 300, Some(B)).unwrap();
        assert_eq!(
            (id.mac, id.hostname.as_deref()),
            (Some(B), Some("LAPTOP-B"))
        );
        // A router: its MAC fronts many addresses and is not the host's, from the second
        // address on (before it is counted as a router).
        let router = [0, 0x11, 0x22, 0, 0, 1];
        t.learn_mac(IpAddr::from([192, 0, 2, 0]), router, 10);
        assert_eq!(t.lookup(ip, 300, Some(router)).unwrap().mac, Some(router));
        t.learn_mac(IpAddr::from([192, 0, 2, 1]), router, 10);
        assert_eq!(t.lookup(ip, 300, Some(router)).unwrap().mac, Some(A));
        for i in 2..ROUTER_ADDRS as u8 {
            t.learn_mac(IpAddr::from([192, 0, 2, i]), router, 10);
        }
        assert!(t.is_router(&router));
        let id = t.lookup(ip, 300, Some(router)).unwrap();
        assert_eq!(id.mac, Some(A));
        assert_eq!(t.stats().routers, 1);
        // A dual-stack host (one IPv4 address, one /64, its link-local address not counted)
        // is still one host.
        let host = [0x3c, 0x52, 0x82, 0, 0, 0xc3];
        t.learn_mac(IpAddr::from([10, 1, 0, 12]), host, 10);
        t.learn_mac("2001:db8::12".parse().unwrap(), host, 10);
        t.learn_mac("2001:db8::99".parse().unwrap(), host, 10);
        let id = t
            .lookup(IpAddr::from([10, 1, 0, 12]), 20, Some(host))
            .unwrap();
        assert_eq!(id.mac, Some(host));
    }

    #[test]
    fn release_ends_the_lease() {
        let mut t = IdentityTable::default();
        feed(&mut t, &msg(2, 5, A, ADDR, "", 3600), 100);
        let mut rel = msg(1, 7, A, [0; 4], "", 0);
        rel[12..16].copy_from_slice(&ADDR);
        feed(&mut t, &rel, 200);
        let ip = IpAddr::from(ADDR);
        assert_eq!(t.lookup(ip, 150, None).unwrap().mac, Some(A));
        // Within the grace after the release it still names A (no one else took it).
        assert_eq!(t.lookup(ip, 200 + LEASE_GRACE_SECS + 1, None), None);
    }

    #[test]
    fn eui64_names_the_mac() {
        let t = IdentityTable::default();
        let ip: IpAddr = "2001:db8::3e52:82ff:fe00:a1".parse().unwrap();
        assert_eq!(t.lookup(ip, 0, None).unwrap().mac, Some(A));
    }

    #[test]
    fn tables_stay_under_the_cap() {
        let mut t = IdentityTable::new(64);
        for i in 0..1000u32 {
            let b = i.to_be_bytes();
            let mac = [0x02, 0, b[0], b[1], b[2], b[3]];
            feed(&mut t, &msg(1, 1, mac, [0; 4], "flood", 0), i64::from(i));
            feed(
                &mut t,
                &msg(2, 5, mac, [10, 9, b[2], b[3]], "", 60),
                i64::from(i),
            );
            t.learn_mac(IpAddr::from([10, 9, b[2], b[3]]), mac, i64::from(i));
        }
        let s = t.stats();
        assert!(
            s.clients_held <= 64 && s.leases_held <= 64 && s.macs_held <= 64,
            "{s:?}"
        );
        assert_eq!(s.clients_held + s.client_evictions, 1000);
        assert_eq!(s.leases_held + s.lease_evictions, 1000);
        assert_eq!(s.macs_held + s.mac_evictions, 1000);
        // The newest client is still known.
        let id = t.lookup(IpAddr::from([10, 9, 3, 231]), 999, None).unwrap();
        assert_eq!(id.hostname.as_deref(), Some("flood"));
    }
}
