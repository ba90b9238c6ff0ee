//! Resource caps under floods (issue 10): each cap configured small, ten times as much crafted
//! traffic driven past it through the real stages ([`vw_testkit::flood`]), and after every
//! packet the table's own accounting checked against the cap; the overflow counter must equal
//! what was driven past it. The same floods at default caps and millions of packets, with peak
//! RSS, are `examples/flood.rs` (see `docs/caps.md`).

mod common;

use vw_craft::{Ipv4, MF, SYN, ipv4, tcp, udp};
use vw_testkit::flood::{self, Caps, HELLO_PART, Kind};

#[test]
fn flow_cap_under_a_syn_flood() {
    let mut caps = Caps::default();
    caps.flow.max_flows = 1000;
    let r = flood::run(Kind::Syn, 10_000, &caps);
    assert_eq!(r.created, 10_000, "every SYN is a new flow");
    assert!(r.peak_held <= 1000, "{r:?}");
    assert_eq!(r.held, 1000);
    assert_eq!(r.overflow, 9000, "evicted at the flow cap: {r:?}");
    let bound = vendorwatch::flow::FlowTable::memory_bound(&caps.flow);
    assert!(r.peak_table_memory <= bound, "{r:?} > {bound}");
}

#[test]
fn reassembly_cap_under_half_open_client_hellos() {
    let mut caps = Caps::default();
    caps.flow.max_flows = 100_000; // not the cap under test: no eviction frees bytes
    caps.flow.max_reasm_bytes = 64 * 1024;
    let fit = 64 * 1024 / HELLO_PART; // 109 half hellos fit
    let n = 10 * fit as u64 + 10;
    let r = flood::run(Kind::HalfOpenHello, n, &caps);
    assert_eq!(r.created, n);
    assert!(r.peak_bytes <= 64 * 1024, "{r:?}");
    assert_eq!(r.held_bytes, fit * HELLO_PART);
    assert_eq!(
        r.overflow,
        n - fit as u64,
        "refused at the memory cap: {r:?}"
    );
}

#[test]
fn fragment_datagram_cap_under_a_fragment_flood() {
    let mut caps = Caps::default();
    caps.defrag.max_datagrams = 100;
    let r = flood::run(Kind::Fragments, 1000, &caps);
    assert_eq!(r.created, 1000, "fragments seen");
    assert!(r.peak_held <= 100, "{r:?}");
    assert_eq!(r.held, 100);
    assert_eq!(r.overflow, 900, "never-completed datagrams evicted: {r:?}");
    assert!(r.peak_bytes <= caps.defrag.memcap);
    // The accounting follows what is held through the churn (each holds 1480 bytes).
    assert!(r.held_bytes >= r.held * 1480, "{r:?}");
}

#[test]
fn fragment_memory_cap_under_a_fragment_flood() {
    let mut caps = Caps::default();
    caps.defrag.max_datagrams = 100_000;
    caps.defrag.memcap = 64 * 1024;
    let r = flood::run(Kind::Fragments, 1000, &caps);
    assert!(r.peak_bytes <= 64 * 1024, "{r:?}");
    assert!(r.held > 10, "the cap is used, not emptied: {r:?}");
    assert!(r.held_bytes >= r.held * 1480, "{r:?}");
    assert_eq!(
        r.overflow + r.held as u64,
        1000,
        "every datagram is held or counted: {r:?}"
    );
}

#[test]
fn quic_connection_cap_under_an_initial_flood() {
    let mut caps = Caps::default();
    caps.quic.max_pending = 100;
    let r = flood::run(Kind::QuicInitials, 1000, &caps);
    assert_eq!(
        r.created, 1000,
        "every Initial decrypted, a new connection: {r:?}"
    );
    assert!(r.peak_held <= 100, "{r:?}");
    assert_eq!(r.held, 100);
    assert!(
        r.held_bytes >= 100 * HELLO_PART,
        "half hellos are buffered: {r:?}"
    );
    assert_eq!(r.overflow, 900, "{r:?}");
}

#[test]
fn quic_memory_cap_under_an_initial_flood() {
    let mut caps = Caps::default();
    caps.quic.max_pending = 100_000;
    caps.quic.max_bytes = 64 * 1024;
    let r = flood::run(Kind::QuicInitials, 1000, &caps);
    assert_eq!(r.created, 1000, "{r:?}");
    assert!(r.peak_bytes <= 64 * 1024, "{r:?}");
    assert!(r.held > 10, "{r:?}");
    assert_eq!(r.overflow + r.held as u64, 1000, "{r:?}");
}

#[test]
fn dns_answer_table_cap_under_an_answer_flood() {
    let caps = Caps {
        resolved: 100,
        ..Caps::default()
    };
    let r = flood::run(Kind::DnsAnswers, 1000, &caps);
    assert_eq!(r.created, 1000, "every answer remembered: {r:?}");
    assert!(r.peak_held <= 100, "{r:?}");
    assert_eq!(r.held, 100);
    assert_eq!(r.overflow, 900, "{r:?}");
}

#[test]
fn suppression_table_cap_under_distinct_names() {
    let caps = Caps {
        suppress: 100,
        ..Caps::default()
    };
    let r = flood::run(Kind::Suppression, 1000, &caps);
    assert_eq!(r.created, 1000, "every new key alerts: {r:?}");
    assert!(r.peak_held <= 100, "{r:?}");
    assert!(r.held >= 100 * 7 / 8, "{r:?}");
    assert_eq!(r.overflow + r.held as u64, 1000, "{r:?}");
}

/// Every cap is a `scan` flag.
#[test]
fn every_cap_is_a_scan_flag() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["scan", "--help"])
        .output()
        .expect("run vendorwatch");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    for flag in [
        "--max-flows",
        "--reassembly-memory",
        "--defrag-memory",
        "--defrag-max-datagrams",
        "--defrag-timeout",
        "--quic-max-pending",
        "--quic-memory",
        "--resolved-capacity",
        "--suppress-capacity",
        "--identity-capacity",
    ] {
        assert!(help.contains(flag), "{flag} missing from scan --help");
    }
}

/// The flags reach the tables, and the overflow is in the summary: a SYN flood and a
/// fragment flood in a capture file, scanned with small caps.
#[test]
fn scan_flags_set_the_caps_and_the_summary_counts_the_overflow() {
    let mut file = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    file.extend_from_slice(&[0; 8]);
    file.extend_from_slice(&65535u32.to_le_bytes());
    file.extend_from_slice(&101u32.to_le_bytes()); // LINKTYPE_RAW
    let mut record = |pkt: &[u8], i: u32| {
        file.extend_from_slice(&(1_700_000_000 + i / 1000).to_le_bytes());
        file.extend_from_slice(&0u32.to_le_bytes());
        file.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        file.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        file.extend_from_slice(pkt);
    };
    for i in 0..2000u32 {
        let src = flood::source(u64::from(i));
        let server = [192, 0, 2, 1];
        record(&ipv4(src, server, 6, &tcp(40_000, 443, i, 0, SYN, &[])), i);
        let first_fragment = Ipv4 {
            id: 7,
            frag: MF,
            ..Ipv4::new(src, server, 17)
        };
        record(&first_fragment.build(&udp(40_000, 443, &[0u8; 72])), i);
    }
    let dir = std::env::temp_dir().join(format!("vw-caps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("flood.pcap");
    std::fs::write(&path, &file).unwrap();
    let run = common::vendorwatch(&[
        "scan",
        "--max-flows",
        "500",
        "--defrag-max-datagrams",
        "50",
        path.to_str().unwrap(),
    ]);
    let err = run.stderr();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(run.code(), Some(0), "{err}");
    assert!(
        err.contains("tcp flows: 2000 (0 closed, 0 evicted idle, 1500 evicted at the flow cap)"),
        "{err}"
    );
    assert!(err.contains("1950 evicted by cap"), "{err}");
}
