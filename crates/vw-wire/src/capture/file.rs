//! Streaming reader for pcap and pcapng capture files.
//!
//! The reader pulls large blocks from any [`Read`] (a file, a pipe, stdin) into one internal
//! buffer and hands out packets as slices of that buffer ([`Packet<'_>`]), so packet bytes are
//! never copied or allocated per packet. The buffer only grows when a single record is larger
//! than it, and every length read from the file is checked against a sane cap *before* it is
//! used, so a corrupt or hostile file can neither make us allocate gigabytes nor panic.
//!
//! The buffer is a shared block ([`Block`]) so that `scan --workers N` can hand packets to
//! workers as offsets into it instead of copies: while anyone else holds the block, the reader
//! moves on to another one (a retired block whose holders are done, or a new one) instead of
//! overwriting it. Read alone, the block is never shared and is refilled in place.
//!
//! A regular file is best read ahead ([`CaptureReader::read_ahead`]): a thread does the
//! `read()` calls (the kernel's copy out of the page cache, a third of a single-threaded scan)
//! into blocks while the scan parses the previous ones, so even one worker uses two cores.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;
use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

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
    /// The input holds no byte at all (an empty file is not "an unknown magic number").
    Empty,
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
            CaptureErrorKind::Empty => return f.write_str("empty file"),
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
            // The two resolutions of nearly every file, with constant divisors (a multiply,
            // not the u128 division of the generic arm).
            TsRes::Pow10(9) => (units / 1_000_000_000, (units % 1_000_000_000) as u32),
            TsRes::Pow10(6) => (units / 1_000_000, (units % 1_000_000) as u32 * 1000),
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

/// The reader's buffer: shared so packets can be passed on as (block, offset) without a copy.
/// A clone held elsewhere (a worker's batch) keeps the bytes alive and unchanged: the reader
/// writes only into a block nobody else holds.
pub type Block = Arc<Vec<u8>>;

/// Retired blocks kept for reuse; beyond this they are freed when their last holder is done.
const MAX_SPARE_BLOCKS: usize = 8;

/// Bytes the read-ahead thread leaves free at the front of each block, so the unconsumed tail
/// of the previous block (a record cut by the block boundary) is put right before the new
/// data instead of joining the two.
const HEADROOM: usize = 256 * 1024;

/// Data bytes per read-ahead block.
const AHEAD_CHUNK: usize = 1 << 20;

/// Filled blocks queued ahead of the scan.
const AHEAD_BLOCKS: usize = 4;

/// The scan's side of a read-ahead thread: filled blocks (data at `HEADROOM..HEADROOM + n`)
/// come in order; used ones go back to the pool. The thread ends at end of input, after an
/// error (sent as the last message), or when this side is dropped.
struct ReadAhead {
    /// `None` only while dropping.
    filled: Option<Receiver<io::Result<(Block, usize)>>>,
    pool: Arc<Mutex<Vec<Block>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Dropping the reader ends the thread and waits for it: with the receiver gone its next send
/// fails, and a read of a file returns. (So `read_ahead` is for sources whose reads return,
/// as files' do; a silent pipe would block the drop.)
impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.filled = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl ReadAhead {
    fn spawn<S: Read + Send + 'static>(mut source: S) -> io::Result<Self> {
        let (tx, filled) = mpsc::sync_channel(AHEAD_BLOCKS);
        // Every block a plain scan has in flight, made up front (zeroed allocations are
        // lazy: pages cost memory once filled): `AHEAD_BLOCKS` queued, one being filled, and
        // two held by the reader while it moves from one to the next. A reader that never
        // lends blocks out then allocates nothing more, however long the file.
        let blocks: Vec<Block> = (0..AHEAD_BLOCKS + 3)
            .map(|_| Arc::new(vec![0; HEADROOM + AHEAD_CHUNK]))
            .collect();
        let mut spare = Vec::with_capacity(MAX_SPARE_BLOCKS.max(blocks.len()));
        spare.extend(blocks);
        let pool: Arc<Mutex<Vec<Block>>> = Arc::new(Mutex::new(spare));
        let thread_pool = Arc::clone(&pool);
        let thread = std::thread::Builder::new()
            .name("vw-read-ahead".into())
            .spawn(move || read_ahead_loop(&mut source, &tx, &thread_pool))?;
        Ok(ReadAhead {
            filled: Some(filled),
            pool,
            thread: Some(thread),
        })
    }

    /// A block the scan has moved past: reused once nobody holds it (a worker's batch may).
    /// Only the thread's own blocks are kept (not the reader's first, empty one, nor a joined
    /// one).
    fn recycle(&self, block: Block) {
        if block.len() != HEADROOM + AHEAD_CHUNK {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < pool.capacity() {
            pool.push(block);
        }
    }
}

/// A retired block that nobody else holds any more, taken out of `blocks` for reuse.
fn take_unheld(blocks: &mut Vec<Block>) -> Option<Block> {
    let i = blocks.iter_mut().position(|b| Arc::get_mut(b).is_some())?;
    Some(blocks.swap_remove(i))
}

/// The read-ahead thread: fill blocks from `source` and send them until end of input.
fn read_ahead_loop(
    source: &mut dyn Read,
    tx: &SyncSender<io::Result<(Block, usize)>>,
    pool: &Mutex<Vec<Block>>,
) {
    loop {
        let reused = take_unheld(&mut pool.lock().unwrap_or_else(|e| e.into_inner()));
        let mut block = reused.unwrap_or_else(|| Arc::new(vec![0; HEADROOM + AHEAD_CHUNK]));
        let Some(room) = Arc::get_mut(&mut block).and_then(|b| b.get_mut(HEADROOM..)) else {
            return;
        };
        let mut n = 0;
        let mut at_end = false;
        while n < room.len() {
            match source.read(room.get_mut(n..).unwrap_or_default()) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                // `min` guards against a misbehaving reader claiming more than it was given.
                Ok(k) => n += k.min(room.len() - n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if n > 0 {
                        let _ = tx.send(Ok((block, n)));
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if n > 0 && tx.send(Ok((block, n))).is_err() {
            return;
        }
        if at_end {
            return;
        }
    }
}

/// Streaming pcap/pcapng reader that lends each packet from its internal buffer, so scanning
/// gigabytes of captures costs no allocation or copy per packet. Works on any [`Read`],
/// including stdin, and never seeks.
pub struct CaptureReader<R: Read> {
    reader: R,
    /// Blocks filled by a read-ahead thread ([`CaptureReader::read_ahead`]); then `reader`
    /// is not used.
    ahead: Option<ReadAhead>,
    buf: Block,
    /// Retired blocks, reused once nobody else holds them (see [`Block`]).
    spare: Vec<Block>,
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

impl CaptureReader<io::Empty> {
    /// A reader whose `read()` calls run ahead in their own thread (see the module doc): for
    /// regular files, where the page-cache copy can overlap the scan. Errors as for
    /// [`CaptureReader::new`]; also if the thread cannot be started.
    pub fn read_ahead<S: Read + Send + 'static>(source: S) -> Result<Self, CaptureError> {
        let ahead = ReadAhead::spawn(source).map_err(|e| CaptureError {
            kind: CaptureErrorKind::Io(e),
            offset: 0,
            packet: 0,
        })?;
        Self::start(io::empty(), Some(ahead), Arc::new(Vec::new()))
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header (magic) and decides the format. A file that is neither pcap nor
    /// pcapng -> Err(kind NotACapture). Done eagerly so callers can reject a file before
    /// setting up the rest of the pipeline.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Self::with_buffer_size(reader, INITIAL_BUFFER)
    }

    /// Like [`CaptureReader::new`] with a chosen initial buffer size (at least 64 bytes; it
    /// grows for larger records). Tests and fuzzing use a small one.
    pub fn with_buffer_size(reader: R, size: usize) -> Result<Self, CaptureError> {
        Self::start(reader, None, Arc::new(vec![0; size.max(64)]))
    }

    fn start(reader: R, ahead: Option<ReadAhead>, buf: Block) -> Result<Self, CaptureError> {
        let mut r = CaptureReader {
            reader,
            ahead,
            buf,
            spare: Vec::new(),
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
            let kind = if r.end == r.start {
                CaptureErrorKind::Empty
            } else {
                CaptureErrorKind::NotACapture
            };
            return Err(r.error(kind, 0));
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
        if !r
            .fill(24)
            .map_err(|e| r.error(CaptureErrorKind::Io(e), 0))?
        {
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
            max_caplen: snaplen.clamp(PCAP_DEFAULT_MAX_CAPLEN, MAX_RECORD),
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
        Ok(self.next_packet_in_block()?.map(|(p, _)| p))
    }

    /// Like [`Self::next_packet`], with the block the packet's bytes lie in: a holder of a
    /// clone of the block may keep (block, offset) instead of copying the packet.
    pub fn next_packet_in_block(&mut self) -> Result<Option<(Packet<'_>, &Block)>, CaptureError> {
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
        Ok(Some((
            Packet {
                ts: found.ts,
                link_type: found.link_type,
                data,
                orig_len: found.orig_len,
                interface: found.interface,
            },
            &self.buf,
        )))
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
    /// first. Compacts the buffer when the tail is too short, and grows it (doubling, only while
    /// it is full of data) when a single record is larger than the whole buffer, so a corrupt
    /// length near the end of a small file does not allocate the full claimed size. Callers cap
    /// `need` beforehand.
    #[inline]
    fn fill(&mut self, need: usize) -> io::Result<bool> {
        if self.end - self.start >= need {
            return Ok(true);
        }
        self.fill_slow(need)
    }

    /// [`Self::fill`] when the buffer does not hold `need` bytes yet: compact, grow, read.
    #[cold]
    fn fill_slow(&mut self, need: usize) -> io::Result<bool> {
        if self.ahead.is_some() {
            return self.fill_ahead(need);
        }
        if Arc::get_mut(&mut self.buf).is_none() {
            self.switch_block();
        }
        let Some(buf) = Arc::get_mut(&mut self.buf) else {
            // Cannot happen: `switch_block` leaves a block only we hold.
            return Err(io::Error::other("capture buffer still shared"));
        };
        if buf.len() - self.start < need {
            buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            if self.end == buf.len() {
                // Only reachable with start == 0 and a record larger than the buffer.
                let target = need.checked_next_power_of_two().unwrap_or(need);
                let grown = buf.len().saturating_mul(2).min(target);
                buf.resize(grown, 0);
            }
            let Some(room) = buf.get_mut(self.end..) else {
                // Cannot happen: `end` never passes the buffer's length.
                return Err(io::Error::other("capture buffer out of step"));
            };
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

    /// [`Self::fill_slow`] with a read-ahead thread: take filled blocks, putting the bytes not
    /// consumed yet in the headroom before each new block's data.
    fn fill_ahead(&mut self, need: usize) -> io::Result<bool> {
        while self.end - self.start < need {
            if self.eof {
                return Ok(false);
            }
            let Some(ahead) = &self.ahead else {
                return Ok(false);
            };
            let Some(filled) = &ahead.filled else {
                return Ok(false);
            };
            let (mut block, n) = match filled.recv() {
                Ok(Ok(filled)) => filled,
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    self.eof = true;
                    continue;
                }
            };
            let tail = self.buf.get(self.start..self.end).unwrap_or(&[]);
            let tail_len = tail.len();
            let (start, end) = match Arc::get_mut(&mut block) {
                Some(b) if tail_len <= HEADROOM => {
                    if let Some(dst) = b.get_mut(HEADROOM - tail_len..HEADROOM) {
                        dst.copy_from_slice(tail);
                    }
                    (HEADROOM - tail_len, HEADROOM + n)
                }
                _ => {
                    // A record longer than the headroom spans blocks: join them (rare; the
                    // record's length was capped before it was asked for).
                    let mut joined = Vec::with_capacity(tail_len + n);
                    joined.extend_from_slice(tail);
                    joined.extend_from_slice(block.get(HEADROOM..HEADROOM + n).unwrap_or(&[]));
                    ahead.recycle(block);
                    block = Arc::new(joined);
                    (0, tail_len + n)
                }
            };
            let old = std::mem::replace(&mut self.buf, block);
            ahead.recycle(old);
            self.start = start;
            self.end = end;
        }
        Ok(true)
    }

    /// The current block is held elsewhere: continue in a block only we hold (a retired one
    /// whose holders are done, else a new one of the same size), starting with the bytes not
    /// consumed yet. The old block is retired, not changed.
    fn switch_block(&mut self) {
        let size = self.buf.len();
        let mut fresh = take_unheld(&mut self.spare).unwrap_or_default();
        if let Some(f) = Arc::get_mut(&mut fresh) {
            if f.len() < size {
                f.resize(size, 0);
            }
            let tail = self.buf.get(self.start..self.end).unwrap_or(&[]);
            if let Some(dst) = f.get_mut(..tail.len()) {
                dst.copy_from_slice(tail);
            }
        }
        self.end -= self.start;
        self.start = 0;
        let old = std::mem::replace(&mut self.buf, fresh);
        if self.spare.len() < MAX_SPARE_BLOCKS {
            self.spare.push(old);
        }
    }

    /// Like [`Self::fill`], mapping a short read to `Truncated` and I/O failures to `Io`.
    #[inline]
    fn fill_record(&mut self, need: usize) -> Result<(), CaptureError> {
        if self.end - self.start >= need {
            return Ok(());
        }
        match self.fill_slow(need) {
            Ok(true) => Ok(()),
            Ok(false) => Err(self.rec_error(CaptureErrorKind::Truncated)),
            Err(e) => Err(self.rec_error(CaptureErrorKind::Io(e))),
        }
    }

    /// At a record boundary: `Ok(false)` on clean end of file.
    #[inline]
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
        // The four header fields from one fixed-size copy, byte order decided once.
        let head: Option<[u8; 16]> = self
            .buf
            .get(self.start..self.start + 16)
            .and_then(|h| h.try_into().ok());
        let fields = head.map(|h| {
            let w = |i: usize| -> [u8; 4] {
                h.get(i..i + 4)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 4])
            };
            match endian {
                Endian::Little => (
                    u32::from_le_bytes(w(0)),
                    u32::from_le_bytes(w(4)),
                    u32::from_le_bytes(w(8)),
                    u32::from_le_bytes(w(12)),
                ),
                Endian::Big => (
                    u32::from_be_bytes(w(0)),
                    u32::from_be_bytes(w(4)),
                    u32::from_be_bytes(w(8)),
                    u32::from_be_bytes(w(12)),
                ),
            }
        });
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
        let ts = if u64::from(ts_frac) < per_sec {
            // The usual case: no division needed.
            let scale = if per_sec == 1_000_000 { 1000 } else { 1 };
            Timestamp {
                secs: i64::from(ts_secs),
                nanos: ts_frac * scale,
            }
        } else {
            // Normalises out-of-range fractions (e.g. usec >= 1e6) instead of rejecting them.
            let units = u64::from(ts_secs) * per_sec + u64::from(ts_frac);
            res.to_timestamp(units, 0)
        };
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
                    CaptureErrorKind::BadRecord(
                        "section header with a bad byte-order magic".into(),
                    ),
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
            let block = self.buf.get(self.start..self.start + len).unwrap_or(&[]);
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
                return Err(format!(
                    "more than {MAX_INTERFACES} interfaces in one section"
                ));
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

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;
    use crate::capture::linktype;

    /// Owned copy of a packet, so tests can collect them past the lending borrow.
    #[derive(Debug, Clone, PartialEq)]
    struct Owned {
        ts: Timestamp,
        link_type: u32,
        data: Vec<u8>,
        orig_len: u32,
        interface: u32,
    }

    fn own(p: &Packet<'_>) -> Owned {
        Owned {
            ts: p.ts,
            link_type: p.link_type,
            data: p.data.to_vec(),
            orig_len: p.orig_len,
            interface: p.interface,
        }
    }

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    /// Reads every packet; returns them and the final error, if any. Bounded so a reader that
    /// loops fails the test instead of hanging it.
    fn read_all<R: Read>(r: &mut CaptureReader<R>) -> (Vec<Owned>, Option<CaptureError>) {
        let mut out = Vec::new();
        for _ in 0..10_000 {
            match r.next_packet() {
                Ok(Some(p)) => out.push(own(&p)),
                Ok(None) => return (out, None),
                Err(e) => {
                    // After an error the reader must be finished.
                    assert!(matches!(r.next_packet(), Ok(None)));
                    assert!(matches!(r.next_packet(), Ok(None)));
                    return (out, Some(e));
                }
            }
        }
        panic!("reader did not terminate");
    }

    fn put16(v: &mut Vec<u8>, big: bool, x: u16) {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        });
    }

    fn put32(v: &mut Vec<u8>, big: bool, x: u32) {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        });
    }

    fn put64(v: &mut Vec<u8>, big: bool, x: u64) {
        v.extend_from_slice(&if big {
            x.to_be_bytes()
        } else {
            x.to_le_bytes()
        });
    }

    /// A pcap file; records are (secs, fraction, data, orig_len). Returns the bytes and the
    /// offsets of every record boundary.
    fn pcap(
        big: bool,
        nsec: bool,
        link: u32,
        recs: &[(u32, u32, &[u8], u32)],
    ) -> (Vec<u8>, Vec<usize>) {
        let mut v = Vec::new();
        put32(&mut v, big, if nsec { 0xa1b2_3c4d } else { 0xa1b2_c3d4 });
        put16(&mut v, big, 2);
        put16(&mut v, big, 4);
        put32(&mut v, big, 0);
        put32(&mut v, big, 0);
        put32(&mut v, big, 65535);
        put32(&mut v, big, link);
        let mut bounds = vec![v.len()];
        for &(s, f, d, o) in recs {
            put32(&mut v, big, s);
            put32(&mut v, big, f);
            put32(&mut v, big, d.len() as u32);
            put32(&mut v, big, o);
            v.extend_from_slice(d);
            bounds.push(v.len());
        }
        (v, bounds)
    }

    /// Builds pcapng files block by block, remembering block boundaries.
    struct Ng {
        v: Vec<u8>,
        big: bool,
        bounds: Vec<usize>,
    }

    impl Ng {
        fn new() -> Self {
            Ng {
                v: Vec::new(),
                big: false,
                bounds: Vec::new(),
            }
        }

        fn block(&mut self, btype: u32, body: &[u8]) -> &mut Self {
            let padded = body.len().div_ceil(4) * 4;
            let len = (12 + padded) as u32;
            let big = self.big;
            put32(&mut self.v, big, btype);
            put32(&mut self.v, big, len);
            self.v.extend_from_slice(body);
            self.v.resize(self.v.len() + padded - body.len(), 0);
            put32(&mut self.v, big, len);
            self.bounds.push(self.v.len());
            self
        }

        fn shb(&mut self, big: bool) -> &mut Self {
            self.big = big;
            let mut b = Vec::new();
            put32(&mut b, big, PCAPNG_BOM);
            put16(&mut b, big, 1);
            put16(&mut b, big, 0);
            put64(&mut b, big, u64::MAX);
            self.block(PCAPNG_SHB, &b)
        }

        fn opts(&self, opts: &[(u16, &[u8])]) -> Vec<u8> {
            let mut b = Vec::new();
            for &(code, val) in opts {
                put16(&mut b, self.big, code);
                put16(&mut b, self.big, val.len() as u16);
                b.extend_from_slice(val);
                b.resize(b.len().div_ceil(4) * 4, 0);
            }
            if !opts.is_empty() {
                b.extend_from_slice(&[0; 4]);
            }
            b
        }

        fn idb(&mut self, link: u16, snaplen: u32, opts: &[(u16, &[u8])]) -> &mut Self {
            let mut b = Vec::new();
            put16(&mut b, self.big, link);
            put16(&mut b, self.big, 0);
            put32(&mut b, self.big, snaplen);
            b.extend(self.opts(opts));
            self.block(PCAPNG_IDB, &b)
        }

        fn epb(&mut self, iface: u32, units: u64, data: &[u8], orig: u32) -> &mut Self {
            let mut b = Vec::new();
            put32(&mut b, self.big, iface);
            put32(&mut b, self.big, (units >> 32) as u32);
            put32(&mut b, self.big, units as u32);
            put32(&mut b, self.big, data.len() as u32);
            put32(&mut b, self.big, orig);
            b.extend_from_slice(data);
            b.resize(b.len().div_ceil(4) * 4, 0);
            // An epb_flags option, to check options after the data are skipped.
            b.extend(self.opts(&[(2, &[0, 0, 0, 1])]));
            self.block(PCAPNG_EPB, &b)
        }

        fn pb(&mut self, iface: u16, units: u64, data: &[u8], orig: u32) -> &mut Self {
            let mut b = Vec::new();
            put16(&mut b, self.big, iface);
            put16(&mut b, self.big, 0);
            put32(&mut b, self.big, (units >> 32) as u32);
            put32(&mut b, self.big, units as u32);
            put32(&mut b, self.big, data.len() as u32);
            put32(&mut b, self.big, orig);
            b.extend_from_slice(data);
            self.block(PCAPNG_PB, &b)
        }

        fn spb(&mut self, orig: u32, data: &[u8]) -> &mut Self {
            let mut b = Vec::new();
            put32(&mut b, self.big, orig);
            b.extend_from_slice(data);
            self.block(PCAPNG_SPB, &b)
        }
    }

    /// A `Read` that hands out one byte per call and sometimes reports `Interrupted`.
    struct Trickle<'a> {
        data: &'a [u8],
        calls: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(7) {
                return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
            }
            match (self.data.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.data = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn open(bytes: &[u8]) -> CaptureReader<&[u8]> {
        match CaptureReader::new(bytes) {
            Ok(r) => r,
            Err(e) => panic!("open failed: {e}"),
        }
    }

    fn sample_pcap(big: bool, nsec: bool) -> (Vec<u8>, Vec<usize>) {
        pcap(
            big,
            nsec,
            linktype::ETHERNET,
            &[
                (1_700_000_000, 123_456, b"abcdef", 60),
                (1_700_000_001, 999_999, b"", 0),
                (1_700_000_002, 7, b"0123456789", 10),
            ],
        )
    }

    #[test]
    fn pcap_both_byte_orders_usec_and_nsec() {
        for big in [false, true] {
            for nsec in [false, true] {
                let (bytes, bounds) = sample_pcap(big, nsec);
                let mut r = open(&bytes);
                assert_eq!(r.format(), FileFormat::Pcap);
                assert_eq!(r.offset(), 24);
                let (pkts, err) = read_all(&mut r);
                assert!(err.is_none(), "{big} {nsec}: {err:?}");
                assert_eq!(pkts.len(), 3);
                assert_eq!(r.packets_read(), 3);
                assert_eq!(r.offset(), *bounds.last().unwrap() as u64);
                let mul = if nsec { 1 } else { 1000 };
                assert_eq!(pkts[0].ts, ts(1_700_000_000, 123_456 * mul));
                assert_eq!(pkts[1].ts, ts(1_700_000_001, 999_999 * mul));
                assert_eq!(pkts[0].data, b"abcdef");
                assert_eq!(pkts[0].orig_len, 60);
                assert_eq!(pkts[0].link_type, linktype::ETHERNET);
                assert_eq!(pkts[0].interface, 0);
                assert!(pkts[1].data.is_empty());
                assert_eq!(pkts[2].data, b"0123456789");
            }
        }
    }

    #[test]
    fn pcap_link_type_masks_fcs_bits_and_normalises_fraction() {
        // FCS present, 4 bytes: bits 28 (F) and 26..=27 (length) set above LINKTYPE_IPV6.
        let link = 229 | (1 << 28) | (2 << 26);
        let (bytes, _) = pcap(false, false, link, &[(10, 2_500_000, b"x", 1)]);
        let mut r = open(&bytes);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.link_type, linktype::IPV6);
        assert_eq!(p.ts, ts(12, 500_000_000));
    }

    #[test]
    fn pcapng_interfaces_resolutions_and_block_types() {
        let mut ng = Ng::new();
        ng.shb(false)
            .idb(1, 0, &[]) // Ethernet, default microseconds
            .idb(229, 96, &[(OPT_IF_TSRESOL, &[9]), (2, b"eth1")]) // IPv6, nanoseconds
            .idb(
                101,
                0,
                &[
                    (OPT_IF_TSRESOL, &[0x80 | 10]),
                    (OPT_IF_TSOFFSET, &100u64.to_le_bytes()),
                ],
            )
            .epb(0, 1_700_000_000_123_456, b"first", 5)
            .block(0x0000_0BAD, b"custom block") // unknown/custom: skipped
            .block(5, &[0; 16]) // ISB: skipped
            .epb(1, 1_700_000_001_000_000_007, b"second!", 1500)
            .epb(2, 5 * 1024 + 512, b"third", 5)
            .pb(1, 42, b"obsolete", 8)
            .spb(4, b"spb!")
            // Second section, other byte order: interfaces are reset.
            .shb(true)
            .idb(113, 3, &[])
            .spb(10, b"0123456789ab")
            .epb(0, 2_000_000, b"be", 2);
        let bytes = ng.v.clone();
        let mut r = open(&bytes);
        assert_eq!(r.format(), FileFormat::Pcapng);
        let (p, err) = read_all(&mut r);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(p.len(), 7);
        assert_eq!(r.offset(), bytes.len() as u64);

        assert_eq!((p[0].link_type, p[0].interface), (1, 0));
        assert_eq!(p[0].ts, ts(1_700_000_000, 123_456_000));
        assert_eq!(p[0].data, b"first");

        assert_eq!((p[1].link_type, p[1].interface), (229, 1));
        assert_eq!(p[1].ts, ts(1_700_000_001, 7));
        assert_eq!(
            (p[1].data.as_slice(), p[1].orig_len),
            (&b"second!"[..], 1500)
        );

        assert_eq!((p[2].link_type, p[2].interface), (101, 2));
        assert_eq!(p[2].ts, ts(105, 500_000_000));

        assert_eq!((p[3].link_type, p[3].interface), (229, 1));
        assert_eq!(p[3].ts, ts(0, 42));
        assert_eq!(p[3].data, b"obsolete");

        // SPB: interface 0, no timestamp, captured = min(orig_len, room).
        assert_eq!((p[4].link_type, p[4].interface), (1, 0));
        assert_eq!(p[4].ts, Timestamp::default());
        assert_eq!((p[4].data.as_slice(), p[4].orig_len), (&b"spb!"[..], 4));

        // Big-endian section: SPB cut by snaplen 3; EPB on the new interface 0.
        assert_eq!((p[5].link_type, p[5].data.as_slice()), (113, &b"012"[..]));
        assert_eq!(p[5].orig_len, 10);
        assert_eq!((p[6].link_type, p[6].interface), (113, 0));
        assert_eq!(p[6].ts, ts(2, 0));
        assert_eq!(p[6].data, b"be");
    }

    #[test]
    fn timestamp_resolutions_do_not_overflow() {
        assert_eq!(TsRes::Pow10(0).to_timestamp(u64::MAX, 0).secs, i64::MAX);
        assert_eq!(TsRes::Pow10(3).to_timestamp(1_234, -1), ts(0, 234_000_000));
        assert_eq!(TsRes::Pow10(19).to_timestamp(u64::MAX, 0).secs, 1);
        assert_eq!(
            TsRes::Pow10(20).to_timestamp(u64::MAX, 0),
            ts(0, 184_467_440)
        );
        assert_eq!(TsRes::Pow10(127).to_timestamp(u64::MAX, 0), ts(0, 0));
        assert_eq!(TsRes::Pow2(0).to_timestamp(7, i64::MAX), ts(i64::MAX, 0));
        assert_eq!(TsRes::Pow2(64).to_timestamp(1 << 63, 0), ts(0, 500_000_000));
        assert_eq!(TsRes::Pow2(127).to_timestamp(u64::MAX, 0), ts(0, 0));
        for e in 0..=127u8 {
            for units in [0, 1, 999_999_999, u64::MAX] {
                for res in [TsRes::Pow10(e), TsRes::Pow2(e)] {
                    assert!(res.to_timestamp(units, i64::MIN).nanos < 1_000_000_000);
                }
            }
        }
    }

    /// Cutting a valid file anywhere gives the packets before the cut and then either a clean
    /// end (cut on a record boundary) or `Truncated`; never a panic or a loop.
    fn check_every_truncation(bytes: &[u8], header_end: usize, bounds: &[usize]) {
        let (full, err) = read_all(&mut open(bytes));
        assert!(err.is_none());
        for cut in 0..=bytes.len() {
            let part = &bytes[..cut];
            let mut r = match CaptureReader::new(part) {
                Ok(r) => r,
                Err(e) if cut < 4 => {
                    assert!(
                        matches!(
                            (cut, &e.kind),
                            (0, CaptureErrorKind::Empty) | (1.., CaptureErrorKind::NotACapture)
                        ),
                        "{cut}: {e}"
                    );
                    continue;
                }
                Err(e) => {
                    assert!(cut < header_end, "cut {cut}: {e}");
                    assert!(matches!(e.kind, CaptureErrorKind::Truncated), "{cut}: {e}");
                    assert_eq!((e.offset, e.packet), (0, 0));
                    continue;
                }
            };
            assert!(cut >= header_end, "cut {cut} opened");
            let (pkts, err) = read_all(&mut r);
            assert_eq!(pkts[..], full[..pkts.len()], "cut {cut}");
            match err {
                None => assert!(bounds.contains(&cut), "cut {cut} ended cleanly"),
                Some(e) => {
                    assert!(!bounds.contains(&cut), "cut {cut}: {e}");
                    assert!(matches!(e.kind, CaptureErrorKind::Truncated), "{cut}: {e}");
                    let rec = bounds.iter().rev().find(|&&b| b < cut).copied();
                    assert_eq!(Some(e.offset as usize), rec, "cut {cut}");
                    assert_eq!(e.packet, pkts.len() as u64 + 1);
                }
            }
        }
    }

    #[test]
    fn pcap_truncated_at_every_offset() {
        let (bytes, bounds) = sample_pcap(true, false);
        check_every_truncation(&bytes, 24, &bounds);
    }

    #[test]
    fn pcapng_truncated_at_every_offset() {
        let mut ng = Ng::new();
        ng.shb(false)
            .idb(1, 0, &[(OPT_IF_TSRESOL, &[9])])
            .epb(0, 5, b"hello", 5)
            .block(4, &[0; 8])
            .spb(3, b"abc")
            .shb(true)
            .idb(229, 0, &[])
            .epb(0, 6, b"world", 5);
        let header_end = ng.bounds[0];
        check_every_truncation(&ng.v, header_end, &ng.bounds);
    }

    #[test]
    fn huge_lengths_are_rejected_without_allocating() {
        let (mut bytes, _) = pcap(false, false, 1, &[(1, 2, b"ok", 2), (3, 4, b"abcd", 4)]);
        // Second record's caplen -> 0xFFFFFFFF.
        let caplen_at = 24 + 16 + 2 + 8;
        bytes[caplen_at..caplen_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let mut r = open(&bytes);
        assert!(r.next_packet().unwrap().is_some());
        let e = r.next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::BadRecord(_)), "{e}");
        assert_eq!((e.offset, e.packet), (42, 2));
        assert!(r.buf.len() <= INITIAL_BUFFER);
        assert!(r.next_packet().unwrap().is_none());
        let msg = e.to_string();
        assert!(
            msg.starts_with("invalid record at byte offset 42 (packet 2): "),
            "{msg}"
        );

        // pcapng block lengths: huge, not a multiple of 4, too small, trailer mismatch.
        for (bad, trailer) in [(0xFFFF_FFF0u32, false), (34, false), (8, false), (36, true)] {
            let mut ng = Ng::new();
            ng.shb(false).idb(1, 0, &[]);
            let off = ng.v.len();
            ng.epb(0, 1, b"abcd", 4);
            let mut v = ng.v.clone();
            let at = if trailer { v.len() - 4 - off } else { 4 };
            v[off + at..off + at + 4].copy_from_slice(&bad.to_le_bytes());
            let mut r = open(&v);
            let e = r.next_packet().unwrap_err();
            assert!(
                matches!(e.kind, CaptureErrorKind::BadRecord(_)),
                "{bad}: {e}"
            );
            assert_eq!((e.offset, e.packet), (off as u64, 1));
            assert!(r.buf.len() <= INITIAL_BUFFER);
            assert!(r.next_packet().unwrap().is_none());
        }
    }

    #[test]
    fn plausible_length_in_short_file_does_not_allocate_it() {
        // A valid-looking 15 MiB block length in a small truncated file: Truncated, and the
        // buffer grows only with the data actually read.
        let mut ng = Ng::new();
        ng.shb(false).idb(1, 0, &[]);
        let off = ng.v.len();
        ng.epb(0, 1, &[7; 300], 300);
        ng.v[off + 4..off + 8].copy_from_slice(&(15u32 << 20).to_le_bytes());
        let mut r = CaptureReader::with_buffer_size(&ng.v[..], 64).unwrap();
        let e = r.next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::Truncated), "{e}");
        assert_eq!(e.offset, off as u64);
        assert!(r.buf.len() <= 1024, "{}", r.buf.len());
    }

    #[test]
    fn pcapng_bad_records() {
        // EPB naming an interface without an IDB.
        let mut ng = Ng::new();
        ng.shb(false).idb(1, 0, &[]).epb(1, 1, b"x", 1);
        let e = open(&ng.v).next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::BadRecord(_)), "{e}");
        // SPB before any IDB.
        let mut ng = Ng::new();
        ng.shb(false).spb(1, b"x");
        let e = open(&ng.v).next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::BadRecord(_)), "{e}");
        // EPB captured length larger than its block.
        let mut ng = Ng::new();
        ng.shb(false).idb(1, 0, &[]);
        let off = ng.v.len();
        ng.epb(0, 1, b"abcd", 4);
        ng.v[off + 20..off + 24].copy_from_slice(&1000u32.to_le_bytes());
        let e = open(&ng.v).next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::BadRecord(_)), "{e}");
        // Interfaces of a previous section are gone after a new SHB.
        let mut ng = Ng::new();
        ng.shb(false).idb(1, 0, &[]).shb(true).epb(0, 1, b"x", 1);
        let e = open(&ng.v).next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::BadRecord(_)), "{e}");
    }

    #[test]
    fn not_a_capture() {
        for bytes in [
            &b"\xa1\xb2"[..],
            b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
            b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00NOPE and some more bytes here......",
        ] {
            let Err(e) = CaptureReader::new(bytes) else {
                panic!("accepted {bytes:?}");
            };
            assert!(matches!(e.kind, CaptureErrorKind::NotACapture), "{e}");
            assert_eq!(e.to_string(), "not a pcap or pcapng file");
        }
    }

    /// No byte at all is an empty file, not an unknown magic number (issue 20).
    #[test]
    fn empty_input_is_empty_not_unknown_magic() {
        let Err(e) = CaptureReader::new(&b""[..]) else {
            panic!("accepted an empty input");
        };
        assert!(matches!(e.kind, CaptureErrorKind::Empty), "{e}");
        assert_eq!(e.to_string(), "empty file");
    }

    #[test]
    fn records_larger_than_the_buffer() {
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let (bytes, _) = pcap(
            false,
            true,
            1,
            &[
                (1, 1, b"small", 5),
                (2, 2, &big, 200_000),
                (3, 3, b"after", 5),
            ],
        );
        let mut r = CaptureReader::with_buffer_size(&bytes[..], 64 * 1024).unwrap();
        let (p, err) = read_all(&mut r);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].data, big);
        assert_eq!(p[2].data, b"after");

        // pcapng: a 2 MiB packet with the default buffer.
        let huge: Vec<u8> = (0..2_000_003u32).map(|i| (i * 7) as u8).collect();
        let mut ng = Ng::new();
        ng.shb(true)
            .idb(1, 0, &[])
            .epb(0, 1, b"a", 1)
            .epb(0, 2, &huge, 2_000_003)
            .epb(0, 3, b"b", 1);
        let mut r = open(&ng.v);
        let (p, err) = read_all(&mut r);
        assert!(err.is_none(), "{err:?}");
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].data, huge);
        assert_eq!(p[2].data, b"b");
    }

    #[test]
    fn one_byte_reads() {
        let (pcap_bytes, _) = sample_pcap(false, true);
        let mut ng = Ng::new();
        ng.shb(false)
            .idb(1, 0, &[])
            .epb(0, 1, b"one", 3)
            .block(99, b"unknown")
            .shb(true)
            .idb(229, 0, &[])
            .epb(0, 2, b"two", 3);
        for bytes in [pcap_bytes, ng.v.clone()] {
            let (expect, err) = read_all(&mut open(&bytes));
            assert!(err.is_none());
            let trickle = Trickle {
                data: &bytes,
                calls: 0,
            };
            let mut r = CaptureReader::new(trickle).unwrap();
            let (got, err) = read_all(&mut r);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got, expect);
            assert!(!got.is_empty());
        }
    }

    /// A pcap of `n` records of varied sizes, some larger than the read-ahead headroom (so a
    /// record cut by a block boundary must be joined), several MiB in all.
    fn varied_pcap(n: u32) -> Vec<u8> {
        let datas: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let len = match i % 7 {
                    0 => 262_144,
                    1 => 0,
                    2 => 1,
                    _ => (i as usize * 7919) % 1600,
                };
                (0..len).map(|j| (j as u32 ^ i) as u8).collect()
            })
            .collect();
        let recs: Vec<(u32, u32, &[u8], u32)> = datas
            .iter()
            .enumerate()
            .map(|(i, d)| (i as u32, 0, d.as_slice(), d.len() as u32))
            .collect();
        pcap(false, false, 1, &recs).0
    }

    #[test]
    fn read_ahead_gives_the_same_packets_and_keeps_held_blocks_intact() {
        let bytes = varied_pcap(120);
        assert!(bytes.len() > 4 * AHEAD_CHUNK, "{}", bytes.len());
        let (want, err) = read_all(&mut open(&bytes));
        assert!(err.is_none());
        let mut r = CaptureReader::read_ahead(io::Cursor::new(bytes.clone())).unwrap();
        // Hold every block a packet came from, with the packet's place in it, as `--workers`
        // batches do; the reader must never write into a held block.
        let mut held: Vec<(Block, usize, usize)> = Vec::new();
        while let Some((p, block)) = r.next_packet_in_block().unwrap() {
            let at = p.data.as_ptr() as usize - block.as_ptr() as usize;
            held.push((Arc::clone(block), at, p.data.len()));
        }
        assert_eq!(held.len(), want.len());
        for ((block, at, len), w) in held.iter().zip(&want) {
            assert_eq!(&block[*at..at + len], &w.data[..]);
        }
        // Unheld, the same packets.
        let mut r = CaptureReader::read_ahead(io::Cursor::new(bytes)).unwrap();
        let (got, err) = read_all(&mut r);
        assert!(err.is_none());
        assert!(got == want);
    }

    #[test]
    fn read_ahead_truncation_and_errors() {
        let bytes = varied_pcap(40);
        let (want, _) = read_all(&mut open(&bytes));
        // Cut at a sample of offsets, headers and data, across blocks.
        for cut in (0..bytes.len())
            .step_by(99_991)
            .chain([24, 25, 39, 40, bytes.len() - 1])
        {
            let part = bytes[..cut].to_vec();
            let reference = CaptureReader::new(&part[..]).map(|mut r| read_all(&mut r));
            let ahead = CaptureReader::read_ahead(io::Cursor::new(part.clone()))
                .map(|mut r| read_all(&mut r));
            match (reference, ahead) {
                (Ok((a, ea)), Ok((b, eb))) => {
                    assert!(a == b, "cut {cut}");
                    let show = |e: Option<CaptureError>| e.map(|e| e.to_string());
                    assert_eq!(show(ea), show(eb), "cut {cut}");
                }
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "cut {cut}"),
                (a, b) => panic!("cut {cut}: {:?} vs {:?}", a.err(), b.err()),
            }
        }
        // An I/O error after some blocks: the packets before it, then the error.
        struct FailAfter(io::Cursor<Vec<u8>>, usize);
        impl Read for FailAfter {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.position() as usize >= self.1 {
                    return Err(io::Error::other("disk on fire"));
                }
                let room = (self.1 - self.0.position() as usize).min(buf.len());
                self.0.read(&mut buf[..room])
            }
        }
        let fail_at = bytes.len() * 3 / 4;
        assert!(fail_at > AHEAD_CHUNK, "past the first block");
        let mut r = CaptureReader::read_ahead(FailAfter(io::Cursor::new(bytes), fail_at)).unwrap();
        let (got, err) = read_all(&mut r);
        let err = err.expect("the error is reported");
        assert!(matches!(err.kind, CaptureErrorKind::Io(_)), "{err}");
        assert!(err.offset <= fail_at as u64);
        assert!(!got.is_empty() && got.len() < want.len());
        assert!(got[..] == want[..got.len()]);
    }

    #[test]
    fn io_errors_are_reported() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let (bytes, _) = sample_pcap(false, false);
                let rest = bytes.get(self.0..).unwrap_or(&[]);
                if rest.is_empty() || self.0 >= 30 {
                    return Err(io::Error::other("disk on fire"));
                }
                let n = rest.len().min(buf.len()).min(30 - self.0);
                buf[..n].copy_from_slice(&rest[..n]);
                self.0 += n;
                Ok(n)
            }
        }
        let mut r = CaptureReader::new(Failing(0)).unwrap();
        let e = r.next_packet().unwrap_err();
        assert!(matches!(e.kind, CaptureErrorKind::Io(_)), "{e}");
        assert_eq!((e.offset, e.packet), (24, 1));
        assert!(std::error::Error::source(&e).is_some());
        assert!(r.next_packet().unwrap().is_none());
    }

    #[test]
    fn garbage_never_panics() {
        // Cheap deterministic fuzzing: flip bytes of valid files and read to the end.
        let mut ng = Ng::new();
        ng.shb(false)
            .idb(
                1,
                0,
                &[(OPT_IF_TSRESOL, &[0x85]), (OPT_IF_TSOFFSET, &[1; 8])],
            )
            .epb(0, 1, b"hello", 5)
            .spb(3, b"abc")
            .pb(0, 2, b"pb", 2);
        let (pc, _) = sample_pcap(true, true);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for base in [ng.v.clone(), pc] {
            for _ in 0..3000 {
                let mut v = base.clone();
                for _ in 0..3 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let i = (seed as usize) % v.len();
                    v[i] = (seed >> 40) as u8;
                }
                if let Ok(mut r) = CaptureReader::with_buffer_size(&v[..], 64) {
                    let _ = read_all(&mut r);
                    assert!(r.buf.len() <= 2 * v.len());
                }
            }
        }
    }
}
