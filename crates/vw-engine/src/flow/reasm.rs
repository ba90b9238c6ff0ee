//! One direction's reassembly buffer: bytes placed by offset from a base sequence number,
//! with the filled ranges kept sorted. Overlap policy: **first wins** — a byte already held is
//! never overwritten by a later segment (retransmission, overlap with different content), as
//! the first copy is the one a receiver most likely accepted. Overlapping bytes are counted.

fn copy(data: &mut [u8], from: usize, to: usize, offset: usize, bytes: &[u8]) {
    if let (Some(dst), Some(src)) = (
        data.get_mut(from..to),
        bytes.get(from - offset..to - offset),
    ) {
        dst.copy_from_slice(src);
    }
}

/// Held bytes of one direction, relative to the direction's base sequence number.
#[derive(Debug, Default)]
pub struct Reasm {
    data: Vec<u8>,
    /// Filled `[start, end)` offsets, sorted, disjoint, not adjacent.
    ranges: Vec<(usize, usize)>,
}

impl Reasm {
    /// Bytes of memory this buffer accounts for.
    pub fn held(&self) -> usize {
        self.data.len()
    }

    /// Place `bytes` at `offset`. Returns how many of its bytes were already held (and kept).
    pub fn insert(&mut self, offset: usize, bytes: &[u8]) -> usize {
        let end = offset + bytes.len();
        if bytes.is_empty() {
            return 0;
        }
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        // Copy only into the gaps between held ranges (first wins).
        let mut overlap = 0;
        let mut pos = offset;
        let data = &mut self.data;
        for &(s, e) in &self.ranges {
            if e <= pos {
                continue;
            }
            if s >= end {
                break;
            }
            if s > pos {
                copy(data, pos, s, offset, bytes);
            }
            overlap += e.min(end) - s.max(pos);
            pos = pos.max(e);
            if pos >= end {
                break;
            }
        }
        if pos < end {
            copy(data, pos, end, offset, bytes);
        }
        self.add_range(offset, end);
        overlap
    }

    fn add_range(&mut self, start: usize, end: usize) {
        let mut s = start;
        let mut e = end;
        let mut out_at = self.ranges.len();
        let mut i = 0;
        while i < self.ranges.len() {
            let (rs, re) = self.ranges[i];
            if re < s {
                i += 1;
                continue;
            }
            if rs > e {
                out_at = i;
                break;
            }
            s = s.min(rs);
            e = e.max(re);
            self.ranges.remove(i);
            out_at = i;
        }
        let at = out_at.min(self.ranges.len());
        self.ranges.insert(at, (s, e));
    }

    /// The contiguous bytes from offset 0 (empty if offset 0 is missing).
    pub fn prefix(&self) -> &[u8] {
        match self.ranges.first() {
            Some(&(0, e)) => self.data.get(..e).unwrap_or(&[]),
            _ => &[],
        }
    }

    /// Drop the first `n` bytes (consumed); offsets shift down by `n`.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.data.len());
        self.data.drain(..n);
        self.ranges.retain_mut(|r| {
            r.0 = r.0.saturating_sub(n);
            r.1 = r.1.saturating_sub(n);
            r.1 > r.0
        });
    }

    /// Shift everything up by `n` (a segment arrived before the base: the base moves back).
    pub fn rebase_up(&mut self, n: usize) {
        self.data.splice(0..0, std::iter::repeat_n(0u8, n));
        for r in &mut self.ranges {
            r.0 += n;
            r.1 += n;
        }
    }

    /// Number of separate filled ranges.
    pub fn pieces(&self) -> usize {
        self.ranges.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_wins_and_merges() {
        let mut r = Reasm::default();
        assert_eq!(r.insert(4, b"EFGH"), 0);
        assert_eq!(r.prefix(), b"");
        assert_eq!(r.insert(2, b"xxyy"), 2); // bytes 4,5 kept as E,F
        assert_eq!(r.insert(0, b"AB"), 0);
        assert_eq!(r.prefix(), b"ABxxEFGH");
        assert_eq!(r.pieces(), 1);
        r.consume(3);
        assert_eq!(r.prefix(), b"xEFGH");
        assert_eq!(r.insert(10, b"Z"), 0);
        assert_eq!(r.pieces(), 2);
        r.rebase_up(2);
        assert_eq!(r.insert(0, b"12"), 0);
        assert_eq!(r.prefix(), b"12xEFGH");
    }
}
