//! EVE timestamps (`2024-10-01T12:00:00.123456+0000`), formatted without a date library:
//! the civil-from-days conversion is a few lines and runs only when a record is written.

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
    /// Split a capture timestamp into calendar fields (Howard Hinnant's civil_from_days).
    pub fn from_timestamp(ts: Timestamp) -> Self {
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
}
