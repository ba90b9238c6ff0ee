//! Suppression is turned off (`--suppress-window 0`): these tests count every record.
//! Damaged, hostile and endless inputs, and failing outputs, through the real binary:
//! captures truncated at every byte offset, a 4 GB record length, unknown pcapng blocks,
//! gzip-compressed and damaged gzip captures, a full disk, a full stdout, and SIGTERM/SIGINT
//! in the middle of a scan.
//!
//! What a cut capture must give, from the reader's semantics: a cut exactly at a record (pcap)
//! or block (pcapng) boundary after the file header is a clean end of file (exit 0, no error);
//! any other cut gives exit 1 and exactly one error line naming the file and the byte offset of
//! the header, record or block that was cut (a file shorter than its 4-byte magic number is
//! "not a pcap or pcapng file", an empty one "empty file"). Every alert of the packets before the cut is still written.

mod common;

use common::TempDir;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_vendorwatch");

fn sample(name: &str) -> Vec<u8> {
    fs::read(common::repo().join("pcaps").join(name)).unwrap()
}

/// Offsets where a record (pcap) or block (pcapng) ends, and the number of packets complete at
/// each; computed here from the formats, independently of the reader.
fn boundaries(bytes: &[u8]) -> Vec<(usize, u64)> {
    let u32le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut out = Vec::new();
    let mut packets = 0;
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        // pcapng, little-endian (as the samples are).
        let mut at = 0;
        while at < bytes.len() {
            let (btype, len) = (u32le(at), u32le(at + 4) as usize);
            if matches!(btype, 2 | 3 | 6) {
                packets += 1;
            }
            at += len;
            out.push((at, packets));
        }
    } else {
        let big = bytes.starts_with(&[0xa1, 0xb2]);
        let rd = |at: usize| {
            let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
            if big {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let mut at = 24;
        out.push((at, 0));
        while at < bytes.len() {
            at += 16 + rd(at + 8) as usize;
            packets += 1;
            out.push((at, packets));
        }
    }
    assert_eq!(
        out.last().unwrap().0,
        bytes.len(),
        "sample parsed to its end"
    );
    out
}

/// EVE lines without `pcap_filename`, keyed by file name, for comparing runs over copies.
fn by_file(records: &[Value]) -> BTreeMap<String, Vec<Value>> {
    let mut map: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for r in records {
        let mut r = r.clone();
        let file = r["pcap_filename"].as_str().unwrap_or("").to_string();
        r.as_object_mut().unwrap().remove("pcap_filename");
        map.entry(file).or_default().push(r);
    }
    map
}

fn run(args: &[&str]) -> common::Run {
    common::vendorwatch(args)
}

/// Every alert (and logged event) of the whole file, without `pcap_filename`.
fn full_run(path: &Path) -> Vec<Value> {
    let r = run(&[
        "scan",
        "-q",
        "--suppress-window",
        "0",
        "--log",
        "all",
        path.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr());
    assert!(r.events("alert").count() > 0, "sample has alerts");
    by_file(&r.records).into_values().next().unwrap()
}

/// Cut `name` at every offset; scan all the cuts in one run (a process per offset would take
/// minutes), then check each file's error line and records; then run the binary on its own
/// for a spread of offsets (every boundary and its neighbours, and every 97th offset) to
/// check the exit status of single-file runs.
fn check_every_truncation(name: &str) {
    let bytes = sample(name);
    let tmp = TempDir::new("cut");
    let whole = tmp.path().join(name);
    fs::write(&whole, &bytes).unwrap();
    let full = full_run(&whole);
    let bounds = boundaries(&bytes);
    let header_end = bounds[0].0;

    let mut paths = Vec::new();
    for cut in 0..=bytes.len() {
        let p = tmp.path().join(format!("cut-{cut:05}"));
        fs::write(&p, &bytes[..cut]).unwrap();
        paths.push(p);
    }
    let mut args = vec!["scan", "-q", "--suppress-window", "0", "--log", "all"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let r = run(&args);
    assert_eq!(r.code(), Some(1), "batch run: {}", r.stderr());
    let stderr = r.stderr();
    let mut errors: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in stderr.lines() {
        let path = line
            .strip_prefix("vendorwatch: ")
            .and_then(|l| l.split(": ").next())
            .unwrap_or("");
        errors.entry(path).or_default().push(line);
    }
    let records = by_file(&r.records);

    let mut failures = Vec::new();
    for (cut, path) in paths.iter().enumerate() {
        let p = path.to_str().unwrap();
        let lines = errors.get(p).cloned().unwrap_or_default();
        let clean = cut >= header_end && bounds.iter().any(|&(b, _)| b == cut);
        let complete = bounds
            .iter()
            .filter(|&&(b, _)| b <= cut)
            .map(|&(_, n)| n)
            .max()
            .unwrap_or(0);
        let cut_start = bounds
            .iter()
            .map(|&(b, _)| b)
            .filter(|&b| b <= cut)
            .max()
            .unwrap_or(0);
        let cut_start = if cut < header_end { 0 } else { cut_start };
        if clean {
            if !lines.is_empty() {
                failures.push(format!("cut {cut} (boundary): unexpected error {lines:?}"));
            }
        } else if lines.len() != 1 {
            failures.push(format!("cut {cut}: {} error lines: {lines:?}", lines.len()));
        } else if cut == 0 {
            if !lines[0].ends_with(": empty file") {
                failures.push(format!("cut {cut}: {}", lines[0]));
            }
        } else if cut < 4 {
            if !lines[0].contains("not a pcap or pcapng file") {
                failures.push(format!("cut {cut}: {}", lines[0]));
            }
        } else if !lines[0].contains(&format!("at byte offset {cut_start}")) {
            failures.push(format!(
                "cut {cut}: error should name byte offset {cut_start}: {}",
                lines[0]
            ));
        }
        let got = records.get(p).cloned().unwrap_or_default();
        let want: Vec<Value> = full
            .iter()
            .filter(|v| v["pcap_cnt"].as_u64().unwrap() <= complete)
            .cloned()
            .collect();
        if got != want {
            failures.push(format!(
                "cut {cut}: {} records, expected {} (packets complete: {complete})",
                got.len(),
                want.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} failure(s):\n{}",
        failures.len(),
        failures[..failures.len().min(20)].join("\n")
    );

    // Single-file runs: exit 0 at a boundary, 1 elsewhere, never a signal or a panic (101).
    let mut cuts: Vec<usize> = (0..=bytes.len()).step_by(97).collect();
    for &(b, _) in &bounds {
        cuts.extend([b.saturating_sub(1), b, b + 1]);
    }
    cuts.retain(|&c| c <= bytes.len());
    cuts.sort_unstable();
    cuts.dedup();
    for cut in cuts {
        let p = paths[cut].to_str().unwrap();
        let r = run(&["scan", "-q", "--suppress-window", "0", p]);
        let clean = cut >= header_end && bounds.iter().any(|&(b, _)| b == cut);
        let want = if clean { 0 } else { 1 };
        assert_eq!(r.code(), Some(want), "cut {cut}: {}", r.stderr());
    }
    println!(
        "{name}: {} truncations checked ({} clean boundaries)",
        bytes.len() + 1,
        bounds.len()
    );
}

#[test]
fn pcap_truncated_at_every_offset() {
    check_every_truncation("kaspersky-dns.pcap");
}

#[test]
fn pcapng_truncated_at_every_offset() {
    check_every_truncation("kaspersky-tls.pcapng");
}

/// A pcap whose second record claims a 4 GB capture length: rejected at once, the first
/// packet's alert kept.
#[test]
fn four_gigabyte_caplen_record() {
    let bytes = sample("kaspersky-dns.pcap");
    let bounds = boundaries(&bytes);
    let first_end = bounds[1].0;
    let mut damaged = bytes[..first_end].to_vec();
    let mut rec = bytes[first_end..bounds[2].0].to_vec();
    rec[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    rec[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    damaged.extend_from_slice(&rec);
    damaged.extend_from_slice(&bytes[bounds[2].0..]);
    let tmp = TempDir::new("caplen");
    let p = tmp.path().join("huge.pcap");
    fs::write(&p, &damaged).unwrap();
    let r = run(&["scan", "-q", "--suppress-window", "0", p.to_str().unwrap()]);
    assert_eq!(r.code(), Some(1), "{}", r.stderr());
    let err = r.stderr();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "huge.pcap: invalid record at byte offset {first_end} (packet 2)"
        )) && err.contains("4294967295"),
        "{err}"
    );
    assert_eq!(r.events("alert").count(), 1, "packet 1's alert kept");

    // The same in pcapng: an EPB claiming 4 GB.
    let ng = sample("kaspersky-tls.pcapng");
    let b = boundaries(&ng);
    let epb = b
        .windows(2)
        .map(|w| w[0].0)
        .find(|&at| ng[at..at + 4] == [6, 0, 0, 0])
        .unwrap();
    let mut damaged = ng.clone();
    damaged[epb + 4..epb + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let p = tmp.path().join("huge.pcapng");
    fs::write(&p, &damaged).unwrap();
    let r = run(&["scan", "-q", "--suppress-window", "0", p.to_str().unwrap()]);
    assert_eq!(r.code(), Some(1), "{}", r.stderr());
    assert!(
        r.stderr()
            .contains(&format!("huge.pcapng: invalid record at byte offset {epb}")),
        "{}",
        r.stderr()
    );
}

/// Unknown block types (a custom block, a local-use type, a name resolution block) between
/// the real ones are skipped: same records, exit 0.
#[test]
fn pcapng_with_unknown_blocks() {
    let ng = sample("kaspersky-tls.pcapng");
    let block = |btype: u32, body: &[u8]| {
        let len = (12 + body.len().div_ceil(4) * 4) as u32;
        let mut v = btype.to_le_bytes().to_vec();
        v.extend_from_slice(&len.to_le_bytes());
        v.extend_from_slice(body);
        v.resize(len as usize - 4, 0);
        v.extend_from_slice(&len.to_le_bytes());
        v
    };
    let mut odd = Vec::new();
    for (i, w) in boundaries(&ng).windows(2).enumerate() {
        if i == 0 {
            odd.extend_from_slice(&ng[..w[0].0]);
        }
        odd.extend(block(0x0000_0BAD, b"custom block, copyable"));
        odd.extend(block(0x8000_0001, &[0xff; 13]));
        odd.extend(block(4, &[]));
        odd.extend_from_slice(&ng[w[0].0..w[1].0]);
    }
    let tmp = TempDir::new("unknown");
    let plain = tmp.path().join("plain.pcapng");
    let p = tmp.path().join("odd.pcapng");
    fs::write(&plain, &ng).unwrap();
    fs::write(&p, &odd).unwrap();
    let r = run(&[
        "scan",
        "-q",
        "--suppress-window",
        "0",
        "--log",
        "all",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code(), Some(0), "{}", r.stderr());
    let got = by_file(&r.records).into_values().next().unwrap();
    assert_eq!(got, full_run(&plain));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Gzip-compressed captures are read like plain ones, from a file, a directory or stdin; a
/// damaged gzip stream gives one error naming the file and the compressed offset, and keeps
/// the alerts before the damage.
#[test]
fn gzip_captures() {
    let tmp = TempDir::new("gzip");
    for name in ["kaspersky-dns.pcap", "kaspersky-tls.pcapng"] {
        let bytes = sample(name);
        let plain = tmp.path().join(name);
        fs::write(&plain, &bytes).unwrap();
        let want = full_run(&plain);
        let gz = tmp.path().join(format!("{name}.gz"));
        let packed = gzip(&bytes);
        fs::write(&gz, &packed).unwrap();
        assert_eq!(full_run(&gz), want, "{name}.gz");

        // stdin
        let out = Command::new(BIN)
            .args(["scan", "-q", "--suppress-window", "0", "--log", "all", "-"])
            .stdin(fs::File::open(&gz).unwrap())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let got = by_file(&common::parse_lines(&out.stdout));
        assert_eq!(
            got.into_values().next().unwrap(),
            want,
            "{name}.gz on stdin"
        );

        // Cut the compressed stream: one error with the compressed offset, a prefix of the
        // records, exit 1.
        for cut in [10, packed.len() / 3, packed.len() / 2, packed.len() - 1] {
            let p = tmp.path().join(format!("cut-{cut}.gz"));
            fs::write(&p, &packed[..cut]).unwrap();
            let r = run(&[
                "scan",
                "-q",
                "--suppress-window",
                "0",
                "--log",
                "all",
                p.to_str().unwrap(),
            ]);
            assert_eq!(r.code(), Some(1), "{}", r.stderr());
            let err = r.stderr();
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.contains(p.to_str().unwrap()) && err.contains("compressed byte offset"),
                "{err}"
            );
            let got = by_file(&r.records).into_values().next().unwrap_or_default();
            assert!(want.starts_with(&got), "{name} cut {cut}");
        }
        // Flip bytes inside the deflate data: an error (bad data or checksum), never a crash.
        for at in [20, packed.len() / 2, packed.len() - 6] {
            let mut bad = packed.clone();
            bad[at] ^= 0x5a;
            let p = tmp.path().join(format!("flip-{at}.gz"));
            fs::write(&p, &bad).unwrap();
            let r = run(&["scan", "-q", "--suppress-window", "0", p.to_str().unwrap()]);
            assert_eq!(r.code(), Some(1), "{}", r.stderr());
            assert_eq!(r.stderr().lines().count(), 1, "{}", r.stderr());
            assert!(r.stderr().contains(p.to_str().unwrap()));
        }
    }
    // A directory holding a gzip capture and a gzip text file: the capture is scanned, the
    // text file skipped as not a capture.
    fs::write(
        tmp.path().join("notes.txt.gz"),
        gzip(b"hello, not a capture"),
    )
    .unwrap();
    let r = run(&["scan", tmp.path().to_str().unwrap()]);
    assert!(r.events("alert").count() > 0);
}

/// A capture with many alerts: the records of kaspersky-dns.pcap repeated `copies` times.
fn many_alerts_capture(copies: usize) -> Vec<u8> {
    let bytes = sample("kaspersky-dns.pcap");
    let mut out = bytes[..24].to_vec();
    for _ in 0..copies {
        out.extend_from_slice(&bytes[24..]);
    }
    out
}

/// `--eve` on a 64 KiB tmpfs that fills up: the error names the EVE file and the exit status
/// is non-zero. Needs root (mount); skipped with a printed reason otherwise.
#[test]
fn eve_file_on_a_full_disk() {
    let tmp = TempDir::new("diskfull");
    let cap = tmp.path().join("many.pcap");
    fs::write(&cap, many_alerts_capture(100)).unwrap();
    let mnt = tmp.path().join("mnt");
    fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::piped())
        .output();
    match &mounted {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            println!(
                "skipped: cannot mount a tmpfs (needs root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            return;
        }
        Err(e) => {
            println!("skipped: cannot run mount: {e}");
            return;
        }
    }
    let eve = mnt.join("eve.json");
    let r = run(&[
        "scan",
        "-q",
        "--suppress-window",
        "0",
        "--eve",
        eve.to_str().unwrap(),
        cap.to_str().unwrap(),
    ]);
    let written = fs::metadata(&eve).map(|m| m.len()).unwrap_or(0);
    let _ = Command::new("umount").arg(&mnt).status();
    assert_eq!(r.code(), Some(2), "{}", r.stderr());
    let err = r.stderr();
    assert!(
        err.contains(&format!(
            "{}: writing EVE records failed",
            eve.to_str().unwrap()
        )),
        "{err}"
    );
    assert!(err.contains("No space left on device"), "{err}");
    println!("disk full after {written} bytes of EVE: {}", err.trim());
}

/// stdout on /dev/full: the error names stdout, exit status non-zero.
#[test]
fn stdout_full() {
    let full = match fs::OpenOptions::new().write(true).open("/dev/full") {
        Ok(f) => f,
        Err(e) => {
            println!("skipped: no /dev/full: {e}");
            return;
        }
    };
    let out = Command::new(BIN)
        .args(["scan", "-q", "--suppress-window", "0"])
        .arg(common::repo().join("pcaps/kaspersky-dns.pcap"))
        .stdout(full)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("stdout: writing EVE records failed") && err.contains("No space left"),
        "{err}"
    );
}

/// SIGTERM / SIGINT while `scan -` waits for more input: every alert of the packets already
/// read is written, and the exit status is 128 + the signal number.
fn stop_by_signal(signal: &str, status: i32, partial_record: bool) {
    let bytes = sample("kaspersky-dns.pcap");
    let want = full_run(&common::repo().join("pcaps/kaspersky-dns.pcap"));
    let mut child = Command::new(BIN)
        .args(["scan", "-q", "--suppress-window", "0", "--log", "all", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Fed slowly, a record at a time.
    let bounds = boundaries(&bytes);
    let mut at = 0;
    for &(b, _) in &bounds {
        stdin.write_all(&bytes[at..b]).unwrap();
        stdin.flush().unwrap();
        at = b;
        std::thread::sleep(Duration::from_millis(5));
    }
    if partial_record {
        stdin.write_all(&bytes[24..40]).unwrap();
        stdin.flush().unwrap();
    }
    // Leave stdin open: the scan is now waiting for more.
    std::thread::sleep(Duration::from_millis(800));
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "scan did not stop on {signal}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{signal}: {err}");
    assert!(err.contains("stopped by signal"), "{err}");
    let got = by_file(&common::parse_lines(&out.stdout))
        .into_values()
        .next()
        .unwrap_or_default();
    assert_eq!(got, want, "{signal}: every record made before the signal");
}

#[test]
fn sigterm_flushes_alerts() {
    stop_by_signal("-TERM", 143, false);
}

#[test]
fn sigint_in_the_middle_of_a_record_flushes_alerts() {
    stop_by_signal("-INT", 130, true);
}
