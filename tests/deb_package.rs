//! The Debian package, built (`scripts/package.sh`: release build, man pages and completions,
//! `cargo deb`), installed with `dpkg -i`, used from its installed paths (`sigs check` finds
//! the packs in /usr/share/vendorwatch/signatures, never the build tree; a scan of the
//! bundled samples alerts; `config check` accepts the shipped config; the man pages,
//! completions, unit and logrotate file are where they belong; postinst made the user), then
//! purged, leaving the machine as it was (no /etc/vendorwatch left to change `live`'s default,
//! the user removed when the test made it).
//!
//! As root with dpkg and cargo-deb only (`scripts/deps.sh test` installs cargo-deb); it skips,
//! saying why, otherwise, and when a vendorwatch package is already installed (it would not
//! be ours to purge). It makes one release build (fat LTO): the README's package section says
//! how long it takes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::netns::{have, is_root};

/// Run `cmd`, returning stdout, or a message with stderr.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The target directory the tests were built in (the package is built there too, so the
/// release build is shared with any other of the same checkout).
fn target_dir() -> PathBuf {
    let exe = Path::new(env!("CARGO_BIN_EXE_vendorwatch"));
    exe.parent()
        .and_then(Path::parent)
        .map_or_else(|| common::repo().join("target"), Path::to_path_buf)
}

fn skip_reason() -> Option<String> {
    if !is_root() {
        return Some("installing a package needs root".into());
    }
    for tool in ["dpkg", "dpkg-deb", "adduser"] {
        if !have(tool) {
            return Some(format!("{tool} not found"));
        }
    }
    if run(Command::new("cargo").args(["deb", "--version"])).is_err() {
        return Some("cargo-deb not installed (bash scripts/deps.sh test installs it)".into());
    }
    if Command::new("dpkg")
        .args(["-s", "vendorwatch"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("a vendorwatch package is already installed; not ours to purge".into());
    }
    if Path::new("/etc/vendorwatch").exists() {
        return Some("/etc/vendorwatch exists; not ours to remove".into());
    }
    None
}

/// Purges the package (and the user, when the test made it) however the test ends.
struct Installed {
    user_was_there: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let purged = run(Command::new("dpkg").args(["--purge", "vendorwatch"]));
        if let Err(e) = &purged {
            eprintln!("deb_package: purge failed: {e}");
        }
        if !self.user_was_there {
            let _ = run(Command::new("deluser").args(["--system", "vendorwatch"]))
                .or_else(|_| run(Command::new("userdel").arg("vendorwatch")));
            let _ = run(Command::new("groupdel").arg("vendorwatch"));
        }
    }
}

fn user_exists() -> bool {
    Command::new("getent")
        .args(["passwd", "vendorwatch"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn package_installs_runs_from_its_paths_and_purges_clean() {
    if let Some(why) = skip_reason() {
        eprintln!("SKIP deb_package: {why}");
        return;
    }
    let target = target_dir();
    let started = std::time::Instant::now();
    let built = run(Command::new("bash")
        .arg("scripts/package.sh")
        .current_dir(common::repo())
        .env("CARGO_TARGET_DIR", &target));
    let built = built.unwrap_or_else(|e| panic!("package build failed: {e}"));
    eprintln!(
        "deb_package: package built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let debs: Vec<PathBuf> = std::fs::read_dir(target.join("debian"))
        .expect("target/debian")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    let deb = debs
        .iter()
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .unwrap_or_else(|| panic!("no .deb in {}: {built}", target.display()));
    let listing = run(Command::new("dpkg-deb").arg("--contents").arg(deb)).expect("contents");
    for path in [
        "./usr/bin/vendorwatch",
        "./usr/share/vendorwatch/signatures/kaspersky.toml",
        "./usr/share/vendorwatch/pcaps/kaspersky-dns.pcap",
        "./etc/vendorwatch/vendorwatch.toml",
        "./usr/lib/systemd/system/vendorwatch.service",
        "./etc/logrotate.d/vendorwatch",
        "./usr/share/man/man1/vendorwatch.1",
        "./usr/share/man/man1/vendorwatch-live.1",
        "./usr/share/bash-completion/completions/vendorwatch",
        "./usr/share/zsh/vendor-completions/_vendorwatch",
        "./usr/share/fish/vendor_completions.d/vendorwatch.fish",
    ] {
        assert!(
            listing.lines().any(|l| l.contains(path)),
            "{path} not in the package:\n{listing}"
        );
    }

    let installed = Installed {
        user_was_there: user_exists(),
    };
    run(Command::new("dpkg").arg("-i").arg(deb)).expect("dpkg -i");
    assert!(user_exists(), "postinst made the vendorwatch user");
    let log_dir = std::fs::metadata("/var/log/vendorwatch").expect("log directory");
    assert!(log_dir.is_dir());

    // From a directory with no signatures/ anywhere near, as a service runs.
    let bin = Path::new("/usr/bin/vendorwatch");
    let check =
        run(Command::new(bin).args(["sigs", "check"]).current_dir("/")).expect("sigs check");
    assert!(
        check.contains("from /usr/share/vendorwatch/signatures/kaspersky.toml"),
        "the installed binary reads the packaged packs:\n{check}"
    );
    assert!(
        !check.contains(&common::repo().display().to_string()),
        "no build-tree path:\n{check}"
    );
    let scan = Command::new(bin)
        .args(["scan", "-q", "/usr/share/vendorwatch/pcaps"])
        .current_dir("/")
        .output()
        .expect("scan");
    assert!(
        scan.status.success(),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let records = common::parse_lines(&scan.stdout);
    let alerts = records
        .iter()
        .filter(|r| r["event_type"] == "alert")
        .count();
    assert!(alerts >= 40, "{alerts} alert(s) from the bundled samples");
    let config =
        run(Command::new(bin).args(["config", "check", "/etc/vendorwatch/vendorwatch.toml"]))
            .expect("the shipped config is valid");
    assert!(config.contains(": ok: "), "{config}");
    let man = std::fs::read_dir("/usr/share/man/man1")
        .expect("man1")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("vendorwatch"))
        .count();
    assert!(man >= 5, "{man} man page(s)");
    // verify runs `man` for the unit's Documentation= pages.
    if !have("systemd-analyze") || !have("man") {
        eprintln!("deb_package: systemd-analyze or man not found; unit not verified");
    } else {
        let verify = Command::new("systemd-analyze")
            .args(["verify", "/usr/lib/systemd/system/vendorwatch.service"])
            .output()
            .expect("systemd-analyze verify");
        let said = String::from_utf8_lossy(&verify.stderr).into_owned();
        assert!(
            verify.status.success() && said.trim().is_empty(),
            "systemd-analyze verify: {said}"
        );
    }

    drop(installed);
    for gone in [
        "/usr/bin/vendorwatch",
        "/etc/vendorwatch",
        "/usr/share/vendorwatch",
        "/var/log/vendorwatch",
        "/usr/lib/systemd/system/vendorwatch.service",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
    eprintln!(
        "deb_package: built, installed, checked and purged in {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
