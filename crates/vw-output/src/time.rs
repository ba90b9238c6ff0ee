//! EVE timestamps (`2024-10-01T12:00:00.123456+0000`), formatted without a date library:
//! the civil-from-days conversion is a few lines and runs only when a record is written.
//!
//! Every time written is first clamped to years 0001..=9999 ([`Timestamp::clamp_rfc3339`]):
//! a capture may stamp a packet in year 292,277,026,596, which no RFC 3339 reader (nor
//! Suricata's EVE schema) accepts. The reader counts such packets (`ts_out_of_range`).

use crate::capture::Timestamp;

/// Calendar date and time of day, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    /// Year (proleptic Gregorian).
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    /// 0..=23
    pub hour: u32,
    /// 0..=59
    pub minute: u32,
    /// 0..=59
    pub second: u32,
    /// Microseconds within the second (EVE's precision).
    pub micros: u32,
}

impl UtcTime {
    /// Split a capture timestamp, clamped to years 0001..=9999, into calendar fields (Howard
    /// Hinnant's civil_from_days).
    pub fn from_timestamp(ts: Timestamp) -> Self {
        let ts = ts.clamp_rfc3339();
        let days = ts.secs.div_euclid(86_400);
        let secs_of_day = ts.secs.rem_euclid(86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        UtcTime {
            year,
            month,
            day,
            hour: secs_of_day / 3600,
            minute: secs_of_day / 60 % 60,
            second: secs_of_day % 60,
            micros: ts.nanos.min(999_999_999) / 1000,
        }
    }
}

impl std::fmt::Display for UtcTime {
    /// Suricata's EVE timestamp form, always in UTC.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+0000",
            self.year, self.month, self.day, self.hour, self.minute, self.second, self.micros
        )
    }
}

/// Seconds since the epoch with six decimals (Zeek's `ts`), clamped like [`UtcTime`].
pub struct EpochSecs(pub Timestamp);

impl std::fmt::Display for EpochSecs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ts = self.0.clamp_rfc3339();
        let micros = ts.nanos.min(999_999_999) / 1000;
        if ts.secs < 0 && micros > 0 {
            // Before 1970 the fraction counts back from the next second up: secs -2 and a
            // quarter second is -1.75.
            write!(
                f,
                "-{}.{:06}",
                (ts.secs + 1).unsigned_abs(),
                1_000_000 - micros
            )
        } else {
            write!(f, "{}.{:06}", ts.secs, micros)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(secs: i64, nanos: u32) -> String {
        UtcTime::from_timestamp(Timestamp { secs, nanos }).to_string()
    }

    #[test]
    fn known_instants() {
        assert_eq!(fmt(0, 0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            fmt(1_727_784_000, 123_456_789),
            "2024-10-01T12:00:00.123456+0000"
        );
        assert_eq!(fmt(951_782_400, 0), "2000-02-29T00:00:00.000000+0000");
        assert_eq!(fmt(-1, 0), "1969-12-31T23:59:59.000000+0000");
        assert_eq!(fmt(4_102_444_800, 0), "2100-01-01T00:00:00.000000+0000");
    }

    #[test]
    fn clamped_to_four_digit_years() {
        assert_eq!(fmt(i64::MAX, 0), "9999-12-31T23:59:59.999999+0000");
        assert_eq!(fmt(253_402_300_800, 0), "9999-12-31T23:59:59.999999+0000");
        assert_eq!(
            fmt(253_402_300_799, 123_000),
            "9999-12-31T23:59:59.000123+0000"
        );
        assert_eq!(fmt(i64::MIN, 5), "0001-01-01T00:00:00.000000+0000");
        assert_eq!(
            fmt(-62_135_596_800, 5_000),
            "0001-01-01T00:00:00.000005+0000"
        );
        assert_eq!(fmt(-62_135_596_801, 0), "0001-01-01T00:00:00.000000+0000");
    }

    #[test]
    fn epoch_seconds() {
        let e = |secs, nanos| EpochSecs(Timestamp { secs, nanos }).to_string();
        assert_eq!(e(1_727_784_000, 123_456_789), "1727784000.123456");
        assert_eq!(e(-2, 250_000_000), "-1.750000");
        assert_eq!(e(-1, 500_000_000), "-0.500000");
        assert_eq!(e(-1, 0), "-1.000000");
        assert_eq!(e(i64::MAX, 0), "253402300799.999999");
        assert_eq!(e(i64::MIN, 0), "-62135596800.000000");
    }
}
