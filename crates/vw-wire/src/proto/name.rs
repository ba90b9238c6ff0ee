//! A fixed-size, stack-held buffer for one domain name in presentation form.
//!
//! DNS names are at most 255 bytes on the wire; in presentation form a byte that is not a
//! printable name character is escaped as `\DDD` (as tshark and dig do), so the text can grow
//! up to four times. 1024 bytes hold any legal name with every byte escaped.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// Capacity of a [`NameBuf`] in bytes.
pub const NAME_CAPACITY: usize = 1024;

/// A domain name (or SNI / Host value) held on the stack, so extracting a name from a packet
/// never touches the heap.
#[derive(Clone)]
pub struct NameBuf {
    bytes: [u8; NAME_CAPACITY],
    len: usize,
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl NameBuf {
    /// An empty name.
    pub const fn new() -> Self {
        NameBuf {
            bytes: [0; NAME_CAPACITY],
            len: 0,
        }
    }

    /// Forget the contents, keeping the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The bytes written so far.
    pub fn as_bytes(&self) -> &[u8] {
        // len never exceeds NAME_CAPACITY: every writer checks before it writes.
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    /// Number of bytes held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Append one byte; `false` (and nothing written) when the buffer is full.
    pub fn push(&mut self, byte: u8) -> bool {
        match self.bytes.get_mut(self.len) {
            Some(slot) => {
                *slot = byte;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Append a slice; `false` (and nothing written) when it does not fit.
    pub fn extend(&mut self, data: &[u8]) -> bool {
        let end = match self.len.checked_add(data.len()) {
            Some(end) if end <= NAME_CAPACITY => end,
            _ => return false,
        };
        match self.bytes.get_mut(self.len..end) {
            Some(slot) => {
                slot.copy_from_slice(data);
                self.len = end;
                true
            }
            None => false,
        }
    }

    /// Replace the contents with `data`; `false` (and the buffer left empty) if it does not fit.
    pub fn set(&mut self, data: &[u8]) -> bool {
        self.clear();
        self.extend(data)
    }

    /// Append one label byte in presentation form: printable name characters as they are,
    /// anything else (including `.` and `\` inside a label) as `\DDD`.
    pub fn push_label_byte(&mut self, byte: u8) -> bool {
        let plain = byte.is_ascii_graphic() && byte != b'.' && byte != b'\\';
        if plain {
            self.push(byte)
        } else {
            let digits = [
                b'\\',
                b'0' + byte / 100,
                b'0' + (byte / 10) % 10,
                b'0' + byte % 10,
            ];
            self.extend(&digits)
        }
    }

    /// The name as text. Names are built from ASCII (escapes included), so this only fails
    /// for a buffer filled with raw non-UTF-8 bytes through [`NameBuf::extend`].
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NameBuf({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

impl PartialEq for NameBuf {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}
impl Eq for NameBuf {}

/// True when a name (an SNI, an HTTP Host) is present and is a name, not an address literal
/// (`203.0.113.7`, `[2001:db8::1]`): an address says nothing the connection's destination
/// does not.
pub fn has_name(name: Option<&[u8]>) -> bool {
    let Some(name) = name else {
        return false;
    };
    let bare = name
        .strip_prefix(b"[")
        .and_then(|n| n.strip_suffix(b"]"))
        .unwrap_or(name);
    if bare.is_empty() {
        return false;
    }
    std::str::from_utf8(bare).map_or(true, |s| s.parse::<std::net::IpAddr>().is_err())
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    #[test]
    fn escapes_unprintable_and_dots() {
        let mut n = NameBuf::new();
        for b in b"a.\x04\\z" {
            assert!(n.push_label_byte(*b));
        }
        assert_eq!(n.as_bytes(), b"a\\046\\004\\092z");
    }

    #[test]
    fn refuses_overflow() {
        let mut n = NameBuf::new();
        assert!(n.extend(&[b'a'; NAME_CAPACITY]));
        assert!(!n.push(b'b'));
        assert!(!n.push_label_byte(0));
        assert_eq!(n.len(), NAME_CAPACITY);
        assert!(!n.set(&[b'a'; NAME_CAPACITY + 1]));
        assert!(n.is_empty());
    }
}
