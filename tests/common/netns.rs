//! Network namespaces for the `vendorwatch live` tests: a [`Lab`] owns the namespaces, the
//! processes started in them and a temporary directory, and removes them all when dropped
//! (also when the test fails half-way). Plus the pieces every live test needs: running a
//! command in a namespace, a TLS server and a resolver to talk to, a vendorwatch process
//! whose stderr is watched line by line, and EVE files read while they grow.
//!
//! Everything here needs root (`ip netns`); callers check [`is_root`] and [`have`] first and
//! skip with a printed reason otherwise.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// True when running as root (namespaces and capture need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// True when `tool` is on PATH.
pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The first tool of `tools` that is missing, if any.
pub fn missing<'a>(tools: &[&'a str]) -> Option<&'a str> {
    tools.iter().copied().find(|t| !have(t))
}

/// Run a command to its end; stdout on success, the command and its stderr otherwise.
pub fn run(cmd: &[&str]) -> Result<String, String> {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", cmd.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{}: {}",
            cmd.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Run a command inside namespace `ns` (`ip netns exec`).
pub fn run_in(ns: &str, cmd: &[&str]) -> Result<String, String> {
    let mut full = vec!["ip", "netns", "exec", ns];
    full.extend_from_slice(cmd);
    run(&full)
}

/// A path as `&str` (every path the tests make is UTF-8).
pub fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A short id unique to this process and `tag`, for namespace and directory names (two tests
/// of one binary run in one process, and other test binaries may run at the same time).
pub fn unique(tag: &str) -> String {
    format!("{tag}{}", std::process::id() % 100_000)
}

/// Send `sig` to a process (our own child: `ip netns exec` execs the program, so the child's
/// pid is the program's).
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) has no memory-safety preconditions; pid is a child we started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Run `f` in a thread that entered namespace `ns` (setns(2) for a network namespace changes
/// only the calling thread); what it returns. Sockets made there stay in the namespace,
/// whatever thread uses them later.
pub fn in_netns<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> Option<T> + Send + 'static,
) -> Option<T> {
    let file = std::fs::File::open(format!("/run/netns/{ns}"))
        .or_else(|_| std::fs::File::open(format!("/var/run/netns/{ns}")))
        .ok()?;
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: setns on a valid namespace file descriptor, for this thread only.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return None;
        }
        f()
    })
    .join()
    .ok()
    .flatten()
}

/// Open a TCP connection from inside namespace `ns` (None: the test's own namespace).
pub fn connect_in(ns: Option<&str>, addr: SocketAddr, timeout: Duration) -> Option<TcpStream> {
    match ns {
        None => TcpStream::connect_timeout(&addr, timeout).ok(),
        Some(ns) => in_netns(ns, move || TcpStream::connect_timeout(&addr, timeout).ok()),
    }
}

/// Call `ok` every 50 ms until it returns true or `timeout` passes; whether it did.
pub fn poll(timeout: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if ok() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Namespaces, processes and a temporary directory, all removed on drop: processes first
/// (newest first), then the namespaces (and with them their interfaces), then the directory.
pub struct Lab {
    pub namespaces: Vec<String>,
    pub children: Vec<Child>,
    pub dir: PathBuf,
}

impl Drop for Lab {
    fn drop(&mut self) {
        for child in self.children.iter_mut().rev() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        for ns in &self.namespaces {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Lab {
    /// An empty lab with a fresh temporary directory named after `tag`.
    pub fn new(tag: &str) -> Lab {
        let dir = std::env::temp_dir().join(format!("vw-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Lab {
            namespaces: Vec::new(),
            children: Vec::new(),
            dir,
        }
    }

    /// Create a namespace (removed on drop) with its loopback up.
    pub fn netns(&mut self, name: &str) -> Result<(), String> {
        // A namespace left behind by a killed earlier run of the same pid would make `add`
        // fail; it is ours to remove.
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        run(&["ip", "netns", "add", name])?;
        self.namespaces.push(name.to_string());
        run(&["ip", "-n", name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    /// A veth pair from `a_if` (address `a_addr`, CIDR) in namespace `a` to `b_if`
    /// (`b_addr`) in namespace `b`, both up. Made directly in the namespaces, so the names
    /// need only be unique within them.
    pub fn veth(
        &self,
        (a, a_if, a_addr): (&str, &str, &str),
        (b, b_if, b_addr): (&str, &str, &str),
    ) -> Result<(), String> {
        run(&[
            "ip", "-n", a, "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b,
        ])?;
        run(&["ip", "-n", a, "addr", "add", a_addr, "dev", a_if])?;
        run(&["ip", "-n", b, "addr", "add", b_addr, "dev", b_if])?;
        run(&["ip", "-n", a, "link", "set", a_if, "up"])?;
        run(&["ip", "-n", b, "link", "set", b_if, "up"])?;
        Ok(())
    }

    /// Start `args` in namespace `ns` (stdout and stderr discarded); killed on drop. Its pid.
    pub fn spawn_in(&mut self, ns: &str, args: &[&str]) -> u32 {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {args:?} in {ns}: {e}"));
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Start `vendorwatch ARGS` in namespace `ns`, stdout discarded, stderr watched; killed
    /// on drop.
    pub fn vendorwatch_in(&mut self, ns: &str, args: &[&str]) -> Vendorwatch {
        let mut child = Command::new("ip")
            .args(["netns", "exec", ns, env!("CARGO_BIN_EXE_vendorwatch")])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start vendorwatch");
        let stderr = Lines::watch(child.stderr.take().expect("stderr"), "vendorwatch");
        let pid = child.id();
        self.children.push(child);
        Vendorwatch { pid, stderr }
    }

    /// The child with this pid.
    pub fn child(&mut self, pid: u32) -> &mut Child {
        self.children
            .iter_mut()
            .find(|c| c.id() == pid)
            .expect("a child of this lab")
    }

    /// Whether the child with this pid is still running.
    pub fn running(&mut self, pid: u32) -> bool {
        self.child(pid).try_wait().ok().flatten().is_none()
    }

    /// Wait up to `timeout` for the child to exit; its status, or None if it is still running.
    pub fn wait_exit(&mut self, pid: u32, timeout: Duration) -> Option<ExitStatus> {
        let child = self.child(pid);
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = child.try_wait().expect("wait") {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A self-signed certificate and key in the lab's directory.
    pub fn make_cert(&self) -> Result<(PathBuf, PathBuf), String> {
        let (cert, key) = (self.dir.join("cert.pem"), self.dir.join("key.pem"));
        run(&[
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=vw",
            "-days",
            "1",
            "-keyout",
            path(&key),
            "-out",
            path(&cert),
        ])?;
        Ok((cert, key))
    }

    /// `openssl s_server` on port 443 of every address of `ns`; returns once it accepts
    /// connections (checked on `check_addr`:443 from inside `ns`, so the check itself never
    /// crosses a captured interface).
    pub fn tls_server(&mut self, ns: &str, check_addr: &str) -> Result<(), String> {
        let (cert, key) = self.make_cert()?;
        self.spawn_in(
            ns,
            &[
                "openssl",
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                "443",
                "-cert",
                path(&cert),
                "-key",
                path(&key),
            ],
        );
        let addr: SocketAddr = format!("{check_addr}:443").parse().expect("address");
        if poll(Duration::from_secs(10), || {
            connect_in(Some(ns), addr, Duration::from_millis(500)).is_some()
        }) {
            Ok(())
        } else {
            Err("openssl s_server did not listen on 443 within 10 s".into())
        }
    }

    /// dnsmasq in `ns` on `listen`, answering every name with `answer`; returns once it
    /// answers (asked from inside `ns`).
    pub fn resolver(&mut self, ns: &str, listen: &str, answer: &str) -> Result<(), String> {
        self.spawn_in(
            ns,
            &[
                "dnsmasq",
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                &format!("--listen-address={listen}"),
                &format!("--address=/#/{answer}"),
                "--user=root",
                "--pid-file=",
            ],
        );
        let at = format!("@{listen}");
        if poll(Duration::from_secs(10), || {
            run_in(
                ns,
                &["dig", "+short", "+time=1", "+tries=1", &at, "probe.invalid"],
            )
            .is_ok_and(|out| out.contains(answer))
        }) {
            Ok(())
        } else {
            Err("dnsmasq did not answer within 10 s".into())
        }
    }
}

/// A running `vendorwatch` (inside a [`Lab`], which kills it on drop).
pub struct Vendorwatch {
    pub pid: u32,
    pub stderr: Lines,
}

impl Vendorwatch {
    /// Fail the test unless vendorwatch says it is capturing within 20 s (`what` names the
    /// run in the message, with everything it printed).
    pub fn expect_capturing(&mut self, what: &str) {
        assert!(
            self.stderr
                .wait_for("capturing on", Duration::from_secs(20)),
            "{what} did not start:\n{}",
            self.stderr.text()
        );
    }
}

/// Lines of a child's stream, collected by a thread (and echoed to the test's stderr).
pub struct Lines {
    rx: mpsc::Receiver<String>,
    /// Every line received so far.
    pub seen: Vec<String>,
}

impl Lines {
    /// Read `stream` line by line in a thread of its own.
    pub fn watch(stream: impl Read + Send + 'static, tag: &'static str) -> Lines {
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                eprintln!("[{tag}] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            rx,
            seen: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Ok(l) = self.rx.try_recv() {
            self.seen.push(l);
        }
    }

    /// Lines so far that contain `what`.
    pub fn count(&mut self, what: &str) -> usize {
        self.drain();
        self.seen.iter().filter(|l| l.contains(what)).count()
    }

    /// Wait until at least `n` lines contain `what`; whether that happened within `timeout`.
    pub fn wait_for_count(&mut self, what: &str, n: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.count(what) >= n {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            match self.rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(l) => self.seen.push(l),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                // The stream ended (the process exited): nothing more will come.
                Err(mpsc::RecvTimeoutError::Disconnected) => return self.count(what) >= n,
            }
        }
    }

    /// Wait until a line contains `what`.
    pub fn wait_for(&mut self, what: &str, timeout: Duration) -> bool {
        self.wait_for_count(what, 1, timeout)
    }

    /// Everything so far, one string (for assertion messages).
    pub fn text(&mut self) -> String {
        self.drain();
        self.seen.join("\n")
    }
}

/// The complete JSON lines of a file that may still be growing, from byte `from` on (a last
/// line without its newline is left for later). Panics on a complete line that is not JSON.
pub fn json_lines_from(file: &Path, from: usize) -> Vec<serde_json::Value> {
    let bytes = std::fs::read(file).unwrap_or_default();
    let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
        return Vec::new();
    };
    if from > end {
        return Vec::new();
    }
    String::from_utf8_lossy(&bytes[from..end])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Every complete JSON line of a file.
pub fn json_lines(file: &Path) -> Vec<serde_json::Value> {
    json_lines_from(file, 0)
}

/// The length of the complete lines of a file now: an offset for [`json_lines_from`].
pub fn complete_len(file: &Path) -> usize {
    let bytes = std::fs::read(file).unwrap_or_default();
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}
