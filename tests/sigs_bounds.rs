//! Signature loading is bounded and prints what it quotes safely: packs and `domains_file`
//! lists over a size limit are refused with `FILE: larger than N MiB` (raised with
//! `--max-pack-size` / `--max-list-size` on every command that loads packs, and at a SIGHUP
//! reload), files that are not regular files (a FIFO, `/dev/null`) are refused without being
//! read, a bad line is quoted as a short escaped excerpt, and control characters written in a
//! pack come out escaped in `sigs check`, `sigs list`, `sigs test` and in errors.
//!
//! Every run is bounded in time: a process still running at its deadline is killed and the
//! test fails (reading a FIFO would otherwise block forever).

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NAME: &str = "sigs_bounds";

/// Exit status, stdout and stderr of one bounded run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Run `vendorwatch ARGS`, killed after `secs` seconds (the test then fails).
fn run(args: &[&str], secs: u64) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vendorwatch"))
        .args(args)
        .current_dir(common::repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vendorwatch");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(secs);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vendorwatch {args:?} still running after {secs} s: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("vw-{NAME}-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

const HEAD: &str = "[pack]\nid = \"bounds\"\nvendor = \"Bounds\"\nversion = \"1\"\n";

fn rule(sid: u32, body: &str) -> String {
    format!(
        "\n[[rule]]\nsid = {sid}\nname = \"rule {sid}\"\nchannel = \"other\"\nseverity = 3\n{body}"
    )
}

/// A valid pack of `bytes` bytes or a little more: one rule, then comment lines.
fn padded_pack(bytes: usize) -> String {
    let mut text = format!("{HEAD}{}", rule(1, "domains = [\"a.example.com\"]\n"));
    let filler = format!("# {}\n", "x".repeat(100));
    while text.len() < bytes {
        text.push_str(&filler);
    }
    text
}

/// `text` holds `want` (the whole text in the failure message).
fn has(text: &str, want: impl AsRef<str>) {
    let want = want.as_ref();
    assert!(text.contains(want), "want {want:?} in:\n{text}");
}

/// No byte of `text` is a control character other than a newline.
fn no_controls(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
        panic!("{what} holds the raw control character {c:?}:\n{text:?}");
    }
}

#[test]
fn packs_and_lists_over_the_size_limit_are_refused_and_the_options_raise_it() {
    let dir = TempDir::new("size");
    // Over the default limit: a sparse 2 GiB file is refused from its size, unread, at once.
    let sparse = dir.file("x.toml");
    std::fs::File::create(&sparse)
        .and_then(|f| f.set_len(2 << 30))
        .expect("sparse file");
    let started = Instant::now();
    let r = run(&["sigs", "check", s(&sparse)], 60);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    has(
        &r.stderr,
        format!(
            "{}: larger than 16 MiB (2147483648 bytes); raise --max-pack-size",
            sparse.display()
        ),
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(std::fs::remove_file(&sparse));

    // 1.5 MiB: over `--max-pack-size 1`, under 2; on every command that loads packs.
    let pack = dir.file("p.toml");
    std::fs::write(&pack, padded_pack(3 << 19)).expect("write");
    let p = s(&pack);
    let too_big = format!("{p}: larger than 1 MiB (");
    let pcap = "pcaps/kaspersky-dns.pcap";
    for args in [
        vec!["sigs", "check", p],
        vec!["sigs", "list", "--no-default-signatures", "--signatures", p],
        vec![
            "sigs",
            "test",
            "--no-default-signatures",
            "--signatures",
            p,
            "a.example.com",
        ],
        vec![
            "scan",
            "--no-default-signatures",
            "--signatures",
            p,
            "-q",
            pcap,
        ],
    ] {
        let mut small = args.clone();
        small.extend(["--max-pack-size", "1"]);
        let r = run(&small, 60);
        assert_eq!(r.code, Some(2), "{small:?}: {}", r.stderr);
        has(&r.stderr, &too_big);
        let mut raised = args.clone();
        raised.extend(["--max-pack-size", "2"]);
        let r = run(&raised, 60);
        assert_eq!(r.code, Some(0), "{raised:?}: {}", r.stderr);
    }

    // A domains_file of 1.5 MiB: over `--max-list-size 1`, under 2.
    let list = dir.file("feed.domains");
    let names: String = (0..60_000)
        .map(|i| format!("n{i}.feed.example\n"))
        .collect();
    assert!(names.len() > 1 << 20 && names.len() < 2 << 20);
    std::fs::write(&list, names).expect("write");
    let feed = dir.file("feed.toml");
    std::fs::write(
        &feed,
        format!("{HEAD}{}", rule(2, "domains_file = \"feed.domains\"\n")),
    )
    .expect("write");
    let r = run(&["sigs", "check", s(&feed), "--max-list-size", "1"], 60);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    has(
        &r.stderr,
        format!("domains_file {}: larger than 1 MiB (", list.display()),
    );
    has(&r.stderr, "raise --max-list-size");
    let r = run(&["sigs", "check", s(&feed), "--max-list-size", "2"], 60);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    has(&r.stdout, "60000");
}

#[test]
fn packs_and_lists_that_are_not_regular_files_are_refused() {
    let dir = TempDir::new("nonregular");
    let fifo = dir.file("fifo");
    let c = std::ffi::CString::new(s(&fifo)).expect("path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
        eprintln!(
            "SKIP {NAME}: mkfifo failed: {}",
            std::io::Error::last_os_error()
        );
        return;
    }
    let pack = dir.file("p.toml");
    for list in ["/dev/null", s(&fifo)] {
        std::fs::write(
            &pack,
            format!("{HEAD}{}", rule(1, &format!("domains_file = \"{list}\"\n"))),
        )
        .expect("write");
        let r = run(&["sigs", "check", s(&pack)], 20);
        assert_eq!(r.code, Some(2), "{list}: {}", r.stderr);
        has(
            &r.stderr,
            format!("domains_file {list}: not a regular file"),
        );
    }
    // The pack itself: a FIFO named on the command line, and `--signatures /dev/null`.
    let fifo_pack = dir.file("fifo.toml");
    let c = std::ffi::CString::new(s(&fifo_pack)).expect("path");
    // SAFETY: as above.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for p in [s(&fifo_pack), "/dev/null"] {
        let r = run(&["sigs", "check", p], 20);
        assert_eq!(r.code, Some(2), "{p}: {}", r.stderr);
        has(&r.stderr, format!("{p}: not a regular file"));
    }
}

#[test]
fn a_huge_bad_line_is_quoted_as_a_short_escaped_excerpt() {
    let dir = TempDir::new("excerpt");
    let list = dir.file("bad.domains");
    let huge = format!("\u{1b}[31m\u{7}{}", "A".repeat(20_000));
    // A list like /etc/shadow: many bad lines, none of which is a domain pattern.
    let mut text = format!("good.example.com\n{huge}\n");
    for i in 0..200 {
        text.push_str(&format!(
            "user{i}:$6$salt{i}$secret-hash-{i}:19000:0:99999:7:::\n"
        ));
    }
    std::fs::write(&list, text).expect("write");
    let pack = dir.file("p.toml");
    std::fs::write(
        &pack,
        format!(
            "{HEAD}{}{}",
            rule(1, "domains_file = \"bad.domains\"\n"),
            rule(
                2,
                &format!(
                    "domains = [\"{}\"]\n",
                    huge.replace('\u{1b}', "\\u001b")
                        .replace('\u{7}', "\\u0007")
                )
            )
        ),
    )
    .expect("write");
    let r = run(&["sigs", "check", s(&pack)], 30);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    no_controls("stderr", &r.stderr);
    for line in r.stderr.lines() {
        assert!(
            line.len() < 400,
            "an error line of {} bytes: {line:.400}",
            line.len()
        );
    }
    let l = list.display().to_string();
    // The huge line is quoted, escaped and cut, in the list file and in the pack.
    has(
        &r.stderr,
        format!("{l}:2:1: invalid domain pattern \"\\u{{1b}}[31m\\u{{7}}AAA"),
    );
    let in_pack = format!("{}:", pack.display());
    assert!(
        r.stderr.lines().any(|l| l.starts_with(&in_pack)
            && l.contains("invalid domain pattern \"\\u{1b}[31m\\u{7}AAA")),
        "{}",
        r.stderr
    );
    has(&r.stderr, "AAA...\"");
    // Not every line of the file comes back: a few, then how many more.
    let quoted = r
        .stderr
        .lines()
        .filter(|l| l.contains("secret-hash"))
        .count();
    assert!(
        quoted <= 10,
        "{quoted} lines of the file quoted:\n{}",
        r.stderr
    );
    has(
        &r.stderr,
        format!("{l}: 191 more invalid line(s) not shown"),
    );
}

#[test]
fn control_characters_from_packs_are_printed_escaped() {
    let dir = TempDir::new("controls");
    let pack = dir.file("p.toml");
    std::fs::write(
        &pack,
        "[pack]\nid = \"ctl\\u001b[2J\"\nvendor = \"Evil\\u0007Corp\\r\"\nversion = \"1\\u001b]0;x\\u0007\"\n\
         \n[[rule]]\nsid = 1\nname = \"bell\\u0007 and \\u001b[31mred\\u202e\"\nchannel = \"other\"\n\
         severity = 3\ndomains = [\"a.example.com\"]\n",
    )
    .expect("write");
    let p = s(&pack);
    let r = run(&["sigs", "check", p], 30);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    no_controls("sigs check", &r.stdout);
    has(
        &r.stdout,
        "pack ctl\\u{1b}[2J (Evil\\u{7}Corp\\r, version 1\\u{1b}]0;x\\u{7})",
    );
    let r = run(
        &["sigs", "list", "--no-default-signatures", "--signatures", p],
        30,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    no_controls("sigs list", &r.stdout);
    has(&r.stdout, "bell\\u{7} and \\u{1b}[31mred\\u{202e}");
    let r = run(
        &[
            "sigs",
            "test",
            "--no-default-signatures",
            "--signatures",
            p,
            "a.example.com",
        ],
        30,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    no_controls("sigs test", &r.stdout);
    has(&r.stdout, "\\u{1b}[31mred");
    // And in the summary of a scan, which names the vendors seen.
    std::fs::write(
        &pack,
        "[pack]\nid = \"ctl\"\nvendor = \"Evil\\u0007Corp\"\nversion = \"1\"\n\n[[rule]]\nsid = 1\n\
         name = \"n\"\nchannel = \"other\"\nseverity = 3\ndomains = [\".kaspersky.com\"]\n",
    )
    .expect("write");
    let r = run(
        &[
            "scan",
            "--no-default-signatures",
            "--signatures",
            p,
            "pcaps/kaspersky-dns.pcap",
        ],
        60,
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    no_controls("summary", &r.stderr);
    has(&r.stderr, "Evil\\u{7}Corp");

    // In errors: a key and a value holding control characters.
    std::fs::write(
        &pack,
        format!(
            "{HEAD}{}",
            rule(
                1,
                "domains = [\"a.example.com\"]\n\"bad\\u001bkey\" = 1\nconfidence = \"hi\\u0007gh\"\n"
            )
        ),
    )
    .expect("write");
    let r = run(&["sigs", "check", p], 30);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    no_controls("errors", &r.stderr);
    has(&r.stderr, "unknown key `bad\\u{1b}key` in [[rule]]");
    has(&r.stderr, "`confidence` is \"hi\\u{7}gh\"");
}

/// `live` applies `--max-pack-size` at a SIGHUP reload too: a pack grown over it is refused
/// and the rules loaded before are kept. Needs root and `ip netns` (capture on the loopback
/// of a namespace of its own); skips otherwise.
#[test]
fn sighup_reload_honours_max_pack_size() {
    use common::netns::{Lab, is_root, missing, path, signal, unique};
    if !is_root() {
        eprintln!("SKIP {NAME}: not root");
        return;
    }
    if let Some(tool) = missing(&["ip"]) {
        eprintln!("SKIP {NAME}: {tool} not installed");
        return;
    }
    let id = unique("");
    let mut lab = Lab::new(&format!("sigs-bounds-{id}"));
    let ns = format!("vwsb{id}");
    if let Err(e) = lab.netns(&ns) {
        eprintln!("SKIP {NAME}: namespace setup failed: {e}");
        return;
    }
    let pack = lab.dir.join("p.toml");
    std::fs::write(&pack, padded_pack(1000)).expect("write");
    let eve = lab.dir.join("eve.json");
    let mut vw = lab.vendorwatch_in(
        &ns,
        &[
            "live",
            "-i",
            "lo",
            "--no-default-signatures",
            "--signatures",
            path(&pack),
            "--max-pack-size",
            "1",
            "--eve",
            path(&eve),
        ],
    );
    vw.expect_capturing("live --max-pack-size 1");
    std::fs::write(&pack, padded_pack(3 << 19)).expect("write");
    signal(vw.pid, libc::SIGHUP);
    let want = format!("{}: larger than 1 MiB (", pack.display());
    assert!(
        vw.stderr.wait_for(&want, Duration::from_secs(10)),
        "want {want:?}:\n{}",
        vw.stderr.text()
    );
    assert!(
        vw.stderr.wait_for(
            "keeping the signatures loaded before",
            Duration::from_secs(10)
        ),
        "{}",
        vw.stderr.text()
    );
    std::fs::write(&pack, padded_pack(1000)).expect("write");
    signal(vw.pid, libc::SIGHUP);
    assert!(
        vw.stderr
            .wait_for("signatures reloaded (1 rule(s))", Duration::from_secs(10)),
        "{}",
        vw.stderr.text()
    );
}
