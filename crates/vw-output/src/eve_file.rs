//! Writing EVE lines whole: a record either reaches the output complete or not at all, and only
//! complete records are counted written.
//!
//! A full disk takes part of a `write(2)` and refuses the rest, which leaves half a JSON line
//! at the end of the file (and a parser downstream choking on it, or the next run's first
//! record glued to it). When the output is a regular file, [`write_lines`] cuts such a line
//! off again (`set_len` back to the last newline that reached the file). Where bytes cannot
//! be taken back (a pipe, a terminal, `/dev/full`), the records that reached it whole are
//! still counted exactly.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsFd;

/// Where EVE lines go: bytes, plus the regular file behind them, if any.
pub trait EveWrite: Write + Send {
    /// Called before each write of whole lines (and at idle moments): a reopen asked for
    /// (SIGHUP, logrotate) is done here, never in the middle of a write.
    fn reopen_if_asked(&mut self) {}

    /// The regular file the lines go to; `None` when the output is not one (a pipe, a
    /// terminal, a device, a test's buffer): bytes there cannot be taken back.
    fn regular_file(&self) -> Option<&File>;

    /// Reopens that failed so far (the file opened before is still written).
    fn reopen_failures(&self) -> u64 {
        0
    }
}

impl EveWrite for File {
    fn regular_file(&self) -> Option<&File> {
        self.metadata().is_ok_and(|m| m.is_file()).then_some(self)
    }
}

/// Any writer without a file behind it (benches, tests, `io::sink()`).
pub struct Stream<W>(pub W);

impl<W: Write> Write for Stream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write + Send> EveWrite for Stream<W> {
    fn regular_file(&self) -> Option<&File> {
        None
    }
}

/// Standard output as a file of its own (a duplicate of descriptor 1, sharing its offset and
/// flags): written without a second buffer, and when it is redirected to a regular file
/// (`> eve.json`) a line cut short can be cut off there too.
pub fn stdout_file() -> io::Result<File> {
    Ok(File::from(io::stdout().as_fd().try_clone_to_owned()?))
}

/// Write `lines` (`count` whole lines, each ending in its only `\n`) to `w`. Returns how many
/// of them reached it whole and the error that stopped the rest, if any. When a line was cut short
/// and `w` is a regular file that this write extended at its end, the file is cut back to
/// its last whole line (a failure to do so is added to the error).
pub fn write_lines(w: &mut dyn EveWrite, lines: &[u8], count: u64) -> (u64, Option<io::Error>) {
    w.reopen_if_asked();
    if lines.is_empty() {
        return (0, w.flush().err());
    }
    let start = w
        .regular_file()
        .and_then(|f| f.metadata().ok())
        .map(|m| m.len());
    let mut written = 0;
    let mut error = None;
    while written < lines.len() {
        match w.write(&lines[written..]) {
            Ok(0) => {
                error = Some(io::Error::from(io::ErrorKind::WriteZero));
                break;
            }
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let error = error.or_else(|| w.flush().err());
    let Some(error) = error else {
        return (count, None);
    };
    let whole = lines[..written]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut error = error;
    if whole < written
        && let (Some(start), Some(file)) = (start, w.regular_file())
        && let Err(e) = cut_back(file, start, written as u64, whole as u64)
    {
        error = io::Error::new(
            error.kind(),
            format!("{error}; removing the line cut short failed: {e}"),
        );
    }
    let reached = lines[..whole].iter().filter(|&&b| b == b'\n').count();
    (reached as u64, Some(error))
}

/// The file grew from `start` by exactly `written` bytes (ours, at its end): cut it to
/// `start + whole` and put the offset there. Left alone when something else changed it.
fn cut_back(file: &File, start: u64, written: u64, whole: u64) -> io::Result<()> {
    if file.metadata()?.len() != start + written {
        return Ok(());
    }
    file.set_len(start + whole)?;
    let mut f = file;
    f.seek(SeekFrom::Start(start + whole)).map(drop)
}

/// A writer for tests that takes `room` more bytes, then fails as a full disk does.
#[cfg(test)]
pub(crate) struct Full<W> {
    pub inner: W,
    pub room: usize,
}

#[cfg(test)]
impl<W: Write> Write for Full<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.room == 0 {
            return Err(io::Error::from(io::ErrorKind::StorageFull));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        self.inner.write(&buf[..n])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl EveWrite for Full<File> {
        fn regular_file(&self) -> Option<&File> {
            self.inner.regular_file()
        }
    }

    /// The line cut short is cut off the file; the whole lines stay and are counted.
    #[test]
    fn a_line_cut_short_is_cut_off_a_regular_file() {
        let path = std::env::temp_dir().join(format!("vw-eve-file-{}", std::process::id()));
        std::fs::write(&path, b"old\n").unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let mut w = Full {
            inner: file,
            room: 13,
        };
        let (n, e) = write_lines(&mut w, b"one\ntwo\nthree\nfour\n", 4);
        assert_eq!(n, 2);
        assert_eq!(e.map(|e| e.kind()), Some(io::ErrorKind::StorageFull));
        assert_eq!(std::fs::read(&path).unwrap(), b"old\none\ntwo\n");
        let _ = std::fs::remove_file(&path);
    }
}
