//! An EVE file that can be reopened by path (SIGHUP, for logrotate): after the flag is set, the
//! next write goes to a file opened anew at the same path (appending, created if missing).
//! When that open fails (the sensor runs as `--user nobody` and the directory is root's), the
//! file opened before stays in use: the failure is printed and counted, and the next SIGHUP
//! tries again. A sensor keeps running and keeps its records.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::eve_file::EveWrite;

/// Open an EVE file as Suricata does (`append: yes`): created when missing, appended to
/// otherwise, so a restart or a second scan never erases records a pipeline has not shipped.
/// A file that ends in half a line (a crash, another writer) gets a newline first, so the
/// first record written is a line of its own.
pub fn open_eve(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let meta = file.metadata()?;
    if meta.is_file() && meta.len() > 0 {
        // Read apart (the file may be write-only to us): a pipe or device is never read.
        let mut last = [0u8];
        let read = File::open(path).and_then(|r| r.read_exact_at(&mut last, meta.len() - 1));
        if read.is_ok() && last[0] != b'\n' {
            (&file).write_all(b"\n")?;
        }
    }
    Ok(file)
}

/// A file sink that reopens its path when `reopen` is set.
pub struct ReopenableFile {
    path: PathBuf,
    file: File,
    reopen: Arc<AtomicBool>,
    failures: u64,
}

impl ReopenableFile {
    /// Open the file at `path` for appending (see [`open_eve`]).
    pub fn create(path: PathBuf, reopen: Arc<AtomicBool>) -> io::Result<Self> {
        let file = open_eve(&path)?;
        Ok(ReopenableFile {
            path,
            file,
            reopen,
            failures: 0,
        })
    }
}

impl EveWrite for ReopenableFile {
    fn reopen_if_asked(&mut self) {
        if !self.reopen.swap(false, Ordering::Relaxed) {
            return;
        }
        match open_eve(&self.path) {
            Ok(file) => self.file = file,
            Err(e) => {
                self.failures += 1;
                eprintln!(
                    "vendorwatch: {}: cannot reopen the EVE file: {e}; still writing to the file opened before (retried at the next SIGHUP)",
                    self.path.display()
                );
            }
        }
    }

    fn regular_file(&self) -> Option<&File> {
        self.file.regular_file()
    }

    fn reopen_failures(&self) -> u64 {
        self.failures
    }
}

impl Write for ReopenableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The directory of the EVE file is gone when SIGHUP asks for a reopen (a failure even
    /// root meets): the write still succeeds, into the file opened before.
    #[test]
    fn failed_reopen_keeps_writing_the_old_file() {
        let dir = std::env::temp_dir().join(format!("vw-reopen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sub = dir.join("logs");
        std::fs::create_dir_all(&sub).unwrap();
        let reopen = Arc::new(AtomicBool::new(false));
        let mut f = ReopenableFile::create(sub.join("eve.json"), Arc::clone(&reopen)).unwrap();
        f.write_all(b"one\n").unwrap();
        let rotated = dir.join("eve.json.1");
        std::fs::rename(sub.join("eve.json"), &rotated).unwrap();
        std::fs::remove_dir(&sub).unwrap();
        reopen.store(true, Ordering::Relaxed);
        f.reopen_if_asked();
        f.write_all(b"two\n").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read_to_string(&rotated).unwrap(), "one\ntwo\n");
        assert_eq!(f.reopen_failures(), 1);
        // Fixed: the next request reopens at the path.
        std::fs::create_dir_all(&sub).unwrap();
        reopen.store(true, Ordering::Relaxed);
        f.reopen_if_asked();
        f.write_all(b"three\n").unwrap();
        f.flush().unwrap();
        assert_eq!(
            std::fs::read_to_string(sub.join("eve.json")).unwrap(),
            "three\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
