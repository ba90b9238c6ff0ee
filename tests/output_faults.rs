//! Output faults: what reaches the EVE output when it fails (a full disk, `/dev/full`, a
//! closed stdout, a log directory the sensor may no longer write to after a rotation), a
//! syslog record too large for one datagram, and report cells a spreadsheet would run.
//!
//! The full-disk test mounts a 64 KiB tmpfs and the live test uses a network namespace: both
//! need root and skip with a printed reason otherwise. Every test bounds its time and removes
//! what it made.

mod common;

use std::io::Write;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use vw_testkit::flood::{dns_message, source};

/// A temporary directory removed on drop (a tmpfs mounted in it is unmounted first).
struct TempDir {
    path: PathBuf,
    mounted: Option<PathBuf>,
}

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("vw-output-faults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir {
            path,
            mounted: None,
        }
    }

    fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Mount a tmpfs of `size` at `name` inside the directory; None (with the reason) when
    /// that is not possible here.
    fn mount_tmpfs(&mut self, name: &str, size: &str) -> Result<PathBuf, String> {
        if !common::netns::is_root() {
            return Err("needs root to mount a tmpfs".into());
        }
        let at = self.join(name);
        std::fs::create_dir_all(&at).map_err(|e| e.to_string())?;
        common::netns::run(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &format!("size={size}"),
            "tmpfs",
            common::netns::path(&at),
        ])?;
        self.mounted = Some(at.clone());
        Ok(at)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(at) = self.mounted.take() {
            let _ = Command::new("umount").arg(&at).status();
        }
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `vendorwatch ARGS` with stdout going to `stdout`; the output (stdout captured only when
/// `stdout` is `Stdio::piped()`).
fn run_with_stdout(args: &[&str], stdout: Stdio) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(common::repo())
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("run vendorwatch")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The N of the summary's "eve records written: N".
fn records_written(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| l.split("eve records written: ").nth(1))
        .and_then(|v| v.split([',', ' ']).next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no 'eve records written' in:\n{stderr}"))
}

/// A raw IPv4 UDP packet.
fn ipv4_udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    vw_craft::ipv4(src, dst, 17, &vw_craft::udp(sport, dport, payload))
}

/// `n` DNS queries for a Kaspersky update name, each from another host: `n` alerts, none
/// suppressed.
fn queries(n: u32) -> Vec<(u32, Vec<u8>)> {
    let query = dns_message("s01.upd.kaspersky.com", None);
    (0..n)
        .map(|i| {
            (
                1_727_784_000 + i,
                ipv4_udp(source(u64::from(i) + 1), [10, 0, 0, 53], 40000, 53, &query),
            )
        })
        .collect()
}

/// Every line of an EVE file is whole JSON and the file ends with a newline; the number of
/// lines.
fn whole_json_lines(file: &Path) -> usize {
    let bytes = std::fs::read(file).expect("read EVE file");
    assert!(
        bytes.is_empty() || bytes.ends_with(b"\n"),
        "{} ends with half a line: {:?}",
        file.display(),
        String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(80)..])
    );
    common::parse_lines(&bytes).len()
}

// ---- item 4: a full disk ----

/// `>/dev/full`: nothing reaches the output, so nothing is counted written; the output is
/// blamed (exit 2, its error named), the input is not.
#[test]
fn eve_to_dev_full_counts_no_record_written() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("open /dev/full");
    let out = run_with_stdout(&["scan", "pcaps/kaspersky-dns.pcap"], Stdio::from(full));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(records_written(&err), 0, "{err}");
    assert!(
        err.contains("stdout: writing EVE records failed: No space left on device"),
        "{err}"
    );
    assert!(err.contains("files: 1 read, 0 failed"), "{err}");
}

/// A 64 KiB tmpfs filled by the EVE output (an `--eve` file with two workers, and stdout
/// redirected to a file with one): the file keeps whole lines only, the summary counts
/// exactly those lines, the output is blamed and the input is not.
#[test]
fn full_disk_keeps_whole_lines_and_counts_only_them() {
    let mut dir = TempDir::new("tmpfs");
    let mnt = match dir.mount_tmpfs("mnt", "64k") {
        Ok(m) => m,
        Err(reason) => {
            eprintln!("SKIP full_disk_keeps_whole_lines_and_counts_only_them: {reason}");
            return;
        }
    };
    let capture = dir.join("queries.pcap");
    std::fs::write(&capture, common::pcap_ipv4(&queries(2000))).unwrap();
    let capture = common::netns::path(&capture).to_string();

    let eve = mnt.join("eve.json");
    let out = run_with_stdout(
        &[
            "scan",
            "--workers",
            "2",
            "--eve",
            common::netns::path(&eve),
            &capture,
        ],
        Stdio::null(),
    );
    let err = full_disk_checks(&out, &eve);
    assert!(
        err.contains("eve.json: writing EVE records failed: No space left on device"),
        "{err}"
    );
    std::fs::remove_file(&eve).unwrap();

    let redirected = mnt.join("stdout.json");
    let file = std::fs::File::create(&redirected).unwrap();
    let out = run_with_stdout(&["scan", &capture], Stdio::from(file));
    let err = full_disk_checks(&out, &redirected);
    assert!(
        err.contains("stdout: writing EVE records failed: No space left on device"),
        "{err}"
    );
    // One worker: reading stops at the failed write, in the middle of the capture.
    assert!(
        err.contains("files: 0 read, 0 failed, 1 not finished (the output failed)"),
        "{err}"
    );
}

/// A run that filled the disk: exit 2, whole lines only in `file`, all of them and no more
/// counted written, the input not blamed. Its stderr.
fn full_disk_checks(out: &Output, file: &Path) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines = whole_json_lines(file);
    assert!(lines > 0, "some records fit: {err}");
    assert_eq!(records_written(&err) as usize, lines, "{err}");
    assert!(
        !err.contains("1 failed"),
        "the input is not to blame: {err}"
    );
    err
}

/// An EVE file left ending in half a line (a crash, a full disk before this fix): the next
/// run starts on a fresh line instead of gluing its first record to the half one.
#[test]
fn appending_after_a_half_line_starts_a_fresh_line() {
    let dir = TempDir::new("half");
    let eve = dir.join("eve.json");
    let half = r#"{"timestamp":"2024-10-01T12:00:00.000000+0000","event_type":"al"#;
    std::fs::write(&eve, half).unwrap();
    let out = run_with_stdout(
        &[
            "scan",
            "--eve",
            common::netns::path(&eve),
            "pcaps/kaspersky-dns.pcap",
        ],
        Stdio::null(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let text = std::fs::read_to_string(&eve).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(half), "the half line is left as it was");
    let rest: Vec<&str> = lines.collect();
    assert_eq!(rest.len() as u64, records_written(&err), "{err}");
    for line in rest {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("glued or broken line {line:?}: {e}"));
    }
}

// ---- item 5: a closed stdout ----

/// `vendorwatch ... >&-` (and stdout open read-only): EVE would go nowhere, so the run is
/// refused at start with exit 2 instead of discarding every record and exiting 0. With
/// `--eve FILE` stdout is not needed and the run goes on.
#[test]
fn closed_or_read_only_stdout_is_refused() {
    let bin = env!("CARGO_BIN_EXE_vendorwatch");
    let sh = |script: &str| {
        Command::new("sh")
            .args(["-c", script, bin])
            .current_dir(common::repo())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .expect("run sh")
    };
    for (how, script) in [
        ("closed", r#"exec "$0" scan pcaps/kaspersky-dns.pcap >&-"#),
        (
            "read-only",
            r#"exec "$0" scan pcaps/kaspersky-dns.pcap 1</dev/null"#,
        ),
    ] {
        let out = sh(script);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{how} stdout: {err}");
        assert!(
            err.lines().any(|l| l.starts_with("vendorwatch: stdout")),
            "{how} stdout: {err}"
        );
        assert!(!err.contains("summary"), "refused before scanning: {err}");
    }
    let dir = TempDir::new("stdout");
    let eve = dir.join("eve.json");
    let out = sh(&format!(
        r#"exec "$0" scan -q --eve {} pcaps/kaspersky-dns.pcap >&-"#,
        common::netns::path(&eve)
    ));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(whole_json_lines(&eve) > 0);
}

// ---- item 6: a record too large for one datagram ----

/// A DNS response with 4000 answers for a Kaspersky name: an alert of some 300 KB.
fn huge_response() -> Vec<u8> {
    let mut m = dns_message("s01.upd.kaspersky.com", Some([192, 0, 2, 1]));
    let answer = m[m.len() - 16..].to_vec();
    for i in 1..4000u16 {
        let mut a = answer.clone();
        a[14..16].copy_from_slice(&i.to_be_bytes());
        m.extend_from_slice(&a);
    }
    m[6..8].copy_from_slice(&4000u16.to_be_bytes());
    m
}

/// One oversized alert ahead of 100 ordinary ones over UDP syslog: it is dropped and counted
/// as oversized, never retried, and the 100 behind it are delivered.
#[test]
fn oversized_record_does_not_stall_udp_syslog() {
    let dir = TempDir::new("udp");
    let mut packets = vec![(
        1_727_783_999,
        ipv4_udp([10, 0, 0, 53], [10, 9, 9, 9], 53, 40000, &huge_response()),
    )];
    packets.extend(queries(100));
    let capture = dir.join("huge.pcap");
    std::fs::write(&capture, common::pcap_ipv4(&packets)).unwrap();

    let listener = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Room for every datagram even when this thread is slow to read (a loaded machine).
    let room: libc::c_int = 8 << 20;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        use std::os::fd::AsRawFd;
        // SAFETY: setsockopt on our own socket with a pointer to a live c_int.
        let rc = unsafe {
            libc::setsockopt(
                listener.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&raw const room).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            break;
        }
    }
    listener
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let receiver = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 70_000];
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.len() < 100 && Instant::now() < deadline {
            if let Ok(n) = listener.recv(&mut buf) {
                got.push(n);
            }
        }
        // Anything more (there should be nothing) within a short while.
        let quiet = Instant::now() + Duration::from_millis(500);
        while Instant::now() < quiet {
            if let Ok(n) = listener.recv(&mut buf) {
                got.push(n);
            }
        }
        got
    });
    let out = run_with_stdout(
        &[
            "scan",
            "--syslog",
            &format!("udp://127.0.0.1:{port}"),
            "--sink-drain",
            "5",
            common::netns::path(&capture),
        ],
        Stdio::null(),
    );
    let err = stderr(&out);
    let got = receiver.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(got.len(), 100, "datagrams received: {err}");
    assert!(err.contains("alerts: 101"), "{err}");
    assert!(
        err.contains("produced 101, delivered 100, dropped 1 (1 oversized)"),
        "{err}"
    );
}

// ---- item 9: CSV formula injection ----

/// Report cells from hostile names cannot start a spreadsheet formula: each cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return gets a leading `'` (OWASP), and quoting stays
/// RFC 4180.
#[test]
fn csv_report_cells_cannot_start_a_formula() {
    let dir = TempDir::new("csv");
    let eve = dir.join("eve.json");
    let alert = serde_json::json!({
        "timestamp": "2024-10-01T12:00:00.000000+0000",
        "event_type": "alert",
        "src_ip": "10.0.0.7",
        "dest_ip": "10.0.0.53",
        "alert": {
            "signature_id": 1,
            "signature": "rule",
            "metadata": {
                "vendor": ["=HYPERLINK(\"http://x.example/\",\"open\")"],
                "channel": ["+1+2"],
                "matched_name": ["-2+3,@SUM(A1)"],
            }
        }
    });
    let mut f = std::fs::File::create(&eve).unwrap();
    writeln!(f, "{alert}").unwrap();
    drop(f);
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["report", "--format", "csv", common::netns::path(&eve)])
        .output()
        .expect("run vendorwatch report");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let rows = parse_csv(&text);
    assert_eq!(rows.len(), 2, "{text}");
    for cell in &rows[1] {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "cell {cell:?} starts a formula in:\n{text}"
        );
    }
    assert_eq!(rows[1][1], "'=HYPERLINK(\"http://x.example/\",\"open\")");
    assert_eq!(rows[1][2], "'+1+2");
    assert_eq!(rows[1][4], "'-2+3,@SUM(A1)");
}

/// RFC 4180: fields separated by commas, quoted fields with `""` for a quote; rows end in
/// CRLF or LF outside quotes.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

// ---- item 7: the EVE file cannot be reopened after a rotation ----

/// `live --user nobody` with its EVE file in a directory only root may write to: logrotate
/// moves the file away and sends SIGHUP, the reopen fails (nobody cannot create the new
/// file). The sensor says so on stderr, counts it (summary, metrics), keeps capturing and
/// keeps writing to the file it had open; once the directory is fixed, the next SIGHUP
/// reopens. Captures on `lo` of a namespace of its own; `dig` makes the DNS queries.
#[test]
fn live_keeps_writing_the_old_eve_file_when_reopen_fails() {
    use common::netns::{
        Lab, is_root, json_lines, missing, path, poll, run, run_in, signal, unique,
    };
    use common::servers::{Net, metric, scrape};
    let skip = |reason: &str| {
        eprintln!("SKIP live_keeps_writing_the_old_eve_file_when_reopen_fails: {reason}")
    };
    if !is_root() {
        return skip("needs root (network namespace, --user)");
    }
    if let Some(tool) = missing(&["ip", "dig"]) {
        return skip(&format!("{tool} not found"));
    }
    if run(&["id", "nobody"]).is_err() {
        return skip("no user nobody");
    }
    let mut lab = Lab::new(&unique("reopen"));
    let ns = unique("vwreopen");
    if let Err(e) = lab.netns(&ns) {
        return skip(&e);
    }
    let logs = lab.dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&lab.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (eve, rotated) = (logs.join("eve.json"), logs.join("eve.json.1"));
    let port = common::servers::free_port().to_string();
    let mut vw = lab.vendorwatch_in(
        &ns,
        &[
            "live",
            "-i",
            "lo",
            "--user",
            "nobody",
            "--stats-interval",
            "0",
            "--suppress-window",
            "0",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("live --user nobody");
    let alerts = |file: &Path| {
        json_lines(file)
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .count()
    };
    let lookup = |name: &str| {
        let _ = run_in(&ns, &["dig", "+time=1", "+tries=1", "@127.0.0.1", name]);
    };
    lookup("s01.upd.kaspersky.com");
    assert!(
        poll(Duration::from_secs(10), || alerts(&eve) > 0),
        "no alert before the rotation:\n{}",
        vw.stderr.text()
    );

    // logrotate: the file is moved away, then SIGHUP. nobody cannot create eve.json anew.
    std::fs::rename(&eve, &rotated).unwrap();
    let before = alerts(&rotated);
    signal(vw.pid, libc::SIGHUP);
    lookup("s02.upd.kaspersky.com");
    assert!(
        vw.stderr.wait_for("cannot reopen", Duration::from_secs(10)),
        "the failed reopen is not reported:\n{}",
        vw.stderr.text()
    );
    assert!(
        poll(Duration::from_secs(10), || alerts(&rotated) > before),
        "the alert after the failed reopen is lost:\n{}",
        vw.stderr.text()
    );
    assert!(lab.running(vw.pid), "{}", vw.stderr.text());
    assert!(!eve.exists());
    let body = scrape(Net::Ns(&ns), port.parse().unwrap()).expect("scrape metrics");
    assert_eq!(
        metric(&body, "vendorwatch_eve_reopen_failures_total"),
        Some(1),
        "{body}"
    );

    // The directory is fixed: the next SIGHUP reopens, and records go to the new file.
    std::fs::set_permissions(&logs, std::fs::Permissions::from_mode(0o777)).unwrap();
    signal(vw.pid, libc::SIGHUP);
    // The reopen is asked for once the reload is done: an alert written before that (the
    // capture hands packets over within milliseconds) would still go to the old file.
    assert!(
        vw.stderr
            .wait_for_count("signatures reloaded", 2, Duration::from_secs(10)),
        "{}",
        vw.stderr.text()
    );
    lookup("s03.upd.kaspersky.com");
    assert!(
        poll(Duration::from_secs(10), || eve.exists() && alerts(&eve) > 0),
        "no alert in the reopened file:\n{}",
        vw.stderr.text()
    );
    signal(vw.pid, libc::SIGTERM);
    let status = lab.wait_exit(vw.pid, Duration::from_secs(20));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        vw.stderr.text()
    );
    assert!(
        vw.stderr
            .wait_for("eve reopen failures: 1", Duration::from_secs(5)),
        "{}",
        vw.stderr.text()
    );
}
