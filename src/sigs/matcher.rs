//! The compiled form of a [`RuleSet`]: name lookup by hashed suffixes, IP lookup by prefix
//! length. Built once per (re)load; lookups never allocate.

use super::pack::RuleSet;
use super::pattern::{Mode, glob_match, mask4, mask6, parse_cidr, parse_domain};
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

/// One compiled domain pattern, stored in the bucket of its anchor.
#[derive(Debug)]
struct Entry {
    rule: usize,
    pattern: usize,
    sid: u32,
    rank: u8,
    mode: Mode,
    /// Labels left of the anchor, left to right.
    labels: Box<[Box<[u8]>]>,
}

impl Entry {
    /// `left` is the part of the name before the anchor (without the joining dot), `None`
    /// when the anchor is the whole name.
    fn matches(&self, left: Option<&[u8]>) -> bool {
        if self.labels.is_empty() {
            return match self.mode {
                Mode::Exact => left.is_none(),
                Mode::Below => left.is_some_and(|l| !l.is_empty()),
                Mode::Subtree => true,
            };
        }
        let Some(left) = left else { return false };
        let mut labels = left.rsplit(|&b| b == b'.');
        for pat in self.labels.iter().rev() {
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

/// A compiled [`RuleSet`]. Why a separate type: the rule set is the owned, printable form
/// (for alerts and `sigs list`), the matcher is the hot-path index built from it.
#[derive(Debug, Default)]
pub struct Matcher {
    /// Anchor (literal suffix) -> entries, best first.
    names: HashMap<Box<[u8]>, Vec<Entry>, FxBuildHasher>,
    /// Longest anchor in bytes: longer suffixes are not hashed at all.
    max_anchor: usize,
    /// Bit `n` set when some anchor is `n` bytes long (n < 256): a suffix of any other length
    /// is passed over without hashing it (most suffixes of most names).
    anchor_lens: [u64; 4],
    /// Per present prefix length, longest first: masked address -> best rule.
    v4: Vec<(u8, HashMap<u32, IpMatch, FxBuildHasher>)>,
    v6: Vec<(u8, HashMap<u128, IpMatch, FxBuildHasher>)>,
}

impl Matcher {
    /// Compile the enabled rules of `rules`. Patterns that do not parse are skipped (a set
    /// from [`RuleSet::load`] has none; this keeps a hand-built set from panicking).
    pub fn new(rules: &RuleSet) -> Matcher {
        let mut m = Matcher::default();
        let mut v4: HashMap<u8, HashMap<u32, (u32, IpMatch), FxBuildHasher>> = HashMap::new();
        let mut v6: HashMap<u8, HashMap<u128, (u32, IpMatch), FxBuildHasher>> = HashMap::new();
        for (ri, rule) in rules.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            for (pi, raw) in rule.domains.iter().enumerate() {
                let Ok(p) = parse_domain(raw) else { continue };
                m.max_anchor = m.max_anchor.max(p.anchor.len());
                if let Some(word) = m.anchor_lens.get_mut(p.anchor.len() / 64) {
                    *word |= 1 << (p.anchor.len() % 64);
                }
                let entry = Entry {
                    rule: ri,
                    pattern: pi,
                    sid: rule.sid,
                    rank: p.rank(),
                    mode: p.mode,
                    labels: p
                        .labels
                        .iter()
                        .map(|l| l.as_bytes().to_vec().into_boxed_slice())
                        .collect(),
                };
                m.names
                    .entry(p.anchor.into_bytes().into_boxed_slice())
                    .or_default()
                    .push(entry);
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
        }
        for bucket in m.names.values_mut() {
            bucket.sort_by_key(|e| (e.rank, e.sid, e.rule, e.pattern));
        }
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
        m
    }

    /// Visit the matching entries, longest anchor first and best first within an anchor,
    /// until `f` returns false. One hash lookup per label of `name` (at most).
    fn scan(&self, name: &[u8], mut f: impl FnMut(&Entry) -> bool) {
        if name.is_empty() || self.names.is_empty() {
            return;
        }
        let mut start = 0usize;
        loop {
            let suffix = name.get(start..).unwrap_or_default();
            if suffix.len() <= self.max_anchor
                && self.has_anchor_len(suffix.len())
                && let Some(bucket) = self.names.get(suffix)
            {
                let left = match start {
                    0 => None,
                    s => name.get(..s - 1),
                };
                for e in bucket {
                    if e.matches(left) && !f(e) {
                        return;
                    }
                }
            }
            match suffix.iter().position(|&b| b == b'.') {
                Some(i) => start += i + 1,
                None => return,
            }
        }
    }

    /// True when some anchor is `len` bytes long (anchors longer than 255 bytes: always true).
    #[inline]
    fn has_anchor_len(&self, len: usize) -> bool {
        self.anchor_lens
            .get(len / 64)
            .is_none_or(|word| word & (1 << (len % 64)) != 0)
    }

    /// The best rule for a name already passed through [`normalise_name`]: longest anchor;
    /// at equal anchor exact > glob > `*.` > `.`; then lowest sid.
    pub fn match_name(&self, name: &[u8]) -> Option<NameMatch> {
        let mut best = None;
        self.scan(name, |e| {
            best = Some(NameMatch {
                rule: e.rule,
                pattern: e.pattern,
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
                rule: e.rule,
                pattern: e.pattern,
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
        self.names.is_empty() && self.v4.is_empty() && self.v6.is_empty()
    }
}

/// Bring an observed name (DNS, SNI, Host) into the form patterns are written in: ASCII
/// lowercase, one trailing dot removed. Other bytes (escapes, spaces, non-ASCII) are kept as
/// they are; such names never equal a literal label. Returns false (and leaves `out` empty)
/// when the name does not fit `out`.
pub fn normalise_name(raw: &[u8], out: &mut NameBuf) -> bool {
    out.clear();
    let raw = raw.strip_suffix(b".").unwrap_or(raw);
    // Lowercase through a small stack block and append whole blocks (this runs for every
    // observed name, so no per-byte bounds check and push).
    for chunk in raw.chunks(64) {
        let mut block = [0u8; 64];
        let block = &mut block[..chunk.len()];
        for (o, b) in block.iter_mut().zip(chunk) {
            *o = b.to_ascii_lowercase();
        }
        if !out.extend(block) {
            out.clear();
            return false;
        }
    }
    true
}
