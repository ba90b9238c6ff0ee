//! `--workers 2` passes packets to workers as offsets into the reader's shared blocks instead
//! of copies (the reader moves to another block rather than overwrite one a batch holds), and
//! regular files are read ahead by a thread. On a capture of many blocks every way of reading
//! must give exactly what one worker reading a file gives: the same records, the same error
//! line for a damaged file, for plain, piped and gzip input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[path = "../examples/gen-mix.rs"]
mod gen_mix;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_vendorwatch")
}

/// A gen-mix capture of `packets` packets (several MiB) in a fresh directory.
fn mix_file(dir: &Path, packets: u64) -> PathBuf {
    let cfg = gen_mix::Config {
        packets,
        bytes: u64::MAX,
        seed: 11,
    };
    let (mut pcap, mut tsv) = (Vec::new(), Vec::new());
    gen_mix::generate(&cfg, &mut pcap, &mut tsv).expect("in-memory mix");
    let path = dir.join("mix.pcap");
    std::fs::write(&path, &pcap).expect("write mix");
    path
}

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-blocks-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

const FLAGS: [&str; 5] = ["scan", "--suppress-window", "0", "--log", "all"];

fn scan(file: &Path, workers: &str) -> Output {
    Command::new(bin())
        .args(FLAGS)
        .args(["--workers", workers])
        .arg(file)
        .output()
        .expect("run vendorwatch")
}

/// The same scan reading the capture from a pipe (`-`): no read-ahead thread. Stdin is fed
/// from another thread (the child writes its output meanwhile).
fn scan_stdin(file: &Path, workers: &str) -> Output {
    let mut child = Command::new(bin())
        .args(FLAGS)
        .args(["--workers", workers, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run vendorwatch");
    let bytes = std::fs::read(file).expect("read capture");
    let mut stdin = child.stdin.take().expect("stdin piped");
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("wait");
    feeder.join().expect("feeder");
    out
}

/// Output lines sorted (workers interleave records), with `pcap_filename` made comparable.
fn sorted_lines(out: &Output, file: &Path) -> Vec<String> {
    let own = format!("\"pcap_filename\":\"{}\"", file.display());
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.replace(&own, "\"pcap_filename\":\"F\"")
                .replace("\"pcap_filename\":\"-\"", "\"pcap_filename\":\"F\"")
        })
        .collect();
    lines.sort();
    lines
}

/// The error line naming `name` (the file, or `-` for stdin), with the name replaced by `F`.
fn error_line(out: &Output, name: &str) -> Option<String> {
    let named = format!("vendorwatch: {name}: ");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.starts_with(&named))
        .map(|l| l.replacen(&named, "vendorwatch: F: ", 1))
}

#[test]
fn every_way_of_reading_agrees() {
    let dir = tmpdir("agree");
    let file = mix_file(&dir, 6000);
    assert!(
        std::fs::metadata(&file).expect("stat").len() > 4 << 20,
        "several 1 MiB blocks"
    );
    let one = scan(&file, "1");
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    assert!(one.stdout.len() > 100_000, "the mix logs and alerts plenty");
    let want = sorted_lines(&one, &file);
    for (what, out) in [
        ("two workers, file", scan(&file, "2")),
        ("one worker, stdin", scan_stdin(&file, "1")),
        ("two workers, stdin", scan_stdin(&file, "2")),
    ] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(sorted_lines(&out, &file), want, "{what}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_file_reports_the_same_every_way() {
    let dir = tmpdir("cut");
    let file = mix_file(&dir, 6000);
    let bytes = std::fs::read(&file).expect("read mix");
    // Cut in the middle of some record, several blocks in.
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 777]).expect("write cut");
    let one = scan(&cut, "1");
    assert_eq!(one.status.code(), Some(1), "a damaged file exits 1");
    let name = cut.display().to_string();
    let line = error_line(&one, &name).expect("an error line naming the file");
    assert!(line.contains("byte offset"), "{line}");
    let want = sorted_lines(&one, &cut);
    for (what, out) in [
        ("two workers, file", scan(&cut, "2")),
        ("two workers, stdin", scan_stdin(&cut, "2")),
    ] {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = error_line(&out, &name).or_else(|| error_line(&out, "-"));
        assert_eq!(got, Some(line.clone()), "{what}: same error line");
        assert_eq!(
            sorted_lines(&out, &cut),
            want,
            "{what}: what came before is kept"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gzip_file_with_two_workers() {
    let dir = tmpdir("gz");
    let file = mix_file(&dir, 6000);
    let bytes = std::fs::read(&file).expect("read mix");
    let gz = dir.join("mix.pcap.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create gz"),
        flate2::Compression::fast(),
    );
    enc.write_all(&bytes).expect("compress");
    enc.finish().expect("finish gz");
    let plain = scan(&file, "1");
    let zipped = scan(&gz, "2");
    assert_eq!(
        zipped.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&zipped.stderr)
    );
    let strip = |o: &Output, f: &Path| sorted_lines(o, f);
    assert_eq!(strip(&zipped, &gz), strip(&plain, &file));
    let _ = std::fs::remove_dir_all(&dir);
}
