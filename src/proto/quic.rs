//! QUIC client Initial packets: long header, Initial key derivation from the Destination
//! Connection ID, header protection removal, AES-128-GCM decryption, frame walk and the
//! reassembly of CRYPTO data by offset, so the ClientHello inside can go to the same
//! [`crate::proto::tls`] parser as a TCP one.
//!
//! Versions: QUIC v1 (RFC 9001), v2 (RFC 9369), IETF drafts 23..=32 (two draft salts), the
//! mvfst draft-27 alias `0xfaceb002`, and Google's T051 (gQUIC with the TLS handshake and IETF
//! framing, which tshark also decodes). gQUIC Q0xx (its own crypto) is not TLS and is ignored.
//!
//! Allocation: decryption works in place in one scratch buffer owned by the caller
//! ([`InitialDecryptor`]), which grows once to the largest datagram seen and is then reused, so
//! a steady stream of Initials allocates nothing. Key derivation (HKDF, AES key schedules) runs
//! on the stack. CRYPTO reassembly state ([`CryptoAssembly`], [`AssemblyTable`]) recycles its
//! buffers through a bounded pool.
//!
//! The table here is generic over its key so this module knows nothing of flows: the detector
//! keys it by the client's 5-tuple (and tunnel/VLAN context through the flow id) plus the DCID.
//!
//! Every length read from the wire is checked before use and every loop consumes input, so
//! hostile datagrams give nothing after bounded work, never a panic.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;
/// Google QUIC T051 (TLS handshake, IETF invariants).
pub const VERSION_T051: u32 = 0x5430_3531;

/// Longest connection ID a v1 packet may carry (RFC 9000 17.2).
pub const MAX_CID_LEN: usize = 20;

/// Which key schedule a version uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// RFC 9001 salt, "quic key/iv/hp" labels, Initial type bits 00.
    V1,
    /// RFC 9369 salt, "quicv2 key/iv/hp" labels, Initial type bits 01.
    V2,
    /// Drafts 29..=32.
    Draft29,
    /// Drafts 23..=28.
    Draft23,
    /// Google T051.
    T051,
}

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad,
    0xcc, 0xbb, 0x7f, 0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb,
    0xf9, 0xbd, 0x2e, 0xd9,
];
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0,
    0x43, 0x90, 0xa8, 0x99,
];
const SALT_DRAFT23: [u8; 20] = [
    0xc3, 0xee, 0xf7, 0x12, 0xc7, 0x2e, 0xbb, 0x5a, 0x11, 0xa7, 0xd2, 0x43, 0x2b, 0xb4, 0x63, 0x65,
    0xbe, 0xf9, 0xf5, 0x02,
];
const SALT_T051: [u8; 20] = [
    0x7a, 0x4e, 0xde, 0xf4, 0xe7, 0xcc, 0xee, 0x5f, 0xa4, 0x50, 0x6c, 0x19, 0x12, 0x4f, 0xc8, 0xcc,
    0xda, 0x6e, 0x03, 0x3d,
];

impl Flavor {
    /// The key schedule of a version, `None` for versions we cannot decrypt.
    pub fn of(version: u32) -> Option<Flavor> {
        match version {
            VERSION_1 => Some(Flavor::V1),
            VERSION_2 => Some(Flavor::V2),
            0xff00_001d..=0xff00_0020 => Some(Flavor::Draft29),
            0xff00_0017..=0xff00_001c | 0xface_b002 => Some(Flavor::Draft23),
            VERSION_T051 => Some(Flavor::T051),
            _ => None,
        }
    }

    fn salt(self) -> &'static [u8; 20] {
        match self {
            Flavor::V1 => &SALT_V1,
            Flavor::V2 => &SALT_V2,
            Flavor::Draft29 => &SALT_DRAFT29,
            Flavor::Draft23 => &SALT_DRAFT23,
            Flavor::T051 => &SALT_T051,
        }
    }

    fn labels(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        match self {
            Flavor::V2 => (b"quicv2 key", b"quicv2 iv", b"quicv2 hp"),
            _ => (b"quic key", b"quic iv", b"quic hp"),
        }
    }

    /// The long-header type bits (`(first >> 4) & 3`) of an Initial packet.
    fn initial_type(self) -> u8 {
        match self {
            Flavor::V2 => 1,
            _ => 0,
        }
    }

    /// The type bits of a Retry packet (it carries no Length field).
    fn retry_type(self) -> u8 {
        match self {
            Flavor::V2 => 0,
            _ => 3,
        }
    }
}

/// EVE `quic.version` as Suricata writes it: lowercase hex without leading zeros (`"1"`,
/// `"6b3343cf"`, `"ff00001d"`), gQUIC versions Q043..Q046 by name.
pub struct VersionName(pub u32);

impl std::fmt::Display for VersionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v @ (0x5130_3433 | 0x5130_3434 | 0x5130_3435 | 0x5130_3436) => {
                for b in v.to_be_bytes() {
                    write!(f, "{}", char::from(b))?;
                }
                Ok(())
            }
            v => write!(f, "{v:x}"),
        }
    }
}

/// Cheap first look at a UDP payload: a long header with the fixed bit, a version we can
/// decrypt, Initial type bits, a plausible DCID length, and room for the smallest Initial.
/// Clients pad Initials to 1200 bytes, but the check is kept loose (coalesced packets, captures
/// with a short snap length fail later anyway).
pub fn looks_like_initial(payload: &[u8]) -> bool {
    let [first, v0, v1, v2, v3, dcid_len, ..] = payload else {
        return false;
    };
    if first & 0xc0 != 0xc0 || payload.len() < 64 {
        return false;
    }
    let Some(flavor) = Flavor::of(u32::from_be_bytes([*v0, *v1, *v2, *v3])) else {
        return false;
    };
    (first >> 4) & 3 == flavor.initial_type() && usize::from(*dcid_len) <= MAX_CID_LEN
}

/// The client Initial keys of one connection.
pub struct InitialKeys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    hp: Aes128,
}

/// The raw key material, for tests against the RFC vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMaterial {
    /// client_initial_secret.
    pub secret: [u8; 32],
    /// AEAD key.
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header protection key.
    pub hp: [u8; 16],
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context, into `out` (at most 255 bytes).
fn expand_label(prk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    // 2 (length) + 1 + "tls13 " + label (<= 12 here) + 1 (empty context).
    let mut info = [0u8; 2 + 1 + 6 + 32 + 1];
    let full = 6 + label.len();
    let total = 2 + 1 + full + 1;
    if label.len() > 32 || out.len() > 255 {
        return None;
    }
    info[..2].copy_from_slice(&(out.len() as u16).to_be_bytes());
    info[2] = full as u8;
    info[3..9].copy_from_slice(b"tls13 ");
    info[9..9 + label.len()].copy_from_slice(label);
    info[9 + label.len()] = 0;
    prk.expand(&info[..total], out).ok()
}

/// Derive the client Initial secret, key, IV and header protection key from the DCID.
pub fn client_initial_material(flavor: Flavor, dcid: &[u8]) -> Option<KeyMaterial> {
    let (_, initial) = Hkdf::<Sha256>::extract(Some(flavor.salt()), dcid);
    let mut secret = [0u8; 32];
    expand_label(&initial, b"client in", &mut secret)?;
    let client = Hkdf::<Sha256>::from_prk(&secret).ok()?;
    let (key_label, iv_label, hp_label) = flavor.labels();
    let mut m = KeyMaterial {
        secret,
        key: [0; 16],
        iv: [0; 12],
        hp: [0; 16],
    };
    expand_label(&client, key_label, &mut m.key)?;
    expand_label(&client, iv_label, &mut m.iv)?;
    expand_label(&client, hp_label, &mut m.hp)?;
    Some(m)
}

impl InitialKeys {
    /// Keys for a connection whose client chose `dcid`.
    pub fn new(flavor: Flavor, dcid: &[u8]) -> Option<InitialKeys> {
        let m = client_initial_material(flavor, dcid)?;
        Some(InitialKeys {
            aead: Aes128Gcm::new_from_slice(&m.key).ok()?,
            iv: m.iv,
            hp: Aes128::new_from_slice(&m.hp).ok()?,
        })
    }
}

/// The long header of one Initial packet, borrowed from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InitialHeader<'a> {
    /// Version field.
    pub version: u32,
    /// Destination Connection ID (the key input).
    pub dcid: &'a [u8],
    /// Source Connection ID.
    pub scid: &'a [u8],
    /// Token (non-empty after a Retry).
    pub token: &'a [u8],
    /// Packet number, after header protection is removed (truncated form).
    pub packet_number: u32,
}

/// What a datagram held, for counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatagramSummary {
    /// Initial packets decrypted and authenticated.
    pub decrypted: u32,
    /// Initial packets whose tag did not verify (a server's Initial, corruption, or not QUIC).
    pub failed: u32,
    /// Other long-header packets skipped by their Length (0-RTT, Handshake).
    pub skipped: u32,
}

/// Reads a QUIC variable-length integer (RFC 9000 16) at the front of `buf`: (value, bytes).
pub fn varint(buf: &[u8]) -> Option<(u64, usize)> {
    let first = *buf.first()?;
    let len = 1usize << (first >> 6);
    let bytes = buf.get(..len)?;
    let mut v = u64::from(first & 0x3f);
    for b in bytes.get(1..)? {
        v = (v << 8) | u64::from(*b);
    }
    Some((v, len))
}

/// Decrypts the client Initial packets of datagrams into a reused buffer.
#[derive(Default)]
pub struct InitialDecryptor {
    scratch: Vec<u8>,
}

impl InitialDecryptor {
    /// A decryptor whose buffer already holds a full-size datagram.
    pub fn new() -> Self {
        InitialDecryptor {
            scratch: Vec::with_capacity(2048),
        }
    }

    /// Walk the coalesced long-header packets of one UDP datagram; for each client Initial
    /// that decrypts and authenticates, call `f(header, plaintext frames)`. Stops at a short
    /// header, an unknown version, a Retry or Version Negotiation packet, or a bad length.
    pub fn for_each_initial<'d, F>(&mut self, datagram: &'d [u8], mut f: F) -> DatagramSummary
    where
        F: FnMut(&InitialHeader<'d>, &[u8]),
    {
        let mut summary = DatagramSummary::default();
        let mut rest = datagram;
        // Each turn consumes at least the 7-byte minimal header, so this ends.
        while let Some(parsed) = parse_long_header(rest) {
            let packet = rest.get(..parsed.end).unwrap_or(rest);
            rest = rest.get(parsed.end..).unwrap_or(&[]);
            if !parsed.initial {
                summary.skipped += 1;
                continue;
            }
            match self.decrypt(packet, &parsed) {
                Some(pn) => {
                    summary.decrypted += 1;
                    let header = InitialHeader {
                        version: parsed.version,
                        dcid: packet.get(parsed.dcid.0..parsed.dcid.1).unwrap_or(&[]),
                        scid: packet.get(parsed.scid.0..parsed.scid.1).unwrap_or(&[]),
                        token: packet.get(parsed.token.0..parsed.token.1).unwrap_or(&[]),
                        packet_number: pn,
                    };
                    let plain = self.plaintext(&parsed, pn_len_of(&self.scratch));
                    f(&header, plain);
                }
                None => summary.failed += 1,
            }
        }
        summary
    }

    fn plaintext(&self, parsed: &LongHeader, pn_len: usize) -> &[u8] {
        let start = parsed.pn_offset + pn_len;
        let end = parsed.end.saturating_sub(16);
        self.scratch.get(start..end).unwrap_or(&[])
    }

    /// Remove header protection and decrypt in the scratch buffer; the packet number on
    /// success. The first scratch byte keeps the unprotected first byte (for `pn_len_of`).
    fn decrypt(&mut self, packet: &[u8], h: &LongHeader) -> Option<u32> {
        let keys = InitialKeys::new(h.flavor, packet.get(h.dcid.0..h.dcid.1)?)?;
        // The sample starts 4 bytes after the packet number offset (RFC 9001 5.4.2).
        let sample = packet.get(h.pn_offset + 4..h.pn_offset + 20)?;
        let mut mask = GenericArray::clone_from_slice(sample);
        keys.hp.encrypt_block(&mut mask);
        self.scratch.clear();
        self.scratch.extend_from_slice(packet);
        let buf = &mut self.scratch;
        let first = buf.first_mut()?;
        *first ^= mask[0] & 0x0f;
        let pn_len = usize::from(*first & 0x03) + 1;
        let mut pn = 0u32;
        for i in 0..pn_len {
            let b = buf.get_mut(h.pn_offset + i)?;
            *b ^= mask[1 + i];
            pn = (pn << 8) | u32::from(*b);
        }
        let body_start = h.pn_offset + pn_len;
        let tag_start = h.end.checked_sub(16)?;
        if tag_start < body_start {
            return None;
        }
        let mut nonce = keys.iv;
        for (n, p) in nonce[8..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let (aad, tail) = buf.split_at_mut(body_start);
        let (body, tag) = tail.split_at_mut(tag_start - body_start);
        let tag = Tag::clone_from_slice(tag.get(..16)?);
        keys.aead
            .decrypt_in_place_detached(Nonce::from_slice(&nonce), aad, body, &tag)
            .ok()?;
        Some(pn)
    }
}

fn pn_len_of(scratch: &[u8]) -> usize {
    scratch.first().map_or(1, |b| usize::from(b & 0x03) + 1)
}

/// Offsets of one long-header packet inside its datagram.
struct LongHeader {
    version: u32,
    flavor: Flavor,
    initial: bool,
    dcid: (usize, usize),
    scid: (usize, usize),
    token: (usize, usize),
    pn_offset: usize,
    /// End of this packet (start of the next coalesced one).
    end: usize,
}

fn parse_long_header(p: &[u8]) -> Option<LongHeader> {
    let first = *p.first()?;
    if first & 0x80 == 0 {
        return None; // short header: the rest of the datagram is 1-RTT
    }
    let version = u32::from_be_bytes(p.get(1..5)?.try_into().ok()?);
    let flavor = Flavor::of(version)?;
    let ty = (first >> 4) & 3;
    if ty == flavor.retry_type() {
        return None;
    }
    let dcid_len = usize::from(*p.get(5)?);
    if dcid_len > MAX_CID_LEN {
        return None;
    }
    let dcid = (6, 6 + dcid_len);
    let scid_len = usize::from(*p.get(dcid.1)?);
    if scid_len > MAX_CID_LEN {
        return None;
    }
    let scid = (dcid.1 + 1, dcid.1 + 1 + scid_len);
    let mut pos = scid.1;
    let initial = ty == flavor.initial_type();
    let mut token = (pos, pos);
    if initial {
        let (token_len, n) = varint(p.get(pos..)?)?;
        let token_len = usize::try_from(token_len).ok()?;
        token = (pos + n, (pos + n).checked_add(token_len)?);
        pos = token.1;
    }
    let (length, n) = varint(p.get(pos..)?)?;
    let pn_offset = pos + n;
    let end = pn_offset.checked_add(usize::try_from(length).ok()?)?;
    if end > p.len() || length < 20 {
        return None;
    }
    Some(LongHeader {
        version,
        flavor,
        initial,
        dcid,
        scid,
        token,
        pn_offset,
        end,
    })
}

/// Why a frame walk stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStop {
    /// A frame type not allowed in (or not parsed for) Initial packets.
    Unknown(u64),
    /// A frame ran past the end of the payload.
    Truncated,
}

/// Frame type CRYPTO.
pub const FRAME_CRYPTO: u64 = 0x06;

/// Walk the frames of a decrypted Initial payload, calling `on_crypto(offset, data)` for each
/// CRYPTO frame. Knows PADDING, PING, ACK (with and without ECN), CRYPTO and
/// CONNECTION_CLOSE; anything else stops the walk (what came before is kept).
pub fn walk_frames(
    mut p: &[u8],
    mut on_crypto: impl FnMut(u64, &[u8]),
) -> Result<(), FrameStop> {
    fn take_varint(p: &mut &[u8]) -> Result<u64, FrameStop> {
        let (v, n) = varint(p).ok_or(FrameStop::Truncated)?;
        *p = p.get(n..).ok_or(FrameStop::Truncated)?;
        Ok(v)
    }
    fn take_bytes<'a>(p: &mut &'a [u8], len: u64) -> Result<&'a [u8], FrameStop> {
        let len = usize::try_from(len).map_err(|_| FrameStop::Truncated)?;
        if len > p.len() {
            return Err(FrameStop::Truncated);
        }
        let (head, tail) = p.split_at(len);
        *p = tail;
        Ok(head)
    }
    while !p.is_empty() {
        let ty = take_varint(&mut p)?;
        match ty {
            0x00 | 0x01 => {} // PADDING, PING
            0x02 | 0x03 => {
                // ACK: largest, delay, range count, first range, ranges, [ECN counts].
                take_varint(&mut p)?;
                take_varint(&mut p)?;
                let count = take_varint(&mut p)?;
                take_varint(&mut p)?;
                // Each range is two varints of at least one byte: a count above what is left
                // is a lie, caught by Truncated within `p.len()` turns.
                for _ in 0..count.min(p.len() as u64 + 1) {
                    take_varint(&mut p)?;
                    take_varint(&mut p)?;
                }
                if ty == 0x03 {
                    for _ in 0..3 {
                        take_varint(&mut p)?;
                    }
                }
            }
            FRAME_CRYPTO => {
                let offset = take_varint(&mut p)?;
                let len = take_varint(&mut p)?;
                let data = take_bytes(&mut p, len)?;
                on_crypto(offset, data);
            }
            0x1c | 0x1d => {
                take_varint(&mut p)?;
                if ty == 0x1c {
                    take_varint(&mut p)?;
                }
                let len = take_varint(&mut p)?;
                take_bytes(&mut p, len)?;
                return Ok(()); // nothing after a close matters
            }
            other => return Err(FrameStop::Unknown(other)),
        }
    }
    Ok(())
}

/// If `data` (CRYPTO stream bytes from offset 0) starts with a complete ClientHello handshake
/// message, its body (after the 4-byte handshake header).
pub fn client_hello_body(data: &[u8]) -> Option<&[u8]> {
    let [1, a, b, c, rest @ ..] = data else {
        return None;
    };
    let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
    rest.get(..len)
}

/// Largest CRYPTO stream offset we keep per connection: a ClientHello with post-quantum key
/// shares and ECH is 2-3 KiB; anything past this is counted, not buffered.
pub const MAX_CRYPTO_BYTES: usize = 16 * 1024;
/// Most separate received ranges tracked per connection.
const MAX_RANGES: usize = 32;

/// Outcome of adding a CRYPTO frame to an assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored (or already present).
    Stored,
    /// Beyond [`MAX_CRYPTO_BYTES`] or too fragmented: dropped.
    Overflow,
}

/// The CRYPTO stream of one connection's client Initials, reassembled by offset.
/// Overlaps keep the first bytes received.
#[derive(Debug, Default)]
pub struct CryptoAssembly {
    buf: Vec<u8>,
    /// Received ranges, sorted, merged, non-overlapping: (start, end).
    ranges: Vec<(usize, usize)>,
}

impl CryptoAssembly {
    fn reset(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }

    /// Bytes buffered (capacity counts against the table's budget).
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.ranges.capacity() * 16
    }

    /// Add `data` at stream `offset`.
    pub fn insert(&mut self, offset: u64, data: &[u8]) -> Insert {
        let Ok(start) = usize::try_from(offset) else {
            return Insert::Overflow;
        };
        let Some(end) = start.checked_add(data.len()) else {
            return Insert::Overflow;
        };
        if end > MAX_CRYPTO_BYTES {
            return Insert::Overflow;
        }
        if data.is_empty() {
            return Insert::Stored;
        }
        let touches = self.ranges.iter().any(|&(s, e)| e >= start && s <= end);
        if !touches && self.ranges.len() >= MAX_RANGES {
            return Insert::Overflow;
        }
        if self.buf.len() < end {
            self.buf.resize(end, 0);
        }
        // Copy only the gaps, so the first bytes received win.
        let mut pos = start;
        for &(s, e) in &self.ranges {
            if e <= pos || s >= end {
                continue;
            }
            if s > pos {
                self.buf[pos..s].copy_from_slice(&data[pos - start..s - start]);
            }
            pos = pos.max(e);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            self.buf[pos..end].copy_from_slice(&data[pos - start..]);
        }
        // Merge the new range in.
        let mut merged = (start, end);
        self.ranges.retain(|&(s, e)| {
            if e < merged.0 || s > merged.1 {
                true
            } else {
                merged = (merged.0.min(s), merged.1.max(e));
                false
            }
        });
        let at = self.ranges.partition_point(|&(s, _)| s < merged.0);
        self.ranges.insert(at, merged);
        Insert::Stored
    }

    /// The contiguous bytes from offset 0.
    pub fn prefix(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, e)) => self.buf.get(..e).unwrap_or(&[]),
            _ => &[],
        }
    }
}

/// Counters of the assembly table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblyStats {
    /// Connections whose ClientHello needed more than one packet.
    pub started: u64,
    /// ClientHellos completed from several packets.
    pub completed: u64,
    /// Pending connections evicted to make room (table full or byte budget hit).
    pub evicted: u64,
    /// Pending connections dropped after [`AssemblyTable::timeout_secs`] without completing.
    pub expired: u64,
    /// CRYPTO frames dropped (beyond the per-connection cap or too fragmented).
    pub overflow: u64,
}

struct Pending {
    asm: CryptoAssembly,
    generation: u64,
    last_seen: u64,
}

/// Bounded table of connections whose ClientHello is not complete yet: at most `max_flows`
/// entries and `max_bytes` of buffers; the oldest entry goes first when either is hit, and
/// entries idle for `timeout_secs` (packet time) are dropped. Buffers of finished entries are
/// kept in a small pool and reused.
pub struct AssemblyTable<K> {
    map: HashMap<K, Pending>,
    order: VecDeque<(K, u64)>,
    pool: Vec<CryptoAssembly>,
    next_generation: u64,
    bytes: usize,
    /// Most pending connections.
    pub max_flows: usize,
    /// Most buffered bytes over all pending connections.
    pub max_bytes: usize,
    /// Idle time after which a pending connection is dropped.
    pub timeout_secs: u64,
    /// Counters.
    pub stats: AssemblyStats,
}

const POOL_SIZE: usize = 64;

impl<K: Hash + Eq + Clone> AssemblyTable<K> {
    /// An empty table with the given bounds.
    pub fn new(max_flows: usize, max_bytes: usize) -> Self {
        AssemblyTable {
            map: HashMap::with_capacity(max_flows.min(4096)),
            order: VecDeque::with_capacity(max_flows.min(4096)),
            pool: Vec::new(),
            next_generation: 0,
            bytes: 0,
            max_flows: max_flows.max(1),
            max_bytes,
            timeout_secs: 30,
            stats: AssemblyStats::default(),
        }
    }

    /// Pending connections.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Add CRYPTO frames of one packet of connection `key` at packet time `now` (seconds),
    /// then, if the stream from offset 0 holds a whole ClientHello, call `done(body)` and
    /// forget the connection.
    pub fn add<'f>(
        &mut self,
        key: &K,
        now: u64,
        frames: impl Iterator<Item = (u64, &'f [u8])>,
        done: impl FnOnce(&[u8]),
    ) {
        self.expire(now);
        if !self.map.contains_key(key) {
            while self.map.len() >= self.max_flows {
                if !self.evict_oldest() {
                    break;
                }
            }
            let asm = self.pool.pop().unwrap_or_default();
            self.next_generation += 1;
            self.bytes += asm.capacity();
            self.map.insert(
                key.clone(),
                Pending {
                    asm,
                    generation: self.next_generation,
                    last_seen: now,
                },
            );
            self.order.push_back((key.clone(), self.next_generation));
            self.stats.started += 1;
        }
        let Some(entry) = self.map.get_mut(key) else {
            return;
        };
        entry.last_seen = now;
        let before = entry.asm.capacity();
        for (offset, data) in frames {
            if entry.asm.insert(offset, data) == Insert::Overflow {
                self.stats.overflow += 1;
            }
        }
        let after = entry.asm.capacity();
        self.bytes = (self.bytes + after).saturating_sub(before);
        let complete = client_hello_body(entry.asm.prefix()).is_some();
        if complete {
            if let Some(body) = client_hello_body(entry.asm.prefix()) {
                done(body);
            }
            self.stats.completed += 1;
            self.remove(key);
        }
        while self.bytes > self.max_bytes && self.evict_oldest() {}
    }

    fn remove(&mut self, key: &K) {
        if let Some(mut p) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(p.asm.capacity());
            if self.pool.len() < POOL_SIZE && p.asm.capacity() <= 2 * MAX_CRYPTO_BYTES {
                p.asm.reset();
                self.pool.push(p.asm);
            }
        }
    }

    /// Evict the oldest live entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            if self.map.get(&key).is_some_and(|p| p.generation == generation) {
                self.remove(&key);
                self.stats.evicted += 1;
                return true;
            }
        }
        false
    }

    /// Drop entries at the front of the age queue idle for longer than the timeout.
    fn expire(&mut self, now: u64) {
        while let Some((key, generation)) = self.order.front() {
            match self.map.get(key) {
                Some(p) if p.generation == *generation => {
                    if now.saturating_sub(p.last_seen) <= self.timeout_secs {
                        break;
                    }
                    let key = key.clone();
                    self.order.pop_front();
                    self.remove(&key);
                    self.stats.expired += 1;
                }
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
