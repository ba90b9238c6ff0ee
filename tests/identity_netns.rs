//! Host identity with real DHCP clients: dnsmasq serves DHCP (a range of one address) and DNS
//! on a bridge in one namespace; two clients in their own namespaces (busybox `udhcpc`, each
//! sending a host name and a vendor class) take the same address one after the other. The
//! first looks a Kaspersky name up with `dig`, then releases its lease; the second takes the
//! address and looks something benign up. Captured twice at once: by `vendorwatch live`
//! (two workers) on the bridge, and by `tcpdump`, whose file is then scanned with one worker
//! and with two. Every way, the alert names the first machine (its MAC and host name), not the
//! second, and the report has one row per machine.
//!
//! Needs root, `ip`, `dnsmasq`, `udhcpc`, `dig` and `tcpdump` (`scripts/deps.sh test`
//! installs them); skips with a printed reason otherwise.

mod common;

use std::time::Duration;

use common::netns::{Lab, is_root, json_lines, missing, path, poll, run, run_in, signal, unique};

fn skip(reason: &str) {
    eprintln!("SKIP identity_netns: {reason}");
}

const MAC_A: &str = "02:aa:00:00:00:0a";
const MAC_B: &str = "02:bb:00:00:00:0b";
const LEASED: &str = "10.78.0.50";

/// udhcpc's event script: put the leased address on the interface, or take it off.
const SCRIPT: &str = r#"#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface" ;;
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
esac
exit 0
"#;

#[test]
fn alert_names_the_machine_that_held_the_lease() {
    if !is_root() {
        return skip("not root");
    }
    if let Some(tool) = missing(&["ip", "dnsmasq", "udhcpc", "dig", "tcpdump"]) {
        return skip(&format!(
            "{tool} not installed (scripts/deps.sh test installs it)"
        ));
    }
    let id = unique("");
    let (srv, ca, cb) = (format!("vds{id}"), format!("vda{id}"), format!("vdb{id}"));
    let mut lab = Lab::new(&format!("identity-{id}"));
    for ns in [&srv, &ca, &cb] {
        if let Err(e) = lab.netns(ns) {
            return skip(&format!("ip netns failed: {e}"));
        }
    }
    let setup = (|| -> Result<(), String> {
        run(&["ip", "-n", &srv, "link", "add", "br0", "type", "bridge"])?;
        run(&[
            "ip",
            "-n",
            &srv,
            "addr",
            "add",
            "10.78.0.1/24",
            "dev",
            "br0",
        ])?;
        run(&["ip", "-n", &srv, "link", "set", "br0", "up"])?;
        for (ns, mac, port) in [(&ca, MAC_A, "pa"), (&cb, MAC_B, "pb")] {
            run(&[
                "ip", "-n", ns, "link", "add", "eth0", "address", mac, "type", "veth", "peer",
                "name", port, "netns", &srv,
            ])?;
            run(&["ip", "-n", &srv, "link", "set", port, "master", "br0"])?;
            run(&["ip", "-n", &srv, "link", "set", port, "up"])?;
            run(&["ip", "-n", ns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    })();
    if let Err(e) = setup {
        return skip(&format!("namespace setup failed: {e}"));
    }
    let script = lab.dir.join("udhcpc.sh");
    std::fs::write(&script, SCRIPT).expect("write udhcpc script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod udhcpc script");

    // The sensor, live, and tcpdump, both on the bridge.
    let (eve, live_report) = (lab.dir.join("live.json"), lab.dir.join("live-report.json"));
    let mut vw = lab.vendorwatch_in(
        &srv,
        &[
            "live",
            "-i",
            "br0",
            "--workers",
            "2",
            "--eve",
            path(&eve),
            "--report",
            path(&live_report),
        ],
    );
    vw.expect_capturing("vendorwatch");
    let pcap = lab.dir.join("dhcp.pcap");
    let tcpdump_log = lab.dir.join("tcpdump.log");
    let tcpdump_cmd = format!(
        "exec tcpdump -i br0 --immediate-mode -U -w {} 2>{}",
        path(&pcap),
        path(&tcpdump_log)
    );
    let tcpdump = lab.spawn_in(&srv, &["sh", "-c", &tcpdump_cmd]);
    assert!(
        poll(Duration::from_secs(10), || std::fs::metadata(&pcap)
            .is_ok_and(|m| m.len() >= 24)),
        "tcpdump did not start"
    );
    // dnsmasq: DHCP with a single address to lease, DNS answering the two names.
    lab.spawn_in(
        &srv,
        &[
            "dnsmasq",
            "--no-daemon",
            "--no-resolv",
            "--no-hosts",
            "--bind-interfaces",
            "--interface=br0",
            "--except-interface=lo",
            "--dhcp-range=10.78.0.50,10.78.0.50,255.255.255.0,120s",
            "--no-ping",
            &format!("--dhcp-leasefile={}", path(&lab.dir.join("leases"))),
            "--address=/kaspersky.com/10.78.0.9",
            "--address=/example.org/10.78.0.9",
            "--user=root",
            "--pid-file=",
        ],
    );
    let lease = |lab: &mut Lab, ns: &str, name: &str, vendor: &str| -> u32 {
        let pid = lab.spawn_in(
            ns,
            &[
                "udhcpc",
                "-f",
                "-i",
                "eth0",
                "-s",
                path(&script),
                "-x",
                &format!("hostname:{name}"),
                "-V",
                vendor,
                "-t",
                "10",
                "-T",
                "1",
            ],
        );
        let leased = poll(Duration::from_secs(20), || {
            run(&["ip", "-n", ns, "-4", "addr", "show", "eth0"]).is_ok_and(|o| o.contains(LEASED))
        });
        assert!(leased, "{name} did not lease {LEASED}");
        pid
    };
    let dig = |ns: &str, name: &str| {
        let out = run_in(
            ns,
            &["dig", "+short", "+time=2", "+tries=2", "@10.78.0.1", name],
        )
        .expect("dig");
        assert!(out.contains("10.78.0.9"), "dnsmasq answered {name}: {out}");
    };

    let a = lease(&mut lab, &ca, "ws-kasp-a", "MSFT 5.0");
    dig(&ca, "dnl-01.geo.kaspersky.com");
    // Release (udhcpc sends DHCPRELEASE on SIGUSR2 and takes the address off), then stop.
    signal(a, libc::SIGUSR2);
    assert!(
        poll(Duration::from_secs(10), || {
            run(&["ip", "-n", &ca, "-4", "addr", "show", "eth0"]).is_ok_and(|o| !o.contains(LEASED))
        }),
        "A released its lease"
    );
    signal(a, libc::SIGTERM);
    let b = lease(&mut lab, &cb, "laptop-b", "android-dhcp-14");
    dig(&cb, "www.example.org");
    signal(b, libc::SIGTERM);
    // Every packet through tcpdump's ring before it stops (immediate mode; and a margin).
    std::thread::sleep(Duration::from_millis(1500));
    signal(tcpdump, libc::SIGINT);
    lab.wait_exit(tcpdump, Duration::from_secs(10))
        .expect("tcpdump stopped");
    signal(vw.pid, libc::SIGTERM);
    let status = lab
        .wait_exit(vw.pid, Duration::from_secs(15))
        .expect("vendorwatch stopped within 15 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", vw.stderr.text());

    let check = |what: &str, records: &[serde_json::Value], report: &serde_json::Value| {
        common::validate_eve(records);
        let alerts: Vec<_> = records
            .iter()
            .filter(|r| r["event_type"] == "alert")
            .collect();
        assert!(!alerts.is_empty(), "{what}: no alert");
        for al in &alerts {
            let m = &al["alert"]["metadata"];
            assert_eq!(al["src_ip"], LEASED, "{what}: {al}");
            assert_eq!(m["host_mac"][0], MAC_A, "{what}: {al}");
            assert_eq!(m["host_name"][0], "ws-kasp-a", "{what}: {al}");
            assert_eq!(m["host_vendor_class"][0], "MSFT 5.0", "{what}: {al}");
        }
        let rows = report["hosts"].as_array().expect("report hosts");
        assert_eq!(rows.len(), 1, "{what}: one machine alerted: {report}");
        assert_eq!(rows[0]["host_mac"], MAC_A, "{what}: {report}");
        assert_eq!(rows[0]["host"], LEASED, "{what}: {report}");
    };
    let live_records = json_lines(&eve);
    let live_report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&live_report).expect("live report"))
            .expect("report JSON");
    check("live --workers 2", &live_records, &live_report);
    // B's lease was seen too.
    let stderr = vw.stderr.text();
    assert!(stderr.contains("host identity:"), "{stderr}");

    for workers in ["1", "2"] {
        let report = lab.dir.join(format!("scan-{workers}.json"));
        let run = common::vendorwatch(&[
            "scan",
            "--workers",
            workers,
            "--log",
            "dhcp",
            "--report",
            path(&report),
            path(&pcap),
        ]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        // Both leases are in the dhcp events: the same address, two machines.
        let acks: Vec<(String, String)> = run
            .events("dhcp")
            .filter(|r| r["dhcp"]["dhcp_type"] == "ack")
            .map(|r| {
                let s = |k: &str| r["dhcp"][k].as_str().unwrap_or("").to_string();
                (s("client_mac"), s("assigned_ip"))
            })
            .collect();
        assert!(
            acks.contains(&(MAC_A.into(), LEASED.into()))
                && acks.contains(&(MAC_B.into(), LEASED.into())),
            "--workers {workers}: {acks:?}\n{}\ntcpdump: {}",
            run.stderr(),
            std::fs::read_to_string(&tcpdump_log).unwrap_or_default()
        );
        let doc: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report"))
                .expect("report JSON");
        let alerts: Vec<_> = run.records.clone();
        check(&format!("scan --workers {workers}"), &alerts, &doc);
    }
}
