//! The error every loading step reports: a position in a signature file and a one-line
//! message (its own module so that reading files and parsing packs both use it).

use std::fmt;
use std::path::PathBuf;

use super::text::printable;

/// A problem in a signature file, located so an editor can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigError {
    /// The file (or directory) concerned.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem concerns the whole file (e.g. it cannot be read).
    pub line: usize,
    /// 1-based column in characters; 0 with `line` 0.
    pub col: usize,
    /// What is wrong and, where possible, what to write instead.
    pub message: String,
}

impl fmt::Display for SigError {
    /// One line, control characters escaped: file names and messages may quote pack text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.to_string_lossy();
        let (file, message) = (printable(&file), printable(&self.message));
        if self.line == 0 {
            write!(f, "{file}: {message}")
        } else {
            write!(f, "{file}:{}:{}: {message}", self.line, self.col)
        }
    }
}

impl std::error::Error for SigError {}
