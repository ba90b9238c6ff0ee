//! Domain patterns and CIDRs: parsing, validation and the in-label glob.
//!
//! A pattern is compiled once when the rules are loaded into the parts the matcher needs: the
//! *anchor* (the longest literal suffix, which is what gets hashed), the labels left of it that
//! must be checked one by one, and the mode (`a.b` exact, `*.a.b` strictly below, `.a.b` the
//! name and below).

use super::text::excerpt;
use std::net::IpAddr;

/// Longest name in presentation form without the trailing dot (RFC 1035: 255 octets on the
/// wire).
pub(crate) const MAX_NAME: usize = 253;
/// Longest label (RFC 1035).
pub(crate) const MAX_LABEL: usize = 63;

/// How a pattern relates to the names below its literal part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Mode {
    /// `a.b`: exactly this name.
    Exact,
    /// `*.a.b`: any name strictly below (one or more extra labels on the left).
    Below,
    /// `.a.b`: the name itself and everything below it.
    Subtree,
}

/// A validated domain pattern.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    /// The pattern as stored in [`super::Rule::domains`]: lowercased, one trailing dot removed.
    pub canonical: String,
    pub mode: Mode,
    /// Longest literal suffix (never empty): the hash key.
    pub anchor: String,
    /// Labels left of the anchor, left to right; each may hold `*` / `?` (or be literal, as
    /// `a` in `a.*.b.com`).
    pub labels: Vec<String>,
}

impl Pattern {
    /// Order among patterns with the same anchor: exact > glob > `*.` > `.` (lower is better).
    pub fn rank(&self) -> u8 {
        match (self.labels.is_empty(), self.mode) {
            (true, Mode::Exact) => 0,
            (false, Mode::Exact) => 1,
            (false, Mode::Below) => 2,
            (false, Mode::Subtree) => 3,
            (true, Mode::Below) => 4,
            (true, Mode::Subtree) => 5,
        }
    }
}

/// An internationalised pattern in its IDNA A-label form (`bücher.de` -> `xn--bcher-kva.de`),
/// keeping a leading `*.` or `.`. Wildcards cannot be combined with non-ASCII labels (IDNA
/// maps whole labels), and a name that has no IDNA form is an error.
fn to_a_labels(raw: &str) -> Result<String, String> {
    let (prefix, rest) = if let Some(rest) = raw.strip_prefix("*.") {
        ("*.", rest)
    } else if let Some(rest) = raw.strip_prefix('.') {
        (".", rest)
    } else {
        ("", raw)
    };
    let c = raw.chars().find(|c| !c.is_ascii()).unwrap_or('?');
    if rest.contains(['*', '?']) {
        return Err(format!(
            "non-ASCII character {c:?} in a pattern with '*' or '?': write the \
             internationalised labels in their IDNA A-label form (xn--...)"
        ));
    }
    match idna::domain_to_ascii_cow(rest.as_bytes(), idna::AsciiDenyList::STD3) {
        Ok(ascii) if !ascii.is_empty() => Ok(format!("{prefix}{ascii}")),
        _ => Err(format!(
            "non-ASCII character {c:?} and no valid IDNA form: write the name in its IDNA \
             A-label form (xn--...), e.g. the output of `idn2 NAME`"
        )),
    }
}

fn is_glob(label: &str) -> bool {
    label.bytes().any(|b| b == b'*' || b == b'?')
}

/// Parse and validate one entry of `domains`. The error text is shown after
/// `file:line:col: invalid domain pattern "...": `.
pub(crate) fn parse_domain(raw: &str) -> Result<Pattern, String> {
    if raw.is_empty() {
        return Err("empty pattern".into());
    }
    let lower = if raw.is_ascii() {
        raw.to_ascii_lowercase()
    } else {
        to_a_labels(raw)?
    };
    let (mode, rest) = if let Some(rest) = lower.strip_prefix("*.") {
        (Mode::Below, rest)
    } else if let Some(rest) = lower.strip_prefix('.') {
        (Mode::Subtree, rest)
    } else {
        (Mode::Exact, lower.as_str())
    };
    // Accept the fully qualified form `a.b.` as `a.b`.
    let rest = match rest.strip_suffix('.') {
        Some(r) if !r.is_empty() => r,
        _ => rest,
    };
    if rest.is_empty() {
        return Err("no labels after the prefix".into());
    }
    if rest.len() > MAX_NAME {
        return Err(format!(
            "name is {} characters long, the maximum is {MAX_NAME}",
            rest.len()
        ));
    }
    let labels: Vec<&str> = rest.split('.').collect();
    for label in &labels {
        if label.is_empty() {
            return Err("empty label (two dots in a row, or a dot at the end)".into());
        }
        if label.len() > MAX_LABEL {
            return Err(format!(
                "label \"{}\" is {} characters long, the maximum is {MAX_LABEL}",
                excerpt(label),
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*' | '?')))
        {
            return Err(format!(
                "invalid character {c:?}: a label holds letters, digits, '-', '_', and the \
                 wildcards '*' and '?'"
            ));
        }
    }
    let literal_tail = labels.iter().rev().take_while(|l| !is_glob(l)).count();
    if literal_tail == 0 {
        return Err(
            "the last label must be literal (it is the part that is looked up); \
                    '*' and '?' match inside one label only, so e.g. \"kaspersky.*\" is not \
                    allowed: list each top-level domain"
                .into(),
        );
    }
    let split = labels.len() - literal_tail;
    let anchor = labels[split..].join(".");
    let left: Vec<String> = labels[..split].iter().map(|l| l.to_string()).collect();
    let prefix = match mode {
        Mode::Exact => "",
        Mode::Below => "*.",
        Mode::Subtree => ".",
    };
    Ok(Pattern {
        canonical: format!("{prefix}{rest}"),
        mode,
        anchor,
        labels: left,
    })
}

/// Does `label` match the in-label glob `pat` (`*` any run of bytes, possibly empty; `?`
/// exactly one byte)? Linear-time greedy matching with one backtrack point, no recursion, no
/// allocation; both inputs are single labels (a dot in `label` is just a byte, never crossed
/// by the caller).
pub(crate) fn glob_match(pat: &[u8], label: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = label.get(t) {
        match pat.get(p) {
            Some(&b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&q) if q == b'?' || q == c => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|&b| b == b'*'))
}

/// Parse one entry of `ips`: `addr/len` or a bare address (a host route). Host bits set is an
/// error, as it is almost always a typo for a different network.
pub(crate) fn parse_cidr(raw: &str) -> Result<(IpAddr, u8), String> {
    let (addr, len) = match raw.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (raw, None),
    };
    let addr: IpAddr = addr
        .parse()
        .map_err(|_| format!("\"{}\" is not an IPv4 or IPv6 address", excerpt(addr)))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err(format!(
                    "prefix length \"{}\" is not a number from 0 to {max}",
                    excerpt(l)
                ));
            }
        },
    };
    let masked = mask_addr(addr, len);
    if masked != addr {
        return Err(format!(
            "host bits set after the /{len} prefix; did you mean {masked}/{len}?"
        ));
    }
    Ok((addr, len))
}

/// IPv4 network mask of `len` bits.
pub(crate) fn mask4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

/// IPv6 network mask of `len` bits.
pub(crate) fn mask6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    }
}

fn mask_addr(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => IpAddr::V4((u32::from(a) & mask4(len)).into()),
        IpAddr::V6(a) => IpAddr::V6((u128::from(a) & mask6(len)).into()),
    }
}

/// Transport protocol of a port indicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PortProto {
    /// TCP: matched on the destination port of a SYN without ACK.
    Tcp,
    /// UDP: matched on the destination port of a packet whose source port is not listed.
    Udp,
}

impl PortProto {
    /// `tcp` or `udp`, as written in packs.
    pub fn label(self) -> &'static str {
        match self {
            PortProto::Tcp => "tcp",
            PortProto::Udp => "udp",
        }
    }
}

/// Parse one entry of `ports`: `tcp/N` or `udp/N`, N from 1 to 65535.
pub(crate) fn parse_port(raw: &str) -> Result<(PortProto, u16), String> {
    let lower = raw.trim().to_ascii_lowercase();
    let Some((proto, port)) = lower.split_once('/') else {
        return Err("expected \"tcp/PORT\" or \"udp/PORT\", e.g. \"tcp/13000\"".into());
    };
    let proto = match proto {
        "tcp" => PortProto::Tcp,
        "udp" => PortProto::Udp,
        other => {
            return Err(format!(
                "unknown protocol \"{}\": expected tcp or udp (\"tcp/13000\")",
                excerpt(other)
            ));
        }
    };
    match port.parse::<u16>() {
        Ok(n) if n > 0 => Ok((proto, n)),
        _ => Err(format!(
            "port \"{}\" is not a number from 1 to 65535",
            excerpt(port)
        )),
    }
}

/// Validate one entry of `ja4` (FoxIO JA4 TLS client fingerprint, e.g.
/// `t13d1516h2_8daaf6152771_e5627efa2ab1`): part a is protocol (`t` TCP, `q` QUIC, `d` DTLS),
/// two version characters, `d`/`i` (SNI present or not), two digits of cipher count, two of
/// extension count, two ALPN characters; parts b and c are 12 lowercase hex digits each.
/// Returns the lowercased form.
pub(crate) fn parse_ja4(raw: &str) -> Result<String, String> {
    let s = raw.trim().to_ascii_lowercase();
    let parts: Vec<&str> = s.split('_').collect();
    let [a, b, c] = parts.as_slice() else {
        return Err(format!(
            "expected three parts separated by '_' (a_b_c, e.g. \
             t13d1516h2_8daaf6152771_e5627efa2ab1), found {}",
            parts.len()
        ));
    };
    let ab = a.as_bytes();
    if ab.len() != 10 {
        return Err(format!(
            "part a \"{}\" must be 10 characters (protocol, version, d/i, cipher count, \
             extension count, ALPN)",
            excerpt(a)
        ));
    }
    if !matches!(ab[0], b't' | b'q' | b'd') {
        return Err(format!(
            "part a starts with {:?}, expected t (TLS over TCP), q (QUIC) or d (DTLS)",
            char::from(ab[0])
        ));
    }
    if !ab[1..3].iter().all(u8::is_ascii_alphanumeric) {
        return Err("part a: version (characters 2-3) must be letters or digits, e.g. 13".into());
    }
    if !matches!(ab[3], b'd' | b'i') {
        return Err(format!(
            "part a: character 4 is {:?}, expected d (SNI is a domain) or i (no SNI)",
            char::from(ab[3])
        ));
    }
    if !ab[4..8].iter().all(u8::is_ascii_digit) {
        return Err("part a: characters 5-8 must be digits (cipher and extension counts)".into());
    }
    if !ab[8..10].iter().all(u8::is_ascii_alphanumeric) {
        return Err(
            "part a: ALPN (characters 9-10) must be letters or digits, e.g. h2 or 00".into(),
        );
    }
    for (name, part) in [("b", b), ("c", c)] {
        if part.len() != 12 || !part.bytes().all(|x| x.is_ascii_hexdigit()) {
            return Err(format!(
                "part {name} \"{}\" must be 12 hex digits (truncated SHA-256)",
                excerpt(part)
            ));
        }
    }
    Ok(s)
}

/// The matcher's view of a pattern already in canonical form (as stored in
/// [`super::Rule::domains`]): (mode, anchor, labels left of the anchor joined by dots, rank),
/// borrowed, without allocating, so compiling a million patterns stays fast. `None` when
/// `s` is not canonical (uppercase, non-ASCII, empty labels, ...): the caller then falls back
/// to [`parse_domain`].
pub(crate) fn split_canonical(s: &str) -> Option<(Mode, &str, &str, u8)> {
    let (mode, rest) = if let Some(rest) = s.strip_prefix("*.") {
        (Mode::Below, rest)
    } else if let Some(rest) = s.strip_prefix('.') {
        (Mode::Subtree, rest)
    } else {
        (Mode::Exact, s)
    };
    if rest.is_empty() || rest.len() > MAX_NAME {
        return None;
    }
    let mut anchor_start = None;
    let mut glob_seen = false;
    let mut end = rest.len();
    for (i, label) in rest.rsplit('.').enumerate() {
        let start = end - label.len();
        if label.is_empty()
            || label.len() > MAX_LABEL
            || !label.bytes().all(|b| {
                b.is_ascii_lowercase()
                    || b.is_ascii_digit()
                    || matches!(b, b'-' | b'_' | b'*' | b'?')
            })
        {
            return None;
        }
        if is_glob(label) {
            glob_seen = true;
        } else if !glob_seen {
            anchor_start = Some(start);
        }
        if i > 0 && glob_seen && anchor_start.is_none() {
            return None;
        }
        end = start.saturating_sub(1);
    }
    let a = anchor_start?;
    let anchor = rest.get(a..)?;
    let left = if a == 0 { "" } else { rest.get(..a - 1)? };
    let rank = match (left.is_empty(), mode) {
        (true, Mode::Exact) => 0,
        (false, Mode::Exact) => 1,
        (false, Mode::Below) => 2,
        (false, Mode::Subtree) => 3,
        (true, Mode::Below) => 4,
        (true, Mode::Subtree) => 5,
    };
    Some((mode, anchor, left, rank))
}
