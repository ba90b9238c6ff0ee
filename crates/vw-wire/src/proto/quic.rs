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
//! on the stack.
//!
//! Cost: each version's salt keys HKDF-Extract's HMAC once per process ([`salted`]), so a DCID
//! costs 14 SHA-256 blocks, not 16; a decryption attempt derives the header protection key
//! first and the AEAD key and IV only once the packet number is unmasked; and the decryptor
//! keeps the key material of the last few DCIDs that authenticated, so a connection's later
//! Initials (the rest of a split ClientHello, ACKs under the server's DCID with the old keys)
//! skip SHA-256 entirely. CRYPTO reassembly state ([`CryptoAssembly`], [`AssemblyTable`]) recycles its
//! buffers through a bounded pool.
//!
//! The table here is generic over its key so this module knows nothing of flows: the detector
//! keys it by the client's 5-tuple (and tunnel/VLAN context through the flow id) plus the DCID.
//!
//! Every length read from the wire is checked before use and every loop consumes input, so
//! hostile datagrams give nothing after bounded work, never a panic.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::OnceLock;

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, Nonce, Tag};
use hkdf::{Hkdf, HkdfExtract};
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

    /// Position in [`salted`]'s table (one entry per salt).
    fn salt_index(self) -> usize {
        match self {
            Flavor::V1 => 0,
            Flavor::V2 => 1,
            Flavor::Draft29 => 2,
            Flavor::Draft23 => 3,
            Flavor::T051 => 4,
        }
    }

    fn labels(self) -> (&'static [u8], &'static [u8], &'static [u8]) {
        match self {
            Flavor::V2 => (b"quicv2 key", b"quicv2 iv", b"quicv2 hp"),
            _ => (b"quic key", b"quic iv", b"quic hp"),
        }
    }

    /// The long-header type bits (`(first >> 4) & 3`) of an Initial packet.
    pub(crate) fn initial_type(self) -> u8 {
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
            v @ 0x5130_3433..=0x5130_3436 => {
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

/// HKDF-Extract keyed with `flavor`'s salt: the salt is the HMAC key, so its inner and outer
/// pad blocks are hashed once per process and each DCID costs two SHA-256 blocks, not four.
fn salted(flavor: Flavor) -> &'static HkdfExtract<Sha256> {
    static SALTED: OnceLock<[HkdfExtract<Sha256>; 5]> = OnceLock::new();
    let table = SALTED.get_or_init(|| {
        [
            Flavor::V1,
            Flavor::V2,
            Flavor::Draft29,
            Flavor::Draft23,
            Flavor::T051,
        ]
        .map(|f| HkdfExtract::new(Some(f.salt())))
    });
    &table[flavor.salt_index()]
}

/// client_initial_secret of a DCID (RFC 9001 5.2).
fn client_secret(flavor: Flavor, dcid: &[u8]) -> Option<[u8; 32]> {
    let mut extract = salted(flavor).clone();
    extract.input_ikm(dcid);
    let (_, initial) = extract.finalize();
    let mut secret = [0u8; 32];
    expand_label(&initial, b"client in", &mut secret)?;
    Some(secret)
}

/// The client secret keyed into HKDF-Expand once; each key, IV and hp label then costs two
/// SHA-256 blocks, and only the labels asked for are expanded.
struct ClientExpander {
    hkdf: Hkdf<Sha256>,
    flavor: Flavor,
}

impl ClientExpander {
    fn new(flavor: Flavor, secret: &[u8; 32]) -> Option<Self> {
        Some(ClientExpander {
            hkdf: Hkdf::<Sha256>::from_prk(secret).ok()?,
            flavor,
        })
    }

    fn hp(&self) -> Option<[u8; 16]> {
        let mut hp = [0u8; 16];
        expand_label(&self.hkdf, self.flavor.labels().2, &mut hp)?;
        Some(hp)
    }

    fn key_iv(&self) -> Option<([u8; 16], [u8; 12])> {
        let (key_label, iv_label, _) = self.flavor.labels();
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        expand_label(&self.hkdf, key_label, &mut key)?;
        expand_label(&self.hkdf, iv_label, &mut iv)?;
        Some((key, iv))
    }
}

/// Derive the client Initial secret, key, IV and header protection key from the DCID.
pub fn client_initial_material(flavor: Flavor, dcid: &[u8]) -> Option<KeyMaterial> {
    let secret = client_secret(flavor, dcid)?;
    let client = ClientExpander::new(flavor, &secret)?;
    let (key, iv) = client.key_iv()?;
    Some(KeyMaterial {
        secret,
        key,
        iv,
        hp: client.hp()?,
    })
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
    /// The keys came from the caller's fallback DCID (see
    /// [`InitialDecryptor::for_each_initial_with`]), not from this packet's DCID.
    pub fallback_keys: bool,
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

/// Key material of one DCID whose keys authenticated an Initial.
#[derive(Debug, Clone, Copy, Default)]
struct CachedKeys {
    /// `None` for an empty slot.
    flavor: Option<Flavor>,
    dcid: [u8; MAX_CID_LEN],
    dcid_len: u8,
    key: [u8; 16],
    iv: [u8; 12],
    hp: [u8; 16],
}

/// DCIDs whose keys the decryptor keeps. Only keys that authenticated are kept, so a stream
/// of look-alikes with random DCIDs (each one a derivation and a failed tag) cannot push out
/// the keys of the connections in progress.
const KEY_CACHE: usize = 8;

/// Decrypts the client Initial packets of datagrams into a reused buffer.
#[derive(Default)]
pub struct InitialDecryptor {
    scratch: Vec<u8>,
    cache: [CachedKeys; KEY_CACHE],
    /// Slot the next cached DCID replaces (round robin).
    next_slot: usize,
}

impl InitialDecryptor {
    /// A decryptor whose buffer already holds a full-size datagram.
    pub fn new() -> Self {
        InitialDecryptor {
            scratch: Vec::with_capacity(2048),
            ..InitialDecryptor::default()
        }
    }

    fn cached(&self, flavor: Flavor, dcid: &[u8]) -> Option<CachedKeys> {
        self.cache
            .iter()
            .find(|c| {
                c.flavor == Some(flavor) && c.dcid.get(..usize::from(c.dcid_len)) == Some(dcid)
            })
            .copied()
    }

    fn remember(&mut self, flavor: Flavor, dcid: &[u8], key: [u8; 16], iv: [u8; 12], hp: [u8; 16]) {
        let Some(slot) = self.cache.get_mut(self.next_slot) else {
            return;
        };
        let mut entry = CachedKeys {
            flavor: Some(flavor),
            dcid: [0; MAX_CID_LEN],
            dcid_len: 0,
            key,
            iv,
            hp,
        };
        let Some(d) = entry.dcid.get_mut(..dcid.len()) else {
            return;
        };
        d.copy_from_slice(dcid);
        entry.dcid_len = dcid.len() as u8;
        *slot = entry;
        self.next_slot = (self.next_slot + 1) % KEY_CACHE;
    }

    /// Walk the coalesced long-header packets of one UDP datagram; for each client Initial
    /// that decrypts and authenticates, call `f(header, plaintext frames)`. Stops at a short
    /// header, an unknown version, a Retry or Version Negotiation packet, or a bad length.
    pub fn for_each_initial<'d, F>(&mut self, datagram: &'d [u8], f: F) -> DatagramSummary
    where
        F: FnMut(&InitialHeader<'d>, &[u8]),
    {
        self.for_each_initial_with(datagram, None, f)
    }

    /// [`Self::for_each_initial`], trying the keys of `fallback_dcid` when a packet's own DCID
    /// does not authenticate: a client keeps the Initial keys of its first DCID (or of the
    /// Retry's) after the server's first Initial gives it a new DCID (RFC 9001 5.2), so later
    /// client Initials (a second ClientHello after HelloRetryRequest, ACKs) need the old one.
    pub fn for_each_initial_with<'d, F>(
        &mut self,
        datagram: &'d [u8],
        fallback_dcid: Option<&[u8]>,
        mut f: F,
    ) -> DatagramSummary
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
            let own = packet.get(parsed.dcid.0..parsed.dcid.1).unwrap_or(&[]);
            // The fallback (the keys of the connection's earlier Initial, most likely cached)
            // goes first when it differs: a client's Initials under the server's new DCID
            // need it, and trying the packet's own DCID first would cost a derivation that
            // fails. Both cannot authenticate the same packet (a different DCID gives
            // unrelated keys), so the order changes the cost, not the outcome.
            let alt = fallback_dcid.filter(|alt| *alt != own);
            let mut result = None;
            let mut fallback_keys = false;
            if let Some(alt) = alt {
                result = self.decrypt(packet, &parsed, alt);
                fallback_keys = result.is_some();
            }
            if result.is_none() {
                result = self.decrypt(packet, &parsed, own);
            }
            match result {
                Some(pn) => {
                    summary.decrypted += 1;
                    let header = InitialHeader {
                        version: parsed.version,
                        dcid: packet.get(parsed.dcid.0..parsed.dcid.1).unwrap_or(&[]),
                        scid: packet.get(parsed.scid.0..parsed.scid.1).unwrap_or(&[]),
                        token: packet.get(parsed.token.0..parsed.token.1).unwrap_or(&[]),
                        packet_number: pn,
                        fallback_keys,
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
    /// Keys come from the cache, or are derived as they are needed: hp first, key and IV
    /// once the header is unprotected.
    fn decrypt(&mut self, packet: &[u8], h: &LongHeader, key_dcid: &[u8]) -> Option<u32> {
        // The sample starts 4 bytes after the packet number offset (RFC 9001 5.4.2).
        let sample = packet.get(h.pn_offset + 4..h.pn_offset + 20)?;
        let cached = self.cached(h.flavor, key_dcid);
        let mut expander = None;
        let hp_key = match &cached {
            Some(c) => c.hp,
            None => {
                let secret = client_secret(h.flavor, key_dcid)?;
                expander
                    .insert(ClientExpander::new(h.flavor, &secret)?)
                    .hp()?
            }
        };
        let hp = Aes128::new(GenericArray::from_slice(&hp_key));
        let mut mask = GenericArray::clone_from_slice(sample);
        hp.encrypt_block(&mut mask);
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
        let (key, iv) = match (&cached, &expander) {
            (Some(c), _) => (c.key, c.iv),
            (None, Some(e)) => e.key_iv()?,
            (None, None) => return None,
        };
        let mut nonce = iv;
        for (n, p) in nonce[8..].iter_mut().zip(pn.to_be_bytes()) {
            *n ^= p;
        }
        let (aad, tail) = buf.split_at_mut(body_start);
        let (body, tag) = tail.split_at_mut(tag_start - body_start);
        let tag = Tag::clone_from_slice(tag.get(..16)?);
        Aes128Gcm::new(GenericArray::from_slice(&key))
            .decrypt_in_place_detached(Nonce::from_slice(&nonce), aad, body, &tag)
            .ok()?;
        if cached.is_none() {
            self.remember(h.flavor, key_dcid, key, iv, hp_key);
        }
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
pub fn walk_frames<'a>(p: &'a [u8], on_crypto: impl FnMut(u64, &'a [u8])) -> Result<(), FrameStop> {
    walk_frames_for(VERSION_1, p, on_crypto)
}

/// [`walk_frames`] for the frame types of `version`: Google's T05x Initials use gQUIC frame
/// numbers (PADDING 0x00, PING 0x07, CRYPTO 0x08 with varint offset and length).
pub fn walk_frames_for<'a>(
    version: u32,
    p: &'a [u8],
    mut on_crypto: impl FnMut(u64, &'a [u8]),
) -> Result<(), FrameStop> {
    let mut frames = CryptoFrames::new(version, p);
    for (offset, data) in frames.by_ref() {
        on_crypto(offset, data);
    }
    frames.stopped().map_or(Ok(()), Err)
}

/// The CRYPTO frames of a decrypted Initial payload as `(stream offset, data)`, in wire order,
/// the other frames passed over (see [`walk_frames`] for which). Iteration ends at the end of
/// the payload, after a CONNECTION_CLOSE, or at a frame it cannot walk ([`Self::stopped`]
/// says which). A clone is a slice and a few flags, so a consumer may walk the frames more
/// than once (the first look decides the path, the second copies) instead of collecting
/// them into a buffer of some fixed count.
#[derive(Debug, Clone)]
pub struct CryptoFrames<'a> {
    rest: &'a [u8],
    gquic: bool,
    stopped: Option<FrameStop>,
}

impl<'a> CryptoFrames<'a> {
    /// The frames of `plain`, a decrypted Initial payload of `version`.
    pub fn new(version: u32, plain: &'a [u8]) -> Self {
        CryptoFrames {
            rest: plain,
            gquic: Flavor::of(version) == Some(Flavor::T051),
            stopped: None,
        }
    }

    /// Why iteration ended early, once it has: `None` while going or after a clean end.
    pub fn stopped(&self) -> Option<FrameStop> {
        self.stopped
    }

    /// The next CRYPTO frame; `Ok(None)` at the end of the payload or after a close.
    fn step(&mut self) -> Result<Option<(u64, &'a [u8])>, FrameStop> {
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
        let p = &mut self.rest;
        if self.gquic {
            while let Some((&ty, rest)) = p.split_first() {
                *p = rest;
                match ty {
                    0x00 | 0x07 => {}
                    0x08 => {
                        let offset = take_varint(p)?;
                        let len = take_varint(p)?;
                        return Ok(Some((offset, take_bytes(p, len)?)));
                    }
                    other => return Err(FrameStop::Unknown(u64::from(other))),
                }
            }
            return Ok(None);
        }
        while !p.is_empty() {
            let ty = take_varint(p)?;
            match ty {
                0x00 | 0x01 => {} // PADDING, PING
                0x02 | 0x03 => {
                    // ACK: largest, delay, range count, first range, ranges, [ECN counts].
                    take_varint(p)?;
                    take_varint(p)?;
                    let count = take_varint(p)?;
                    take_varint(p)?;
                    // Each range is two varints of at least one byte: a count above what is
                    // left is a lie, caught by Truncated within `p.len()` turns.
                    for _ in 0..count.min(p.len() as u64 + 1) {
                        take_varint(p)?;
                        take_varint(p)?;
                    }
                    if ty == 0x03 {
                        for _ in 0..3 {
                            take_varint(p)?;
                        }
                    }
                }
                FRAME_CRYPTO => {
                    let offset = take_varint(p)?;
                    let len = take_varint(p)?;
                    return Ok(Some((offset, take_bytes(p, len)?)));
                }
                0x1c | 0x1d => {
                    take_varint(p)?;
                    if ty == 0x1c {
                        take_varint(p)?;
                    }
                    let len = take_varint(p)?;
                    take_bytes(p, len)?;
                    *p = &[]; // nothing after a close matters
                    return Ok(None);
                }
                other => return Err(FrameStop::Unknown(other)),
            }
        }
        Ok(None)
    }
}

impl<'a> Iterator for CryptoFrames<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match self.step() {
            Ok(frame) => frame,
            Err(stop) => {
                self.stopped = Some(stop);
                self.rest = &[];
                None
            }
        }
    }
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
/// shares and ECH is 2-3 KiB; anything past this is counted, not buffered. This, the table's
/// byte budget and its connection cap are the only bounds: how many frames the stream comes
/// in, and in what order, does not matter (clients cut and shuffle CRYPTO frames on purpose).
pub const MAX_CRYPTO_BYTES: usize = 16 * 1024;

/// Outcome of adding a CRYPTO frame to an assembly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Insert {
    /// Stored (or already present).
    Stored,
    /// Beyond [`MAX_CRYPTO_BYTES`]: dropped.
    Overflow,
}

/// The CRYPTO stream of one connection's client Initials, reassembled by offset.
/// Overlaps keep the first bytes received.
///
/// Which bytes arrived is a bitmap, one bit per stream byte, rather than a list of ranges:
/// an insert costs the same for the thousandth disjoint one-byte frame as for the first
/// (a word of the bitmap per 64 bytes), and the memory is bounded by the stream length alone
/// (an eighth of it), never by how the stream was cut.
#[derive(Debug, Default)]
pub struct CryptoAssembly {
    /// Stream bytes from the consumed point to the furthest byte received; holes are zero.
    buf: Vec<u8>,
    /// Bit `i` (word `i / 64`, bit `i % 64`) is set when `buf[i]` was received.
    have: Vec<u64>,
    /// Length of the run of received bytes at the front: the bytes [`Self::prefix`] returns.
    contiguous: usize,
}

impl CryptoAssembly {
    fn reset(&mut self) {
        self.buf.clear();
        self.have.clear();
        self.contiguous = 0;
    }

    /// True when nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes buffered (capacity counts against the table's budget).
    pub fn capacity(&self) -> usize {
        self.buf.capacity() + self.have.capacity() * 8
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
        if self.buf.len() < end {
            self.buf.resize(end, 0);
            self.have.resize(end.div_ceil(64), 0);
        }
        // Word by word: copy what is missing, so the first bytes received win.
        let mut pos = start;
        while pos < end {
            let (word, bit) = (pos / 64, pos % 64);
            let n = (64 - bit).min(end - pos);
            let mask = (u64::MAX >> (64 - n)) << bit;
            let Some(w) = self.have.get_mut(word) else {
                return Insert::Overflow; // sized above: not reached
            };
            let missing = !*w & mask;
            let from = pos - start;
            if missing == mask {
                if let (Some(to), Some(src)) =
                    (self.buf.get_mut(pos..pos + n), data.get(from..from + n))
                {
                    to.copy_from_slice(src);
                }
            } else {
                let mut bits = missing;
                while bits != 0 {
                    let i = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    let at = word * 64 + i;
                    if let (Some(to), Some(&b)) = (self.buf.get_mut(at), data.get(at - start)) {
                        *to = b;
                    }
                }
            }
            *w |= mask;
            pos += n;
        }
        self.advance();
        Insert::Stored
    }

    /// Extend [`Self::contiguous`] over the received bytes that follow it.
    fn advance(&mut self) {
        while self.contiguous < self.buf.len() {
            let (word, bit) = (self.contiguous / 64, self.contiguous % 64);
            let Some(w) = self.have.get(word) else {
                break;
            };
            let ones = (w >> bit).trailing_ones() as usize;
            self.contiguous = (self.contiguous + ones).min(self.buf.len());
            if ones < 64 - bit {
                break;
            }
        }
    }

    /// Drop the first `n` bytes (a message handed on; at most the prefix); later bytes and
    /// their bits move down.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.contiguous);
        self.buf.drain(..n);
        let (words, bits) = (n / 64, n % 64);
        self.have.drain(..words.min(self.have.len()));
        if bits > 0 {
            for i in 0..self.have.len() {
                let next = self.have.get(i + 1).copied().unwrap_or(0);
                if let Some(w) = self.have.get_mut(i) {
                    *w = (*w >> bits) | (next << (64 - bits));
                }
            }
        }
        self.have.truncate(self.buf.len().div_ceil(64));
        self.contiguous -= n;
        self.advance();
    }

    /// The contiguous bytes from offset 0.
    pub fn prefix(&self) -> &[u8] {
        self.buf.get(..self.contiguous).unwrap_or(&[])
    }
}

/// Counters of the assembly table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssemblyStats {
    /// Connections tracked.
    pub connections: u64,
    /// ClientHellos completed from more than one CRYPTO frame (several frames or packets).
    pub completed: u64,
    /// CRYPTO data for ranges already handed on (retransmissions, the hello resent after a
    /// Retry), ignored.
    pub retransmitted: u64,
    /// Connections evicted to make room (table full or byte budget hit).
    pub evicted: u64,
    /// Connections dropped after [`AssemblyTable::timeout_secs`] idle.
    pub expired: u64,
    /// CRYPTO frames dropped: beyond [`MAX_CRYPTO_BYTES`] of the connection's stream.
    pub overflow: u64,
}

impl std::ops::AddAssign for AssemblyStats {
    fn add_assign(&mut self, o: Self) {
        let AssemblyStats {
            connections,
            completed,
            retransmitted,
            evicted,
            expired,
            overflow,
        } = o;
        self.connections += connections;
        self.completed += completed;
        self.retransmitted += retransmitted;
        self.evicted += evicted;
        self.expired += expired;
        self.overflow += overflow;
    }
}

/// One client's CRYPTO stream: the DCIDs it used, how far handshake messages were consumed,
/// and the buffered bytes after that point.
struct Conn {
    asm: CryptoAssembly,
    /// Stream offset of the first byte of `asm`: everything before was handed on.
    consumed: u64,
    /// DCID of the first Initial and the latest one (a Retry and the server's first Initial
    /// change it; both still belong to this connection).
    first_dcid: ([u8; MAX_CID_LEN], u8),
    last_dcid: ([u8; MAX_CID_LEN], u8),
    /// DCID whose keys decrypt this client's Initials.
    key_dcid: ([u8; MAX_CID_LEN], u8),
    generation: u64,
    last_seen: u64,
}

fn cid(d: &[u8]) -> ([u8; MAX_CID_LEN], u8) {
    let mut a = [0u8; MAX_CID_LEN];
    let n = d.len().min(MAX_CID_LEN);
    a[..n].copy_from_slice(&d[..n]);
    (a, n as u8)
}

/// The Initial packet facts the table needs besides its CRYPTO frames.
#[derive(Debug, Clone, Copy)]
pub struct InitialFacts<'a> {
    /// Destination Connection ID.
    pub dcid: &'a [u8],
    /// Token (non-empty after a Retry).
    pub token: &'a [u8],
    /// The DCID whose keys decrypted the packet (its own DCID, or the connection's earlier
    /// one).
    pub key_dcid: &'a [u8],
}

/// Bounded table of client CRYPTO streams, keyed by the client's flow (5-tuple, VLANs,
/// tunnel context, direction; the key type is the caller's). The DCID is not part of the key:
/// a Retry and the server's first Initial change it in the middle of the handshake, and a
/// second ClientHello (after HelloRetryRequest) follows the first in the same stream. It is
/// used to tell a new connection on a reused 5-tuple: CRYPTO data at offset 0, no token, and a
/// DCID the connection never used starts the stream afresh.
///
/// Each ClientHello is handed on once, like tshark does: data for ranges already consumed
/// (retransmissions, the hello resent after a Retry) is ignored. A connection stays as a small
/// entry (its buffer returned to a pool) until it idles out, so at most `max_flows` entries
/// and `max_bytes` of buffers are held; the oldest entry goes first when either is hit, and
/// entries idle for `timeout_secs` (packet time) are dropped.
pub struct AssemblyTable<K> {
    map: HashMap<K, Conn>,
    order: VecDeque<(K, u64)>,
    pool: Vec<CryptoAssembly>,
    next_generation: u64,
    bytes: usize,
    /// Most connections tracked.
    pub max_flows: usize,
    /// Most buffered bytes over all connections.
    pub max_bytes: usize,
    /// Idle time after which a connection is dropped.
    pub timeout_secs: u64,
    /// Counters.
    pub stats: AssemblyStats,
}

const POOL_SIZE: usize = 64;

impl<K: Hash + Eq + Clone> AssemblyTable<K> {
    /// An empty table with the given bounds (the index is sized once, up front).
    pub fn new(max_flows: usize, max_bytes: usize) -> Self {
        let max_flows = max_flows.max(1);
        AssemblyTable {
            map: HashMap::with_capacity(max_flows.min(1 << 16)),
            order: VecDeque::with_capacity(max_flows.min(1 << 16)),
            pool: Vec::new(),
            next_generation: 0,
            bytes: 0,
            max_flows,
            max_bytes,
            timeout_secs: 30,
            stats: AssemblyStats::default(),
        }
    }

    /// Connections tracked.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Bytes buffered over all connections (the table's own accounting, bounded by
    /// `max_bytes`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The DCID whose keys decrypted the latest Initial of connection `key`.
    pub fn key_dcid(&self, key: &K) -> Option<([u8; MAX_CID_LEN], u8)> {
        self.map.get(key).map(|c| c.key_dcid)
    }

    /// Connections holding buffered (incomplete) CRYPTO data.
    pub fn pending(&self) -> usize {
        self.map.values().filter(|c| !c.asm.is_empty()).count()
    }

    /// Add the CRYPTO frames of one Initial packet of connection `key` at packet time `now`
    /// (seconds); call `done(body)` for each ClientHello the stream now completes.
    pub fn add(
        &mut self,
        key: &K,
        now: u64,
        facts: InitialFacts<'_>,
        frames: &[(u64, &[u8])],
        done: impl FnMut(&[u8]),
    ) {
        self.add_frames(key, now, facts, frames.iter().copied(), done);
    }

    /// [`Self::add`] with the frames as an iterator, walked up to three times (is any at
    /// offset 0, is there only one, then each in turn): [`CryptoFrames`] over the decrypted
    /// packet, so however many frames a packet holds, none is collected or dropped.
    pub fn add_frames<'f, I>(
        &mut self,
        key: &K,
        now: u64,
        facts: InitialFacts<'_>,
        frames: I,
        mut done: impl FnMut(&[u8]),
    ) where
        I: Iterator<Item = (u64, &'f [u8])> + Clone,
    {
        self.expire(now);
        let dcid = cid(facts.dcid);
        if !self.map.contains_key(key) {
            while self.map.len() >= self.max_flows {
                if !self.evict_oldest() {
                    break;
                }
            }
            self.next_generation += 1;
            self.map.insert(
                key.clone(),
                Conn {
                    asm: CryptoAssembly::default(),
                    consumed: 0,
                    first_dcid: dcid,
                    last_dcid: dcid,
                    key_dcid: cid(facts.key_dcid),
                    generation: self.next_generation,
                    last_seen: now,
                },
            );
            self.order.push_back((key.clone(), self.next_generation));
            self.stats.connections += 1;
        }
        let Some(conn) = self.map.get_mut(key) else {
            return;
        };
        conn.last_seen = now;
        let new_conn = conn.consumed > 0
            && facts.token.is_empty()
            && dcid != conn.first_dcid
            && dcid != conn.last_dcid
            && frames.clone().any(|(o, _)| o == 0);
        if new_conn {
            self.bytes = self.bytes.saturating_sub(conn.asm.capacity());
            conn.asm = CryptoAssembly::default();
            conn.consumed = 0;
            conn.first_dcid = dcid;
        }
        conn.last_dcid = dcid;
        conn.key_dcid = cid(facts.key_dcid);

        // Fast path: nothing buffered and one frame that holds whole messages from the
        // consumed point: parse in place, copy nothing.
        let mut first_two = frames.clone();
        if let (Some((offset, data)), None) = (first_two.next(), first_two.next())
            && conn.asm.is_empty()
            && offset == conn.consumed
        {
            {
                let mut rest: &[u8] = data;
                while let Some(msg_len) = message_len(rest) {
                    if let Some(body) = client_hello_body(rest) {
                        done(body);
                    }
                    conn.consumed += msg_len as u64;
                    rest = rest.get(msg_len..).unwrap_or(&[]);
                }
                if rest.is_empty() {
                    return;
                }
                let at = conn.consumed;
                return self.buffer(key, std::iter::once((at, rest)), done);
            }
        }
        self.buffer(key, frames, done);
    }

    fn buffer<'f>(
        &mut self,
        key: &K,
        frames: impl Iterator<Item = (u64, &'f [u8])> + Clone,
        mut done: impl FnMut(&[u8]),
    ) {
        let Some(conn) = self.map.get_mut(key) else {
            return;
        };
        // Counted before a pooled buffer is taken, so the buffer's capacity is charged.
        let before = conn.asm.capacity();
        if conn.asm.buf.capacity() == 0
            && let Some(pooled) = self.pool.pop()
        {
            conn.asm = pooled;
        }
        let mut several = frames.clone().nth(1).is_some() || !conn.asm.is_empty();
        for (offset, data) in frames {
            let end = offset.saturating_add(data.len() as u64);
            if end <= conn.consumed {
                self.stats.retransmitted += 1;
                continue;
            }
            let skip = usize::try_from(conn.consumed.saturating_sub(offset)).unwrap_or(0);
            let data = data.get(skip..).unwrap_or(&[]);
            let rel = offset.max(conn.consumed) - conn.consumed;
            if conn.asm.insert(rel, data) == Insert::Overflow {
                self.stats.overflow += 1;
            }
        }
        // Hand on every complete message at the front of the stream.
        while let Some(msg_len) = message_len(conn.asm.prefix()) {
            if let Some(body) = client_hello_body(conn.asm.prefix()) {
                done(body);
                if several {
                    self.stats.completed += 1;
                }
            }
            several = true;
            conn.consumed += msg_len as u64;
            conn.asm.consume(msg_len);
        }
        let after = conn.asm.capacity();
        self.bytes = (self.bytes + after).saturating_sub(before);
        if conn.asm.is_empty() && conn.asm.buf.capacity() > 0 {
            let mut asm = std::mem::take(&mut conn.asm);
            self.bytes = self.bytes.saturating_sub(asm.capacity());
            if self.pool.len() < POOL_SIZE && asm.capacity() <= 2 * MAX_CRYPTO_BYTES {
                asm.reset();
                self.pool.push(asm);
            }
        }
        while self.bytes > self.max_bytes && self.evict_oldest() {}
    }

    fn remove(&mut self, key: &K) {
        if let Some(mut c) = self.map.remove(key) {
            self.bytes = self.bytes.saturating_sub(c.asm.capacity());
            if self.pool.len() < POOL_SIZE
                && c.asm.buf.capacity() > 0
                && c.asm.capacity() <= 2 * MAX_CRYPTO_BYTES
            {
                c.asm.reset();
                self.pool.push(c.asm);
            }
        }
    }

    /// Evict the oldest live entry; false when there is none.
    fn evict_oldest(&mut self) -> bool {
        while let Some((key, generation)) = self.order.pop_front() {
            if self
                .map
                .get(&key)
                .is_some_and(|c| c.generation == generation)
            {
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
                Some(c) if c.generation == *generation => {
                    if now.saturating_sub(c.last_seen) <= self.timeout_secs {
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

/// Length (with its 4-byte header) of the complete handshake message at the front of
/// `data`, if it is all there.
fn message_len(data: &[u8]) -> Option<usize> {
    let [_, a, b, c, rest @ ..] = data else {
        return None;
    };
    let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
    (rest.len() >= len).then_some(4 + len)
}

#[cfg(test)]
mod tests;
