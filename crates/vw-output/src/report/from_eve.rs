//! Reading EVE alert records back (`vendorwatch report FILE...`, or stdin), so a report can
//! be made from any sensor's output, not only from the scan that wrote it.

use std::io::{self, BufRead};

use super::{AlertFacts, IdentityFacts, ReportBuilder};
use crate::capture::Timestamp;
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
        self.add(&AlertFacts {
            host: &host,
            vendor: &first("vendor"),
            channel: &first("channel"),
            sid: v["alert"]["signature_id"].as_u64().unwrap_or(0),
            signature: &s(&v["alert"]["signature"]),
            name: &first("matched_name"),
            ts,
            count: 1 + repeats,
            cutoff: PackDate::parse(&first("cutoff")).map(|d| d.secs),
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

    /// Add every line of an EVE file.
    pub fn add_eve_reader(&mut self, r: impl BufRead) -> io::Result<()> {
        for line in r.lines() {
            self.add_eve_line(&line?);
        }
        Ok(())
    }
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
