//! Packet time as a reader sees it: which packets carry a time that cannot be written
//! (outside years 0001..=9999) or that jumps away from the packets around it. Only a verdict:
//! every packet is still processed with its own time. The reader counts the verdicts; the
//! suppression table keeps its own clock of hit times, so that one bogus stamp does not make
//! it evict every key.

use super::Timestamp;

/// A packet more than this far (either way) from the clock is a jump. Generous: captures
/// pause overnight; a day is not a clock error, a century is.
pub const MAX_JUMP_SECS: u64 = 86_400;

/// What [`PacketClock::step`] made of one packet's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeCheck {
    /// Within [`MAX_JUMP_SECS`] of the clock (or the first): the clock follows it.
    InLine,
    /// Outside years 0001..=9999 ([`Timestamp::in_rfc3339_range`]): the clock stays.
    OutOfRange,
    /// Further than [`MAX_JUMP_SECS`] from the clock.
    Jump,
}

/// Follows packet time through one input (or one live run).
///
/// The clock follows each packet within [`MAX_JUMP_SECS`] of it. A packet further away is a
/// jump and is remembered; if the next packet agrees with it (within the same bound) the clock
/// moves there (a real gap or clock step: one jump), otherwise the clock stays (one bogus
/// stamp: one jump).
#[derive(Debug, Clone, Copy, Default)]
pub struct PacketClock {
    /// Seconds of the last packet in line with the clock.
    now: Option<i64>,
    /// Seconds of the last packet that jumped away, not yet confirmed by the next.
    jumped_to: Option<i64>,
}

impl PacketClock {
    /// Take one packet's time.
    #[inline]
    pub fn step(&mut self, ts: Timestamp) -> TimeCheck {
        // Most packets share the second of the one before (a second the clock took, so in
        // range): one compare.
        if self.now == Some(ts.secs) && ts.nanos < 1_000_000_000 {
            self.jumped_to = None;
            return TimeCheck::InLine;
        }
        if !ts.in_rfc3339_range() {
            return TimeCheck::OutOfRange;
        }
        let near = |t: Option<i64>| t.is_some_and(|t| t.abs_diff(ts.secs) <= MAX_JUMP_SECS);
        if self.now.is_none() || near(self.now) || near(self.jumped_to) {
            self.now = Some(ts.secs);
            self.jumped_to = None;
            TimeCheck::InLine
        } else {
            self.jumped_to = Some(ts.secs);
            TimeCheck::Jump
        }
    }

    /// Seconds of the last packet in line with the clock; `None` before the first.
    pub fn now(&self) -> Option<i64> {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (jumps, out of range) over packets at `secs`, and where the clock ends.
    fn run(secs: &[i64]) -> (usize, usize, Option<i64>) {
        let mut clock = PacketClock::default();
        let checks: Vec<TimeCheck> = secs
            .iter()
            .map(|&secs| clock.step(Timestamp { secs, nanos: 0 }))
            .collect();
        let count = |c| checks.iter().filter(|&&x| x == c).count();
        (
            count(TimeCheck::Jump),
            count(TimeCheck::OutOfRange),
            clock.now(),
        )
    }

    const T: i64 = 1_727_784_000;
    const Y2106: i64 = 4_291_747_200;

    #[test]
    fn one_bogus_stamp_is_one_jump() {
        assert_eq!(
            run(&[T, T + 10, Y2106, T + 20, T + 4000]),
            (1, 0, Some(T + 4000))
        );
        // Backwards too; and as the first packet.
        assert_eq!(run(&[T, 0, T + 1, T + 2]), (1, 0, Some(T + 2)));
        assert_eq!(run(&[Y2106, T, T + 1]), (1, 0, Some(T + 1)));
        assert_eq!(run(&[T, Y2106]), (1, 0, Some(T)));
    }

    #[test]
    fn a_real_gap_is_one_jump_and_the_clock_follows() {
        let later = T + 10 * 86_400;
        assert_eq!(
            run(&[T, T + 1, later, later + 5, later + 9]),
            (1, 0, Some(later + 9))
        );
        // Small steps back and forth (merged interfaces) and a day's pause are not jumps.
        assert_eq!(run(&[T, T - 1, T + 2, T + 86_400, T + 86_399]).0, 0);
    }

    #[test]
    fn out_of_range_leaves_the_clock() {
        assert_eq!(
            run(&[T, i64::MAX, T + 1, i64::MIN, T + 2]),
            (0, 2, Some(T + 2))
        );
        assert_eq!(run(&[i64::MAX]), (0, 1, None));
    }
}
