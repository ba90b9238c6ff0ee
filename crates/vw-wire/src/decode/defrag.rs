//! IPv4 and IPv6 fragment reassembly, bounded.
//!
//! Nothing here runs (or allocates) until a fragment arrives. Each datagram being reassembled
//! is one [`Entry`], keyed by version, addresses, identification (and protocol for IPv4). The
//! table is bounded three ways, each counted in [`DefragStats`]:
//! - **timeout**: an entry whose first fragment is older than [`DefragConfig::timeout_secs`]
//!   (by packet timestamps, not the wall clock) is dropped when the next fragment arrives;
//! - **memory cap**: the bytes held by all entries stay under [`DefragConfig::memcap`]; a new
//!   fragment that would pass it evicts the oldest entries first;
//! - **entry cap**: at most [`DefragConfig::max_datagrams`] datagrams at once (oldest evicted).
//!
//! Overlap policy: **first wins**. Bytes already received are never overwritten; a fragment
//! that overlaps only fills the gaps it covers, and the overlap is counted. (Most stacks keep the
//! first copy; RFC 5722 tells IPv6 receivers to drop such datagrams, which loses data an IDS
//! must see.) A fragment that would make the datagram longer than 65535 bytes, or that
//! disagrees with an already known total length, is dropped and counted.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::capture::Timestamp;

/// Keyed hasher for the table's index (per-process random seed: fragments are attacker
/// chosen, so their keys must not be aimable at one bucket).
type FragHasher = foldhash::fast::RandomState;

/// Largest IP datagram payload (IPv4 total length and IPv6 payload length are 16 bit).
const MAX_DATAGRAM: usize = 65_535;

/// Limits of the reassembly table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DefragConfig {
    /// Bytes held across all incomplete datagrams.
    pub memcap: usize,
    /// Seconds (packet time) before an incomplete datagram is dropped.
    pub timeout_secs: i64,
    /// Incomplete datagrams held at once.
    pub max_datagrams: usize,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            memcap: 32 * 1024 * 1024,
            timeout_secs: 60,
            max_datagrams: 8192,
        }
    }
}

/// Reassembly counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments seen.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Fragments that overlapped bytes already held (first copy kept).
    pub overlaps: u64,
    /// Incomplete datagrams dropped by the timeout.
    pub expired: u64,
    /// Incomplete datagrams evicted by the memory or entry cap.
    pub evicted: u64,
    /// Fragments dropped: invalid offset or length, too big, inconsistent, or over the cap.
    pub dropped: u64,
}

impl std::ops::AddAssign for DefragStats {
    fn add_assign(&mut self, o: Self) {
        let DefragStats {
            fragments,
            reassembled,
            overlaps,
            expired,
            evicted,
            dropped,
        } = o;
        self.fragments += fragments;
        self.reassembled += reassembled;
        self.overlaps += overlaps;
        self.expired += expired;
        self.evicted += evicted;
        self.dropped += dropped;
    }
}

/// Identity of a datagram being reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Identification (16 bit for IPv4, 32 for IPv6).
    pub id: u32,
    /// IPv4 protocol; 0 for IPv6 (its next header is taken from the first fragment).
    pub proto: u8,
}

/// One fragment, as the IP layer found it.
#[derive(Debug, Clone, Copy)]
pub struct Fragment<'p> {
    /// Which datagram.
    pub key: FragKey,
    /// Offset of `data` in the datagram, in bytes.
    pub offset: usize,
    /// More fragments follow.
    pub more: bool,
    /// Protocol of the reassembled payload as this fragment states it.
    pub next_proto: u8,
    /// The fragment's bytes.
    pub data: &'p [u8],
}

/// A completed datagram: its protocol and bytes, borrowed from the table.
#[derive(Debug, Clone, Copy)]
pub struct Reassembled<'a> {
    /// Protocol (IPv4) or next header (IPv6) of the payload.
    pub proto: u8,
    /// Payload bytes.
    pub data: &'a [u8],
}

struct Entry {
    /// Arrival order of the first fragment (matches the entry's place in `Defrag::order`).
    seq: u64,
    first_ts: Timestamp,
    /// Next header from the offset-0 fragment, when seen.
    proto: Option<u8>,
    /// Total length, once the last fragment (MF clear) has been seen.
    total: Option<usize>,
    /// Bytes by offset; holes are zero until filled.
    buf: Vec<u8>,
    /// Received ranges, sorted and merged.
    have: Vec<(usize, usize)>,
}

impl Entry {
    fn held(&self) -> usize {
        self.buf.capacity() + self.have.capacity() * 16 + 64
    }

    fn complete(&self) -> bool {
        match (self.total, self.have.first()) {
            (Some(total), Some(&(0, end))) => self.have.len() == 1 && end == total,
            (Some(0), None) => true,
            _ => false,
        }
    }

    /// Copy the parts of `[start, start + data.len())` not yet held; true if any byte was
    /// already held (an overlap).
    fn fill(&mut self, start: usize, data: &[u8]) -> bool {
        let end = start + data.len();
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        let mut overlap = false;
        let mut cursor = start;
        for &(s, e) in &self.have {
            if e <= cursor {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cursor {
                copy_range(&mut self.buf, data, start, cursor, s.min(end));
            }
            overlap = true;
            cursor = cursor.max(e);
            if cursor >= end {
                break;
            }
        }
        if cursor < end {
            copy_range(&mut self.buf, data, start, cursor, end);
        }
        self.have.push((start, end));
        self.have.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.have.len());
        for &(s, e) in &self.have {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.have = merged;
        overlap
    }
}

/// Copy `data[from - start .. to - start]` to `buf[from..to]`.
fn copy_range(buf: &mut [u8], data: &[u8], start: usize, from: usize, to: usize) {
    if let (Some(dst), Some(src)) = (buf.get_mut(from..to), data.get(from - start..to - start)) {
        dst.copy_from_slice(src);
    }
}

fn older_than(ts: Timestamp, now: Timestamp, secs: i64) -> bool {
    now.secs.saturating_sub(ts.secs) > secs
        || (now.secs.saturating_sub(ts.secs) == secs && now.nanos > ts.nanos)
}

/// The reassembly table. Empty (no allocation) until the first fragment.
///
/// Entries are found through a hash index, and their arrival order (for the timeout and for
/// evicting the oldest) is a queue of (key, seq) whose stale items (datagrams completed or
/// evicted out of order) are skipped when they reach the front and compacted away when they
/// outnumber the live ones: every fragment costs O(1) however many datagrams are pending
/// (a flood of never-completed datagrams used to cost a scan of the whole table per fragment).
#[derive(Default)]
pub struct Defrag {
    config: DefragConfig,
    entries: HashMap<FragKey, Entry, FragHasher>,
    order: VecDeque<(FragKey, u64)>,
    next_seq: u64,
    held: usize,
    /// The last completed datagram, kept until the next one.
    done: Vec<u8>,
    /// Counters.
    pub stats: DefragStats,
}

impl Defrag {
    /// An empty table with these limits.
    pub fn new(config: DefragConfig) -> Self {
        Defrag {
            config,
            ..Defrag::default()
        }
    }

    /// Bytes held by incomplete datagrams (the table's own accounting, checked against the
    /// memory cap).
    pub fn held(&self) -> usize {
        self.held
    }

    /// Incomplete datagrams held.
    pub fn pending(&self) -> usize {
        self.entries.len()
    }

    fn is_live(&self, item: &(FragKey, u64)) -> bool {
        self.entries.get(&item.0).is_some_and(|e| e.seq == item.1)
    }

    /// The oldest datagram other than `except`, dropping stale queue items at the front.
    fn oldest_except(&mut self, except: Option<&FragKey>) -> Option<FragKey> {
        while let Some(front) = self.order.front() {
            if self.is_live(front) {
                break;
            }
            self.order.pop_front();
        }
        self.order
            .iter()
            .filter(|item| Some(&item.0) != except)
            .find(|item| self.is_live(item))
            .map(|item| item.0)
    }

    fn remove(&mut self, key: &FragKey) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        self.held = self.held.saturating_sub(entry.held());
        Some(entry)
    }

    /// Add a fragment; the completed datagram when this one finishes it.
    pub fn insert<'a>(&'a mut self, frag: Fragment<'_>, ts: Timestamp) -> Option<Reassembled<'a>> {
        self.stats.fragments += 1;
        // Expire by packet time (the queue is in arrival order of first fragments).
        let timeout = self.config.timeout_secs;
        while let Some(key) = self.oldest_except(None) {
            if !self
                .entries
                .get(&key)
                .is_some_and(|e| older_than(e.first_ts, ts, timeout))
            {
                break;
            }
            self.remove(&key);
            self.stats.expired += 1;
        }
        let end = frag.offset.checked_add(frag.data.len())?;
        // Non-last fragments carry a multiple of 8 bytes; the datagram fits in 64 KiB.
        if end > MAX_DATAGRAM
            || (frag.more && !frag.data.len().is_multiple_of(8))
            || frag.data.is_empty() && frag.more
        {
            self.stats.dropped += 1;
            return None;
        }
        let key = frag.key;
        if !self.entries.contains_key(&key) {
            while self.entries.len() >= self.config.max_datagrams.max(1) {
                let Some(oldest) = self.oldest_except(None) else {
                    break;
                };
                self.remove(&oldest);
                self.stats.evicted += 1;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let entry = Entry {
                seq,
                first_ts: ts,
                proto: None,
                total: None,
                buf: Vec::new(),
                have: Vec::new(),
            };
            // Charged now, as `remove` takes it back: otherwise every datagram evicted
            // would lower the count by its header, and under churn the memory cap would
            // stop counting what is held.
            self.held += entry.held();
            self.entries.insert(key, entry);
            self.order.push_back((key, seq));
            if self.order.len() > 2 * self.entries.len() + 64 {
                let entries = &self.entries;
                self.order
                    .retain(|(k, seq)| entries.get(k).is_some_and(|e| e.seq == *seq));
            }
        }
        // Make room under the memory cap, evicting the oldest other datagrams first.
        let need = end.saturating_sub(self.entries.get(&key).map_or(0, |e| e.buf.capacity()));
        while self.held + need + 64 > self.config.memcap && self.entries.len() > 1 {
            let Some(victim) = self.oldest_except(Some(&key)) else {
                break;
            };
            self.remove(&victim);
            self.stats.evicted += 1;
        }
        if self.held + need + 64 > self.config.memcap {
            self.remove(&key);
            self.stats.dropped += 1;
            return None;
        }
        let entry = self.entries.get_mut(&key)?;
        // A last fragment fixes the total; every fragment must agree with it.
        let consistent = match (frag.more, entry.total) {
            (false, Some(total)) => total == end,
            (false, None) => entry.have.last().is_none_or(|&(_, e)| e <= end),
            (true, Some(total)) => end <= total,
            (true, None) => true,
        };
        if !consistent {
            self.stats.dropped += 1;
            return None;
        }
        if !frag.more {
            entry.total = Some(end);
        }
        if frag.offset == 0 && entry.proto.is_none() {
            entry.proto = Some(frag.next_proto);
        }
        let before = entry.held();
        let overlap = entry.fill(frag.offset, frag.data);
        let after = entry.held();
        self.held = self.held.saturating_sub(before) + after;
        if overlap {
            self.stats.overlaps += 1;
        }
        if !entry.complete() {
            return None;
        }
        let mut entry = self.remove(&key)?;
        let proto = entry.proto.unwrap_or(frag.next_proto);
        if let Some(total) = entry.total {
            entry.buf.truncate(total);
        }
        self.done = std::mem::take(&mut entry.buf);
        self.stats.reassembled += 1;
        Some(Reassembled {
            proto,
            data: &self.done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: u32) -> FragKey {
        FragKey {
            src: IpAddr::from([10, 0, 0, 1]),
            dst: IpAddr::from([10, 0, 0, 2]),
            id,
            proto: 17,
        }
    }

    fn frag(id: u32, offset: usize, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            key: key(id),
            offset,
            more,
            next_proto: 17,
            data,
        }
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }

    /// The second half of datagram `id` (16 bytes in all) completes it when the first is held.
    fn completes(d: &mut Defrag, id: u32, secs: i64) -> bool {
        d.insert(frag(id, 8, false, &[2; 8]), at(secs)).is_some()
    }

    #[test]
    fn the_oldest_pending_datagram_is_evicted_even_after_out_of_order_completions() {
        let mut d = Defrag::new(DefragConfig {
            max_datagrams: 2,
            ..DefragConfig::default()
        });
        for id in [1, 2] {
            assert!(d.insert(frag(id, 0, true, &[1; 8]), at(0)).is_none());
        }
        assert!(
            completes(&mut d, 1, 0),
            "1 completes; its queue item goes stale"
        );
        assert!(d.insert(frag(3, 0, true, &[1; 8]), at(0)).is_none());
        assert_eq!((d.pending(), d.stats.evicted), (2, 0));
        // Full: 4 evicts the oldest pending datagram, 2 (not the completed 1, not 3).
        assert!(d.insert(frag(4, 0, true, &[1; 8]), at(0)).is_none());
        assert_eq!(d.stats.evicted, 1);
        assert!(completes(&mut d, 3, 0));
        assert!(completes(&mut d, 4, 0));
        assert!(!completes(&mut d, 2, 0), "2 was evicted");
    }

    #[test]
    fn expiry_follows_first_fragment_time_and_the_queue_stays_bounded() {
        let mut d = Defrag::new(DefragConfig {
            timeout_secs: 10,
            ..DefragConfig::default()
        });
        // One datagram stays pending at the front while 10,000 others complete behind it.
        assert!(d.insert(frag(0, 0, true, &[1; 8]), at(0)).is_none());
        for id in 1..10_000 {
            assert!(d.insert(frag(id, 0, true, &[1; 8]), at(5)).is_none());
            assert!(completes(&mut d, id, 5));
            assert!(
                d.order.len() <= 2 * (d.pending() + 1) + 64,
                "{}",
                d.order.len()
            );
        }
        assert_eq!(d.pending(), 1);
        // Past its timeout, the next fragment expires it first.
        assert!(d.insert(frag(20_000, 0, true, &[1; 8]), at(11)).is_none());
        assert_eq!((d.stats.expired, d.pending()), (1, 1));
        assert!(!completes(&mut d, 0, 11), "0 expired");
    }
}
