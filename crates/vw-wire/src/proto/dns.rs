//! Allocation-free DNS message walker: question names, and the answer section's owner names,
//! CNAME targets and A/AAAA addresses, decoded into stack [`NameBuf`]s.
//!
//! Only the header, the question section and the answer section are read: that is all the
//! detector needs (a name asked for, a name it resolved through, the addresses it resolved
//! to). Authority and additional records are never touched, so a corrupt additional section
//! cannot hide a good answer.
//!
//! Robustness rules (hostile input is the normal case on a span port):
//! - every read goes through `.get(..)`; a short message is an error value, never a panic;
//! - a name is at most [`MAX_NAME_WIRE_LEN`] wire bytes and follows at most
//!   [`MAX_POINTER_JUMPS`] compression pointers, so decoding one name costs a bounded number of
//!   steps whatever the pointers do (loops included);
//! - the number of records walked is bounded by the header counts, and every record consumes
//!   at least one byte, so a walk is linear in the message length.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::name::NameBuf;

/// Type A (IPv4 address), RFC 1035.
pub const TYPE_A: u16 = 1;
/// Type NS, RFC 1035.
pub const TYPE_NS: u16 = 2;
/// Type CNAME, RFC 1035: its rdata is a name, which this module decodes.
pub const TYPE_CNAME: u16 = 5;
/// Type SOA, RFC 1035.
pub const TYPE_SOA: u16 = 6;
/// Type PTR, RFC 1035.
pub const TYPE_PTR: u16 = 12;
/// Type MX, RFC 1035.
pub const TYPE_MX: u16 = 15;
/// Type TXT, RFC 1035.
pub const TYPE_TXT: u16 = 16;
/// Type AAAA (IPv6 address), RFC 3596.
pub const TYPE_AAAA: u16 = 28;
/// Type SRV, RFC 2782.
pub const TYPE_SRV: u16 = 33;
/// Pseudo-type OPT (EDNS), RFC 6891.
pub const TYPE_OPT: u16 = 41;
/// Type SVCB, RFC 9460.
pub const TYPE_SVCB: u16 = 64;
/// Type HTTPS, RFC 9460.
pub const TYPE_HTTPS: u16 = 65;
/// Query type ANY (`*`), RFC 1035.
pub const TYPE_ANY: u16 = 255;

/// Length of the fixed DNS header.
pub const HEADER_LEN: usize = 12;

/// Most wire bytes one name may take (RFC 1035 section 3.1: length octets and label octets,
/// the final root octet included). Longer is malformed.
pub const MAX_NAME_WIRE_LEN: usize = 255;

/// Most compression pointers followed while decoding one name.
///
/// Chosen over the "each pointer must point strictly backwards" rule because real traffic
/// and both reference tools (tshark, Suricata) accept forward pointers (see the corpus file
/// `sv-dns-forward-pointer`). Termination does not depend on the pointer direction: each step
/// either adds at least two bytes toward [`MAX_NAME_WIRE_LEN`] or uses up one of these jumps.
/// 64 is far above what any encoder emits (one jump per name is the norm) and still cheap.
pub const MAX_POINTER_JUMPS: usize = 64;

/// Most questions of one message [`walk`] visits. Real queries ask one; a message asking
/// more is still read: its first questions are visited, the others are passed over by their
/// extent (so the answers after them are still reached) and counted in
/// [`WalkSummary::over_limit`].
pub const MAX_QUESTIONS: u16 = 16;

/// Most answer records of one message [`walk`] visits; the records announced beyond it are
/// counted in [`WalkSummary::over_limit`], not read. A UDP message holds at most about 5900
/// records (11 bytes each at the least), so this bounds the owned record built for a log
/// line, not the cost of the walk, which is linear in the message anyway.
pub const MAX_ANSWERS: u16 = 4096;

/// How the root name (zero labels), which [`walk`] writes as an empty [`NameBuf`], should be
/// logged in EVE records: Suricata logs `rrname` as the empty string for it.
pub const ROOT_NAME_EVE: &str = "";

/// How tshark (and so the corpus ground truth in `expected/*.tsv`) writes the root name.
pub const ROOT_NAME_TSHARK: &str = ".";

/// The fixed 12-byte DNS header, kept as plain numbers so callers can filter cheaply
/// (direction, opcode) before looking at any name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsHeader {
    /// Transaction id, to pair a response with its query.
    pub id: u16,
    /// The raw flags word (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).
    pub flags: u16,
    /// Number of questions.
    pub qdcount: u16,
    /// Number of answer records.
    pub ancount: u16,
    /// Number of authority records.
    pub nscount: u16,
    /// Number of additional records.
    pub arcount: u16,
}

impl DnsHeader {
    /// Reads the header at the start of `msg`; `None` when fewer than 12 bytes are present.
    pub fn parse(msg: &[u8]) -> Option<DnsHeader> {
        Some(DnsHeader {
            id: be16(msg, 0)?,
            flags: be16(msg, 2)?,
            qdcount: be16(msg, 4)?,
            ancount: be16(msg, 6)?,
            nscount: be16(msg, 8)?,
            arcount: be16(msg, 10)?,
        })
    }

    /// QR bit: a response (true) or a query (false); decides the `dir=` of an observation.
    pub fn is_response(&self) -> bool {
        self.flags & 0x8000 != 0
    }

    /// Opcode (0 = standard query), used to ignore updates and notifies if wanted.
    pub fn opcode(&self) -> u8 {
        ((self.flags >> 11) & 0x0f) as u8
    }

    /// Response code (low four bits of the flags; 3 = NXDOMAIN).
    pub fn rcode(&self) -> u8 {
        (self.flags & 0x0f) as u8
    }
}

/// Record data of an answer, decoded only for the types the detector uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rdata<'a> {
    /// An IPv4 address (type A with rdlength 4).
    A([u8; 4]),
    /// An IPv6 address (type AAAA with rdlength 16).
    Aaaa([u8; 16]),
    /// The target name of a CNAME, decoded (compression pointers followed).
    Cname(&'a NameBuf),
    /// Any other type, or an A/AAAA whose rdlength is not 4/16: the raw rdata bytes.
    Other(&'a [u8]),
}

/// One item of a DNS message handed to the visitor of [`walk`]. Names live in buffers owned
/// by `walk`, so they are only valid during the callback: copy what must be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsItem<'a> {
    /// An entry of the question section.
    Question {
        /// Question name in presentation form (see [`walk`] for the format).
        name: &'a NameBuf,
        /// QTYPE.
        qtype: u16,
        /// QCLASS (1 = IN; the top bit is mDNS's unicast-response flag).
        qclass: u16,
    },
    /// A record of the answer section.
    Answer {
        /// Owner name in presentation form.
        name: &'a NameBuf,
        /// TYPE.
        rtype: u16,
        /// CLASS.
        rclass: u16,
        /// TTL in seconds.
        ttl: u32,
        /// The record data.
        rdata: Rdata<'a>,
    },
}

/// Why a DNS message (or part of one) could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsError {
    /// Fewer than 12 bytes: no header.
    TooShort,
    /// A name, a fixed record field or the rdata runs past the end of the message.
    Truncated,
    /// A label length byte with the reserved top bits 01 or 10 (labels over 63 bytes).
    BadLabelType,
    /// A name longer than [`MAX_NAME_WIRE_LEN`] wire bytes.
    NameTooLong,
    /// More than [`MAX_POINTER_JUMPS`] compression pointers in one name (a pointer loop).
    PointerLoop,
    /// A compression pointer to an offset outside the message.
    PointerOutOfRange,
    /// The name inside a CNAME's rdata does not fit its rdlength.
    BadRdata,
}

impl std::fmt::Display for DnsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            DnsError::TooShort => "DNS message shorter than its 12-byte header",
            DnsError::Truncated => "DNS record runs past the end of the message",
            DnsError::BadLabelType => "DNS label with reserved type bits (length over 63)",
            DnsError::NameTooLong => "DNS name longer than 255 bytes",
            DnsError::PointerLoop => "DNS name follows too many compression pointers (loop)",
            DnsError::PointerOutOfRange => "DNS compression pointer outside the message",
            DnsError::BadRdata => "DNS CNAME rdata does not match its length",
        };
        f.write_str(text)
    }
}

impl std::error::Error for DnsError {}

/// What [`walk`] got through: the header and how far the walk went, so a caller can count
/// malformed messages without losing the items seen before the damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalkSummary {
    /// The message header.
    pub header: DnsHeader,
    /// Questions handed to the visitor.
    pub questions: u16,
    /// Answer records handed to the visitor.
    pub answers: u16,
    /// Questions and answers passed over without a visit because a name in them (owner or
    /// CNAME target) was longer than [`MAX_NAME_WIRE_LEN`]: their extent on the wire was
    /// still known, so the walk went on after them, as tshark and Suricata do.
    pub skipped: u16,
    /// Questions beyond [`MAX_QUESTIONS`] and answers beyond [`MAX_ANSWERS`], as the header
    /// announces them: not visited (the questions passed over, the answers not read).
    pub over_limit: u32,
    /// `None` when every question and answer announced by the header was walked; otherwise
    /// the error that stopped the walk (items before it were visited).
    pub stopped: Option<DnsError>,
}

impl WalkSummary {
    /// True when all `qdcount` questions and `ancount` answers were read and visited.
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none() && self.skipped == 0 && self.over_limit == 0
    }
}

/// Walks the questions, then the answer section (not authority/additional), of one DNS
/// message, calling `visit` for each item in wire order.
///
/// Returns `Err` only when the header is unreadable. A malformed name or record stops the
/// walk at that point: the items already visited stay visited, and the error is reported in
/// [`WalkSummary::stopped`]. One exception: an item whose name is merely too long (over 255
/// wire bytes) but whose extent is known is skipped, counted in [`WalkSummary::skipped`],
/// and the walk goes on (a crafted long name must not hide the answers after it).
///
/// At most [`MAX_QUESTIONS`] questions and [`MAX_ANSWERS`] answers are visited; the rest are
/// counted in [`WalkSummary::over_limit`] (questions past the limit are still stepped over,
/// their names unread, to reach the answers).
///
/// Names are in presentation form: labels joined by `.`, no trailing dot, case as on the
/// wire, bytes outside printable ASCII (and `.` or `\` inside a label) escaped as `\DDD` by
/// [`NameBuf::push_label_byte`]. The root name is an empty buffer (log it as
/// [`ROOT_NAME_EVE`]; tshark shows it as [`ROOT_NAME_TSHARK`]).
///
/// No heap allocation: the two name buffers live on this function's stack.
pub fn walk<F: FnMut(&DnsItem<'_>)>(msg: &[u8], mut visit: F) -> Result<WalkSummary, DnsError> {
    let header = DnsHeader::parse(msg).ok_or(DnsError::TooShort)?;
    let mut summary = WalkSummary {
        header,
        questions: 0,
        answers: 0,
        skipped: 0,
        over_limit: u32::from(header.qdcount.saturating_sub(MAX_QUESTIONS))
            + u32::from(header.ancount.saturating_sub(MAX_ANSWERS)),
        stopped: None,
    };
    let mut owner = NameBuf::new();
    let mut target = NameBuf::new();
    let mut cache = NameCache::default();
    let mut pos = HEADER_LEN;

    for _ in 0..header.qdcount.min(MAX_QUESTIONS) {
        match read_question(msg, pos, &mut owner, &mut cache) {
            Ok((next, qtype, qclass)) => {
                visit(&DnsItem::Question {
                    name: &owner,
                    qtype,
                    qclass,
                });
                summary.questions += 1;
                pos = next;
            }
            Err(DnsError::NameTooLong) => match skip_name(msg, pos).map(|end| end + 4) {
                Some(next) if next <= msg.len() => {
                    summary.skipped += 1;
                    pos = next;
                }
                _ => {
                    summary.stopped = Some(DnsError::NameTooLong);
                    return Ok(summary);
                }
            },
            Err(e) => {
                summary.stopped = Some(e);
                return Ok(summary);
            }
        }
    }

    for _ in MAX_QUESTIONS..header.qdcount {
        match skip_name(msg, pos).map(|end| end + 4) {
            Some(next) if next <= msg.len() => pos = next,
            _ => {
                summary.stopped = Some(DnsError::Truncated);
                return Ok(summary);
            }
        }
    }

    for _ in 0..header.ancount.min(MAX_ANSWERS) {
        match read_answer(msg, pos, &mut owner, &mut target, &mut cache) {
            Ok((next, item)) => {
                visit(&item);
                summary.answers += 1;
                pos = next;
            }
            Err(DnsError::NameTooLong) => {
                match skip_name(msg, pos).and_then(|e| record_end(msg, e)) {
                    Some(next) => {
                        summary.skipped += 1;
                        pos = next;
                    }
                    None => {
                        summary.stopped = Some(DnsError::NameTooLong);
                        return Ok(summary);
                    }
                }
            }
            Err(e) => {
                summary.stopped = Some(e);
                return Ok(summary);
            }
        }
    }
    Ok(summary)
}

/// The ports whose UDP datagrams and TCP streams are read as DNS: 53, plus the ports
/// `--dns-port` adds (a forwarder on 5353 or 8053). A fixed array, `Copy`, so every worker's
/// detector and flow table hold their own copy and the per-packet check is a compare or a
/// short scan, never a lookup that could allocate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsPorts {
    extra: [u16; MAX_EXTRA_DNS_PORTS],
    len: usize,
}

/// Most ports `--dns-port` may add.
pub const MAX_EXTRA_DNS_PORTS: usize = 16;

/// The standard DNS port, always read.
pub const DNS_PORT: u16 = 53;

impl Default for DnsPorts {
    fn default() -> Self {
        DnsPorts {
            extra: [0; MAX_EXTRA_DNS_PORTS],
            len: 0,
        }
    }
}

impl DnsPorts {
    /// 53 and `extra` (repeats and 53 itself ignored); `None` when more than
    /// [`MAX_EXTRA_DNS_PORTS`] distinct ports are left.
    pub fn with_extra(extra: &[u16]) -> Option<DnsPorts> {
        let mut ports = DnsPorts::default();
        for &port in extra {
            if ports.contains(port) {
                continue;
            }
            *ports.extra.get_mut(ports.len)? = port;
            ports.len += 1;
        }
        Some(ports)
    }

    /// True when `port` carries DNS.
    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        port == DNS_PORT
            || self
                .extra
                .get(..self.len)
                .is_some_and(|e| e.contains(&port))
    }

    /// True when either end of a flow is a DNS port. Asked for every UDP packet: two
    /// compares and a load when no port was added.
    #[inline]
    pub fn either(&self, src_port: u16, dst_port: u16) -> bool {
        if src_port == DNS_PORT || dst_port == DNS_PORT {
            return true;
        }
        self.len != 0
            && self
                .extra
                .get(..self.len)
                .is_some_and(|e| e.iter().any(|&p| p == src_port || p == dst_port))
    }
}

/// Cheap plausibility check for DNS-port payloads before [`walk`]: a full header, a known
/// opcode (0..=6), at least one question, and room for every question announced (5 bytes
/// each at the least). Record counts are not checked: a response cut short (TC bit) or by the
/// snaplen may announce more than it carries, and a long one is read up to the walk's limits
/// ([`MAX_QUESTIONS`], [`MAX_ANSWERS`]) rather than refused.
pub fn looks_like_dns(msg: &[u8]) -> bool {
    let Some(h) = DnsHeader::parse(msg) else {
        return false;
    };
    if h.opcode() > 6 || h.qdcount == 0 {
        return false;
    }
    let body = msg.len().saturating_sub(HEADER_LEN);
    usize::from(h.qdcount) * 5 <= body
}

/// Suricata's EVE `rrtype` mnemonic for a record type, `None` for types Suricata logs as a
/// number. Suricata's spellings are kept as they are, quirks included (`NSAPPT`, `CDSNKEY`,
/// `ND` for MD), so records match what existing Suricata pipelines already see.
pub fn rrtype_name(t: u16) -> Option<&'static str> {
    Some(match t {
        1 => "A",
        2 => "NS",
        3 => "ND",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAPPT",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        55 => "HIP",
        59 => "CDS",
        60 => "CDSNKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        249 => "TKEY",
        250 => "TSIG",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        _ => return None,
    })
}

/// Label bytes [`NameBuf::push_label_byte`] writes as they are (no `\DDD` escape), by value.
// Indexing in a const initialiser is checked at compile time: it cannot panic at run time.
#[allow(clippy::indexing_slicing)]
static PLAIN_LABEL_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_graphic() && c != b'.' && c != b'\\';
        b += 1;
    }
    t
};

/// True when every byte of `label` is written as it is: one table load per byte, no branch.
#[inline]
fn is_plain_label(label: &[u8]) -> bool {
    label.iter().fold(true, |plain, &b| {
        // A u8 always indexes the 256-entry table: `get` compiles to a plain load.
        plain
            & PLAIN_LABEL_BYTE
                .get(usize::from(b))
                .copied()
                .unwrap_or(false)
    })
}

/// Big-endian u16 at `at`, if present.
fn be16(msg: &[u8], at: usize) -> Option<u16> {
    let b = msg.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
}

/// Big-endian u32 at `at`, if present.
fn be32(msg: &[u8], at: usize) -> Option<u32> {
    let b = msg.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([
        *b.first()?,
        *b.get(1)?,
        *b.get(2)?,
        *b.get(3)?,
    ]))
}

/// Reads one question at `pos`: `(next position, qtype, qclass)`.
fn read_question(
    msg: &[u8],
    pos: usize,
    name: &mut NameBuf,
    cache: &mut NameCache,
) -> Result<(usize, u16, u16), DnsError> {
    let pos = read_owner(msg, pos, name, None, cache)?;
    let qtype = be16(msg, pos).ok_or(DnsError::Truncated)?;
    let qclass = be16(msg, pos + 2).ok_or(DnsError::Truncated)?;
    Ok((pos + 4, qtype, qclass))
}

/// Reads one resource record at `pos`: `(next position, item)`.
fn read_answer<'m, 'n>(
    msg: &'m [u8],
    pos: usize,
    owner: &'n mut NameBuf,
    target: &'n mut NameBuf,
    cache: &mut NameCache,
) -> Result<(usize, DnsItem<'n>), DnsError>
where
    'm: 'n,
{
    let pos = read_owner(msg, pos, owner, Some(target), cache)?;
    let rtype = be16(msg, pos).ok_or(DnsError::Truncated)?;
    let rclass = be16(msg, pos + 2).ok_or(DnsError::Truncated)?;
    let ttl = be32(msg, pos + 4).ok_or(DnsError::Truncated)?;
    let rdlength = usize::from(be16(msg, pos + 8).ok_or(DnsError::Truncated)?);
    let start = pos + 10;
    let end = start + rdlength;
    let raw = msg.get(start..end).ok_or(DnsError::Truncated)?;
    let rdata = match (rtype, raw.len()) {
        (TYPE_A, 4) => {
            let mut a = [0u8; 4];
            a.copy_from_slice(raw);
            Rdata::A(a)
        }
        (TYPE_AAAA, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(raw);
            Rdata::Aaaa(a)
        }
        (TYPE_CNAME, _) => {
            // The name may point back into the message, but its own bytes must stay
            // inside the rdata.
            cache.target = None;
            let (name_end, jumps) = read_name_counted(msg, start, target)?;
            cache.target = Some((start, jumps));
            if name_end > end {
                return Err(DnsError::BadRdata);
            }
            Rdata::Cname(target)
        }
        _ => Rdata::Other(raw),
    };
    Ok((
        end,
        DnsItem::Answer {
            name: owner,
            rtype,
            rclass,
            ttl,
            rdata,
        },
    ))
}

/// End of the name at `pos` in the record being read (after its terminating root octet, or
/// after its first pointer), without decoding it or following pointers. `None` when the name
/// is cut or has a reserved label type. Bounded: every step moves forward in `msg`.
fn skip_name(msg: &[u8], mut pos: usize) -> Option<usize> {
    for _ in 0..msg.len() {
        let len = *msg.get(pos)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(pos + 1),
            0x00 => {
                pos += 1 + usize::from(len);
                if pos > msg.len() {
                    return None;
                }
            }
            0xc0 => return (pos + 2 <= msg.len()).then_some(pos + 2),
            _ => return None,
        }
    }
    None
}

/// End of the resource record whose owner name ends at `name_end`, if it is all present.
fn record_end(msg: &[u8], name_end: usize) -> Option<usize> {
    let rdlength = usize::from(be16(msg, name_end + 8)?);
    let end = name_end + 10 + rdlength;
    (end <= msg.len()).then_some(end)
}

/// What the walk's two name buffers hold: `(offset the decoding started at, pointers it
/// followed)`, or `None` when unknown. In a response every answer's owner is usually a pointer
/// to the question or to the previous CNAME target, already decoded: such a name is reused (or
/// copied from the other buffer) instead of being decoded again, byte by byte.
///
/// Exact, not a heuristic: decoding from a pointer to offset `t` yields exactly the name
/// decoded from `t`, with one more jump, so a reuse is allowed only while that jump count stays
/// within [`MAX_POINTER_JUMPS`] (otherwise the name is decoded and fails as before).
#[derive(Debug, Default, Clone, Copy)]
struct NameCache {
    owner: Option<(usize, usize)>,
    target: Option<(usize, usize)>,
}

/// Decodes the owner (or question) name at `pos` into `owner`, reusing a decoding already in
/// `owner` or `target` when the name is a single pointer to where that decoding started.
fn read_owner(
    msg: &[u8],
    pos: usize,
    owner: &mut NameBuf,
    target: Option<&NameBuf>,
    cache: &mut NameCache,
) -> Result<usize, DnsError> {
    if let [hi, lo, ..] = msg.get(pos..).unwrap_or_default()
        && hi & 0xc0 == 0xc0
    {
        let to = (usize::from(hi & 0x3f) << 8) | usize::from(*lo);
        let reusable = |c: Option<(usize, usize)>| {
            c.filter(|&(from, jumps)| from == to && jumps < MAX_POINTER_JUMPS)
        };
        if let Some((from, jumps)) = reusable(cache.owner) {
            cache.owner = Some((from, jumps + 1));
            return Ok(pos + 2);
        }
        if let (Some(t), Some((from, jumps))) = (target, reusable(cache.target)) {
            // Both buffers have the same capacity, so this cannot fail.
            if owner.set(t.as_bytes()) {
                cache.owner = Some((from, jumps + 1));
                return Ok(pos + 2);
            }
        }
    }
    cache.owner = None;
    let (next, jumps) = read_name_counted(msg, pos, owner)?;
    cache.owner = Some((pos, jumps));
    Ok(next)
}

/// Decodes the (possibly compressed) name at `start` into `out` and returns the position just
/// after the name in the record being read (after the first pointer, if any), and how many
/// compression pointers were followed.
///
/// Bounded: every iteration either consumes at least two bytes of the
/// [`MAX_NAME_WIRE_LEN`] budget, follows one of [`MAX_POINTER_JUMPS`] pointers, or returns.
fn read_name_counted(
    msg: &[u8],
    start: usize,
    out: &mut NameBuf,
) -> Result<(usize, usize), DnsError> {
    out.clear();
    let mut pos = start;
    let mut resume: Option<usize> = None;
    let mut jumps = 0usize;
    // Wire bytes of the name so far (length octets and labels; the root octet at the end).
    let mut wire_len = 0usize;
    for _ in 0..(MAX_NAME_WIRE_LEN + MAX_POINTER_JUMPS + 1) {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok((resume.unwrap_or(pos + 1), jumps));
            }
            0x00 => {
                let l = usize::from(len);
                wire_len += 1 + l;
                // Leave room for the terminating root octet.
                if wire_len + 1 > MAX_NAME_WIRE_LEN {
                    return Err(DnsError::NameTooLong);
                }
                let label = msg.get(pos + 1..pos + 1 + l).ok_or(DnsError::Truncated)?;
                if !out.is_empty() && !out.push(b'.') {
                    return Err(DnsError::NameTooLong);
                }
                // Nearly every label is plain name characters: copy it whole. Otherwise go
                // byte by byte, escaping as `push_label_byte` does.
                if is_plain_label(label) {
                    if !out.extend(label) {
                        return Err(DnsError::NameTooLong);
                    }
                } else {
                    for &b in label {
                        if !out.push_label_byte(b) {
                            return Err(DnsError::NameTooLong);
                        }
                    }
                }
                pos += 1 + l;
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(lo);
                jumps += 1;
                if jumps > MAX_POINTER_JUMPS {
                    return Err(DnsError::PointerLoop);
                }
                if target >= msg.len() {
                    return Err(DnsError::PointerOutOfRange);
                }
                if resume.is_none() {
                    resume = Some(pos + 2);
                }
                pos = target;
            }
            _ => return Err(DnsError::BadLabelType),
        }
    }
    // Unreachable in practice (see the bound above); still an error, not a panic.
    Err(DnsError::PointerLoop)
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    /// Owned copy of a visited item, for assertions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Seen {
        Q(String, u16),
        A(String, [u8; 4]),
        Aaaa(String, [u8; 16]),
        Cname(String, String),
        Other(String, u16, Vec<u8>),
    }

    fn s(n: &NameBuf) -> String {
        n.as_str().unwrap().to_string()
    }

    fn collect(msg: &[u8]) -> (Result<WalkSummary, DnsError>, Vec<Seen>) {
        let mut seen = Vec::new();
        let r = walk(msg, |item| {
            seen.push(match *item {
                DnsItem::Question { name, qtype, .. } => Seen::Q(s(name), qtype),
                DnsItem::Answer {
                    name, rtype, rdata, ..
                } => match rdata {
                    Rdata::A(a) => Seen::A(s(name), a),
                    Rdata::Aaaa(a) => Seen::Aaaa(s(name), a),
                    Rdata::Cname(t) => Seen::Cname(s(name), s(t)),
                    Rdata::Other(raw) => Seen::Other(s(name), rtype, raw.to_vec()),
                },
            })
        });
        (r, seen)
    }

    use vw_craft::dns::{self as craft, Dns};

    /// Header of id 0x1234 with these flags and question and answer counts.
    fn header(flags: u16, qd: u16, an: u16) -> Vec<u8> {
        craft::header(0x1234, flags, [qd, an, 0, 0])
    }

    /// Appends a record (TTL 300) whose owner is given in wire form.
    fn rr(m: &mut Vec<u8>, name: &[u8], rtype: u16, rdata: &[u8]) {
        m.extend(craft::record(name, rtype, 300, rdata));
    }

    /// Response for `dnl-01.geo.Kaspersky.com`: CNAME -> `cdn.Example.net`, CNAME ->
    /// `edge.cdn.Example.net`, then an A and an AAAA owned by the last target. The builder
    /// compresses as resolvers do: owners point at the question and into the previous rdata,
    /// the second target is `edge` + a pointer into the first.
    fn response() -> Vec<u8> {
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 1;
        Dns::response(0x1234)
            .question("dnl-01.geo.Kaspersky.com", TYPE_A)
            .answer(
                "dnl-01.geo.Kaspersky.com",
                300,
                craft::Rdata::Cname("cdn.Example.net"),
            )
            .answer(
                "cdn.Example.net",
                300,
                craft::Rdata::Cname("edge.cdn.Example.net"),
            )
            .answer("edge.cdn.Example.net", 300, craft::Rdata::A([192, 0, 2, 7]))
            .answer("edge.cdn.Example.net", 300, craft::Rdata::Aaaa(v6))
            .build()
    }

    fn response_items() -> Vec<Seen> {
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[15] = 1;
        vec![
            Seen::Q("dnl-01.geo.Kaspersky.com".into(), TYPE_A),
            Seen::Cname("dnl-01.geo.Kaspersky.com".into(), "cdn.Example.net".into()),
            Seen::Cname("cdn.Example.net".into(), "edge.cdn.Example.net".into()),
            Seen::A("edge.cdn.Example.net".into(), [192, 0, 2, 7]),
            Seen::Aaaa("edge.cdn.Example.net".into(), v6),
        ]
    }

    /// An answer whose owner points at the previous CNAME target reuses that decoding only
    /// while the pointer budget allows; at the limit it fails exactly as a fresh decode would.
    #[test]
    fn reused_owner_names_keep_the_pointer_limit() {
        for chain in [MAX_POINTER_JUMPS - 2, MAX_POINTER_JUMPS - 1] {
            let mut m = header(0x8180, 1, 2);
            m.extend_from_slice(&craft::name("a.b"));
            m.extend_from_slice(&[0, 1, 0, 1]);
            // CNAME rdata: a pointer to the next pointer, `chain` times, the last to the
            // question: decoding it follows chain + 1 pointers.
            let start = m.len() + 2 + 10;
            let mut rd = Vec::new();
            for i in 0..chain {
                let next = start + 2 * (i + 1);
                rd.extend_from_slice(&[0xc0 | (next >> 8) as u8, next as u8]);
            }
            rd.extend_from_slice(&[0xc0, 12]);
            rr(&mut m, &[0xc0, 12], TYPE_CNAME, &rd);
            let p = [0xc0 | (start >> 8) as u8, start as u8];
            rr(&mut m, &p, TYPE_A, &[192, 0, 2, 1]);
            let (r, seen) = collect(&m);
            let sum = r.unwrap();
            if chain + 2 <= MAX_POINTER_JUMPS {
                assert!(sum.is_complete(), "{chain}: {:?}", sum.stopped);
                assert_eq!(seen.last(), Some(&Seen::A("a.b".into(), [192, 0, 2, 1])));
            } else {
                assert_eq!(sum.stopped, Some(DnsError::PointerLoop), "{chain}");
                assert_eq!(sum.answers, 1);
            }
        }
    }

    #[test]
    fn normal_query() {
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&craft::name("upd.kaspersky.com"));
        m.extend_from_slice(&[0, 28, 0, 1]);
        assert!(looks_like_dns(&m));
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert!(sum.is_complete());
        assert!(!sum.header.is_response());
        assert_eq!(sum.header.opcode(), 0);
        assert_eq!(sum.header.id, 0x1234);
        assert_eq!((sum.questions, sum.answers), (1, 0));
        assert_eq!(seen, vec![Seen::Q("upd.kaspersky.com".into(), TYPE_AAAA)]);
    }

    #[test]
    fn response_with_cname_chain_and_compression() {
        let m = response();
        assert!(looks_like_dns(&m));
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert!(sum.is_complete(), "{:?}", sum.stopped);
        assert!(sum.header.is_response());
        assert_eq!(sum.header.rcode(), 0);
        assert_eq!((sum.questions, sum.answers), (1, 4));
        // Mixed case is kept exactly as on the wire.
        assert_eq!(seen, response_items());
    }

    #[test]
    fn authority_and_additional_are_not_walked() {
        let mut m = response();
        m[9] = 1; // nscount = 1
        m[11] = 1; // arcount = 1
        m.extend_from_slice(&[0xff, 0xff, 0xff]); // garbage where they would be
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(seen, response_items());
    }

    #[test]
    fn pointer_loops_terminate() {
        // Self pointer at the question name.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        assert_eq!(r.unwrap().stopped, Some(DnsError::PointerLoop));
        assert!(seen.is_empty());

        // Two pointers pointing at each other: 12 -> 14 -> 12.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 14, 0xc0, 12, 0, 1, 0, 1]);
        assert_eq!(collect(&m).0.unwrap().stopped, Some(DnsError::PointerLoop));

        // A loop that adds a label each turn hits the length limit instead; the name's own
        // bytes end at the pointer, so the question is skipped and the walk ends normally.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[
            10, b'a', b'b', b'c', b'd', b'e', b'f', b'g', b'h', b'i', b'j',
        ]);
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert_eq!((sum.stopped, sum.skipped), (None, 1));
        assert!(seen.is_empty());
    }

    #[test]
    fn deep_but_finite_pointer_chain_is_accepted() {
        // Like the corpus's zk-max-compression-depth: each answer's owner points to the
        // previous answer's owner.
        let mut m = header(0x8180, 1, 7);
        m.extend_from_slice(&craft::name("a"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let mut prev = m.len();
        rr(&mut m, &craft::name("a"), TYPE_A, &[127, 0, 0, 1]);
        for i in 2..=7u8 {
            let here = m.len();
            rr(&mut m, &[0xc0, prev as u8], TYPE_A, &[127, 0, 0, i]);
            prev = here;
        }
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(seen.len(), 8);
        assert_eq!(seen[7], Seen::A("a".into(), [127, 0, 0, 7]));
    }

    #[test]
    fn jump_cap_is_enforced() {
        // A chain of exactly MAX_POINTER_JUMPS pointers is fine, one more is a loop.
        for (jumps, ok) in [(MAX_POINTER_JUMPS, true), (MAX_POINTER_JUMPS + 1, false)] {
            let mut m = header(0x0100, 1, 0);
            m.extend_from_slice(&[0xc0, 0, 0, 1, 0, 1]); // question: pointer to chain
            let name_at = m.len();
            m.extend_from_slice(&craft::name("x"));
            // Chain: pointer k points to pointer k-1; the first points to the name.
            let mut prev = name_at;
            for _ in 0..jumps - 1 {
                let here = m.len();
                m.extend_from_slice(&[0xc0 | (prev >> 8) as u8, prev as u8]);
                prev = here;
            }
            m[12] = 0xc0 | (prev >> 8) as u8;
            m[13] = prev as u8;
            let (r, seen) = collect(&m);
            let sum = r.unwrap();
            assert_eq!(sum.is_complete(), ok, "jumps={jumps}");
            if ok {
                assert_eq!(seen, vec![Seen::Q("x".into(), 1)]);
            } else {
                assert_eq!(sum.stopped, Some(DnsError::PointerLoop));
            }
        }
    }

    #[test]
    fn forward_pointer_is_followed() {
        // As in sv-dns-forward-pointer: the first question points at the second's name.
        let mut m = header(0x0100, 2, 0);
        m.extend_from_slice(&[0xc0, 18, 0, 1, 0, 1]);
        m.extend_from_slice(&craft::name("codemonkey.net"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(
            seen,
            vec![
                Seen::Q("codemonkey.net".into(), 1),
                Seen::Q("codemonkey.net".into(), 1)
            ]
        );
        // A pointer past the end of the message is an error.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0xc0, 200, 0, 1, 0, 1]);
        assert_eq!(
            collect(&m).0.unwrap().stopped,
            Some(DnsError::PointerOutOfRange)
        );
    }

    #[test]
    fn name_length_limit() {
        // 4 labels of 63 bytes = 256 wire bytes with the root octet: too long.
        let l63 = "a".repeat(63);
        let long = format!("{l63}.{l63}.{l63}.{l63}");
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&craft::name(&long));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        assert_eq!(r.unwrap().skipped, 1);
        assert!(seen.is_empty());
        // 3 x 63 + 61 = 255 wire bytes exactly: accepted.
        let ok = format!("{l63}.{l63}.{l63}.{}", "b".repeat(61));
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&craft::name(&ok));
        m.extend_from_slice(&[0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(seen, vec![Seen::Q(ok, 1)]);
        // Reaching the limit across a pointer counts too.
        let mut m = header(0x0100, 2, 0);
        let first = format!("{l63}.{l63}.{l63}");
        m.extend_from_slice(&craft::name(&first));
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&[63]);
        m.extend_from_slice(l63.as_bytes());
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert_eq!((sum.stopped, sum.skipped), (None, 1));
        assert!(!sum.is_complete());
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn too_long_items_are_skipped_not_fatal() {
        // Like nd-malformed_dns: a second question far too long, then an A answer and a
        // CNAME whose target is too long, then another A. Items around them still count.
        let l63 = "a".repeat(63);
        let long = format!("{l63}.{l63}.{l63}.{l63}.{l63}");
        let mut m = header(0x8180, 2, 3);
        m.extend_from_slice(&craft::name("www.xt.com"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        m.extend_from_slice(&craft::name(&long));
        m.extend_from_slice(&[0, 1, 0, 1]);
        rr(&mut m, &[0xc0, 12], TYPE_A, &[66, 66, 66, 66]);
        rr(&mut m, &[0xc0, 12], TYPE_CNAME, &craft::name(&long));
        rr(&mut m, &[0xc0, 12], TYPE_A, &[1, 2, 3, 4]);
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert_eq!(sum.stopped, None);
        assert_eq!(sum.skipped, 2);
        assert_eq!((sum.questions, sum.answers), (1, 2));
        assert_eq!(
            seen,
            vec![
                Seen::Q("www.xt.com".into(), 1),
                Seen::A("www.xt.com".into(), [66, 66, 66, 66]),
                Seen::A("www.xt.com".into(), [1, 2, 3, 4]),
            ]
        );
        // If the too-long name is also cut, the walk stops.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&craft::name(&long)[..300]);
        assert_eq!(collect(&m).0.unwrap().stopped, Some(DnsError::NameTooLong));
    }

    #[test]
    fn reserved_label_types_are_malformed() {
        for bad in [0x40u8, 0x80, 0x7f, 0xbf] {
            let mut m = header(0x0100, 1, 0);
            m.extend_from_slice(&[bad, b'a', 0, 0, 1, 0, 1]);
            assert_eq!(collect(&m).0.unwrap().stopped, Some(DnsError::BadLabelType));
        }
    }

    #[test]
    fn root_and_escapes() {
        // Root query (". NS"), as in td-dns-badcookie: empty name.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[0, 0, 2, 0, 1]);
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(seen, vec![Seen::Q(ROOT_NAME_EVE.into(), TYPE_NS)]);

        // A dot, a backslash and binary bytes inside labels are escaped as \DDD, like
        // nd-dns-invalid-chars' `www.allyourba\004\005\006arebelongto.cn`.
        let mut m = header(0x0100, 1, 0);
        m.extend_from_slice(&[
            3, b'a', b'.', b'b', 4, b'x', 4, 0xff, b'\\', 2, b'c', b'n', 0,
        ]);
        m.extend_from_slice(&[0, 1, 0, 1]);
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(seen, vec![Seen::Q("a\\046b.x\\004\\255\\092.cn".into(), 1)]);
    }

    #[test]
    fn odd_rdata() {
        let mut m = header(0x8180, 0, 3);
        // A with 5 bytes and AAAA with 4 bytes are passed through raw.
        rr(&mut m, &craft::name("a.example"), TYPE_A, &[1, 2, 3, 4, 5]);
        rr(&mut m, &[0xc0, 12], TYPE_AAAA, &[1, 2, 3, 4]);
        rr(&mut m, &[0xc0, 12], TYPE_TXT, b"\x02hi");
        let (r, seen) = collect(&m);
        assert!(r.unwrap().is_complete());
        assert_eq!(
            seen,
            vec![
                Seen::Other("a.example".into(), TYPE_A, vec![1, 2, 3, 4, 5]),
                Seen::Other("a.example".into(), TYPE_AAAA, vec![1, 2, 3, 4]),
                Seen::Other("a.example".into(), TYPE_TXT, b"\x02hi".to_vec()),
            ]
        );
        // A CNAME whose name runs past its rdlength is malformed.
        let mut m = header(0x8180, 0, 1);
        let mut rec = Vec::new();
        rr(&mut rec, &craft::name("a"), TYPE_CNAME, &[1, b'b']); // rdlength 2, no root octet
        m.extend_from_slice(&rec);
        m.push(0); // the root octet outside the rdata
        assert_eq!(collect(&m).0.unwrap().stopped, Some(DnsError::BadRdata));
        // rdlength past the end stops the walk.
        let mut m = header(0x8180, 0, 1);
        rr(&mut m, &craft::name("a"), TYPE_A, &[1, 2, 3, 4]);
        m.truncate(m.len() - 1);
        assert_eq!(collect(&m).0.unwrap().stopped, Some(DnsError::Truncated));
    }

    #[test]
    fn every_truncation_visits_a_prefix() {
        let m = response();
        let all = response_items();
        for cut in 0..m.len() {
            let (r, seen) = collect(&m[..cut]);
            if cut < HEADER_LEN {
                assert_eq!(r, Err(DnsError::TooShort));
                assert!(seen.is_empty());
                continue;
            }
            let sum = r.unwrap();
            assert!(!sum.is_complete(), "cut={cut}");
            assert!(seen.len() < all.len());
            assert_eq!(seen[..], all[..seen.len()], "cut={cut}");
        }
    }

    /// Small deterministic PRNG so garbage tests need no dependency.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn garbage_never_panics() {
        let base = response();
        for seed in 1..3000u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            // Half pure noise, half mutations of a valid response (reaches deeper code).
            let mut m = if seed % 2 == 0 {
                let len = (rng.next() % 300) as usize;
                (0..len).map(|_| rng.next() as u8).collect::<Vec<_>>()
            } else {
                base.clone()
            };
            for _ in 0..(rng.next() % 8) {
                if m.is_empty() {
                    break;
                }
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
            }
            let _ = looks_like_dns(&m);
            let mut count = 0usize;
            let _ = walk(&m, |_| count += 1);
            assert!(count <= 2 * 65535);
        }
    }

    /// Issue 18, item 4: 20 questions and 5000 answers (minimal TXT records). The first 16
    /// questions and 4096 answers are visited, the rest counted; on a cut message the
    /// questions past the limit are still stepped over to reach the answers, or the cut stops
    /// the walk.
    #[test]
    fn over_the_limits_the_first_items_are_visited_and_the_rest_counted() {
        let mut dns = Dns::response(7);
        for i in 0..20 {
            dns = dns.question(&format!("q{i}.example.org"), TYPE_A);
        }
        let mut m = dns.build();
        m[..HEADER_LEN].copy_from_slice(&craft::header(7, 0x8180, [20, 5000, 0, 0]));
        let questions_end = m.len();
        for _ in 0..5000 {
            rr(&mut m, &[0xc0, 12], TYPE_TXT, &[]);
        }
        assert!(looks_like_dns(&m));
        let (r, seen) = collect(&m);
        let sum = r.unwrap();
        assert_eq!((sum.questions, sum.answers), (16, 4096));
        assert_eq!((sum.over_limit, sum.stopped), (4 + 904, None));
        assert!(!sum.is_complete());
        assert_eq!(seen[0], Seen::Q("q0.example.org".into(), TYPE_A));
        assert_eq!(seen[15], Seen::Q("q15.example.org".into(), TYPE_A));
        assert_eq!(
            seen[16],
            Seen::Other("q0.example.org".into(), TYPE_TXT, vec![])
        );
        assert_eq!(seen.len(), 16 + 4096);
        // Cut inside the 20th question: the walk stops before the answers.
        let (r, seen) = collect(&m[..questions_end - 3]);
        let sum = r.unwrap();
        assert_eq!((sum.questions, sum.answers), (16, 0));
        assert_eq!(sum.stopped, Some(DnsError::Truncated));
        assert_eq!(seen.len(), 16);
    }

    #[test]
    fn dns_ports() {
        let standard = DnsPorts::default();
        assert!(standard.either(40_000, 53) && standard.either(53, 40_000));
        assert!(!standard.either(40_000, 8053));
        let ports = DnsPorts::with_extra(&[8053, 5353, 8053, 53]).unwrap();
        assert!(ports.either(8053, 1) && ports.either(1, 5353) && ports.contains(53));
        assert!(!ports.contains(0) && !ports.contains(5355));
        let many: Vec<u16> = (1000..1000 + MAX_EXTRA_DNS_PORTS as u16).collect();
        assert!(DnsPorts::with_extra(&many).is_some());
        let too_many: Vec<u16> = (1000..1001 + MAX_EXTRA_DNS_PORTS as u16).collect();
        assert_eq!(DnsPorts::with_extra(&too_many), None);
    }

    #[test]
    fn looks_like_dns_filters() {
        assert!(!looks_like_dns(&[0; 11]));
        let mut m = header(0x0100, 0, 0);
        assert!(!looks_like_dns(&m)); // no question
        m = header(0x7800, 1, 0); // opcode 15
        m.extend_from_slice(&craft::name("a"));
        m.extend_from_slice(&[0, 1, 0, 1]);
        assert!(!looks_like_dns(&m));
        let mut m = header(0x0100, 1000, 0);
        m.extend_from_slice(&[0; 20]);
        assert!(!looks_like_dns(&m));
        assert!(looks_like_dns(&response()));
    }

    #[test]
    fn type_names_and_display() {
        assert_eq!(rrtype_name(TYPE_A), Some("A"));
        assert_eq!(rrtype_name(TYPE_AAAA), Some("AAAA"));
        assert_eq!(rrtype_name(TYPE_CNAME), Some("CNAME"));
        assert_eq!(rrtype_name(TYPE_HTTPS), Some("HTTPS"));
        assert_eq!(rrtype_name(TYPE_SVCB), Some("SVCB"));
        assert_eq!(rrtype_name(TYPE_ANY), Some("ANY"));
        assert_eq!(rrtype_name(TYPE_OPT), Some("OPT"));
        assert_eq!(rrtype_name(4242), None);
        assert_eq!(
            DnsError::PointerLoop.to_string(),
            "DNS name follows too many compression pointers (loop)"
        );
    }
}
