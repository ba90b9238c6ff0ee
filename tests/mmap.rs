//! Mapped files (`--workers 2` maps regular files of 1 MiB or more, so batches carry offsets
//! into the map instead of copies) must give exactly what reading them gives: the same
//! records, the same error line for a damaged file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
    let dir = std::env::temp_dir().join(format!("vw-mmap-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn scan(file: &Path, extra: &[&str]) -> Output {
    Command::new(bin())
        .args(["scan", "--suppress-window", "0", "--log", "all"])
        .args(extra)
        .arg(file)
        .output()
        .expect("run vendorwatch")
}

fn sorted_lines(out: &Output) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn mapped_read_and_two_workers_agree() {
    let dir = tmpdir("agree");
    let file = mix_file(&dir, 6000);
    assert!(
        std::fs::metadata(&file).expect("stat").len() > 2 << 20,
        "big enough to be mapped"
    );
    let mapped = scan(&file, &["--workers", "1"]);
    let read = scan(&file, &["--workers", "1", "--no-mmap"]);
    let workers = scan(&file, &["--workers", "2"]);
    let workers_read = scan(&file, &["--workers", "2", "--no-mmap"]);
    for o in [&mapped, &read, &workers, &workers_read] {
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(
        mapped.stdout.len() > 100_000,
        "the mix logs and alerts plenty"
    );
    assert_eq!(
        mapped.stdout, read.stdout,
        "one worker: same bytes in the same order"
    );
    let want = sorted_lines(&mapped);
    assert_eq!(sorted_lines(&workers), want, "two workers over the map");
    assert_eq!(sorted_lines(&workers_read), want, "two workers over copies");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn truncated_mapped_file_reports_like_a_read_one() {
    let dir = tmpdir("cut");
    let file = mix_file(&dir, 6000);
    let bytes = std::fs::read(&file).expect("read mix");
    // Cut in the middle of some record, well past the 1 MiB mapping threshold.
    let cut = dir.join("cut.pcap");
    std::fs::write(&cut, &bytes[..bytes.len() - 777]).expect("write cut");
    let mapped = scan(&cut, &["--workers", "2"]);
    for read_flags in [
        &["--workers", "2", "--no-mmap"][..],
        &["--workers", "1"][..],
    ] {
        let read = scan(&cut, read_flags);
        assert_eq!(mapped.status.code(), Some(1), "a damaged file exits 1");
        assert_eq!(read.status.code(), Some(1));
        let err = |o: &Output| {
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .find(|l| l.contains("cut.pcap:"))
                .map(str::to_string)
        };
        let line = err(&mapped).expect("an error line naming the file");
        assert!(
            line.contains("byte offset") || line.contains("offset"),
            "{line}"
        );
        assert_eq!(Some(line), err(&read), "same error line, mapped or read");
        assert_eq!(
            sorted_lines(&mapped),
            sorted_lines(&read),
            "what came before the damage is kept either way"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gzip_file_large_enough_to_map_is_still_decompressed() {
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
    assert!(
        std::fs::metadata(&gz).expect("stat").len() > 1 << 20,
        "gz is mapped too"
    );
    let plain = scan(&file, &["--workers", "1"]);
    let zipped = scan(&gz, &["--workers", "2"]);
    assert_eq!(
        zipped.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&zipped.stderr)
    );
    let strip = |o: &Output| {
        String::from_utf8_lossy(&o.stdout)
            .replace("mix.pcap.gz", "mix.pcap")
            .into_bytes()
    };
    let sorted = |o: &Output| {
        let mut lines: Vec<String> = String::from_utf8_lossy(&strip(o))
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&zipped), sorted(&plain));
    let _ = std::fs::remove_dir_all(&dir);
}
