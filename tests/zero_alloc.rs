//! The fast path allocates nothing for a packet that matches nothing: a counting global
//! allocator watches the reader, decoder, DNS and TLS extractors and the matcher run over
//! thousands of such packets in steady state.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use vendorwatch::capture::file::CaptureReader;
use vendorwatch::decode::Decoder;
use vendorwatch::detect::{Detector, FlowMeta, LogSelection};
use vendorwatch::output::eve::EveWriter;
use vendorwatch::sigs::RuleSet;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn dns_query(name: &str) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

fn client_hello(sni: &str) -> Vec<u8> {
    let name = sni.as_bytes();
    let mut ext = Vec::new();
    let list_len = name.len() + 3;
    ext.extend_from_slice(&[0, 0]);
    ext.extend_from_slice(&((list_len + 2) as u16).to_be_bytes());
    ext.extend_from_slice(&(list_len as u16).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[7u8; 32]);
    body.push(0);
    body.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    let mut hs = vec![1, 0];
    hs.extend_from_slice(&(body.len() as u16).to_be_bytes());
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend_from_slice(&hs);
    rec
}

/// Ethernet + IPv4 + UDP or TCP around `payload`.
fn frame(udp: bool, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    let l4_len = if udp { 8 } else { 20 };
    let total = 20 + l4_len + payload.len();
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64]);
    f.push(if udp { 17 } else { 6 });
    f.extend_from_slice(&[0, 0, 10, 1, 2, 3, 93, 184, 216, 34]);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&dst_port.to_be_bytes());
    if udp {
        f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
    } else {
        f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0]);
    }
    f.extend_from_slice(payload);
    f
}

fn pcap(frames: &[Vec<u8>]) -> Vec<u8> {
    let mut p = Vec::new();
    p.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    p.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    p.extend_from_slice(&65535u32.to_le_bytes());
    p.extend_from_slice(&1u32.to_le_bytes());
    for (i, f) in frames.iter().enumerate() {
        p.extend_from_slice(&(1_727_784_000u32 + i as u32).to_le_bytes());
        p.extend_from_slice(&0u32.to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(&(f.len() as u32).to_le_bytes());
        p.extend_from_slice(f);
    }
    p
}

#[test]
fn non_matching_packets_allocate_nothing() {
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut out = EveWriter::new(Box::new(std::io::sink()));
    let mut decoder = Decoder::default();
    let frames = [
        frame(true, 53, &dns_query("www.example.org")),
        frame(true, 53, &dns_query("kaspersky.com.evil.example")),
        frame(false, 443, &client_hello("github.com")),
        frame(false, 443, &client_hello("notkaspersky.com")),
        frame(false, 80, b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"),
    ];
    let mut many = Vec::new();
    for _ in 0..2000 {
        many.extend(frames.iter().cloned());
    }
    let bytes = pcap(&many);
    let mut reader = CaptureReader::new(&bytes[..]).expect("pcap header");

    // Warm up: the first packets may size buffers.
    let mut run = |reader: &mut CaptureReader<&[u8]>, n: usize| {
        for _ in 0..n {
            let packet = reader.next_packet().expect("read").expect("a packet");
            let decoded = decoder
                .decode(packet.link_type, packet.data, packet.ts)
                .expect("decodes");
            let meta = FlowMeta::new(&decoded, packet.ts, 1);
            detector.on_packet(&decoded, &meta, &mut out);
        }
    };
    run(&mut reader, 100);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    run(&mut reader, many.len() - 100);
    let after = ALLOCATIONS.load(Ordering::Relaxed);
    assert_eq!(
        after - before,
        0,
        "allocations on the non-matching fast path"
    );
    assert_eq!(detector.stats.alerts, 0);
    assert_eq!(detector.stats.client_hellos, 4000);
    assert_eq!(detector.stats.dns_messages, 4000);

    // The counter works: a matching packet does allocate (it builds the alert).
    let hit = frame(true, 53, &dns_query("s01.upd.kaspersky.com"));
    let decoded = decoder
        .decode(1, &hit, vendorwatch::capture::Timestamp::default())
        .expect("decodes");
    let meta = FlowMeta::new(&decoded, vendorwatch::capture::Timestamp::default(), 1);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    detector.on_packet(&decoded, &meta, &mut out);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > before);
    assert_eq!(detector.stats.alerts, 1);
}
