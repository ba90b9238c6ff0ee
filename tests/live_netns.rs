//! `vendorwatch live` on a real interface: two network namespaces joined by a veth pair, a
//! resolver (dnsmasq) and a TLS server (`openssl s_server`) in one, real `dig` and `curl` in
//! the other, where vendorwatch captures. A second interface is deleted while capturing: it is
//! reported and the other goes on. Then SIGTERM: every expected alert is in the EVE file, no
//! decoy alerts, a stats record, exit 0. The run is made with each `--capture` method.
//!
//! Needs root and `ip netns`; skips with a printed reason otherwise (or when a tool is
//! missing: `.ci/run` installs them). Namespaces and processes are removed by a Drop guard.

mod common;

use std::time::Duration;

use common::netns::{Lab, is_root, json_lines, missing, path, run, run_in, signal, unique};

fn skip(reason: &str) {
    eprintln!("SKIP live_netns: {reason}");
}

#[test]
fn live_capture_in_network_namespaces_afpacket() {
    live_capture_in_network_namespaces("afpacket");
}

#[test]
fn live_capture_in_network_namespaces_pcap() {
    live_capture_in_network_namespaces("pcap");
}

/// The whole run with one `--capture` method.
fn live_capture_in_network_namespaces(capture: &str) {
    if !is_root() {
        return skip("not root");
    }
    if let Some(tool) = missing(&["ip", "dig", "dnsmasq", "curl", "openssl"]) {
        return skip(&format!("{tool} not installed (.ci/run installs it)"));
    }
    // The two methods' runs share the process: names differ by the method's initial.
    let id = unique(&capture[..1]);
    let (client, server) = (format!("vwc{id}"), format!("vws{id}"));
    let mut lab = Lab::new(&format!("live-{id}"));
    for ns in [&client, &server] {
        if let Err(e) = lab.netns(ns) {
            return skip(&format!("ip netns failed: {e}"));
        }
    }
    let (cif, sif, xif) = (format!("vc{id}"), format!("vs{id}"), format!("vx{id}"));
    let setup = lab
        .veth(
            (&client, &cif, "10.251.0.1/24"),
            (&server, &sif, "10.251.0.2/24"),
        )
        // A second interface, deleted while capturing.
        .and_then(|()| {
            run(&[
                "ip", "-n", &client, "link", "add", &xif, "type", "veth", "peer", "name", "vwpeer",
            ])
        })
        .and_then(|_| run(&["ip", "-n", &client, "link", "set", &xif, "up"]));
    if let Err(e) = setup {
        return skip(&format!("namespace setup failed: {e}"));
    }
    lab.resolver(&server, "10.251.0.2", "10.251.0.2")
        .expect("dnsmasq");
    lab.tls_server(&server, "10.251.0.2")
        .expect("openssl s_server");

    let eve = lab.dir.join("eve.json");
    let mut vw = lab.vendorwatch_in(
        &client,
        &[
            "live",
            "--capture",
            capture,
            "-i",
            &cif,
            "-i",
            &xif,
            "--workers",
            "2",
            "--stats-interval",
            "1",
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("vendorwatch");

    run(&["ip", "-n", &client, "link", "del", &xif]).expect("delete the second interface");
    assert!(
        vw.stderr
            .wait_for(&format!("{xif}: capture stopped"), Duration::from_secs(5)),
        "a vanished interface is reported:\n{}",
        vw.stderr.text()
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
        run_in(
            &client,
            &["dig", "+short", "+time=2", "+tries=2", "@10.251.0.2", name],
        )
        .expect("dig")
    };
    for name in expected_dns.iter().chain(&decoys) {
        assert!(dig(name).contains("10.251.0.2"), "dnsmasq answered {name}");
    }
    let curl = |url: &str, host: &str, port: &str| {
        let resolve = format!("{host}:{port}:10.251.0.2");
        let _ = run_in(
            &client,
            &[
                "curl",
                "-sk",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "--resolve",
                &resolve,
                url,
            ],
        );
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
    signal(vw.pid, libc::SIGTERM);
    let status = lab
        .wait_exit(vw.pid, Duration::from_secs(15))
        .expect("vendorwatch did not stop within 15 s of SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit 0 after SIGTERM:\n{}",
        vw.stderr.text()
    );

    let records = json_lines(&eve);
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
    // ARP and ICMPv6 neighbour discovery cross the veth too: not ours, but not malformed.
    assert_eq!(
        last["stats"]["decoder"]["invalid"].as_u64(),
        Some(0),
        "ARP/ICMP counted as invalid: {last}"
    );
}
