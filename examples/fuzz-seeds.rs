//! Seed corpora for the fuzz targets in `fuzz/`, cut out of capture files.
//!
//! ```text
//! cargo run --example fuzz-seeds -- fuzz/corpus pcaps/ [more captures or directories...]
//! ```
//!
//! Writes, under the output directory, one file per seed (named by a hash of its bytes, so
//! reruns do not duplicate):
//! - `dns/` and `dns_diff/`: UDP payloads to or from port 53, 5353 (mDNS, the same format)
//!   or 8053 (a forwarder);
//! - `tls/`: TCP payloads that look like a ClientHello;
//! - `decode/`: frames prefixed with the selector byte the `decode` target maps to their link type;
//! - `pipeline/`: every decodable packet rewrapped as an Ethernet frame;
//! - `capture/`: each capture file whole, and cut at a few offsets, behind the chunk-size byte;
//! - `dhcp/`: UDP payloads on the DHCP ports (67/68, 546/547), plus a crafted exchange
//!   (`vw_craft::dhcp`: request with host name, vendor class and FQDN; ACK; release).
//!
//! `scripts/fuzz.sh` runs it before fuzzing; the corpus directory is not committed.

use std::collections::hash_map::DefaultHasher;
use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use vendorwatch::capture::file::CaptureReader;
use vendorwatch::capture::linktype;
use vendorwatch::decode::{self, L4Proto};
use vendorwatch::proto::dns::DnsPorts;
use vendorwatch::proto::{dhcp, http, quic, tls};
use vw_craft::{ETH_IPV4, ETH_IPV6, eth};

/// Same order as `LINK_TYPES` in `fuzz/fuzz_targets/decode.rs`.
const DECODE_LINK_TYPES: &[u32] = &[
    linktype::ETHERNET,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_12,
    linktype::RAW_14,
    linktype::IPV4,
    linktype::IPV6,
    9,
    239,
];

/// Packets taken from each capture.
const PACKETS_PER_FILE: usize = 200;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((out, inputs)) = args.split_first() else {
        eprintln!("usage: fuzz-seeds OUT_DIR CAPTURE_OR_DIR...");
        std::process::exit(2);
    };
    let out = PathBuf::from(out);
    let mut files = Vec::new();
    for input in inputs {
        collect(Path::new(input), &mut files);
    }
    let mut counts = [0usize; 8];
    let dns_ports = DnsPorts::with_extra(&[5353, 8053]).unwrap_or_default();
    for file in &files {
        let Ok(bytes) = fs::read(file) else { continue };
        if CaptureReader::new(bytes.as_slice()).is_err() {
            continue;
        }
        seed_capture(&out, &bytes, &mut counts);
        seed_packets(&out, &bytes, &dns_ports, &mut counts);
    }
    counts[7] += seed_dhcp(&out);
    println!(
        "fuzz-seeds: {} capture(s) -> dns {} tls {} decode {} pipeline {} capture {} http {} quic {} dhcp {} (in {})",
        files.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        counts[4],
        counts[5],
        counts[6],
        counts[7],
        out.display()
    );
}

/// Crafted DHCP messages (no sample capture holds DHCP); the number written.
fn seed_dhcp(out: &Path) -> usize {
    use vw_craft::dhcp::{ACK, DISCOVER, Dhcp, RELEASE, REQUEST};
    let mac = [0x3c, 0x52, 0x82, 1, 2, 3];
    let addr = [10, 1, 0, 11];
    let mut release = Dhcp::client(RELEASE, 3, mac);
    release.ciaddr = addr;
    let fqdn = b"\x05\x00\x00\x06ws-fin\x04corp\x00";
    let messages = [
        Dhcp::client(DISCOVER, 1, mac)
            .hostname("WS-FIN-042")
            .vendor_class("MSFT 5.0")
            .option(55, &[1, 3, 6, 15, 119, 252])
            .option(61, &[1, 0x3c, 0x52, 0x82, 1, 2, 3]),
        Dhcp::client(REQUEST, 2, mac)
            .option(50, &addr)
            .option(81, fqdn),
        Dhcp::server(ACK, 2, mac, addr)
            .lease(3600)
            .option(54, &[10, 1, 0, 1])
            .option(1, &[255, 255, 255, 0])
            .option(3, &[10, 1, 0, 1])
            .option(6, &[10, 1, 0, 53, 10, 1, 0, 54]),
        release,
    ];
    let mut n = 0;
    for m in &messages {
        n += usize::from(write_seed(out, "dhcp", &m.build()));
    }
    // DHCPv6: a Request with a client id and an FQDN, a Reply with an IA_NA address.
    let mut v6 = vec![3, 0, 0, 1, 0, 1, 0, 10, 0, 3, 0, 1];
    v6.extend_from_slice(&mac);
    v6.extend_from_slice(&[0, 39, 0, 14, 1, 6]);
    v6.extend_from_slice(b"ws-fin\x04corp\x00");
    n += usize::from(write_seed(out, "dhcp", &v6));
    let mut reply = vec![7, 0, 0, 1, 0, 3, 0, 40];
    reply.extend_from_slice(&[0; 12]);
    reply.extend_from_slice(&[0, 5, 0, 24, 0x20, 1, 0x0d, 0xb8]);
    reply.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11]);
    reply.extend_from_slice(&[0, 0, 0x0e, 0x10, 0, 0, 0x1c, 0x20]);
    n += usize::from(write_seed(out, "dhcp", &reply));
    n
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = fs::read_dir(path) else {
            return;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            collect(&p, out);
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

/// Writes one seed; true when it is new. Seeds are capped at 64 KiB (libFuzzer's default
/// max_len is smaller anyway).
fn write_seed(out: &Path, target: &str, bytes: &[u8]) -> bool {
    if bytes.is_empty() || bytes.len() > 65_536 {
        return false;
    }
    let dir = out.join(target);
    if fs::create_dir_all(&dir).is_err() {
        return false;
    }
    let mut h = DefaultHasher::new();
    bytes.hash(&mut h);
    let path = dir.join(format!("{:016x}", h.finish()));
    if path.exists() {
        return false;
    }
    fs::write(&path, bytes).is_ok()
}

fn seed_capture(out: &Path, bytes: &[u8], counts: &mut [usize; 8]) {
    // Whole file (read in one go), and the first 4 KiB read in 7-byte chunks.
    for (chunk, cut) in [(0u8, bytes.len()), (7, bytes.len().min(4096))] {
        let mut seed = vec![chunk];
        seed.extend_from_slice(bytes.get(..cut).unwrap_or(bytes));
        counts[4] += usize::from(write_seed(out, "capture", &seed));
    }
}

fn seed_packets(out: &Path, bytes: &[u8], dns_ports: &DnsPorts, counts: &mut [usize; 8]) {
    let Ok(mut reader) = CaptureReader::new(bytes) else {
        return;
    };
    // The first packets of each file are enough: big captures repeat themselves.
    for _ in 0..PACKETS_PER_FILE {
        let Ok(Some(packet)) = reader.next_packet() else {
            break;
        };
        let frame = packet.data;
        if let Some(sel) = DECODE_LINK_TYPES
            .iter()
            .position(|&l| l == packet.link_type)
        {
            let mut seed = vec![sel as u8];
            seed.extend_from_slice(frame);
            counts[2] += usize::from(write_seed(out, "decode", &seed));
        }
        let Ok(d) = decode::decode(packet.link_type, frame) else {
            continue;
        };
        match d.proto {
            L4Proto::Udp if dns_ports.either(d.src_port, d.dst_port) => {
                counts[0] += usize::from(write_seed(out, "dns", d.payload));
                write_seed(out, "dns_diff", d.payload);
            }
            L4Proto::Tcp if tls::looks_like_client_hello(d.payload) => {
                counts[1] += usize::from(write_seed(out, "tls", d.payload));
            }
            L4Proto::Tcp if http::looks_like_request(d.payload) => {
                counts[5] += usize::from(write_seed(out, "http", d.payload));
            }
            L4Proto::Udp
                if dhcp::is_v4_port(d.src_port, d.dst_port)
                    || dhcp::is_v6_port(d.src_port, d.dst_port) =>
            {
                counts[7] += usize::from(write_seed(out, "dhcp", d.payload));
            }
            L4Proto::Udp if quic::looks_like_initial(d.payload) => {
                counts[6] += usize::from(write_seed(out, "quic", d.payload));
            }
            _ => {}
        }
        if let Some(eth) = as_ethernet(packet.link_type, frame) {
            counts[3] += usize::from(write_seed(out, "pipeline", &eth));
        }
    }
}

/// The frame as Ethernet: as is when it already is, else its IP packet behind a made-up
/// Ethernet header.
fn as_ethernet(link_type: u32, frame: &[u8]) -> Option<Vec<u8>> {
    let ip_start = match link_type {
        linktype::ETHERNET => return Some(frame.to_vec()),
        linktype::NULL | linktype::LOOP => 4,
        linktype::LINUX_SLL => 16,
        linktype::LINUX_SLL2 => 20,
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 | linktype::IPV4 | linktype::IPV6 => 0,
        _ => return None,
    };
    let ip = frame.get(ip_start..)?;
    let ethertype = match ip.first()? >> 4 {
        4 => ETH_IPV4,
        6 => ETH_IPV6,
        _ => return None,
    };
    Some(eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], ethertype, ip))
}
