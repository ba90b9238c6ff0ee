//! Names that sit past a small count or off the standard port: a QUIC ClientHello cut into
//! hundreds of reordered CRYPTO frames, a DNS message with more questions and answers than
//! the walk parses, and DNS on a port given with `--dns-port`.

mod common;

use vw_craft::dns::{self as craft, Dns};
use vw_craft::quic::{big_client_hello, crypto_frame};
use vw_craft::{ACK, PSH, SYN, ipv4, tcp, udp};
use vw_wire::proto::quic::VERSION_1;
use vw_wire::testing::seal_initial;

const CLIENT: [u8; 4] = [10, 0, 0, 5];
const SERVER: [u8; 4] = [192, 0, 2, 10];
const NAME: &str = "dnl-07.geo.kaspersky.com";
const T0: u32 = 1_700_000_000;

/// Alerts whose first observation is `observation`, as (matched name, sid).
fn alerts(run: &common::Run, observation: &str) -> Vec<(String, u64)> {
    run.events("alert")
        .filter(|a| a["alert"]["metadata"]["observation"][0] == observation)
        .map(|a| {
            let name = a["alert"]["metadata"]["matched_name"][0]
                .as_str()
                .unwrap_or("")
                .to_string();
            (name, a["alert"]["signature_id"].as_u64().unwrap_or(0))
        })
        .collect()
}

/// Client Initials carrying `hello` cut into `piece`-byte CRYPTO frames, sent out of order
/// (odd pieces last to first, then even pieces first to last), at most 1100 bytes of frames
/// per Initial; the number of frames with the datagrams.
fn fragmented_initials(hello: &[u8], piece: usize, dcid: &[u8]) -> (usize, Vec<Vec<u8>>) {
    let frames: Vec<Vec<u8>> = hello
        .chunks(piece)
        .enumerate()
        .map(|(i, c)| crypto_frame((i * piece) as u64, c))
        .collect();
    let n = frames.len();
    let order = (0..n)
        .rev()
        .filter(|i| i % 2 == 1)
        .chain((0..n).filter(|i| i % 2 == 0));
    let mut packets: Vec<Vec<u8>> = vec![Vec::new()];
    for i in order {
        if packets
            .last()
            .is_some_and(|p| p.len() + frames[i].len() > 1100)
        {
            packets.push(Vec::new());
        }
        packets.last_mut().unwrap().extend_from_slice(&frames[i]);
    }
    let datagrams = packets
        .iter()
        .enumerate()
        .map(|(pn, plain)| seal_initial(VERSION_1, dcid, pn as u32, plain))
        .collect();
    (n, datagrams)
}

/// Issue 18, item 3: a ClientHello in more than 64 CRYPTO frames (here ~190, reordered, ~90
/// per Initial) used to be dropped as "crypto frames over the cap"; it must alert on its SNI.
#[test]
fn quic_hello_in_hundreds_of_reordered_crypto_frames_alerts_on_its_sni() {
    let hello = big_client_hello(NAME);
    let (frames, datagrams) = fragmented_initials(&hello, 8, &[0x5a; 8]);
    assert!(frames > 150 && datagrams.len() >= 2, "{frames} frames");
    let packets: Vec<(u32, Vec<u8>)> = datagrams
        .iter()
        .map(|d| (T0, ipv4(CLIENT, SERVER, 17, &udp(50_000, 443, d))))
        .collect();
    let run = common::scan_ipv4("quic-frames", &packets, &["--log", "quic"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let quic: Vec<_> = run.events("quic").collect();
    assert_eq!(quic.len(), 1, "{}", run.stderr());
    assert_eq!(quic[0]["quic"]["sni"], NAME);
    let hits = alerts(&run, "quic-sni");
    assert_eq!(hits.len(), 1, "{}", run.stderr());
    assert_eq!(hits[0].0, NAME);
    assert!(
        run.stderr().contains("0 crypto frames over the cap"),
        "{}",
        run.stderr()
    );
}

/// A response with 20 questions (the first one a Kaspersky update name) and 5000 answers
/// (minimal TXT records owned by the first question): 60 KB, one UDP datagram.
fn over_limit_response() -> Vec<u8> {
    let mut dns = Dns::response(0x4242).question(NAME, 1);
    for i in 1..20 {
        dns = dns.question(&format!("q{i}.example.org"), 1);
    }
    let mut m = dns.build();
    m[..12].copy_from_slice(&craft::header(0x4242, 0x8180, [20, 5000, 0, 0]));
    for _ in 0..5000 {
        m.extend(craft::record(&[0xc0, 12], 16, 60, &[]));
    }
    assert!(m.len() < 65_000);
    m
}

/// Issue 18, item 4: more than 16 questions or 4096 records made the whole message invalid.
/// The first questions and answers are parsed (the first question alerts); the 4 questions
/// and 904 answers over the limits are counted, not parsed.
#[test]
fn dns_over_the_limits_alerts_on_the_first_question_and_counts_the_rest() {
    let msg = over_limit_response();
    let packets = vec![(T0, ipv4([9, 9, 9, 9], CLIENT, 17, &udp(53, 40_000, &msg)))];
    let run = common::scan_ipv4("dns-limits", &packets, &[]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let hits = alerts(&run, "dns-query");
    assert_eq!(hits.len(), 1, "{}", run.stderr());
    assert_eq!(hits[0].0, NAME);
    let stderr = run.stderr();
    assert!(stderr.contains("dns messages: 1 (0 invalid"), "{stderr}");
    assert!(
        stderr.contains("908 questions and answers not parsed (over the limit"),
        "{stderr}"
    );
}

/// DNS to port 8053 over UDP (a query and its response) and over TCP (two queries
/// pipelined in one segment, which the non-standard-port heuristic does not take).
fn dns_on_8053() -> Vec<(u32, Vec<u8>)> {
    let query = Dns::query(0x0101).question(NAME, 1).build();
    let response = Dns::response(0x0101)
        .question(NAME, 1)
        .answer(NAME, 60, craft::Rdata::A([203, 0, 113, 7]))
        .build();
    let other = Dns::query(0x0202).question("www.example.org", 1).build();
    let tcp_query = Dns::query(0x0303)
        .question("s01.upd.kaspersky.com", 1)
        .build();
    let mut pipelined = Vec::new();
    for m in [&other, &tcp_query] {
        pipelined.extend_from_slice(&(m.len() as u16).to_be_bytes());
        pipelined.extend_from_slice(m);
    }
    let resolver = [10, 0, 0, 53];
    vec![
        (T0, ipv4(CLIENT, resolver, 17, &udp(40_000, 8053, &query))),
        (
            T0,
            ipv4(resolver, CLIENT, 17, &udp(8053, 40_000, &response)),
        ),
        (
            T0 + 1,
            ipv4(CLIENT, resolver, 6, &tcp(40_001, 8053, 999, 0, SYN, &[])),
        ),
        (
            T0 + 1,
            ipv4(
                CLIENT,
                resolver,
                6,
                &tcp(40_001, 8053, 1000, 1, PSH | ACK, &pipelined),
            ),
        ),
    ]
}

/// Issue 18, item 5: DNS on a port other than 53 is read when `--dns-port` names it (UDP and
/// TCP, at any worker count), and not otherwise.
#[test]
fn dns_port_flag_reads_dns_on_another_port() {
    let packets = dns_on_8053();
    let plain = common::scan_ipv4("dns-port-off", &packets, &["--log", "dns"]);
    assert_eq!(plain.code(), Some(0), "{}", plain.stderr());
    assert_eq!(plain.events("dns").count(), 0);
    for workers in ["1", "2"] {
        let run = common::scan_ipv4(
            "dns-port-on",
            &packets,
            &[
                "--dns-port",
                "8053",
                "--workers",
                workers,
                "--suppress-window",
                "0",
                "--log",
                "dns",
            ],
        );
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
        assert_eq!(run.events("dns").count(), 4, "{}", run.stderr());
        let mut names: Vec<String> = alerts(&run, "dns-query")
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        names.sort();
        assert_eq!(
            names,
            [NAME, NAME, "s01.upd.kaspersky.com"],
            "workers {workers}: {}",
            run.stderr()
        );
    }
    // A bad value is refused with the flag named.
    let bad = common::vendorwatch(&["scan", "--dns-port", "dns", "x.pcap"]);
    assert_eq!(bad.code(), Some(2), "{}", bad.stderr());
    assert!(bad.stderr().contains("--dns-port"), "{}", bad.stderr());
}
