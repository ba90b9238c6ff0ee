//! Port rules end to end through `Detector::on_packet`: the KSC server ports of the bundled
//! pack alert only when enabled, on a TCP SYN (not SYN-ACK, not data) and on the first UDP
//! packet towards the server (not its replies, not repeats), with
//! `alert.metadata.observation: ["port"]` and the rule's low confidence.

use std::io::{self, Write};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use vendorwatch::capture::Timestamp;
use vendorwatch::decode::{Decoded, L4Proto, TcpFlags, VlanIds};
use vendorwatch::detect::{Detector, LogSelection};
use vendorwatch::output::formatter::{FormatConfig, Formatter};
use vendorwatch::output::hub::OutputHub;
use vendorwatch::record::PacketAt;

use vendorwatch::sigs::{MatchOptions, RuleSet};

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn packet(
    proto: L4Proto,
    src: &str,
    sport: u16,
    dst: &str,
    dport: u16,
    flags: TcpFlags,
) -> Decoded<'static> {
    Decoded {
        src_ip: src.parse::<IpAddr>().expect("ip"),
        dst_ip: dst.parse::<IpAddr>().expect("ip"),
        proto,
        src_port: sport,
        dst_port: dport,
        tcp_flags: flags,
        payload: &[],
        vlans: VlanIds::default(),
        tunnel: None,
        reassembled: false,
        macs: None,
    }
}

const SYN: TcpFlags = TcpFlags {
    syn: true,
    ack: false,
    fin: false,
    rst: false,
    seq: 0,
};
const SYN_ACK: TcpFlags = TcpFlags {
    syn: true,
    ack: true,
    fin: false,
    rst: false,
    seq: 0,
};
const ACK: TcpFlags = TcpFlags {
    syn: false,
    ack: true,
    fin: false,
    rst: false,
    seq: 0,
};
const NONE: TcpFlags = TcpFlags {
    syn: false,
    ack: false,
    fin: false,
    rst: false,
    seq: 0,
};

fn run(enable: bool, packets: &[Decoded<'static>]) -> Vec<Value> {
    let rules = RuleSet::bundled().expect("bundled pack");
    let mut det = Detector::with_options(
        rules,
        LogSelection::default(),
        MatchOptions {
            enable_port_rules: enable,
        },
    );
    let sink = Shared::default();
    let mut out = Formatter::new(
        Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(sink.clone()))),
    );
    for (i, p) in packets.iter().enumerate() {
        let at = PacketAt::new(
            Timestamp {
                secs: 1_727_784_000 + i as i64,
                nanos: 0,
            },
            i as u64 + 1,
        );
        det.on_packet(p, &at, &mut out);
    }
    let report = out.into_forward().finish();
    assert!(report.error.is_none(), "flush");
    let bytes = sink.0.lock().expect("lock").clone();
    String::from_utf8(bytes)
        .expect("utf8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect()
}

fn traffic() -> Vec<Decoded<'static>> {
    use L4Proto::{Tcp, Udp};
    vec![
        // Network Agent -> KSC server, TLS on 13000: SYN alerts once; SYN-ACK and data do not.
        packet(Tcp, "10.1.0.21", 50001, "10.0.0.5", 13000, SYN),
        packet(Tcp, "10.0.0.5", 13000, "10.1.0.21", 50001, SYN_ACK),
        packet(Tcp, "10.1.0.21", 50001, "10.0.0.5", 13000, ACK),
        // KSN proxy over UDP 15111: first packet alerts; the reply and a repeat do not.
        packet(Udp, "10.1.0.22", 40000, "10.0.0.5", 15111, NONE),
        packet(Udp, "10.0.0.5", 15111, "10.1.0.22", 40000, NONE),
        packet(Udp, "10.1.0.22", 40001, "10.0.0.5", 15111, NONE),
        // Unlisted ports never alert.
        packet(Tcp, "10.1.0.23", 50002, "10.0.0.80", 443, SYN),
        packet(Udp, "10.1.0.23", 40002, "10.0.0.53", 5353, NONE),
        // IPv6 client, legacy 14000.
        packet(Tcp, "2001:db8::21", 50003, "2001:db8::5", 14000, SYN),
    ]
}

#[test]
fn port_rules_are_off_by_default() {
    assert!(run(false, &traffic()).is_empty());
}

#[test]
fn port_rules_alert_on_the_server_side_only() {
    let alerts = run(true, &traffic());
    let seen: Vec<(String, String, u64)> = alerts
        .iter()
        .map(|a| {
            (
                a["src_ip"].as_str().unwrap_or_default().to_string(),
                a["alert"]["metadata"]["matched_name"][0]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                a["dest_port"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("10.1.0.21".into(), "10.0.0.5:13000".into(), 13000),
            ("10.1.0.22".into(), "10.0.0.5:15111".into(), 15111),
            ("2001:db8::21".into(), "[2001:db8::5]:14000".into(), 14000),
        ],
        "{alerts:#?}"
    );
    for a in &alerts {
        let md = &a["alert"]["metadata"];
        assert_eq!(md["observation"][0], "port");
        assert_eq!(md["confidence"][0], "low");
        assert_eq!(md["channel"][0], "management");
        assert_eq!(a["alert"]["signature_id"], 4_200_110);
        assert!(
            md["matched_pattern"][0]
                .as_str()
                .is_some_and(|p| p.starts_with("tcp/") || p.starts_with("udp/"))
        );
        assert!(a.get("app_proto").is_none(), "{a}");
    }
}

#[test]
fn port_alerts_validate_against_suricata_schema() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/eve-schema/suricata-eve-schema.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIP port_alerts_validate_against_suricata_schema: schema file not found");
        return;
    };
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let alerts = run(true, &traffic());
    assert!(!alerts.is_empty());
    for a in &alerts {
        let errors: Vec<String> = validator.iter_errors(a).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{a}: {errors:#?}");
    }
}
