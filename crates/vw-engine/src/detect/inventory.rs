//! Per-host inventory: which internal hosts still call home, over which channels, when.
//! Updated only when an alert fires, so it costs nothing on the fast path.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use crate::capture::Timestamp;

/// What we know about one host that triggered alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostEntry {
    /// Vendors whose channels the host used.
    pub vendors: BTreeSet<String>,
    /// Channels (update, telemetry, ...) seen from this host.
    pub channels: BTreeSet<String>,
    /// Alerts attributed to the host.
    pub alerts: u64,
    /// First alert time.
    pub first_seen: Timestamp,
    /// Last alert time.
    pub last_seen: Timestamp,
}

/// Hosts by address, in address order so reports are stable.
#[derive(Debug, Default)]
pub struct Inventory {
    hosts: BTreeMap<IpAddr, HostEntry>,
}

impl Inventory {
    /// Record one alert for `host`.
    pub fn record(&mut self, host: IpAddr, vendor: &str, channel: &str, ts: Timestamp) {
        let entry = self.hosts.entry(host).or_insert_with(|| HostEntry {
            vendors: BTreeSet::new(),
            channels: BTreeSet::new(),
            alerts: 0,
            first_seen: ts,
            last_seen: ts,
        });
        if !entry.vendors.contains(vendor) {
            entry.vendors.insert(vendor.to_string());
        }
        if !entry.channels.contains(channel) {
            entry.channels.insert(channel.to_string());
        }
        entry.alerts += 1;
        entry.first_seen = entry.first_seen.min(ts);
        entry.last_seen = entry.last_seen.max(ts);
    }

    /// Add another inventory (a worker's) into this one.
    pub fn merge(&mut self, other: Inventory) {
        for (host, e) in other.hosts {
            match self.hosts.get_mut(&host) {
                None => {
                    self.hosts.insert(host, e);
                }
                Some(mine) => {
                    mine.vendors.extend(e.vendors);
                    mine.channels.extend(e.channels);
                    mine.alerts += e.alerts;
                    mine.first_seen = mine.first_seen.min(e.first_seen);
                    mine.last_seen = mine.last_seen.max(e.last_seen);
                }
            }
        }
    }

    /// Hosts in address order.
    pub fn hosts(&self) -> impl Iterator<Item = (&IpAddr, &HostEntry)> {
        self.hosts.iter()
    }

    /// Vendor -> hosts that used its channels (both in order): "which covered vendors'
    /// devices are on this network, on which hosts".
    pub fn by_vendor(&self) -> BTreeMap<&str, Vec<IpAddr>> {
        let mut out: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
        for (host, e) in &self.hosts {
            for v in &e.vendors {
                out.entry(v.as_str()).or_default().push(*host);
            }
        }
        out
    }

    /// Number of distinct hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no host alerted.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_channels_and_times() {
        let mut inv = Inventory::default();
        let host: IpAddr = "10.0.0.5".parse().unwrap();
        let t = |s| Timestamp { secs: s, nanos: 0 };
        inv.record(host, "Kaspersky", "update", t(20));
        inv.record(host, "Kaspersky", "telemetry", t(10));
        inv.record(host, "Kaspersky", "update", t(30));
        let (_, e) = inv.hosts().next().unwrap();
        assert_eq!(e.alerts, 3);
        assert_eq!(e.channels.len(), 2);
        assert_eq!((e.first_seen, e.last_seen), (t(10), t(30)));
    }
}
