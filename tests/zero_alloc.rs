//! The fast path allocates nothing for a packet that matches nothing: a counting global
//! allocator watches the reader, decoder, flow table, DNS, TLS and HTTP extractors and the
//! matcher run over thousands of such packets in steady state — new TCP flows whose message
//! is complete in one segment, and packets of flows already decided.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;
use vendorwatch::capture::file::CaptureReader;
use vendorwatch::decode::{Decoder, decode};
use vendorwatch::detect::{Detector, LogSelection};
use vendorwatch::flow::{FlowConfig, FlowTable};
use vendorwatch::output::formatter::{FormatConfig, Formatter};
use vendorwatch::output::hub::OutputHub;
use vendorwatch::record::PacketAt;

/// Records formatted as EVE and written to a sink.
type EveOut = Formatter<OutputHub>;
use vendorwatch::pipeline::process;
use vendorwatch::sigs::RuleSet;
use vw_craft::dns::{Dns, Rdata};
use vw_craft::tls::ClientHello;
use vw_craft::{eth, ipv4, tcp};

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
    Dns::query(0x1234).question(name, 1).build()
}

fn client_hello(sni: &str) -> Vec<u8> {
    ClientHello::new().random([7; 32]).sni(sni).record()
}

/// Ethernet + IPv4 + UDP or TCP around `payload`.
fn frame(udp: bool, dst_port: u16, payload: &[u8]) -> Vec<u8> {
    tcp_frame(udp, 40000, dst_port, 0x18, payload)
}

/// Ethernet + IPv4 10.1.2.3 -> 93.184.216.34 + UDP or TCP (source port and TCP flags given)
/// around `payload`.
fn tcp_frame(udp: bool, src_port: u16, dst_port: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let (proto, l4) = if udp {
        (17, vw_craft::udp(src_port, dst_port, payload))
    } else {
        (6, tcp(src_port, dst_port, 1, 1, flags, payload))
    };
    let ip = ipv4([10, 1, 2, 3], [93, 184, 216, 34], proto, &l4);
    eth([0; 6], [0; 6], 0x0800, &ip)
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

const RST: u8 = 0x04;
const PSH_ACK: u8 = 0x18;

fn run_frames(
    frames: &[Vec<u8>],
    warmup: usize,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveOut,
) -> u64 {
    run_frames_fed(frames, warmup, None, flows, detector, out)
}

/// [`run_frames`], each decoded packet first fed to `feed` (the identity table) when given.
fn run_frames_fed(
    frames: &[Vec<u8>],
    warmup: usize,
    mut feed: Option<&mut vendorwatch::identity::IdentityFeed>,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveOut,
) -> u64 {
    let bytes = pcap(frames);
    let mut reader = CaptureReader::new(&bytes[..]).expect("pcap header");
    // The stateful decoder, as the pipeline runs it (fragment reassembly idle).
    let mut decoder = Decoder::default();
    let mut run = |reader: &mut CaptureReader<&[u8]>, n: usize| {
        for _ in 0..n {
            let packet = reader.next_packet().expect("read").expect("a packet");
            let decoded = decoder
                .decode(packet.link_type, packet.data, packet.ts)
                .expect("decodes");
            if let Some(feed) = feed.as_deref_mut() {
                feed.observe(&decoded, packet.ts);
            }
            let at = PacketAt::new(packet.ts, 1);
            process(&decoded, &at, flows, detector, out);
        }
    };
    run(&mut reader, warmup);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    run(&mut reader, frames.len() - warmup);
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

/// One test: the allocation counter is global, so the checks must not run in parallel.
#[test]
fn fast_paths_allocate_nothing() {
    non_matching_packets_allocate_nothing();
    packets_of_decided_flows_allocate_nothing();
    new_flows_to_other_addresses_allocate_nothing_while_addresses_are_remembered();
    read_ahead_reader_allocates_nothing_once_warm();
    afpacket_ring_allocates_nothing_once_running();
    dhcp_and_identity_learning_allocate_nothing();
}

/// DHCP exchanges and frames from known hosts: the identity table is fed (the lock taken,
/// leases renewed, MACs learned) and the detector reads DHCP, without allocating once the
/// tables hold their entries.
fn dhcp_and_identity_learning_allocate_nothing() {
    use vendorwatch::identity::{IdentityFeed, IdentityTable};
    use vw_craft::dhcp::{ACK, Dhcp, REQUEST};
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let table = Arc::new(std::sync::Mutex::new(IdentityTable::default()));
    detector.set_identity(Arc::clone(&table));
    let mut feed = IdentityFeed::new(Arc::clone(&table));
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );
    let mut flows = FlowTable::new(FlowConfig::default());
    let server_mac = [2, 0, 0, 0, 0, 1];
    let mut frames = Vec::new();
    for round in 0..20u32 {
        for i in 0..50u8 {
            let mac = [0x3c, 0x52, 0x82, 0, 1, i];
            let addr = [10, 1, 0, 10 + i];
            let xid = round * 100 + u32::from(i);
            let request = Dhcp::client(REQUEST, xid, mac)
                .hostname("WS-FIN-042")
                .vendor_class("MSFT 5.0")
                .option(50, &addr);
            frames.push(request.frame([10, 1, 0, 1], server_mac));
            frames.push(
                Dhcp::server(ACK, xid, mac, addr)
                    .lease(3600)
                    .frame([10, 1, 0, 1], server_mac),
            );
            let query = vw_craft::udp(40000, 53, &dns_query("www.example.org"));
            frames.push(eth(
                mac,
                server_mac,
                0x0800,
                &ipv4(addr, [10, 0, 0, 53], 17, &query),
            ));
        }
    }
    // Warm-up: two rounds (every client, lease and MAC enters the tables).
    let allocations = run_frames_fed(
        &frames,
        300,
        Some(&mut feed),
        &mut flows,
        &mut detector,
        &mut out,
    );
    assert_eq!(allocations, 0, "allocations feeding the identity table");
    let stats = table.lock().unwrap().stats();
    assert_eq!(stats.dhcp_messages, 2000);
    assert_eq!((stats.leases_held, stats.clients_held), (50, 50));
    assert_eq!(stats.macs_held, 50 + 1, "the clients and the server");
}

/// `live --capture afpacket`: packets read in place from a real TPACKET_V3 ring (on the
/// loopback of a namespace made for the test) and run through a worker's stages allocate
/// nothing, block after block. Needs root; skipped with a printed reason otherwise.
fn afpacket_ring_allocates_nothing_once_running() {
    use vendorwatch::capture::afpacket::{AfPacketConfig, AfPacketSource};
    use vendorwatch::engine::{Engine, EngineConfig};

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("SKIP zero_alloc afpacket: not root");
        return;
    }
    let ns = format!("vwza{}", std::process::id() % 100_000);
    let ip = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let _ = ip(&["netns", "del", &ns]);
    if !ip(&["netns", "add", &ns]) || !ip(&["-n", &ns, "link", "set", "lo", "up"]) {
        eprintln!("SKIP zero_alloc afpacket: ip netns failed");
        return;
    }
    struct Del(String);
    impl Drop for Del {
        fn drop(&mut self) {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.0])
                .status();
        }
    }
    let _del = Del(ns.clone());
    let file = std::fs::File::open(format!("/run/netns/{ns}")).expect("namespace file");
    // The socket and the ring are made in the namespace (by a thread that enters it), then
    // used from here.
    let (mut source, socket) = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a valid namespace file descriptor, for this thread only.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        let config = AfPacketConfig {
            snaplen: 262_144,
            ring_bytes: 8 << 20,
            block_timeout_ms: 1,
            promisc: false,
            bpf: None,
        };
        let mut sources = AfPacketSource::open_workers(&["lo".to_string()], &config, 1)
            .expect("AF_PACKET ring on lo");
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp socket");
        (sources.pop().expect("one source"), socket)
    })
    .join()
    .expect("namespace thread");
    let engine = Engine::new(
        EngineConfig::default(),
        RuleSet::bundled().expect("bundled packs load"),
    );
    let mut stages = engine.stages();
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );
    let to: std::net::SocketAddr = "127.0.0.1:53".parse().expect("address");
    let queries = [dns_query("www.example.org"), dns_query("notkaspersky.com")];
    let mut handled = 0u64;
    // Send `n` queries (each also draws an ICMP port unreachable) a hundred at a time, reading
    // until each hundred went through the stages (the ring is not meant to overflow here).
    let mut round = |n: usize, handled: &mut u64| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut dns = 0u64;
        for chunk in 0..n / 100 {
            for i in 0..100 {
                socket.send_to(&queries[i % 2], to).expect("send");
            }
            let want = (chunk as u64 + 1) * 100;
            while dns < want && std::time::Instant::now() < deadline {
                source.read(|packet| {
                    let _ = stages.handle(packet, 1, &mut out);
                    // UDP to port 53 (bytes 36..38 after the Ethernet and IPv4 headers).
                    if packet.data.get(36..38) == Some(&[0, 53][..]) {
                        dns += 1;
                    }
                    true
                });
            }
        }
        *handled += dns;
    };
    round(300, &mut handled);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    round(3000, &mut handled);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(handled, 3300, "every query read from the ring");
    assert_eq!(
        allocations, 0,
        "allocations sending and reading 3,000 packets through the AF_PACKET ring"
    );
    assert_eq!(stages.detector.stats.dns_messages, 3300);
    assert_eq!(stages.detector.stats.alerts, 0);
    assert_eq!(source.counters().kernel_drops, 0);
}

/// The file reader `scan` uses for regular files: a read-ahead thread fills 1 MiB blocks and
/// the reader hands them back. Once the few blocks in flight exist, reading (in both threads;
/// the counter is global) allocates nothing, block after block.
fn read_ahead_reader_allocates_nothing_once_warm() {
    let data = vec![0x5a; 1448];
    let frames: Vec<Vec<u8>> = (0..24_000u16)
        .map(|i| tcp_frame(false, 30000 + i % 500, 443, PSH_ACK, &data))
        .collect();
    let bytes = pcap(&frames);
    assert!(bytes.len() > 30 << 20, "{} bytes: many blocks", bytes.len());
    let mut reader =
        CaptureReader::read_ahead(std::io::Cursor::new(bytes)).expect("read-ahead reader");
    let mut read = |n: usize| {
        let mut total = 0;
        for _ in 0..n {
            let packet = reader.next_packet().expect("read").expect("a packet");
            total += packet.data.len();
        }
        total
    };
    // Warm-up: 10,000 packets, about 15 blocks.
    assert!(read(10_000) > 0);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let bytes_read = read(14_000);
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(bytes_read > 20 << 20);
    assert_eq!(
        allocations, 0,
        "allocations reading 14,000 packets (about 20 blocks)"
    );
}

fn non_matching_packets_allocate_nothing() {
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );
    let mut flows = FlowTable::new(FlowConfig::default());
    // Each TCP message opens a new flow (complete in its one segment: parsed in place), and
    // an RST closes it again.
    let hellos = [client_hello("github.com"), client_hello("notkaspersky.com")];
    let get = b"GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl\r\n\r\n";
    let mut many = Vec::new();
    for i in 0..2000u16 {
        let port = 20000 + i % 64;
        many.push(frame(true, 53, &dns_query("www.example.org")));
        many.push(frame(true, 53, &dns_query("kaspersky.com.evil.example")));
        for (k, hello) in hellos.iter().enumerate() {
            let p = port + 100 * k as u16;
            many.push(tcp_frame(false, p, 443, PSH_ACK, hello));
            many.push(tcp_frame(false, p, 443, RST, b""));
        }
        many.push(tcp_frame(false, port, 80, PSH_ACK, get));
        many.push(tcp_frame(false, port, 80, RST, b""));
    }
    let allocations = run_frames(&many, 800, &mut flows, &mut detector, &mut out);
    assert_eq!(allocations, 0, "allocations on the non-matching fast path");
    assert_eq!(detector.stats.alerts, 0);
    assert_eq!(detector.stats.client_hellos, 4000);
    assert_eq!(detector.stats.http_requests, 2000);
    assert_eq!(detector.stats.dns_messages, 4000);
    assert_eq!(flows.stats.segments_buffered, 0);

    // The counter works: a matching packet does allocate (it builds the alert).
    let hit = frame(true, 53, &dns_query("s01.upd.kaspersky.com"));
    let decoded = decode(1, &hit).expect("decodes");
    let at = PacketAt::new(vendorwatch::capture::Timestamp::default(), 1);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    detector.on_packet(&decoded, &at, &mut out);
    assert!(ALLOCATIONS.load(Ordering::Relaxed) > before);
    assert_eq!(detector.stats.alerts, 1);
}

fn packets_of_decided_flows_allocate_nothing() {
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );
    // Packets are one second apart in the test capture: no flow goes idle here.
    let mut flows = FlowTable::new(FlowConfig {
        idle_timeout_secs: 1_000_000,
        ..FlowConfig::default()
    });
    // 500 flows: the first packet of each holds a ClientHello and decides it.
    let hello = client_hello("github.com");
    let mut frames: Vec<Vec<u8>> = (0..500u16)
        .map(|i| tcp_frame(false, 10000 + i, 443, PSH_ACK, &hello))
        .collect();
    let warmup = frames.len();
    // Then bulk data on all of them, and a ClientHello-looking retransmission.
    for round in 0..20u16 {
        for i in 0..500u16 {
            let payload: &[u8] = if round == 7 { &hello } else { &[0x17; 1200] };
            frames.push(tcp_frame(false, 10000 + i, 443, PSH_ACK, payload));
        }
    }
    let allocations = run_frames(&frames, warmup, &mut flows, &mut detector, &mut out);
    assert_eq!(allocations, 0, "allocations for packets of decided flows");
    assert_eq!(flows.len(), 500);
    // The repeated hellos of round 7 are parsed in place too.
    assert_eq!(detector.stats.client_hellos, 1000);
    assert_eq!(flows.stats.segments_buffered, 0);
}

/// A response for `name` with one A record `addr`.
fn dns_response(name: &str, addr: [u8; 4]) -> Vec<u8> {
    Dns::response(0x1234)
        .question(name, 1)
        .answer(name, 3600, Rdata::A(addr))
        .build()
}

fn new_flows_to_other_addresses_allocate_nothing_while_addresses_are_remembered() {
    let rules = RuleSet::bundled().expect("bundled packs load");
    let mut detector = Detector::new(rules, LogSelection::default());
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(std::io::sink()))),
    );
    let mut flows = FlowTable::new(FlowConfig::default());
    // Warm-up: a matching answer (another address than the test frames' 93.184.216.34) is
    // remembered, and one round of the flows below runs.
    let mut frames = vec![frame(
        true,
        53,
        &dns_response("s01.upd.kaspersky.com", [192, 0, 2, 10]),
    )];
    let get = b"GET / HTTP/1.1\r\nHost: example.org\r\n\r\n";
    for i in 0..1000u16 {
        let port = 30000 + i % 64;
        // New TCP flows (a lookup each), plain data, HTTP, RST; UDP datagrams (a lookup each).
        frames.push(tcp_frame(false, port, 443, 0x02, b""));
        frames.push(tcp_frame(false, port, 443, PSH_ACK, &[0x17; 300]));
        frames.push(tcp_frame(false, port, 443, RST, b""));
        frames.push(tcp_frame(false, port + 100, 80, PSH_ACK, get));
        frames.push(tcp_frame(false, port + 100, 80, RST, b""));
        frames.push(tcp_frame(true, port, 4500, 0, b"\x01datagram"));
    }
    let allocations = run_frames(&frames, 1 + 6 * 64, &mut flows, &mut detector, &mut out);
    assert_eq!(detector.resolved.len(), 1);
    assert_eq!(
        allocations, 0,
        "allocations for flows to addresses not remembered"
    );
    assert_eq!(detector.resolved.stats.hits, 0);
    assert_eq!(flows.pending(), 0);
}
