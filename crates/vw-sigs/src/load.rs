//! Reading signature input within bounds: pack files and `domains_file` lists are read only
//! when they are regular files under a size limit (`--max-pack-size`, `--max-list-size`), and
//! lists are read as a stream, a bounded line at a time. A hostile or mistaken path
//! (`/dev/zero`, a FIFO, a 2 GB file, `/etc/shadow`) costs an error, not the machine's memory,
//! and is not echoed back.

use super::error::SigError;
use super::pattern::{parse_domain, split_canonical};
use super::text::excerpt;
use std::path::Path;

/// Default of [`LoadLimits::max_pack_mib`]: far above any hand-written pack (the bundled ones
/// are a few KiB), low enough that parsing the largest accepted pack stays in the hundreds of
/// MB (the TOML parser's tree of one part of a pack is about 30 times its text).
pub const DEFAULT_MAX_PACK_MIB: u64 = 16;
/// Default of [`LoadLimits::max_list_mib`]: a list of about 15 million names (a 5-million-name
/// feed is 160 MB); each name loaded costs about 4 times its line.
pub const DEFAULT_MAX_LIST_MIB: u64 = 512;
/// Longest line of a `domains_file`, in bytes: a pattern is at most 253 characters, so a longer
/// line (a file that is no list) is reported without being held whole.
pub const MAX_LIST_LINE: usize = 4096;
/// Bad lines of one `domains_file` reported one by one; the rest are counted in one error, so a
/// file that is no list (a binary, `/etc/shadow`) is not echoed back line by line.
pub const MAX_BAD_LINES_SHOWN: usize = 10;

/// How much signature input [`crate::RuleSet::load_with`] reads: the largest pack file and the
/// largest `domains_file`, in MiB (`--max-pack-size`, `--max-list-size`). A file over its
/// limit is an error naming the option, read no further.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadLimits {
    /// Largest pack (TOML) file, in MiB.
    pub max_pack_mib: u64,
    /// Largest `domains_file` list, in MiB.
    pub max_list_mib: u64,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits {
            max_pack_mib: DEFAULT_MAX_PACK_MIB,
            max_list_mib: DEFAULT_MAX_LIST_MIB,
        }
    }
}

/// A file the loader may read: regular (a FIFO or device would block or never end), at most
/// `max_mib` MiB, and read through a `take` so one that grows while read stops at the limit.
struct Bounded {
    reader: std::io::Take<std::fs::File>,
    /// The limit in bytes; reading more than this means the file is too large.
    limit: u64,
    /// Its size when opened.
    len: u64,
}

/// Why a file is not read.
pub(crate) enum Refused {
    Io(std::io::Error),
    NotRegular,
    /// Over the limit: its size, or `None` when it grew past the limit while read.
    TooLarge(Option<u64>),
}

impl Refused {
    /// What to say after the file's name; `option` is the flag that raises the limit.
    pub(crate) fn describe(&self, max_mib: u64, option: &str) -> String {
        match self {
            Refused::Io(e) => e.to_string(),
            Refused::NotRegular => "not a regular file".into(),
            Refused::TooLarge(Some(len)) => {
                format!("larger than {max_mib} MiB ({len} bytes); raise {option} to read it")
            }
            Refused::TooLarge(None) => {
                format!("larger than {max_mib} MiB (it grew while read); raise {option} to read it")
            }
        }
    }
}

impl Bounded {
    /// Open `path` if it is a regular file of at most `max_mib` MiB.
    fn open(path: &Path, max_mib: u64) -> Result<Bounded, Refused> {
        use std::io::Read as _;
        let limit = max_mib.saturating_mul(1 << 20);
        let check = |meta: std::fs::Metadata| {
            if !meta.is_file() {
                Err(Refused::NotRegular)
            } else if meta.len() > limit {
                Err(Refused::TooLarge(Some(meta.len())))
            } else {
                Ok(meta.len())
            }
        };
        // Checked before opening (opening a FIFO blocks until someone writes to it), and
        // again on what was opened, in case the path was replaced in between.
        check(std::fs::metadata(path).map_err(Refused::Io)?)?;
        let file = std::fs::File::open(path).map_err(Refused::Io)?;
        let len = check(file.metadata().map_err(Refused::Io)?)?;
        Ok(Bounded {
            reader: file.take(limit.saturating_add(1)),
            limit,
            len,
        })
    }
}

/// A pack file's text, at most `max_mib` MiB; the error is what to say after its name.
pub(crate) fn read_pack(path: &Path, max_mib: u64) -> Result<String, String> {
    use std::io::Read as _;
    let describe = |r: Refused| match r {
        Refused::Io(e) => format!("cannot read: {e}"),
        other => other.describe(max_mib, "--max-pack-size"),
    };
    let mut file = Bounded::open(path, max_mib).map_err(describe)?;
    let mut text = String::with_capacity(usize::try_from(file.len).unwrap_or(0));
    file.reader
        .read_to_string(&mut text)
        .map_err(|e| describe(Refused::Io(e)))?;
    if text.len() as u64 > file.limit {
        return Err(describe(Refused::TooLarge(None)));
    }
    Ok(text)
}

/// Read a `domains_file`: one pattern per line, `#` comments, as a stream, line by line,
/// never more than `max_mib` MiB nor a line of more than [`MAX_LIST_LINE`] bytes held; only a
/// regular file is read. Returns (canonical pattern, line, col) items. A bad line is reported
/// against the list file, quoted as a short escaped excerpt, and after
/// [`MAX_BAD_LINES_SHOWN`] of them the rest are only counted: a file that is not a list is
/// not echoed back. A file that cannot be read (or grew over the limit) is the `Err`, with no
/// line reported.
pub(crate) fn read_list(
    path: &Path,
    max_mib: u64,
    errors: &mut Vec<SigError>,
) -> Result<Vec<(String, u32, u32)>, Refused> {
    use std::io::{BufRead as _, Read as _};
    let file = Bounded::open(path, max_mib)?;
    let limit = file.limit;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.reader);
    let mut items = Vec::with_capacity(usize::try_from(file.len / 24).unwrap_or(0));
    let before = errors.len();
    let mut bad = 0usize;
    let mut report = |errors: &mut Vec<SigError>, line: usize, col: usize, message: String| {
        bad += 1;
        if bad <= MAX_BAD_LINES_SHOWN {
            errors.push(SigError {
                file: path.to_path_buf(),
                line,
                col,
                message,
            });
        }
    };
    let mut buf = Vec::with_capacity(256);
    let mut read = 0u64;
    let mut number = 0usize;
    loop {
        buf.clear();
        let line_limit = MAX_LIST_LINE as u64 + 1;
        let n = match (&mut reader).take(line_limit).read_until(b'\n', &mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                errors.truncate(before);
                return Err(Refused::Io(e));
            }
        };
        read += n as u64;
        number += 1;
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        } else if n as u64 == line_limit {
            // The rest of the line is skipped unread into memory.
            match reader.skip_until(b'\n') {
                Ok(skipped) => read += skipped as u64,
                Err(e) => {
                    errors.truncate(before);
                    return Err(Refused::Io(e));
                }
            }
            let start = buf.iter().take_while(|b| matches!(b, b' ' | b'\t')).count();
            let text = String::from_utf8_lossy(&buf[start..]);
            report(
                errors,
                number,
                start + 1,
                format!(
                    "invalid domain pattern \"{}\": the line is longer than {MAX_LIST_LINE} bytes",
                    excerpt(&text)
                ),
            );
            continue;
        }
        let line = match std::str::from_utf8(&buf) {
            Ok(line) => line,
            Err(e) => {
                let valid = buf.get(..e.valid_up_to()).unwrap_or_default();
                let col = std::str::from_utf8(valid).map_or(1, |p| p.chars().count() + 1);
                report(
                    errors,
                    number,
                    col,
                    format!(
                        "the line is not UTF-8: \"{}\"",
                        excerpt(String::from_utf8_lossy(&buf).trim())
                    ),
                );
                continue;
            }
        };
        let body = line.split('#').next().unwrap_or_default();
        let trimmed = body.trim();
        if trimmed.is_empty() {
            continue;
        }
        let offset = trimmed.as_ptr() as usize - line.as_ptr() as usize;
        let col = line.get(..offset).map_or(1, |p| p.chars().count() + 1);
        let canonical = match split_canonical(trimmed) {
            Some(_) => Ok(trimmed.to_string()),
            None => parse_domain(trimmed).map(|p| p.canonical),
        };
        match canonical {
            Ok(c) => items.push((c, number as u32, col as u32)),
            Err(e) => report(
                errors,
                number,
                col,
                format!("invalid domain pattern \"{}\": {e}", excerpt(trimmed)),
            ),
        }
    }
    if read > limit {
        errors.truncate(before);
        return Err(Refused::TooLarge(None));
    }
    if bad > MAX_BAD_LINES_SHOWN {
        errors.push(SigError {
            file: path.to_path_buf(),
            line: 0,
            col: 0,
            message: format!(
                "{} more invalid line(s) not shown",
                bad - MAX_BAD_LINES_SHOWN
            ),
        });
    }
    Ok(items)
}
