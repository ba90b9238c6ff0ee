//! The scan's inputs, expanded lazily: [`Inputs`] walks the named directories as the scan goes,
//! so the first capture is read before a large tree is walked to its end, memory holds only the
//! directories on the current path (not every file of the tree), and a stop signal is seen
//! between any two entries.
//!
//! Each directory and each file is read once per run, by (device, inode): a symlink loop
//! (`me -> .`), a second path to a directory or a file (a symlink, a hard link, the same
//! argument twice) is skipped and counted. Walking deeper than [`MAX_DEPTH`] levels is refused
//! with an error.

use std::collections::{HashSet, VecDeque};
use std::fs::{self, File, Metadata};
use std::io::{BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{GZIP_MAGIC, ScanStats, fail, print_line, stop_signal};

/// One input as the user named it, or as found in a named directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A capture file.
    File(PathBuf),
}

impl Input {
    /// Name used in messages and in EVE's `pcap_filename`.
    pub fn display_name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// Most directory levels walked below a named directory (the named one is level 1). Loops
/// are caught by inode long before; this bounds what a pathological tree (or a filesystem
/// that makes up inode numbers) can make the walk hold.
pub const MAX_DEPTH: usize = 64;

/// A (device, inode) pair: what makes two paths the same file or directory.
type FileId = (u64, u64);

fn file_id(m: &Metadata) -> FileId {
    (m.dev(), m.ino())
}

/// The command-line arguments, expanded one input at a time ([`Inputs::next_input`]): `-` is
/// stdin; a directory is walked recursively in name order, keeping only files that start like
/// a capture; anything else is taken as a file (opening it reports what is wrong with it).
pub struct Inputs {
    /// Arguments not expanded yet.
    args: VecDeque<String>,
    /// The directories being walked, outermost first: the entries of each not visited yet,
    /// in reverse name order (the next one is popped from the end).
    stack: Vec<Vec<PathBuf>>,
    /// Directories entered so far.
    dirs: HashSet<FileId>,
    /// Regular files taken (or skipped as not captures) so far.
    files: HashSet<FileId>,
    /// True once the walk must stop (a stop signal, in the binary).
    stop: fn() -> bool,
    /// Name each entry of a directory that is skipped, and why, on stderr (`scan -v`).
    verbose: bool,
}

impl Inputs {
    /// The inputs named by `args`, in order; nothing is read before the first
    /// [`Inputs::next_input`].
    pub fn new(args: &[String]) -> Self {
        Inputs {
            args: args.iter().cloned().collect(),
            stack: Vec::new(),
            dirs: HashSet::new(),
            files: HashSet::new(),
            stop: || stop_signal().is_some(),
            verbose: false,
        }
    }

    /// Say on stderr which entries of the walked directories are skipped, and why
    /// (`scan -v`); they are counted either way.
    pub fn verbose(mut self, on: bool) -> Self {
        self.verbose = on;
        self
    }

    /// Name a skipped entry when verbose.
    fn skipped(&self, path: &Path, why: &str) {
        if self.verbose {
            print_line(&format!("vendorwatch: {}: skipped: {why}", path.display()));
        }
    }

    /// The next input to scan; `None` when every argument is expanded or a stop signal came
    /// (checked between any two directory entries). Errors (a directory that cannot be read,
    /// one too deep) are printed and counted in `stats.errors`; skipped entries are counted.
    pub fn next_input(&mut self, stats: &mut ScanStats) -> Option<Input> {
        loop {
            if (self.stop)() {
                return None;
            }
            if let Some(entries) = self.stack.last_mut() {
                match entries.pop() {
                    Some(path) => {
                        if let Some(input) = self.visit(path, stats) {
                            return Some(input);
                        }
                    }
                    None => {
                        self.stack.pop();
                    }
                }
                continue;
            }
            let arg = self.args.pop_front()?;
            if arg == "-" {
                return Some(Input::Stdin);
            }
            let path = PathBuf::from(arg);
            match fs::metadata(&path) {
                Ok(m) if m.is_dir() => self.enter(path, &m, stats),
                Ok(m) if m.is_file() && !self.files.insert(file_id(&m)) => {
                    stats.files_repeated += 1;
                }
                // A regular file seen for the first time, a pipe or device (read as a
                // stream), or a path that cannot be opened (the scan reports it).
                _ => return Some(Input::File(path)),
            }
        }
    }

    /// One entry of a directory being walked: a capture to scan, or `None` (a directory was
    /// entered, or the entry was skipped).
    fn visit(&mut self, path: PathBuf, stats: &mut ScanStats) -> Option<Input> {
        // Follows symlinks; a dangling one, or a socket or device, is passed over (named
        // with -v).
        let m = match fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                self.skipped(&path, &format!("cannot read its metadata: {e}"));
                return None;
            }
        };
        if m.is_dir() {
            self.enter(path, &m, stats);
            return None;
        }
        if !m.is_file() {
            self.skipped(&path, "not a regular file");
            return None;
        }
        if !self.files.insert(file_id(&m)) {
            self.skipped(&path, "reached again through a link");
            stats.files_repeated += 1;
            return None;
        }
        if starts_like_capture(&path) {
            Some(Input::File(path))
        } else {
            let why = if m.len() == 0 {
                "empty file"
            } else {
                "not a pcap or pcapng file"
            };
            self.skipped(&path, why);
            stats.files_not_captures += 1;
            None
        }
    }

    /// Start walking directory `dir` (metadata `m`), unless it was entered before (a loop or
    /// a second path to it: counted) or lies too deep (an error).
    fn enter(&mut self, dir: PathBuf, m: &Metadata, stats: &mut ScanStats) {
        if self.dirs.contains(&file_id(m)) {
            self.skipped(&dir, "directory reached again through a link or loop");
            stats.dirs_repeated += 1;
            return;
        }
        if self.stack.len() >= MAX_DEPTH {
            fail(
                stats,
                format!(
                    "{}: more than {MAX_DEPTH} directory levels deep, not walked",
                    dir.display()
                ),
            );
            return;
        }
        self.dirs.insert(file_id(m));
        let mut entries = Vec::new();
        match fs::read_dir(&dir) {
            Ok(list) => {
                for entry in list {
                    if (self.stop)() {
                        return;
                    }
                    match entry {
                        Ok(e) => entries.push(e.path()),
                        Err(e) => {
                            fail(
                                stats,
                                format!("{}: cannot read directory: {e}", dir.display()),
                            );
                            break;
                        }
                    }
                }
            }
            Err(e) => {
                fail(
                    stats,
                    format!("{}: cannot read directory: {e}", dir.display()),
                );
                return;
            }
        }
        // Popped from the end: name order.
        entries.sort_unstable_by(|a, b| b.cmp(a));
        self.stack.push(entries);
    }
}

/// Magic numbers of pcap (both byte orders, usec and nsec) and pcapng, looked for inside gzip
/// too.
fn starts_like_capture(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let ok = File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    if ok.is_ok() && magic.starts_with(&GZIP_MAGIC) {
        let ok = File::open(path)
            .and_then(|f| MultiGzDecoder::new(BufReader::new(f)).read_exact(&mut magic));
        if ok.is_err() {
            return false;
        }
    }
    ok.is_ok()
        && matches!(
            magic,
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A scratch directory removed on drop.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(tag: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!(
                "vw-engine-inputs-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let dir = PathBuf::from(dir.to_string_lossy().replace(['(', ')'], ""));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    const PCAP_MAGIC: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];

    fn all(inputs: &mut Inputs, stats: &mut ScanStats) -> Vec<String> {
        std::iter::from_fn(|| inputs.next_input(stats))
            .map(|i| i.display_name())
            .collect()
    }

    #[test]
    fn walks_in_name_order_once_per_directory_and_file() {
        let s = Scratch::new("order");
        let d = &s.0;
        fs::create_dir_all(d.join("b/c")).unwrap();
        fs::write(d.join("b/c/z.pcap"), PCAP_MAGIC).unwrap();
        fs::write(d.join("b/a.pcap"), PCAP_MAGIC).unwrap();
        fs::write(d.join("a.txt"), b"notes").unwrap();
        fs::write(d.join("c.pcap"), PCAP_MAGIC).unwrap();
        symlink(".", d.join("b/c/me")).unwrap();
        symlink("../..", d.join("b/c/top")).unwrap();
        symlink("c.pcap", d.join("d.pcap")).unwrap();
        symlink("missing", d.join("dangling")).unwrap();
        let dir = d.to_string_lossy().into_owned();
        let mut stats = ScanStats::default();
        let mut inputs = Inputs::new(&[dir.clone(), "-".into(), dir.clone()]);
        let got = all(&mut inputs, &mut stats);
        assert_eq!(
            got,
            [
                format!("{dir}/b/a.pcap"),
                format!("{dir}/b/c/z.pcap"),
                format!("{dir}/c.pcap"),
                "-".to_string(),
            ]
        );
        assert_eq!(stats.files_not_captures, 1);
        // b/c/me, b/c/top, and the directory named a second time.
        assert_eq!(stats.dirs_repeated, 3);
        assert_eq!(stats.files_repeated, 1, "d.pcap -> c.pcap");
        assert!(stats.errors.is_empty(), "{:?}", stats.errors);
    }

    #[test]
    fn depth_is_bounded() {
        let s = Scratch::new("deep");
        let mut deep = s.0.clone();
        for _ in 0..MAX_DEPTH + 2 {
            deep.push("d");
        }
        fs::create_dir_all(&deep).unwrap();
        fs::write(deep.join("x.pcap"), PCAP_MAGIC).unwrap();
        let mut stats = ScanStats::default();
        let mut inputs = Inputs::new(&[s.0.to_string_lossy().into_owned()]);
        assert!(all(&mut inputs, &mut stats).is_empty());
        assert_eq!(stats.errors.len(), 1, "{:?}", stats.errors);
        assert!(stats.errors[0].contains("more than 64 directory levels deep"));
    }

    /// Entries looked at before the stop flag of [`stops_between_entries`] goes up.
    static LOOKS: AtomicUsize = AtomicUsize::new(0);

    #[test]
    fn stops_between_entries() {
        let s = Scratch::new("stop");
        for i in 0..50 {
            fs::create_dir_all(s.0.join(format!("d{i:02}/e"))).unwrap();
        }
        fs::write(s.0.join("d49/e/x.pcap"), PCAP_MAGIC).unwrap();
        let mut stats = ScanStats::default();
        let mut inputs = Inputs::new(&[s.0.to_string_lossy().into_owned()]);
        inputs.stop = || LOOKS.fetch_add(1, Ordering::Relaxed) >= 10;
        assert_eq!(inputs.next_input(&mut stats), None);
        // Asked before each entry: it gave up at the 11th, long before the 101 of the tree.
        let looks = LOOKS.load(Ordering::Relaxed);
        assert!((11..=12).contains(&looks), "{looks}");
    }
}
