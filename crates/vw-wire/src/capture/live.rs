//! Live capture on libpcap (the `pcap` crate): one handle per interface, all read by one
//! thread. Each handle is in immediate mode and non-blocking; when none has a packet ready the
//! reader sleeps in `poll(2)` on their descriptors for at most [`POLL_MS`], so stop signals,
//! stats timers and idle flushes are seen within that time. Packets are borrowed from
//! libpcap's ring buffer and handed on as [`Packet`]s, never copied here.
//!
//! An interface that fails while running (it went down, or was deleted) is closed and
//! reported; the others keep going.

use std::os::unix::io::AsRawFd;

use super::CaptureCounters;
use super::{Packet, Timestamp};

/// Longest sleep in `poll(2)` when no packet is waiting, in milliseconds.
pub const POLL_MS: i32 = 100;
/// Most packets read from one interface before looking at the others.
const BURST: usize = 512;

/// How to open the interfaces.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Kernel buffer size in bytes (None: libpcap's default).
    pub buffer_size: Option<i32>,
    /// Promiscuous mode.
    pub promisc: bool,
    /// BPF filter expression (None: every packet).
    pub bpf: Option<String>,
}

struct Iface {
    name: String,
    cap: Option<pcap::Capture<pcap::Active>>,
    link_type: u32,
    /// Last raw libpcap counters (32 bits, wrapping) and the 64-bit totals made from them.
    last: [u32; 3],
    totals: [u64; 3],
}

/// The open interfaces.
pub struct LiveSource {
    ifaces: Vec<Iface>,
    lost: Vec<String>,
    /// The last `read` handed packets over: the next returns at once when none is ready (the
    /// caller's moment to flush what those packets made), instead of sleeping first.
    busy: bool,
}

/// Why an interface could not be opened: one line for the user.
fn open_error(name: &str, e: &pcap::Error) -> String {
    let text = e.to_string();
    let lower = text.to_ascii_lowercase();
    let hint = if lower.contains("permission") || lower.contains("not permitted") {
        " (run as root, or give the binary the capabilities: setcap cap_net_raw,cap_net_admin=eip)"
    } else if lower.contains("no such device") || lower.contains("doesn't exist") {
        " (no such interface; `ip link` lists them)"
    } else if lower.contains("down") {
        " (the interface is down; `ip link set dev IFACE up`)"
    } else {
        ""
    };
    format!("{name}: cannot capture: {text}{hint}")
}

impl LiveSource {
    /// Open every interface; the first that fails is the error (one line).
    pub fn open(names: &[String], config: &LiveConfig) -> Result<Self, String> {
        let mut ifaces = Vec::with_capacity(names.len());
        for name in names {
            let inactive = pcap::Capture::from_device(name.as_str())
                .map_err(|e| open_error(name, &e))?
                .promisc(config.promisc)
                .snaplen(config.snaplen)
                .immediate_mode(true)
                .timeout(POLL_MS);
            let inactive = match config.buffer_size {
                Some(b) => inactive.buffer_size(b),
                None => inactive,
            };
            let mut cap = inactive.open().map_err(|e| open_error(name, &e))?;
            if let Some(filter) = &config.bpf {
                cap.filter(filter, true)
                    .map_err(|e| format!("{name}: bad --bpf filter {filter:?}: {e}"))?;
            }
            let cap = cap.setnonblock().map_err(|e| open_error(name, &e))?;
            let link_type = cap.get_datalink().0 as u32;
            ifaces.push(Iface {
                name: name.clone(),
                cap: Some(cap),
                link_type,
                last: [0; 3],
                totals: [0; 3],
            });
        }
        Ok(LiveSource {
            ifaces,
            lost: Vec::new(),
            busy: false,
        })
    }

    /// Names and link types of the open interfaces.
    pub fn describe(&self) -> Vec<(String, u32)> {
        self.ifaces
            .iter()
            .filter(|i| i.cap.is_some())
            .map(|i| (i.name.clone(), i.link_type))
            .collect()
    }

    /// Interfaces still capturing.
    pub fn alive(&self) -> usize {
        self.ifaces.iter().filter(|i| i.cap.is_some()).count()
    }

    /// Messages for interfaces lost since the last call.
    pub fn take_lost(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lost)
    }

    /// Read what is ready on every interface (a burst each), calling `f` for each packet. When
    /// nothing was ready, return 0 at once after a read that handed packets over (so the
    /// caller flushes their records without waiting), else wait up to [`POLL_MS`] for a packet
    /// and return 0: the caller's moment to look at signals and timers. `f` returns false to
    /// stop early.
    pub fn read(&mut self, mut f: impl FnMut(&Packet<'_>) -> bool) -> usize {
        let mut count = 0;
        for (index, iface) in self.ifaces.iter_mut().enumerate() {
            let Some(cap) = iface.cap.as_mut() else {
                continue;
            };
            let mut failed = None;
            for _ in 0..BURST {
                match cap.next_packet() {
                    Ok(p) => {
                        count += 1;
                        let h = p.header;
                        let packet = Packet {
                            ts: Timestamp {
                                secs: h.ts.tv_sec,
                                nanos: u32::try_from(h.ts.tv_usec)
                                    .unwrap_or(0)
                                    .saturating_mul(1000),
                            },
                            link_type: iface.link_type,
                            data: p.data,
                            orig_len: h.len,
                            interface: index as u32,
                        };
                        if !f(&packet) {
                            return count;
                        }
                    }
                    Err(pcap::Error::TimeoutExpired) | Err(pcap::Error::NoMorePackets) => break,
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = failed {
                iface.refresh_counters();
                iface.cap = None;
                self.lost
                    .push(format!("{}: capture stopped: {e}", iface.name));
            }
        }
        if count > 0 {
            self.busy = true;
        } else if !std::mem::take(&mut self.busy) {
            self.wait();
        }
        count
    }

    fn wait(&self) {
        let mut fds: Vec<libc::pollfd> = self
            .ifaces
            .iter()
            .filter_map(|i| i.cap.as_ref())
            .map(|c| libc::pollfd {
                fd: c.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            })
            .collect();
        if fds.is_empty() {
            std::thread::sleep(std::time::Duration::from_millis(POLL_MS as u64));
            return;
        }
        // SAFETY: `fds` is a valid array of `fds.len()` pollfd structs for the whole call.
        unsafe {
            libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL_MS);
        }
    }

    /// libpcap's counters summed over interfaces (closed ones keep their last values).
    pub fn counters(&mut self) -> CaptureCounters {
        let mut c = CaptureCounters::default();
        for iface in &mut self.ifaces {
            iface.refresh_counters();
            c.kernel_packets += iface.totals[0];
            c.kernel_drops += iface.totals[1];
            c.kernel_ifdrops += iface.totals[2];
        }
        c
    }
}

impl Iface {
    fn refresh_counters(&mut self) {
        let Some(cap) = self.cap.as_mut() else {
            return;
        };
        if let Ok(s) = cap.stats() {
            for (i, now) in [s.received, s.dropped, s.if_dropped]
                .into_iter()
                .enumerate()
            {
                self.totals[i] += u64::from(now.wrapping_sub(self.last[i]));
                self.last[i] = now;
            }
        }
    }
}
