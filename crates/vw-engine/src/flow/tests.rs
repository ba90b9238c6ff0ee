//! Tests of the flow layer: a ClientHello and DNS-over-TCP messages cut at every split point
//! and delivered in every order, with duplicates and conflicting overlaps; mid-stream starts;
//! sequence wrap; flow and memory caps.

use vw_craft::dns::{Dns, Rdata};
use vw_craft::tls::ClientHello;
use vw_craft::{ACK, FIN, PSH, RST, SYN, ipv4, udp};

use super::*;
use crate::capture::linktype;
use crate::decode::{VlanIds, decode};

const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40_000);
const SERVER: ([u8; 4], u16) = ([192, 0, 2, 7], 443);

/// Raw IPv4 + TCP packet (acknowledgment number 1).
fn tcp(from: ([u8; 4], u16), to: ([u8; 4], u16), seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    ipv4(
        from.0,
        to.0,
        6,
        &vw_craft::tcp(from.1, to.1, seq, 1, flags, payload),
    )
}

const PSH_ACK: u8 = PSH | ACK;
const FIN_ACK: u8 = FIN | ACK;

/// A ClientHello of about 700 bytes (SNI, ALPN, supported_versions, padding), as one record
/// or with its handshake message spread over `records` records.
fn client_hello(sni: &str, records: usize) -> Vec<u8> {
    ClientHello::new()
        .random([0x5a; 32])
        .session_id(&[0x11; 32])
        .ciphers(&[0x1301, 0x1302])
        .sni(sni)
        .alpn(&["h2"])
        .versions(&[0x0304])
        .ext(0x0015, &[0; 0x240]) // padding
        .records(records)
}

/// A query for `name`, or a response with one A record, framed for TCP (length first).
fn dns_message(name: &str, response: bool) -> Vec<u8> {
    let m = if response {
        Dns::new(0xabcd, 0x8100)
            .question(name, 1)
            .answer(name, 60, Rdata::A([192, 0, 2, 1]))
    } else {
        Dns::new(0xabcd, 0x0100).question(name, 1)
    }
    .build();
    [&(m.len() as u16).to_be_bytes()[..], &m].concat()
}

/// What a run extracted, as text.
fn run(config: FlowConfig, packets: &[Vec<u8>]) -> (Vec<String>, FlowTable) {
    let mut table = FlowTable::new(config);
    let mut got = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let pkt = decode(linktype::RAW, p).expect("test packet decodes");
        let ts = Timestamp {
            secs: 1_700_000_000 + i as i64,
            nanos: 0,
        };
        let mut sink = |ev: AppEvent<'_>| {
            got.push(match ev {
                AppEvent::Tls(h) => {
                    format!("tls {}", String::from_utf8_lossy(h.sni.unwrap_or(b"")))
                }
                AppEvent::Http(r) => format!(
                    "http {}",
                    String::from_utf8_lossy(r.hostname().unwrap_or(b""))
                ),
                AppEvent::Dns(m) => {
                    let mut names = String::from("dns");
                    let _ = dns::walk(m, |item| {
                        if let dns::DnsItem::Question { name, .. } = item {
                            names.push(' ');
                            names.push_str(&String::from_utf8_lossy(name.as_bytes()));
                        }
                    });
                    names
                }
            });
        };
        table.on_tcp(&pkt, ts, &mut sink);
    }
    (got, table)
}

fn handshake(isn: u32) -> Vec<Vec<u8>> {
    vec![
        tcp(CLIENT, SERVER, isn.wrapping_sub(1), SYN, b""),
        tcp(SERVER, CLIENT, 5000, SYN | ACK, b""),
    ]
}

/// Cut `data` at the given points into (seq offset, bytes) pieces.
fn pieces(data: &[u8], cuts: &[usize]) -> Vec<(usize, Vec<u8>)> {
    let mut out = Vec::new();
    let mut start = 0;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        out.push((start, data[start..c].to_vec()));
        start = c;
    }
    out
}

const ORDERS3: [[usize; 3]; 6] = [
    [0, 1, 2],
    [0, 2, 1],
    [1, 0, 2],
    [1, 2, 0],
    [2, 0, 1],
    [2, 1, 0],
];

#[test]
fn client_hello_every_split_point_two_segments_both_orders_with_duplicates() {
    for records in [1, 3] {
        let hello = client_hello("dnl-01.geo.kaspersky.com", records);
        for cut in 1..hello.len() {
            for order in [[0usize, 1], [1, 0]] {
                let isn = 0xffff_ff00; // the stream wraps inside the hello
                let parts = pieces(&hello, &[cut]);
                let mut pkts = handshake(isn);
                for &i in &order {
                    let (off, bytes) = &parts[i];
                    let p = tcp(
                        CLIENT,
                        SERVER,
                        isn.wrapping_add(*off as u32),
                        PSH_ACK,
                        bytes,
                    );
                    pkts.push(p.clone());
                    pkts.push(p); // duplicate
                }
                let (got, table) = run(FlowConfig::default(), &pkts);
                assert_eq!(
                    got,
                    ["tls dnl-01.geo.kaspersky.com"],
                    "records {records} cut {cut} order {order:?}"
                );
                assert_eq!(table.reasm_bytes(), 0);
            }
        }
    }
}

#[test]
fn client_hello_three_segments_every_order() {
    let hello = client_hello("a.kaspersky.com", 2);
    let n = hello.len();
    let mut runs = 0;
    for i in (1..n - 1).step_by(7) {
        for j in (i + 1..n).step_by(13) {
            let parts = pieces(&hello, &[i, j]);
            for order in ORDERS3 {
                let isn = 1000;
                let mut pkts = handshake(isn);
                for (k, &idx) in order.iter().enumerate() {
                    let (off, bytes) = &parts[idx];
                    let p = tcp(CLIENT, SERVER, isn + *off as u32, PSH_ACK, bytes);
                    if k == 1 {
                        pkts.push(p.clone()); // the middle one retransmitted
                    }
                    pkts.push(p);
                }
                let (got, _) = run(FlowConfig::default(), &pkts);
                assert_eq!(got, ["tls a.kaspersky.com"], "cuts {i},{j} order {order:?}");
                runs += 1;
            }
        }
    }
    assert!(runs > 1000);
}

#[test]
fn mid_stream_start_without_syn() {
    let hello = client_hello("mid.kaspersky.com", 1);
    for cut in [1, 5, 6, 100, hello.len() - 1] {
        let parts = pieces(&hello, &[cut]);
        // In order, no handshake seen.
        let pkts: Vec<_> = parts
            .iter()
            .map(|(off, b)| tcp(CLIENT, SERVER, 77_777 + *off as u32, PSH_ACK, b))
            .collect();
        let (got, _) = run(FlowConfig::default(), &pkts);
        assert_eq!(got, ["tls mid.kaspersky.com"], "cut {cut}");
    }
    // Bulk data seen mid-stream decides the flow at once, nothing buffered.
    let pkts = vec![tcp(CLIENT, SERVER, 5, PSH_ACK, &[0x42; 1000])];
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert!(got.is_empty());
    assert_eq!(table.stats.segments_buffered, 0);
}

#[test]
fn overlap_policy_is_first_wins() {
    let hello = client_hello("first.kaspersky.com", 1);
    let cut = hello.len() / 2;
    let mut forged = hello.clone();
    let at = hello
        .windows(5)
        .position(|w| w == b"first")
        .expect("sni in hello");
    forged[at..at + 5].copy_from_slice(b"evil_");
    let isn = 10;
    // The original first half, then a conflicting retransmission over it: the held bytes win.
    let mut pkts = handshake(isn);
    pkts.push(tcp(CLIENT, SERVER, isn + 20, PSH_ACK, &hello[20..cut]));
    pkts.push(tcp(CLIENT, SERVER, isn + 40, PSH_ACK, &forged[40..]));
    pkts.push(tcp(CLIENT, SERVER, isn, PSH_ACK, &hello[..20]));
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["tls first.kaspersky.com"]);
    assert!(table.stats.overlap_bytes > 0);
    // The same policy the other way round: the forged bytes came first, so they stay.
    let mut pkts = handshake(isn);
    pkts.push(tcp(CLIENT, SERVER, isn + 40, PSH_ACK, &forged[40..]));
    pkts.push(tcp(CLIENT, SERVER, isn + 20, PSH_ACK, &hello[20..cut]));
    pkts.push(tcp(CLIENT, SERVER, isn, PSH_ACK, &hello[..20]));
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["tls evil_.kaspersky.com"]);
    assert!(table.stats.overlap_bytes > 0);
}

#[test]
fn dns_over_tcp_every_split_point_both_directions() {
    let query = dns_message("dnl-02.geo.kaspersky.com", false);
    let answer = dns_message("dnl-02.geo.kaspersky.com", true);
    let second = dns_message("ds.kaspersky.com", false);
    let server = (SERVER.0, 53);
    let mut client_stream = query.clone();
    client_stream.extend_from_slice(&second);
    for cut in 1..answer.len() {
        for order in [[0usize, 1], [1, 0]] {
            let mut pkts = vec![
                tcp(CLIENT, server, 99, SYN, b""),
                tcp(server, CLIENT, u32::MAX - 3, SYN | ACK, b""),
                tcp(
                    CLIENT,
                    server,
                    100,
                    PSH_ACK,
                    &client_stream[..cut.min(client_stream.len() - 1)],
                ),
                tcp(
                    CLIENT,
                    server,
                    100 + cut.min(client_stream.len() - 1) as u32,
                    PSH_ACK,
                    &client_stream[cut.min(client_stream.len() - 1)..],
                ),
            ];
            let parts = pieces(&answer, &[cut]);
            for &i in &order {
                let (off, bytes) = &parts[i];
                let p = tcp(
                    server,
                    CLIENT,
                    (u32::MAX - 2).wrapping_add(*off as u32),
                    PSH_ACK,
                    bytes,
                );
                pkts.push(p.clone());
                pkts.push(p);
            }
            let (got, _) = run(FlowConfig::default(), &pkts);
            assert_eq!(
                got,
                [
                    "dns dnl-02.geo.kaspersky.com",
                    "dns ds.kaspersky.com",
                    "dns dnl-02.geo.kaspersky.com"
                ],
                "cut {cut} order {order:?}"
            );
        }
    }
}

#[test]
fn dns_answer_three_segments_every_order_with_duplicates() {
    let answer = dns_message("upd.kaspersky.com", true);
    let server = (SERVER.0, 53);
    for i in 1..answer.len() - 1 {
        for j in i + 1..answer.len() {
            let parts = pieces(&answer, &[i, j]);
            for order in ORDERS3 {
                let mut pkts = vec![tcp(server, CLIENT, 7, SYN | ACK, b"")];
                for &k in &order {
                    let (off, bytes) = &parts[k];
                    let p = tcp(server, CLIENT, 8 + *off as u32, PSH_ACK, bytes);
                    pkts.push(p.clone());
                    pkts.push(p);
                }
                let (got, _) = run(FlowConfig::default(), &pkts);
                assert_eq!(got, ["dns upd.kaspersky.com"], "cuts {i},{j} {order:?}");
            }
        }
    }
}

#[test]
fn http_head_split_and_pipelined() {
    let head = b"GET /bases/ HTTP/1.1\r\nHost: dnl-03.geo.kaspersky.com\r\nUser-Agent: KAV\r\n\r\n";
    let server = (SERVER.0, 80);
    for cut in 1..head.len() {
        let mut pkts = vec![tcp(CLIENT, server, 0, SYN, b"")];
        pkts.push(tcp(CLIENT, server, 1 + cut as u32, PSH_ACK, &head[cut..]));
        pkts.push(tcp(CLIENT, server, 1, PSH_ACK, &head[..cut]));
        let next = 1 + head.len() as u32;
        pkts.push(tcp(
            CLIENT,
            server,
            next,
            PSH_ACK,
            b"GET /b HTTP/1.1\r\nHost: x.example\r\n\r\n",
        ));
        let (got, _) = run(FlowConfig::default(), &pkts);
        assert_eq!(
            got,
            ["http dnl-03.geo.kaspersky.com", "http x.example"],
            "cut {cut}"
        );
    }
    // CONNECT, then a ClientHello through the tunnel.
    let hello = client_hello("tunnel.kaspersky.com", 1);
    let connect = b"CONNECT tunnel.kaspersky.com:443 HTTP/1.1\r\n\r\n";
    let pkts = vec![
        tcp(CLIENT, server, 1, PSH_ACK, connect),
        tcp(server, CLIENT, 1, PSH_ACK, b"HTTP/1.1 200 OK\r\n\r\n"),
        tcp(
            CLIENT,
            server,
            1 + connect.len() as u32,
            PSH_ACK,
            &hello[..50],
        ),
        tcp(
            CLIENT,
            server,
            51 + connect.len() as u32,
            PSH_ACK,
            &hello[50..],
        ),
    ];
    let (got, _) = run(FlowConfig::default(), &pkts);
    assert_eq!(
        got,
        ["http tunnel.kaspersky.com", "tls tunnel.kaspersky.com"]
    );
}

/// A client stream after a handshake, cut at `cuts` into in-order segments, to `server`.
fn stream_segments(
    server: ([u8; 4], u16),
    isn: u32,
    stream: &[u8],
    cuts: &[usize],
) -> Vec<Vec<u8>> {
    let mut pkts = vec![tcp(CLIENT, server, isn.wrapping_sub(1), SYN, b"")];
    for (off, bytes) in pieces(stream, cuts) {
        pkts.push(tcp(
            CLIENT,
            server,
            isn.wrapping_add(off as u32),
            PSH_ACK,
            &bytes,
        ));
    }
    pkts
}

/// Cut points every `mss` bytes of `len` bytes.
fn every(mss: usize, len: usize) -> Vec<usize> {
    (1..len.div_ceil(mss)).map(|i| i * mss).collect()
}

const PROXY: ([u8; 4], u16) = ([192, 0, 2, 80], 3128);

#[test]
fn http_keep_alive_later_head_over_two_segments_or_split_at_byte_10() {
    let first = vw_craft::http::request("GET", "/", &[("Host", "first.example")]);
    let cookie = "k".repeat(2048);
    let second = vw_craft::http::request(
        "GET",
        "http://upd.kaspersky.com/x",
        &[("Host", "upd.kaspersky.com"), ("Cookie", &cookie)],
    );
    let stream = [&first[..], &second].concat();
    let a = first.len();
    for cut in [1, 10, 1448, second.len() - 1] {
        for isn in [1000, 0xffff_fff0] {
            let pkts = stream_segments(PROXY, isn, &stream, &[a, a + cut]);
            let (got, table) = run(FlowConfig::default(), &pkts);
            assert_eq!(
                got,
                ["http first.example", "http upd.kaspersky.com"],
                "cut {cut} isn {isn}"
            );
            assert_eq!(table.reasm_bytes(), 0);
        }
    }
    // Out of order: the second half of the second head before its first half.
    let mut pkts = stream_segments(PROXY, 1000, &stream, &[a, a + 10]);
    pkts.swap(2, 3);
    let (got, _) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["http first.example", "http upd.kaspersky.com"]);
}

/// 5000 requests (GETs, Content-Length and chunked POSTs) and the hosts they name.
fn pipelined(n: usize) -> (Vec<u8>, Vec<String>) {
    let mut stream = Vec::new();
    let mut want = Vec::new();
    for i in 0..n {
        let host = format!("h{i}.example.net");
        match i % 10 {
            3 => {
                let body = "x".repeat(i % 700);
                let len = body.len().to_string();
                stream.extend(vw_craft::http::request(
                    "POST",
                    "/r",
                    &[("Host", &host), ("Content-Length", &len)],
                ));
                stream.extend(body.as_bytes());
            }
            7 => {
                stream.extend(vw_craft::http::request(
                    "POST",
                    "/c",
                    &[("Transfer-Encoding", "gzip, chunked"), ("Host", &host)],
                ));
                stream.extend(
                    b"4\r\nGET \r\n1a;x=y\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nT: 1\r\n\r\n",
                );
            }
            _ => stream.extend(vw_craft::http::request("GET", "/u", &[("Host", &host)])),
        }
        want.push(format!("http {host}"));
    }
    (stream, want)
}

#[test]
fn http_5000_pipelined_requests_on_one_connection() {
    let (stream, want) = pipelined(5000);
    for mss in [1448, 536, 9000] {
        let pkts = stream_segments(PROXY, 1, &stream, &every(mss, stream.len()));
        let (got, table) = run(FlowConfig::default(), &pkts);
        assert_eq!(got.len(), 5000, "mss {mss}");
        assert_eq!(got, want, "mss {mss}");
        assert!(
            table.stats.reasm_peak_bytes < 16 * 1024,
            "{:?}",
            table.stats
        );
    }
}

#[test]
fn http_bodies_every_split_point_both_orders() {
    let stream = [
        &vw_craft::http::request(
            "POST",
            "/a",
            &[("Host", "a.example"), ("Content-Length", "20")],
        )[..],
        b"GET /not-a-request\r\n",
        &vw_craft::http::request(
            "PUT",
            "/b",
            &[("Transfer-Encoding", "chunked"), ("Host", "b.example")],
        ),
        b"3\r\nGET\r\n0\r\n\r\n",
        &vw_craft::http::request("GET", "/c", &[("Host", "c.example")]),
    ]
    .concat();
    let want = ["http a.example", "http b.example", "http c.example"];
    for cut in 1..stream.len() {
        let mut pkts = stream_segments(PROXY, 1, &stream, &[cut]);
        let (got, table) = run(FlowConfig::default(), &pkts);
        assert_eq!(got, want, "cut {cut}");
        assert_eq!(table.reasm_bytes(), 0);
        pkts.swap(1, 2);
        pkts.push(pkts[1].clone());
        let (got, _) = run(FlowConfig::default(), &pkts);
        assert_eq!(got, want, "cut {cut} reversed");
    }
}

#[test]
fn http_then_a_client_hello_over_two_segments() {
    // A request, then TLS on the same connection (the proxy answered it): the hello is
    // reassembled as a first flight, also after the framing was lost.
    let get = vw_craft::http::request("GET", "/", &[("Host", "plain.example")]);
    let hello = client_hello("after.kaspersky.com", 1);
    for junk in [&b""[..], b"\x00\x01junk"] {
        let stream = [&get[..], junk, &hello].concat();
        let start = get.len() + junk.len();
        let cuts = if junk.is_empty() {
            vec![start, start + 100]
        } else {
            vec![get.len(), start, start + 100]
        };
        let (got, _) = run(
            FlowConfig::default(),
            &stream_segments(PROXY, 1, &stream, &cuts),
        );
        assert_eq!(
            got,
            ["http plain.example", "tls after.kaspersky.com"],
            "{junk:?}"
        );
    }
}

#[test]
fn http_body_longer_than_a_skip_step() {
    let head = vw_craft::http::request(
        "POST",
        "/upload",
        &[("Host", "up.example"), ("Content-Length", "3000000000")],
    );
    let next = vw_craft::http::request("GET", "/after", &[("Host", "after.example")]);
    let isn = 0xf000_0000u32;
    let at = |off: u64| isn.wrapping_add(off as u32);
    let body_start = head.len() as u64;
    let body_end = body_start + 3_000_000_000;
    let mut pkts = vec![tcp(CLIENT, PROXY, isn.wrapping_sub(1), SYN, b"")];
    pkts.push(tcp(CLIENT, PROXY, at(0), PSH_ACK, &head));
    // Body segments here and there, one a request look-alike, then the next head.
    for off in [
        body_start,
        1 << 30,
        1_500_000_000,
        (1 << 31) + 5,
        body_end - 1448,
    ] {
        pkts.push(tcp(CLIENT, PROXY, at(off), PSH_ACK, &[b'G'; 1448]));
        pkts.push(tcp(
            CLIENT,
            PROXY,
            at(off),
            PSH_ACK,
            b"GET / HTTP/1.1\r\nHost: body.example\r\n\r\n",
        ));
    }
    pkts.push(tcp(CLIENT, PROXY, at(body_end), PSH_ACK, &next));
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["http up.example", "http after.example"]);
    assert_eq!(table.stats.http_resyncs, 0);
}

#[test]
fn http_lost_framing_resynchronises_on_a_request() {
    let first = vw_craft::http::request("GET", "/1", &[("Host", "one.example")]);
    let cookie = "z".repeat(3000);
    let second =
        vw_craft::http::request("GET", "/2", &[("Host", "two.example"), ("Cookie", &cookie)]);
    let third = vw_craft::http::request("GET", "/3", &[("Host", "three.example")]);
    let stream = [&first[..], &second, &third].concat();
    let a = first.len();
    let b = a + second.len();
    // The capture lost the segment holding the second head's start: the third is found
    // where its segment starts, once the gap is past the head limit.
    let config = FlowConfig {
        http_head_limit: 1024,
        ..FlowConfig::default()
    };
    let mut pkts = stream_segments(PROXY, 1, &stream, &[a, a + 1000, a + 2000, b]);
    pkts.remove(2);
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["http one.example", "http three.example"]);
    assert_eq!(table.stats.http_resyncs, 1);
    // Not a request where one should start (a body the head did not declare): later
    // requests are found where segments start; bytes between are not held.
    let stream = [&first[..], b"unannounced body bytes\r\n", &third].concat();
    let pkts = stream_segments(PROXY, 1, &stream, &[a + 5, stream.len() - third.len()]);
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["http one.example", "http three.example"]);
    assert_eq!(table.stats.http_resyncs, 1);
    assert_eq!(table.reasm_bytes(), 0);
    // The reassembly cap refuses a head's second half: the stream resynchronises too.
    let config = FlowConfig {
        max_reasm_bytes: 100,
        ..FlowConfig::default()
    };
    let stream = [&first[..], &second, &third].concat();
    let pkts = stream_segments(PROXY, 1, &stream, &[a, a + 50, b]);
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["http one.example", "http three.example"]);
    assert_eq!(table.stats.http_resyncs, 1);
    assert_eq!(table.reasm_bytes(), 0);
}

#[test]
fn http_head_of_20_kib_with_host_on_line_2() {
    let cookie = "c".repeat(20 * 1024);
    let head = vw_craft::http::request(
        "POST",
        "/big",
        &[
            ("Host", "big.kaspersky.com"),
            ("Cookie", &cookie),
            ("Content-Length", "7"),
        ],
    );
    let next = vw_craft::http::request("GET", "/n", &[("Host", "next.example")]);
    let stream = [&head[..], b"GET /x ", &next].concat();
    for limit in [256, 4096, 16 * 1024] {
        let config = FlowConfig {
            http_head_limit: limit,
            ..FlowConfig::default()
        };
        let pkts = stream_segments(PROXY, 1, &stream, &every(1448, stream.len()));
        let (got, table) = run(config, &pkts);
        assert_eq!(
            got,
            ["http big.kaspersky.com", "http next.example"],
            "{limit}"
        );
        assert_eq!(table.stats.http_heads_cut, 1);
        assert!(
            table.stats.reasm_peak_bytes <= limit as u64,
            "{:?}",
            table.stats
        );
        assert_eq!(table.reasm_bytes(), 0);
    }
    // Within the limit: nothing cut.
    let config = FlowConfig {
        http_head_limit: 64 * 1024,
        ..FlowConfig::default()
    };
    let pkts = stream_segments(PROXY, 1, &stream, &every(1448, stream.len()));
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["http big.kaspersky.com", "http next.example"]);
    assert_eq!(table.stats.http_heads_cut, 0);
}

#[test]
fn client_hello_of_20_kib_with_sni_first() {
    let hello = ClientHello::new()
        .random([0x5a; 32])
        .ciphers(&[0x1301, 0x1302])
        .sni("big.kaspersky.com")
        .alpn(&["h2"])
        .pad_to(20 * 1024)
        .records(2);
    let pkts = stream_segments(SERVER, 1, &hello, &every(1448, hello.len()));
    let (got, table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got, ["tls big.kaspersky.com"]);
    assert_eq!(table.stats.hellos_cut, 1);
    assert_eq!(table.reasm_bytes(), 0);
    // The whole hello under a larger limit.
    let config = FlowConfig {
        first_flight_limit: 128 * 1024,
        ..FlowConfig::default()
    };
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["tls big.kaspersky.com"]);
    assert_eq!(table.stats.hellos_cut, 0);
}

#[test]
fn decided_flows_and_close() {
    let hello = client_hello("x.example", 1);
    let mut pkts = handshake(1);
    pkts.push(tcp(CLIENT, SERVER, 1, PSH_ACK, &hello));
    pkts.push(tcp(
        SERVER,
        CLIENT,
        5001,
        PSH_ACK,
        &[0x16, 3, 3, 0, 10, 2, 0, 0, 6, 3, 3],
    ));
    let (got, mut table) = run(FlowConfig::default(), &pkts);
    assert_eq!(got.len(), 1);
    let p = tcp(CLIENT, SERVER, 9999, PSH_ACK, &[1; 100]);
    let pkt = decode(linktype::RAW, &p).expect("decodes");
    assert!(table.is_decided(&pkt));
    let rst = tcp(CLIENT, SERVER, 9999, RST, b"");
    let pkt = decode(linktype::RAW, &rst).expect("decodes");
    table.on_tcp(&pkt, Timestamp::default(), &mut |_: AppEvent<'_>| {});
    assert!(table.is_empty());
    assert_eq!(table.stats.closed, 1);
    // FIN in both directions closes too.
    let mut pkts = handshake(1);
    pkts.push(tcp(CLIENT, SERVER, 1, FIN_ACK, b""));
    pkts.push(tcp(SERVER, CLIENT, 5001, FIN_ACK, b""));
    let (_, table) = run(FlowConfig::default(), &pkts);
    assert!(table.is_empty());
    assert_eq!(table.stats.closed, 1);
}

#[test]
fn flow_cap_idle_timeout_and_memory_cap() {
    let config = FlowConfig {
        max_flows: 100,
        ..FlowConfig::default()
    };
    let pkts: Vec<_> = (0..1000u32)
        .map(|i| {
            tcp(
                ([10, 1, (i >> 8) as u8, i as u8], 1234),
                SERVER,
                i,
                SYN,
                b"",
            )
        })
        .collect();
    let mut table = FlowTable::new(config);
    for p in &pkts {
        let pkt = decode(linktype::RAW, p).expect("decodes");
        table.on_tcp(&pkt, Timestamp::default(), &mut |_: AppEvent<'_>| {});
        assert!(table.len() <= 100);
    }
    assert_eq!(table.stats.flows_created, 1000);
    assert_eq!(table.stats.evicted_cap, 900);
    // All idle after the timeout: the next packet sweeps them.
    let later = Timestamp {
        secs: 10_000,
        nanos: 0,
    };
    let pkt = decode(linktype::RAW, &pkts[0]).expect("decodes");
    table.on_tcp(&pkt, later, &mut |_: AppEvent<'_>| {});
    assert_eq!(table.stats.evicted_idle, 100);
    assert_eq!(table.len(), 1);

    // Reassembly memory cap: a tiny cap refuses the out-of-order tail.
    let hello = client_hello("cap.example", 1);
    let config = FlowConfig {
        max_reasm_bytes: 64,
        ..FlowConfig::default()
    };
    let mut pkts = handshake(1);
    pkts.push(tcp(CLIENT, SERVER, 101, PSH_ACK, &hello[100..]));
    let (got, table) = run(config, &pkts);
    assert!(got.is_empty());
    assert_eq!(table.stats.reasm_refused, 1);
    assert_eq!(table.reasm_bytes(), 0);

    // First-flight limit: a hello announcing more than the limit is parsed from the part
    // held (its SNI comes first), and counted.
    let config = FlowConfig {
        first_flight_limit: 300,
        ..FlowConfig::default()
    };
    let mut pkts = handshake(1);
    pkts.push(tcp(CLIENT, SERVER, 1, PSH_ACK, &hello[..200]));
    pkts.push(tcp(CLIENT, SERVER, 201, PSH_ACK, &hello[200..400]));
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["tls cap.example"]);
    assert_eq!(table.stats.hellos_cut, 1);
    assert_eq!(table.reasm_bytes(), 0);
    // Cut inside its SNI: a hello without a name.
    let config = FlowConfig {
        first_flight_limit: 90,
        ..FlowConfig::default()
    };
    let (got, table) = run(config, &pkts);
    assert_eq!(got, ["tls "]);
    assert_eq!(table.stats.hellos_cut, 1);
    // Cut before its cipher suites end: nothing to parse, the limit hit.
    let config = FlowConfig {
        first_flight_limit: 60,
        ..FlowConfig::default()
    };
    let (got, table) = run(config, &pkts);
    assert!(got.is_empty());
    assert_eq!(table.stats.hellos_cut, 0);
    assert_eq!(table.stats.first_flight_limit_hit, 1);
}

#[test]
fn every_truncation_of_buffered_data_is_safe() {
    // Random-ish bytes behind a TLS / HTTP / DNS start, cut everywhere: never a panic.
    let hello = client_hello("t.example", 2);
    let dns = dns_message("t.example", true);
    for data in [
        &hello[..],
        &dns[..],
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab",
    ] {
        for cut in 0..data.len() {
            let mut pkts = handshake(1);
            pkts.push(tcp(CLIENT, SERVER, 1, PSH_ACK, &data[..cut]));
            let mut garbage = data[cut..].to_vec();
            for (i, b) in garbage.iter_mut().enumerate() {
                *b ^= (i as u8).wrapping_mul(31);
            }
            pkts.push(tcp(CLIENT, SERVER, 1 + cut as u32, PSH_ACK, &garbage));
            let _ = run(FlowConfig::default(), &pkts);
        }
    }
}

#[test]
fn one_million_syn_only_flows_stay_under_the_cap() {
    let config = FlowConfig {
        max_flows: 50_000,
        ..FlowConfig::default()
    };
    let mut table = FlowTable::new(config);
    let bound = FlowTable::memory_bound(&config);
    let mut peak = 0;
    for i in 0..1_000_000u32 {
        let [a, b, c, d] = i.to_be_bytes();
        let port = 1024 + u16::from(d);
        let syn = vw_craft::tcp(
            port,
            443,
            u32::from(port).wrapping_mul(2_654_435_761),
            0,
            SYN,
            &[],
        );
        let p = ipv4([10, a, b, c], [192, 0, 2, 1], 6, &syn);
        let pkt = decode(linktype::RAW, &p).expect("decodes");
        let ts = Timestamp {
            secs: 1_700_000_000 + i64::from(i / 100_000),
            nanos: 0,
        };
        table.on_tcp(&pkt, ts, &mut |_: AppEvent<'_>| {});
        if i % 10_000 == 0 {
            peak = peak.max(table.memory_bytes());
        }
    }
    assert_eq!(table.stats.flows_created, 1_000_000);
    assert!(table.len() <= 50_000);
    assert_eq!(
        table.stats.evicted_cap + table.stats.evicted_idle + table.len() as u64,
        1_000_000
    );
    assert!(peak <= bound, "peak {peak} above bound {bound}");
}

/// A sink that gives every new flow toward `SERVER` a candidate and records the decisions:
/// `("unnamed", pcap_cnt reported)` or the extracted events.
struct CandidateSink {
    /// The current packet.
    meta: crate::record::FlowMeta,
    log: Vec<String>,
}

impl AppSink for CandidateSink {
    fn on_app(&mut self, event: AppEvent<'_>) {
        let kind = match event {
            AppEvent::Tls(_) => "tls",
            AppEvent::Http(_) => "http",
            AppEvent::Dns(_) => "dns",
        };
        self.log.push(format!("{kind}@{}", self.meta.pcap_cnt));
    }

    fn new_flow(&mut self, server_is_src: bool) -> Option<Box<Pending>> {
        let server = if server_is_src {
            self.meta.src_ip
        } else {
            self.meta.dst_ip
        };
        (server == std::net::IpAddr::from(SERVER.0)).then(|| {
            Box::new(Pending {
                meta: self.meta,
                name: "s01.upd.kaspersky.com".into(),
                rule: 0,
                pattern: 0,
            })
        })
    }

    fn touch(&mut self, pending: &mut Pending) {
        pending.meta.pcap_cnt = self.meta.pcap_cnt;
    }

    fn unnamed(&mut self, pending: Box<Pending>, by_packet: bool) {
        let at = if by_packet {
            self.meta.pcap_cnt
        } else {
            pending.meta.pcap_cnt
        };
        self.log.push(format!("unnamed@{at}"));
    }
}

/// Run packets (one second apart, numbered from 1) through a table with a candidate sink,
/// then drain it.
fn run_candidates(config: FlowConfig, packets: &[Vec<u8>]) -> (Vec<String>, FlowTable) {
    let mut table = FlowTable::new(config);
    let mut sink = CandidateSink {
        meta: crate::record::FlowMeta {
            ts: Timestamp::default(),
            pcap_cnt: 0,
            src_ip: std::net::IpAddr::from([0, 0, 0, 0]),
            dst_ip: std::net::IpAddr::from([0, 0, 0, 0]),
            iface: 0,
            src_port: 0,
            dst_port: 0,
            proto: L4Proto::Tcp,
            vlans: VlanIds::default(),
            tunnel: None,
            macs: None,
        },
        log: Vec::new(),
    };
    for (i, p) in packets.iter().enumerate() {
        let pkt = decode(linktype::RAW, p).expect("test packet decodes");
        let ts = Timestamp {
            secs: 1_700_000_000 + i as i64,
            nanos: 0,
        };
        sink.meta = crate::record::FlowMeta::new(&pkt, ts, i as u64 + 1);
        table.on_tcp(&pkt, ts, &mut sink);
    }
    sink.log.push("end".into());
    table.drain(&mut sink);
    (sink.log, table)
}

#[test]
fn resolved_candidates_are_decided_by_the_first_flight() {
    let isn = 1000;
    let hello = client_hello("a.example.org", 1);
    let data = |payload: &[u8]| tcp(CLIENT, SERVER, isn, PSH_ACK, payload);
    type Case = (&'static str, Vec<Vec<u8>>, Vec<&'static str>);
    let cases: Vec<Case> = vec![
        // A ClientHello with an SNI (here split over two segments): named, never unnamed.
        (
            "split hello",
            {
                let mut p = handshake(isn);
                p.push(tcp(CLIENT, SERVER, isn, PSH_ACK, &hello[..100]));
                p.push(tcp(CLIENT, SERVER, isn + 100, PSH_ACK, &hello[100..]));
                p.push(tcp(CLIENT, SERVER, isn, RST, b""));
                p
            },
            vec!["tls@4", "end"],
        ),
        // A ClientHello without SNI: decided by it.
        (
            "hello without sni",
            vec![data(&client_hello_without_sni())],
            vec!["tls@1", "unnamed@1", "end"],
        ),
        // Plain data first: decided at once.
        (
            "plain data",
            {
                let mut p = handshake(isn);
                p.push(data(b"\x00\x00\x00\x10binary protocol"));
                p
            },
            vec!["unnamed@3", "end"],
        ),
        // HTTP with a Host name: named; with an address literal: not.
        (
            "http named",
            vec![data(b"GET / HTTP/1.1\r\nHost: upd.example\r\n\r\n")],
            vec!["http@1", "end"],
        ),
        (
            "http literal",
            vec![data(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n")],
            vec!["http@1", "unnamed@1", "end"],
        ),
        // Only the server speaks, then closes: the FIN decides.
        (
            "server fin",
            {
                let mut p = handshake(isn);
                p.push(tcp(SERVER, CLIENT, 5001, PSH_ACK, b"220 banner\r\n"));
                p.push(tcp(SERVER, CLIENT, 5013, FIN_ACK, b""));
                p
            },
            vec!["unnamed@4", "end"],
        ),
        // The flow seen from its SYN-ACK: the server is the sender.
        (
            "syn-ack start",
            vec![tcp(SERVER, CLIENT, 5000, SYN | ACK, b"")],
            vec!["end", "unnamed@1"],
        ),
        // A hello that never completes: the first-flight limit decides.
        (
            "first flight limit",
            {
                let mut p = handshake(isn);
                p.push(tcp(CLIENT, SERVER, isn, PSH_ACK, &hello[..60]));
                p.push(tcp(CLIENT, SERVER, isn + 60, PSH_ACK, &[0x00; 100]));
                p
            },
            vec!["unnamed@4", "end"],
        ),
    ];
    for (what, packets, want) in cases {
        let config = FlowConfig {
            first_flight_limit: if what == "first flight limit" {
                128
            } else {
                FlowConfig::default().first_flight_limit
            },
            ..FlowConfig::default()
        };
        let (got, table) = run_candidates(config, &packets);
        assert_eq!(got, want, "{what}");
        assert_eq!(table.pending(), 0, "{what}");
    }
}

#[test]
fn resolved_candidates_are_decided_at_eviction() {
    // Idle: the flow's own latest packet is reported, when another flow's packet sweeps it.
    let other = ([198, 51, 100, 1], 443);
    let mut packets = vec![tcp(CLIENT, SERVER, 999, SYN, b"")];
    let idle = FlowConfig {
        idle_timeout_secs: 2,
        ..FlowConfig::default()
    };
    for i in 0..5 {
        packets.push(tcp(CLIENT, other, 10 + i, ACK | PSH_ACK, b"\x00x"));
    }
    let (got, table) = run_candidates(idle, &packets);
    assert_eq!(got, ["unnamed@1", "end"]);
    assert_eq!(table.stats.evicted_idle, 1);

    // At the flow cap.
    let cap = FlowConfig {
        max_flows: 1,
        ..FlowConfig::default()
    };
    let packets = vec![
        tcp(CLIENT, SERVER, 999, SYN, b""),
        tcp(CLIENT, SERVER, 999, SYN, b""), // retransmission: the same flow
        tcp(([10, 0, 0, 2], 40_001), SERVER, 999, SYN, b""),
    ];
    let (got, table) = run_candidates(cap, &packets);
    assert_eq!(got, ["unnamed@2", "end", "unnamed@3"]);
    assert_eq!(table.stats.evicted_cap, 1);
}

/// A ClientHello with no extensions at all.
fn client_hello_without_sni() -> Vec<u8> {
    ClientHello::new()
        .random([0x5a; 32])
        .no_extensions()
        .record()
}

/// DNS answer following over QUIC: the first datagram of a client to a resolved address is a
/// QUIC Initial, so its ClientHello decides (Chrome's hello spans two Initials: the first
/// alone decides nothing). An SNI of its own: no `resolved-ip`; a hello without SNI: one.
#[test]
fn quic_to_a_resolved_address_is_decided_by_its_hello() {
    use crate::capture::{Timestamp, linktype};
    use crate::decode::decode;
    use crate::detect::{Detector, LogSelection};
    use crate::flow::{FlowConfig, FlowTable};
    use crate::record::{NullSink, PacketAt};
    use vw_craft::quic::{big_client_hello, crypto_frame};
    use vw_wire::proto::quic::VERSION_1;
    use vw_wire::testing::seal_initial;

    let server = [192, 0, 2, 10];
    let name = "s01.upd.kaspersky.com";
    let dns = Dns::response(0x1234)
        .question(name, 1)
        .answer(name, 300, Rdata::A(server))
        .build();
    let two_initials = |sni: &str, dcid: [u8; 8]| {
        let hello = big_client_hello(sni);
        let (a, b) = hello.split_at(700);
        let p1 = crypto_frame(700, b);
        let p2 = crypto_frame(0, a);
        [
            seal_initial(VERSION_1, &dcid, 0, &p1),
            seal_initial(VERSION_1, &dcid, 1, &p2),
        ]
    };
    let to_server = |client: [u8; 4], d: &[u8]| ipv4(client, server, 17, &udp(50_000, 443, d));
    let mut packets = vec![ipv4([9, 9, 9, 9], [10, 0, 0, 5], 17, &udp(53, 5353, &dns))];
    // The asker itself, over QUIC with an unrelated SNI, then a short-header datagram.
    for d in two_initials("www.example.org", [1; 8]) {
        packets.push(to_server([10, 0, 0, 5], &d));
    }
    packets.push(to_server([10, 0, 0, 5], &[0x40, 1, 2, 3, 4, 5]));
    // Another host with a hello that names nothing.
    for d in two_initials("", [2; 8]) {
        packets.push(to_server([10, 0, 0, 6], &d));
    }

    let rules = crate::sigs::RuleSet::bundled().expect("bundled packs");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut flows = FlowTable::new(FlowConfig::default());
    let mut out = NullSink;
    let mut alerts = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        let pkt = decode(linktype::RAW, p).expect("decodes");
        let ts = Timestamp {
            secs: 1_700_000_000 + i as i64,
            nanos: 0,
        };
        let at = PacketAt::new(ts, i as u64 + 1);
        crate::pipeline::process(&pkt, &at, &mut flows, &mut detector, &mut out);
        alerts.push(detector.stats.alerts);
    }
    assert_eq!(detector.stats.quic_hellos, 2);
    // 1 for the DNS message; none for the named QUIC flow; one at the unnamed hello.
    assert_eq!(alerts, [1, 1, 1, 1, 1, 2]);
}
