//! The configuration file end to end, one test per option group: each group's options set in
//! a `--config` file give the run the same options on the command line give (and not the
//! default run), the command line overrides the file, `config check` reports every error as
//! `file:line:col`, `config show` prints a file `config check` accepts. As root, `live` takes
//! its interface and stats interval from the file, and SIGHUP re-reads it: the suppression
//! limits and signatures apply, a changed BPF filter is named as needing a restart, a broken
//! file is refused and the old configuration kept. (That every option of `scan` and `live`
//! is settable is checked over clap's own list in `src/config_tests.rs`.)

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::netns::{Lines, is_root, signal};
use common::{Run, TempDir, vendorwatch};

/// Records without the fields that differ between two runs of the same input (none for
/// alerts and events; `stats` records carry an uptime).
fn comparable(run: &Run) -> Vec<serde_json::Value> {
    run.records
        .iter()
        .filter(|r| r["event_type"] != "stats")
        .cloned()
        .collect()
}

/// `scan --config FILE ARGS...` with `text` written to FILE in `dir`.
fn scan_with_config(dir: &TempDir, text: &str, args: &[&str]) -> Run {
    let path = dir.path().join("vendorwatch.toml");
    std::fs::write(&path, text).expect("write config");
    let config = path.to_string_lossy().into_owned();
    let mut all = vec!["scan", "--config", &config];
    all.extend_from_slice(args);
    vendorwatch(&all)
}

/// `scan INPUT` with `text` as its `--config` file gives the records that `scan INPUT` with
/// `args` gives, and not those of a run with neither; the file run's records.
fn file_equals_command_line(tag: &str, text: &str, args: &[&str], input: &str) -> Run {
    let from_file = scan_with_config(&TempDir::new(tag), text, &[input]);
    let mut cl = vec!["scan"];
    cl.extend_from_slice(args);
    cl.push(input);
    let from_cl = vendorwatch(&cl);
    let default = vendorwatch(&["scan", input]);
    assert_eq!(from_file.code(), Some(0), "{}", from_file.stderr());
    assert_eq!(from_cl.code(), Some(0), "{}", from_cl.stderr());
    assert!(!from_file.records.is_empty(), "{tag}: no records");
    // Records and the summary (counters: evictions at the caps) alike.
    let outcome = |r: &Run| (comparable(r), r.stderr());
    assert!(
        outcome(&from_file) == outcome(&from_cl),
        "{tag}: the file's options give what the command line's do:\n{}\n---\n{}",
        from_file.stderr(),
        from_cl.stderr()
    );
    assert!(
        outcome(&from_file) != outcome(&default),
        "{tag}: the file's options change the run:\n{}",
        from_file.stderr()
    );
    from_file
}

#[test]
fn signature_options_from_the_file() {
    let run = file_equals_command_line(
        "cfg-sigs",
        "signatures = [\"signatures\"]\npacks = [\"dahua\", \"zte\"]\nmax-pack-size = 4\n",
        &[
            "--signatures",
            "signatures",
            "--packs",
            "dahua,zte",
            "--max-pack-size",
            "4",
        ],
        "pcaps/covered-vendors.pcap",
    );
    let packs: Vec<&str> = run
        .events("alert")
        .filter_map(|r| r["alert"]["metadata"]["pack"][0].as_str())
        .collect();
    assert!(
        packs.contains(&"dahua") && packs.contains(&"zte"),
        "{packs:?}"
    );
    assert!(
        packs.iter().all(|p| *p == "dahua" || *p == "zte"),
        "{packs:?}"
    );
}

#[test]
fn stage_options_from_the_file() {
    let run = file_equals_command_line(
        "cfg-stage",
        "log = [\"dns\", \"tls\"]\nsuppress-window = 0\nsuppress-capacity = 100\n\
         dns-port = [5353]\nvxlan-port = [8472]\nenable-port-rules = true\n",
        &[
            "--log",
            "dns,tls",
            "--suppress-window",
            "0",
            "--suppress-capacity",
            "100",
            "--dns-port",
            "5353",
            "--vxlan-port",
            "8472",
            "--enable-port-rules",
        ],
        "pcaps",
    );
    assert!(run.events("dns").count() > 0, "--log dns from the file");
    assert!(run.events("tls").count() > 0, "--log tls from the file");
}

#[test]
fn flow_and_worker_options_from_the_file() {
    file_equals_command_line(
        "cfg-flow",
        "workers = 1\nmax-flows = 2\nreassembly-memory = 1\nfirst-flight-limit = 100\n\
         http-head-limit = 64\nflow-timeout = 5\ndefrag-memory = 1\ndefrag-max-datagrams = 2\n\
         defrag-timeout = 5\nquic-max-pending = 1\nquic-memory = 1\nresolved-capacity = 1\n",
        &[
            "--workers",
            "1",
            "--max-flows",
            "2",
            "--reassembly-memory",
            "1",
            "--first-flight-limit",
            "100",
            "--http-head-limit",
            "64",
            "--flow-timeout",
            "5",
            "--defrag-memory",
            "1",
            "--defrag-max-datagrams",
            "2",
            "--defrag-timeout",
            "5",
            "--quic-max-pending",
            "1",
            "--quic-memory",
            "1",
            "--resolved-capacity",
            "1",
        ],
        "pcaps",
    );
}

#[test]
fn output_options_from_the_file() {
    let dir = TempDir::new("cfg-out");
    let eve = dir.path().join("ecs.json");
    let report = dir.path().join("hosts.csv");
    let text = format!(
        "eve = {:?}\nformat = \"ecs\"\ncommunity-id-seed = 7\nreport = {:?}\n\
         report-format = \"csv\"\nquiet = true\nsink-buffer = 10\n",
        eve.to_string_lossy(),
        report.to_string_lossy()
    );
    let run = scan_with_config(&dir, &text, &["pcaps/kaspersky-dns.pcap"]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(run.records.is_empty(), "EVE went to the file, not stdout");
    assert!(
        !run.stderr().contains("summary"),
        "quiet: no summary\n{}",
        run.stderr()
    );
    let lines = common::parse_lines(&std::fs::read(&eve).expect("the file's --eve"));
    assert!(!lines.is_empty());
    assert!(
        lines.iter().all(|r| r["ecs"]["version"].is_string()),
        "format = ecs: {}",
        lines[0]
    );
    let csv = std::fs::read_to_string(&report).expect("the file's --report");
    assert!(csv.contains("10.") && csv.contains(','), "{csv}");
}

#[test]
fn scan_table_options_from_the_file() {
    let run = scan_with_config(
        &TempDir::new("cfg-scan"),
        "[scan]\nstats = true\nin-iface = \"span0\"\n[live]\nstats-interval = 5\n",
        &["pcaps/kaspersky-dns.pcap"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert_eq!(run.events("stats").count(), 1, "[scan] stats = true");
    assert!(
        run.events("alert").all(|r| r["in_iface"] == "span0"),
        "[scan] in-iface"
    );
}

#[test]
fn the_command_line_overrides_the_file() {
    let run = scan_with_config(
        &TempDir::new("cfg-override"),
        "packs = [\"zte\"]\nsuppress-window = 0\n[scan]\nin-iface = \"file0\"\n",
        &["--packs", "kaspersky", "--in-iface", "cli0", "pcaps"],
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(run.events("alert").count() > 0);
    for r in run.events("alert") {
        assert_eq!(r["alert"]["metadata"]["pack"][0], "kaspersky");
        assert_eq!(r["in_iface"], "cli0");
    }
}

#[test]
fn config_check_reports_every_error_and_exits_2() {
    let dir = TempDir::new("cfg-check");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "workers = 0.5\nformat = \"eve\"\nsupress-window = 1\n[live]\ninterface = \"eth0\"\n\
         max-pack-size = 0\n",
    )
    .expect("write");
    let run = vendorwatch(&["config", "check", &bad.to_string_lossy()]);
    assert_eq!(run.code(), Some(2));
    let name = bad.to_string_lossy();
    let err = run.stderr();
    for want in [
        format!("{name}:1:11: workers: expected an integer, found a float"),
        format!("{name}:3:1: unknown option \"supress-window\""),
        format!("{name}:6:17: invalid value '0' for '--max-pack-size <MIB>'"),
        "vendorwatch: 3 configuration error(s)".to_string(),
    ] {
        assert!(err.contains(&want), "{want:?} not in:\n{err}");
    }
    // Values clap lets through but the run refuses are found too, placed at the option.
    let odd = dir.path().join("odd.toml");
    std::fs::write(&odd, "workers = 1\nlog = [\"dns\", \"dnss\"]\n").expect("write");
    let run = vendorwatch(&["config", "check", &odd.to_string_lossy()]);
    assert_eq!(run.code(), Some(2));
    let want = format!(
        "{}:2:7: scan: unknown --log value \"dnss\" (expected dns, tls, http, quic, dhcp or all)",
        odd.to_string_lossy()
    );
    assert!(
        run.stderr().contains(&want),
        "{want:?} not in:\n{}",
        run.stderr()
    );
    // The same file refuses a run before anything is read.
    let run = vendorwatch(&["scan", "--config", &name, "pcaps"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.records.is_empty());
    let missing = dir.path().join("missing.toml");
    let run = vendorwatch(&["scan", "--config", &missing.to_string_lossy(), "pcaps"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr().contains("cannot read"), "{}", run.stderr());
}

#[test]
fn config_show_prints_a_file_check_accepts() {
    let dir = TempDir::new("cfg-show");
    let config = dir.path().join("vendorwatch.toml");
    std::fs::write(&config, "interface = [\"eth1\"]\nworkers = 2\n").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["config", "show", "--config"])
        .arg(&config)
        .output()
        .expect("run config show");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    for line in [
        "interface = [\"eth1\"]",
        "workers = 2",
        "suppress-window = 3600",
    ] {
        assert!(shown.contains(line), "{line:?} not in:\n{shown}");
    }
    let again = dir.path().join("shown.toml");
    std::fs::write(&again, &shown).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(["config", "check"])
        .arg(&again)
        .output()
        .expect("run config check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.contains(": ok: "), "{out}");
}

/// Start `live` with `args` (stderr watched); None (with the reason printed) when not root.
fn live(tag: &'static str, args: &[&str]) -> Option<(std::process::Child, Lines)> {
    if !is_root() {
        eprintln!("SKIP {tag}: live capture on lo needs root");
        return None;
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .arg("live")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vendorwatch live");
    let stderr = Lines::watch(child.stderr.take().expect("stderr"), tag);
    Some((child, stderr))
}

fn write(path: &Path, text: &str) {
    // Written whole, then renamed: a reload never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write config");
    std::fs::rename(&tmp, path).expect("rename config");
}

#[test]
fn live_takes_its_interface_and_stats_interval_from_the_file() {
    let dir = TempDir::new("cfg-live");
    let eve = dir.path().join("eve.json");
    let config = dir.path().join("vendorwatch.toml");
    write(
        &config,
        &format!(
            "interface = [\"lo\"]\neve = {:?}\nworkers = 1\nquiet = true\n[live]\n\
             stats-interval = 1\nbpf = \"udp port 9\"\n",
            eve.to_string_lossy()
        ),
    );
    let Some((mut child, mut stderr)) = live(
        "cfg-live",
        &["--config", &config.to_string_lossy(), "--no-promisc"],
    ) else {
        return;
    };
    assert!(
        stderr.wait_for("capturing on lo", Duration::from_secs(20)),
        "{}",
        stderr.text()
    );
    std::thread::sleep(Duration::from_millis(2500));
    signal(child.id(), libc::SIGTERM);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{}", stderr.text());
    let lines = common::parse_lines(&std::fs::read(&eve).expect("the file's --eve"));
    let stats = lines.iter().filter(|r| r["event_type"] == "stats").count();
    assert!(
        stats >= 2,
        "stats-interval = 1 from the file: {stats} stats record(s)"
    );
}

#[test]
fn sighup_rereads_the_file() {
    let dir = TempDir::new("cfg-hup");
    let config = dir.path().join("vendorwatch.toml");
    let eve = dir.path().join("eve.json");
    let base = format!(
        "interface = [\"lo\"]\neve = {:?}\nworkers = 1\nsignatures = [\"{}/signatures\"]\n",
        eve.to_string_lossy(),
        common::repo().display()
    );
    write(&config, &base);
    let Some((mut child, mut stderr)) = live("cfg-hup", &["--config", &config.to_string_lossy()])
    else {
        return;
    };
    assert!(
        stderr.wait_for("capturing on lo", Duration::from_secs(20)),
        "{}",
        stderr.text()
    );
    // Reloadable: the packs and the suppression window; not: the BPF filter.
    write(
        &config,
        &format!("{base}packs = [\"kaspersky\"]\nsuppress-window = 5\nbpf = \"udp\"\n"),
    );
    signal(child.id(), libc::SIGHUP);
    assert!(
        stderr.wait_for("signatures reloaded", Duration::from_secs(20)),
        "{}",
        stderr.text()
    );
    let text = stderr.text();
    for want in [
        "SIGHUP: bpf changed ((not set) -> \"udp\"); it needs a restart to apply",
        "SIGHUP: packs: (not set) -> \"kaspersky\"",
        "SIGHUP: suppress-window: \"3600\" -> \"5\"",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    let kaspersky_rules = text
        .lines()
        .find(|l| l.contains("signatures reloaded"))
        .unwrap_or("")
        .to_string();
    // A broken file: reported with its position, nothing applied.
    write(&config, &format!("{base}workers = \"two\"\n"));
    signal(child.id(), libc::SIGHUP);
    assert!(
        stderr.wait_for(
            "keeping the configuration and signatures loaded before",
            Duration::from_secs(20)
        ),
        "{}",
        stderr.text()
    );
    let text = stderr.text();
    let name = config.to_string_lossy();
    assert!(
        text.contains(&format!("{name}:5:1: ")) || text.contains(&format!("{name}:5:11: ")),
        "the error is located:\n{text}"
    );
    assert_eq!(stderr.count("signatures reloaded"), 1, "{text}");
    // Back to every pack.
    write(&config, &base);
    signal(child.id(), libc::SIGHUP);
    assert!(
        stderr.wait_for_count("signatures reloaded", 2, Duration::from_secs(20)),
        "{}",
        stderr.text()
    );
    assert_ne!(
        stderr
            .seen
            .iter()
            .rfind(|l| l.contains("signatures reloaded"))
            .cloned()
            .unwrap_or_default(),
        kaspersky_rules,
        "all packs again, not only kaspersky"
    );
    signal(child.id(), libc::SIGTERM);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{}", stderr.text());
}
