//! DNS answer following: the A/AAAA addresses of a response whose question or CNAME target
//! matched a rule are remembered with the record's TTL, so a later connection to one of those
//! addresses (a TCP flow, or a UDP datagram) is attributed to the name when the connection
//! itself carries none (no SNI, no Host: an updater that connects by IP).
//!
//! The decision is deferred to when the connection has shown whether it names itself: a TCP
//! flow to a remembered address holds a [`crate::flow::Pending`] candidate in its flow-table entry until
//! the client's first flight is decided (see `Detector::tcp_candidate` and the flow layer).
//!
//! Bounded: at most `capacity` addresses (the oldest evicted first, counted); an entry expires
//! at `ttl` seconds of packet time after the answer (TTL clamped to [`MIN_TTL`]..[`MAX_TTL`]).
//! The lookup per SYN / datagram is one hash probe, skipped outright while the table is empty,
//! and allocates nothing; only remembering an address (after a match) and alerting allocate.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

pub use crate::record::counters::AnswerStats;

/// Shortest time an address is kept, whatever the TTL said (clients cache longer than 0 s).
pub const MIN_TTL: u32 = 60;
/// Longest time an address is kept.
pub const MAX_TTL: u32 = 86_400;

/// What an address was resolved from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The matched name (normalised).
    pub name: String,
    /// Index of the rule that matched it.
    pub rule: usize,
    /// Index of the pattern within the rule's `domains`.
    pub pattern: usize,
    /// Packet time (seconds) after which the entry is stale.
    pub expires: i64,
    /// The host that asked (it alerted on the DNS message already).
    pub client: IpAddr,
    generation: u64,
}

/// The bounded table of resolved addresses.
pub struct ResolvedIps {
    /// Probed for every UDP datagram and new TCP flow once an address is remembered, hence
    /// the cheap keyed hasher.
    map: HashMap<IpAddr, Resolved, crate::flow::FlowHasher>,
    order: VecDeque<(IpAddr, u64)>,
    next_generation: u64,
    capacity: usize,
    /// Counters.
    pub stats: AnswerStats,
}

impl ResolvedIps {
    /// An empty table holding at most `capacity` addresses.
    pub fn new(capacity: usize) -> Self {
        ResolvedIps {
            map: HashMap::default(),
            order: VecDeque::new(),
            next_generation: 0,
            capacity: capacity.max(1),
            stats: AnswerStats::default(),
        }
    }

    /// Forget every address (kept allocations are reused).
    pub fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
    }

    /// Addresses held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Most addresses held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Estimated bytes held: map slots and age queue (as allocated) and the names. Walks the
    /// table; for stats and tests, not per packet.
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(IpAddr, Resolved)>() + 1;
        self.map.capacity() * slot
            + self.order.capacity() * std::mem::size_of::<(IpAddr, u64)>()
            + self.map.values().map(|r| r.name.capacity()).sum::<usize>()
    }

    /// Remember that `ip` was resolved from `name` (matched by `rule`/`pattern`) at `now`.
    #[allow(clippy::too_many_arguments)]
    pub fn remember(
        &mut self,
        ip: IpAddr,
        client: IpAddr,
        name: &str,
        rule: usize,
        pattern: usize,
        ttl: u32,
        now: i64,
    ) {
        let expires = now + i64::from(ttl.clamp(MIN_TTL, MAX_TTL));
        self.next_generation += 1;
        let generation = self.next_generation;
        if !self.map.contains_key(&ip) {
            while self.map.len() >= self.capacity {
                let Some((old, g)) = self.order.pop_front() else {
                    break;
                };
                if self.map.get(&old).is_some_and(|r| r.generation == g) {
                    self.map.remove(&old);
                    self.stats.evicted += 1;
                }
            }
        }
        self.map.insert(
            ip,
            Resolved {
                name: name.to_string(),
                rule,
                pattern,
                expires,
                client,
                generation,
            },
        );
        self.order.push_back((ip, generation));
        // Refreshes leave stale queue entries behind; keep the queue bounded too.
        if self.order.len() > 2 * self.capacity {
            let map = &self.map;
            self.order
                .retain(|(ip, g)| map.get(ip).is_some_and(|r| r.generation == *g));
        }
        self.stats.remembered += 1;
    }

    /// The live entry for `ip` at packet time `now`, if any.
    pub fn lookup(&mut self, ip: IpAddr, now: i64) -> Option<&Resolved> {
        if self.map.is_empty() {
            return None;
        }
        let live = self.map.get(&ip).is_some_and(|r| r.expires >= now);
        if !live {
            return None;
        }
        self.stats.hits += 1;
        self.map.get(&ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remember_lookup_expire_evict() {
        let mut t = ResolvedIps::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let c: IpAddr = "2001:db8::3".parse().unwrap();
        assert!(t.lookup(a, 0).is_none());
        t.remember(a, a, "dnl-01.geo.kaspersky.com", 0, 0, 5, 100);
        assert_eq!(t.lookup(a, 150).unwrap().name, "dnl-01.geo.kaspersky.com");
        assert!(t.lookup(a, 161).is_none(), "TTL 5 is kept for MIN_TTL");
        t.remember(b, a, "x", 1, 0, 300, 100);
        t.remember(c, a, "y", 2, 0, 300, 100);
        assert_eq!(t.len(), 2);
        assert_eq!(t.stats.evicted, 1);
        assert!(t.lookup(a, 100).is_none());
        assert!(t.lookup(c, 399).is_some());
        // Refreshing the same address many times keeps the queue bounded.
        for i in 0..100 {
            t.remember(c, a, "y", 2, 0, 300, 100 + i);
        }
        assert!(t.order.len() <= 4);
        assert_eq!(t.len(), 2);
    }
}
