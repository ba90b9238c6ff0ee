//! Real servers for the output tests, started by the test with temporary configs: redis-server
//! and rsyslogd (imtcp or imudp), on loopback of the test's own network namespace or of a
//! namespace made by [`super::netns::Lab`]; plus a Prometheus scrape and a Redis client small
//! enough to need no crate (RESP: integers, status lines, arrays of bulk strings).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::netns::connect_in;

/// Where a server runs and is reached: the test's own network namespace, or a named one
/// (the server started with `ip netns exec`, the test's connections made from inside it).
#[derive(Clone, Copy, Debug)]
pub enum Net<'a> {
    Host,
    Ns(&'a str),
}

impl Net<'_> {
    /// A command for `bin` run in this namespace.
    pub fn command(self, bin: &Path) -> Command {
        match self {
            Net::Host => Command::new(bin),
            Net::Ns(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin);
                c
            }
        }
    }

    /// A TCP connection to 127.0.0.1:`port` of this namespace.
    pub fn connect(self, port: u16) -> Option<TcpStream> {
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let ns = match self {
            Net::Host => None,
            Net::Ns(ns) => Some(ns),
        };
        connect_in(ns, addr, Duration::from_secs(2))
    }
}

/// The first of `names` found in the usual binary directories (sbin included: rsyslogd is
/// there and may not be on a test runner's PATH).
pub fn find_tool(names: &[&str]) -> Option<PathBuf> {
    for name in names {
        for dir in [
            "/usr/bin",
            "/usr/sbin",
            "/usr/local/bin",
            "/usr/local/sbin",
            "/bin",
            "/sbin",
        ] {
            let p = Path::new(dir).join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// A TCP port free on loopback of the test's namespace right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait for `ok`, panicking after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let t = Instant::now();
    while !ok() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A server process, killed if the test fails before stopping it.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Stop a server gracefully (SIGTERM) and wait for it (SIGKILL after 10 s).
pub fn stop(child: &mut Child) {
    super::netns::signal(child.id(), libc::SIGTERM);
    let t = Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if t.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---- Redis ----

/// redis-server on 127.0.0.1:`port` of `net`, append-only file in `dir`; returns once it
/// answers PING.
pub fn redis_start(net: Net, bin: &Path, dir: &Path, port: u16) -> Server {
    let child = net
        .command(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(dir)
        .args([
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server");
    let server = Server(child);
    wait_for("redis-server", Duration::from_secs(10), || {
        redis_query(net, port, &["PING"]).is_some()
    });
    server
}

fn redis_send(net: Net, port: u16, args: &[&str]) -> Option<BufReader<TcpStream>> {
    let mut s = net.connect(port)?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut cmd = format!("*{}\r\n", args.len());
    for a in args {
        cmd.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    s.write_all(cmd.as_bytes()).ok()?;
    Some(BufReader::new(s))
}

/// One command, integer or status reply as text.
pub fn redis_query(net: Net, port: u16, args: &[&str]) -> Option<String> {
    let mut r = redis_send(net, port, args)?;
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    (line.starts_with(':') || line.starts_with('+')).then(|| line[1..].trim().to_string())
}

/// `LRANGE key 0 -1`: every element of a list (empty when the key does not exist).
pub fn redis_lrange(net: Net, port: u16, key: &str) -> Option<Vec<String>> {
    let mut r = redis_send(net, port, &["LRANGE", key, "0", "-1"])?;
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let n: usize = line.strip_prefix('*')?.trim().parse().ok()?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        line.clear();
        r.read_line(&mut line).ok()?;
        let len: usize = line.strip_prefix('$')?.trim().parse().ok()?;
        let mut buf = vec![0u8; len + 2];
        r.read_exact(&mut buf).ok()?;
        buf.truncate(len);
        out.push(String::from_utf8(buf).ok()?);
    }
    Some(out)
}

// ---- rsyslog ----

/// rsyslogd on 127.0.0.1:`port` of `net` (imtcp, or imudp when `udp`), writing the MSG part
/// of every message from app-name `vendorwatch` as one line to `dir/received.log`; returns
/// once it listens (TCP) or has written its pid file (UDP).
pub fn rsyslog_start(net: Net, bin: &Path, dir: &Path, port: u16, udp: bool) -> Server {
    let conf = dir.join("rsyslog.conf");
    let out = dir.join("received.log");
    let work = dir.join("work");
    let pid = dir.join("rsyslogd.pid");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(
        &conf,
        format!(
            r#"global(workDirectory="{work}" maxMessageSize="64k")
module(load="{module}")
input(type="{module}" port="{port}" address="127.0.0.1")
template(name="msgonly" type="string" string="%msg%\n")
if $app-name == "vendorwatch" then {{
  action(type="omfile" file="{out}" template="msgonly")
}}
"#,
            work = work.display(),
            out = out.display(),
            module = if udp { "imudp" } else { "imtcp" },
        ),
    )
    .unwrap();
    let child = net
        .command(bin)
        .arg("-n")
        .arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(&pid)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start rsyslogd");
    let server = Server(child);
    if udp {
        // No handshake to wait for: the server is up when its pid file exists.
        wait_for("rsyslogd pid file", Duration::from_secs(10), || {
            pid.is_file()
        });
        std::thread::sleep(Duration::from_millis(300));
    } else {
        wait_for("rsyslogd listening", Duration::from_secs(10), || {
            net.connect(port).is_some()
        });
    }
    server
}

/// The JSON records rsyslogd wrote to `dir/received.log` so far (whole lines only: it may be
/// writing the last one while we read).
pub fn rsyslog_received(dir: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(dir.join("received.log")).unwrap_or_default();
    let complete = text.rfind('\n').map_or("", |end| &text[..end]);
    complete
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l.trim()).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

// ---- Prometheus metrics ----

/// GET /metrics from 127.0.0.1:`port` of `net`: the whole response (checked to be a 200 in
/// Prometheus text format), or None when nothing listens.
pub fn scrape(net: Net, port: u16) -> Option<String> {
    let mut s = net.connect(port)?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("Content-Type: text/plain; version=0.0.4"));
    Some(body)
}

/// The value of one series (name with its labels, exactly as exposed).
pub fn metric(body: &str, series: &str) -> Option<u64> {
    body.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Every series of a metric family (`name` or `name{...}`) with its value.
pub fn series<'a>(body: &'a str, name: &str) -> Vec<(&'a str, u64)> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let rest = key.strip_prefix(name)?;
            (rest.is_empty() || rest.starts_with('{')).then_some((key, value.parse().ok()?))
        })
        .collect()
}
