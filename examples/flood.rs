//! Drive N crafted packets of one flood KIND through the real per-packet stages with the
//! default caps (or the caps given as NAME=VALUE) and report what the targeted table held,
//! what overflowed, and the process's peak RSS. The table in `docs/caps.md` comes from
//!
//! ```text
//! /usr/bin/time -v cargo run --release --example flood -- KIND N
//! ```
//!
//! for KIND in syn, half-open-hello, fragments, quic-initials, dns-answers, suppression.
//! Caps: max-flows, reassembly-kib, defrag-kib, defrag-datagrams, quic-pending, quic-kib,
//! resolved, suppress (e.g. `-- syn 2000000 max-flows=1000`).

use vw_testkit::flood::{self, Caps, Kind};

fn main() {
    let mut args = std::env::args().skip(1);
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let Some(kind) = args.next().as_deref().and_then(Kind::parse) else {
        eprintln!(
            "usage: flood KIND [N] [CAP=VALUE...]; KIND: {}",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let n: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut caps = Caps::default();
    for a in args {
        let Some((k, v)) = a.split_once('=') else {
            eprintln!("flood: expected CAP=VALUE, got {a}");
            std::process::exit(2);
        };
        let Ok(v) = v.parse::<usize>() else {
            eprintln!("flood: {k}: not a number");
            std::process::exit(2);
        };
        match k {
            "max-flows" => caps.flow.max_flows = v,
            "reassembly-kib" => caps.flow.max_reasm_bytes = v * 1024,
            "defrag-kib" => caps.defrag.memcap = v * 1024,
            "defrag-datagrams" => caps.defrag.max_datagrams = v,
            "quic-pending" => caps.quic.max_pending = v,
            "quic-kib" => caps.quic.max_bytes = v * 1024,
            "resolved" => caps.resolved = v,
            "suppress" => caps.suppress = v,
            _ => {
                eprintln!("flood: unknown cap {k}");
                std::process::exit(2);
            }
        }
    }
    let started = std::time::Instant::now();
    let r = flood::run(kind, n, &caps);
    let secs = started.elapsed().as_secs_f64();
    println!("flood:                {} x {n}", kind.name());
    println!("entry cap:            {}", r.entry_cap);
    if let Some(b) = r.byte_cap {
        println!("byte cap:             {b} ({} KiB)", b / 1024);
    }
    println!("entries created:      {}", r.created);
    println!(
        "held at end:          {} entries, {} bytes",
        r.held, r.held_bytes
    );
    println!(
        "peak held:            {} entries, {} bytes",
        r.peak_held, r.peak_bytes
    );
    println!(
        "overflow:             {} ({})",
        r.overflow, r.overflow_label
    );
    println!(
        "table memory peak:    {} KiB (sampled every 1024 packets)",
        r.peak_table_memory / 1024
    );
    println!(
        "time:                 {secs:.2} s ({:.0} packets/s)",
        n as f64 / secs.max(1e-9)
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!(
            "process peak RSS:     {}",
            hwm.trim_start_matches("VmHWM:").trim()
        );
    }
    assert!(r.peak_held <= r.entry_cap, "entry cap passed");
    if let Some(b) = r.byte_cap {
        assert!(r.peak_bytes <= b, "byte cap passed");
    }
}
