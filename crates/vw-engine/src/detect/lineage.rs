//! Per-host memory of migrations (`[pack] migrated_from`): when a host first showed the
//! replaced product, so an alert of the replacing product can say at once that the host
//! migrated (`alert.metadata.verdict`).
//!
//! One table shared by every worker (like the suppression table): the flows of one host land
//! on different workers with `--workers N`, and the memory must see them all. It is keyed by
//! (host, pack id) and keeps the earliest packet time, so the answer does not depend on which
//! worker saw a flow first. Locked only for a hit of a pack in a relation, never per packet.
//!
//! Bounded ([`DEFAULT_CAPACITY`] keys); when full the oldest key is evicted and counted
//! (`DetectStats::lineage_evicted`). An evicted host loses its alert-level "migrated" verdict
//! only; the inventory report decides verdicts from all the alerts, not from this table.
//!
//! With several workers, a replacing product's alert can be processed before an older alert
//! of the replaced product on another worker: that alert then carries no verdict (never a
//! wrong one), and the report still says `migrated-to-...`.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::capture::Timestamp;

/// Default bound on (host, pack) keys held.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// Earliest product-evidence alert per (host, pack id).
#[derive(Debug)]
pub struct HostLineage {
    capacity: usize,
    first: HashMap<(IpAddr, String), Timestamp>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<(IpAddr, String)>,
}

impl Default for HostLineage {
    fn default() -> Self {
        HostLineage::new(DEFAULT_CAPACITY)
    }
}

impl HostLineage {
    /// A table holding at most `capacity` keys (at least 1).
    pub fn new(capacity: usize) -> Self {
        HostLineage {
            capacity: capacity.max(1),
            first: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Note that `host` showed `pack` at `ts`; true when a key was evicted to make room.
    pub fn note(&mut self, host: IpAddr, pack: &str, ts: Timestamp) -> bool {
        if let Some(t) = self.first.get_mut(&(host, pack.to_string())) {
            *t = (*t).min(ts);
            return false;
        }
        let mut evicted = false;
        while self.first.len() >= self.capacity {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            evicted |= self.first.remove(&old).is_some();
        }
        let key = (host, pack.to_string());
        self.order.push_back(key.clone());
        self.first.insert(key, ts);
        evicted
    }

    /// When `host` first showed `pack`, if remembered.
    pub fn first_seen(&self, host: IpAddr, pack: &str) -> Option<Timestamp> {
        self.first.get(&(host, pack.to_string())).copied()
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }

    /// The earliest time is kept whatever the order of notes; the table stays within its
    /// bound, evicting the oldest key and saying so.
    #[test]
    fn keeps_earliest_and_evicts_oldest_at_capacity() {
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let c: IpAddr = "10.0.0.3".parse().unwrap();
        let mut m = HostLineage::new(2);
        assert!(!m.note(a, "old", t(50)));
        assert!(!m.note(a, "old", t(20)));
        assert!(!m.note(a, "old", t(90)));
        assert_eq!(m.first_seen(a, "old"), Some(t(20)));
        assert_eq!(m.first_seen(a, "new"), None);
        assert!(!m.note(b, "old", t(30)));
        assert!(m.note(c, "old", t(40)));
        assert_eq!(m.len(), 2);
        assert_eq!(m.first_seen(a, "old"), None);
        assert_eq!(m.first_seen(c, "old"), Some(t(40)));
    }
}
