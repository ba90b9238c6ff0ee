//! DNS answer following end to end: a host resolves a Kaspersky update name, a (different)
//! host later opens a TCP connection to the returned address with no name of its own, and
//! the connection is alerted as `resolved-ip`, naming the original query.

mod common;

fn ipv4_udp(src: [u8; 4], sport: u16, dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0];
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

fn dns_response(name: &str, addr: [u8; 4], ttl: u32) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&[0, 1, 0, 1]);
    m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    m.extend_from_slice(&ttl.to_be_bytes());
    m.extend_from_slice(&[0, 4]);
    m.extend_from_slice(&addr);
    m
}

fn pcap(packets: &[(u32, Vec<u8>)]) -> Vec<u8> {
    // Classic pcap, LINKTYPE_IPV4 (228).
    let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&65535u32.to_le_bytes());
    f.extend_from_slice(&228u32.to_le_bytes());
    for (secs, p) in packets {
        f.extend_from_slice(&secs.to_le_bytes());
        f.extend_from_slice(&0u32.to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(&(p.len() as u32).to_le_bytes());
        f.extend_from_slice(p);
    }
    f
}

#[test]
fn connection_by_ip_to_a_resolved_kaspersky_address_alerts() {
    let server = [203, 0, 113, 7];
    let other = [198, 51, 100, 9];
    let dns = dns_response("dnl-07.geo.kaspersky.com", server, 300);
    let packets = vec![
        (
            1_700_000_000,
            ipv4_udp([9, 9, 9, 9], 53, [10, 0, 0, 5], 5353, &dns),
        ),
        // A SYN to an address never resolved: nothing.
        (
            1_700_000_010,
            vendorwatch::flow::syn_packet([10, 0, 0, 6], 40001, other).to_vec(),
        ),
        // A SYN by another host to the resolved address: resolved-ip.
        (
            1_700_000_020,
            vendorwatch::flow::syn_packet([10, 0, 0, 6], 40000, server).to_vec(),
        ),
        // After the TTL (300 s): nothing.
        (
            1_700_000_400,
            vendorwatch::flow::syn_packet([10, 0, 0, 8], 40002, server).to_vec(),
        ),
    ];
    let dir = std::env::temp_dir().join(format!("vw-resolved-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("resolved.pcap");
    std::fs::write(&path, pcap(&packets)).unwrap();
    let run = common::vendorwatch(&["scan", "--quiet", &path.to_string_lossy()]);
    let alerts: Vec<_> = run.events("alert").collect();
    let resolved: Vec<_> = alerts
        .iter()
        .filter(|a| a["alert"]["metadata"]["observation"][0] == "resolved-ip")
        .collect();
    assert_eq!(resolved.len(), 1, "{alerts:#?}\n{}", run.stderr());
    let a = resolved[0];
    assert_eq!(a["src_ip"], "10.0.0.6");
    assert_eq!(a["dest_ip"], "203.0.113.7");
    assert_eq!(a["pcap_cnt"], 3);
    assert_eq!(a["alert"]["metadata"]["matched_name"][0], "203.0.113.7");
    assert_eq!(
        a["alert"]["metadata"]["resolved_from"][0],
        "dnl-07.geo.kaspersky.com"
    );
    assert!(a.get("app_proto").is_none());
    if let Some(schema) = common::schema_path() {
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(schema).unwrap()).unwrap();
        let v = jsonschema::validator_for(&schema).unwrap();
        for r in &run.records {
            assert!(v.is_valid(r), "{r}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
