//! The `sigs` subcommands through the binary: import writes a pack that `check`, `list` and
//! `test` read; errors come out as `file:line:col: message` with exit status 2.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Run {
    output: Output,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
}

fn vendorwatch(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run vendorwatch");
    Run { output }
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-sigs-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn stdout(run: &Run) -> String {
    String::from_utf8_lossy(&run.output.stdout).into_owned()
}

#[test]
fn import_then_check_list_and_test() {
    let dir = temp_dir("import");
    let intel = dir.join("intel.dat");
    std::fs::write(
        &intel,
        "#fields\tindicator\tindicator_type\tmeta.source\n\
         telemetry.vendor-x.example\tIntel::DOMAIN\tfeed\n\
         203.0.113.7\tIntel::ADDR\tfeed\n",
    )
    .expect("write");
    let out = dir.join("vendor-x.toml");
    let (intel_s, out_s) = (intel.display().to_string(), out.display().to_string());
    let run = vendorwatch(&[
        "sigs",
        "import",
        "--format",
        "zeek-intel",
        "--channel",
        "telemetry",
        "--sid-start",
        "6100000",
        "--vendor",
        "Vendor X",
        "--severity",
        "1",
        "--domains-file",
        "-o",
        &out_s,
        &intel_s,
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("imported 1 rule(s): 1 domain pattern(s), 1 address(es)")
    );
    assert!(dir.join("vendor-x.6100000.domains").is_file());

    let dir_s = dir.display().to_string();
    let run = vendorwatch(&["sigs", "check", &dir_s]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let text = stdout(&run);
    assert!(
        text.contains("ok: 1 pack(s), 1 rule(s) (1 enabled)"),
        "{text}"
    );
    assert!(
        text.contains("pack vendor-x (Vendor X, version imported)"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["telemetry", "1", "1", "1", "1", "0", "0"]),
        "{text}"
    );

    let run = vendorwatch(&["sigs", "list", "--signatures", &out_s]);
    let text = stdout(&run);
    assert!(text.starts_with("SID"), "{text}");
    assert!(text.contains("6100000"), "{text}");

    let run = vendorwatch(&[
        "sigs",
        "test",
        "Telemetry.Vendor-X.example.",
        "--signatures",
        &out_s,
    ]);
    assert_eq!(run.code(), Some(0));
    assert!(stdout(&run).contains("sid 6100000"), "{}", stdout(&run));
    let run = vendorwatch(&["sigs", "test", "203.0.113.7", "--signatures", &out_s]);
    assert_eq!(run.code(), Some(0));
    let run = vendorwatch(&[
        "sigs",
        "test",
        "telemetry.vendor-x.example.evil.test",
        "--signatures",
        &out_s,
    ]);
    assert_eq!(run.code(), Some(1));
    assert!(
        stdout(&run).contains("contains telemetry.vendor-x.example but not as a suffix"),
        "{}",
        stdout(&run)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn import_rejects_hash_datasets_and_check_reports_positions() {
    let dir = temp_dir("errors");
    let ds = dir.join("hashes.lst");
    std::fs::write(
        &ds,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n",
    )
    .expect("write");
    let ds_s = ds.display().to_string();
    let run = vendorwatch(&[
        "sigs",
        "import",
        "--format",
        "suricata-dataset",
        "--dataset-type",
        "sha256",
        "--channel",
        "other",
        "--sid-start",
        "1",
        &ds_s,
    ]);
    assert_eq!(run.code(), Some(2));
    assert!(
        run.stderr().contains("type sha256 holds file hashes"),
        "{}",
        run.stderr()
    );

    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "[pack]\nid = \"b\"\nvendor = \"B\"\nversion = \"1\"\n\
         [[rule]]\nsid = 1\nname = \"a\"\nchannel = \"other\"\nseverity = 3\nports = [\"tcp/0\"]\n\
         [[rule]]\nsid = 2\nname = \"b\"\nchannel = \"other\"\nseverity = 3\n\
         ja4 = [\"nope\"]\ndomains = [\"x.com\", \"x.com\"]\n",
    )
    .expect("write");
    let run = vendorwatch(&["sigs", "check", &bad.display().to_string()]);
    assert_eq!(run.code(), Some(2));
    let err = run.stderr();
    let b = bad.display();
    assert!(
        err.contains(&format!("{b}:10:10: invalid port \"tcp/0\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!("{b}:16:8: invalid JA4 fingerprint \"nope\"")),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
