//! Reading EVE alert records back (`vendorwatch report FILE...`, or stdin), so a report can
//! be made from any sensor's output, not only from the scan that wrote it.

use std::io::{self, BufRead};

use super::{AlertFacts, IdentityFacts, MAX_SOURCES, ReportBuilder};
use crate::capture::Timestamp;
use crate::record::lineage::Lineage;
use crate::sigs::PackDate;

impl ReportBuilder {
    /// Add one EVE line; anything but an alert record is ignored.
    pub fn add_eve_line(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            self.bad_lines += 1;
            return;
        };
        for (key, set) in [
            ("pcap_filename", &mut self.eve_captures),
            ("host", &mut self.eve_sensors),
        ] {
            if let Some(name) = v[key].as_str()
                && !name.is_empty()
                && set.len() < MAX_SOURCES
                && !set.contains(name)
            {
                set.insert(name.to_string());
            }
        }
        if v["event_type"] != "alert" {
            return;
        }
        let s = |x: &serde_json::Value| x.as_str().unwrap_or("").to_string();
        let meta = &v["alert"]["metadata"];
        let first = |k: &str| s(&meta[k][0]);
        let dns_type = s(&v["dns"]["type"]);
        // DNS v3 `type: response`, v2 event `type: answer`, v2 alert `answer: {...}`.
        let response =
            dns_type == "response" || dns_type == "answer" || v["dns"]["answer"].is_object();
        let host = if response {
            s(&v["dest_ip"])
        } else {
            s(&v["src_ip"])
        };
        let repeats = first("repeats").parse::<u64>().unwrap_or(0);
        let Some(ts) = v["timestamp"].as_str().and_then(parse_eve_time) else {
            self.bad_lines += 1;
            return;
        };
        let migrated_from = Some(first("migrated_from")).filter(|f| !f.is_empty());
        let migrated_to: Vec<String> = meta["migrated_to"]
            .as_array()
            .map(|a| a.iter().map(&s).filter(|t| !t.is_empty()).collect())
            .unwrap_or_default();
        let lineage = if migrated_from.is_none() && migrated_to.is_empty() {
            Lineage::default()
        } else {
            Lineage {
                pack: first("pack"),
                migrated_from,
                migrated_to,
                migration: PackDate::parse(&first("migration")).map(|d| d.secs),
            }
        };
        self.add(&AlertFacts {
            host: &host,
            vendor: &first("vendor"),
            pack: &first("pack"),
            channel: &first("channel"),
            sid: v["alert"]["signature_id"].as_u64().unwrap_or(0),
            signature: &s(&v["alert"]["signature"]),
            name: &first("matched_name"),
            iface: &s(&v["in_iface"]),
            ts,
            count: 1 + repeats,
            cutoff: PackDate::parse(&first("cutoff")).map(|d| d.secs),
            lineage: &lineage,
            sensor: &s(&v["host"]),
            identity: IdentityFacts {
                mac: Some(first("host_mac")).filter(|s| !s.is_empty()).as_deref(),
                hostname: Some(first("host_name"))
                    .filter(|s| !s.is_empty())
                    .as_deref(),
                vendor_class: Some(first("host_vendor_class"))
                    .filter(|s| !s.is_empty())
                    .as_deref(),
            },
        });
    }

    /// Add every line of an EVE file. The first line that is not blank must be a JSON object
    /// with an `event_type` (else this is not an EVE file: a capture file, a text file, and
    /// nothing of it is added); later lines that are not JSON are counted in `bad_lines`.
    /// Lines are read at most [`MAX_LINE`] bytes at a time, so a file without newlines
    /// cannot grow memory.
    pub fn add_eve_reader(&mut self, mut r: impl BufRead) -> Result<(), EveReadError> {
        let mut buf = Vec::new();
        let mut line_no = 0u64;
        let mut seen_record = false;
        loop {
            buf.clear();
            let n = io::Read::take(&mut r, MAX_LINE as u64 + 1)
                .read_until(b'\n', &mut buf)
                .map_err(EveReadError::Io)?;
            if n == 0 {
                return Ok(());
            }
            line_no += 1;
            let too_long = buf.len() > MAX_LINE && buf.last() != Some(&b'\n');
            if too_long {
                // Skip the rest of the line.
                loop {
                    buf.clear();
                    let more = io::Read::take(&mut r, MAX_LINE as u64)
                        .read_until(b'\n', &mut buf)
                        .map_err(EveReadError::Io)?;
                    if more == 0 || buf.last() == Some(&b'\n') {
                        break;
                    }
                }
            }
            let text = std::str::from_utf8(&buf).ok().filter(|_| !too_long);
            if !seen_record {
                if text.is_some_and(|t| t.trim().is_empty()) {
                    continue;
                }
                let is_eve = text
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
                    .is_some_and(|v| v["event_type"].is_string());
                if !is_eve {
                    return Err(EveReadError::NotEve {
                        line: line_no,
                        capture: looks_like_capture(&buf),
                    });
                }
                seen_record = true;
            }
            match text {
                Some(t) => self.add_eve_line(t),
                None => self.bad_lines += 1,
            }
        }
    }
}

/// The longest EVE line read (a record with a large protocol object is a few kB).
pub const MAX_LINE: usize = 1 << 20;

/// Why an EVE input could not be read.
#[derive(Debug)]
pub enum EveReadError {
    /// Reading failed.
    Io(io::Error),
    /// The first record is not an EVE JSON object.
    NotEve {
        /// 1-based line of the first non-blank line.
        line: u64,
        /// It starts with a pcap, pcapng or gzip magic number.
        capture: bool,
    },
}

impl std::fmt::Display for EveReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EveReadError::Io(e) => write!(f, "{e}"),
            EveReadError::NotEve { line, capture } => {
                write!(
                    f,
                    "line {line}: not an EVE JSON file (expected one JSON object with an \
                     event_type per line)"
                )?;
                if *capture {
                    write!(
                        f,
                        "; it looks like a capture file: read it with `vendorwatch scan`"
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for EveReadError {}

/// The file starts with a pcap (either byte order, µs or ns), pcapng or gzip magic number.
fn looks_like_capture(b: &[u8]) -> bool {
    const MAGICS: [&[u8]; 6] = [
        &[0xd4, 0xc3, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0xc3, 0xd4],
        &[0x4d, 0x3c, 0xb2, 0xa1],
        &[0xa1, 0xb2, 0x3c, 0x4d],
        &[0x0a, 0x0d, 0x0d, 0x0a],
        &[0x1f, 0x8b],
    ];
    MAGICS.iter().any(|m| b.starts_with(m))
}

/// Parse EVE's `2024-10-01T12:00:00.123456+0000` (any `+hhmm`/`-hhmm` offset).
pub fn parse_eve_time(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = &s[19..];
    let mut nanos = 0u32;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        let mut v: u64 = frac[..digits.min(9)].parse().unwrap_or(0);
        for _ in digits.min(9)..9 {
            v *= 10;
        }
        nanos = v as u32;
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes().first() {
        Some(sign @ (b'+' | b'-')) if rest.len() >= 5 => {
            let oh: i64 = rest.get(1..3)?.parse().ok()?;
            let om: i64 = rest.get(rest.len() - 2..)?.parse().ok()?;
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => 0,
    };
    // days_from_civil (Howard Hinnant).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(Timestamp {
        secs: days * 86_400 + h * 3600 + mi * 60 + se - offset,
        nanos,
    })
}
