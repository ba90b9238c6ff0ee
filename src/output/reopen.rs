//! An EVE file that can be reopened by path (SIGHUP, for logrotate): after the flag is set, the
//! next write goes to a file opened anew at the same path (appending, created if missing).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A file sink that reopens its path when `reopen` is set.
pub struct ReopenableFile {
    path: PathBuf,
    file: File,
    reopen: Arc<AtomicBool>,
}

impl ReopenableFile {
    /// Create (truncate) the file at `path`.
    pub fn create(path: PathBuf, reopen: Arc<AtomicBool>) -> io::Result<Self> {
        let file = File::create(&path)?;
        Ok(ReopenableFile { path, file, reopen })
    }

    fn check(&mut self) -> io::Result<()> {
        if self.reopen.swap(false, Ordering::Relaxed) {
            self.file.flush()?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
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
