//! Domain patterns and CIDRs: parsing, validation and the in-label glob.
//!
//! A pattern is compiled once when the rules are loaded into the parts the matcher needs: the
//! *anchor* (the longest literal suffix, which is what gets hashed), the labels left of it that
//! must be checked one by one, and the mode (`a.b` exact, `*.a.b` strictly below, `.a.b` the
//! name and below).

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

fn is_glob(label: &str) -> bool {
    label.bytes().any(|b| b == b'*' || b == b'?')
}

/// Parse and validate one entry of `domains`. The error text is shown after
/// `file:line:col: invalid domain pattern "...": `.
pub(crate) fn parse_domain(raw: &str) -> Result<Pattern, String> {
    if raw.is_empty() {
        return Err("empty pattern".into());
    }
    if let Some(c) = raw.chars().find(|c| !c.is_ascii()) {
        return Err(format!(
            "non-ASCII character {c:?}: write internationalised names in their IDNA A-label \
             form (xn--...), e.g. the output of `idn2 NAME`"
        ));
    }
    let lower = raw.to_ascii_lowercase();
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
                "label \"{label}\" is {} characters long, the maximum is {MAX_LABEL}",
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
        .map_err(|_| format!("\"{addr}\" is not an IPv4 or IPv6 address"))?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(n) if n <= max => n,
            _ => {
                return Err(format!(
                    "prefix length \"{l}\" is not a number from 0 to {max}"
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
