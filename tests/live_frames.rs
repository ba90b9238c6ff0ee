//! What the capture methods do to frames on the way in, with crafted frames sent by raw
//! sockets over a veth pair (no ARP, no stack in between): an 802.1Q tag that travels out of
//! band (the sender's VLAN device hands it to the veth as `vlan_tci`, as a NIC with VLAN
//! offload hands it to the kernel) is put back into the frame (the alert says `vlan: [100]`),
//! and `--bpf` is applied by the kernel
//! (a query to the filtered-out address does not alert, the others do). Run with each
//! `--capture` method, with two workers for AF_PACKET (each socket of the fanout group carries
//! the filter).
//!
//! Needs root and `ip netns`; skips with a printed reason otherwise.

mod common;

use std::time::Duration;

use common::netns::{Lab, in_netns, is_root, json_lines, missing, path, poll, run, signal, unique};
use vw_craft::{eth, ipv4, udp, vlan};

fn skip(reason: &str) {
    eprintln!("SKIP live_frames: {reason}");
}

/// An AF_PACKET socket bound to `iface` in namespace `ns`, for sending frames as they are.
fn raw_sender(ns: &str, iface: &str) -> Option<std::os::fd::OwnedFd> {
    let iface = std::ffi::CString::new(iface).ok()?;
    in_netns(ns, move || {
        use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
        // SAFETY: plain socket(2); owned at once.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0) };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` is new and ours.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(iface.as_ptr()) };
        // SAFETY: an all-zero sockaddr_ll is valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = index as i32;
        // SAFETY: `addr` is a sockaddr_ll of the size given.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            )
        };
        (rc == 0).then_some(fd)
    })
}

fn send(fd: &std::os::fd::OwnedFd, frame: &[u8]) {
    use std::os::fd::AsRawFd;
    // SAFETY: `frame` is valid for its length for the whole call.
    let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
    assert_eq!(n, frame.len() as isize, "raw send");
}

/// A DNS query for `name` from 10.9.0.1 to `dst`, in Ethernet, tagged with `vlan_id` if given.
fn query_frame(name: &str, dst: [u8; 4], vlan_id: Option<u16>) -> Vec<u8> {
    let dns = vw_craft::dns::Dns::query(0x77).question(name, 1).build();
    let ip = ipv4([10, 9, 0, 1], dst, 17, &udp(40000, 53, &dns));
    let (src, to) = ([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2]);
    match vlan_id {
        Some(id) => eth(src, to, 0x8100, &vlan(id, 0x0800, &ip)),
        None => eth(src, to, 0x0800, &ip),
    }
}

fn check(capture: &str, workers: &str) {
    if !is_root() {
        return skip("not root");
    }
    if let Some(tool) = missing(&["ip"]) {
        return skip(&format!("{tool} not installed"));
    }
    let id = unique(&format!("{}{workers}", &capture[..1]));
    let mut lab = Lab::new(&format!("frames-{id}"));
    let (sensor, sender) = (format!("vwfs{id}"), format!("vwfx{id}"));
    let (sif, xif, vif) = (format!("vwF{id}"), format!("vwFX{id}"), format!("vwFV{id}"));
    let setup = lab
        .netns(&sensor)
        .and_then(|()| lab.netns(&sender))
        .and_then(|()| {
            lab.veth(
                (&sensor, &sif, "10.9.0.2/24"),
                (&sender, &xif, "10.9.0.1/24"),
            )
        });
    if let Err(e) = setup {
        return skip(&format!("namespace setup failed: {e}"));
    }
    let Some(fd) = raw_sender(&sender, &xif) else {
        return skip("cannot open a raw socket in the namespace");
    };
    // A VLAN device needs the kernel's 8021q support; without it that part is skipped.
    let vlan_device = run(&[
        "ip", "-n", &sender, "link", "add", "link", &xif, "name", &vif, "type", "vlan", "id", "100",
    ])
    .and_then(|_| run(&["ip", "-n", &sender, "link", "set", &vif, "up"]));
    let tagging = match vlan_device {
        Ok(_) => raw_sender(&sender, &vif),
        Err(e) => {
            skip(&format!(
                "{capture}: no VLAN device, the out-of-band tag is not tried: {e}"
            ));
            None
        }
    };
    let eve = lab.dir.join("eve.json");
    let mut vw = lab.vendorwatch_in(
        &sensor,
        &[
            "live",
            "--capture",
            capture,
            "-i",
            &sif,
            "--workers",
            workers,
            "--bpf",
            "not host 10.9.9.2",
            "--stats-interval",
            "0",
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("vendorwatch");
    let (tagged, inline, filtered, plain) = (
        "dnl-01.geo.kaspersky.com",
        "s01.upd.kaspersky.com",
        "ksn-a-stat-geo.kaspersky-labs.com",
        "activation-v2.kaspersky.com",
    );
    // Untagged on the VLAN device: the tag goes out of band.
    if let Some(tagging) = &tagging {
        send(tagging, &query_frame(tagged, [10, 9, 9, 1], None));
    }
    // Tagged in the frame itself (VLAN 200): left as it is.
    send(&fd, &query_frame(inline, [10, 9, 9, 4], Some(200)));
    send(&fd, &query_frame(filtered, [10, 9, 9, 2], None));
    send(&fd, &query_frame(plain, [10, 9, 9, 3], None));
    let alerts = || -> Vec<serde_json::Value> {
        json_lines(&eve)
            .into_iter()
            .filter(|r| r["event_type"] == "alert")
            .collect()
    };
    let want = if tagging.is_some() { 3 } else { 2 };
    poll(Duration::from_secs(5), || alerts().len() >= want);
    // Time for a late (wrong) alert on the filtered query to show up.
    std::thread::sleep(Duration::from_millis(300));
    signal(vw.pid, libc::SIGTERM);
    let status = lab.wait_exit(vw.pid, Duration::from_secs(15));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "{}",
        vw.stderr.text()
    );
    let alerts = alerts();
    let of = |name: &str| {
        alerts
            .iter()
            .find(|r| r["alert"]["metadata"]["matched_name"][0] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{capture}: no alert for {name}: {alerts:?}"))
    };
    if tagging.is_some() {
        let t = of(tagged);
        assert_eq!(
            t["vlan"],
            serde_json::json!([100]),
            "{capture}: tag put back: {t}"
        );
    }
    let i = of(inline);
    assert_eq!(
        i["vlan"],
        serde_json::json!([200]),
        "{capture}: tag kept: {i}"
    );
    let p = of(plain);
    assert!(p.get("vlan").is_none(), "{capture}: untagged: {p}");
    assert!(
        !alerts
            .iter()
            .any(|r| r["alert"]["metadata"]["matched_name"][0] == filtered),
        "{capture}: --bpf filtered out 10.9.9.2: {alerts:?}"
    );
    assert_eq!(alerts.len(), want, "{capture}: {alerts:?}");
}

#[test]
fn vlan_tags_kept_and_bpf_applied_afpacket() {
    check("afpacket", "2");
}

#[test]
fn vlan_tags_kept_and_bpf_applied_afpacket_one_worker() {
    check("afpacket", "1");
}

#[test]
fn vlan_tags_kept_and_bpf_applied_pcap() {
    check("pcap", "1");
}
