//! The offline job: expand inputs, read each capture, decode, track flows, detect, write. One
//! thread for now; the reader hands borrowed packets straight down the stages.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use crate::capture::file::{CaptureErrorKind, CaptureReader};
use crate::decode::{DecodeStats, Decoded, Decoder, L4Proto, SkipReason};
use crate::detect::{Detector, FlowMeta};
use crate::flow::{AppEvent, FlowTable};
use crate::output::eve::EveWriter;

/// One input as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-`).
    Stdin,
    /// A capture file.
    File(PathBuf),
}

impl Input {
    /// Name used in messages and in EVE's `pcap_filename`.
    pub fn display_name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => p.display().to_string(),
        }
    }
}

/// Counters of a scan, printed in the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Captures read to the end without error.
    pub files_ok: u64,
    /// Inputs that could not be opened or read completely.
    pub files_failed: u64,
    /// Files in scanned directories skipped because they are not captures.
    pub files_not_captures: u64,
    /// Packets read.
    pub packets: u64,
    /// Bytes on the wire (original lengths).
    pub bytes: u64,
    /// Packets not decoded, by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::ALL.len()],
    /// What the decoder did (tunnels, reassembly), copied at the end of the scan.
    pub decode: DecodeStats,
    /// One line per error, as printed.
    pub errors: Vec<String>,
    /// Flow table and reassembly counters.
    pub flow: crate::flow::FlowStats,
    /// What the QUIC Initial decoder did.
    pub quic: crate::flow::quic::QuicStats,
}

/// Expand the command-line arguments: `-` is stdin, a directory is walked recursively in name
/// order (keeping only files that start like a capture), anything else is taken as a file.
pub fn expand_inputs(args: &[String], stats: &mut ScanStats) -> Vec<Input> {
    let mut inputs = Vec::new();
    for arg in args {
        if arg == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let path = PathBuf::from(arg);
        if path.is_dir() {
            let mut files = Vec::new();
            if let Err(e) = walk_dir(&path, &mut files) {
                fail(
                    stats,
                    format!("{}: cannot read directory: {e}", path.display()),
                );
            }
            for file in files {
                if starts_like_capture(&file) {
                    inputs.push(Input::File(file));
                } else {
                    stats.files_not_captures += 1;
                }
            }
        } else {
            inputs.push(Input::File(path));
        }
    }
    inputs
}

fn walk_dir(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk_dir(&path, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// Magic numbers of pcap (both byte orders, usec and nsec) and pcapng.
fn starts_like_capture(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    let ok = File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    ok.is_ok()
        && matches!(
            magic,
            [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
}

fn fail(stats: &mut ScanStats, line: String) {
    eprintln!("vendorwatch: {line}");
    stats.errors.push(line);
}

/// Scan every input in order. Errors are printed as they happen and counted; the scan goes on
/// with the next input. Returns early only when the output has failed (nothing more could be
/// written).
pub fn scan(
    inputs: &[Input],
    decoder: &mut Decoder,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveWriter,
    stats: &mut ScanStats,
) {
    scan_inputs(inputs, decoder, flows, detector, out, stats);
    stats.decode = decoder.stats();
    stats.flow = flows.stats;
    stats.quic = flows.quic.stats();
}

fn scan_inputs(
    inputs: &[Input],
    decoder: &mut Decoder,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveWriter,
    stats: &mut ScanStats,
) {
    for input in inputs {
        let name = input.display_name();
        out.set_pcap_filename(&name);
        let ok = match input {
            Input::Stdin => scan_reader(
                &name,
                io::stdin().lock(),
                decoder,
                flows,
                detector,
                out,
                stats,
            ),
            Input::File(path) => match File::open(path) {
                Ok(file) => scan_reader(&name, file, decoder, flows, detector, out, stats),
                Err(e) => {
                    fail(stats, format!("{name}: cannot open: {e}"));
                    false
                }
            },
        };
        if ok {
            stats.files_ok += 1;
        } else {
            stats.files_failed += 1;
        }
        if out.failed() {
            return;
        }
    }
}

/// Scan one capture stream; false if it could not be read to its end.
fn scan_reader<R: Read>(
    name: &str,
    reader: R,
    decoder: &mut Decoder,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveWriter,
    stats: &mut ScanStats,
) -> bool {
    let mut capture = match CaptureReader::new(reader) {
        Ok(c) => c,
        Err(e) => {
            let what = match e.kind {
                CaptureErrorKind::NotACapture => {
                    "not a pcap or pcapng file (unknown magic number)".to_string()
                }
                _ => e.to_string(),
            };
            fail(stats, format!("{name}: {what}"));
            return false;
        }
    };
    // Link types already reported as unsupported in this file (a handful at most).
    let mut reported_link_types: Vec<u32> = Vec::new();
    let mut ok = true;
    let mut pcap_cnt = 0u64;
    loop {
        let packet = match capture.next_packet() {
            Ok(Some(p)) => p,
            Ok(None) => break,
            Err(e) => {
                fail(stats, format!("{name}: {e}"));
                ok = false;
                break;
            }
        };
        stats.packets += 1;
        stats.bytes += u64::from(packet.orig_len);
        pcap_cnt += 1;
        match decoder.decode(packet.link_type, packet.data, packet.ts) {
            Ok(decoded) => {
                let meta = FlowMeta::new(&decoded, packet.ts, pcap_cnt);
                process(&decoded, &meta, flows, detector, out);
            }
            Err(reason) => {
                stats.skipped[reason.index()] += 1;
                if reason == SkipReason::UnknownLinkType
                    && !reported_link_types.contains(&packet.link_type)
                {
                    reported_link_types.push(packet.link_type);
                    fail(
                        stats,
                        format!(
                            "{name}: packet {pcap_cnt}: unknown link type {} (packets of this type are counted, not decoded)",
                            packet.link_type
                        ),
                    );
                    ok = false;
                }
            }
        }
        if out.failed() {
            return false;
        }
    }
    ok
}

/// The stages after decoding, for one packet: UDP straight to detection, TCP through the flow
/// table, which hands complete messages (reassembled when needed) to detection.
pub fn process(
    pkt: &Decoded<'_>,
    meta: &FlowMeta,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut EveWriter,
) {
    match pkt.proto {
        L4Proto::Udp => {
            detector.on_packet(pkt, meta, out);
            flows.quic.on_udp(pkt, meta.ts, |version, hello| {
                detector.on_quic_hello(version, hello, meta, out)
            });
        }
        L4Proto::Tcp => {
            let mut sink = |event: AppEvent<'_>| match event {
                AppEvent::Tls(hello) => detector.on_client_hello(&hello, meta, out),
                AppEvent::Http(req) => detector.on_http(&req, meta, out),
                AppEvent::Dns(msg) => detector.on_dns(msg, meta, out),
            };
            flows.on_tcp(pkt, meta.ts, &mut sink);
        }
    }
}
