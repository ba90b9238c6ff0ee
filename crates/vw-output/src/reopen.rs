//! An EVE file that can be reopened by path (SIGHUP, for logrotate): after the flag is set, the
//! next write goes to a file opened anew at the same path (appending, created if missing).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Open an EVE file as Suricata does (`append: yes`): created when missing, appended to
/// otherwise, so a restart or a second scan never erases records a pipeline has not shipped.
pub fn open_eve(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// A file sink that reopens its path when `reopen` is set.
pub struct ReopenableFile {
    path: PathBuf,
    file: File,
    reopen: Arc<AtomicBool>,
}

impl ReopenableFile {
    /// Open the file at `path` for appending (see [`open_eve`]).
    pub fn create(path: PathBuf, reopen: Arc<AtomicBool>) -> io::Result<Self> {
        let file = open_eve(&path)?;
        Ok(ReopenableFile { path, file, reopen })
    }

    fn check(&mut self) -> io::Result<()> {
        if self.reopen.swap(false, Ordering::Relaxed) {
            self.file.flush()?;
            self.file = open_eve(&self.path)?;
        }
        Ok(())
    }
}

impl Write for ReopenableFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        self.file.flush()
    }
}
