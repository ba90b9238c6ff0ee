//! The systemd service protocol (`Type=notify`), as a datagram to `$NOTIFY_SOCKET`: `READY=1`
//! once the capture is open, `WATCHDOG=1` from the control thread while the reader loop is
//! alive, `STOPPING=1` at a stop signal, `STATUS=` lines saying what a SIGHUP did.
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// Send `state` (newline-separated `KEY=value` lines) to the service manager; false when
/// there is none or the datagram could not be sent.
pub fn notify(state: &str) -> bool {
    std::env::var_os("NOTIFY_SOCKET").is_some_and(|path| send(&path, state))
}

/// Send `state` to the socket `path` (a file name, or `@name` in the abstract namespace).
fn send(path: &std::ffi::OsStr, state: &str) -> bool {
    let bytes = path.as_encoded_bytes();
    // `@name` is a socket in the abstract namespace.
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name)
        }
        None => SocketAddr::from_pathname(path),
    };
    let Ok(addr) = addr else { return false };
    UnixDatagram::unbound()
        .and_then(|s| s.send_to_addr(state.as_bytes(), &addr))
        .is_ok()
}

/// How often to send `WATCHDOG=1`: half of `$WATCHDOG_USEC`, when it is set for this process
/// (`$WATCHDOG_PID` unset or ours).
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var_os("WATCHDOG_PID")
        && pid.to_str().and_then(|p| p.parse::<u32>().ok()) != Some(std::process::id())
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datagram_reaches_the_socket() {
        let dir = std::env::temp_dir().join(format!("vw-notify-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("notify");
        let _ = std::fs::remove_file(&path);
        let server = UnixDatagram::bind(&path).expect("bind");
        assert!(send(path.as_os_str(), "READY=1\nSTATUS=test"));
        let mut buf = [0u8; 64];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=test");
        let _ = std::fs::remove_file(&path);
        assert!(!send(path.as_os_str(), "READY=1"), "no socket: not sent");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
