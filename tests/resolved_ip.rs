//! DNS answer following end to end: a host resolves a Kaspersky update name, any host (the
//! one that asked included) later opens a connection to the returned address with no name of
//! its own, and the connection is alerted as `resolved-ip`, naming the original query. A
//! connection that names itself (SNI, Host) is left to that name's own matching.

mod common;

use vw_craft::dns::{Dns, Rdata};
use vw_craft::tls::ClientHello;
use vw_craft::{ACK, FIN, PSH, RST, SYN, ipv4, tcp, udp};

fn ipv4_udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv4(src, dst, 17, &udp(sport, dport, payload))
}

fn dns_response(name: &str, addr: [u8; 4], ttl: u32) -> Vec<u8> {
    Dns::response(0x1234)
        .question(name, 1)
        .answer(name, ttl, Rdata::A(addr))
        .build()
}

const PSH_ACK: u8 = PSH | ACK;
const FIN_ACK: u8 = FIN | ACK;

/// A TCP segment: a SYN takes sequence number 999, data starts at 1000.
fn ipv4_tcp(
    src: [u8; 4],
    sport: u16,
    dst: [u8; 4],
    dport: u16,
    flags: u8,
    payload: &[u8],
) -> Vec<u8> {
    let seq: u32 = if flags & SYN != 0 { 999 } else { 1000 };
    ipv4(src, dst, 6, &tcp(sport, dport, seq, 1, flags, payload))
}

/// A SYN from `src:port` to `dst:443`, the sequence number derived from the port.
fn syn(src: [u8; 4], port: u16, dst: [u8; 4]) -> Vec<u8> {
    let seq = u32::from(port).wrapping_mul(2_654_435_761);
    ipv4(src, dst, 6, &tcp(port, 443, seq, 0, SYN, &[]))
}

fn client_hello(sni: &str) -> Vec<u8> {
    ClientHello::new().random([7; 32]).sni(sni).record()
}

/// A response for `qname` whose answer is `qname CNAME target`, `target A addr`.
fn dns_cname_response(qname: &str, target: &str, addr: [u8; 4], ttl: u32) -> Vec<u8> {
    Dns::response(0x4321)
        .question(qname, 1)
        .answer(qname, ttl, Rdata::Cname(target))
        .answer(target, ttl, Rdata::A(addr))
        .build()
}

/// Scan `packets` (with extra arguments) and check every record against the EVE schema.
fn scan(tag: &str, packets: &[(u32, Vec<u8>)], extra: &[&str]) -> common::Run {
    let dir = std::env::temp_dir().join(format!("vw-resolved-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("resolved.pcap");
    std::fs::write(&path, common::pcap_ipv4(packets)).unwrap();
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["scan"];
    args.extend_from_slice(extra);
    args.push(&path);
    let run = common::vendorwatch(&args);
    assert!(matches!(run.code(), Some(0 | 1)), "{}", run.stderr());
    validate(&run);
    let _ = std::fs::remove_dir_all(&dir);
    run
}

fn validate(run: &common::Run) {
    let Some(schema) = common::schema_path() else {
        eprintln!("schema absent: records not validated");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for r in &run.records {
        let errors: Vec<String> = v.iter_errors(r).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{r}\n{errors:?}");
    }
}

fn resolved_alerts(run: &common::Run) -> Vec<serde_json::Value> {
    run.events("alert")
        .filter(|a| a["alert"]["metadata"]["observation"][0] == "resolved-ip")
        .cloned()
        .collect()
}

#[test]
fn connection_by_ip_to_a_resolved_kaspersky_address_alerts() {
    let server = [203, 0, 113, 7];
    let other = [198, 51, 100, 9];
    let dns = dns_response("dnl-07.geo.kaspersky.com", server, 300);
    let packets = vec![
        (
            1_700_000_000,
            ipv4_udp([9, 9, 9, 9], 53, [10, 0, 0, 5], 5353, &dns),
        ),
        // A SYN to an address never resolved: nothing.
        (1_700_000_010, syn([10, 0, 0, 6], 40001, other)),
        // A SYN by another host to the resolved address: resolved-ip.
        (1_700_000_020, syn([10, 0, 0, 6], 40000, server)),
        // After the TTL (300 s): nothing.
        (1_700_000_400, syn([10, 0, 0, 8], 40002, server)),
    ];
    let dir = std::env::temp_dir().join(format!("vw-resolved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("resolved.pcap");
    std::fs::write(&path, common::pcap_ipv4(&packets)).unwrap();
    let run = common::vendorwatch(&["scan", "--quiet", &path.to_string_lossy()]);
    let alerts: Vec<_> = run.events("alert").collect();
    let resolved: Vec<_> = alerts
        .iter()
        .filter(|a| a["alert"]["metadata"]["observation"][0] == "resolved-ip")
        .collect();
    assert_eq!(resolved.len(), 1, "{alerts:#?}\n{}", run.stderr());
    let a = resolved[0];
    assert_eq!(a["src_ip"], "10.0.0.6");
    assert_eq!(a["dest_ip"], "203.0.113.7");
    assert_eq!(a["pcap_cnt"], 3);
    assert_eq!(a["alert"]["metadata"]["matched_name"][0], "203.0.113.7");
    assert_eq!(
        a["alert"]["metadata"]["resolved_from"][0],
        "dnl-07.geo.kaspersky.com"
    );
    assert!(a.get("app_proto").is_none());
    if let Some(schema) = common::schema_path() {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        for r in &run.records {
            assert!(v.is_valid(r), "{r}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

const A: [u8; 4] = [10, 0, 0, 5];
const B: [u8; 4] = [10, 0, 0, 6];
const SERVER: [u8; 4] = [192, 0, 2, 10];
const T0: u32 = 1_700_000_000;

/// Host A resolves s01.upd.kaspersky.com; then A and other hosts connect to its address.
fn any_host_packets() -> Vec<(u32, Vec<u8>)> {
    let dns = dns_response("s01.upd.kaspersky.com", SERVER, 300);
    let get_by_ip = b"GET /bases/index.xml HTTP/1.1\r\nHost: 192.0.2.10\r\n\r\n";
    let get_named = b"GET / HTTP/1.1\r\nHost: updates.example.net\r\n\r\n";
    vec![
        // 1: the answer, to A.
        (T0, ipv4_udp([9, 9, 9, 9], 53, A, 5353, &dns)),
        // 2, 3: A itself connects by address and sends plain (not TLS/HTTP/DNS) data.
        (T0 + 1, ipv4_tcp(A, 40000, SERVER, 443, SYN, b"")),
        (
            T0 + 2,
            ipv4_tcp(A, 40000, SERVER, 443, PSH_ACK, b"\x00\x01KLUPD\x00"),
        ),
        // 4, 5: B: SYN, then RST: decided by the RST.
        (T0 + 3, ipv4_tcp(B, 40001, SERVER, 80, SYN, b"")),
        (T0 + 4, ipv4_tcp(B, 40001, SERVER, 80, RST, b"")),
        // 6, 7: C: a ClientHello with an unrelated SNI: a name of its own, no resolved-ip.
        (
            T0 + 5,
            ipv4_tcp([10, 0, 0, 7], 40002, SERVER, 443, SYN, b""),
        ),
        (
            T0 + 6,
            ipv4_tcp(
                [10, 0, 0, 7],
                40002,
                SERVER,
                443,
                PSH_ACK,
                &client_hello("www.example.org"),
            ),
        ),
        // 8: D: HTTP whose Host is the address itself (no name): decided by the request.
        (
            T0 + 7,
            ipv4_tcp([10, 0, 0, 8], 40003, SERVER, 80, PSH_ACK, get_by_ip),
        ),
        // 9: E: HTTP with a name of its own: nothing.
        (
            T0 + 8,
            ipv4_tcp([10, 0, 0, 9], 40004, SERVER, 80, PSH_ACK, get_named),
        ),
        // 10, 11: F: SYN, then FIN: decided by the FIN.
        (
            T0 + 9,
            ipv4_tcp([10, 0, 0, 10], 40005, SERVER, 8443, SYN, b""),
        ),
        (
            T0 + 10,
            ipv4_tcp([10, 0, 0, 10], 40005, SERVER, 8443, FIN_ACK, b""),
        ),
        // 12, 13: UDP from I (B again would be a suppressed repeat of B's alert): the first
        // datagram decides (alert), the second is silent.
        (
            T0 + 11,
            ipv4_udp([10, 0, 0, 13], 50000, SERVER, 1234, b"\x01ping"),
        ),
        (
            T0 + 12,
            ipv4_udp([10, 0, 0, 13], 50000, SERVER, 1234, b"\x01ping"),
        ),
        // 14: G: a SYN and nothing more: decided at the end of the input.
        (
            T0 + 13,
            ipv4_tcp([10, 0, 0, 11], 40006, SERVER, 443, SYN, b""),
        ),
        // 15, 16: after the TTL (300 s), plain data by H: nothing.
        (
            T0 + 400,
            ipv4_tcp([10, 0, 0, 12], 40007, SERVER, 443, SYN, b""),
        ),
        (
            T0 + 401,
            ipv4_tcp([10, 0, 0, 12], 40007, SERVER, 443, PSH_ACK, b"\x00\x01"),
        ),
    ]
}

#[test]
fn any_host_without_a_name_of_its_own_alerts_once_per_connection() {
    let run = scan("any", &any_host_packets(), &["--quiet"]);
    let resolved = resolved_alerts(&run);
    let got: Vec<(String, u64, String)> = resolved
        .iter()
        .map(|a| {
            (
                a["src_ip"].as_str().unwrap().to_string(),
                a["pcap_cnt"].as_u64().unwrap(),
                a["proto"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: Vec<(String, u64, String)> = [
        ("10.0.0.5", 3, "TCP"),
        ("10.0.0.6", 5, "TCP"),
        ("10.0.0.8", 8, "TCP"),
        ("10.0.0.10", 11, "TCP"),
        ("10.0.0.13", 12, "UDP"),
        ("10.0.0.11", 14, "TCP"),
    ]
    .iter()
    .map(|(ip, n, p)| (ip.to_string(), *n, p.to_string()))
    .collect();
    assert_eq!(got, want, "{resolved:#?}");
    for a in &resolved {
        assert_eq!(a["dest_ip"], "192.0.2.10");
        assert_eq!(a["alert"]["metadata"]["matched_name"][0], "192.0.2.10");
        assert_eq!(
            a["alert"]["metadata"]["resolved_from"][0],
            "s01.upd.kaspersky.com"
        );
        assert_eq!(a["alert"]["metadata"]["vendor"][0], "Kaspersky");
    }
    // The timestamp is the deciding packet's (pcap_cnt 3 is at T0 + 2).
    assert!(
        resolved[0]["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:22"),
        "{}",
        resolved[0]
    );
    // C's SNI is no Kaspersky name: no alert of any kind for C; the DNS answer alerted for A.
    assert!(run.events("alert").all(|a| a["src_ip"] != "10.0.0.7"));
    assert!(
        run.events("alert")
            .any(|a| a["alert"]["metadata"]["observation"][0] == "dns-query")
    );
}

#[test]
fn a_cname_chain_alerts_on_the_target_and_remembers_its_addresses() {
    let addr = [192, 0, 2, 9];
    let dns = dns_cname_response("innocent.example", "s02.upd.kaspersky.com", addr, 600);
    let packets = vec![
        (T0, ipv4_udp([9, 9, 9, 9], 53, A, 5353, &dns)),
        (T0 + 30, ipv4_tcp(B, 41000, addr, 443, SYN, b"")),
        (
            T0 + 31,
            ipv4_tcp(B, 41000, addr, 443, PSH_ACK, b"\x05\x00\x00\x00binary"),
        ),
    ];
    let run = scan("cname", &packets, &["--quiet", "--log", "dns"]);
    let alerts: Vec<_> = run.events("alert").collect();
    let dns_alerts: Vec<_> = alerts
        .iter()
        .filter(|a| a["alert"]["metadata"]["observation"][0] == "dns-answer")
        .collect();
    assert_eq!(dns_alerts.len(), 1, "{alerts:#?}");
    assert_eq!(
        dns_alerts[0]["alert"]["metadata"]["matched_name"][0],
        "s02.upd.kaspersky.com"
    );
    assert_eq!(dns_alerts[0]["dest_ip"], "10.0.0.5");
    assert!(
        alerts
            .iter()
            .all(|a| a["alert"]["metadata"]["matched_name"][0] != "innocent.example")
    );
    let resolved = resolved_alerts(&run);
    assert_eq!(resolved.len(), 1, "{alerts:#?}");
    let a = &resolved[0];
    assert_eq!(a["src_ip"], "10.0.0.6");
    assert_eq!(a["dest_ip"], "192.0.2.9");
    assert_eq!(a["pcap_cnt"], 3);
    assert_eq!(
        a["alert"]["metadata"]["resolved_from"][0],
        "s02.upd.kaspersky.com"
    );
}

#[test]
fn flows_evicted_at_the_cap_are_decided_and_counted() {
    let dns = dns_response("s03.upd.kaspersky.com", SERVER, 300);
    let mut packets = vec![(T0, ipv4_udp([9, 9, 9, 9], 53, A, 5353, &dns))];
    // Three SYNs to the address with a one-flow table: each new flow evicts the one before.
    for (i, host) in [[10, 0, 1, 1], [10, 0, 1, 2], [10, 0, 1, 3]]
        .iter()
        .enumerate()
    {
        packets.push((
            T0 + 1 + i as u32,
            ipv4_tcp(*host, 42000, SERVER, 443, SYN, b""),
        ));
    }
    let run = scan("cap", &packets, &["--max-flows", "1", "--log", "dns"]);
    let resolved = resolved_alerts(&run);
    let got: Vec<(&str, u64)> = resolved
        .iter()
        .map(|a| {
            (
                a["src_ip"].as_str().unwrap(),
                a["pcap_cnt"].as_u64().unwrap(),
            )
        })
        .collect();
    // Evicted flows report their own latest packet; the last one is decided at the end.
    assert_eq!(
        got,
        [("10.0.1.1", 2), ("10.0.1.2", 3), ("10.0.1.3", 4)],
        "{resolved:#?}"
    );
    assert!(
        run.stderr().contains("2 evicted at the flow cap"),
        "{}",
        run.stderr()
    );
}
