//! Alert suppression: one alert per (source host, rule, matched name, observation kind) per
//! window of packet time. Repeats inside the window are counted, never lost: the next alert for
//! the key carries them (`alert.metadata.repeats`), and the roll-up at exit lists them.
//!
//! A window is a span of packet time around its start: a hit less than the window away from
//! it, *either way*, is a repeat. Packet time is not trusted to be monotonic: it steps back a
//! little between interfaces, workers and files, and a damaged or hostile capture may stamp
//! one packet in 2106 or 1970. A hit further away than the window, in either direction, opens
//! a new window at its own time. So a bogus stamp costs at most two alerts (the bogus one, and
//! the next hit in real time, which is then far from the bogus window) and never hides the
//! hits after it. Evicting expired keys when the table is full goes by the table's own clock
//! of hit times ([`PacketClock`]), which a lone bogus stamp does not move, so such a hit does
//! not expire every key.
//!
//! The table is bounded ([`DEFAULT_CAPACITY`] keys). When full, keys whose window has passed
//! are dropped first, then the least recently alerted eighth; evictions and the repeats still
//! pending in evicted keys are counted so the totals stay exact.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::capture::Timestamp;
use crate::capture::clock::PacketClock;
use crate::record::Observation;
use crate::record::counters::SuppressStats;

/// Default window: one hour of packet time.
pub const DEFAULT_WINDOW_SECS: u64 = 3600;
/// Default bound on distinct keys held.
pub const DEFAULT_CAPACITY: usize = 65_536;

/// What suppression is keyed on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SuppressKey {
    /// The host running the product.
    pub host: IpAddr,
    /// Rule `sid`.
    pub sid: u32,
    /// Matched name (normalised) or address.
    pub name: String,
    /// Observation kind.
    pub observation: &'static str,
}

#[derive(Debug, Clone)]
struct Entry {
    /// Packet time (seconds) of the alert that opened the current window.
    window_start: i64,
    /// Repeats suppressed since the last alert written for this key.
    pending: u64,
    /// All repeats suppressed for this key.
    total: u64,
    /// Packet time of the last repeat suppressed.
    last: Timestamp,
}

/// Verdict for one hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Write the alert; it carries this many repeats suppressed before it.
    Alert {
        /// Suppressed repeats since the previous alert for the key.
        repeats: u64,
    },
    /// Inside the window: counted, not written.
    Suppressed,
}

/// The suppression table and its counters.
#[derive(Debug)]
pub struct Suppressor {
    window: i64,
    capacity: usize,
    table: HashMap<SuppressKey, Entry>,
    /// Packet time of the hits, for expiring keys (not moved by a lone bogus stamp).
    clock: PacketClock,
    /// Hits suppressed in total.
    pub suppressed: u64,
    /// Suppressed repeats later reported in an alert's `repeats`.
    pub reported_in_alerts: u64,
    /// Keys evicted because the table was full.
    pub evictions: u64,
    /// Repeats that were pending in evicted keys (counted here, not carried by an alert).
    pub evicted_pending: u64,
}

impl Default for Suppressor {
    fn default() -> Self {
        Suppressor::new(DEFAULT_WINDOW_SECS, DEFAULT_CAPACITY)
    }
}

impl Suppressor {
    /// `window_secs` 0 turns suppression off (every hit alerts).
    pub fn new(window_secs: u64, capacity: usize) -> Self {
        Suppressor {
            window: i64::try_from(window_secs).unwrap_or(i64::MAX),
            capacity: capacity.max(1),
            table: HashMap::new(),
            clock: PacketClock::default(),
            suppressed: 0,
            reported_in_alerts: 0,
            evictions: 0,
            evicted_pending: 0,
        }
    }

    /// New window and capacity (a SIGHUP reload): keys held stay, counted against the new
    /// window; beyond a smaller capacity the oldest are evicted (counted) at once.
    pub fn set_limits(&mut self, window_secs: u64, capacity: usize) {
        self.window = i64::try_from(window_secs).unwrap_or(i64::MAX);
        self.capacity = capacity.max(1);
        while self.table.len() > self.capacity {
            let now = self.clock.now().unwrap_or(0);
            self.make_room(now);
        }
    }

    /// True when suppression is on.
    pub fn enabled(&self) -> bool {
        self.window > 0
    }

    /// Decide for one hit at packet time `ts`. Allocates (the key's name) only for a key not
    /// yet in the table.
    pub fn check(
        &mut self,
        host: IpAddr,
        sid: u32,
        name: &str,
        observation: Observation,
        ts: Timestamp,
    ) -> Verdict {
        if !self.enabled() {
            return Verdict::Alert { repeats: 0 };
        }
        self.clock.step(ts);
        let key = SuppressKey {
            host,
            sid,
            name: name.to_string(),
            observation: observation.label(),
        };
        if let Some(e) = self.table.get_mut(&key) {
            if within(ts.secs, e.window_start, self.window) {
                e.pending += 1;
                e.total += 1;
                e.last = e.last.max(ts);
                self.suppressed += 1;
                return Verdict::Suppressed;
            }
            let repeats = e.pending;
            e.pending = 0;
            e.window_start = ts.secs;
            self.reported_in_alerts += repeats;
            return Verdict::Alert { repeats };
        }
        if self.table.len() >= self.capacity {
            self.make_room(self.clock.now().unwrap_or(ts.secs));
        }
        self.table.insert(
            key,
            Entry {
                window_start: ts.secs,
                pending: 0,
                total: 0,
                last: ts,
            },
        );
        Verdict::Alert { repeats: 0 }
    }

    /// Drop the keys whose window `now` is outside of, then (still full) the least recently
    /// opened eighth.
    fn make_room(&mut self, now: i64) {
        let window = self.window;
        let before = self.table.len();
        let mut pending = 0;
        self.table.retain(|_, e| {
            let keep = within(now, e.window_start, window);
            if !keep {
                pending += e.pending;
            }
            keep
        });
        if self.table.len() >= self.capacity {
            let mut starts: Vec<i64> = self.table.values().map(|e| e.window_start).collect();
            let nth = (starts.len() / 8).max(1) - 1;
            let (_, cut, _) = starts.select_nth_unstable(nth);
            let cut = *cut;
            let mut removed = 0usize;
            let target = nth + 1;
            self.table.retain(|_, e| {
                if removed < target && e.window_start <= cut {
                    removed += 1;
                    pending += e.pending;
                    false
                } else {
                    true
                }
            });
        }
        self.evictions += (before - self.table.len()) as u64;
        self.evicted_pending += pending;
    }

    /// Keys held now (at most the capacity).
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Most keys held at once.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Estimated bytes held: hash table slots (as allocated) and the keys' names. Walks the
    /// table; for stats and tests, not per packet.
    pub fn memory_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(SuppressKey, Entry)>() + 1;
        self.table.capacity() * slot + self.table.keys().map(|k| k.name.capacity()).sum::<usize>()
    }

    /// Repeats suppressed and not (yet) carried by an alert, still in the table.
    pub fn pending(&self) -> u64 {
        self.table.values().map(|e| e.pending).sum()
    }

    /// Keys with repeats not carried by any alert yet: (key, pending, time of the last one).
    /// A report built from the alerts adds these so its counts stay exact.
    pub fn pending_repeats(&self) -> impl Iterator<Item = (&SuppressKey, u64, Timestamp)> {
        self.table
            .iter()
            .filter(|(_, e)| e.pending > 0)
            .map(|(k, e)| (k, e.pending, e.last))
    }

    /// Counters for the stats record and metrics.
    pub fn stats(&self) -> SuppressStats {
        SuppressStats {
            suppressed: self.suppressed,
            evictions: self.evictions,
        }
    }

    /// Roll-up for the summary: keys with suppressed repeats, most first.
    pub fn rollup(&self) -> Vec<(&SuppressKey, u64)> {
        let mut keys: Vec<(&SuppressKey, u64)> = self
            .table
            .iter()
            .filter(|(_, e)| e.total > 0)
            .map(|(k, e)| (k, e.total))
            .collect();
        keys.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        keys
    }
}

/// True when packet time `t` is less than `window` seconds from `start`, before or after it.
fn within(t: i64, start: i64, window: i64) -> bool {
    t.abs_diff(start) < window.unsigned_abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }

    #[test]
    fn one_alert_per_window_repeats_carried() {
        let mut s = Suppressor::new(100, 16);
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        let q = Observation::DnsQuery;
        assert_eq!(
            s.check(h, 1, "a.com", q, t(0)),
            Verdict::Alert { repeats: 0 }
        );
        for i in 1..=5 {
            assert_eq!(s.check(h, 1, "a.com", q, t(i)), Verdict::Suppressed);
        }
        // Another name, rule or observation kind is another key.
        assert_eq!(
            s.check(h, 1, "b.com", q, t(1)),
            Verdict::Alert { repeats: 0 }
        );
        assert_eq!(
            s.check(h, 1, "a.com", Observation::TlsSni, t(1)),
            Verdict::Alert { repeats: 0 }
        );
        assert_eq!(
            s.check(h, 1, "a.com", q, t(100)),
            Verdict::Alert { repeats: 5 }
        );
        assert_eq!(s.check(h, 1, "a.com", q, t(101)), Verdict::Suppressed);
        assert_eq!((s.suppressed, s.reported_in_alerts, s.pending()), (6, 5, 1));
        assert_eq!(s.rollup()[0].1, 6);
    }

    #[test]
    fn new_limits_apply_to_the_keys_held() {
        let mut s = Suppressor::new(100, 64);
        let q = Observation::DnsQuery;
        for i in 0..40u8 {
            let h = IpAddr::from([10, 0, 0, i]);
            assert_eq!(
                s.check(h, 1, "a.com", q, t(i64::from(i))),
                Verdict::Alert { repeats: 0 }
            );
        }
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(s.check(h, 1, "a.com", q, t(50)), Verdict::Suppressed);
        // A smaller table: the oldest keys go at once, counted.
        s.set_limits(100, 10);
        assert!(s.len() <= 10, "{} keys held", s.len());
        assert_eq!(s.evictions, 30);
        // Suppression off: every hit alerts.
        s.set_limits(0, 10);
        let h: IpAddr = "10.0.0.39".parse().unwrap();
        assert_eq!(
            s.check(h, 1, "a.com", q, t(60)),
            Verdict::Alert { repeats: 0 }
        );
        assert_eq!(
            s.check(h, 1, "a.com", q, t(61)),
            Verdict::Alert { repeats: 0 }
        );
        // A shorter window: a key 20 s old is out of it.
        s.set_limits(10, 10);
        assert_eq!(
            s.check(h, 1, "a.com", q, t(62)),
            Verdict::Alert { repeats: 0 }
        );
        assert_eq!(s.check(h, 1, "a.com", q, t(63)), Verdict::Suppressed);
    }

    #[test]
    fn a_bogus_time_does_not_hold_the_key() {
        let mut s = Suppressor::new(3600, 16);
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        let q = Observation::DnsQuery;
        let mut check = |secs| s.check(h, 1, "a.com", q, t(secs));
        let base = 1_727_784_000;
        assert_eq!(check(base), Verdict::Alert { repeats: 0 });
        assert_eq!(check(base + 10), Verdict::Suppressed);
        // 2106: far from the window, opens its own.
        assert_eq!(check(4_291_747_200), Verdict::Alert { repeats: 1 });
        // Back in real time: far from the 2106 window, a new one again.
        assert_eq!(check(base + 20), Verdict::Alert { repeats: 0 });
        assert_eq!(check(base + 30), Verdict::Suppressed);
        // A little back in time (another file, another worker): still a repeat.
        assert_eq!(check(base - 1000), Verdict::Suppressed);
        assert_eq!(check(base + 20 + 3600), Verdict::Alert { repeats: 2 });
        // Far back (an older file read later): a window of its own.
        assert_eq!(check(base - 86_400), Verdict::Alert { repeats: 0 });
        assert_eq!(check(i64::MIN), Verdict::Alert { repeats: 0 });
        assert_eq!(check(i64::MAX), Verdict::Alert { repeats: 0 });
    }

    #[test]
    fn a_bogus_time_does_not_expire_the_full_table() {
        let mut s = Suppressor::new(3600, 8);
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        let base = 1_727_784_000;
        for i in 0..8 {
            s.check(
                h,
                1,
                &format!("n{i}.com"),
                Observation::DnsQuery,
                t(base + i),
            );
            s.check(
                h,
                1,
                &format!("n{i}.com"),
                Observation::DnsQuery,
                t(base + i),
            );
        }
        // A new key stamped 2106 with the table full: one key makes room, not all eight.
        s.check(h, 1, "x.com", Observation::DnsQuery, t(4_291_747_200));
        assert_eq!((s.evictions, s.len()), (1, 8));
    }

    #[test]
    fn zero_window_disables() {
        let mut s = Suppressor::new(0, 16);
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(
                s.check(h, 1, "a.com", Observation::DnsQuery, t(0)),
                Verdict::Alert { repeats: 0 }
            );
        }
        assert_eq!(s.suppressed, 0);
    }

    #[test]
    fn bounded_with_counted_evictions() {
        let mut s = Suppressor::new(1000, 64);
        let h: IpAddr = "10.0.0.1".parse().unwrap();
        for i in 0..1000 {
            let name = format!("n{i}.com");
            s.check(h, 1, &name, Observation::DnsQuery, t(i));
            s.check(h, 1, &name, Observation::DnsQuery, t(i));
        }
        assert!(s.table.len() <= 64);
        assert!(s.evictions >= 1000 - 64);
        assert_eq!(s.suppressed, 1000);
        assert_eq!(s.evicted_pending + s.pending() + s.reported_in_alerts, 1000);
    }
}
