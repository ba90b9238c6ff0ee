//! Helpers shared by the integration tests: run the built binary, read its EVE output.
//! `netns`: network namespaces and processes for the `live` tests; `servers`: redis-server,
//! rsyslogd and a metrics scrape for the output tests; `pipe`: a scan fed through its stdin.
#![allow(dead_code)]

pub mod netns;
pub mod pipe;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpus` (or `$VENDORWATCH_CORPUS`), if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("VENDORWATCH_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus"));
    dir.join("MANIFEST.tsv").is_file().then_some(dir)
}

/// `../shared/eve-schema/suricata-eve-schema.json`, if present.
pub fn schema_path() -> Option<PathBuf> {
    let p = repo().join("../shared/eve-schema/suricata-eve-schema.json");
    p.is_file().then_some(p)
}

/// A scratch directory under the system's temp directory, removed (with its contents) on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A new, empty directory whose name has `tag`, the process id and a per-process count.
    pub fn new(tag: &str) -> TempDir {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("vendorwatch-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Result of one run of `vendorwatch`.
pub struct Run {
    /// Process status and captured stderr.
    pub output: Output,
    /// Every EVE record written (stdout or the `--eve` file).
    pub records: Vec<serde_json::Value>,
}

impl Run {
    /// Exit code (None when killed by a signal, e.g. a panic abort).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Records of one event type.
    pub fn events<'a>(
        &'a self,
        event_type: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> {
        self.records
            .iter()
            .filter(move |r| r["event_type"] == event_type)
    }
}

/// Run `vendorwatch ARGS...` and parse stdout as EVE lines.
pub fn vendorwatch(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run vendorwatch");
    let records = parse_lines(&output.stdout);
    Run { output, records }
}

/// Check every record against Suricata's EVE schema; skips (printing why) when it is absent.
pub fn validate_eve(records: &[serde_json::Value]) {
    let Some(path) = schema_path() else {
        eprintln!("SKIP schema validation: schema file not found");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read schema"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    for r in records {
        let errors: Vec<String> = validator.iter_errors(r).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{r}: {errors:?}");
    }
}

/// Parse EVE lines; panics with the offending line if one is not JSON.
pub fn parse_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad EVE line {l:?}: {e}")))
        .collect()
}

/// Every capture of the corpus, as listed in its MANIFEST.tsv: (file, tags).
pub fn corpus_captures(dir: &Path) -> Vec<(String, Vec<String>)> {
    let manifest = std::fs::read_to_string(dir.join("MANIFEST.tsv")).expect("read MANIFEST.tsv");
    manifest
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let tags = cols.get(5)?.split(',').map(str::to_string).collect();
            Some((cols.first()?.to_string(), tags))
        })
        .collect()
}

/// A classic pcap file of raw IPv4 packets (LINKTYPE_IPV4), each with its capture second.
pub fn pcap_ipv4(packets: &[(u32, Vec<u8>)]) -> Vec<u8> {
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

/// `vendorwatch scan ARGS... FILE` over `packets` written to a temporary pcap (removed after).
pub fn scan_ipv4(tag: &str, packets: &[(u32, Vec<u8>)], args: &[&str]) -> Run {
    let dir = std::env::temp_dir().join(format!("vw-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{tag}.pcap"));
    std::fs::write(&path, pcap_ipv4(packets)).expect("write pcap");
    let path = path.to_string_lossy().into_owned();
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.push(&path);
    let run = vendorwatch(&all);
    let _ = std::fs::remove_dir_all(&dir);
    run
}
