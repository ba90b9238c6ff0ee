//! `vendorwatch live` under systemd's `Type=notify` protocol: with `NOTIFY_SOCKET` set it sends
//! `READY=1` once the capture is open (after "capturing on"), `WATCHDOG=1` at half of
//! `WATCHDOG_USEC` while its capture loop turns, and `STOPPING=1` at SIGTERM. As root (capture
//! on lo); skips otherwise.

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TempDir;
use common::netns::{Lines, is_root, signal};

/// Datagrams received within `timeout`, until one contains `until`.
fn receive_until(sock: &UnixDatagram, until: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = msg.contains(until);
            got.push(msg);
            if done {
                break;
            }
        }
    }
    got
}

#[test]
fn ready_after_capture_opens_then_watchdog_then_stopping() {
    if !is_root() {
        eprintln!("SKIP systemd_notify: live capture on lo needs root");
        return;
    }
    let dir = TempDir::new("notify");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).expect("bind the notify socket");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args([
            "live",
            "--config",
            "/dev/null",
            "-i",
            "lo",
            "--workers",
            "1",
            "-q",
        ])
        .args(["--bpf", "udp port 9", "--stats-interval", "0"])
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "400000")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vendorwatch live");
    let mut stderr = Lines::watch(child.stderr.take().expect("stderr"), "notify");
    let first = receive_until(&sock, "READY=1", Duration::from_secs(20));
    assert!(
        first.last().is_some_and(|m| m.contains("READY=1")),
        "no READY=1: {first:?}\n{}",
        stderr.text()
    );
    // The line is written before READY=1 is sent; its reader thread may not have it yet.
    stderr.wait_for("capturing on lo", Duration::from_secs(5));
    assert!(
        stderr.count("capturing on lo") == 1,
        "READY=1 comes after the capture is open:\n{}",
        stderr.text()
    );
    let ready = first.last().cloned().unwrap_or_default();
    assert!(ready.contains("STATUS=capturing on lo"), "{ready}");
    // Half of 400 ms: a few pings in a second.
    let started = Instant::now();
    let mut pings = 0;
    while started.elapsed() < Duration::from_secs(1) {
        pings += receive_until(&sock, "WATCHDOG=1", Duration::from_millis(500))
            .iter()
            .filter(|m| m.contains("WATCHDOG=1"))
            .count();
    }
    assert!(pings >= 3, "{pings} watchdog ping(s) in a second");
    signal(child.id(), libc::SIGTERM);
    let last = receive_until(&sock, "STOPPING=1", Duration::from_secs(10));
    assert!(
        last.iter().any(|m| m.contains("STOPPING=1")),
        "no STOPPING=1: {last:?}"
    );
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{}", stderr.text());
}
