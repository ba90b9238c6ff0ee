//! The reading loop and the per-packet stages: expand inputs, read each capture, and hand
//! each packet to a [`PacketHandler`]: the stages in the reader's thread ([`InThread`],
//! `--workers 1`) or the dispatcher to workers (`crate::parallel`). Detection hands its
//! records to a [`RecordSink`]; nothing here formats or writes.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, mpsc};
use std::time::Duration;

use flate2::read::MultiGzDecoder;

use crate::capture::Packet;
use crate::capture::clock::PacketClock;
use crate::capture::file::{Block, CaptureError, CaptureErrorKind, CaptureReader};
use crate::decode::{Decoded, Decoder, L4Proto, SkipReason};
use crate::detect::Detector;
use crate::flow::{AppEvent, AppSink, FlowTable, Pending};
use crate::identity::IdentityFeed;
use crate::record::counters::{Counters, ReadCounters, StatsSnapshot};
use crate::record::{FlowMeta, PacketAt, RecordSink};

mod inputs;

pub use inputs::{Input, Inputs, MAX_DEPTH};

/// What the reader counted, and what went wrong, for the summary and the exit status. The
/// stages' counters come from the handler ([`PacketHandler::counters`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanStats {
    /// Inputs, packets and bytes read; kernel counters (live).
    pub read: ReadCounters,
    /// Files in scanned directories skipped because they are not captures.
    pub files_not_captures: u64,
    /// Directories reached again (a symlink loop, or a second path to one), not walked again.
    pub dirs_repeated: u64,
    /// Files reached again (a symlink, a hard link, named twice), not read again.
    pub files_repeated: u64,
    /// Inputs whose reading stopped because the output failed (neither read nor failed).
    pub files_unfinished: u64,
    /// One line per error, as printed.
    pub errors: Vec<String>,
    /// The signal (SIGTERM, SIGINT) that stopped the scan early, if one did.
    pub stopped_by: Option<i32>,
}

/// Number of the stop signal received (0: none yet); set by the handlers of
/// [`install_stop_handlers`], read between packets.
static STOP: LazyLock<Arc<AtomicUsize>> = LazyLock::new(|| Arc::new(AtomicUsize::new(0)));

/// Make SIGTERM and SIGINT stop the scan between two packets (the caller then flushes what was
/// made and exits); a second signal while stopping ends the process at once.
pub fn install_stop_handlers() -> io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    for sig in [SIGTERM, SIGINT] {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&flag))?;
        signal_hook::flag::register(sig, flag)?;
        signal_hook::flag::register_usize(sig, Arc::clone(&STOP), sig as usize)?;
    }
    Ok(())
}

/// The stop signal received so far, if any.
pub fn stop_signal() -> Option<i32> {
    match STOP.load(Ordering::Relaxed) {
        0 => None,
        sig => i32::try_from(sig).ok(),
    }
}

/// gzip's magic number; a gzip-compressed capture is decompressed on the fly.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

fn fail(stats: &mut ScanStats, line: String) {
    print_line(&format!("vendorwatch: {line}"));
    stats.errors.push(line);
}

/// How the reader prints a line on stderr (an error, a skipped file): set by a progress
/// display ([`set_line_printer`]) so that it clears itself first and no line is drawn over.
static LINE_PRINTER: std::sync::OnceLock<fn(&str)> = std::sync::OnceLock::new();

/// Print the reader's stderr lines through `printer` from now on (once per process).
pub fn set_line_printer(printer: fn(&str)) {
    let _ = LINE_PRINTER.set(printer);
}

/// One line on stderr, through the printer set with [`set_line_printer`].
fn print_line(line: &str) {
    match LINE_PRINTER.get() {
        Some(print) => print(line),
        None => eprintln!("{line}"),
    }
}

/// A progress display fed by the reading loop (`scan --progress`). It is told when each input
/// starts and asked whether a redraw is due every [`TICK_PACKETS`] packets (in the branch
/// the tick already takes, so the packet loop gains no work); only when it says yes are the
/// stages' counters gathered for it.
pub trait Progress {
    /// Input `name` starts; `size` is its length in bytes when it is a regular file (the
    /// compressed length of a gzip file: positions count the file's own bytes).
    fn input(&mut self, name: &str, size: Option<u64>);
    /// True when a redraw is due (a clock read, a few times a second at most).
    fn due(&mut self) -> bool;
    /// Redraw: `position` bytes of the current input read, the reader's counters, the
    /// alerts so far.
    fn update(&mut self, position: u64, read: &ReadCounters, alerts: u64);
}

/// Called every [`TICK_PACKETS`] packets and after each input with the counters so far
/// (the metrics endpoint).
pub type Tick<'a> = &'a mut dyn FnMut(&StatsSnapshot);

/// Packets between two calls of the tick (and one after each input).
pub const TICK_PACKETS: u64 = 64;

/// Scan every input in order, as [`Inputs`] expands them, handing each packet to `handler`
/// (the stages in this thread, or the dispatcher to the workers of `--workers N`). Errors are
/// printed as they happen and counted; the scan goes on with the next input. Returns early
/// only when the output has failed (nothing more could be written) or a stop signal came.
pub fn scan<'t, H: PacketHandler>(
    inputs: &mut Inputs,
    handler: &mut H,
    stats: &mut ScanStats,
    tick: Option<Tick<'t>>,
    progress: Option<&'t mut dyn Progress>,
) {
    let mut reader = Reader {
        handler,
        tick,
        progress,
        started: std::time::Instant::now(),
    };
    scan_inputs(inputs, &mut reader, stats);
}

/// What workers that read their own capture (`fed`) read so far, for the driver.
#[derive(Debug, Default, Clone)]
pub struct FedReport {
    /// Packets, bytes, packet-time anomalies and the kernel's counters, summed over workers.
    pub read: ReadCounters,
    /// Lines for interfaces lost since the last report (each once, whichever worker saw it).
    pub lost: Vec<String>,
    /// Interfaces still capturing (on any worker).
    pub alive: usize,
}

/// Where the reader hands each packet: the stages in the reader's own thread
/// ([`InThread`], `--workers 1`), or the dispatcher to worker threads
/// (`crate::parallel::Dispatcher`).
pub trait PacketHandler {
    /// Handle one packet; `Err` says why it was not decoded (the reader reports an unknown
    /// link type once per input). Skips are counted by whoever decodes.
    fn handle(&mut self, packet: &Packet<'_>, pcap_cnt: u64) -> Result<(), SkipReason>;
    /// Name of the capture now being read (EVE `pcap_filename`; empty for live capture).
    fn set_pcap_filename(&mut self, name: &str);
    /// The reader's block that the next packets lie in (see [`Block`]), called when it
    /// changes; `None` when packets have no shared block (live capture). Lets `--workers`
    /// pass packets as offsets instead of copying them.
    fn set_block(&mut self, _block: Option<&Block>) {}
    /// True once output has failed: the reader stops.
    fn failed(&self) -> bool;
    /// No packet is waiting (live capture): push out what is buffered, take up reloaded rules.
    fn idle(&mut self) {}
    /// Write a `stats` record in order with the alerts (counters already gathered).
    fn write_stats(&mut self, snapshot: &StatsSnapshot);
    /// Counters of the stages so far, summed over workers.
    fn counters(&self) -> Counters;
    /// Wait (bounded) until every packet handed so far is processed, so counters read next
    /// count them all (workers); nothing to wait for in the reader's thread.
    fn drain(&mut self, _packets: u64) {}
    /// The input (file, or live capture) ended: decide what the flow layer still holds
    /// (connections to resolved addresses not yet decided), see [`finish_input`]. Workers
    /// do the same when their input changes and when they stop.
    fn end_input(&mut self) {}
    /// Workers that read their own capture (`crate::fed`): what they read so far and the
    /// interfaces they lost. None when the driver reads the packets and hands them here.
    fn fed_report(&mut self) -> Option<FedReport> {
        None
    }
}

/// Gather the reader's and the stages' counters into one `stats` snapshot.
pub fn snapshot<H: PacketHandler + ?Sized>(
    handler: &H,
    read: &ReadCounters,
    started: std::time::Instant,
) -> StatsSnapshot {
    StatsSnapshot {
        uptime_secs: started.elapsed().as_secs(),
        read: *read,
        counters: handler.counters(),
    }
}

/// The handler and the tick, as the reading loop sees them.
struct Reader<'h, 't, H: PacketHandler> {
    handler: &'h mut H,
    tick: Option<Tick<'t>>,
    progress: Option<&'t mut dyn Progress>,
    started: std::time::Instant,
}

impl<H: PacketHandler> Reader<'_, '_, H> {
    fn tick(&mut self, stats: &ScanStats) {
        if let Some(tick) = self.tick.as_mut() {
            let snap = snapshot(&*self.handler, &stats.read, self.started);
            tick(&snap);
        }
    }

    /// Feed the progress display, when there is one and it is due: `position` bytes of the
    /// current input read.
    fn progress(&mut self, position: u64, stats: &ScanStats) {
        if let Some(p) = self.progress.as_mut()
            && p.due()
        {
            let alerts = self.handler.counters().detect.alerts;
            p.update(position, &stats.read, alerts);
        }
    }
}

/// The stages run in the reader's thread: the single-threaded path, packet order kept.
pub struct InThread<'a, S: RecordSink> {
    /// The stages.
    pub stages: &'a mut Stages,
    /// Where records go.
    pub sink: &'a mut S,
}

impl<S: RecordSink> PacketHandler for InThread<'_, S> {
    #[inline]
    fn handle(&mut self, packet: &Packet<'_>, pcap_cnt: u64) -> Result<(), SkipReason> {
        self.stages.handle(packet, pcap_cnt, self.sink)
    }

    fn set_pcap_filename(&mut self, name: &str) {
        self.sink.begin_input(name);
        self.stages.detector.start_capture();
    }

    fn end_input(&mut self) {
        finish_input(&mut self.stages.flows, &mut self.stages.detector, self.sink);
        self.sink.flush();
    }

    fn failed(&self) -> bool {
        self.sink.failed()
    }

    fn idle(&mut self) {
        self.stages.take_reloaded_rules();
        self.sink.flush();
    }

    fn write_stats(&mut self, snapshot: &StatsSnapshot) {
        self.sink.stats(snapshot);
        self.sink.flush();
    }

    fn counters(&self) -> Counters {
        self.stages.counters()
    }
}

/// The per-packet stages and their state: one set per worker, built by
/// `crate::engine::Engine::stages`.
pub struct Stages {
    /// Link layers, tunnels, IP reassembly.
    pub decoder: Decoder,
    /// TCP flows and first-flight reassembly.
    pub flows: FlowTable,
    /// Matching, alerts, inventory.
    pub detector: Detector,
    /// Packets not decoded, by [`SkipReason::index`].
    pub skipped: [u64; SkipReason::ALL.len()],
    /// Where reloaded rules are published (SIGHUP), and the generation this set holds.
    pub rules: Arc<crate::rules::RulesSlot>,
    /// Generation of the rules the detector holds.
    pub rules_generation: u64,
    /// Feeds the identity table from each packet; `None` when another thread feeds it (the
    /// dispatcher of `--workers N`, which takes it: see `crate::identity`).
    pub identity: Option<IdentityFeed>,
}

impl Stages {
    /// Decode one packet and run it down the stages; records go to `sink`.
    #[inline]
    pub fn handle(
        &mut self,
        packet: &Packet<'_>,
        pcap_cnt: u64,
        sink: &mut dyn RecordSink,
    ) -> Result<(), SkipReason> {
        match self
            .decoder
            .decode(packet.link_type, packet.data, packet.ts)
        {
            Ok(decoded) => {
                if let Some(feed) = &mut self.identity {
                    feed.observe(&decoded, packet.ts);
                }
                let at = PacketAt {
                    ts: packet.ts,
                    pcap_cnt,
                    iface: packet.interface,
                };
                process(&decoded, &at, &mut self.flows, &mut self.detector, sink);
                Ok(())
            }
            Err(reason) => {
                self.skipped[reason.index()] += 1;
                Err(reason)
            }
        }
    }

    /// Take up rules a reload published since this set last looked (between batches).
    pub fn take_reloaded_rules(&mut self) {
        if let Some(rules) = self.rules.take_newer(&mut self.rules_generation) {
            self.detector.set_rules(rules);
        }
    }

    /// The stages' counters now, with the suppression and identity tables' (shared by every
    /// worker: a dispatcher sums [`Stages::counters_without_suppression`] and adds the tables
    /// once).
    pub fn counters(&self) -> Counters {
        let mut c = self.counters_without_suppression();
        c.suppress = self
            .detector
            .suppressor()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats();
        c.identity = self
            .detector
            .identity()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .stats();
        c
    }

    /// The stages' own counters, without the shared suppression table's.
    pub fn counters_without_suppression(&self) -> Counters {
        Counters {
            decode: self.decoder.stats(),
            skipped: self.skipped,
            flow: self.flows.stats,
            quic: self.flows.quic.stats(),
            detect: self.detector.stats,
            answers: self.detector.resolved.stats,
            suppress: Default::default(),
            identity: Default::default(),
            active_flows: self.flows.len() as u64,
        }
    }
}

/// Generic over the handler so the per-packet call is direct (and inlined for [`InThread`]).
fn scan_inputs<H: PacketHandler>(
    inputs: &mut Inputs,
    out: &mut Reader<'_, '_, H>,
    stats: &mut ScanStats,
) {
    loop {
        let Some(input) = inputs.next_input(stats) else {
            // Expanded to the end, or stopped in the middle of a directory walk.
            stats.stopped_by = stop_signal();
            return;
        };
        let name = input.display_name();
        if let Some(p) = out.progress.as_mut() {
            let size = match &input {
                Input::File(path) => std::fs::metadata(path)
                    .ok()
                    .filter(std::fs::Metadata::is_file)
                    .map(|m| m.len()),
                Input::Stdin => None,
            };
            p.input(&name, size);
        }
        out.handler.set_pcap_filename(&name);
        let errors_before = stats.errors.len();
        let ok = match &input {
            Input::Stdin => scan_stream(&name, StdinPump::spawn(), out, stats),
            Input::File(path) => match File::open(path) {
                Ok(file) if is_large_plain_file(&file) => {
                    scan_capture(&name, CaptureReader::read_ahead(file), None, out, stats)
                }
                Ok(file) => scan_stream(&name, file, out, stats),
                Err(e) => {
                    fail(stats, format!("{name}: cannot open: {e}"));
                    false
                }
            },
        };
        // Connections to resolved addresses still undecided are decided at the input's end.
        out.handler.end_input();
        if let Some(sig) = stop_signal() {
            // Stopped in the middle of this input: not a damaged file.
            stats.stopped_by = Some(sig);
            return;
        }
        if ok {
            stats.read.files_ok += 1;
        } else if out.handler.failed() && stats.errors.len() == errors_before {
            // Reading stopped because the output failed: the output is to blame (its error
            // is reported by the caller), not this input.
            stats.files_unfinished += 1;
        } else {
            stats.read.files_failed += 1;
        }
        out.tick(stats);
        if out.handler.failed() {
            return;
        }
    }
}

/// Standard input read by a helper thread, so that a stop signal is seen even while no data
/// comes (a blocked read would not return: signal handlers restart it).
struct StdinPump {
    chunks: mpsc::Receiver<io::Result<Vec<u8>>>,
    current: Vec<u8>,
    used: usize,
}

impl StdinPump {
    fn spawn() -> Self {
        let (tx, chunks) = mpsc::sync_channel(4);
        std::thread::spawn(move || {
            let mut stdin = io::stdin().lock();
            loop {
                let mut chunk = vec![0u8; 64 * 1024];
                let msg = match stdin.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => {
                        chunk.truncate(n);
                        Ok(chunk)
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                let last = msg.is_err();
                if tx.send(msg).is_err() || last {
                    break;
                }
            }
        });
        StdinPump {
            chunks,
            current: Vec::new(),
            used: 0,
        }
    }
}

impl Read for StdinPump {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.used >= self.current.len() {
            if stop_signal().is_some() {
                return Err(io::Error::other("stopped by a signal"));
            }
            match self.chunks.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => {
                    self.current = chunk?;
                    self.used = 0;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(0),
            }
        }
        let rest = self.current.get(self.used..).unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.used += n;
        Ok(n)
    }
}

/// Counts the bytes read through it, to say where in a gzip file the damage was found.
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Files smaller than this are read in the scan's thread: for a few blocks, starting a thread
/// and its blocks costs more than the overlap saves (think of a directory of many small
/// captures).
const READ_AHEAD_MIN_BYTES: u64 = 2 << 20;

/// A regular file of [`READ_AHEAD_MIN_BYTES`] or more that does not start with gzip's magic
/// number (left at its start): read ahead by a thread ([`CaptureReader::read_ahead`]). Pipes,
/// devices, small and gzip files are read in this thread ([`scan_stream`]).
fn is_large_plain_file(file: &File) -> bool {
    use std::io::{Seek, SeekFrom};
    if !file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() >= READ_AHEAD_MIN_BYTES)
    {
        return false;
    }
    let mut magic = [0u8; 2];
    let mut reader = file;
    let gzip = reader.read_exact(&mut magic).is_ok() && magic == GZIP_MAGIC;
    reader.seek(SeekFrom::Start(0)).is_ok() && !gzip
}

/// Scan one input, decompressing it first when it starts with gzip's magic number.
fn scan_stream<R: Read, H: PacketHandler>(
    name: &str,
    reader: R,
    out: &mut Reader<'_, '_, H>,
    stats: &mut ScanStats,
) -> bool {
    let mut reader = BufReader::new(reader);
    let gzip = matches!(reader.fill_buf(), Ok(head) if head.starts_with(&GZIP_MAGIC));
    if !gzip {
        return scan_reader(name, reader, None, out, stats);
    }
    let compressed = Rc::new(Cell::new(0));
    let counted = Counting {
        inner: reader,
        count: Rc::clone(&compressed),
    };
    scan_reader(
        name,
        MultiGzDecoder::new(counted),
        Some(&compressed),
        out,
        stats,
    )
}

/// The error line for a capture that could not be read; `compressed` counts the gzip bytes
/// read so far when the input is gzip-compressed.
fn capture_error_line(name: &str, e: &CaptureError, compressed: Option<&Cell<u64>>) -> String {
    match (&e.kind, compressed) {
        (CaptureErrorKind::NotACapture, None) => {
            format!("{name}: not a pcap or pcapng file (unknown magic number)")
        }
        (CaptureErrorKind::NotACapture, Some(_)) => format!(
            "{name}: gzip-compressed, but not a pcap or pcapng file inside (unknown magic number)"
        ),
        (CaptureErrorKind::Empty, None) => format!("{name}: empty file"),
        (CaptureErrorKind::Empty, Some(_)) => {
            format!("{name}: gzip-compressed, but empty inside")
        }
        (CaptureErrorKind::Io(io), Some(count)) => {
            let packet = if e.packet > 0 {
                format!(", packet {}", e.packet)
            } else {
                String::new()
            };
            format!(
                "{name}: damaged gzip data at or before compressed byte offset {} (decompressed byte offset {}{packet}): {io}",
                count.get(),
                e.offset
            )
        }
        (_, Some(_)) => format!("{name}: decompressed data: {e}"),
        (_, None) => format!("{name}: {e}"),
    }
}

/// Scan one capture stream; false if it could not be read to its end (or a stop signal came).
fn scan_reader<R: Read, H: PacketHandler>(
    name: &str,
    reader: R,
    compressed: Option<&Cell<u64>>,
    out: &mut Reader<'_, '_, H>,
    stats: &mut ScanStats,
) -> bool {
    scan_capture(name, CaptureReader::new(reader), compressed, out, stats)
}

/// Scan one opened capture; false if it could not be read to its end (or a stop signal came).
fn scan_capture<R: Read, H: PacketHandler>(
    name: &str,
    capture: Result<CaptureReader<R>, CaptureError>,
    compressed: Option<&Cell<u64>>,
    out: &mut Reader<'_, '_, H>,
    stats: &mut ScanStats,
) -> bool {
    let mut capture = match capture {
        Ok(c) => c,
        Err(e) => {
            if stop_signal().is_none() {
                fail(stats, capture_error_line(name, &e, compressed));
            }
            return false;
        }
    };
    let ok = read_packets(name, &mut capture, compressed, out, stats);
    out.handler.set_block(None);
    ok
}

/// Hand every packet of `capture` to `out`; false if it could not be read to its end.
fn read_packets<R: Read, H: PacketHandler>(
    name: &str,
    capture: &mut CaptureReader<R>,
    compressed: Option<&Cell<u64>>,
    out: &mut Reader<'_, '_, H>,
    stats: &mut ScanStats,
) -> bool {
    // Link types already reported as unsupported in this file (a handful at most).
    let mut reported_link_types: Vec<u32> = Vec::new();
    let mut ok = true;
    let mut pcap_cnt = 0u64;
    // Each capture keeps its own time: files of different days are not jumps.
    let mut clock = PacketClock::default();
    // The block the handler was last told about, by address.
    let mut block_at: *const Vec<u8> = std::ptr::null();
    loop {
        if stop_signal().is_some() {
            return false;
        }
        let packet = match capture.next_packet_in_block() {
            Ok(Some((p, block))) => {
                if !std::ptr::eq(Arc::as_ptr(block), block_at) {
                    block_at = Arc::as_ptr(block);
                    out.handler.set_block(Some(block));
                }
                p
            }
            Ok(None) => break,
            Err(e) => {
                if stop_signal().is_none() {
                    fail(stats, capture_error_line(name, &e, compressed));
                }
                ok = false;
                break;
            }
        };
        stats.read.packets += 1;
        stats.read.bytes += u64::from(packet.orig_len);
        stats.read.count_time(clock.step(packet.ts));
        pcap_cnt += 1;
        if let Err(reason) = out.handler.handle(&packet, pcap_cnt)
            && reason == SkipReason::UnknownLinkType
            && !reported_link_types.contains(&packet.link_type)
        {
            reported_link_types.push(packet.link_type);
            fail(
                stats,
                format!(
                    "{name}: packet {pcap_cnt}: unknown link type {} (packets of this type are counted, not decoded)",
                    packet.link_type
                ),
            );
            ok = false;
        }
        if pcap_cnt.is_multiple_of(TICK_PACKETS) {
            out.tick(stats);
            let position = compressed.map_or_else(|| capture.offset(), Cell::get);
            out.progress(position, stats);
        }
        if out.handler.failed() {
            return false;
        }
    }
    ok
}

/// The stages after decoding, for one packet: UDP straight to detection, TCP through the flow
/// table, which hands complete messages (reassembled when needed) to detection. The packet's
/// [`FlowMeta`] is built only when something needs it (a message to look at, a record to
/// make), not for every packet. Callers call [`finish_input`] at the end of each input.
pub fn process(
    pkt: &Decoded<'_>,
    at: &PacketAt,
    flows: &mut FlowTable,
    detector: &mut Detector,
    out: &mut dyn RecordSink,
) {
    detector.on_connection(pkt, at, out);
    detector.on_packet(pkt, at, out);
    match pkt.proto {
        L4Proto::Udp => {
            flows.quic.on_udp(pkt, at.ts, |version, hello| {
                detector.on_quic_hello(version, hello, &FlowMeta::at(pkt, at), out)
            });
        }
        L4Proto::Tcp => {
            let mut sink = DetectSink {
                detector,
                packet: Some((pkt, at)),
                meta: None,
                out,
            };
            flows.on_tcp(pkt, at.ts, &mut sink);
        }
    }
}

/// The end of an input: TCP connections to resolved addresses that have not shown a name yet
/// are decided without one (`resolved-ip`, reported with each flow's latest packet).
pub fn finish_input(flows: &mut FlowTable, detector: &mut Detector, out: &mut dyn RecordSink) {
    let mut sink = DetectSink {
        detector,
        packet: None,
        meta: None,
        out,
    };
    flows.drain(&mut sink);
}

/// The flow layer's sink: extracted messages and resolved-address candidates to detection.
struct DetectSink<'a, 'p> {
    detector: &'a mut Detector,
    /// The current packet (none at the end of an input).
    packet: Option<(&'p Decoded<'p>, &'p PacketAt)>,
    /// Its facts, built on first use.
    meta: Option<FlowMeta>,
    out: &'a mut dyn RecordSink,
}

impl DetectSink<'_, '_> {
    /// The current packet's facts (built once, when first needed).
    fn meta(&mut self) -> Option<FlowMeta> {
        if self.meta.is_none() {
            let (pkt, at) = self.packet?;
            self.meta = Some(FlowMeta::at(pkt, at));
        }
        self.meta
    }
}

impl AppSink for DetectSink<'_, '_> {
    fn on_app(&mut self, event: AppEvent<'_>) {
        let Some(meta) = self.meta() else {
            return;
        };
        match event {
            AppEvent::Tls(hello) => self.detector.on_client_hello(&hello, &meta, self.out),
            AppEvent::Http(req) => self.detector.on_http(&req, &meta, self.out),
            AppEvent::Dns(msg) => self.detector.on_dns(msg, &meta, self.out),
        }
    }

    fn new_flow(&mut self, server_is_src: bool) -> Option<Box<Pending>> {
        let (pkt, at) = self.packet?;
        self.detector.tcp_candidate(pkt, at, server_is_src)
    }

    fn touch(&mut self, pending: &mut Pending) {
        if let Some((_, at)) = self.packet {
            pending.meta.ts = at.ts;
            pending.meta.pcap_cnt = at.pcap_cnt;
        }
    }

    fn unnamed(&mut self, pending: Box<Pending>, by_packet: bool) {
        let at = if by_packet { self.meta() } else { None };
        self.detector
            .resolved_unnamed(&pending, at.as_ref(), self.out);
    }
}
