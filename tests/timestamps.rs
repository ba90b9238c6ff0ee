//! Captures with absurd timestamps: one packet stamped far in the future does not suppress
//! the alerts after it, and a timestamp beyond year 9999 is written clamped (a valid RFC 3339
//! / EVE timestamp) and counted.

mod common;

use common::TempDir;

use std::fs;

/// The first frame of pcaps/kaspersky-dns.pcap: a query for `s01.upd.kaspersky.com`.
fn kaspersky_query() -> Vec<u8> {
    let bytes = fs::read(common::repo().join("pcaps/kaspersky-dns.pcap")).unwrap();
    let caplen = u32::from_le_bytes(bytes[32..36].try_into().unwrap()) as usize;
    bytes[40..40 + caplen].to_vec()
}

/// A little-endian microsecond pcap (Ethernet) of `frame` at each of `secs`.
fn pcap(frame: &[u8], secs: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    // Magic, version 2.4 (two u16, major first), zone, sigfigs, snaplen, Ethernet.
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65_535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for &s in secs {
        let len = frame.len() as u32;
        for v in [s, 0, len, len] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(frame);
    }
    out
}

/// One pcapng block: type, total length, body (padded to 4 bytes), total length.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

/// A pcapng with two Ethernet interfaces (default microseconds; `if_tsresol` = 0, whole
/// seconds) and one Enhanced Packet Block of `frame` on each, both stamped all ones.
fn pcapng_all_ones(frame: &[u8]) -> Vec<u8> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    let mut out = block(0x0a0d_0d0a, &shb);
    let idb = |tsresol: Option<u8>| {
        let mut b = Vec::new();
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&0u16.to_le_bytes());
        b.extend_from_slice(&65_535u32.to_le_bytes());
        if let Some(r) = tsresol {
            b.extend_from_slice(&9u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&[r, 0, 0, 0]);
            b.extend_from_slice(&[0, 0, 0, 0]);
        }
        block(1, &b)
    };
    out.extend(idb(None));
    out.extend(idb(Some(0)));
    for iface in 0u32..2 {
        let mut epb = Vec::new();
        let len = frame.len() as u32;
        for v in [iface, u32::MAX, u32::MAX, len, len] {
            epb.extend_from_slice(&v.to_le_bytes());
        }
        epb.extend_from_slice(frame);
        out.extend(block(6, &epb));
    }
    out
}

/// 2024-10-01T12:00:00Z, the samples' time.
const T0: u32 = 1_727_784_000;
/// 2106-01-01T00:00:00Z (a pcap's u32 seconds reach 2106-02-07).
const Y2106: u32 = 4_291_747_200;

/// The same query at T0, T0+10 s, in 2106, T0+20 s and T0+4000 s (past the default one-hour
/// window): the 2106 packet does not open a window that hides the rest of the capture.
#[test]
fn a_future_packet_does_not_suppress_later_alerts() {
    let tmp = TempDir::new("ts-future");
    let cap = tmp.path().join("future.pcap");
    fs::write(
        &cap,
        pcap(
            &kaspersky_query(),
            &[T0, T0 + 10, Y2106, T0 + 20, T0 + 4000],
        ),
    )
    .unwrap();
    let run = common::vendorwatch(&["scan", cap.to_str().unwrap()]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let alerted: Vec<u64> = run
        .events("alert")
        .filter_map(|a| a["pcap_cnt"].as_u64())
        .collect();
    println!("alerted packets: {alerted:?}\n{}", run.stderr());
    assert!(alerted.contains(&1), "the first query alerts: {alerted:?}");
    assert!(!alerted.contains(&2), "10 s later: suppressed: {alerted:?}");
    assert!(
        alerted.contains(&5),
        "a query past the window (T0+4000 s) alerts after the 2106 packet: {alerted:?}"
    );
    let err = run.stderr();
    assert!(
        err.contains("timestamps: 0 out of range (clamped in records), 1 jumped by more than 24 h"),
        "{err}"
    );
}

/// A pcapng timestamp of all ones (year 586,524 in microseconds, 292,277,026,596 in whole
/// seconds) is written as 9999-12-31T23:59:59.999999, which the EVE schema accepts, in EVE,
/// ECS and Zeek intel; both packets are counted.
#[test]
fn an_all_ones_pcapng_timestamp_is_clamped_and_counted() {
    let tmp = TempDir::new("ts-ones");
    let cap = tmp.path().join("ones.pcapng");
    fs::write(&cap, pcapng_all_ones(&kaspersky_query())).unwrap();
    let cap = cap.to_str().unwrap();
    let run = common::vendorwatch(&["scan", "--suppress-window", "0", cap]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let alerts: Vec<_> = run.events("alert").collect();
    assert_eq!(alerts.len(), 2, "{}", run.stderr());
    for a in &alerts {
        assert_eq!(a["timestamp"], "9999-12-31T23:59:59.999999+0000", "{a}");
    }
    let err = run.stderr();
    assert!(
        err.contains("timestamps: 2 out of range (clamped in records), 0 jumped by more than 24 h"),
        "{err}"
    );
    if let Some(schema_path) = common::schema_path() {
        let schema: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(schema_path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        for a in &alerts {
            let errors: Vec<String> = validator.iter_errors(a).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{a}: {errors:?}");
        }
    } else {
        println!("schema file not found: the schema check is skipped");
    }

    // The same clamp in the other formats: (format, time field, its value).
    let last = serde_json::json!(253_402_300_799.999_999);
    for (format, field, want) in [
        (
            "ecs",
            "@timestamp",
            serde_json::json!("9999-12-31T23:59:59.999999Z"),
        ),
        ("zeek-intel", "ts", last),
    ] {
        let run = common::vendorwatch(&[
            "scan",
            "-q",
            "--suppress-window",
            "0",
            "--format",
            format,
            cap,
        ]);
        assert_eq!(run.code(), Some(0), "{format}: {}", run.stderr());
        assert_eq!(run.records.len(), 2, "{format}");
        for r in &run.records {
            assert_eq!(r[field], want, "{format}: {r}");
        }
    }
}
