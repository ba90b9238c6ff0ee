//! Streaming reader for pcap and pcapng capture files.
//!
//! The reader pulls large blocks from any [`Read`] (a file, a pipe, stdin) into one internal
//! buffer and hands out packets as slices of that buffer ([`Packet<'_>`]), so packet bytes are
//! never copied or allocated per packet. The buffer only grows when a single record is larger
//! than it, and every length read from the file is checked against a sane cap *before* it is
//! used, so a corrupt or hostile file can neither make us allocate gigabytes nor panic.

use std::fmt;
use std::io::{self, Read};

use super::{Packet, Timestamp};

/// Initial size of the read buffer: large enough that a read fetches many packets at once.
const INITIAL_BUFFER: usize = 1 << 20;

/// Largest pcap record we accept when the header's snaplen is smaller (tcpdump's maximum snaplen).
const PCAP_DEFAULT_MAX_CAPLEN: u32 = 262_144;

/// No record or block larger than this is genuine; anything above is corruption.
const MAX_RECORD: u32 = 16 << 20;

/// Upper bound on interfaces per pcapng section, so a file of empty IDBs cannot exhaust memory.
const MAX_INTERFACES: usize = 1 << 16;

/// pcapng Section Header Block type (a byte palindrome, the same in both byte orders).
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;
/// pcapng byte-order magic, as written by the file's writer.
const PCAPNG_BOM: u32 = 0x1A2B_3C4D;
/// pcapng Interface Description Block type.
const PCAPNG_IDB: u32 = 1;
/// pcapng obsolete Packet Block type.
const PCAPNG_PB: u32 = 2;
/// pcapng Simple Packet Block type.
const PCAPNG_SPB: u32 = 3;
/// pcapng Enhanced Packet Block type.
const PCAPNG_EPB: u32 = 6;
/// IDB option: timestamp resolution.
const OPT_IF_TSRESOL: u16 = 9;
/// IDB option: timestamp offset in seconds.
const OPT_IF_TSOFFSET: u16 = 14;

/// Which container format a capture file uses; lets callers report it and pick defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Classic libpcap format (one global header, then records).
    Pcap,
    /// pcapng (blocks; several sections and interfaces per file).
    Pcapng,
}

/// What went wrong while reading a capture, so callers can tell I/O failures from bad files.
#[derive(Debug)]
pub enum CaptureErrorKind {
    /// The underlying reader failed.
    Io(io::Error),
    /// The data does not start with a pcap or pcapng magic number.
    NotACapture,
    /// The file ends in the middle of a header, record or block.
    Truncated,
    /// A record or block is malformed (impossible length, unknown interface, ...).
    BadRecord(String),
}

/// An error while reading a capture, with where it happened so the user can find the spot.
#[derive(Debug)]
pub struct CaptureError {
    /// What went wrong.
    pub kind: CaptureErrorKind,
    /// Byte offset in the file of the header, record or block being read.
    pub offset: u64,
    /// 1-based number of the packet being read when it failed (0 while reading the file header).
    pub packet: u64,
}

impl fmt::Display for CaptureError {
    /// One line, without the file name (the caller adds it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            CaptureErrorKind::Io(_) => "read error",
            CaptureErrorKind::NotACapture => return f.write_str("not a pcap or pcapng file"),
            CaptureErrorKind::Truncated => "truncated record",
            CaptureErrorKind::BadRecord(_) => "invalid record",
        };
        write!(f, "{what} at byte offset {}", self.offset)?;
        if self.packet > 0 {
            write!(f, " (packet {})", self.packet)?;
        }
        match &self.kind {
            CaptureErrorKind::Io(e) => write!(f, ": {e}"),
            CaptureErrorKind::BadRecord(msg) => write!(f, ": {msg}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for CaptureError {
    /// Exposes the I/O error so callers can inspect it (e.g. broken pipe).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            CaptureErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Byte order of the current file or section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

impl Endian {
    fn u16(self, s: &[u8], off: usize) -> Option<u16> {
        let b: [u8; 2] = s.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        })
    }

    fn u32(self, s: &[u8], off: usize) -> Option<u32> {
        let b: [u8; 4] = s.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        })
    }

    fn u64(self, s: &[u8], off: usize) -> Option<u64> {
        let b: [u8; 8] = s.get(off..off.checked_add(8)?)?.try_into().ok()?;
        Some(match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        })
    }
}

/// Timestamp resolution: how many units make one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TsRes {
    /// 10^-e seconds per unit.
    Pow10(u8),
    /// 2^-e seconds per unit.
    Pow2(u8),
}

impl TsRes {
    /// Converts a raw count of units since the epoch, without overflow for any resolution.
    fn to_timestamp(self, units: u64, offset_secs: i64) -> Timestamp {
        let (secs, nanos): (u64, u32) = match self {
            TsRes::Pow10(9) => (units / 1_000_000_000, (units % 1_000_000_000) as u32),
            TsRes::Pow10(e) if e <= 19 => {
                let per_sec = 10u64.pow(u32::from(e));
                let frac = u128::from(units % per_sec);
                (
                    units / per_sec,
                    (frac * 1_000_000_000 / u128::from(per_sec)) as u32,
                )
            }
            TsRes::Pow10(e) => {
                // More than 10^19 units per second: less than 2 s fits in a u64 of units.
                let nanos = 10u128
                    .checked_pow(u32::from(e) - 9)
                    .map_or(0, |div| u128::from(units) / div);
                (0, nanos as u32)
            }
            TsRes::Pow2(e) => {
                let e = u32::from(e);
                let secs = units.checked_shr(e).unwrap_or(0);
                let mask = 1u128.checked_shl(e).map_or(u128::MAX, |v| v - 1);
                let frac = u128::from(units) & mask;
                (secs, ((frac * 1_000_000_000) >> e) as u32)
            }
        };
        let secs = i64::try_from(secs)
            .unwrap_or(i64::MAX)
            .saturating_add(offset_secs);
        Timestamp { secs, nanos }
    }
}

/// What we keep from a pcapng Interface Description Block.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    res: TsRes,
    offset_secs: i64,
}

/// Format-specific state.
#[derive(Debug)]
enum State {
    Pcap {
        endian: Endian,
        res: TsRes,
        link_type: u32,
        /// Record header length: 16, or 24 for the "modified" (Kuznetzov) pcap format.
        header_len: usize,
        max_caplen: u32,
    },
    Pcapng {
        endian: Endian,
        interfaces: Vec<Interface>,
    },
}

/// A packet located in the buffer, before it is turned into a borrowed [`Packet`].
struct Found {
    ts: Timestamp,
    link_type: u32,
    data_start: usize,
    data_len: usize,
    orig_len: u32,
    interface: u32,
}

/// Streaming pcap/pcapng reader that lends each packet from its internal buffer, so scanning
/// gigabytes of captures costs no allocation or copy per packet. Works on any [`Read`],
/// including stdin, and never seeks.
pub struct CaptureReader<R: Read> {
    reader: R,
    buf: Vec<u8>,
    /// Start of unconsumed data in `buf`.
    start: usize,
    /// End of valid data in `buf`.
    end: usize,
    /// File offset of `buf[start]`.
    pos: u64,
    /// The reader returned end of file.
    eof: bool,
    /// An error was returned; further calls return `Ok(None)`.
    failed: bool,
    packets: u64,
    format: FileFormat,
    state: State,
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (magic) and decides the format. A file that is neither pcap nor
    /// pcapng -> Err(kind NotACapture). Done eagerly so callers can reject a file before
    /// setting up the rest of the pipeline.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Self::with_buffer_size(reader, INITIAL_BUFFER)
    }

    /// Like [`CaptureReader::new`] with a chosen initial buffer size (tests use a small one).
    fn with_buffer_size(reader: R, size: usize) -> Result<Self, CaptureError> {
        let mut r = CaptureReader {
            reader,
            buf: vec![0; size.max(64)],
            start: 0,
            end: 0,
            pos: 0,
            eof: false,
            failed: false,
            packets: 0,
            format: FileFormat::Pcap,
            state: State::Pcapng {
                endian: Endian::Little,
                interfaces: Vec::new(),
            },
        };
        if !r.fill(4).map_err(|e| r.error(CaptureErrorKind::Io(e), 0))? {
            return Err(r.error(CaptureErrorKind::NotACapture, 0));
        }
        let magic = r.head_u32_le().unwrap_or(0);
        let (endian, res, header_len) = match magic {
            0xa1b2_c3d4 => (Endian::Little, TsRes::Pow10(6), 16),
            0xd4c3_b2a1 => (Endian::Big, TsRes::Pow10(6), 16),
            0xa1b2_3c4d => (Endian::Little, TsRes::Pow10(9), 16),
            0x4d3c_b2a1 => (Endian::Big, TsRes::Pow10(9), 16),
            0xa1b2_cd34 => (Endian::Little, TsRes::Pow10(6), 24),
            0x34cd_b2a1 => (Endian::Big, TsRes::Pow10(6), 24),
            PCAPNG_SHB => {
                r.format = FileFormat::Pcapng;
                r.read_shb(true)?;
                return Ok(r);
            }
            _ => return Err(r.error(CaptureErrorKind::NotACapture, 0)),
        };
        if !r.fill(24).map_err(|e| r.error(CaptureErrorKind::Io(e), 0))? {
            return Err(r.error(CaptureErrorKind::Truncated, 0));
        }
        let head = r.buf.get(r.start..r.end).unwrap_or(&[]);
        let snaplen = endian.u32(head, 16).unwrap_or(0);
        // pcap 2.4 "LinkType and additional information": LINKTYPE is the low 16 bits, the
        // high bits carry the FCS length.
        let link_type = endian.u32(head, 20).unwrap_or(0) & 0xFFFF;
        r.state = State::Pcap {
            endian,
            res,
            link_type,
            header_len,
            max_caplen: snaplen.max(PCAP_DEFAULT_MAX_CAPLEN).min(MAX_RECORD),
        };
        r.consume(24);
        Ok(r)
    }

    /// Which format the file turned out to be, for reporting.
    pub fn format(&self) -> FileFormat {
        self.format
    }

    /// Next packet, borrowed from the reader's internal buffer (a lending iterator: the borrow
    /// ends at the next call). Ok(None) at clean end of file, and after any error so a caller
    /// that keeps calling cannot loop forever.
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.failed {
            return Ok(None);
        }
        let found = match &self.state {
            State::Pcap { .. } => self.next_pcap(),
            State::Pcapng { .. } => self.next_pcapng(),
        };
        let found = match found {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.failed = true;
                return Err(e);
            }
        };
        let Some(data) = found
            .data_start
            .checked_add(found.data_len)
            .and_then(|end| self.buf.get(found.data_start..end))
        else {
            // Cannot happen: the record was fully buffered before it was located.
            self.failed = true;
            return Err(self.error(CaptureErrorKind::Truncated, self.packets + 1));
        };
        self.packets += 1;
        Ok(Some(Packet {
            ts: found.ts,
            link_type: found.link_type,
            data,
            orig_len: found.orig_len,
            interface: found.interface,
        }))
    }

    /// Number of packets returned so far, for progress and summaries.
    pub fn packets_read(&self) -> u64 {
        self.packets
    }

    /// Byte offset in the file of the next record/block to read, for progress and error reports.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    fn error(&self, kind: CaptureErrorKind, packet: u64) -> CaptureError {
        CaptureError {
            kind,
            offset: self.pos,
            packet,
        }
    }

    /// Builds an error about the packet being read at the current offset.
    fn rec_error(&self, kind: CaptureErrorKind) -> CaptureError {
        self.error(kind, self.packets + 1)
    }

    fn bad(&self, msg: String) -> CaptureError {
        self.rec_error(CaptureErrorKind::BadRecord(msg))
    }

    /// Makes sure `need` bytes from `start` are buffered. Returns `Ok(false)` if the input ends
    /// first. Compacts the buffer when the tail is too short and grows it only when a single
    /// record is larger than the whole buffer (callers cap `need` beforehand).
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        if self.buf.len() - self.start < need {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() < need {
                self.buf.resize(need.next_power_of_two(), 0);
            }
        }
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            let room = &mut self.buf[self.end..];
            let room_len = room.len();
            match self.reader.read(room) {
                Ok(0) => self.eof = true,
                // `min` guards against a misbehaving reader claiming more than it was given.
                Ok(n) => self.end += n.min(room_len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(true)
    }

    /// Like [`Self::fill`], mapping a short read to `Truncated` and I/O failures to `Io`.
    fn fill_record(&mut self, need: usize) -> Result<(), CaptureError> {
        match self.fill(need) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.rec_error(CaptureErrorKind::Truncated)),
            Err(e) => Err(self.rec_error(CaptureErrorKind::Io(e))),
        }
    }

    /// At a record boundary: `Ok(false)` on clean end of file.
    fn at_record_start(&mut self) -> Result<bool, CaptureError> {
        self.fill(1)
            .map_err(|e| self.rec_error(CaptureErrorKind::Io(e)))
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    fn head_u32_le(&self) -> Option<u32> {
        Endian::Little.u32(self.buf.get(self.start..self.end)?, 0)
    }

    fn next_pcap(&mut self) -> Result<Option<Found>, CaptureError> {
        let State::Pcap {
            endian,
            res,
            link_type,
            header_len,
            max_caplen,
        } = self.state
        else {
            return Ok(None);
        };
        if !self.at_record_start()? {
            return Ok(None);
        }
        self.fill_record(header_len)?;
        let head = self.buf.get(self.start..self.end).unwrap_or(&[]);
        let fields = (|| {
            Some((
                endian.u32(head, 0)?,
                endian.u32(head, 4)?,
                endian.u32(head, 8)?,
                endian.u32(head, 12)?,
            ))
        })();
        let Some((ts_secs, ts_frac, caplen, orig_len)) = fields else {
            return Err(self.rec_error(CaptureErrorKind::Truncated));
        };
        if caplen > max_caplen {
            return Err(self.bad(format!(
                "packet capture length {caplen} is larger than the maximum {max_caplen}"
            )));
        }
        let total = header_len + caplen as usize;
        self.fill_record(total)?;
        let per_sec: u64 = if res == TsRes::Pow10(9) {
            1_000_000_000
        } else {
            1_000_000
        };
        let units = u64::from(ts_secs) * per_sec + u64::from(ts_frac);
        // Normalises out-of-range fractions (e.g. usec >= 1e6) instead of rejecting them.
        let ts = res.to_timestamp(units, 0);
        let found = Found {
            ts,
            link_type,
            data_start: self.start + header_len,
            data_len: caplen as usize,
            orig_len,
            interface: 0,
        };
        self.consume(total);
        Ok(Some(found))
    }

    /// Reads a Section Header Block at the current position: sets the byte order and starts a
    /// new, empty interface list. `first` = the file's first block (errors there mean the file
    /// is not pcapng at all).
    fn read_shb(&mut self, first: bool) -> Result<(), CaptureError> {
        let packet = if first { 0 } else { self.packets + 1 };
        let err = |r: &Self, kind| r.error(kind, packet);
        match self.fill(12) {
            Ok(true) => {}
            Ok(false) => return Err(err(self, CaptureErrorKind::Truncated)),
            Err(e) => return Err(err(self, CaptureErrorKind::Io(e))),
        }
        let head = self.buf.get(self.start..self.end).unwrap_or(&[]);
        let endian = match Endian::Little.u32(head, 8) {
            Some(PCAPNG_BOM) => Endian::Little,
            Some(0x4D3C_2B1A) => Endian::Big,
            _ if first => return Err(err(self, CaptureErrorKind::NotACapture)),
            _ => {
                return Err(err(
                    self,
                    CaptureErrorKind::BadRecord("section header with a bad byte-order magic".into()),
                ));
            }
        };
        let len = endian.u32(head, 4).unwrap_or(0);
        if len < 28 || len % 4 != 0 || len > MAX_RECORD {
            let msg = format!("section header block length {len} is invalid");
            return Err(err(self, CaptureErrorKind::BadRecord(msg)));
        }
        match self.fill(len as usize) {
            Ok(true) => {}
            Ok(false) => return Err(err(self, CaptureErrorKind::Truncated)),
            Err(e) => return Err(err(self, CaptureErrorKind::Io(e))),
        }
        let block = self
            .buf
            .get(self.start..self.start + len as usize)
            .unwrap_or(&[]);
        if endian.u32(block, len as usize - 4) != Some(len) {
            let msg = "section header block trailing length does not match".to_string();
            return Err(err(self, CaptureErrorKind::BadRecord(msg)));
        }
        let major = endian.u16(block, 12).unwrap_or(0);
        if major != 1 {
            let msg = format!("unsupported pcapng major version {major}");
            return Err(err(self, CaptureErrorKind::BadRecord(msg)));
        }
        match &mut self.state {
            State::Pcapng {
                endian: e,
                interfaces,
            } => {
                *e = endian;
                interfaces.clear();
            }
            state @ State::Pcap { .. } => {
                *state = State::Pcapng {
                    endian,
                    interfaces: Vec::new(),
                };
            }
        }
        self.consume(len as usize);
        Ok(())
    }

    fn next_pcapng(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            if !self.at_record_start()? {
                return Ok(None);
            }
            self.fill_record(8)?;
            if self.head_u32_le() == Some(PCAPNG_SHB) {
                self.read_shb(false)?;
                continue;
            }
            let State::Pcapng { endian, .. } = self.state else {
                return Ok(None);
            };
            let head = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let (Some(btype), Some(len)) = (endian.u32(head, 0), endian.u32(head, 4)) else {
                return Err(self.rec_error(CaptureErrorKind::Truncated));
            };
            if len < 12 || len % 4 != 0 || len > MAX_RECORD {
                return Err(self.bad(format!("block length {len} is invalid")));
            }
            let len = len as usize;
            self.fill_record(len)?;
            let State::Pcapng { interfaces, .. } = &mut self.state else {
                return Ok(None);
            };
            let block = self
                .buf
                .get(self.start..self.start + len)
                .unwrap_or(&[]);
            let found = parse_block(endian, btype, block, interfaces);
            let found = match found {
                Ok(f) => f,
                Err(msg) => return Err(self.bad(msg)),
            };
            let base = self.start;
            self.consume(len);
            if let Some(mut f) = found {
                f.data_start += base;
                return Ok(Some(f));
            }
        }
    }
}

/// Interprets one complete pcapng block (not an SHB). Returns the packet it holds, if any, with
/// `data_start` relative to the block; records interfaces from IDBs; skips everything else.
fn parse_block(
    endian: Endian,
    btype: u32,
    block: &[u8],
    interfaces: &mut Vec<Interface>,
) -> Result<Option<Found>, String> {
    let len = block.len();
    let short = || format!("block of type {btype} is too short ({len} bytes)");
    if len < 12 || endian.u32(block, len - 4) != Some(len as u32) {
        return Err(format!(
            "block of type {btype}: trailing length does not match leading length {len}"
        ));
    }
    // Block body without the type, the length and the trailing length.
    let room = len - 12;
    match btype {
        PCAPNG_IDB => {
            if room < 8 {
                return Err(short());
            }
            let link_type = u32::from(endian.u16(block, 8).ok_or_else(short)?);
            let snaplen = endian.u32(block, 12).ok_or_else(short)?;
            let mut iface = Interface {
                link_type,
                snaplen,
                res: TsRes::Pow10(6),
                offset_secs: 0,
            };
            let opts = block.get(16..len - 4).unwrap_or(&[]);
            parse_idb_options(endian, opts, &mut iface)?;
            if interfaces.len() >= MAX_INTERFACES {
                return Err(format!("more than {MAX_INTERFACES} interfaces in one section"));
            }
            interfaces.push(iface);
            Ok(None)
        }
        PCAPNG_EPB | PCAPNG_PB => {
            if room < 20 {
                return Err(short());
            }
            let iface_id = if btype == PCAPNG_EPB {
                endian.u32(block, 8).ok_or_else(short)?
            } else {
                u32::from(endian.u16(block, 8).ok_or_else(short)?)
            };
            let ts_hi = endian.u32(block, 12).ok_or_else(short)?;
            let ts_lo = endian.u32(block, 16).ok_or_else(short)?;
            let caplen = endian.u32(block, 20).ok_or_else(short)?;
            let orig_len = endian.u32(block, 24).ok_or_else(short)?;
            if caplen as usize > room - 20 {
                return Err(format!(
                    "captured length {caplen} does not fit in a block of {len} bytes"
                ));
            }
            let iface = interfaces.get(iface_id as usize).ok_or_else(|| {
                format!(
                    "packet refers to interface {iface_id} but the section defines {}",
                    interfaces.len()
                )
            })?;
            let units = (u64::from(ts_hi) << 32) | u64::from(ts_lo);
            Ok(Some(Found {
                ts: iface.res.to_timestamp(units, iface.offset_secs),
                link_type: iface.link_type,
                data_start: 28,
                data_len: caplen as usize,
                orig_len,
                interface: iface_id,
            }))
        }
        PCAPNG_SPB => {
            if room < 4 {
                return Err(short());
            }
            let orig_len = endian.u32(block, 8).ok_or_else(short)?;
            let iface = interfaces
                .first()
                .ok_or_else(|| "simple packet block before any interface".to_string())?;
            let mut caplen = (orig_len as usize).min(room - 4);
            if iface.snaplen != 0 {
                caplen = caplen.min(iface.snaplen as usize);
            }
            Ok(Some(Found {
                ts: Timestamp::default(),
                link_type: iface.link_type,
                data_start: 12,
                data_len: caplen,
                orig_len,
                interface: 0,
            }))
        }
        _ => Ok(None),
    }
}

/// Reads the IDB options we need (timestamp resolution and offset); ignores the others.
fn parse_idb_options(endian: Endian, opts: &[u8], iface: &mut Interface) -> Result<(), String> {
    let mut p = 0usize;
    while p + 4 <= opts.len() {
        let code = endian.u16(opts, p).unwrap_or(0);
        let olen = usize::from(endian.u16(opts, p + 2).unwrap_or(0));
        if code == 0 {
            break;
        }
        let value = opts
            .get(p + 4..p + 4 + olen)
            .ok_or_else(|| format!("interface option {code} overruns its block"))?;
        match code {
            OPT_IF_TSRESOL => {
                let v = *value
                    .first()
                    .ok_or_else(|| "empty if_tsresol option".to_string())?;
                iface.res = if v & 0x80 != 0 {
                    TsRes::Pow2(v & 0x7f)
                } else {
                    TsRes::Pow10(v)
                };
            }
            OPT_IF_TSOFFSET => {
                let off = endian
                    .u64(value, 0)
                    .ok_or_else(|| "short if_tsoffset option".to_string())?;
                iface.offset_secs = off as i64;
            }
            _ => {}
        }
        p += 4 + olen.div_ceil(4) * 4;
    }
    Ok(())
}
