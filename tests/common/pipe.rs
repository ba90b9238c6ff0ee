//! A scan reading a capture from a pipe, so the test decides when packets arrive: the
//! network output tests stop and restart their servers between packets.

use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};

use vw_craft::dns::Dns;
use vw_craft::{eth, ipv4, udp};

/// A classic pcap header (Ethernet, microseconds).
pub fn pcap_header() -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes());
    out
}

/// Packet `i`: a DNS query for s01.upd.kaspersky.com from `src` (one alert with suppression
/// off), as a pcap record.
pub fn dns_packet(i: u32, src: [u8; 4]) -> Vec<u8> {
    let dns = Dns::query(i as u16)
        .question("s01.upd.kaspersky.com", 1)
        .build();
    let udp = udp(40000 + (i % 20000) as u16, 53, &dns);
    let ip = ipv4(src, [10, 0, 0, 53], 17, &udp);
    let pkt = eth([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1], 0x0800, &ip);
    let mut rec = Vec::new();
    rec.extend_from_slice(&(1_727_784_000 + i).to_le_bytes());
    rec.extend_from_slice(&0u32.to_le_bytes());
    rec.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    rec.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
    rec.extend_from_slice(&pkt);
    rec
}

/// `vendorwatch scan ARGS... -` fed through its stdin; killed on drop if still running.
pub struct PipeScan {
    child: Child,
    stdin: Option<ChildStdin>,
    next: u32,
    /// The source address of packet `i`.
    src: fn(u32) -> [u8; 4],
}

impl Drop for PipeScan {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl PipeScan {
    /// Start the scan; packet `i` is sent from `src(i)`.
    pub fn start(args: &[&str], src: fn(u32) -> [u8; 4]) -> PipeScan {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
            .arg("scan")
            .args(args)
            .arg("-")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vendorwatch");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(&pcap_header()).expect("pcap header");
        PipeScan {
            child,
            stdin: Some(stdin),
            next: 0,
            src,
        }
    }

    /// Send the next `n` packets.
    pub fn send(&mut self, n: u32) {
        let stdin = self.stdin.as_mut().expect("input open");
        for _ in 0..n {
            stdin
                .write_all(&dns_packet(self.next, (self.src)(self.next)))
                .expect("write packet");
            self.next += 1;
        }
        stdin.flush().expect("flush");
    }

    /// Close the input, wait for a successful exit; its stderr (the summary).
    pub fn finish(mut self) -> String {
        drop(self.stdin.take());
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "{err}");
        err
    }
}

/// (produced, delivered, dropped) of the summary line of the output whose label starts with
/// `label` (`output LABEL...: produced N, delivered N, dropped N...`).
pub fn output_figures(stderr: &str, label: &str) -> (u64, u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("output {label}")))
        .unwrap_or_else(|| panic!("no `output {label}` line in the summary:\n{stderr}"));
    eprintln!("{}", line.trim());
    let num = |key: &str| -> u64 {
        let at = line.find(key).expect(key) + key.len();
        line[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    (num("produced "), num("delivered "), num("dropped "))
}
