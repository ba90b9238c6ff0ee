//! The compiled form of a [`RuleSet`]: name lookup by hashed suffixes, IP lookup by prefix
//! length. Built once per (re)load; lookups never allocate.

use super::pack::RuleSet;
use super::pattern::{
    Mode, PortProto, glob_match, mask4, mask6, parse_cidr, parse_domain, parse_port,
    split_canonical,
};
use crate::proto::NameBuf;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::net::IpAddr;

/// FxHash (the rustc hasher): a multiply-rotate over 8-byte words. Why not SipHash: keys are
/// short, bounded names from our own rule files, so HashDoS resistance buys nothing on the
/// hot path, and Fx is several times faster for 10-30 byte keys.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_u128(&mut self, i: u128) {
        self.add(i as u64);
        self.add((i >> 64) as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// `BuildHasher` for [`FxHasher`], for maps keyed by names or masked addresses.
pub type FxBuildHasher = BuildHasherDefault<FxHasher>;

/// The best (or one) rule that matched a name: indexes, so the caller reads everything else
/// (sid, channel, the pattern text) from the [`RuleSet`] only when it builds an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Index into that rule's `domains`.
    pub pattern: usize,
}

/// The rule whose CIDR matched an address: indexes, as for [`NameMatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Index into that rule's `ips`.
    pub pattern: usize,
}

/// The rule whose `ports` entry matched a server port: indexes, as for [`NameMatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Index into that rule's `ports`.
    pub pattern: usize,
}

/// The rule whose `payloads` or `user_agents` entry matched: indexes, as for [`NameMatch`]
/// (`pattern` indexes the list the observation names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndicatorMatch {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// Index into that rule's `payloads` or `user_agents`.
    pub pattern: usize,
}

/// One compiled payload prefix: fixed size, so the table is one flat, sorted array.
#[derive(Debug, Clone, Copy)]
struct PayloadEntry {
    proto: PortProto,
    port: u16,
    len: u8,
    prefix: [u8; super::pack::MAX_PAYLOAD_PREFIX],
    sid: u32,
    rule: u32,
    pattern: u32,
}

/// One compiled `user_agents` entry; its bytes live in [`Matcher::ua_arena`].
#[derive(Debug, Clone, Copy)]
struct UaEntry {
    start: u32,
    len: u32,
    anchored: bool,
    rule: u32,
    pattern: u32,
}

/// How to compile a [`RuleSet`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Match the `ports` of every enabled rule (`--enable-port-rules`). Without it only packs
    /// that set `port_rules = true` have their ports matched.
    pub enable_port_rules: bool,
}

/// One compiled domain pattern. Its anchor and the labels left of it live in the matcher's
/// byte arena, so an entry is 24 bytes and needs no allocation of its own (1 million patterns
/// cost about 24 MB of entries plus their text).
#[derive(Debug, Clone, Copy)]
struct Entry {
    rule: u32,
    pattern: u32,
    sid: u32,
    /// Offset of the anchor in the arena; the labels left of it (joined by dots) follow it.
    text: u32,
    anchor_len: u8,
    left_len: u8,
    rank: u8,
    mode: Mode,
    /// From a `pass = true` rule: when this entry is the best match, nothing alerts.
    pass: bool,
}

impl Entry {
    fn anchor<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.text as usize;
        arena
            .get(start..start + usize::from(self.anchor_len))
            .unwrap_or_default()
    }

    fn left<'a>(&self, arena: &'a [u8]) -> &'a [u8] {
        let start = self.text as usize + usize::from(self.anchor_len);
        arena
            .get(start..start + usize::from(self.left_len))
            .unwrap_or_default()
    }

    /// `left` is the part of the name before the anchor (without the joining dot), `None`
    /// when the anchor is the whole name.
    fn matches(&self, arena: &[u8], left: Option<&[u8]>) -> bool {
        if self.left_len == 0 {
            return match self.mode {
                Mode::Exact => left.is_none(),
                Mode::Below => left.is_some_and(|l| !l.is_empty()),
                Mode::Subtree => true,
            };
        }
        let Some(left) = left else { return false };
        let mut labels = left.rsplit(|&b| b == b'.');
        for pat in self.left(arena).rsplit(|&b| b == b'.') {
            match labels.next() {
                Some(label) if glob_match(pat, label) => {}
                _ => return false,
            }
        }
        let more = labels.next().is_some();
        match self.mode {
            Mode::Exact => !more,
            Mode::Below => more,
            Mode::Subtree => true,
        }
    }
}

/// Most anchor runs one lookup keeps (at most one per label of the name).
const MAX_RUNS: usize = 16;

/// Hash of a suffix, the key of the anchor table: bytes taken from the *right* (an Fx-style
/// multiply-rotate per byte), so a lookup extends the hash of `kaspersky.com` to that of
/// `upd.kaspersky.com` instead of starting over: the whole walk costs one pass over the name.
#[inline]
fn hash_step(h: u64, b: u8) -> u64 {
    (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_SEED)
}

#[inline]
fn anchor_hash(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0, |h, &b| hash_step(h, b))
}

/// Spread a suffix hash over the table index bits (a bijection, so equal hashes stay equal).
#[inline]
fn mix(h: u64) -> u64 {
    (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// One slot of [`AnchorTable`]: suffix hash -> run of entries (`count` 0: a node on the way
/// to longer anchors).
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u64,
    first: u32,
    count: u32,
}

/// Open addressing with linear probing, indexed by the top bits of [`mix`]`(hash)`, at most
/// 3/4 full. Why not a `HashMap`: 16-byte slots, one cache line per probe, and a build in
/// index order (keys sorted by `mix`) that writes the table front to back.
#[derive(Debug, Default)]
struct AnchorTable {
    /// One byte per slot: 0 empty, else 0x80 | 7 bits of the key's mix. A probe reads these
    /// (2 MB for a million anchors, cache-resident) and touches a slot only on a tag match,
    /// so a name under an unknown domain rarely leaves the cache.
    tags: Vec<u8>,
    slots: Vec<Slot>,
    shift: u32,
    len: usize,
}

impl AnchorTable {
    fn with_capacity(keys: usize) -> Self {
        let size = (keys + keys / 3 + 1).next_power_of_two().max(8);
        AnchorTable {
            slots: vec![
                Slot {
                    key: 0,
                    first: 0,
                    count: 0
                };
                size
            ],
            tags: vec![0; size],
            shift: 64 - size.trailing_zeros(),
            len: 0,
        }
    }

    #[inline]
    fn tag(key: u64) -> u8 {
        ((mix(key) >> 24) as u8) | 0x80
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn index(&self, key: u64) -> usize {
        (mix(key) >> self.shift) as usize
    }

    /// Insert unless the key is present (runs come first, so a node never hides a run).
    fn insert(&mut self, key: u64, first: u32, count: u32) {
        let mask = self.slots.len() - 1;
        let tag = Self::tag(key);
        let mut i = self.index(key);
        loop {
            if self.tags[i] == 0 {
                self.tags[i] = tag;
                self.slots[i] = Slot { key, first, count };
                self.len += 1;
                return;
            }
            if self.tags[i] == tag && self.slots[i].key == key {
                return;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn get(&self, key: u64) -> Option<(u32, u32)> {
        if self.tags.is_empty() {
            return None;
        }
        let mask = self.tags.len() - 1;
        let tag = Self::tag(key);
        let mut i = self.index(key);
        loop {
            let t = *self.tags.get(i)?;
            if t == 0 {
                return None;
            }
            if t == tag {
                let slot = self.slots.get(i)?;
                if slot.key == key {
                    return Some((slot.first, slot.count));
                }
            }
            i = (i + 1) & mask;
        }
    }
}

/// A compiled [`RuleSet`]. Why a separate type: the rule set is the owned, printable form
/// (for alerts and `sigs list`), the matcher is the hot-path index built from it.
///
/// Names: `entries` sorted by (anchor hash, specificity, sid); `names` maps an anchor's hash
/// to its run of entries. Different anchors whose hashes collide share a run; each entry's
/// anchor text is compared, so a collision costs a comparison, never a wrong match.
#[derive(Debug, Default)]
pub struct Matcher {
    /// Anchor hash -> (first entry, count).
    names: AnchorTable,
    entries: Vec<Entry>,
    /// Anchors and left-hand labels of all entries, back to back.
    arena: Vec<u8>,
    /// Longest anchor in bytes: longer suffixes are not hashed at all.
    max_anchor: usize,
    /// Per present prefix length, longest first: masked address -> best rule.
    v4: Vec<(u8, HashMap<u32, IpMatch, FxBuildHasher>)>,
    v6: Vec<(u8, HashMap<u128, IpMatch, FxBuildHasher>)>,
    /// Bitmaps of server ports with an enabled port rule (1024 words each, or empty).
    tcp_ports: Vec<u64>,
    udp_ports: Vec<u64>,
    /// (protocol, port) -> rule, consulted only after the bitmap says yes.
    ports: HashMap<(PortProto, u16), PortMatch, FxBuildHasher>,
    /// Bitmaps of server ports with a payload prefix rule (1024 words each, or empty).
    payload_tcp: Vec<u64>,
    payload_udp: Vec<u64>,
    /// Payload prefixes sorted by (protocol, port, longest prefix first, sid).
    payloads: Vec<PayloadEntry>,
    /// `user_agents` entries in sid order, their text back to back in `ua_arena`.
    uas: Vec<UaEntry>,
    ua_arena: Vec<u8>,
    /// Prefilter: the first bytes of all `user_agents` substrings, as a 256-bit set.
    ua_first: [u64; 4],
}

impl Matcher {
    /// Compile the enabled rules of `rules`; `ports` only for packs with `port_rules = true`.
    /// Patterns that do not parse are skipped (a set from [`RuleSet::load`] has none; this
    /// keeps a hand-built set from panicking).
    pub fn new(rules: &RuleSet) -> Matcher {
        Matcher::with_options(rules, MatchOptions::default())
    }

    /// Compile with options (`--enable-port-rules`).
    pub fn with_options(rules: &RuleSet, options: MatchOptions) -> Matcher {
        let mut m = Matcher::default();
        let mut v4: HashMap<u8, HashMap<u32, (u32, IpMatch), FxBuildHasher>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, (u32, IpMatch), FxBuildHasher>> = HashMap::new();
        let enabled = || rules.rules.iter().filter(|r| r.enabled);
        let patterns: usize = enabled().map(|r| r.domains.len()).sum();
        let bytes: usize = enabled()
            .flat_map(|r| r.domains.iter())
            .map(String::len)
            .sum();
        let mut keyed: Vec<(u64, Entry)> = Vec::with_capacity(patterns);
        m.arena.reserve_exact(bytes);
        for (ri, rule) in rules.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            let (Ok(rule_index), true) = (u32::try_from(ri), m.arena.len() < u32::MAX as usize / 2)
            else {
                break;
            };
            for (pi, raw) in rule.domains.iter().enumerate() {
                let owned;
                let (mode, anchor, left, rank) = match split_canonical(raw) {
                    Some(parts) => parts,
                    None => {
                        let Ok(p) = parse_domain(raw) else { continue };
                        let rank = p.rank();
                        owned = (p.labels.join("."), p.anchor, p.mode, rank);
                        (owned.2, owned.1.as_str(), owned.0.as_str(), owned.3)
                    }
                };
                let (Ok(anchor_len), Ok(left_len), Ok(pattern), Ok(text)) = (
                    u8::try_from(anchor.len()),
                    u8::try_from(left.len()),
                    u32::try_from(pi),
                    u32::try_from(m.arena.len()),
                ) else {
                    continue;
                };
                m.max_anchor = m.max_anchor.max(anchor.len());
                m.arena.extend_from_slice(anchor.as_bytes());
                m.arena.extend_from_slice(left.as_bytes());
                let entry = Entry {
                    rule: rule_index,
                    pattern,
                    sid: rule.sid,
                    text,
                    anchor_len,
                    left_len,
                    rank,
                    mode,
                    pass: rule.pass,
                };
                keyed.push((anchor_hash(anchor.as_bytes()), entry));
            }
            for (pi, raw) in rule.ips.iter().enumerate() {
                let Ok((addr, len)) = parse_cidr(raw) else {
                    continue;
                };
                let hit = (
                    rule.sid,
                    IpMatch {
                        rule: ri,
                        pattern: pi,
                    },
                );
                // Same prefix in several rules: the lowest sid wins, as for names.
                let better = |old: &(u32, IpMatch)| (hit.0, hit.1.rule) < (old.0, old.1.rule);
                match addr {
                    IpAddr::V4(a) => {
                        let slot = v4.entry(len).or_default().entry(u32::from(a));
                        let cur = slot.or_insert(hit);
                        if better(cur) {
                            *cur = hit;
                        }
                    }
                    IpAddr::V6(a) => {
                        let slot = v6.entry(len).or_default().entry(u128::from(a));
                        let cur = slot.or_insert(hit);
                        if better(cur) {
                            *cur = hit;
                        }
                    }
                }
            }
            let ports_on = options.enable_port_rules
                || rules.packs.get(rule.pack).is_some_and(|p| p.port_rules);
            if ports_on {
                for (pi, raw) in rule.ports.iter().enumerate() {
                    let Ok((proto, port)) = parse_port(raw) else {
                        continue;
                    };
                    let bitmap = match proto {
                        PortProto::Tcp => &mut m.tcp_ports,
                        PortProto::Udp => &mut m.udp_ports,
                    };
                    if bitmap.is_empty() {
                        *bitmap = vec![0; 1024];
                    }
                    bitmap[usize::from(port >> 6)] |= 1 << (port & 63);
                    // Same port in several rules (a loaded set has none): first rule wins.
                    m.ports.entry((proto, port)).or_insert(PortMatch {
                        rule: ri,
                        pattern: pi,
                    });
                }
            }
        }
        // Every shorter label-boundary suffix of an anchor gets an empty node, so a lookup
        // walking from the right can stop at the first suffix that leads nowhere.
        let mut inner: Vec<u64> = Vec::new();
        for (_, e) in &keyed {
            let anchor = e.anchor(&m.arena);
            let mut h = 0u64;
            for (i, &b) in anchor.iter().enumerate().rev() {
                if b == b'.' && i + 1 < anchor.len() {
                    inner.push(h);
                }
                h = hash_step(h, b);
            }
        }
        inner.sort_unstable_by_key(|&h| mix(h));
        inner.dedup();
        // Sort by table position (cheap comparisons over a million items), so the table is
        // filled front to back; then put the few runs that hold several entries in
        // specificity order.
        let mut table = AnchorTable::with_capacity(keyed.len() + inner.len());
        keyed.sort_unstable_by_key(|(h, _)| mix(*h));
        let mut i = 0usize;
        while i < keyed.len() {
            let h = keyed[i].0;
            let mut j = i + 1;
            while j < keyed.len() && keyed[j].0 == h {
                j += 1;
            }
            if j - i > 1 {
                keyed[i..j].sort_unstable_by_key(|(_, e)| (e.rank, e.sid, e.rule, e.pattern));
            }
            table.insert(h, i as u32, (j - i) as u32);
            i = j;
        }
        for h in inner {
            table.insert(h, 0, 0);
        }
        m.names = table;
        m.entries = keyed.into_iter().map(|(_, e)| e).collect();
        m.arena.shrink_to_fit();
        m.v4 = v4
            .into_iter()
            .map(|(len, map)| (len, map.into_iter().map(|(k, (_, h))| (k, h)).collect()))
            .collect();
        m.v4.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        m.v6 = v6
            .into_iter()
            .map(|(len, map)| (len, map.into_iter().map(|(k, (_, h))| (k, h)).collect()))
            .collect();
        m.v6.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
        m.compile_payloads(rules);
        m
    }

    /// Index the `payloads` and `user_agents` of the enabled rules.
    fn compile_payloads(&mut self, rules: &RuleSet) {
        let mut order: Vec<(u32, usize)> = rules
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.enabled)
            .map(|(i, r)| (r.sid, i))
            .collect();
        order.sort_unstable();
        for &(sid, ri) in &order {
            let rule = &rules.rules[ri];
            for (pi, p) in rule.payloads.iter().enumerate() {
                if p.prefix.is_empty() || p.prefix.len() > super::pack::MAX_PAYLOAD_PREFIX {
                    continue;
                }
                let mut prefix = [0u8; super::pack::MAX_PAYLOAD_PREFIX];
                prefix[..p.prefix.len()].copy_from_slice(&p.prefix);
                let bitmap = match p.proto {
                    PortProto::Tcp => &mut self.payload_tcp,
                    PortProto::Udp => &mut self.payload_udp,
                };
                if bitmap.is_empty() {
                    *bitmap = vec![0; 1024];
                }
                bitmap[usize::from(p.port >> 6)] |= 1 << (p.port & 63);
                self.payloads.push(PayloadEntry {
                    proto: p.proto,
                    port: p.port,
                    len: p.prefix.len() as u8,
                    prefix,
                    sid,
                    rule: ri as u32,
                    pattern: pi as u32,
                });
            }
            for (ui, raw) in rule.user_agents.iter().enumerate() {
                let (anchored, body) = match raw.strip_prefix('^') {
                    Some(b) => (true, b),
                    None => (false, raw.as_str()),
                };
                let Some(&first) = body.as_bytes().first() else {
                    continue;
                };
                if !anchored {
                    self.ua_first[usize::from(first >> 6)] |= 1 << (first & 63);
                }
                self.uas.push(UaEntry {
                    start: self.ua_arena.len() as u32,
                    len: body.len() as u32,
                    anchored,
                    rule: ri as u32,
                    pattern: ui as u32,
                });
                self.ua_arena.extend_from_slice(body.as_bytes());
            }
        }
        self.payloads
            .sort_by_key(|e| (e.proto, e.port, std::cmp::Reverse(e.len), e.sid, e.pattern));
    }

    /// True when some enabled rule has `payloads`.
    pub fn has_payload_rules(&self) -> bool {
        !self.payloads.is_empty()
    }

    /// True when some enabled rule has `user_agents`.
    pub fn has_user_agent_rules(&self) -> bool {
        !self.uas.is_empty()
    }

    /// True when some payload rule names this server port (one bitmap test).
    #[inline]
    pub fn payload_port_listed(&self, proto: PortProto, port: u16) -> bool {
        let bitmap = match proto {
            PortProto::Tcp => &self.payload_tcp,
            PortProto::Udp => &self.payload_udp,
        };
        bitmap
            .get(usize::from(port >> 6))
            .is_some_and(|w| w & (1 << (port & 63)) != 0)
    }

    /// The payload rule for a datagram or segment to server `port` whose payload starts with
    /// one of the rule's prefixes: a bitmap test, then a binary search and prefix compares
    /// for that port only (longest prefix first, then lowest sid). Never allocates.
    pub fn match_payload(
        &self,
        proto: PortProto,
        port: u16,
        payload: &[u8],
    ) -> Option<IndicatorMatch> {
        if payload.is_empty() || !self.payload_port_listed(proto, port) {
            return None;
        }
        let start = self
            .payloads
            .partition_point(|e| (e.proto, e.port) < (proto, port));
        self.payloads[start..]
            .iter()
            .take_while(|e| e.proto == proto && e.port == port)
            .find(|e| payload.starts_with(&e.prefix[..usize::from(e.len)]))
            .map(|e| IndicatorMatch {
                rule: e.rule as usize,
                pattern: e.pattern as usize,
            })
    }

    /// The first rule (lowest sid) with a `user_agents` entry found in `ua`: a substring
    /// (case-sensitive), or with `^` a prefix. Substring entries are only searched when one
    /// byte of `ua` is the first byte of some entry (a 256-bit set). Never allocates.
    pub fn match_user_agent(&self, ua: &[u8]) -> Option<IndicatorMatch> {
        if self.uas.is_empty() || ua.is_empty() {
            return None;
        }
        let candidate = ua
            .iter()
            .any(|&b| self.ua_first[usize::from(b >> 6)] & (1 << (b & 63)) != 0);
        self.uas
            .iter()
            .find(|e| {
                let needle = self
                    .ua_arena
                    .get(e.start as usize..(e.start + e.len) as usize)
                    .unwrap_or_default();
                if e.anchored {
                    ua.starts_with(needle)
                } else {
                    candidate && !needle.is_empty() && ua.windows(needle.len()).any(|w| w == needle)
                }
            })
            .map(|e| IndicatorMatch {
                rule: e.rule as usize,
                pattern: e.pattern as usize,
            })
    }

    /// Visit the matching entries, longest anchor first and best first within an anchor,
    /// until `f` returns false. The name's suffixes are hashed from the right (`com`,
    /// `kaspersky.com`, ...), one probe each, stopping at the first suffix that no anchor
    /// ends with; so a name under an unknown domain costs one or two probes, whatever the
    /// number of rules. Runs found on the way are then visited longest first.
    fn scan(&self, name: &[u8], mut f: impl FnMut(&Entry) -> bool) {
        if name.is_empty() || self.names.is_empty() {
            return;
        }
        // (first entry, count, suffix start) of each anchor run met, shortest first, in a
        // small ring: a name with more than MAX_RUNS anchors along its suffixes (none in real
        // packs) loses its shortest ones, never the most specific.
        let mut runs = [(0u32, 0u32, 0u32); MAX_RUNS];
        let mut found = 0usize;
        let mut h = 0u64;
        let mut pos = name.len();
        loop {
            // Extend the hash over the next label to the left, stopping before its dot.
            let mut start = pos;
            while start > 0 && name[start - 1] != b'.' {
                start -= 1;
                h = hash_step(h, name[start]);
            }
            if name.len() - start > self.max_anchor {
                break;
            }
            let Some((first, count)) = self.names.get(h) else {
                break;
            };
            if count > 0 {
                runs[found % MAX_RUNS] = (first, count, start as u32);
                found += 1;
            }
            if start == 0 {
                break;
            }
            // Take the dot into the hash, as it is part of the longer suffixes.
            h = hash_step(h, b'.');
            pos = start - 1;
        }
        for k in (found.saturating_sub(MAX_RUNS)..found).rev() {
            let (first, count, start) = runs[k % MAX_RUNS];
            let start = start as usize;
            let suffix = name.get(start..).unwrap_or_default();
            let left = match start {
                0 => None,
                s => name.get(..s - 1),
            };
            let run = self
                .entries
                .get(first as usize..(first + count) as usize)
                .unwrap_or_default();
            for e in run {
                if e.anchor(&self.arena) == suffix && e.matches(&self.arena, left) && !f(e) {
                    return;
                }
            }
        }
    }

    /// Is `port` a listed server port of an enabled port rule? A bitmap test: no hashing,
    /// no allocation; the per-packet check.
    #[inline]
    pub fn port_listed(&self, proto: PortProto, port: u16) -> bool {
        let bitmap = match proto {
            PortProto::Tcp => &self.tcp_ports,
            PortProto::Udp => &self.udp_ports,
        };
        bitmap
            .get(usize::from(port >> 6))
            .is_some_and(|w| w & (1 << (port & 63)) != 0)
    }

    /// The port rule for a server port, if port rules are on and one lists it.
    pub fn match_port(&self, proto: PortProto, port: u16) -> Option<PortMatch> {
        if !self.port_listed(proto, port) {
            return None;
        }
        self.ports.get(&(proto, port)).copied()
    }

    /// True when at least one port rule is active.
    pub fn has_port_rules(&self) -> bool {
        !self.ports.is_empty()
    }

    /// The best rule for a name already passed through [`normalise_name`]: longest anchor;
    /// at equal anchor exact > glob > `*.` > `.`; then lowest sid.
    pub fn match_name(&self, name: &[u8]) -> Option<NameMatch> {
        let mut best = None;
        self.scan(name, |e| {
            // A `pass` rule's pattern as the best match: a known decoy below a vendor's
            // domain, which must not alert (and must not fall through to a catch-all).
            best = (!e.pass).then_some(NameMatch {
                rule: e.rule as usize,
                pattern: e.pattern as usize,
            });
            false
        });
        best
    }

    /// Every matching (rule, pattern), best first: for `vendorwatch sigs test NAME`, to show
    /// what else would match if the best rule were removed or disabled.
    pub fn explain(&self, name: &[u8]) -> Vec<NameMatch> {
        let mut all = Vec::new();
        self.scan(name, |e| {
            all.push(NameMatch {
                rule: e.rule as usize,
                pattern: e.pattern as usize,
            });
            true
        });
        all
    }

    /// The rule with the longest matching prefix (ties: lowest sid). IPv4-mapped IPv6
    /// addresses (`::ffff:a.b.c.d`) are looked up as IPv4, as that is what they carry.
    pub fn match_ip(&self, ip: IpAddr) -> Option<IpMatch> {
        match ip.to_canonical() {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.v4
                    .iter()
                    .find_map(|(len, map)| map.get(&(bits & mask4(*len))).copied())
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.v6
                    .iter()
                    .find_map(|(len, map)| map.get(&(bits & mask6(*len))).copied())
            }
        }
    }

    /// True when no enabled rule has a domain or an address: lets the caller warn that
    /// nothing can ever alert.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.v4.is_empty() && self.v6.is_empty() && self.ports.is_empty()
    }

    /// Approximate heap bytes held by the index (for the scale bench and `sigs check`).
    pub fn heap_bytes(&self) -> usize {
        let map_slot = std::mem::size_of::<Slot>();
        self.names.slots.capacity() * map_slot
            + self.names.tags.capacity()
            + self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.arena.capacity()
            + (self.tcp_ports.capacity() + self.udp_ports.capacity()) * 8
            + (self.payload_tcp.capacity() + self.payload_udp.capacity()) * 8
            + self.payloads.capacity() * std::mem::size_of::<PayloadEntry>()
            + self.uas.capacity() * std::mem::size_of::<UaEntry>()
            + self.ua_arena.capacity()
    }

    /// Number of compiled domain patterns.
    pub fn domain_patterns(&self) -> usize {
        self.entries.len()
    }
}

/// Bring an observed name (DNS, SNI, Host) into the form patterns are written in: ASCII
/// lowercase, one trailing dot removed, internationalised names (UTF-8 with bytes >= 0x80)
/// converted to IDNA A-labels (`xn--...`, UTS #46 as browsers do). The ASCII fast path is a
/// byte loop into `out` and never allocates; only a name with a byte >= 0x80 goes through
/// the `idna` crate. Bytes that are not valid UTF-8 or have no IDNA form (escapes such as
/// `\032` stay as they are) are kept lowercased; such names never equal a literal label.
/// Returns false (and leaves `out` empty) when the name does not fit `out`.
pub fn normalise_name(raw: &[u8], out: &mut NameBuf) -> bool {
    out.clear();
    let raw = raw.strip_suffix(b".").unwrap_or(raw);
    if !raw.is_ascii()
        && let Ok(text) = std::str::from_utf8(raw)
        && let Ok(ascii) = idna::domain_to_ascii(text)
    {
        return push_lower(ascii.strip_suffix('.').unwrap_or(&ascii).as_bytes(), out);
    }
    push_lower(raw, out)
}

/// Append `bytes` ASCII-lowercased, 64 at a time through a stack buffer (vectorised copy).
fn push_lower(bytes: &[u8], out: &mut NameBuf) -> bool {
    for chunk in bytes.chunks(64) {
        let mut tmp = [0u8; 64];
        for (d, s) in tmp.iter_mut().zip(chunk) {
            *d = s.to_ascii_lowercase();
        }
        if !out.extend(&tmp[..chunk.len()]) {
            out.clear();
            return false;
        }
    }
    true
}
