//! A plain HTTP/1.1 client for tests of the metrics endpoint: one request with a deadline, and
//! the hostile clients the endpoint must outlast (a slowloris, idle connections). Loopback only;
//! every wait is bounded.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What `Prometheus` sends, less its `Accept` header.
pub const SCRAPE: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";

/// A response read to the end (the server closes after one).
#[derive(Debug)]
pub struct Response {
    /// The status line, e.g. `HTTP/1.1 200 OK`.
    pub status: String,
    /// The header lines after the status line.
    pub head: String,
    /// What followed the blank line.
    pub body: String,
    /// From connect to the server's close.
    pub took: Duration,
}

impl Response {
    /// A header's value (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then_some(v.trim())
        })
    }
}

/// Send `request` to `addr` and read until the server closes; Err (saying what and when) when
/// that takes longer than `limit`.
pub fn exchange(addr: SocketAddr, request: &[u8], limit: Duration) -> Result<Response, String> {
    let t = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, limit).map_err(|e| format!("connect: {e}"))?;
    s.set_write_timeout(Some(limit))
        .map_err(|e| e.to_string())?;
    s.write_all(request)
        .map_err(|e| format!("write after {:?}: {e}", t.elapsed()))?;
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = limit
            .checked_sub(t.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("no complete response within {limit:?}"))?;
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("read after {:?}: {e}", t.elapsed())),
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let (status, head) = head.split_once("\r\n").unwrap_or((head, ""));
    Ok(Response {
        status: status.to_string(),
        head: head.to_string(),
        body: body.to_string(),
        took: t.elapsed(),
    })
}

/// `n` connections to `addr` that never send a byte.
pub fn idle_connections(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    (0..n)
        .filter_map(|_| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok())
        .collect()
}

/// Whether the server has closed `s` (EOF or reset within `wait`).
pub fn closed_by_server(mut s: &TcpStream, wait: Duration) -> bool {
    let t = Instant::now();
    let mut buf = [0u8; 1024];
    while t.elapsed() < wait {
        if s.set_read_timeout(Some(Duration::from_millis(20))).is_err() {
            return true;
        }
        match s.read(&mut buf) {
            Ok(0) => return true,
            // A status line (408, 400) before the close: keep reading.
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
    false
}

/// A client sending a request head one byte every 1.5 s, as a slowloris does; it gives up
/// after 12 s. Dropping it stops the client.
pub struct Slowloris {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Option<Duration>>>,
}

impl Slowloris {
    /// Connect to `addr` and start sending.
    pub fn start(addr: SocketAddr) -> Slowloris {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let t = Instant::now();
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
            let head = format!("GET /metrics HTTP/1.1\r\nX-Slow: {}", "a".repeat(64));
            for byte in head.bytes() {
                if s.write_all(&[byte]).is_err() {
                    return Some(t.elapsed());
                }
                let beat = Instant::now();
                while beat.elapsed() < Duration::from_millis(1500) {
                    if flag.load(Ordering::Relaxed) || t.elapsed() > Duration::from_secs(12) {
                        return None;
                    }
                    if closed_by_server(&s, Duration::from_millis(50)) {
                        return Some(t.elapsed());
                    }
                }
            }
            None
        });
        Slowloris {
            stop,
            thread: Some(thread),
        }
    }

    /// Wait for the client's end: how long after its connect the server closed it (None when
    /// the client gave up first).
    pub fn closed_after(mut self) -> Option<Duration> {
        self.thread.take().and_then(|t| t.join().ok().flatten())
    }
}

impl Drop for Slowloris {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
