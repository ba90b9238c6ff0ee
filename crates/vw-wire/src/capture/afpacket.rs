//! Live capture on Linux AF_PACKET sockets with a TPACKET_V3 memory-mapped receive ring, as
//! Suricata and Zeek capture: the kernel fills blocks of many packets and hands a whole block
//! over (when it is full, or when the block retire timeout passes), the packets are read in
//! place from the ring and lent to detection as borrowed [`Packet`]s, and the block is given
//! back when every packet in it was processed. No copy and no system call per packet.
//!
//! With several workers each worker opens its own socket and ring per interface, and the
//! sockets of one interface form one `PACKET_FANOUT` group (`PACKET_FANOUT_HASH` with
//! `PACKET_FANOUT_FLAG_DEFRAG`): the kernel picks the worker by its symmetric flow hash of the
//! outer headers, so both directions of a flow (and the fragments of a datagram, reassembled
//! first) reach the same worker and no reader thread has to dispatch them. The group id is
//! chosen by the kernel (`PACKET_FANOUT_FLAG_UNIQUEID`) so two vendorwatch processes never
//! share a group.
//!
//! Every `unsafe` block of the capture is in this module. The ring is read only through
//! [`walk_block`], which checks every frame's header and bytes against the block's bounds
//! before reading them: a malformed block header ends the walk of that block (it is counted
//! and given back), it never leads to a read outside the ring.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{CaptureCounters, Packet, Timestamp, linktype};

/// Longest sleep in `poll(2)` when no block is ready, in milliseconds (as the libpcap source).
pub const POLL_MS: i32 = super::live::POLL_MS;
/// Most blocks read from one ring before looking at the other interfaces.
const BURST_BLOCKS: usize = 8;
/// Size of one ring block: a power of two of pages, large enough for the biggest packet the
/// snaplen keeps (the kernel cuts packets to what fits a block).
const BLOCK_BYTES: usize = 1 << 20;
/// Most interfaces per worker (`poll` runs on a fixed array: nothing allocated when idle).
pub const MAX_INTERFACES: usize = 16;
/// Fewest blocks in a ring: the kernel fills one while user space reads the others.
const MIN_BLOCKS: usize = 4;
/// Frame size given to the kernel: with TPACKET_V3 only used to check the request (packets
/// are packed one after the other in a block, whatever their size).
const FRAME_BYTES: usize = 2048;

/// `TPACKET_V3` of `enum tpacket_versions`.
const TPACKET_V3: libc::c_int = 2;
/// Offsets in `struct tpacket_block_desc` (linux/if_packet.h): version u32, offset_to_priv
/// u32, then `struct tpacket_hdr_v1`.
const BLK_STATUS: usize = 8;
const BLK_NUM_PKTS: usize = 12;
const BLK_FIRST: usize = 16;
const BLK_LEN: usize = 20;
/// Size of the block descriptor (`tpacket_hdr_v1` ends with two `tpacket_bd_ts`).
const BLK_HDR: usize = 48;
/// Offsets in `struct tpacket3_hdr`.
const PKT_NEXT: usize = 0;
const PKT_SEC: usize = 4;
const PKT_NSEC: usize = 8;
const PKT_SNAPLEN: usize = 12;
const PKT_LEN: usize = 16;
const PKT_STATUS: usize = 20;
const PKT_MAC: usize = 24;
const PKT_VLAN_TCI: usize = 32;
const PKT_VLAN_TPID: usize = 36;
/// Size of `struct tpacket3_hdr`; the `sockaddr_ll` follows at the next 16-byte boundary.
const PKT_HDR: usize = 48;
/// `sll_pkttype` in the `sockaddr_ll` after the header.
const PKT_SLL_PKTTYPE: usize = 48 + 10;

/// How to open the rings.
#[derive(Debug, Clone)]
pub struct AfPacketConfig {
    /// Bytes kept of each packet.
    pub snaplen: usize,
    /// Ring size per socket (one per worker and interface), in bytes.
    pub ring_bytes: usize,
    /// Block retire timeout in milliseconds: a block that is not full is handed over after
    /// this long, which bounds the latency at low packet rates.
    pub block_timeout_ms: u32,
    /// Promiscuous mode.
    pub promisc: bool,
    /// BPF filter expression (None: every packet).
    pub bpf: Option<String>,
}

/// One packet's header in a block, as [`walk_block`] read it.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// Capture time, seconds.
    pub sec: u32,
    /// Capture time, nanoseconds.
    pub nsec: u32,
    /// Length on the wire.
    pub wire_len: u32,
    /// `tp_status` (`TP_STATUS_VLAN_VALID`, ...).
    pub status: u32,
    /// VLAN tag the kernel took off the packet (valid with `TP_STATUS_VLAN_VALID`).
    pub vlan_tci: u16,
    /// Its TPID (valid with `TP_STATUS_VLAN_TPID_VALID`).
    pub vlan_tpid: u16,
    /// `sll_pkttype`: `PACKET_OUTGOING` for what this host sent.
    pub pkttype: u8,
    /// The captured bytes, from the link-layer header on.
    pub data: &'a [u8],
}

/// Why the walk of a block stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// The block descriptor says the block is longer than the ring's blocks, or shorter than
    /// its own descriptor.
    BadLength,
    /// Frame `index` (0-based) lies partly or wholly outside the block.
    BadFrame(u32),
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes(bytes.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let bytes = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes(bytes.try_into().ok()?))
}

/// Walk the frames of one block that user space owns (`TP_STATUS_USER`), handing each to `f`
/// (false from `f`: stop). Every offset is checked against the block's bytes before use. Ok
/// with the number of frames handed over, or why the walk stopped (the frames before it were
/// handed over).
pub fn walk_block<'a>(
    block: &'a [u8],
    mut f: impl FnMut(Frame<'a>) -> bool,
) -> Result<u32, BlockError> {
    let (Some(num), Some(first), Some(len)) = (
        u32_at(block, BLK_NUM_PKTS),
        u32_at(block, BLK_FIRST),
        u32_at(block, BLK_LEN),
    ) else {
        return Err(BlockError::BadLength);
    };
    let len = len as usize;
    if len < BLK_HDR || len > block.len() {
        return Err(BlockError::BadLength);
    }
    // Only the bytes the kernel says it wrote.
    let block = &block[..len];
    let mut at = first as usize;
    for index in 0..num {
        let frame = (|| {
            if at < BLK_HDR {
                return None;
            }
            let hdr = block.get(at..at.checked_add(PKT_HDR)?)?;
            let mac = usize::from(u16_at(hdr, PKT_MAC)?);
            let snap = u32_at(hdr, PKT_SNAPLEN)? as usize;
            let start = at.checked_add(mac)?;
            if mac < PKT_HDR {
                return None;
            }
            let data = block.get(start..start.checked_add(snap)?)?;
            let pkttype = if mac > PKT_SLL_PKTTYPE {
                block.get(at + PKT_SLL_PKTTYPE).copied().unwrap_or(0)
            } else {
                0
            };
            Some((
                Frame {
                    sec: u32_at(hdr, PKT_SEC)?,
                    nsec: u32_at(hdr, PKT_NSEC)?,
                    wire_len: u32_at(hdr, PKT_LEN)?,
                    status: u32_at(hdr, PKT_STATUS)?,
                    vlan_tci: u32_at(hdr, PKT_VLAN_TCI)? as u16,
                    vlan_tpid: u16_at(hdr, PKT_VLAN_TPID)?,
                    pkttype,
                    data,
                },
                u32_at(hdr, PKT_NEXT)? as usize,
            ))
        })();
        let Some((frame, next)) = frame else {
            return Err(BlockError::BadFrame(index));
        };
        if !f(frame) {
            return Ok(index + 1);
        }
        if index + 1 < num {
            if next == 0 {
                return Err(BlockError::BadFrame(index + 1));
            }
            at = match at.checked_add(next) {
                Some(a) => a,
                None => return Err(BlockError::BadFrame(index + 1)),
            };
        }
    }
    Ok(num)
}

/// A frame whose 802.1Q tag the kernel took off (VLAN acceleration: `TP_STATUS_VLAN_VALID`)
/// rebuilt in `scratch` with the tag back after the MAC addresses, as libpcap does, so the
/// decoder sees the frame as it was on the wire. None when there is no such tag (or the frame
/// is not Ethernet, or would not fit `scratch`'s capacity: it is never grown here).
fn retag<'s>(frame: &Frame<'_>, link_type: u32, scratch: &'s mut Vec<u8>) -> Option<&'s [u8]> {
    let data = frame.data;
    if frame.status & libc::TP_STATUS_VLAN_VALID == 0
        || link_type != linktype::ETHERNET
        || data.len() < 12
        || data.len() + 4 > scratch.capacity()
    {
        return None;
    }
    let tpid = if frame.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
        frame.vlan_tpid
    } else {
        0x8100
    };
    scratch.clear();
    scratch.extend_from_slice(&data[..12]);
    scratch.extend_from_slice(&tpid.to_be_bytes());
    scratch.extend_from_slice(&frame.vlan_tci.to_be_bytes());
    scratch.extend_from_slice(&data[12..]);
    Some(scratch)
}

/// The error of the last system call, as one line: `what: text`.
fn os_error(what: &str) -> String {
    format!("{what}: {}", io::Error::last_os_error())
}

fn setsockopt<T>(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size given, for the length of the call.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn getsockopt<T: Default>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> io::Result<T> {
    let mut value = T::default();
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: `value` is a live `T` of `len` bytes the kernel may write into.
    let rc = unsafe { libc::getsockopt(fd, level, name, (&mut value as *mut T).cast(), &mut len) };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `struct tpacket_stats_v3`.
#[derive(Default)]
#[repr(C)]
struct StatsV3 {
    packets: u32,
    drops: u32,
    freeze_q_cnt: u32,
}

/// One interface's ring of one worker.
struct Ring {
    fd: OwnedFd,
    map: *mut u8,
    map_len: usize,
    block_bytes: usize,
    blocks: usize,
    /// The block to read next.
    next: usize,
    /// Index of the interface in the names given to [`AfPacketSource::open_workers`].
    iface: u32,
    name: String,
    link_type: u32,
    /// Loopback: what this host sends is seen twice (out and in); the outgoing copy is skipped,
    /// as libpcap does.
    loopback: bool,
    /// Stopped (the interface went down or away): kept for its counters.
    lost: bool,
    /// Kernel counters summed since opening (`PACKET_STATISTICS` resets them when read):
    /// packets (drops included, as the kernel counts), drops, freeze-queue count.
    totals: [u64; 3],
}

// SAFETY: the mapping is owned by the ring (unmapped on drop) and only read or written
// through `&mut Ring`; moving it to another thread moves that ownership.
unsafe impl Send for Ring {}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `map`/`map_len` are the mapping made in `open`, not used after this.
        unsafe {
            libc::munmap(self.map.cast(), self.map_len);
        }
    }
}

/// The interface's index and hardware type (`ARPHRD_*`), and whether it is up.
fn interface_info(fd: RawFd, name: &str) -> Result<(i32, u16, bool), String> {
    let cname = CString::new(name).map_err(|_| format!("{name}: bad interface name"))?;
    if name.len() >= libc::IFNAMSIZ {
        return Err(format!("{name}: interface name too long"));
    }
    // SAFETY: an all-zero ifreq is valid; the name fits (checked) with its NUL.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(cname.as_bytes_with_nul()) {
        *dst = *src as libc::c_char;
    }
    // SAFETY: SIOCGIFINDEX reads the name and writes the index into `req`.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFINDEX, &mut req) } != 0 {
        return Err(format!(
            "{name}: cannot capture: {} (no such interface; `ip link` lists them)",
            io::Error::last_os_error()
        ));
    }
    // SAFETY: SIOCGIFINDEX filled the index member of the union.
    let index = unsafe { req.ifr_ifru.ifru_ifindex };
    // SAFETY: SIOCGIFHWADDR writes the hardware address member.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFHWADDR, &mut req) } != 0 {
        return Err(os_error(&format!("{name}: cannot read the link type")));
    }
    // SAFETY: SIOCGIFHWADDR filled the hwaddr member.
    let hatype = unsafe { req.ifr_ifru.ifru_hwaddr.sa_family };
    // SAFETY: SIOCGIFFLAGS writes the flags member.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) } != 0 {
        return Err(os_error(&format!(
            "{name}: cannot read the interface flags"
        )));
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member.
    let up = unsafe { req.ifr_ifru.ifru_flags } & libc::IFF_UP as libc::c_short != 0;
    Ok((index, hatype, up))
}

/// LINKTYPE_* of an `ARPHRD_*` hardware type this capture reads as is (SOCK_RAW).
fn link_type_of(hatype: u16) -> Option<u32> {
    match hatype {
        libc::ARPHRD_ETHER | libc::ARPHRD_LOOPBACK => Some(linktype::ETHERNET),
        // tun devices and other raw IP links (ARPHRD_RAWIP = 519).
        libc::ARPHRD_NONE | 519 => Some(linktype::RAW),
        _ => None,
    }
}

/// The `--bpf` expression compiled by libpcap for `link_type` (on a dead handle).
fn compile_bpf(filter: &str, link_type: u32) -> Result<Vec<libc::sock_filter>, String> {
    let dead = pcap::Capture::dead(pcap::Linktype(link_type as i32))
        .map_err(|e| format!("cannot compile --bpf: {e}"))?;
    let program = dead
        .compile(filter, true)
        .map_err(|e| format!("bad --bpf filter {filter:?}: {e}"))?;
    program
        .get_instructions()
        .iter()
        .map(|insn| {
            // `BpfInstruction` prints as "code jt jf k" (its fields are private).
            let text = insn.to_string();
            let mut parts = text.split(' ').map(str::parse::<u32>);
            let mut next = || parts.next().and_then(Result::ok);
            Some(libc::sock_filter {
                code: u16::try_from(next()?).ok()?,
                jt: u8::try_from(next()?).ok()?,
                jf: u8::try_from(next()?).ok()?,
                k: next()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("--bpf {filter:?}: libpcap gave an instruction not understood"))
}

fn attach_filter(fd: RawFd, program: &[libc::sock_filter]) -> io::Result<()> {
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    setsockopt(fd, libc::SOL_SOCKET, libc::SO_ATTACH_FILTER, &prog)
}

/// A filter that accepts nothing: on the socket while it joins its fanout group, so no packet
/// reaches a worker that is not yet in the group.
const DROP_ALL: [libc::sock_filter; 1] = [libc::sock_filter {
    code: 0x06, // BPF_RET | BPF_K
    jt: 0,
    jf: 0,
    k: 0,
}];

/// How a socket takes part in a fanout group.
#[derive(Clone, Copy)]
enum Fanout {
    /// One worker: no group.
    None,
    /// The first socket of the interface: a new group with a kernel-chosen id.
    New,
    /// A later socket: join this group.
    Join(u16),
}

impl Ring {
    /// Open one socket and ring on `name`, bound and (with `fanout`) in the interface's
    /// group; returns it with the group's id.
    fn open(
        name: &str,
        iface: u32,
        config: &AfPacketConfig,
        fanout: Fanout,
    ) -> Result<(Ring, u16), String> {
        // SAFETY: plain socket(2); the descriptor is owned right after.
        let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            let hint = if e.kind() == io::ErrorKind::PermissionDenied {
                " (run as root, or give the binary the capabilities: setcap cap_net_raw,cap_net_admin=eip)"
            } else {
                ""
            };
            return Err(format!("{name}: cannot capture: {e}{hint}"));
        }
        // SAFETY: `raw` is a new descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let fail = |what: &str, e: io::Error| format!("{name}: cannot capture: {what}: {e}");
        let (ifindex, hatype, up) = interface_info(raw, name)?;
        if !up {
            return Err(format!(
                "{name}: cannot capture: the interface is down (`ip link set dev {name} up`)"
            ));
        }
        let Some(link_type) = link_type_of(hatype) else {
            return Err(format!(
                "{name}: cannot capture with AF_PACKET: hardware type {hatype} is not read raw here (use --capture pcap)"
            ));
        };
        setsockopt(raw, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3)
            .map_err(|e| fail("TPACKET_V3", e))?;
        let blocks = (config.ring_bytes / BLOCK_BYTES).max(MIN_BLOCKS);
        let req = libc::tpacket_req3 {
            tp_block_size: BLOCK_BYTES as u32,
            tp_block_nr: blocks as u32,
            tp_frame_size: FRAME_BYTES as u32,
            tp_frame_nr: (BLOCK_BYTES / FRAME_BYTES * blocks) as u32,
            tp_retire_blk_tov: config.block_timeout_ms.max(1),
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(raw, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)
            .map_err(|e| fail("PACKET_RX_RING", e))?;
        let map_len = BLOCK_BYTES * blocks;
        // SAFETY: maps the ring the kernel just allocated for this socket; checked below.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            return Err(fail("mmap of the ring", io::Error::last_os_error()));
        }
        let mut ring = Ring {
            fd,
            map: map.cast(),
            map_len,
            block_bytes: BLOCK_BYTES,
            blocks,
            next: 0,
            iface,
            name: name.to_string(),
            link_type,
            loopback: hatype == libc::ARPHRD_LOOPBACK,
            lost: false,
            totals: [0; 3],
        };
        let program = match &config.bpf {
            Some(filter) => {
                Some(compile_bpf(filter, link_type).map_err(|e| format!("{name}: {e}"))?)
            }
            None => None,
        };
        // Nothing arrives before bind (protocol 0); from bind until the group is joined the
        // socket accepts nothing, then the real filter (or none) takes over.
        attach_filter(raw, &DROP_ALL).map_err(|e| fail("SO_ATTACH_FILTER", e))?;
        if config.promisc {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex,
                mr_type: libc::PACKET_MR_PROMISC as u16,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(raw, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)
                .map_err(|e| fail("promiscuous mode", e))?;
        }
        // SAFETY: an all-zero sockaddr_ll is valid; the fields are set below.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
        addr.sll_ifindex = ifindex;
        // SAFETY: `addr` is a valid sockaddr_ll of the length given.
        let rc = unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc != 0 {
            return Err(fail("bind", io::Error::last_os_error()));
        }
        let flags = libc::PACKET_FANOUT_HASH | libc::PACKET_FANOUT_FLAG_DEFRAG;
        let group = match fanout {
            Fanout::None => 0,
            Fanout::New => {
                let arg = ((flags | libc::PACKET_FANOUT_FLAG_UNIQUEID) << 16) as libc::c_int;
                setsockopt(raw, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)
                    .map_err(|e| fail("PACKET_FANOUT", e))?;
                let got: libc::c_int = getsockopt(raw, libc::SOL_PACKET, libc::PACKET_FANOUT)
                    .map_err(|e| fail("PACKET_FANOUT", e))?;
                (got & 0xffff) as u16
            }
            Fanout::Join(id) => {
                let arg = ((flags << 16) | u32::from(id)) as libc::c_int;
                setsockopt(raw, libc::SOL_PACKET, libc::PACKET_FANOUT, &arg)
                    .map_err(|e| fail("PACKET_FANOUT", e))?;
                id
            }
        };
        match &program {
            Some(p) => attach_filter(raw, p).map_err(|e| fail("SO_ATTACH_FILTER", e))?,
            None => setsockopt(
                raw,
                libc::SOL_SOCKET,
                libc::SO_DETACH_FILTER,
                &0 as &libc::c_int,
            )
            .map_err(|e| fail("SO_DETACH_FILTER", e))?,
        }
        // Start the counters from here (reading them resets them).
        ring.refresh_counters();
        ring.totals = [0; 3];
        Ok((ring, group))
    }

    /// The status word of block `i`, shared with the kernel.
    fn status(&self, i: usize) -> &AtomicU32 {
        debug_assert!(i < self.blocks);
        // SAFETY: block `i` starts at a page-aligned offset inside the mapping; its status word
        // is 4-aligned at +8; the mapping lives as long as `self`. The kernel writes it too, so
        // it is only touched atomically.
        unsafe {
            &*self
                .map
                .add(i * self.block_bytes + BLK_STATUS)
                .cast::<AtomicU32>()
        }
    }

    /// The next block's bytes, when the kernel has handed it to user space.
    fn user_block(&self) -> Option<&[u8]> {
        if self.status(self.next).load(Ordering::Acquire) & libc::TP_STATUS_USER == 0 {
            return None;
        }
        // SAFETY: the block is inside the mapping and, with TP_STATUS_USER set, the kernel does
        // not write to it until `release` gives it back; the slice does not outlive `&self`.
        Some(unsafe {
            std::slice::from_raw_parts(self.map.add(self.next * self.block_bytes), self.block_bytes)
        })
    }

    /// Give the current block back to the kernel and move to the next.
    fn release(&mut self) {
        self.status(self.next)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
        self.next = (self.next + 1) % self.blocks;
    }

    fn refresh_counters(&mut self) {
        if self.lost {
            return;
        }
        if let Ok(s) = getsockopt::<StatsV3>(
            self.fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
        ) {
            self.totals[0] += u64::from(s.packets);
            self.totals[1] += u64::from(s.drops);
            self.totals[2] += u64::from(s.freeze_q_cnt);
        }
    }
}

/// One worker's sockets: a ring per interface.
pub struct AfPacketSource {
    rings: Vec<Ring>,
    snaplen: usize,
    /// Where a packet whose VLAN tag the kernel took off is rebuilt with the tag (allocated
    /// once, a block's size).
    scratch: Vec<u8>,
    /// The last `read` handed packets over: the next one returns at once when nothing is
    /// ready (the caller's moment to flush), instead of sleeping first.
    busy: bool,
    lost: Vec<String>,
    /// Blocks whose walk stopped at a malformed header.
    malformed_blocks: u64,
}

impl AfPacketSource {
    /// Open a ring per interface for each of `workers` workers (one source each); with more
    /// than one worker, the rings of each interface form one fanout group. The first failure
    /// is the error (one line).
    pub fn open_workers(
        names: &[String],
        config: &AfPacketConfig,
        workers: usize,
    ) -> Result<Vec<AfPacketSource>, String> {
        let workers = workers.max(1);
        if names.len() > MAX_INTERFACES {
            return Err(format!(
                "--capture afpacket reads at most {MAX_INTERFACES} interfaces ({} given)",
                names.len()
            ));
        }
        let mut sources: Vec<AfPacketSource> = (0..workers)
            .map(|_| AfPacketSource {
                rings: Vec::with_capacity(names.len()),
                snaplen: config.snaplen.max(64),
                scratch: Vec::with_capacity(BLOCK_BYTES + 4),
                busy: false,
                lost: Vec::new(),
                malformed_blocks: 0,
            })
            .collect();
        for (iface, name) in names.iter().enumerate() {
            let mut group = None;
            for source in &mut sources {
                let fanout = match (workers, group) {
                    (1, _) => Fanout::None,
                    (_, None) => Fanout::New,
                    (_, Some(id)) => Fanout::Join(id),
                };
                let (ring, id) = Ring::open(name, iface as u32, config, fanout)?;
                group = Some(id);
                source.rings.push(ring);
            }
        }
        Ok(sources)
    }

    /// Names and link types of the interfaces still capturing.
    pub fn describe(&self) -> Vec<(String, u32)> {
        self.rings
            .iter()
            .filter(|r| !r.lost)
            .map(|r| (r.name.clone(), r.link_type))
            .collect()
    }

    /// Interfaces still capturing.
    pub fn alive(&self) -> usize {
        self.rings.iter().filter(|r| !r.lost).count()
    }

    /// Messages for interfaces lost since the last call.
    pub fn take_lost(&mut self) -> Vec<String> {
        std::mem::take(&mut self.lost)
    }

    /// Read the blocks that are ready on every ring (a few each), calling `f` for each packet;
    /// each block goes back to the kernel once its packets were handled. When nothing is
    /// ready, return 0 at once after a read that handed packets over (the caller's moment to
    /// flush), else wait up to [`POLL_MS`] for a block and return 0. `f` returns false to
    /// stop early.
    pub fn read(&mut self, mut f: impl FnMut(&Packet<'_>) -> bool) -> usize {
        let mut count = 0usize;
        let snaplen = self.snaplen;
        let scratch = &mut self.scratch;
        for ring in &mut self.rings {
            if ring.lost {
                continue;
            }
            for _ in 0..BURST_BLOCKS {
                let Some(block) = ring.user_block() else {
                    break;
                };
                let (link_type, iface, loopback) = (ring.link_type, ring.iface, ring.loopback);
                let mut stop = false;
                let walked = walk_block(block, |frame| {
                    if loopback && frame.pkttype == libc::PACKET_OUTGOING {
                        return true;
                    }
                    count += 1;
                    let (data, wire_len) = match retag(&frame, link_type, scratch) {
                        Some(tagged) => (tagged, frame.wire_len.saturating_add(4)),
                        None => (frame.data, frame.wire_len),
                    };
                    let packet = Packet {
                        ts: Timestamp {
                            secs: i64::from(frame.sec),
                            nanos: frame.nsec.min(999_999_999),
                        },
                        link_type,
                        data: &data[..data.len().min(snaplen)],
                        orig_len: wire_len,
                        interface: iface,
                    };
                    stop = !f(&packet);
                    !stop
                });
                if walked.is_err() {
                    self.malformed_blocks += 1;
                }
                ring.release();
                if stop {
                    self.busy = true;
                    return count;
                }
            }
        }
        if count > 0 {
            self.busy = true;
        } else if std::mem::take(&mut self.busy) {
            // Just went idle: let the caller flush before sleeping.
        } else {
            self.wait();
        }
        count
    }

    /// Sleep in `poll(2)` until a ring has a block (or [`POLL_MS`] pass); a ring whose socket
    /// reports an error (the interface went down or was deleted) is stopped and reported.
    fn wait(&mut self) {
        let mut fds = [libc::pollfd {
            fd: -1,
            events: 0,
            revents: 0,
        }; 16];
        let mut n = 0;
        for ring in self.rings.iter().filter(|r| !r.lost).take(fds.len()) {
            fds[n] = libc::pollfd {
                fd: ring.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            n += 1;
        }
        if n == 0 {
            std::thread::sleep(std::time::Duration::from_millis(POLL_MS as u64));
            return;
        }
        // SAFETY: `fds[..n]` is a valid array of pollfd structs for the whole call.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), n as libc::nfds_t, POLL_MS) };
        if rc <= 0 {
            return;
        }
        for pfd in fds.iter().take(n) {
            if pfd.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) == 0 {
                continue;
            }
            let Some(ring) = self.rings.iter_mut().find(|r| r.fd.as_raw_fd() == pfd.fd) else {
                continue;
            };
            let err: libc::c_int =
                getsockopt(pfd.fd, libc::SOL_SOCKET, libc::SO_ERROR).unwrap_or(libc::EIO);
            let text = match err {
                libc::ENETDOWN => "the interface went down or was removed".to_string(),
                0 => "the socket reported an error".to_string(),
                e => io::Error::from_raw_os_error(e).to_string(),
            };
            ring.refresh_counters();
            ring.lost = true;
            self.lost
                .push(format!("{}: capture stopped: {text}", ring.name));
        }
    }

    /// The kernel's counters (`PACKET_STATISTICS`) summed over this source's sockets.
    pub fn counters(&mut self) -> CaptureCounters {
        let mut c = CaptureCounters::default();
        for ring in &mut self.rings {
            ring.refresh_counters();
            c.kernel_packets += ring.totals[0];
            c.kernel_drops += ring.totals[1];
            c.kernel_freeze_queue += ring.totals[2];
        }
        c.ring_bad_blocks = self.malformed_blocks;
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block of `size` bytes holding `frames` (link-layer bytes each) as the kernel lays
    /// them out: descriptor, then each frame's header at 16-byte alignment.
    fn block(size: usize, frames: &[&[u8]]) -> Vec<u8> {
        let mut b = vec![0u8; size];
        let put32 =
            |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
        put32(&mut b, BLK_STATUS, libc::TP_STATUS_USER);
        put32(&mut b, BLK_NUM_PKTS, frames.len() as u32);
        put32(&mut b, BLK_FIRST, BLK_HDR as u32);
        let mut at = BLK_HDR;
        let mac = 80usize;
        for (i, f) in frames.iter().enumerate() {
            let next = (mac + f.len()).next_multiple_of(16);
            let last = i + 1 == frames.len();
            put32(&mut b, at + PKT_NEXT, if last { 0 } else { next as u32 });
            put32(&mut b, at + PKT_SEC, 1_700_000_000 + i as u32);
            put32(&mut b, at + PKT_NSEC, 5);
            put32(&mut b, at + PKT_SNAPLEN, f.len() as u32);
            put32(&mut b, at + PKT_LEN, f.len() as u32 + 10);
            b[at + PKT_MAC..at + PKT_MAC + 2].copy_from_slice(&(mac as u16).to_ne_bytes());
            b[at + mac..at + mac + f.len()].copy_from_slice(f);
            at += next;
        }
        put32(&mut b, BLK_LEN, at as u32);
        b
    }

    fn frames_of(b: &[u8]) -> (Vec<Vec<u8>>, Result<u32, BlockError>) {
        let mut seen = Vec::new();
        let r = walk_block(b, |f| {
            seen.push(f.data.to_vec());
            true
        });
        (seen, r)
    }

    #[test]
    fn walks_every_frame_in_place() {
        let b = block(4096, &[b"first frame", b"second", &[7u8; 300]]);
        let mut times = Vec::new();
        let r = walk_block(&b, |f| {
            times.push((f.sec, f.nsec, f.wire_len));
            // Lent from the block, not copied.
            assert!(b.as_ptr_range().contains(&f.data.as_ptr()));
            true
        });
        assert_eq!(r, Ok(3));
        assert_eq!(
            times,
            [
                (1_700_000_000, 5, 21),
                (1_700_000_001, 5, 16),
                (1_700_000_002, 5, 310)
            ]
        );
        let (seen, _) = frames_of(&b);
        assert_eq!(
            seen,
            [b"first frame".to_vec(), b"second".to_vec(), vec![7u8; 300]]
        );
    }

    #[test]
    fn stops_when_asked() {
        let b = block(4096, &[b"a", b"b", b"c"]);
        let mut n = 0;
        assert_eq!(
            walk_block(&b, |_| {
                n += 1;
                n < 2
            }),
            Ok(2)
        );
    }

    #[test]
    fn empty_block() {
        let b = block(4096, &[]);
        assert_eq!(frames_of(&b), (vec![], Ok(0)));
    }

    #[test]
    fn block_length_beyond_the_block_is_refused() {
        let mut b = block(4096, &[b"x"]);
        b[BLK_LEN..BLK_LEN + 4].copy_from_slice(&5000u32.to_ne_bytes());
        assert_eq!(frames_of(&b), (vec![], Err(BlockError::BadLength)));
        b[BLK_LEN..BLK_LEN + 4].copy_from_slice(&10u32.to_ne_bytes());
        assert_eq!(frames_of(&b).1, Err(BlockError::BadLength));
        assert_eq!(frames_of(&b[..16]).1, Err(BlockError::BadLength));
    }

    #[test]
    fn frames_outside_the_block_are_not_read() {
        // More frames claimed than present: the walk stops at the first missing one.
        let mut b = block(4096, &[b"one", b"two"]);
        b[BLK_NUM_PKTS..BLK_NUM_PKTS + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        let (seen, r) = frames_of(&b);
        assert_eq!(seen.len(), 2);
        assert_eq!(r, Err(BlockError::BadFrame(2)));

        // First frame offset inside the descriptor, or past the end.
        for first in [0u32, 8, 4090, u32::MAX] {
            let mut b = block(4096, &[b"one"]);
            b[BLK_FIRST..BLK_FIRST + 4].copy_from_slice(&first.to_ne_bytes());
            assert_eq!(
                frames_of(&b),
                (vec![], Err(BlockError::BadFrame(0))),
                "first {first}"
            );
        }

        // Snap length past the block's written length.
        let mut b = block(4096, &[b"one"]);
        let at = BLK_HDR + PKT_SNAPLEN;
        b[at..at + 4].copy_from_slice(&4000u32.to_ne_bytes());
        assert_eq!(frames_of(&b).1, Err(BlockError::BadFrame(0)));
        b[at..at + 4].copy_from_slice(&u32::MAX.to_ne_bytes());
        assert_eq!(frames_of(&b).1, Err(BlockError::BadFrame(0)));

        // Link header offset inside the frame header.
        let mut b = block(4096, &[b"one"]);
        b[BLK_HDR + PKT_MAC..BLK_HDR + PKT_MAC + 2].copy_from_slice(&4u16.to_ne_bytes());
        assert_eq!(frames_of(&b).1, Err(BlockError::BadFrame(0)));

        // A next offset that runs off the block, or is 0 before the last frame.
        for next in [0u32, 100_000, u32::MAX] {
            let mut b = block(4096, &[b"one", b"two"]);
            b[BLK_HDR..BLK_HDR + 4].copy_from_slice(&next.to_ne_bytes());
            let (seen, r) = frames_of(&b);
            assert_eq!(seen, [b"one".to_vec()], "next {next}");
            assert_eq!(r, Err(BlockError::BadFrame(1)), "next {next}");
        }
    }

    #[test]
    fn a_tag_the_kernel_took_off_is_put_back() {
        let wire: Vec<u8> = (0..60u8).collect();
        let mut frame = Frame {
            sec: 0,
            nsec: 0,
            wire_len: 60,
            status: 0,
            vlan_tci: 0x2064,
            vlan_tpid: 0x88a8,
            pkttype: 0,
            data: &wire,
        };
        let mut scratch = Vec::with_capacity(128);
        assert!(retag(&frame, linktype::ETHERNET, &mut scratch).is_none());
        frame.status = libc::TP_STATUS_VLAN_VALID;
        let tagged = retag(&frame, linktype::ETHERNET, &mut scratch).map(<[u8]>::to_vec);
        let mut want = wire[..12].to_vec();
        want.extend_from_slice(&[0x81, 0x00, 0x20, 0x64]);
        want.extend_from_slice(&wire[12..]);
        assert_eq!(tagged, Some(want.clone()));
        frame.status |= libc::TP_STATUS_VLAN_TPID_VALID;
        want[12..14].copy_from_slice(&[0x88, 0xa8]);
        assert_eq!(
            retag(&frame, linktype::ETHERNET, &mut scratch).map(<[u8]>::to_vec),
            Some(want)
        );
        // Not Ethernet, too short, or too big for the scratch space: left alone.
        assert!(retag(&frame, linktype::RAW, &mut scratch).is_none());
        let short = Frame {
            data: &wire[..8],
            ..frame
        };
        assert!(retag(&short, linktype::ETHERNET, &mut scratch).is_none());
        let mut small = Vec::with_capacity(40);
        assert!(retag(&frame, linktype::ETHERNET, &mut small).is_none());
        assert_eq!(small.capacity(), 40);
    }

    #[test]
    fn random_garbage_never_reads_outside() {
        // Any bytes at all: the walk ends without reading past the slice (a panic or an
        // out-of-bounds read would fail the test, under Miri or not).
        let mut state = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            let mut b = block(512, &[b"seed frame", b"another"]);
            for _ in 0..8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state as usize) % 160;
                b[at] = (state >> 32) as u8;
            }
            let _ = walk_block(&b, |f| {
                assert!(b.as_ptr_range().contains(&f.data.as_ptr()) || f.data.is_empty());
                true
            });
        }
    }
}
