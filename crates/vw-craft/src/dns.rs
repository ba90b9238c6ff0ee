//! DNS messages: a builder with name compression, and the pieces for hand-made malformed ones.
//!
//! ```
//! use vw_craft::dns::{Dns, Rdata};
//!
//! let query = Dns::query(0x1234).question("upd.example.com", 1).build();
//! let answer = Dns::response(0x1234)
//!     .question("upd.example.com", 1)
//!     .answer("upd.example.com", 300, Rdata::A([192, 0, 2, 1]))
//!     .build();
//! // The answer's owner is a pointer to the question name.
//! assert_eq!(answer.len(), query.len() + 2 + 10 + 4);
//! ```

/// Record data of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rdata<'a> {
    A([u8; 4]),
    Aaaa([u8; 16]),
    /// The target name (compressed like every other name).
    Cname(&'a str),
}

impl Rdata<'_> {
    /// The record type (1, 28, 5).
    pub fn rtype(&self) -> u16 {
        match self {
            Rdata::A(_) => 1,
            Rdata::Aaaa(_) => 28,
            Rdata::Cname(_) => 5,
        }
    }
}

/// A name in wire form, uncompressed: each label with its length, then the root octet.
pub fn name(name: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(name.len() + 2);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        v.push(label.len() as u8);
        v.extend_from_slice(label.as_bytes());
    }
    v.push(0);
    v
}

/// The 12-byte header: `id`, `flags`, the question, answer, authority and additional counts.
pub fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    [id, flags, counts[0], counts[1], counts[2], counts[3]]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect()
}

/// A resource record of class IN; `owner` in wire form (a name or a pointer), `rdata` as is.
pub fn record(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut r = owner.to_vec();
    r.extend_from_slice(&rtype.to_be_bytes());
    r.extend_from_slice(&1u16.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

/// A DNS message built section by section, counts filled in by [`Dns::build`]. Names are
/// compressed as resolvers do: a suffix written before (matched case-insensitively) becomes a
/// pointer to its first spelling, in questions, owners and CNAME targets alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns {
    buf: Vec<u8>,
    /// Question, answer, authority, additional counts.
    counts: [u16; 4],
    /// Names and suffixes written, lowercased, with their offsets.
    seen: Vec<(String, u16)>,
    whole_names: bool,
}

impl Dns {
    /// An empty message with `id` and `flags`.
    pub fn new(id: u16, flags: u16) -> Self {
        Dns {
            buf: header(id, flags, [0; 4]),
            counts: [0; 4],
            seen: Vec::new(),
            whole_names: false,
        }
    }

    /// A standard query with recursion desired (flags 0x0100).
    pub fn query(id: u16) -> Self {
        Dns::new(id, 0x0100)
    }

    /// A response, recursion desired and available, no error (flags 0x8180).
    pub fn response(id: u16) -> Self {
        Dns::new(id, 0x8180)
    }

    /// Compresses only a name written whole before, never a suffix of one.
    pub fn whole_name_pointers(mut self) -> Self {
        self.whole_names = true;
        self
    }

    /// Appends a question for `name` of type `qtype`, class IN.
    pub fn question(mut self, name: &str, qtype: u16) -> Self {
        self.name(name);
        self.buf.extend_from_slice(&qtype.to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
        self.counts[0] += 1;
        self
    }

    /// Appends an answer record for `owner`, class IN.
    pub fn answer(mut self, owner: &str, ttl: u32, rdata: Rdata<'_>) -> Self {
        self.name(owner);
        self.buf.extend_from_slice(&rdata.rtype().to_be_bytes());
        self.buf.extend_from_slice(&1u16.to_be_bytes());
        self.buf.extend_from_slice(&ttl.to_be_bytes());
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0, 0]);
        match rdata {
            Rdata::A(a) => self.buf.extend_from_slice(&a),
            Rdata::Aaaa(a) => self.buf.extend_from_slice(&a),
            Rdata::Cname(target) => self.name(target),
        }
        let rdlen = (self.buf.len() - len_at - 2) as u16;
        self.buf[len_at..len_at + 2].copy_from_slice(&rdlen.to_be_bytes());
        self.counts[1] += 1;
        self
    }

    /// Appends an EDNS0 OPT pseudo-record (UDP payload size 1232) to the additional section.
    pub fn opt(mut self) -> Self {
        self.buf
            .extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        self.counts[3] += 1;
        self
    }

    /// The message.
    pub fn build(&self) -> Vec<u8> {
        let mut m = self.buf.clone();
        for (i, n) in self.counts.iter().enumerate() {
            m[4 + 2 * i..6 + 2 * i].copy_from_slice(&n.to_be_bytes());
        }
        m
    }

    /// Writes `name`, its first suffix already written as a pointer.
    fn name(&mut self, name: &str) {
        let labels: Vec<&str> = name.split('.').filter(|l| !l.is_empty()).collect();
        for (i, label) in labels.iter().enumerate() {
            if i == 0 || !self.whole_names {
                let suffix = labels[i..].join(".").to_ascii_lowercase();
                if let Some(&(_, at)) = self.seen.iter().find(|(s, _)| *s == suffix) {
                    self.buf.extend_from_slice(&(0xc000 | at).to_be_bytes());
                    return;
                }
                let at = self.buf.len();
                if at < 0x3fff {
                    self.seen.push((suffix, at as u16));
                }
            }
            self.buf.push(label.len() as u8);
            self.buf.extend_from_slice(label.as_bytes());
        }
        self.buf.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_or_whole_names() {
        let m = |d: Dns| {
            d.question("a.example.net", 1)
                .answer("a.example.net", 60, Rdata::Cname("b.example.net"))
                .answer("b.example.net", 60, Rdata::A([192, 0, 2, 1]))
                .build()
        };
        let suffixes = m(Dns::response(1));
        let whole = m(Dns::response(1).whole_name_pointers());
        // The CNAME target: "b" then a pointer to "example.net", or written out.
        let target_at = 12 + 15 + 4 + 2 + 10;
        assert_eq!(&suffixes[target_at..target_at + 4], &[1, b'b', 0xc0, 14]);
        assert_eq!(
            &whole[target_at..target_at + 15],
            &name("b.example.net")[..]
        );
        // Its owner in the next answer points at it either way.
        assert_eq!(
            &suffixes[target_at + 4..target_at + 6],
            &[0xc0, target_at as u8]
        );
        assert_eq!(
            &whole[target_at + 15..target_at + 17],
            &[0xc0, target_at as u8]
        );
        assert_eq!(&suffixes[4..12], &[0, 1, 0, 2, 0, 0, 0, 0]);
    }
}
