//! `scan DIR` over directory trees with symlink loops and second paths: every directory and
//! every capture is read once, the loops are counted, and SIGTERM stops the walk promptly.

mod common;

use common::TempDir;

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_vendorwatch");

/// Wait for `child` at most `limit`; kill it (and fail) when it runs longer.
fn wait_bounded(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A tree with two loops (`me -> .`, `sub/up -> ..`), a symlink and a hard link to the one
/// capture, and a second path to `sub` (`again -> sub`).
fn looping_tree(root: &Path) -> PathBuf {
    let dir = root.join("tree");
    fs::create_dir_all(dir.join("sub")).unwrap();
    let cap = dir.join("cap.pcap");
    fs::copy(common::repo().join("pcaps/kaspersky-dns.pcap"), &cap).unwrap();
    symlink(".", dir.join("me")).unwrap();
    symlink("..", dir.join("sub/up")).unwrap();
    symlink("sub", dir.join("again")).unwrap();
    symlink("cap.pcap", dir.join("alias.pcap")).unwrap();
    fs::hard_link(&cap, dir.join("sub/hard.pcap")).unwrap();
    dir
}

/// The capture is scanned exactly once (the same alerts as scanning the file itself), the
/// walk finishes at once, and the directories and files reached again are counted.
#[test]
fn directory_loops_are_walked_once() {
    let tmp = TempDir::new("dirs-loops");
    let dir = looping_tree(tmp.path());
    let direct = common::vendorwatch(&[
        "scan",
        "-q",
        "--suppress-window",
        "0",
        "pcaps/kaspersky-dns.pcap",
    ]);
    assert_eq!(direct.code(), Some(0), "{}", direct.stderr());
    let want = direct.events("alert").count();
    assert!(want > 0);

    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["scan", "--suppress-window", "0"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read both pipes on threads so a long run cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = wait_bounded(
        &mut child,
        Duration::from_secs(10),
        "scan of a looping tree",
    );
    let elapsed = started.elapsed();
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let records = common::parse_lines(&out);
    assert_eq!(status.code(), Some(0), "{err}");
    let files: std::collections::BTreeSet<&str> = records
        .iter()
        .filter_map(|r| r["pcap_filename"].as_str())
        .collect();
    let alerts = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .count();
    assert_eq!(
        alerts, want,
        "the capture is scanned once: {files:?}\n{err}"
    );
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(err.contains("files: 1 read, 0 failed"), "{err}");
    assert!(
        err.contains("reached again through links or loops, skipped: 3 directories, 2 files"),
        "{err}"
    );
    println!("looping tree scanned in {elapsed:?}: {alerts} alerts from {files:?}");
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

/// SIGTERM while a large tree (with loops) is being walked: the scan stops promptly with
/// 128 + 15. `-` (stdin, kept open) comes last, so the run cannot end on its own before the
/// signal, however fast the walk.
#[test]
fn sigterm_during_a_directory_walk_exits_143() {
    let tmp = TempDir::new("dirs-sigterm");
    let dir = looping_tree(tmp.path());
    // Many empty directories, walked before the capture (`0..` sorts before `again`): a
    // walk long enough that the signal usually lands in it.
    for i in 0..100 {
        for j in 0..100 {
            fs::create_dir_all(dir.join(format!("0{i:03}/e{j:03}"))).unwrap();
        }
    }
    let mut child = Command::new(BIN)
        .args(["scan", "-q", "--suppress-window", "0"])
        .arg(&dir)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take();
    // Wait until the process catches SIGTERM (its handlers are installed), as
    // /proc/PID/status shows, so the signal does not kill it before it can handle it.
    let status_file = format!("/proc/{}/status", child.id());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let caught = fs::read_to_string(&status_file)
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("SigCgt:"))?.to_string();
                u64::from_str_radix(line.trim_start_matches("SigCgt:").trim(), 16).ok()
            })
            .is_some_and(|mask| mask & (1 << (15 - 1)) != 0);
        if caught {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            println!("skipped: cannot see the process's signal handlers in {status_file}");
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = wait_bounded(&mut child, Duration::from_secs(10), "scan after SIGTERM");
    let stopped_in = signalled.elapsed();
    drop(stdin);
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("stopped by signal 15"), "{err}");
    println!("stopped {stopped_in:?} after SIGTERM: {}", err.trim());
    assert!(stopped_in < Duration::from_secs(3), "took {stopped_in:?}");
}
