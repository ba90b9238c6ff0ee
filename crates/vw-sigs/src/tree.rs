//! A TOML document as a tree in which every key and value keeps its byte span.
//!
//! Why not `#[derive(Deserialize)]` with `deny_unknown_fields`: serde stops at the first error,
//! and a signature author wants every mistake of a file reported at once, each with its
//! `line:col`. So the file is first read into this schema-free tree (which only fails on TOML
//! syntax), and `pack.rs` checks the schema on the tree, collecting all errors.
//!
//! Spans come from the `toml` crate's span protocol (the one `toml::Spanned` uses). Where the
//! parser has no span (dotted keys, implicit tables) the node simply has `span: None`, and the
//! error is reported at the enclosing node instead; nothing fails because of a missing span.

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::ops::Range;

// The field names of `toml::Spanned`'s deserialisation protocol (serde_spanned). If a future
// `toml` renamed them, the deserialiser would ignore our request and we would get plain values
// without spans: errors would then point at the start of the file, nothing else changes.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];
// How `toml` hands a date/time to `deserialize_any`: a one-entry map with this key.
const DATETIME_FIELD: &str = "$__toml_private_datetime";

/// One TOML value and where it was written.
#[derive(Debug)]
pub(crate) struct Node {
    pub span: Option<Range<usize>>,
    pub kind: Kind,
}

/// A table key and where it was written.
#[derive(Debug)]
pub(crate) struct Key {
    pub span: Option<Range<usize>>,
    pub name: String,
}

/// The TOML value types.
#[derive(Debug)]
pub(crate) enum Kind {
    Str(String),
    Int(i64),
    Float,
    Bool(bool),
    Datetime,
    Array(Vec<Node>),
    Table(Vec<(Key, Node)>),
}

impl Kind {
    /// The type's name for "expected a string, found an integer" messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Kind::Str(_) => "a string",
            Kind::Int(_) => "an integer",
            Kind::Float => "a float",
            Kind::Bool(_) => "a boolean",
            Kind::Datetime => "a date/time",
            Kind::Array(_) => "an array",
            Kind::Table(_) => "a table",
        }
    }
}

/// Parse `text` into a tree; the error is the `toml` syntax error (message and byte span).
pub(crate) fn parse(text: &str) -> Result<Node, (String, Option<Range<usize>>)> {
    toml::from_str::<Node>(text).map_err(|e| (e.message().to_string(), e.span()))
}

/// Parse the part `range` of `text` (which starts and ends at line starts) as a document of
/// its own, with every span (and the error's) counted from the start of `text`.
pub(crate) fn parse_part(
    text: &str,
    range: Range<usize>,
) -> Result<Node, (String, Option<Range<usize>>)> {
    let base = range.start;
    let shift = |s: Range<usize>| s.start + base..s.end + base;
    match text.get(range) {
        Some(part) => match parse(part) {
            Ok(mut node) => {
                node.shift(base);
                Ok(node)
            }
            Err((message, span)) => Err((message, span.map(shift))),
        },
        None => Err(("not at a character boundary".into(), Some(base..base))),
    }
}

impl Node {
    /// Move every span of the tree `by` bytes on.
    fn shift(&mut self, by: usize) {
        let add = |s: &mut Option<Range<usize>>| {
            if let Some(r) = s {
                *r = r.start + by..r.end + by;
            }
        };
        add(&mut self.span);
        match &mut self.kind {
            Kind::Array(items) => items.iter_mut().for_each(|n| n.shift(by)),
            Kind::Table(entries) => {
                for (key, node) in entries {
                    add(&mut key.span);
                    node.shift(by);
                }
            }
            _ => {}
        }
    }
}

/// Where the pack's lines `[[rule]]` start (byte offsets), outside multi-line strings: the
/// points where a pack can be cut into documents parsed one after the other.
///
/// Why: the `toml` parser holds a whole document as a tree of about 30 times its size (a
/// 112 MB pack of a million rules took 3.6 GB), so `pack.rs` parses a big pack a few rules at
/// a time and keeps only the validated rules. In a valid document such a line can only be a
/// table header: `[[rule]]` is not a value, so it cannot stand inside a multi-line array, and
/// the one construct that can hide it, a multi-line string, is tracked here. Only the plain
/// spelling (spaces allowed) is recognised; `[["rule"]]` simply stays inside its part.
pub(crate) fn rule_headers(text: &str) -> Vec<usize> {
    let mut headers = Vec::new();
    let mut state = Str::None;
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if state == Str::None && is_rule_header(line) {
            headers.push(start);
        } else {
            state = scan_line(line.as_bytes(), state);
        }
        start += line.len();
    }
    headers
}

/// Inside which multi-line string a line ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Str {
    None,
    /// `"""`, with backslash escapes.
    Basic,
    /// `'''`, without escapes.
    Literal,
}

/// `[[rule]]` (spaces allowed inside the brackets), then only spaces, a comment or the end.
fn is_rule_header(line: &str) -> bool {
    let rest = line.trim_start_matches([' ', '\t']);
    let Some(rest) = rest.strip_prefix("[[") else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches([' ', '\t']).strip_prefix("rule") else {
        return false;
    };
    let Some(rest) = rest.trim_start_matches([' ', '\t']).strip_prefix("]]") else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    rest.is_empty() || rest.starts_with('#')
}

/// The string state after one line that began in `state`: strings are skipped (a one-line
/// string ends with its line at the latest), a comment ends the line.
fn scan_line(line: &[u8], mut state: Str) -> Str {
    let run = |i: usize, q: u8| line[i..].iter().take_while(|&&b| b == q).count();
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        match state {
            Str::None if b == b'#' => return state,
            Str::None if b == b'"' || b == b'\'' => {
                if run(i, b) >= 3 {
                    i += 3;
                    state = if b == b'"' { Str::Basic } else { Str::Literal };
                } else {
                    // A one-line string, to its closing quote; only "..." has escapes.
                    i += 1;
                    while i < line.len() && line[i] != b {
                        i += if b == b'"' && line[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            Str::Basic if b == b'\\' => i += 2,
            // A run of 3 to 5 quotes closes the string (up to 2 belong to it).
            Str::Basic if b == b'"' && run(i, b) >= 3 => {
                i += run(i, b);
                state = Str::None;
            }
            Str::Literal if b == b'\'' && run(i, b) >= 3 => {
                i += run(i, b);
                state = Str::None;
            }
            _ => i += 1,
        }
    }
    state
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, NodeVisitor)
    }
}

/// Deserialises the value inside the span protocol without asking for a span again (asking
/// again would make the deserialiser wrap the same value once more, forever).
struct PlainNode;

impl<'de> DeserializeSeed<'de> for PlainNode {
    type Value = Node;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

fn plain(kind: Kind) -> Node {
    Node { span: None, kind }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(plain(Kind::Bool(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(plain(Kind::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        // The span protocol's start/end arrive as u64 only through `usize` seeds, never here;
        // a TOML integer always fits i64, but stay total.
        Ok(plain(i64::try_from(v).map_or(Kind::Float, Kind::Int)))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Node, E> {
        Ok(plain(Kind::Float))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(plain(Kind::Str(v.to_string())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
        Ok(plain(Kind::Str(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node>()? {
            items.push(item);
        }
        Ok(plain(Kind::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let Some(first) = map.next_key::<Key>()? else {
            return Ok(plain(Kind::Table(Vec::new())));
        };
        if first.name == SPANNED_START {
            // The span protocol: start, end, then the value itself.
            let start: usize = map.next_value()?;
            let mut end = start;
            let mut value = None;
            while let Some(key) = map.next_key::<Key>()? {
                if key.name == SPANNED_END {
                    end = map.next_value()?;
                } else if key.name == SPANNED_VALUE {
                    value = Some(map.next_value_seed(PlainNode)?);
                } else {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            let mut node = value.ok_or_else(|| de::Error::missing_field("value"))?;
            node.span = Some(start..end.max(start));
            return Ok(node);
        }
        if first.name == DATETIME_FIELD {
            map.next_value::<de::IgnoredAny>()?;
            return Ok(plain(Kind::Datetime));
        }
        let mut entries = Vec::new();
        let value = map.next_value::<Node>()?;
        entries.push((first, value));
        while let Some(key) = map.next_key::<Key>()? {
            let value = map.next_value::<Node>()?;
            entries.push((key, value));
        }
        Ok(plain(Kind::Table(entries)))
    }
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table key")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(Key {
            span: None,
            name: v.to_string(),
        })
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Key, E> {
        Ok(Key {
            span: None,
            name: v,
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Key, A::Error> {
        let mut start = None;
        let mut end = None;
        let mut name = None;
        while let Some(field) = map.next_key::<String>()? {
            if field == SPANNED_START {
                start = Some(map.next_value::<usize>()?);
            } else if field == SPANNED_END {
                end = Some(map.next_value::<usize>()?);
            } else if field == SPANNED_VALUE {
                name = Some(map.next_value::<String>()?);
            } else {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
        let name = name.ok_or_else(|| de::Error::missing_field("key"))?;
        let span = start.map(|s| s..end.unwrap_or(s).max(s));
        Ok(Key { span, name })
    }
}
