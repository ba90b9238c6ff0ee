//! Feed N SYN-only flows (default 1,000,000) through the flow table and report what it held:
//! flows, evictions and memory, against the configured cap. Measure the process with
//! `/usr/bin/time -v cargo run --release --example syn-flood -- [N] [MAX_FLOWS]`.

use vendorwatch::capture::{Timestamp, linktype};
use vendorwatch::decode::decode;
use vendorwatch::flow::{AppEvent, FlowConfig, FlowTable};
use vw_craft::{SYN, ipv4, tcp};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u32 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let max_flows: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(FlowConfig::default().max_flows);
    let config = FlowConfig {
        max_flows,
        ..FlowConfig::default()
    };
    let mut table = FlowTable::new(config);
    let mut peak = 0;
    for i in 0..n {
        let [a, b, c, d] = i.to_be_bytes();
        // A SYN from 10.a.b.c:port to 192.0.2.1:443.
        let port = 1024 + u16::from(d);
        let seq = u32::from(port).wrapping_mul(2_654_435_761);
        let p = ipv4(
            [10, a, b, c],
            [192, 0, 2, 1],
            6,
            &tcp(port, 443, seq, 0, SYN, &[]),
        );
        let Ok(pkt) = decode(linktype::RAW, &p) else {
            continue;
        };
        // 100,000 SYNs a second of capture time.
        let ts = Timestamp {
            secs: 1_700_000_000 + i64::from(i / 100_000),
            nanos: 0,
        };
        table.on_tcp(&pkt, ts, &mut |_: AppEvent<'_>| {});
        if i % 4096 == 0 {
            peak = peak.max(table.memory_bytes());
        }
    }
    let s = &table.stats;
    let bound = FlowTable::memory_bound(&config);
    println!("syn flows fed:        {n}");
    println!("max_flows (cap):      {max_flows}");
    println!("flows held at end:    {}", table.len());
    println!("flows created:        {}", s.flows_created);
    println!("evicted at flow cap:  {}", s.evicted_cap);
    println!("evicted idle:         {}", s.evicted_idle);
    println!("table memory peak:    {} KiB", peak / 1024);
    println!(
        "configured bound:     {} KiB (of which reassembly cap {} KiB)",
        bound / 1024,
        config.max_reasm_bytes / 1024
    );
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!(
            "process peak RSS:     {}",
            hwm.trim_start_matches("VmHWM:").trim()
        );
    }
    assert!(table.len() <= max_flows);
    assert!(peak <= bound);
}
