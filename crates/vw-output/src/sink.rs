//! Network outputs beside the EVE file: syslog (RFC 5424 over UDP, TCP with octet-counted
//! framing, or a Unix datagram socket) and Redis (RPUSH to a list or XADD to a stream, as
//! Suricata's Redis output does), each several at once.
//!
//! The scan never waits for a sink: each record is copied into a bounded channel with
//! `try_send` (full: the record is dropped and counted). A thread per sink connects, sends,
//! and on failure reconnects with exponential backoff (100 ms doubling to 5 s) while holding
//! up to `buffer` records; beyond that the oldest are dropped and counted. At exit a sink gets
//! up to `drain` to deliver what it holds; the rest is counted as dropped. So
//! `delivered + dropped == produced` for every sink once it is closed. "Delivered" means
//! acknowledged by Redis (each command's reply is read), written to the TCP socket of a
//! syslog server whose connection was open (a closed peer is detected before writing), or
//! sent as a datagram (UDP/Unix: best effort, the network may still lose it).
//!
//! A record too large for one datagram (65,507 bytes of UDP over IPv4, 65,527 over IPv6, the
//! socket's send buffer for a Unix socket) can never be sent: it is dropped at once and
//! counted as `oversized` (within `dropped`), so it cannot hold up the records behind it.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::capture::Timestamp;
use crate::time::UtcTime;

/// Where a sink sends records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// RFC 5424 over UDP, one datagram per record.
    SyslogUdp(String),
    /// RFC 5424 over TCP, octet-counted framing (RFC 6587).
    SyslogTcp(String),
    /// RFC 5424 to a Unix datagram socket (e.g. `/dev/log`).
    SyslogUnix(PathBuf),
    /// Redis: `RPUSH key json` (list) or `XADD key * eve json` (stream).
    Redis {
        /// host:port.
        addr: String,
        /// Database selected after connecting (`redis://host:port/N`).
        db: Option<u32>,
        /// List or stream key.
        key: String,
        /// true: XADD to a stream; false: RPUSH to a list.
        stream: bool,
    },
}

impl Target {
    /// Parse `--syslog udp://host:port|tcp://host:port|unix:/path`.
    pub fn syslog(spec: &str) -> Result<Target, String> {
        if let Some(a) = spec.strip_prefix("udp://") {
            Ok(Target::SyslogUdp(host_port(a, 514)?))
        } else if let Some(a) = spec.strip_prefix("tcp://") {
            Ok(Target::SyslogTcp(host_port(a, 514)?))
        } else if let Some(p) = spec.strip_prefix("unix:") {
            Ok(Target::SyslogUnix(PathBuf::from(
                p.trim_start_matches("//"),
            )))
        } else {
            Err(format!(
                "--syslog {spec:?}: expected udp://host:port, tcp://host:port or unix:/path"
            ))
        }
    }

    /// Parse `--redis redis://host:port/[db]`.
    pub fn redis(url: &str, key: &str, mode: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("redis://")
            .ok_or_else(|| format!("--redis {url:?}: expected redis://host:port/"))?;
        let (hp, path) = rest.split_once('/').unwrap_or((rest, ""));
        let db = if path.is_empty() {
            None
        } else {
            Some(
                path.parse::<u32>()
                    .map_err(|_| format!("--redis {url:?}: database must be a number"))?,
            )
        };
        let stream = match mode {
            "list" => false,
            "stream" => true,
            other => return Err(format!("--redis-mode {other:?}: expected list or stream")),
        };
        Ok(Target::Redis {
            addr: host_port(hp, 6379)?,
            db,
            key: key.to_string(),
            stream,
        })
    }

    /// Short name for messages and metrics labels.
    pub fn label(&self) -> String {
        match self {
            Target::SyslogUdp(a) => format!("syslog udp://{a}"),
            Target::SyslogTcp(a) => format!("syslog tcp://{a}"),
            Target::SyslogUnix(p) => format!("syslog unix:{}", p.display()),
            Target::Redis {
                addr, key, stream, ..
            } => format!(
                "redis {addr} {} {key}",
                if *stream { "stream" } else { "list" }
            ),
        }
    }
}

fn host_port(s: &str, default_port: u16) -> Result<String, String> {
    let s = s.trim_end_matches('/');
    if s.is_empty() {
        return Err("missing host".to_string());
    }
    // [v6]:port, host:port, or a bare host.
    if s.starts_with('[') || s.rsplit_once(':').is_some_and(|(h, _)| !h.contains(':')) {
        if s.starts_with('[') && !s.contains("]:") {
            return Ok(format!("{s}:{default_port}"));
        }
        return Ok(s.to_string());
    }
    Ok(format!("{s}:{default_port}"))
}

/// Tuning shared by all sinks.
#[derive(Debug, Clone, Copy)]
pub struct SinkConfig {
    /// Records a sink holds while its server is unreachable.
    pub buffer: usize,
    /// How long a sink may keep trying at exit.
    pub drain: Duration,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            buffer: 10_000,
            drain: Duration::from_secs(5),
        }
    }
}

/// Counters of one sink, shared with its thread (and the metrics endpoint).
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Records handed to the sink.
    pub produced: AtomicU64,
    /// Records delivered (see the module doc for what that means per transport).
    pub delivered: AtomicU64,
    /// Records dropped: channel full, buffer overflow while down, undelivered at exit, or
    /// oversized.
    pub dropped: AtomicU64,
    /// Of the dropped: records too large for one datagram (UDP, Unix datagram syslog).
    pub oversized: AtomicU64,
    /// Connect, write and reply errors.
    pub errors: AtomicU64,
    /// Successful (re)connections.
    pub connects: AtomicU64,
}

impl SinkStats {
    /// The figures as they stand, for the final report of a closed sink.
    pub fn report(&self, label: &str) -> SinkReport {
        SinkReport {
            label: label.to_string(),
            produced: self.produced.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            oversized: self.oversized.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// The machine's host name (printable ASCII), if it has one: the syslog HOSTNAME, and the
/// sensor name of `live` by default.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()))
}

struct Msg {
    /// Syslog severity (0..7).
    severity: u8,
    /// EVE event type, the syslog MSGID.
    msgid: &'static str,
    line: Vec<u8>,
}

/// A running network sink.
pub struct NetSink {
    label: String,
    tx: Option<SyncSender<Msg>>,
    stats: Arc<SinkStats>,
    handle: Option<JoinHandle<()>>,
}

/// Final figures of a closed sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkReport {
    /// What the sink sent to.
    pub label: String,
    /// Records handed to it.
    pub produced: u64,
    /// Records delivered.
    pub delivered: u64,
    /// Records dropped.
    pub dropped: u64,
    /// Of the dropped: records too large for one datagram.
    pub oversized: u64,
    /// Errors met.
    pub errors: u64,
}

impl NetSink {
    /// Start the sink's thread. Nothing is connected yet: a server that is down at start is
    /// retried like one that goes down later.
    pub fn start(target: Target, config: SinkConfig) -> io::Result<NetSink> {
        let label = target.label();
        let stats = Arc::new(SinkStats::default());
        let (tx, rx) = std::sync::mpsc::sync_channel(config.buffer.clamp(1, 4096));
        let thread_stats = Arc::clone(&stats);
        let handle = std::thread::Builder::new()
            .name(format!("sink {label}"))
            .spawn(move || Worker::new(target, config, thread_stats).run(rx))?;
        Ok(NetSink {
            label,
            tx: Some(tx),
            stats,
            handle: Some(handle),
        })
    }

    /// Shared counters.
    pub fn stats(&self) -> Arc<SinkStats> {
        Arc::clone(&self.stats)
    }

    /// What the sink sends to.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Hand one record over; never blocks.
    pub fn send(&self, line: &[u8], severity: u8, msgid: &'static str) {
        self.stats.produced.fetch_add(1, Ordering::Relaxed);
        let Some(tx) = &self.tx else {
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let msg = Msg {
            severity,
            msgid,
            line: line.to_vec(),
        };
        match tx.try_send(msg) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stop taking records, let the thread deliver what it holds (within the drain time),
    /// and report.
    pub fn close(mut self) -> SinkReport {
        self.tx = None;
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.stats.report(&self.label)
    }
}

enum Conn {
    /// The socket and the largest datagram payload to its peer's address family.
    Udp(UdpSocket, usize),
    Tcp(TcpStream),
    Unix(UnixDatagram),
    Redis(BufReader<TcpStream>),
}

/// Largest UDP payload over IPv4: 65,535 less the IPv4 (20) and UDP (8) headers.
const UDP_MAX_V4: usize = 65_507;
/// Largest UDP payload over IPv6 without jumbograms: 65,535 less the UDP header.
const UDP_MAX_V6: usize = 65_527;

/// What became of the front record.
enum Sent {
    Delivered,
    /// Refused for good by the server (a Redis error reply).
    Refused,
    /// Larger than one datagram can carry.
    Oversized,
}

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
const IO_TIMEOUT: Duration = Duration::from_secs(2);

struct Worker {
    target: Target,
    config: SinkConfig,
    stats: Arc<SinkStats>,
    pending: VecDeque<Msg>,
    conn: Option<Conn>,
    backoff: Duration,
    next_try: Instant,
    hostname: String,
    pid: u32,
    frame: Vec<u8>,
}

impl Worker {
    fn new(target: Target, config: SinkConfig, stats: Arc<SinkStats>) -> Self {
        let hostname = host_name().unwrap_or_else(|| "-".to_string());
        Worker {
            target,
            config,
            stats,
            pending: VecDeque::new(),
            conn: None,
            backoff: BACKOFF_MIN,
            next_try: Instant::now(),
            hostname,
            pid: std::process::id(),
            frame: Vec::with_capacity(4096),
        }
    }

    fn push(&mut self, m: Msg) {
        if self.pending.len() >= self.config.buffer.max(1) {
            self.pending.pop_front();
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
        self.pending.push_back(m);
    }

    fn run(mut self, rx: Receiver<Msg>) {
        let mut deadline: Option<Instant> = None;
        loop {
            if deadline.is_none() {
                if self.pending.is_empty() {
                    match rx.recv_timeout(Duration::from_millis(100)) {
                        Ok(m) => self.push(m),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => {
                            deadline = Some(Instant::now() + self.config.drain)
                        }
                    }
                }
                loop {
                    match rx.try_recv() {
                        Ok(m) => self.push(m),
                        Err(TryRecvError::Empty) => break,
                        Err(TryRecvError::Disconnected) => {
                            deadline.get_or_insert(Instant::now() + self.config.drain);
                            break;
                        }
                    }
                }
            }
            if self.pending.is_empty() {
                if deadline.is_some() {
                    break;
                }
                continue;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            if self.conn.is_none() {
                if now < self.next_try {
                    std::thread::sleep((self.next_try - now).min(Duration::from_millis(20)));
                    continue;
                }
                match self.connect() {
                    Ok(c) => {
                        self.conn = Some(c);
                        self.backoff = BACKOFF_MIN;
                        self.stats.connects.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        self.failed();
                        continue;
                    }
                }
            }
            for _ in 0..256 {
                let Some(m) = self.pending.front() else {
                    break;
                };
                match self.deliver_front(m.severity, m.msgid) {
                    Ok(Sent::Delivered) => {
                        self.pending.pop_front();
                        self.stats.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Sent::Refused) => {
                        // Refused for good (e.g. a Redis error reply): drop, count.
                        self.pending.pop_front();
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        self.stats.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Sent::Oversized) => {
                        // Never deliverable: retrying would stall every record behind it.
                        self.pending.pop_front();
                        self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                        self.stats.oversized.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        self.conn = None;
                        self.failed();
                        break;
                    }
                }
            }
        }
        let left = self.pending.len() as u64;
        self.stats.dropped.fetch_add(left, Ordering::Relaxed);
    }

    fn failed(&mut self) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.next_try = Instant::now() + self.backoff;
        self.backoff = (self.backoff * 2).min(BACKOFF_MAX);
    }

    fn connect(&self) -> io::Result<Conn> {
        let tcp = |addr: &str| -> io::Result<TcpStream> {
            let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
            for a in addr.to_socket_addrs()? {
                match TcpStream::connect_timeout(&a, IO_TIMEOUT) {
                    Ok(s) => {
                        s.set_write_timeout(Some(IO_TIMEOUT))?;
                        s.set_read_timeout(Some(IO_TIMEOUT))?;
                        s.set_nodelay(true)?;
                        return Ok(s);
                    }
                    Err(e) => last = e,
                }
            }
            Err(last)
        };
        match &self.target {
            Target::SyslogUdp(addr) => {
                let dest = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
                let bind = if dest.is_ipv4() {
                    "0.0.0.0:0"
                } else {
                    "[::]:0"
                };
                let s = UdpSocket::bind(bind)?;
                s.connect(dest)?;
                let max = if dest.is_ipv4() {
                    UDP_MAX_V4
                } else {
                    UDP_MAX_V6
                };
                Ok(Conn::Udp(s, max))
            }
            Target::SyslogTcp(addr) => Ok(Conn::Tcp(tcp(addr)?)),
            Target::SyslogUnix(path) => {
                let s = UnixDatagram::unbound()?;
                s.connect(path)?;
                Ok(Conn::Unix(s))
            }
            Target::Redis { addr, db, .. } => {
                let mut r = BufReader::new(tcp(addr)?);
                if let Some(db) = db {
                    let mut cmd = Vec::new();
                    resp_command(&mut cmd, &[b"SELECT", db.to_string().as_bytes()]);
                    r.get_mut().write_all(&cmd)?;
                    if !read_reply(&mut r)? {
                        return Err(io::Error::other("SELECT refused"));
                    }
                }
                Ok(Conn::Redis(r))
            }
        }
    }

    /// Send the front record. Err: the connection is broken (the record stays queued).
    fn deliver_front(&mut self, severity: u8, msgid: &'static str) -> io::Result<Sent> {
        let Some(m) = self.pending.front() else {
            return Ok(Sent::Delivered);
        };
        self.frame.clear();
        match (&self.target, &mut self.conn) {
            (Target::Redis { key, stream, .. }, Some(Conn::Redis(r))) => {
                if *stream {
                    resp_command(
                        &mut self.frame,
                        &[b"XADD", key.as_bytes(), b"*", b"eve", &m.line],
                    );
                } else {
                    resp_command(&mut self.frame, &[b"RPUSH", key.as_bytes(), &m.line]);
                }
                r.get_mut().write_all(&self.frame)?;
                Ok(if read_reply(r)? {
                    Sent::Delivered
                } else {
                    Sent::Refused
                })
            }
            (_, Some(Conn::Tcp(s))) => {
                if peer_closed(s) {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionReset,
                        "peer closed",
                    ));
                }
                let mut body = Vec::with_capacity(m.line.len() + 128);
                syslog_header(&mut body, severity, &self.hostname, self.pid, msgid);
                body.extend_from_slice(&m.line);
                let _ = write!(self.frame, "{} ", body.len());
                self.frame.extend_from_slice(&body);
                s.write_all(&self.frame)?;
                Ok(Sent::Delivered)
            }
            (_, Some(Conn::Udp(s, max))) => {
                syslog_header(&mut self.frame, severity, &self.hostname, self.pid, msgid);
                if self.frame.len() + m.line.len() > *max {
                    return Ok(Sent::Oversized);
                }
                self.frame.extend_from_slice(&m.line);
                datagram_sent(s.send(&self.frame))
            }
            (_, Some(Conn::Unix(s))) => {
                syslog_header(&mut self.frame, severity, &self.hostname, self.pid, msgid);
                self.frame.extend_from_slice(&m.line);
                datagram_sent(s.send(&self.frame))
            }
            _ => Err(io::Error::new(io::ErrorKind::NotConnected, "not connected")),
        }
    }
}

/// A datagram send's outcome: too large for the socket (`EMSGSIZE`) is the record's fault,
/// not the connection's.
fn datagram_sent(sent: io::Result<usize>) -> io::Result<Sent> {
    match sent {
        Ok(_) => Ok(Sent::Delivered),
        Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => Ok(Sent::Oversized),
        Err(e) => Err(e),
    }
}

/// True when the server has closed the connection (a FIN is waiting): checked before each
/// write so records are not written into a dead socket.
fn peer_closed(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let mut b = [0u8; 1];
    let closed = match s.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    let _ = s.set_nonblocking(false);
    closed
}

/// Syslog facility local5 (as Suricata's default).
const FACILITY_LOCAL5: u8 = 21;

/// `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - ` (RFC 5424; the MSG follows).
fn syslog_header(out: &mut Vec<u8>, severity: u8, host: &str, pid: u32, msgid: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let t = UtcTime::from_timestamp(Timestamp {
        secs: i64::try_from(now.as_secs()).unwrap_or(0),
        nanos: now.subsec_nanos(),
    });
    let _ = write!(
        out,
        "<{}>1 {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z {host} vendorwatch {pid} {msgid} - ",
        u16::from(FACILITY_LOCAL5) * 8 + u16::from(severity.min(7)),
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.micros
    );
}

fn resp_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    let _ = write!(out, "*{}\r\n", args.len());
    for a in args {
        let _ = write!(out, "${}\r\n", a.len());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Read one RESP reply: Ok(true) for a success reply, Ok(false) for an error reply.
fn read_reply(r: &mut BufReader<TcpStream>) -> io::Result<bool> {
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed",
        ));
    }
    match line[0] {
        b'+' | b':' => Ok(true),
        b'-' => Ok(false),
        b'$' => {
            let n: i64 = std::str::from_utf8(&line[1..])
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(-1);
            if n >= 0 {
                let mut body = vec![0u8; n as usize + 2];
                r.read_exact(&mut body)?;
            }
            Ok(true)
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "unexpected reply",
        )),
    }
}

/// Print each sink's figures (stderr summary).
pub fn write_sink_summary(w: &mut dyn Write, reports: &[SinkReport]) -> io::Result<()> {
    for r in reports {
        let oversized = if r.oversized > 0 {
            format!(" ({} oversized)", r.oversized)
        } else {
            String::new()
        };
        writeln!(
            w,
            "  output {}: produced {}, delivered {}, dropped {}{oversized}, errors {}",
            r.label, r.produced, r.delivered, r.dropped, r.errors
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::syslog("tcp://127.0.0.1:6514").unwrap(),
            Target::SyslogTcp("127.0.0.1:6514".into())
        );
        assert_eq!(
            Target::syslog("udp://loghost").unwrap(),
            Target::SyslogUdp("loghost:514".into())
        );
        assert_eq!(
            Target::syslog("unix:/dev/log").unwrap(),
            Target::SyslogUnix("/dev/log".into())
        );
        assert!(Target::syslog("http://x").is_err());
        assert_eq!(
            Target::redis("redis://127.0.0.1:6380/2", "k", "stream").unwrap(),
            Target::Redis {
                addr: "127.0.0.1:6380".into(),
                db: Some(2),
                key: "k".into(),
                stream: true
            }
        );
        assert!(Target::redis("redis://h/", "k", "pubsub").is_err());
    }

    #[test]
    fn rfc5424_frame() {
        let mut out = Vec::new();
        syslog_header(&mut out, 4, "sensor", 42, "alert");
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("<172>1 "), "{s}");
        assert!(s.ends_with("Z sensor vendorwatch 42 alert - "), "{s}");
        let mut cmd = Vec::new();
        resp_command(&mut cmd, &[b"RPUSH", b"k", b"{}"]);
        assert_eq!(cmd, b"*3\r\n$5\r\nRPUSH\r\n$1\r\nk\r\n$2\r\n{}\r\n");
    }

    /// A sink whose server never answers drops nothing silently and never blocks.
    #[test]
    fn unreachable_server_counts_everything() {
        // A port nobody listens on: bind, learn the port, close.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sink = NetSink::start(
            Target::SyslogTcp(format!("127.0.0.1:{port}")),
            SinkConfig {
                buffer: 10,
                drain: Duration::from_millis(200),
            },
        )
        .unwrap();
        let t = Instant::now();
        for _ in 0..1000 {
            sink.send(b"{}", 6, "dns");
        }
        assert!(t.elapsed() < Duration::from_millis(500));
        let r = sink.close();
        assert_eq!((r.produced, r.delivered, r.dropped), (1000, 0, 1000));
    }

    /// Octet-counted framing over TCP: `LEN SP <PRI>1 ... MSG`, LEN = bytes of the message.
    #[test]
    fn tcp_octet_counted_frames() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sink =
            NetSink::start(Target::SyslogTcp(addr.to_string()), SinkConfig::default()).unwrap();
        sink.send(br#"{"event_type":"alert","a":1}"#, 3, "alert");
        sink.send(br#"{"event_type":"dns"}"#, 6, "dns");
        let (mut conn, _) = listener.accept().unwrap();
        let r = sink.close();
        assert_eq!((r.produced, r.delivered, r.dropped), (2, 2, 0));
        let mut data = Vec::new();
        conn.read_to_end(&mut data).unwrap();
        let mut rest = &data[..];
        let mut msgs = Vec::new();
        while !rest.is_empty() {
            let sp = rest.iter().position(|b| *b == b' ').unwrap();
            let len: usize = std::str::from_utf8(&rest[..sp]).unwrap().parse().unwrap();
            msgs.push(String::from_utf8(rest[sp + 1..sp + 1 + len].to_vec()).unwrap());
            rest = &rest[sp + 1 + len..];
        }
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].starts_with("<171>1 "), "{}", msgs[0]);
        assert!(msgs[0].contains(" vendorwatch "), "{}", msgs[0]);
        assert!(
            msgs[0].ends_with(r#"alert - {"event_type":"alert","a":1}"#),
            "{}",
            msgs[0]
        );
        assert!(
            msgs[1].starts_with("<174>1 ") && msgs[1].ends_with(r#"dns - {"event_type":"dns"}"#)
        );
    }

    /// Send one record of `big` bytes, then `small` small ones: each small one must arrive
    /// (read by `recv`), and the big one be dropped and counted as oversized.
    fn oversized_then_small(
        target: Target,
        big: usize,
        small: u64,
        mut recv: impl FnMut(&mut [u8]) -> io::Result<usize>,
    ) {
        let config = SinkConfig {
            buffer: 1000,
            drain: Duration::from_secs(3),
        };
        let sink = NetSink::start(target, config).unwrap();
        sink.send(&vec![b'x'; big], 1, "alert");
        for _ in 0..small {
            sink.send(b"{}", 6, "dns");
        }
        let mut buf = [0u8; 2048];
        for i in 0..small {
            let n = recv(&mut buf).unwrap_or_else(|e| panic!("datagram {i}: {e}"));
            assert!(buf[..n].ends_with(b" dns - {}"));
        }
        let r = sink.close();
        assert_eq!(
            (r.produced, r.delivered, r.dropped, r.oversized),
            (small + 1, small, 1, 1)
        );
    }

    /// A record too large for one UDP datagram (a DNS response with thousands of answers)
    /// is dropped and counted, never retried at the head of the queue: the records behind
    /// it are delivered.
    #[test]
    fn oversized_udp_record_is_dropped_and_the_rest_delivered() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let target = Target::SyslogUdp(rx.local_addr().unwrap().to_string());
        oversized_then_small(target, 70_000, 100, |buf| rx.recv(buf));
    }

    /// A Unix datagram socket bound in a fresh directory named after `tag` (remove the
    /// directory when done): (directory, socket path, socket).
    fn unix_listener(tag: &str) -> (PathBuf, PathBuf, UnixDatagram) {
        let dir = std::env::temp_dir().join(format!("vw-sink-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.sock");
        let _ = std::fs::remove_file(&path);
        let rx = UnixDatagram::bind(&path).unwrap();
        rx.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        (dir, path, rx)
    }

    /// The same on a Unix datagram socket, whose limit is the socket's send buffer.
    #[test]
    fn oversized_unix_record_is_dropped_and_the_rest_delivered() {
        let (dir, path, rx) = unix_listener("big");
        oversized_then_small(Target::SyslogUnix(path), 4 << 20, 10, |buf| rx.recv(buf));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A Unix datagram socket gets one RFC 5424 message per record.
    #[test]
    fn unix_datagram_messages() {
        let (dir, path, rx) = unix_listener("unix");
        let sink = NetSink::start(Target::SyslogUnix(path.clone()), SinkConfig::default()).unwrap();
        sink.send(b"{}", 4, "tls");
        let mut buf = [0u8; 2048];
        let n = rx.recv(&mut buf).unwrap();
        let msg = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            msg.starts_with("<172>1 ") && msg.ends_with(" tls - {}"),
            "{msg}"
        );
        let r = sink.close();
        assert_eq!((r.produced, r.delivered), (1, 1));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
