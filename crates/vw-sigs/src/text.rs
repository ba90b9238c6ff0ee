//! Text from packs and list files, made safe to print: a pack is data, and a name holding
//! ESC or BEL must not drive the terminal of whoever runs `sigs check`, nor may one bad line
//! of 20 KB (or a whole file that is not a list) come back in error messages.

use std::borrow::Cow;

/// Characters of input quoted in an error message before it is cut with `...`: a domain
/// name's worth of context; the `line:col` before it says where the rest is.
pub const EXCERPT_CHARS: usize = 64;

/// `c` escaped as Rust's `escape_debug` writes it (`\u{1b}`, `\r`), when it is a control
/// character or one that is invisible or reorders text (bidi overrides, zero-width); `None`
/// for a character that prints as itself. A combining mark (`\u{301}`) prints as itself: it
/// is asked about after a letter, where `str::escape_debug` leaves such marks alone.
fn escaped(c: char) -> Option<std::char::EscapeDebug> {
    if c.is_ascii() {
        return (c.is_ascii_control()).then(|| c.escape_debug());
    }
    let mut buf = [0u8; 5];
    buf[0] = b'a';
    let len = 1 + c.encode_utf8(&mut buf[1..]).len();
    let pair = std::str::from_utf8(&buf[..len]).unwrap_or("a");
    (pair.escape_debug().nth(1) == Some('\\')).then(|| c.escape_debug())
}

/// `s` with control and invisible characters escaped (`\u{1b}`), everything else as written:
/// for names, versions and paths shown by `sigs check`, `sigs list` and the summary.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| escaped(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match escaped(c) {
            Some(e) => out.extend(e),
            None => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters of a path quoted in an error message (a path written in a pack may be anything;
/// the system's own limit is 4096 bytes).
pub const PATH_CHARS: usize = 1024;

/// At most [`EXCERPT_CHARS`] characters of `s`, escaped as [`printable`] does and with `"` and
/// `\` escaped too (so it reads unambiguously between quotes), then `...` if it was cut: how
/// an error message quotes a value or line from a pack or list file.
pub fn excerpt(s: &str) -> String {
    excerpt_of(s, EXCERPT_CHARS)
}

/// A path named by a pack, as [`excerpt`] quotes a value but cut at [`PATH_CHARS`].
pub fn excerpt_path(path: &std::path::Path) -> String {
    excerpt_of(&path.to_string_lossy(), PATH_CHARS)
}

fn excerpt_of(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars * 2) + 3);
    let mut chars = s.chars();
    for c in chars.by_ref().take(max_chars) {
        match escaped(c) {
            Some(e) => out.extend(e),
            None if matches!(c, '\\' | '"') => {
                out.push('\\');
                out.push(c);
            }
            None => out.push(c),
        }
    }
    if chars.next().is_some() {
        out.push_str("...");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_controls_and_invisible_characters_only() {
        assert!(matches!(printable("Kaspersky Lab"), Cow::Borrowed(_)));
        assert!(matches!(printable("bücher.de \"q\" \\"), Cow::Borrowed(_)));
        assert_eq!(printable("a\u{1b}[31mb\u{7}"), "a\\u{1b}[31mb\\u{7}");
        assert_eq!(printable("cr\r lf\n tab\t"), "cr\\r lf\\n tab\\t");
        assert_eq!(
            printable("rlo\u{202e}zw\u{200b}"),
            "rlo\\u{202e}zw\\u{200b}"
        );
        assert_eq!(printable("c1\u{9b}"), "c1\\u{9b}");
        // A combining mark stays, even first.
        assert!(matches!(printable("\u{301}k.com"), Cow::Borrowed(_)));
    }

    #[test]
    fn excerpt_is_short_escaped_and_marks_the_cut() {
        assert_eq!(excerpt("bad..name"), "bad..name");
        assert_eq!(excerpt("q\"b\\\u{0}"), "q\\\"b\\\\\\0");
        let long = format!("\u{1b}{}", "é".repeat(10_000));
        let e = excerpt(&long);
        assert!(e.starts_with("\\u{1b}éé"));
        assert!(e.ends_with("é..."));
        assert_eq!(e.chars().count(), "\\u{1b}".len() + EXCERPT_CHARS - 1 + 3);
        let exact = "x".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&exact), exact);
    }
}
