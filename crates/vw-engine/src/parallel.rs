//! `--workers N` (N > 1): one reader, N workers, each with its own record sink.
//!
//! ```text
//! reader ──(batches, bounded)──> worker 0..N ──records──> RecordSink (per worker)
//!    ^                                 │
//!    └──────────(empty batches)────────┘
//! ```
//!
//! - The reader picks a worker per packet with [`decode::dispatch`]: the decoder's own
//!   stateless walk (tunnels included) down to the innermost 5-tuple, hashed symmetrically so
//!   both directions of a flow meet on one worker; a fragment is hashed on its IP pair only.
//!   From the same decoded packet the reader feeds the identity table (`crate::identity`), in
//!   packet order, before the packet goes to its worker.
//! - Packets go to workers in batches (up to [`BATCH_PACKETS`] packets) sent over a bounded
//!   channel per worker. Packets read from a capture are not copied: the batch holds a clone
//!   of the reader's [`Block`] and each packet's offset in it (the reader moves to another
//!   block rather than overwrite one a batch holds). Live packets are copied into the batch
//!   (up to [`BATCH_BYTES`] bytes). Workers hand emptied batches back, and the reader reuses
//!   them: after warm-up no batch is allocated.
//! - Each worker owns its own [`Stages`] (decoder with its reassembly, flow table, detector)
//!   and a [`RecordSink`] the caller made for it (the binary gives each a formatter that
//!   forwards to the output hub's thread). After each batch the worker flushes its sink and
//!   takes up reloaded rules. Records of different workers interleave in arrival order, not
//!   packet order; within a flow (one worker) the order is kept.
//! - At the end the reader flushes its batches and closes the channels; each worker drains,
//!   decides what its flows hold, flushes, and returns its stages.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::capture::file::Block;
use crate::capture::{Packet, Timestamp};
use crate::decode::{self, DecoderConfig, SkipReason};
use crate::detect::suppress::Suppressor;
use crate::identity::{IdentityFeed, IdentityTable};
use crate::pipeline::{PacketHandler, Stages, finish_input};
use crate::record::RecordSink;
use crate::record::counters::{Counters, StatsSnapshot};

/// Most packets in one batch.
pub const BATCH_PACKETS: usize = 256;
/// Most packet bytes in one batch.
pub const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued per worker before the reader waits (live: the kernel buffer then fills and
/// libpcap counts drops).
pub const QUEUE_BATCHES: usize = 8;

#[derive(Clone, Copy)]
struct BatchPacket {
    ts: Timestamp,
    link_type: u32,
    orig_len: u32,
    pcap_cnt: u64,
    interface: u32,
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

/// A worker's record sink.
pub type WorkerSink = Box<dyn RecordSink + Send>;

/// What a worker gives back at the end.
pub struct WorkerResult {
    /// Its stages (inventory, counters).
    pub stages: Stages,
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
    /// The suppression table the workers share (its counters are reported once, here).
    suppress: Arc<Mutex<Suppressor>>,
    /// The reader's block the current packets lie in.
    block: Option<Block>,
    /// The reader's own sink, for `stats` records.
    reader_sink: WorkerSink,
    /// A worker died: stop reading.
    worker_lost: Arc<AtomicBool>,
    /// Feeds the identity table in packet order, before a packet goes to its worker (taken
    /// from the first worker's stages; the workers feed nothing): see `crate::identity`.
    identity: Option<IdentityFeed>,
    /// The identity table the workers share (its counters are reported once, here).
    identity_table: Arc<Mutex<IdentityTable>>,
}

impl Dispatcher {
    /// Start one worker per set of stages, each writing to the sink `make_sink` gives it;
    /// `reader_sink` takes the `stats` records the reader writes.
    pub fn start(
        mut stages: Vec<Stages>,
        decoder_config: DecoderConfig,
        mut make_sink: impl FnMut(usize) -> WorkerSink,
        reader_sink: WorkerSink,
    ) -> io::Result<Self> {
        let suppress = shared_suppressor(&stages);
        let identity_table = shared_identity(&stages);
        let mut identity = None;
        for s in &mut stages {
            identity = identity.or(s.identity.take());
        }
        let (free_tx, free_rx) = mpsc::channel::<Batch>();
        let worker_lost = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(stages.len());
        for (i, stages) in stages.into_iter().enumerate() {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE_BATCHES);
            let counters = Arc::new(Mutex::new(Counters::default()));
            let free = free_tx.clone();
            let shared = Arc::clone(&counters);
            let sink = make_sink(i);
            let handle = std::thread::Builder::new()
                .name(format!("vw-worker-{i}"))
                .spawn(move || worker_loop(rx, free, stages, sink, shared))?;
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
            reader_sink,
            worker_lost,
            identity,
            identity_table,
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
            self.worker_lost.store(true, Ordering::Relaxed);
        }
    }

    fn flush_all(&mut self) {
        for i in 0..self.workers.len() {
            self.send(i);
        }
    }

    /// Flush every batch and wait for the workers; their results, or an error when one
    /// panicked.
    pub fn finish(mut self) -> io::Result<Vec<WorkerResult>> {
        self.flush_all();
        self.reader_sink.flush();
        for w in &mut self.workers {
            w.tx = None;
        }
        join_all(self.workers.iter_mut().map(|w| w.handle.take()))
    }
}

impl PacketHandler for Dispatcher {
    fn handle(&mut self, packet: &Packet<'_>, pcap_cnt: u64) -> Result<(), SkipReason> {
        let n = self.workers.len();
        let (hash, decoded) = decode::dispatch(&self.decoder_config, packet.link_type, packet.data);
        if let (Some(feed), Some(d)) = (&mut self.identity, &decoded) {
            feed.observe(d, packet.ts);
        }
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
            interface: packet.interface,
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
        self.worker_lost.load(Ordering::Relaxed) || self.reader_sink.failed()
    }

    fn idle(&mut self) {
        self.flush_all();
    }

    fn write_stats(&mut self, snapshot: &StatsSnapshot) {
        self.reader_sink.stats(snapshot);
        self.reader_sink.flush();
    }

    fn counters(&self) -> Counters {
        sum_counters(
            self.workers
                .iter()
                .map(|w| *w.counters.lock().unwrap_or_else(|e| e.into_inner())),
            &self.suppress,
            &self.identity_table,
        )
    }

    /// Send every batch and wait (at most 5 s) until the workers have handled `packets`
    /// packets, so a `stats` record written next counts them all.
    fn drain(&mut self, packets: u64) {
        self.flush_all();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            let c = self.counters();
            if c.decode.decoded + c.not_decoded() >= packets {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
}

/// Wait for every worker thread; their results, or an error when one panicked.
pub(crate) fn join_all(
    handles: impl Iterator<Item = Option<JoinHandle<WorkerResult>>>,
) -> io::Result<Vec<WorkerResult>> {
    let mut results = Vec::new();
    let mut lost = false;
    for handle in handles {
        match handle.map(JoinHandle::join) {
            Some(Ok(r)) => results.push(r),
            _ => lost = true,
        }
    }
    if lost {
        return Err(io::Error::other("a worker thread panicked"));
    }
    Ok(results)
}

/// The suppression table the workers' stages share (made by one engine).
pub(crate) fn shared_suppressor(stages: &[Stages]) -> Arc<Mutex<Suppressor>> {
    match stages.first() {
        Some(s) => Arc::clone(s.detector.suppressor()),
        None => Arc::default(),
    }
}

/// The identity table the workers' stages share (made by one engine).
pub(crate) fn shared_identity(stages: &[Stages]) -> Arc<Mutex<IdentityTable>> {
    match stages.first() {
        Some(s) => Arc::clone(s.detector.identity()),
        None => Arc::default(),
    }
}

/// The workers' counters summed, with the suppression and identity tables' (shared: counted
/// once).
pub(crate) fn sum_counters(
    workers: impl Iterator<Item = Counters>,
    suppress: &Mutex<Suppressor>,
    identity: &Mutex<IdentityTable>,
) -> Counters {
    let mut total = Counters::default();
    for c in workers {
        total += c;
    }
    total.suppress = suppress.lock().unwrap_or_else(|e| e.into_inner()).stats();
    total.identity = identity.lock().unwrap_or_else(|e| e.into_inner()).stats();
    total
}

fn worker_loop(
    rx: Receiver<Batch>,
    free: Sender<Batch>,
    mut stages: Stages,
    mut sink: WorkerSink,
    counters: Arc<Mutex<Counters>>,
) -> WorkerResult {
    let mut filename: Option<Arc<str>> = None;
    while let Ok(mut batch) = rx.recv() {
        stages.take_reloaded_rules();
        if filename
            .as_ref()
            .is_none_or(|f| !Arc::ptr_eq(f, &batch.pcap_filename))
        {
            if filename.is_some() {
                // The previous input ended: decide what its flows still hold.
                finish_input(&mut stages.flows, &mut stages.detector, &mut *sink);
            }
            filename = Some(Arc::clone(&batch.pcap_filename));
            sink.begin_input(&batch.pcap_filename);
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
            let packet = Packet {
                ts: p.ts,
                link_type: p.link_type,
                data,
                orig_len: p.orig_len,
                interface: p.interface,
            };
            let _ = stages.handle(&packet, p.pcap_cnt, &mut *sink);
        }
        sink.flush();
        *counters.lock().unwrap_or_else(|e| e.into_inner()) = stages.counters_without_suppression();
        batch.clear();
        let _ = free.send(batch);
    }
    finish_input(&mut stages.flows, &mut stages.detector, &mut *sink);
    sink.flush();
    WorkerResult { stages }
}
