//! `vendorwatch live` on a real interface: two network namespaces joined by a veth pair, a
//! resolver (dnsmasq) and a TLS server (`openssl s_server`) in one, real `dig` and `curl` in
//! the other, where vendorwatch captures. A second interface is deleted while capturing: it is
//! reported and the other goes on. Then SIGTERM: every expected alert is in the EVE file, no
//! decoy alerts, a stats record, exit 0.
//!
//! Needs root and `ip netns`; skips with a printed reason otherwise (or when a tool is
//! missing: `.ci/run` installs them). Namespaces and processes are removed by a Drop guard.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

struct Guard {
    namespaces: Vec<String>,
    children: Vec<Child>,
    dir: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run(cmd: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn skip(reason: &str) {
    eprintln!("SKIP live_netns: {reason}");
}

#[test]
fn live_capture_in_network_namespaces() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return skip("not root");
    }
    for tool in ["ip", "dig", "dnsmasq", "curl", "openssl"] {
        if !have(tool) {
            return skip(&format!("{tool} not installed (.ci/run installs it)"));
        }
    }
    let id = std::process::id() % 100_000;
    let (client, server) = (format!("vwc{id}"), format!("vws{id}"));
    let dir = std::env::temp_dir().join(format!("vw-live-{id}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut guard = Guard {
        namespaces: Vec::new(),
        children: Vec::new(),
        dir: dir.clone(),
    };
    for ns in [&client, &server] {
        if let Err(e) = run(&["ip", "netns", "add", ns]) {
            return skip(&format!("ip netns failed: {e}"));
        }
        guard.namespaces.push(ns.clone());
    }
    let (cif, sif, xif) = (format!("vc{id}"), format!("vs{id}"), format!("vx{id}"));
    let setup: Vec<Vec<&str>> = vec![
        vec![
            "ip", "link", "add", &cif, "type", "veth", "peer", "name", &sif,
        ],
        vec!["ip", "link", "set", &cif, "netns", &client],
        vec!["ip", "link", "set", &sif, "netns", &server],
        vec![
            "ip",
            "-n",
            &client,
            "addr",
            "add",
            "10.251.0.1/24",
            "dev",
            &cif,
        ],
        vec![
            "ip",
            "-n",
            &server,
            "addr",
            "add",
            "10.251.0.2/24",
            "dev",
            &sif,
        ],
        vec!["ip", "-n", &client, "link", "set", &cif, "up"],
        vec!["ip", "-n", &server, "link", "set", &sif, "up"],
        vec!["ip", "-n", &client, "link", "set", "lo", "up"],
        vec!["ip", "-n", &server, "link", "set", "lo", "up"],
        // A second interface, deleted while capturing.
        vec![
            "ip", "-n", &client, "link", "add", &xif, "type", "veth", "peer", "name", "vwpeer",
        ],
        vec!["ip", "-n", &client, "link", "set", &xif, "up"],
    ];
    for cmd in &setup {
        if let Err(e) = run(cmd) {
            return skip(&format!("namespace setup failed: {e}"));
        }
    }
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    run(&[
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=vw",
        "-days",
        "1",
        "-keyout",
        path(&key),
        "-out",
        path(&cert),
    ])
    .expect("make a certificate");
    let spawn_in = |ns: &str, args: &[&str]| -> Child {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn in namespace")
    };
    guard.children.push(spawn_in(
        &server,
        &[
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--listen-address=10.251.0.2",
            "--address=/#/10.251.0.2",
            "--user=root",
            "--pid-file=",
        ],
    ));
    guard.children.push(spawn_in(
        &server,
        &[
            "openssl",
            "s_server",
            "-quiet",
            "-www",
            "-accept",
            "443",
            "-cert",
            path(&cert),
            "-key",
            path(&key),
        ],
    ));

    let eve = dir.join("eve.json");
    let mut vw = Command::new("ip")
        .args([
            "netns",
            "exec",
            &client,
            env!("CARGO_BIN_EXE_vendorwatch"),
            "live",
        ])
        .args([
            "-i",
            &cif,
            "-i",
            &xif,
            "--workers",
            "2",
            "--stats-interval",
            "1",
        ])
        .args(["--eve", path(&eve)])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vendorwatch live");
    let stderr = vw.stderr.take().expect("stderr");
    let vw_pid = vw.id();
    guard.children.push(vw);
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[vendorwatch] {line}");
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let wait_for = |lines: &mut Vec<String>, what: &str, secs: u64| -> bool {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if lines.iter().any(|l| l.contains(what)) {
                return true;
            }
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                lines.push(l);
            }
        }
        lines.iter().any(|l| l.contains(what))
    };
    assert!(
        wait_for(&mut lines, "capturing on", 20),
        "vendorwatch did not start: {lines:?}"
    );
    // Wait for the servers to listen.
    std::thread::sleep(Duration::from_millis(500));

    run(&["ip", "-n", &client, "link", "del", &xif]).expect("delete the second interface");
    assert!(
        wait_for(&mut lines, &format!("{xif}: capture stopped"), 5),
        "a vanished interface is reported: {lines:?}"
    );

    let expected_dns = [
        "dnl-01.geo.kaspersky.com",
        "ksn-a-stat-geo.kaspersky-labs.com",
    ];
    let decoys = [
        "www.example.org",
        "notkaspersky.com",
        "kaspersky.com.evil.example",
    ];
    let dig = |name: &str| {
        run(&[
            "ip",
            "netns",
            "exec",
            &client,
            "dig",
            "+short",
            "+time=2",
            "+tries=2",
            "@10.251.0.2",
            name,
        ])
        .expect("dig")
    };
    for name in expected_dns.iter().chain(&decoys) {
        assert!(dig(name).contains("10.251.0.2"), "dnsmasq answered {name}");
    }
    let curl = |url: &str, host: &str, port: &str| {
        let resolve = format!("{host}:{port}:10.251.0.2");
        let _ = run(&[
            "ip",
            "netns",
            "exec",
            &client,
            "curl",
            "-sk",
            "-m",
            "5",
            "-o",
            "/dev/null",
            "--resolve",
            &resolve,
            url,
        ]);
    };
    curl(
        "https://activation-v2.kaspersky.com/",
        "activation-v2.kaspersky.com",
        "443",
    );
    curl("https://www.example.org/", "www.example.org", "443");
    // Plain HTTP to the TLS port: the request head goes out before the server gives up.
    curl("http://upd.kaspersky.com:443/x", "upd.kaspersky.com", "443");

    // Let a periodic stats record be written, then stop.
    std::thread::sleep(Duration::from_millis(1500));
    // SAFETY: kill(2) on the pid of our own child (ip netns exec execs vendorwatch).
    unsafe {
        libc::kill(vw_pid as libc::pid_t, libc::SIGTERM);
    }
    let vw = guard.children.last_mut().expect("vendorwatch");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = vw.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "vendorwatch did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "exit 0 after SIGTERM: {lines:?}");

    let text = std::fs::read_to_string(&eve).expect("EVE file");
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let alerts: Vec<(String, String)> = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            let m = &r["alert"]["metadata"];
            (
                m["matched_name"][0].as_str().unwrap_or("").to_string(),
                m["observation"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    eprintln!("alerts: {alerts:?}");
    let mut want: Vec<(&str, &str)> = expected_dns.iter().map(|n| (*n, "dns-query")).collect();
    want.push(("activation-v2.kaspersky.com", "tls-sni"));
    want.push(("upd.kaspersky.com", "http-host"));
    for (name, obs) in &want {
        assert!(
            alerts.iter().any(|(n, o)| n == name && o == obs),
            "missing alert {obs} {name}: {alerts:?}"
        );
    }
    // Suppression (on by default) keeps one alert per host, rule, name and observation kind
    // in its window: exactly one per expected name here, nothing lost, nothing doubled.
    for name in &expected_dns {
        let n = alerts.iter().filter(|(a, _)| a == name).count();
        assert_eq!(
            n, 1,
            "{name}: one alert (query; the response is a suppressed repeat)"
        );
    }
    for decoy in &decoys {
        assert!(
            !alerts.iter().any(|(n, _)| n.contains(decoy)),
            "decoy {decoy} alerted: {alerts:?}"
        );
    }
    let stats: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["event_type"] == "stats")
        .collect();
    assert!(stats.len() >= 2, "a periodic and a final stats record");
    let last = stats.last().expect("stats");
    assert_eq!(
        last["stats"]["detect"]["alert"].as_u64(),
        Some(alerts.len() as u64)
    );
    assert!(last["stats"]["capture"]["kernel_packets"].as_u64() > Some(0));
    assert_eq!(last["stats"]["capture"]["kernel_drops"].as_u64(), Some(0));
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
