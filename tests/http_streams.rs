//! Names wherever they are in a TCP stream (issue 18): one client connection through a forward
//! proxy carrying requests for many hosts (keep-alive, pipelining, heads over two segments),
//! request heads longer than the head limit, and ClientHellos larger than the first-flight
//! limit. Each capture is crafted with `vw_craft`, written to a temp dir and scanned.

mod common;

use std::path::PathBuf;

use vw_craft::http::request;
use vw_craft::pcap::{self, LINKTYPE_RAW};
use vw_craft::tls::{CHROMIUM_CIPHERS, ClientHello};
use vw_craft::{ACK, PSH, SYN, ipv4, tcp};

const CLIENT: ([u8; 4], u16) = ([10, 20, 0, 5], 51_000);
const PROXY: ([u8; 4], u16) = ([10, 20, 0, 1], 3128);
const ISN: u32 = 7_000;

/// A temp dir of this test, removed when dropped.
struct Temp(PathBuf);

impl Temp {
    fn new(tag: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!(
            "vendorwatch-http-streams-{tag}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Temp(dir)
    }

    /// Write `bytes` as FILE in the dir; its path as text.
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write capture");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One connection from the client to `server`: SYN, SYN-ACK, then `stream` cut at `cuts`
/// (offsets into it) into client segments, each acknowledged by the server. Raw IPv4 packets,
/// a millisecond apart.
fn connection(server: ([u8; 4], u16), stream: &[u8], cuts: &[usize]) -> Vec<u8> {
    let seg = |from: ([u8; 4], u16), to: ([u8; 4], u16), seq: u32, ack: u32, flags, data| {
        ipv4(from.0, to.0, 6, &tcp(from.1, to.1, seq, ack, flags, data))
    };
    let mut packets = vec![
        seg(CLIENT, server, ISN - 1, 0, SYN, &[][..]),
        seg(server, CLIENT, 90_000, ISN, SYN | ACK, &[]),
    ];
    let mut start = 0;
    for &end in cuts.iter().chain(std::iter::once(&stream.len())) {
        let data = &stream[start..end];
        let seq = ISN + start as u32;
        packets.push(seg(CLIENT, server, seq, 90_001, PSH | ACK, data));
        packets.push(seg(
            server,
            CLIENT,
            90_001,
            seq + data.len() as u32,
            ACK,
            &[],
        ));
        start = end;
    }
    let timed: Vec<(u64, Vec<u8>)> = packets
        .into_iter()
        .enumerate()
        .map(|(i, p)| (1_727_784_000_000_000 + i as u64 * 1000, p))
        .collect();
    pcap::file(LINKTYPE_RAW, &timed)
}

/// Cut points every `mss` bytes of a stream of `len` bytes.
fn every(mss: usize, len: usize) -> Vec<usize> {
    (1..len.div_ceil(mss)).map(|i| i * mss).collect()
}

fn scan(file: &str, extra: &[&str]) -> common::Run {
    let mut args = vec!["scan", "--suppress-window", "0", "--log", "http,tls", file];
    args.extend_from_slice(extra);
    let run = common::vendorwatch(&args);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    common::validate_eve(&run.records);
    run
}

fn http_hosts(run: &common::Run) -> Vec<String> {
    run.events("http")
        .map(|r| r["http"]["hostname"].as_str().unwrap_or("").to_string())
        .collect()
}

fn alert_names(run: &common::Run) -> Vec<String> {
    run.events("alert")
        .map(|r| {
            r["alert"]["metadata"]["matched_name"][0]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn keep_alive_later_heads_over_two_segments_and_split_at_byte_10() {
    let first = request(
        "GET",
        "http://www.example.org/",
        &[("Host", "www.example.org")],
    );
    let cookie = format!("session={}", "c".repeat(2048));
    let second = request(
        "GET",
        "http://dnl-01.geo.kaspersky.com/bases/av/kdb/i386/kdb-i386-0607g.xml.dif",
        &[
            ("Host", "dnl-01.geo.kaspersky.com"),
            ("User-Agent", "KSDE 10.1"),
            ("Cookie", &cookie),
        ],
    );
    let third = request("GET", "/index.xml", &[("Host", "s02.upd.kaspersky.com")]);
    let stream = [&first[..], &second, &third].concat();
    let a = first.len();
    let b = a + second.len();
    // The second head over two segments (a 1448-byte MSS), the third split at its byte 10.
    let cuts = [a, a + 1448, b, b + 10];
    let temp = Temp::new("keep-alive");
    let file = temp.write("keep-alive.pcap", &connection(PROXY, &stream, &cuts));
    let run = scan(&file, &[]);
    assert_eq!(
        http_hosts(&run),
        [
            "www.example.org",
            "dnl-01.geo.kaspersky.com",
            "s02.upd.kaspersky.com"
        ]
    );
    assert_eq!(
        alert_names(&run),
        ["dnl-01.geo.kaspersky.com", "s02.upd.kaspersky.com"]
    );
}

#[test]
fn five_thousand_pipelined_requests_on_one_connection_are_all_seen() {
    // GETs, POSTs with a Content-Length body and POSTs with a chunked body, back to back.
    let mut stream = Vec::new();
    let mut want = Vec::new();
    for i in 0..5000 {
        let host = format!("h{i}.updates.example.net");
        match i % 10 {
            3 => {
                let body = format!("report={i}");
                let len = body.len().to_string();
                stream.extend(request(
                    "POST",
                    "/r",
                    &[("Host", &host), ("Content-Length", &len)],
                ));
                stream.extend(body.as_bytes());
            }
            7 => {
                stream.extend(request(
                    "POST",
                    "/c",
                    &[("Host", &host), ("Transfer-Encoding", "chunked")],
                ));
                stream.extend(b"5;ext=1\r\nGET /\r\n0\r\nX-Trailer: 1\r\n\r\n");
            }
            _ => stream.extend(request("GET", "/u", &[("Host", &host)])),
        }
        want.push(host);
    }
    let temp = Temp::new("pipelined");
    let cuts = every(1448, stream.len());
    let file = temp.write("pipelined.pcap", &connection(PROXY, &stream, &cuts));
    let run = scan(&file, &[]);
    let got = http_hosts(&run);
    assert_eq!(got.len(), 5000, "requests seen");
    assert_eq!(got, want);
}

#[test]
fn request_head_of_20_kib_with_host_on_line_2() {
    let cookie = format!("big={}", "x".repeat(20 * 1024));
    let head = request(
        "POST",
        "/submit",
        &[
            ("Host", "dnl-02.geo.kaspersky.com"),
            ("Cookie", &cookie),
            ("Content-Length", "5"),
        ],
    );
    assert!(head.len() > 20 * 1024);
    let next = request("GET", "/after", &[("Host", "after.example.com")]);
    let stream = [&head[..], b"hello", &next].concat();
    let temp = Temp::new("big-head");
    let file = temp.write(
        "big-head.pcap",
        &connection(PROXY, &stream, &every(1448, stream.len())),
    );
    let run = scan(&file, &[]);
    assert_eq!(
        http_hosts(&run),
        ["dnl-02.geo.kaspersky.com", "after.example.com"]
    );
    assert_eq!(alert_names(&run), ["dnl-02.geo.kaspersky.com"]);
    assert!(
        run.stderr().contains("http heads cut at the head limit: 1"),
        "{}",
        run.stderr()
    );
    // The per-flow head budget is a cap like the others: smaller, the Host is still found;
    // larger than the head, nothing is cut.
    let run = scan(&file, &["--http-head-limit", "1024"]);
    assert_eq!(
        http_hosts(&run),
        ["dnl-02.geo.kaspersky.com", "after.example.com"]
    );
    let run = scan(&file, &["--http-head-limit", "65536"]);
    assert_eq!(
        http_hosts(&run),
        ["dnl-02.geo.kaspersky.com", "after.example.com"]
    );
    assert!(
        run.stderr().contains("http heads cut at the head limit: 0"),
        "{}",
        run.stderr()
    );
}

#[test]
fn client_hello_of_20_kib_with_sni_first() {
    let hello = ClientHello::new()
        .random([0x42; 32])
        .session_id(&[0x17; 32])
        .ciphers(&CHROMIUM_CIPHERS)
        .sni("dnl-03.geo.kaspersky.com")
        .chromium_extensions(&[0x11ec, 0x001d, 0x0017])
        .versions(&[0x0304, 0x0303])
        .pad_to(20 * 1024)
        .records(2);
    let server = ([203, 0, 113, 9], 443);
    let temp = Temp::new("big-hello");
    let file = temp.write(
        "big-hello.pcap",
        &connection(server, &hello, &every(1448, hello.len())),
    );
    // Default limit: the hello is cut at 16 KiB; the SNI (first) is found, JA4 is not computed.
    let run = scan(&file, &[]);
    assert_eq!(alert_names(&run), ["dnl-03.geo.kaspersky.com"]);
    let tls: Vec<_> = run.events("tls").collect();
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["tls"]["sni"], "dnl-03.geo.kaspersky.com");
    assert!(tls[0]["tls"].get("ja4").is_none(), "{}", tls[0]);
    assert!(
        run.stderr()
            .contains("client hellos cut at the first-flight limit: 1 (no JA4)"),
        "{}",
        run.stderr()
    );
    // A limit above the hello's size: the whole hello, with its JA4.
    let run = scan(&file, &["--first-flight-limit", "131072"]);
    let tls: Vec<_> = run.events("tls").collect();
    assert_eq!(tls.len(), 1);
    assert_eq!(tls[0]["tls"]["sni"], "dnl-03.geo.kaspersky.com");
    assert!(tls[0]["tls"]["ja4"].as_str().is_some(), "{}", tls[0]);
}
