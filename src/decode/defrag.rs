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

use std::net::IpAddr;

use crate::capture::Timestamp;

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

/// Identity of a datagram being reassembled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    key: FragKey,
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
#[derive(Default)]
pub struct Defrag {
    config: DefragConfig,
    entries: Vec<Entry>,
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

    fn remove(&mut self, index: usize) -> Entry {
        let entry = self.entries.remove(index);
        self.held = self.held.saturating_sub(entry.held());
        entry
    }

    /// Add a fragment; the completed datagram when this one finishes it.
    pub fn insert<'a>(&'a mut self, frag: Fragment<'_>, ts: Timestamp) -> Option<Reassembled<'a>> {
        self.stats.fragments += 1;
        // Expire by packet time (entries are in arrival order of their first fragment).
        let timeout = self.config.timeout_secs;
        while self
            .entries
            .first()
            .is_some_and(|e| older_than(e.first_ts, ts, timeout))
        {
            self.remove(0);
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
        let index = match self.entries.iter().position(|e| e.key == frag.key) {
            Some(i) => i,
            None => {
                while self.entries.len() >= self.config.max_datagrams.max(1) {
                    self.remove(0);
                    self.stats.evicted += 1;
                }
                let entry = Entry {
                    key: frag.key,
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
                self.entries.push(entry);
                self.entries.len() - 1
            }
        };
        // Make room under the memory cap, evicting the oldest other datagrams first.
        let mut index = index;
        let need = end.saturating_sub(self.entries.get(index).map_or(0, |e| e.buf.capacity()));
        while self.held + need + 64 > self.config.memcap && self.entries.len() > 1 {
            let victim = if index == 0 { 1 } else { 0 };
            self.remove(victim);
            self.stats.evicted += 1;
            if victim < index {
                index -= 1;
            }
        }
        if self.held + need + 64 > self.config.memcap {
            self.remove(index);
            self.stats.dropped += 1;
            return None;
        }
        let entry = self.entries.get_mut(index)?;
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
        let mut entry = self.remove(index);
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
