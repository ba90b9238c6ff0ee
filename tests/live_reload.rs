//! SIGHUP in `vendorwatch live` reloads the signature packs given by `--signatures`, and every
//! worker uses the new set: rule kinds absent at start (a `ja4` rule, a `ports` rule with
//! `--enable-port-rules`, a `payloads` rule) fire after the reload that adds them and not
//! before. A pack with errors is reported ("keeping the signatures loaded before") and the
//! rules loaded before keep firing.
//!
//! One pair of network namespaces: `openssl s_server` on 443 in the server namespace, `dig`,
//! `curl` and bash's `/dev/udp` in the client namespace, where vendorwatch captures with two
//! workers and `--suppress-window 0` (every repeat of the same traffic must alert again). The
//! JA4 fingerprint of the client's ClientHello is learned first, from a short `--log tls`
//! capture of the same `curl` command.
//!
//! Needs root and `ip netns`; skips with a printed reason otherwise or when a tool is missing.
//! Namespaces and processes are removed by a Drop guard; traffic stays inside the namespaces.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::netns::{
    Lab, Vendorwatch, complete_len, is_root, json_lines, json_lines_from, missing, path, poll,
    run_in, signal, unique,
};

const NAME: &str = "live_reload";
const CLIENT: &str = "10.253.0.1";
const SERVER: &str = "10.253.0.2";
/// Looked up to show the domain rule (loaded at start) fires: the marker that the traffic
/// sent before it has been captured.
const MARKER: &str = "marker.reload.vwtest.example";
/// SNI of the ClientHello whose JA4 the `ja4` rule lists; no domain rule names it.
const JA4_HOST: &str = "ja4-probe.vwtest.example";

const DOMAIN_SID: u64 = 9_900_001;
const JA4_SID: u64 = 9_900_002;
const PORT_SID: u64 = 9_900_003;
const PAYLOAD_SID: u64 = 9_900_004;

fn skip(reason: &str) {
    eprintln!("SKIP {NAME}: {reason}");
}

/// The pack file: the `[pack]` table and the given rules.
fn pack_text(rules: &[String]) -> String {
    let mut text =
        String::from("[pack]\nid = \"reloadtest\"\nvendor = \"ReloadTest\"\nversion = \"1\"\n");
    for r in rules {
        text.push('\n');
        text.push_str(r);
    }
    text
}

fn domain_rule() -> String {
    format!(
        "[[rule]]\nsid = {DOMAIN_SID}\nname = \"reload test: domain\"\nchannel = \"update\"\n\
         severity = 1\ndomains = [\"{MARKER}\"]\n"
    )
}

fn ja4_rule(fingerprint: &str) -> String {
    format!(
        "[[rule]]\nsid = {JA4_SID}\nname = \"reload test: ja4\"\nchannel = \"other\"\n\
         severity = 2\nja4 = [\"{fingerprint}\"]\n"
    )
}

fn port_rule() -> String {
    format!(
        "[[rule]]\nsid = {PORT_SID}\nname = \"reload test: port\"\nchannel = \"management\"\n\
         severity = 3\nports = [\"tcp/13000\"]\n"
    )
}

fn payload_rule() -> String {
    format!(
        "[[rule]]\nsid = {PAYLOAD_SID}\nname = \"reload test: payload\"\nchannel = \"cloud\"\n\
         severity = 1\npayloads = [{{ proto = \"udp\", port = 8800, prefix = \"DHGET \" }}]\n"
    )
}

/// `vendorwatch sigs check DIR`: whether the packs load.
fn sigs_check(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["sigs", "check", path(dir)])
        .output()
        .expect("run sigs check");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// (sid, observation, matched name) of every alert in `records`.
fn alerts(records: &[serde_json::Value]) -> Vec<(u64, String, String)> {
    records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .map(|r| {
            let m = &r["alert"]["metadata"];
            (
                r["alert"]["signature_id"].as_u64().unwrap_or(0),
                m["observation"][0].as_str().unwrap_or("").to_string(),
                m["matched_name"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The client side of the test's traffic.
struct Client {
    ns: String,
}

impl Client {
    /// A DNS query for `name` (nothing answers on the server: the query is all that counts).
    fn lookup(&self, name: &str) {
        let _ = run_in(
            &self.ns,
            &["dig", "+time=1", "+tries=1", &format!("@{SERVER}"), name],
        );
    }

    /// A TLS ClientHello with SNI `JA4_HOST`, always the same `curl` command.
    fn hello(&self) {
        let _ = run_in(
            &self.ns,
            &[
                "curl",
                "-sk",
                "-m",
                "5",
                "-o",
                "/dev/null",
                "--resolve",
                &format!("{JA4_HOST}:443:{SERVER}"),
                &format!("https://{JA4_HOST}/"),
            ],
        );
    }

    /// A SYN to tcp/13000 (nothing listens: RST, curl gives up at once).
    fn syn_13000(&self) {
        let _ = run_in(
            &self.ns,
            &["curl", "-s", "-m", "3", &format!("http://{SERVER}:13000/")],
        );
    }

    /// One UDP datagram "DHGET x" to port 8800.
    fn dhget(&self) {
        run_in(
            &self.ns,
            &[
                "bash",
                "-c",
                &format!("printf 'DHGET x' > /dev/udp/{SERVER}/8800"),
            ],
        )
        .expect("send the UDP datagram");
    }
}

/// Learn the JA4 of `Client::hello` from a short `--log tls` capture.
fn learn_ja4(lab: &mut Lab, client: &Client, iface: &str, sigs: &Path) -> String {
    let learn = lab.dir.join("learn.json");
    let mut vw = lab.vendorwatch_in(
        &client.ns,
        &[
            "live",
            "-i",
            iface,
            "--workers",
            "1",
            "--log",
            "tls",
            "--no-default-signatures",
            "--signatures",
            path(sigs),
            "--eve",
            path(&learn),
        ],
    );
    vw.expect_capturing("vendorwatch (learning JA4)");
    client.hello();
    let mut ja4 = None;
    poll(Duration::from_secs(10), || {
        ja4 = json_lines(&learn)
            .iter()
            .filter(|r| r["event_type"] == "tls" && r["tls"]["sni"] == JA4_HOST)
            .find_map(|r| r["tls"]["ja4"].as_str().map(str::to_string));
        ja4.is_some()
    });
    signal(vw.pid, libc::SIGTERM);
    let status = lab.wait_exit(vw.pid, Duration::from_secs(15));
    assert!(
        status.is_some(),
        "vendorwatch (learning JA4) did not stop within 15 s of SIGTERM"
    );
    let ja4 = ja4.unwrap_or_else(|| {
        panic!(
            "no tls record with a ja4 for {JA4_HOST} in {}: {:?}",
            learn.display(),
            json_lines(&learn)
        )
    });
    assert!(
        ja4.starts_with('t') && ja4.matches('_').count() == 2,
        "a JA4 fingerprint: {ja4}"
    );
    ja4
}

/// Send SIGHUP and wait for stderr to say the reload of `rules` rules succeeded.
fn reload(vw: &mut Vendorwatch, rules: usize) {
    let before = vw.stderr.count("signatures reloaded");
    signal(vw.pid, libc::SIGHUP);
    let msg = format!("signatures reloaded ({rules} rule(s))");
    assert!(
        vw.stderr.wait_for(&msg, Duration::from_secs(10)),
        "SIGHUP: want \"{msg}\" on stderr:\n{}",
        vw.stderr.text()
    );
    assert_eq!(vw.stderr.count("signatures reloaded"), before + 1);
}

#[test]
fn sighup_reload_adds_ja4_port_and_payload_rules_and_keeps_them_over_a_broken_pack() {
    if !is_root() {
        return skip("not root");
    }
    if let Some(tool) = missing(&["ip", "dig", "curl", "openssl", "bash"]) {
        return skip(&format!("{tool} not installed (.ci/run installs it)"));
    }
    let id = unique("");
    let mut lab = Lab::new(&format!("reload-{id}"));
    let (client_ns, server_ns) = (format!("vwrc{id}"), format!("vwrs{id}"));
    let iface = format!("vwR{id}");
    let setup = lab
        .netns(&client_ns)
        .and_then(|()| lab.netns(&server_ns))
        .and_then(|()| {
            lab.veth(
                (&client_ns, &iface, &format!("{CLIENT}/24")),
                (&server_ns, &format!("vwRS{id}"), &format!("{SERVER}/24")),
            )
        });
    if let Err(e) = setup {
        return skip(&format!("namespace setup failed: {e}"));
    }
    lab.tls_server(&server_ns, SERVER)
        .expect("openssl s_server");
    let client = Client { ns: client_ns };

    let sigs = lab.dir.join("sigs");
    std::fs::create_dir_all(&sigs).unwrap();
    let pack = sigs.join("reloadtest.toml");
    let mut rules = vec![domain_rule()];
    std::fs::write(&pack, pack_text(&rules)).unwrap();
    let (ok, text) = sigs_check(&sigs);
    assert!(ok, "the starting pack loads:\n{text}");

    let ja4 = learn_ja4(&mut lab, &client, &iface, &sigs);
    eprintln!("JA4 of the client's ClientHello: {ja4}");

    let eve = lab.dir.join("eve.json");
    let mut vw = lab.vendorwatch_in(
        &client.ns,
        &[
            "live",
            "-i",
            &iface,
            "--no-default-signatures",
            "--signatures",
            path(&sigs),
            "--enable-port-rules",
            "--workers",
            "2",
            "--suppress-window",
            "0",
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("vendorwatch");

    let port_name = format!("{SERVER}:13000");
    let payload_name = format!("{SERVER}:8800");
    type Traffic = fn(&Client);
    let phases: [(&str, String, Traffic, u64, &str, &str); 3] = [
        (
            "ja4",
            ja4_rule(&ja4),
            Client::hello,
            JA4_SID,
            "tls-ja4",
            &ja4,
        ),
        (
            "ports",
            port_rule(),
            Client::syn_13000,
            PORT_SID,
            "port",
            &port_name,
        ),
        (
            "payloads",
            payload_rule(),
            Client::dhget,
            PAYLOAD_SID,
            "payload",
            &payload_name,
        ),
    ];
    for (kind, rule, send, sid, observation, matched) in &phases {
        // Before: the traffic does not alert. The marker's alert (domain rule, loaded at
        // start) shows that what was sent before it has been captured and matched.
        let from = complete_len(&eve);
        send(&client);
        client.lookup(MARKER);
        let marker = poll(Duration::from_secs(10), || {
            alerts(&json_lines_from(&eve, from))
                .iter()
                .any(|(s, _, _)| *s == DOMAIN_SID)
        });
        assert!(
            marker,
            "{kind}: the domain rule alerts on {MARKER}: {:?}",
            alerts(&json_lines_from(&eve, from))
        );
        // Records of flows on the other worker may come a little later.
        std::thread::sleep(Duration::from_secs(1));
        let early = alerts(&json_lines_from(&eve, from));
        assert!(
            !early.iter().any(|(_, o, _)| o == observation),
            "{kind}: {observation} alert before the rule was loaded: {early:?}"
        );

        // Add the rule, reload, and the same traffic alerts.
        rules.push(rule.clone());
        std::fs::write(&pack, pack_text(&rules)).unwrap();
        let (ok, text) = sigs_check(&sigs);
        assert!(ok, "{kind}: the extended pack loads:\n{text}");
        reload(&mut vw, rules.len());
        let from = complete_len(&eve);
        send(&client);
        let fired = poll(Duration::from_secs(10), || {
            alerts(&json_lines_from(&eve, from))
                .iter()
                .any(|(s, o, _)| s == sid && o == observation)
        });
        let got = alerts(&json_lines_from(&eve, from));
        assert!(
            fired,
            "{kind}: after the reload, sid {sid} alerts with observation {observation}: {got:?}"
        );
        assert!(
            got.iter()
                .any(|(s, o, m)| s == sid && o == observation && m == matched),
            "{kind}: matched_name {matched}: {got:?}"
        );
    }

    // A broken pack: reported, and the set loaded before keeps firing.
    let broken = sigs.join("zz-broken.toml");
    std::fs::write(
        &broken,
        "[pack]\nid = \"broken\"\nvendor = \"Broken\"\nversion = \"1\"\n\n[[rule]]\n\
         sid = 9900099\nname = \"broken\"\nchannel = \"update\"\nseverity = 1\n\
         domainz = [\"typo.vwtest.example\"]\n",
    )
    .unwrap();
    let (ok, text) = sigs_check(&sigs);
    assert!(!ok, "the broken pack does not load:\n{text}");
    let reloads = vw.stderr.count("signatures reloaded");
    signal(vw.pid, libc::SIGHUP);
    assert!(
        vw.stderr.wait_for(
            "keeping the signatures loaded before",
            Duration::from_secs(10)
        ),
        "SIGHUP with a broken pack is reported:\n{}",
        vw.stderr.text()
    );
    assert!(
        vw.stderr.count("zz-broken.toml") > 0,
        "the error names the broken file:\n{}",
        vw.stderr.text()
    );
    assert_eq!(
        vw.stderr.count("signatures reloaded"),
        reloads,
        "a broken pack is not reported as reloaded"
    );
    let from = complete_len(&eve);
    for (_, _, send, _, _, _) in &phases {
        send(&client);
    }
    client.lookup(MARKER);
    let want: Vec<(u64, &str)> = std::iter::once((DOMAIN_SID, "dns-query"))
        .chain(phases.iter().map(|(_, _, _, sid, o, _)| (*sid, *o)))
        .collect();
    let all = poll(Duration::from_secs(10), || {
        let got = alerts(&json_lines_from(&eve, from));
        want.iter()
            .all(|(sid, o)| got.iter().any(|(s, g, _)| s == sid && g == o))
    });
    assert!(
        all,
        "after the failed reload every rule loaded before still alerts ({want:?}): {:?}",
        alerts(&json_lines_from(&eve, from))
    );

    signal(vw.pid, libc::SIGTERM);
    let status = lab
        .wait_exit(vw.pid, Duration::from_secs(20))
        .expect("vendorwatch did not stop within 20 s of SIGTERM");
    assert_eq!(
        status.code(),
        Some(0),
        "exit 0 after SIGTERM:\n{}",
        vw.stderr.text()
    );
}
