//! A minimal JSON writer into a reused byte buffer.
//!
//! EVE records are flat and few-keyed; writing them directly is faster than building a
//! `serde_json::Value` and allocates nothing once the buffer has grown to its working size.

/// Deepest nesting a record may use.
const MAX_DEPTH: usize = 16;

/// Builds one JSON document at a time into a buffer that is reused between records.
pub struct JsonWriter {
    out: Vec<u8>,
    /// Per open container: has it received a member yet (so the next needs a comma)?
    has_member: [bool; MAX_DEPTH],
    depth: usize,
    /// The last thing written was a key: the value that follows takes no comma.
    after_key: bool,
}

impl Default for JsonWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl JsonWriter {
    /// An empty writer with room for a typical record.
    pub fn new() -> Self {
        JsonWriter {
            out: Vec::with_capacity(2048),
            has_member: [false; MAX_DEPTH],
            depth: 0,
            after_key: false,
        }
    }

    /// Start a new document, dropping the previous one but keeping the buffer.
    pub fn reset(&mut self) {
        self.out.clear();
        self.depth = 0;
        self.after_key = false;
    }

    /// The document written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    fn before_value(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if self.depth > 0 {
            let slot = &mut self.has_member[self.depth - 1];
            if *slot {
                self.out.push(b',');
            }
            *slot = true;
        }
    }

    fn open(&mut self, bracket: u8) {
        self.before_value();
        self.out.push(bracket);
        if self.depth < MAX_DEPTH {
            self.has_member[self.depth] = false;
        }
        self.depth = (self.depth + 1).min(MAX_DEPTH);
    }

    fn close(&mut self, bracket: u8) {
        self.out.push(bracket);
        self.depth = self.depth.saturating_sub(1);
    }

    /// `{`
    pub fn begin_object(&mut self) {
        self.open(b'{');
    }
    /// `}`
    pub fn end_object(&mut self) {
        self.close(b'}');
    }
    /// `[`
    pub fn begin_array(&mut self) {
        self.open(b'[');
    }
    /// `]`
    pub fn end_array(&mut self) {
        self.close(b']');
    }

    /// An object key; the next call writes its value.
    pub fn key(&mut self, key: &str) {
        self.before_value();
        self.write_escaped(key.as_bytes());
        self.out.push(b':');
        self.after_key = true;
    }

    /// A string value.
    pub fn str(&mut self, value: &str) {
        self.bytes_as_str(value.as_bytes());
    }

    /// A string value from raw bytes: ASCII as is, other bytes as `\u00XX` (Latin-1), so
    /// names taken from hostile packets always give valid JSON.
    pub fn bytes_as_str(&mut self, value: &[u8]) {
        self.before_value();
        self.write_escaped(value);
    }

    /// An unsigned integer value.
    pub fn u64(&mut self, value: u64) {
        self.before_value();
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut v = value;
        loop {
            at -= 1;
            digits[at] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&digits[at..]);
    }

    /// A boolean value.
    pub fn bool(&mut self, value: bool) {
        self.before_value();
        self.out
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    /// Pre-formatted text written as a string value (used for timestamps and addresses, which
    /// are formatted with `std::fmt` straight into the buffer).
    pub fn fmt_str(&mut self, args: std::fmt::Arguments<'_>) {
        use std::io::Write;
        self.before_value();
        self.out.push(b'"');
        // Writing into a Vec cannot fail.
        let _ = self.out.write_fmt(args);
        self.out.push(b'"');
    }

    /// Pre-formatted number written as is (the caller guarantees it is a JSON number).
    pub fn raw_number(&mut self, args: std::fmt::Arguments<'_>) {
        use std::io::Write;
        self.before_value();
        let _ = self.out.write_fmt(args);
    }

    /// `"key": "value"`.
    pub fn field_str(&mut self, key: &str, value: &str) {
        self.key(key);
        self.str(value);
    }

    /// `"key": value`.
    pub fn field_u64(&mut self, key: &str, value: u64) {
        self.key(key);
        self.u64(value);
    }

    /// `"key": true|false`.
    pub fn field_bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.bool(value);
    }

    /// `"key": ["value"]`: EVE metadata values are arrays of strings.
    pub fn field_str_array1(&mut self, key: &str, value: &str) {
        self.key(key);
        self.begin_array();
        self.str(value);
        self.end_array();
    }

    /// `"key": ["a", "b", ...]`.
    pub fn field_str_array(&mut self, key: &str, values: &[String]) {
        self.key(key);
        self.begin_array();
        for v in values {
            self.str(v);
        }
        self.end_array();
    }

    fn write_escaped(&mut self, value: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.out.push(b'"');
        // Runs of bytes that need no escape (nearly all of every record) are copied whole.
        let mut rest = value;
        while let Some(at) = rest.iter().position(|&b| needs_escape(b)) {
            let (plain, tail) = rest.split_at(at);
            self.out.extend_from_slice(plain);
            let Some((&b, tail)) = tail.split_first() else {
                break;
            };
            rest = tail;
            match b {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x20..=0x7e => self.out.push(b),
                _ => self.out.extend_from_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 0xf)],
                ]),
            }
        }
        self.out.extend_from_slice(rest);
        self.out.push(b'"');
    }
}

/// Bytes written other than as they are: quote, backslash, controls and non-ASCII.
#[inline]
fn needs_escape(b: u8) -> bool {
    !(0x20..=0x7e).contains(&b) || b == b'"' || b == b'\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_document_with_escapes() {
        let mut j = JsonWriter::new();
        j.begin_object();
        j.field_str("a", "x\"y\\z");
        j.key("b");
        j.begin_array();
        j.u64(0);
        j.u64(18446744073709551615);
        j.begin_object();
        j.end_object();
        j.end_array();
        j.key("c");
        j.bytes_as_str(b"\x01\xff");
        j.field_bool("d", false);
        j.end_object();
        assert_eq!(
            std::str::from_utf8(j.as_bytes()).unwrap(),
            r#"{"a":"x\"y\\z","b":[0,18446744073709551615,{}],"c":"\u0001\u00ff","d":false}"#
        );
        j.reset();
        j.begin_array();
        j.str("again");
        j.end_array();
        assert_eq!(j.as_bytes(), br#"["again"]"#);
    }
}
