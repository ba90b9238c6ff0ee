//! DHCP readers and the identity table: any bytes as a DHCPv4 message and as a DHCPv6 one.
//! Parsing must never panic, every field must lie inside the input, and whatever parses is fed
//! to an identity table (leases, releases, clients) and looked up, which must not panic either.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use vendorwatch::identity::IdentityTable;
use vendorwatch::proto::dhcp::{DhcpV4, DhcpV6, eui64_mac};

/// True when `inner` lies within `outer` (borrowed from it, not made up).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr() as usize, inner.as_ptr() as usize);
    inner.is_empty() || (i >= o && i + inner.len() <= o + outer.len())
}

fuzz_target!(|data: &[u8]| {
    let mut table = IdentityTable::new(8);
    // The time comes from the input too: leases at any moment, of any length.
    let t = data
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i64::from_le_bytes);
    if let Some(m) = DhcpV4::parse(data) {
        for part in [m.hostname, m.params, m.vendor_class, m.client_id, m.routers, m.dns_servers]
            .into_iter()
            .flatten()
        {
            assert!(within(data, part));
        }
        if let Some(f) = m.fqdn {
            assert!(within(data, f.name));
            let mut out = [0u8; 64];
            if let Some(n) = f.write_dotted(&mut out) {
                assert!(n <= out.len());
            }
        }
        table.on_dhcp4(&m, t);
        table.on_dhcp4(&m, t.wrapping_add(1));
        let ips = [IpAddr::from(m.yiaddr), IpAddr::from(m.ciaddr)];
        for ip in ips {
            let _ = table.lookup(ip, t, m.chaddr);
            let _ = table.lookup(ip, t.wrapping_sub(1), None);
        }
    }
    if let Some(m) = DhcpV6::parse(data) {
        assert!(m.addresses().len() <= vendorwatch::proto::dhcp::MAX_V6_ADDRS);
        if let Some(f) = m.fqdn {
            assert!(within(data, f.name));
        }
        let mac = data.get(..6).and_then(|b| b.try_into().ok());
        table.on_dhcp6(&m, mac, t);
        for (addr, _) in m.addresses() {
            let _ = eui64_mac(addr);
            let _ = table.lookup(IpAddr::from(*addr), t, mac);
        }
    }
    let stats = table.stats();
    assert!(stats.leases_held <= 8 && stats.clients_held <= 8);
});
