//! Host identity end to end on crafted captures: DHCP leases move an address from one machine
//! to another, and each alert names the machine that held the address at the packet's time,
//! with one worker and with several, with and without Ethernet addresses in the capture. A
//! router's MAC is never a host's. A DHCP flood of random MACs stays under the cap, its
//! evictions counted in the summary. (The same with real clients in namespaces:
//! `tests/identity_netns.rs`.)

mod common;

use vw_craft::dhcp::{ACK, Dhcp, RELEASE, REQUEST};
use vw_craft::dns::Dns;
use vw_craft::pcap::{LINKTYPE_ETHERNET, LINKTYPE_RAW, file};
use vw_craft::{eth, ipv4, udp};

const MAC_A: [u8; 6] = [0x3c, 0x52, 0x82, 0x0a, 0x0a, 0x0a];
const MAC_B: [u8; 6] = [0x3c, 0x52, 0x82, 0x0b, 0x0b, 0x0b];
const ROUTER: [u8; 6] = [0x00, 0x11, 0x22, 0x33, 0x44, 0x55];
const SERVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x53];
const SERVER: [u8; 4] = [10, 1, 0, 1];
const RESOLVER: [u8; 4] = [10, 0, 0, 53];
const ADDR: [u8; 4] = [10, 1, 0, 11];
const T0: u64 = 1_733_300_000;

/// A DNS query for `name` from `src` (frame from `mac`).
fn query(mac: [u8; 6], src: [u8; 4], id: u16, name: &str) -> Vec<u8> {
    let msg = Dns::query(id).question(name, 1).build();
    eth(
        mac,
        SERVER_MAC,
        0x0800,
        &ipv4(src, RESOLVER, 17, &udp(40_000 + id, 53, &msg)),
    )
}

/// A lease of ADDR to A (WS-FIN-042), A's Kaspersky lookup, A's release, the lease of the same
/// address to B (LAPTOP-B), B's benign lookup, then B's own Kaspersky lookup. And a router
/// fronting ten addresses, one of which looks a Kaspersky name up.
fn scenario() -> Vec<(u64, Vec<u8>)> {
    let s = |secs: u64| (T0 + secs) * 1_000_000;
    let mut release = Dhcp::client(RELEASE, 3, MAC_A);
    release.ciaddr = ADDR;
    let mut p = vec![
        (
            s(0),
            Dhcp::client(REQUEST, 1, MAC_A)
                .hostname("WS-FIN-042")
                .vendor_class("MSFT 5.0")
                .option(50, &ADDR)
                .frame(SERVER, SERVER_MAC),
        ),
        (
            s(1),
            Dhcp::server(ACK, 1, MAC_A, ADDR)
                .lease(3600)
                .frame(SERVER, SERVER_MAC),
        ),
        (s(60), query(MAC_A, ADDR, 1, "dnl-01.geo.kaspersky.com")),
        (s(120), release.frame(SERVER, SERVER_MAC)),
        (
            s(200),
            Dhcp::client(REQUEST, 2, MAC_B)
                .hostname("LAPTOP-B")
                .vendor_class("android-dhcp-14")
                .frame(SERVER, SERVER_MAC),
        ),
        (
            s(201),
            Dhcp::server(ACK, 2, MAC_B, ADDR)
                .lease(3600)
                .frame(SERVER, SERVER_MAC),
        ),
        (s(260), query(MAC_B, ADDR, 2, "www.example.org")),
        (s(300), query(MAC_B, ADDR, 3, "ksn-a.kaspersky-labs.com")),
    ];
    for i in 0..10u8 {
        p.push((
            s(400),
            query(
                ROUTER,
                [10, 2, 0, 100 + i],
                10 + u16::from(i),
                "example.net",
            ),
        ));
    }
    p.push((
        s(500),
        query(ROUTER, [10, 2, 0, 109], 30, "dnl-02.geo.kaspersky.com"),
    ));
    p
}

/// The same packets without their Ethernet headers (a capture where frames carry no MAC).
fn raw(packets: &[(u64, Vec<u8>)]) -> Vec<(u64, Vec<u8>)> {
    packets
        .iter()
        .map(|(t, f)| (*t, f[14..].to_vec()))
        .collect()
}

/// (host, host_mac, host_name, host_vendor_class) of each alert, in time order.
fn alerts(run: &common::Run) -> Vec<(String, String, String, String)> {
    let mut out: Vec<_> = run
        .events("alert")
        .map(|r| {
            let m = &r["alert"]["metadata"];
            let one = |k: &str| m[k][0].as_str().unwrap_or("-").to_string();
            (
                r["timestamp"].as_str().unwrap_or("").to_string(),
                (
                    r["src_ip"].as_str().unwrap_or("").to_string(),
                    one("host_mac"),
                    one("host_name"),
                    one("host_vendor_class"),
                ),
            )
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, a)| a).collect()
}

fn scan(
    dir: &common::TempDir,
    name: &str,
    link: u32,
    packets: &[(u64, Vec<u8>)],
    args: &[&str],
) -> common::Run {
    let path = dir.path().join(name);
    std::fs::write(&path, file(link, packets)).expect("write pcap");
    let path = path.to_string_lossy().into_owned();
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.push(&path);
    let run = common::vendorwatch(&all);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    if !args.contains(&"ecs") {
        common::validate_eve(&run.records);
    }
    run
}

fn owned(a: [&str; 4]) -> (String, String, String, String) {
    (a[0].into(), a[1].into(), a[2].into(), a[3].into())
}

#[test]
fn alerts_name_the_machine_that_held_the_address_then() {
    let dir = common::TempDir::new("identity");
    let packets = scenario();
    for workers in ["1", "2", "3"] {
        let run = scan(
            &dir,
            "eth.pcap",
            LINKTYPE_ETHERNET,
            &packets,
            &["--workers", workers],
        );
        assert_eq!(
            alerts(&run),
            vec![
                owned(["10.1.0.11", "3c:52:82:0a:0a:0a", "WS-FIN-042", "MSFT 5.0"]),
                owned([
                    "10.1.0.11",
                    "3c:52:82:0b:0b:0b",
                    "LAPTOP-B",
                    "android-dhcp-14"
                ]),
                // Behind the router: its MAC is not the host's, and no lease names it.
                owned(["10.2.0.109", "-", "-", "-"]),
            ],
            "--workers {workers}"
        );
        let err = run.stderr();
        assert!(
            err.contains("host identity: 5 dhcp messages (0 invalid), 2 leases;"),
            "{err}"
        );
        assert!(err.contains("(1 routers)"), "{err}");
    }
    // Without MACs in the frames, the leases alone decide, by the packet's time: the first
    // alert is A's (MAC from A's lease) although B holds the address at the end.
    for workers in ["1", "2"] {
        let run = scan(
            &dir,
            "raw.pcap",
            LINKTYPE_RAW,
            &raw(&packets),
            &["--workers", workers],
        );
        let got = alerts(&run);
        assert_eq!(
            got[..2],
            [
                owned(["10.1.0.11", "3c:52:82:0a:0a:0a", "WS-FIN-042", "MSFT 5.0"]),
                owned([
                    "10.1.0.11",
                    "3c:52:82:0b:0b:0b",
                    "LAPTOP-B",
                    "android-dhcp-14"
                ]),
            ],
            "--workers {workers}"
        );
    }
}

#[test]
fn log_dhcp_writes_suricata_shaped_events() {
    let dir = common::TempDir::new("identity-log");
    let run = scan(
        &dir,
        "eth.pcap",
        LINKTYPE_ETHERNET,
        &scenario(),
        &["--log", "dhcp"],
    );
    let events: Vec<_> = run.events("dhcp").collect();
    assert_eq!(events.len(), 5);
    let ack = &events[1]["dhcp"];
    assert_eq!(ack["type"], "reply");
    assert_eq!(ack["dhcp_type"], "ack");
    assert_eq!(ack["client_mac"], "3c:52:82:0a:0a:0a");
    assert_eq!(ack["assigned_ip"], "10.1.0.11");
    assert_eq!(ack["lease_time"], 3600);
    let req = &events[0]["dhcp"];
    assert_eq!(req["type"], "request");
    assert_eq!(req["hostname"], "WS-FIN-042");
    assert_eq!(req["vendor_class_identifier"], "MSFT 5.0");
    assert_eq!(req["requested_ip"], "10.1.0.11");
    assert_eq!(events[2]["dhcp"]["dhcp_type"], "release");
    // ECS shapes the event too.
    let run = scan(
        &dir,
        "eth.pcap",
        LINKTYPE_ETHERNET,
        &scenario(),
        &["--log", "dhcp", "--format", "ecs"],
    );
    let ack = run
        .records
        .iter()
        .find(|r| r["client"]["mac"] == "3C-52-82-0A-0A-0A" && r["client"]["ip"] == "10.1.0.11");
    assert!(ack.is_some(), "{:?}", run.records);
    let alert = run
        .records
        .iter()
        .find(|r| r["event"]["kind"] == "alert")
        .expect("an ECS alert");
    assert_eq!(alert["host"]["name"], "WS-FIN-042");
    assert_eq!(alert["host"]["mac"][0], "3C-52-82-0A-0A-0A");
}

/// A DHCP flood of random MACs (each asking, each granted an address) stays under
/// `--identity-capacity`; every eviction is counted.
#[test]
fn dhcp_flood_of_random_macs_stays_under_the_cap() {
    let dir = common::TempDir::new("identity-flood");
    let mut packets = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for i in 0..3000u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_be_bytes();
        // Locally administered, unicast.
        let mac = [0x02, b[1], b[2], b[3], b[4], b[5]];
        let addr = [10, 50, (i >> 8) as u8, i as u8];
        let t = (T0 + i) * 1_000_000;
        packets.push((
            t,
            Dhcp::client(REQUEST, i as u32, mac)
                .hostname("x")
                .frame(SERVER, SERVER_MAC),
        ));
        packets.push((
            t,
            Dhcp::server(ACK, i as u32, mac, addr)
                .lease(600)
                .frame(SERVER, SERVER_MAC),
        ));
    }
    for workers in ["1", "2"] {
        let run = scan(
            &dir,
            "flood.pcap",
            LINKTYPE_ETHERNET,
            &packets,
            &["--identity-capacity", "256", "--workers", workers],
        );
        let err = run.stderr();
        let line = err
            .lines()
            .find(|l| l.contains("host identity:"))
            .unwrap_or_else(|| panic!("{err}"));
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        // dhcp, invalid, leases; held addresses, clients, macs, routers; evicted addresses,
        // clients, macs.
        let [
            msgs,
            invalid,
            leases,
            held_a,
            held_c,
            held_m,
            routers,
            ev_a,
            ev_c,
            ev_m,
        ] = nums[..]
        else {
            panic!("{line}");
        };
        assert_eq!(
            (msgs, invalid, leases, routers),
            (6000, 0, 3000, 0),
            "{line}"
        );
        assert!(held_a <= 256 && held_c <= 256 && held_m <= 256, "{line}");
        assert_eq!(held_a + ev_a, 3000, "{line}");
        assert_eq!(held_c + ev_c, 3000, "{line}");
        // Frames from the server's MAC only (the clients send from 0.0.0.0).
        assert_eq!((held_m, ev_m), (1, 0), "{line}");
    }
}

/// The report has one row per machine, from the scan and from its EVE output alike: A and B
/// held one address and are two rows; the host behind the router is a row by address.
#[test]
fn report_has_one_row_per_machine() {
    let dir = common::TempDir::new("identity-report");
    let pcap = dir.path().join("eth.pcap");
    std::fs::write(&pcap, file(LINKTYPE_ETHERNET, &scenario())).expect("write pcap");
    for workers in ["1", "2"] {
        let report = dir.path().join(format!("report-{workers}.json"));
        let eve = dir.path().join(format!("eve-{workers}.json"));
        let run = common::vendorwatch(&[
            "scan",
            "--workers",
            workers,
            "--eve",
            eve.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
            pcap.to_str().unwrap(),
        ]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        let from_eve = std::process::Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
            .args(["report", "--format", "json", eve.to_str().unwrap()])
            .output()
            .expect("run vendorwatch report");
        assert!(from_eve.status.success(), "{from_eve:?}");
        let docs = [
            std::fs::read_to_string(&report).expect("report written"),
            String::from_utf8_lossy(&from_eve.stdout).into_owned(),
        ];
        for doc in docs {
            let v: serde_json::Value = serde_json::from_str(&doc).expect("report JSON");
            let mut rows: Vec<(String, String, String)> = v["hosts"]
                .as_array()
                .expect("hosts")
                .iter()
                .map(|h| {
                    let s = |k: &str| h[k].as_str().unwrap_or("-").to_string();
                    (s("host"), s("host_mac"), s("host_name"))
                })
                .collect();
            rows.sort();
            assert_eq!(
                rows,
                vec![
                    (
                        "10.1.0.11".into(),
                        "3c:52:82:0a:0a:0a".into(),
                        "WS-FIN-042".into()
                    ),
                    (
                        "10.1.0.11".into(),
                        "3c:52:82:0b:0b:0b".into(),
                        "LAPTOP-B".into()
                    ),
                    ("10.2.0.109".into(), "-".into(), "-".into()),
                ],
                "--workers {workers}: {doc}"
            );
        }
    }
}
