//! `--workers N` (N > 1): one reader, N workers, one output thread.
//!
//! ```text
//! reader ──(batches, bounded)──> worker 0..N ──(EVE bytes, bounded)──> output thread ──> sink
//!    ^                                 │
//!    └──────────(empty batches)────────┘
//! ```
//!
//! - The reader picks a worker per packet with [`decode::dispatch_hash`]: the decoder's own
//!   stateless walk (tunnels included) down to the innermost 5-tuple, hashed symmetrically so
//!   both directions of a flow meet on one worker; a fragment is hashed on its IP pair only.
//!   Decoding twice (here and in the worker) costs the reader a header walk per packet; in
//!   exchange every tunnel the decoder knows is hashed on its inner flow with no second parser.
//! - Packets go to workers in batches (up to [`BATCH_PACKETS`] packets) sent over a bounded
//!   channel per worker. Packets read from a capture are not copied: the batch holds a clone
//!   of the reader's [`Block`] and each packet's offset in it (the reader moves to another
//!   block rather than overwrite one a batch holds). Live packets are copied into the batch
//!   (up to [`BATCH_BYTES`] bytes). Workers hand emptied batches back, and the reader reuses
//!   them: after warm-up no batch is allocated.
//! - Each worker owns its own [`Stages`] (decoder with its reassembly, flow table, detector)
//!   and an [`EveWriter`] over a [`ChunkSink`]: records are serialized in the worker, and the
//!   bytes of each batch go to the output thread as one chunk. Chunks always end on a record
//!   boundary. Records of different workers interleave in arrival order, not packet order;
//!   within a flow (one worker) the order is kept. `--workers 1` does not come here: the
//!   stages run in the reader's thread and the output order is the packet order.
//! - At the end the reader flushes its batches and closes the channels; each worker drains,
//!   flushes, and returns its stages; counters and inventories are merged.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::capture::file::Block;
use crate::capture::{Packet, Timestamp};
use crate::decode::{self, DecodeStats, DecoderConfig, SkipReason};
use crate::detect::inventory::Inventory;
use crate::detect::suppress::Suppressor;
use crate::detect::{DetectStats, FlowMeta};
use crate::flow::FlowStats;
use crate::output::eve::EveWriter;
use crate::pipeline::{Counters, PacketHandler, ScanStats, Stages, finish_input, process};
use crate::sigs::RuleSet;

/// Most packets in one batch.
pub const BATCH_PACKETS: usize = 256;
/// Most packet bytes in one batch.
pub const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued per worker before the reader waits (live: the kernel buffer then fills and
/// libpcap counts drops).
pub const QUEUE_BATCHES: usize = 8;

/// Signatures reloaded by SIGHUP, picked up by every [`Stages`] between batches.
pub static RULES: RulesSlot = RulesSlot {
    generation: AtomicU64::new(0),
    rules: Mutex::new(None),
};

/// The latest reloaded rule set and its generation.
pub struct RulesSlot {
    generation: AtomicU64,
    rules: Mutex<Option<RuleSet>>,
}

impl RulesSlot {
    /// Publish a new rule set to every worker.
    pub fn publish(&self, rules: RuleSet) {
        let mut slot = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        *slot = Some(rules);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The newest rules when newer than `seen` (then `seen` is updated): one atomic load when
    /// nothing changed.
    pub fn take_newer(&self, seen: &mut u64) -> Option<RuleSet> {
        let generation = self.generation.load(Ordering::Acquire);
        if generation == *seen {
            return None;
        }
        *seen = generation;
        let slot = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        slot.clone()
    }

    /// Generation now (a new [`Stages`] starts from it).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[derive(Clone, Copy)]
struct BatchPacket {
    ts: Timestamp,
    link_type: u32,
    orig_len: u32,
    pcap_cnt: u64,
    start: usize,
    len: usize,
}

/// Packets for one worker: offsets into `block` (the reader's) when it has one, else into
/// `data`, where the reader copied them.
pub struct Batch {
    data: Vec<u8>,
    block: Option<Block>,
    packets: Vec<BatchPacket>,
    pcap_filename: Arc<str>,
}

impl Batch {
    fn new() -> Self {
        Batch {
            data: Vec::with_capacity(BATCH_BYTES),
            block: None,
            packets: Vec::with_capacity(BATCH_PACKETS),
            pcap_filename: Arc::from(""),
        }
    }

    fn clear(&mut self) {
        self.data.clear();
        self.block = None;
        self.packets.clear();
    }

    fn fits(&self, len: usize) -> bool {
        self.packets.len() < BATCH_PACKETS
            && (self.block.is_some()
                || self.data.is_empty()
                || self.data.len() + len <= BATCH_BYTES)
    }

    /// The bytes packet offsets point into.
    fn bytes(&self) -> &[u8] {
        match &self.block {
            Some(b) => b,
            None => &self.data,
        }
    }
}

/// Where `data` sits in `block`, when it is a slice of it.
fn offset_in(block: &[u8], data: &[u8]) -> Option<usize> {
    let base = block.as_ptr() as usize;
    let start = (data.as_ptr() as usize).checked_sub(base)?;
    (start.checked_add(data.len())? <= block.len()).then_some(start)
}

/// Free byte buffers for chunks, shared by workers (take) and the output thread (give back).
type Pool = Arc<Mutex<Vec<Vec<u8>>>>;

/// A worker's EVE sink: collects bytes, and on `flush` sends them to the output thread as one
/// chunk (the worker flushes between batches, so a chunk never splits a record).
pub struct ChunkSink {
    current: Vec<u8>,
    tx: SyncSender<Vec<u8>>,
    pool: Pool,
}

impl Write for ChunkSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.current.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let fresh = self
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let chunk = std::mem::replace(&mut self.current, fresh);
        self.tx
            .send(chunk)
            .map_err(|_| io::Error::other("output thread has stopped"))
    }
}

/// What a worker gives back at the end.
pub struct WorkerResult {
    /// Its stages (inventory, counters).
    pub stages: Stages,
    /// Packets it could not decode, by reason.
    pub skipped: [u64; SkipReason::ALL.len()],
    /// EVE records it wrote.
    pub records: u64,
    /// Its output error, if any.
    pub error: Option<io::Error>,
}

struct Worker {
    tx: Option<SyncSender<Batch>>,
    current: Option<Batch>,
    counters: Arc<Mutex<Counters>>,
    handle: Option<JoinHandle<WorkerResult>>,
}

/// The reader's side of `--workers N`: a [`PacketHandler`] that batches packets to workers.
pub struct Dispatcher {
    workers: Vec<Worker>,
    free_rx: Receiver<Batch>,
    decoder_config: DecoderConfig,
    pcap_filename: Arc<str>,
    /// The suppression table the workers share (its counter is reported once, here).
    suppress: Option<Arc<Mutex<Suppressor>>>,
    /// The reader's block the current packets lie in.
    block: Option<Block>,
    out_tx: Option<SyncSender<Vec<u8>>>,
    pool: Pool,
    output: Option<JoinHandle<io::Result<()>>>,
    output_failed: Arc<AtomicBool>,
    lines_written: u64,
}

impl Dispatcher {
    /// Start `make_stages().len()` workers and the output thread writing to `sink`.
    pub fn start(
        stages: Vec<Stages>,
        decoder_config: DecoderConfig,
        sink: Box<dyn Write + Send>,
        configure: Arc<dyn Fn(&mut EveWriter) + Send + Sync>,
    ) -> io::Result<Self> {
        let n = stages.len();
        let mut stages = stages;
        // One suppression table for all workers (the first worker's settings).
        let suppress = stages
            .first_mut()
            .map(|first| Arc::new(Mutex::new(std::mem::take(&mut first.detector.suppress))));
        for s in &mut stages {
            s.detector.shared_suppress.clone_from(&suppress);
        }
        let pool: Pool = Arc::new(Mutex::new(Vec::new()));
        let (out_tx, out_rx) = mpsc::sync_channel::<Vec<u8>>(n * 4);
        let output_failed = Arc::new(AtomicBool::new(false));
        let output = {
            let pool = Arc::clone(&pool);
            let failed = Arc::clone(&output_failed);
            std::thread::Builder::new()
                .name("vw-output".into())
                .spawn(move || output_loop(out_rx, sink, pool, failed))?
        };
        let (free_tx, free_rx) = mpsc::channel::<Batch>();
        let mut workers = Vec::with_capacity(n);
        for (i, stages) in stages.into_iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE_BATCHES);
            let counters = Arc::new(Mutex::new(Counters::default()));
            let sink = ChunkSink {
                current: Vec::new(),
                tx: out_tx.clone(),
                pool: Arc::clone(&pool),
            };
            let free = free_tx.clone();
            let shared = Arc::clone(&counters);
            let configure = Arc::clone(&configure);
            let handle = std::thread::Builder::new()
                .name(format!("vw-worker-{i}"))
                .spawn(move || {
                    let mut out = EveWriter::new(Box::new(sink));
                    configure(&mut out);
                    worker_loop(rx, free, stages, out, shared)
                })?;
            workers.push(Worker {
                tx: Some(tx),
                current: None,
                counters,
                handle: Some(handle),
            });
        }
        Ok(Dispatcher {
            workers,
            free_rx,
            decoder_config,
            pcap_filename: Arc::from(""),
            suppress,
            block: None,
            out_tx: Some(out_tx),
            pool,
            output: Some(output),
            output_failed,
            lines_written: 0,
        })
    }

    fn send(&mut self, i: usize) {
        let worker = &mut self.workers[i];
        let Some(batch) = worker.current.take() else {
            return;
        };
        if batch.packets.is_empty() {
            worker.current = Some(batch);
            return;
        }
        let sent = worker.tx.as_ref().map(|tx| tx.send(batch));
        if !matches!(sent, Some(Ok(()))) {
            // The worker has died (a panic): stop reading; `finish` reports it.
            self.output_failed.store(true, Ordering::Relaxed);
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.workers.len() {
            self.send(i);
        }
    }

    /// Flush every batch, wait for the workers and the output thread; the workers' results
    /// and the output's first error.
    pub fn finish(mut self) -> (Vec<WorkerResult>, io::Result<()>) {
        self.flush_all();
        for w in &mut self.workers {
            w.tx = None;
        }
        let mut results = Vec::new();
        let mut error: Option<io::Error> = None;
        for w in &mut self.workers {
            match w.handle.take().map(JoinHandle::join) {
                Some(Ok(mut r)) => {
                    if let Some(e) = r.error.take() {
                        error.get_or_insert(e);
                    }
                    results.push(r);
                }
                _ => {
                    error.get_or_insert(io::Error::other("a worker thread panicked"));
                }
            }
        }
        self.out_tx = None;
        let out = match self.output.take().map(JoinHandle::join) {
            Some(Ok(r)) => r,
            _ => Err(io::Error::other("the output thread panicked")),
        };
        let result = match (out, error) {
            (Err(e), _) => Err(e),
            (Ok(()), Some(e)) => Err(e),
            (Ok(()), None) => Ok(()),
        };
        (results, result)
    }

    /// Send every batch and wait (at most 5 s) until the workers have handled `packets`
    /// packets, so a `stats` record written next counts them all.
    pub fn drain(&mut self, packets: u64) {
        self.flush_all();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let c = self.counters();
            if c.decode.decoded + c.skipped >= packets {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }

    /// Stats lines written through the dispatcher (not counted by any worker).
    pub fn lines_written(&self) -> u64 {
        self.lines_written
    }
}

impl PacketHandler for Dispatcher {
    fn handle(
        &mut self,
        packet: &Packet<'_>,
        pcap_cnt: u64,
        _stats: &mut ScanStats,
    ) -> Result<(), SkipReason> {
        let n = self.workers.len();
        let hash = decode::dispatch_hash(&self.decoder_config, packet.link_type, packet.data);
        let i = (hash % n as u64) as usize;
        let len = packet.data.len();
        let in_block = match self.block.as_deref().map(|b| offset_in(b, packet.data)) {
            Some(None) => {
                // Not in the block the reader named (cannot happen): copy from here on.
                self.flush_all();
                self.block = None;
                None
            }
            Some(at) => at,
            None => None,
        };
        if let Some(b) = &self.workers[i].current
            && !b.fits(len)
        {
            self.send(i);
        }
        let worker = &mut self.workers[i];
        let batch = worker.current.get_or_insert_with(|| {
            let mut b = self.free_rx.try_recv().unwrap_or_else(|_| Batch::new());
            b.clear();
            b.pcap_filename = Arc::clone(&self.pcap_filename);
            b.block = self.block.clone();
            b
        });
        let start = match in_block {
            Some(at) => at,
            None => {
                let start = batch.data.len();
                batch.data.extend_from_slice(packet.data);
                start
            }
        };
        batch.packets.push(BatchPacket {
            ts: packet.ts,
            link_type: packet.link_type,
            orig_len: packet.orig_len,
            pcap_cnt,
            start,
            len,
        });
        if decode::link_type_supported(packet.link_type) {
            Ok(())
        } else {
            Err(SkipReason::UnknownLinkType)
        }
    }

    fn set_block(&mut self, block: Option<&Block>) {
        // A batch's offsets are into one block (or its own bytes): send what points into the
        // old one. The reader then refills only blocks no batch holds.
        self.flush_all();
        self.block = block.cloned();
    }

    fn set_pcap_filename(&mut self, name: &str) {
        if &*self.pcap_filename != name {
            // A batch never spans two files.
            self.flush_all();
            self.pcap_filename = Arc::from(name);
        }
    }

    fn failed(&self) -> bool {
        self.output_failed.load(Ordering::Relaxed)
    }

    fn idle(&mut self) {
        self.flush_all();
    }

    fn write_line(&mut self, line: &[u8]) {
        let mut chunk = self
            .pool
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        chunk.extend_from_slice(line);
        chunk.push(b'\n');
        if let Some(tx) = &self.out_tx
            && tx.send(chunk).is_ok()
        {
            self.lines_written += 1;
        }
    }

    fn counters(&self) -> Counters {
        let mut total = Counters::default();
        for w in &self.workers {
            let c = *w.counters.lock().unwrap_or_else(|e| e.into_inner());
            merge_counters(&mut total, &c);
        }
        if let Some(table) = &self.suppress {
            total.suppressed += table.lock().unwrap_or_else(|e| e.into_inner()).suppressed;
        }
        total
    }
}

fn worker_loop(
    rx: Receiver<Batch>,
    free: Sender<Batch>,
    mut stages: Stages,
    mut out: EveWriter,
    counters: Arc<Mutex<Counters>>,
) -> WorkerResult {
    let mut stats = ScanStats::default();
    let mut filename: Arc<str> = Arc::from("");
    while let Ok(mut batch) = rx.recv() {
        if let Some(rules) = RULES.take_newer(&mut stages.rules_generation) {
            stages.detector.set_rules(rules);
        }
        if !Arc::ptr_eq(&filename, &batch.pcap_filename) {
            if !filename.is_empty() {
                // The previous input ended: decide what its flows still hold.
                finish_input(&mut stages.flows, &mut stages.detector, &mut out);
            }
            filename = Arc::clone(&batch.pcap_filename);
            out.set_pcap_filename(&filename);
            stages.detector.start_capture();
        }
        let bytes = batch.bytes();
        for p in &batch.packets {
            let Some(data) = p
                .start
                .checked_add(p.len)
                .and_then(|end| bytes.get(p.start..end))
            else {
                continue;
            };
            let Stages {
                decoder,
                flows,
                detector,
                ..
            } = &mut stages;
            match decoder.decode(p.link_type, data, p.ts) {
                Ok(decoded) => {
                    let meta = FlowMeta::new(&decoded, p.ts, p.pcap_cnt);
                    process(&decoded, &meta, flows, detector, &mut out);
                }
                Err(reason) => stats.skipped[reason.index()] += 1,
            }
            let _ = p.orig_len;
        }
        let _ = out.flush_buffer();
        {
            let mut c = counters.lock().unwrap_or_else(|e| e.into_inner());
            *c = stages.counters();
            c.skipped = stats.skipped.iter().sum();
        }
        batch.clear();
        let _ = free.send(batch);
    }
    finish_input(&mut stages.flows, &mut stages.detector, &mut out);
    let records = out.records();
    let error = out.finish().err();
    WorkerResult {
        stages,
        skipped: stats.skipped,
        records,
        error,
    }
}

fn output_loop(
    rx: Receiver<Vec<u8>>,
    sink: Box<dyn Write + Send>,
    pool: Pool,
    failed: Arc<AtomicBool>,
) -> io::Result<()> {
    let mut sink = io::BufWriter::with_capacity(256 * 1024, sink);
    let mut error: Option<io::Error> = None;
    loop {
        let chunk = match rx.try_recv() {
            Ok(c) => c,
            Err(mpsc::TryRecvError::Empty) => {
                // Nothing waiting: push what is buffered out before sleeping.
                if error.is_none()
                    && let Err(e) = sink.flush()
                {
                    failed.store(true, Ordering::Relaxed);
                    error = Some(e);
                }
                match rx.recv() {
                    Ok(c) => c,
                    Err(_) => break,
                }
            }
            Err(mpsc::TryRecvError::Disconnected) => break,
        };
        if error.is_none()
            && let Err(e) = sink.write_all(&chunk)
        {
            failed.store(true, Ordering::Relaxed);
            error = Some(e);
        }
        let mut chunk = chunk;
        chunk.clear();
        let mut free = pool.lock().unwrap_or_else(|e| e.into_inner());
        if free.len() < 64 {
            free.push(chunk);
        }
    }
    match error {
        Some(e) => Err(e),
        None => sink.flush(),
    }
}

/// Add decoder counters.
pub fn merge_decode(total: &mut DecodeStats, s: &DecodeStats) {
    total.decoded += s.decoded;
    total.tunnelled += s.tunnelled;
    total.reassembled += s.reassembled;
    let (t, d) = (&mut total.defrag, &s.defrag);
    t.fragments += d.fragments;
    t.reassembled += d.reassembled;
    t.overlaps += d.overlaps;
    t.expired += d.expired;
    t.evicted += d.evicted;
    t.dropped += d.dropped;
}

/// Add flow-table counters (the peak is the largest of the workers'). Taken apart field by
/// field, so a counter added later must be merged here to compile.
pub fn merge_flow(total: &mut FlowStats, s: &FlowStats) {
    let FlowStats {
        flows_created,
        evicted_idle,
        evicted_cap,
        closed,
        reasm_refused,
        first_flight_limit_hit,
        segments_buffered,
        overlap_bytes,
        reasm_peak_bytes,
        reassembled,
    } = *s;
    total.flows_created += flows_created;
    total.evicted_idle += evicted_idle;
    total.evicted_cap += evicted_cap;
    total.closed += closed;
    total.reasm_refused += reasm_refused;
    total.first_flight_limit_hit += first_flight_limit_hit;
    total.segments_buffered += segments_buffered;
    total.overlap_bytes += overlap_bytes;
    total.reasm_peak_bytes = total.reasm_peak_bytes.max(reasm_peak_bytes);
    total.reassembled += reassembled;
}

/// Add QUIC counters.
pub fn merge_quic(total: &mut crate::flow::quic::QuicStats, s: &crate::flow::quic::QuicStats) {
    total.datagrams += s.datagrams;
    total.initials += s.initials;
    total.undecryptable += s.undecryptable;
    total.client_hellos += s.client_hellos;
    total.frame_errors += s.frame_errors;
    total.frames_dropped += s.frames_dropped;
    let (t, a) = (&mut total.assembly, &s.assembly);
    t.connections += a.connections;
    t.completed += a.completed;
    t.retransmitted += a.retransmitted;
    t.evicted += a.evicted;
    t.expired += a.expired;
    t.overflow += a.overflow;
}

/// Add detection counters. The struct is taken apart field by field, so a counter added
/// later fails to compile here until it is merged too.
pub fn merge_detect(total: &mut DetectStats, s: &DetectStats) {
    let DetectStats {
        dns_messages,
        dns_invalid,
        client_hellos,
        quic_hellos,
        http_requests,
        alerts,
        hits_dropped,
    } = *s;
    total.dns_messages += dns_messages;
    total.dns_invalid += dns_invalid;
    total.client_hellos += client_hellos;
    total.quic_hellos += quic_hellos;
    total.http_requests += http_requests;
    total.alerts += alerts;
    total.hits_dropped += hits_dropped;
}

/// Add one worker's counters.
pub fn merge_counters(total: &mut Counters, c: &Counters) {
    merge_decode(&mut total.decode, &c.decode);
    merge_flow(&mut total.flow, &c.flow);
    merge_detect(&mut total.detect, &c.detect);
    total.skipped += c.skipped;
    total.active_flows += c.active_flows;
    total.suppressed += c.suppressed;
}

/// Everything the summary needs, merged over workers.
pub struct Merged {
    /// Detection counters.
    pub detect: DetectStats,
    /// Hosts that alerted.
    pub inventory: Inventory,
    /// EVE records written by the workers.
    pub records: u64,
    /// Suppression counters, summed.
    pub suppress: Suppressor,
}

/// Merge the workers' results into `stats` (skips, decoder and flow counters) and return the
/// detection side.
pub fn merge_results(results: Vec<WorkerResult>, stats: &mut ScanStats) -> Merged {
    let mut merged = Merged {
        detect: DetectStats::default(),
        inventory: Inventory::default(),
        records: 0,
        suppress: Suppressor::default(),
    };
    let mut first = true;
    for r in results {
        for (t, s) in stats.skipped.iter_mut().zip(r.skipped) {
            *t += s;
        }
        merge_decode(&mut stats.decode, &r.stages.decoder.stats());
        merge_flow(&mut stats.flow, &r.stages.flows.stats);
        merge_quic(&mut stats.quic, &r.stages.flows.quic.stats());
        let a = r.stages.detector.resolved.stats;
        stats.answers.remembered += a.remembered;
        stats.answers.evicted += a.evicted;
        stats.answers.hits += a.hits;
        merge_detect(&mut merged.detect, &r.stages.detector.stats);
        merged.inventory.merge(r.stages.detector.inventory);
        merged.records += r.records;
        // Every worker holds the table `Dispatcher::start` shared out: take it once.
        if first && let Some(shared) = r.stages.detector.shared_suppress {
            let mut table = shared.lock().unwrap_or_else(|e| e.into_inner());
            merged.suppress = std::mem::take(&mut *table);
        }
        first = false;
    }
    merged
}
