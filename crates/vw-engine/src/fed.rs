//! `live --capture afpacket --workers N`: workers that read their own capture, with no reader
//! thread. Each worker owns a [`Feed`] (its AF_PACKET sockets and rings, one per interface,
//! in the kernel's fanout groups), its own [`Stages`] and a [`RecordSink`] the caller made for
//! it (the binary's forwards to the output hub's thread, as scan's workers do).
//!
//! ```text
//! kernel fanout ──> worker 0..N: Feed ─packets in place─> Stages ──records──> sink (per worker)
//! ```
//!
//! The thread that started them (the live driver) writes the `stats` records through a sink of
//! its own and sees the signals; it reads what the workers publish after every read round (the
//! stages' counters, packets and bytes read, the kernel's counters, interfaces lost) and stops
//! them. Each worker flushes its sink when its feed runs dry (at once: the feed returns before
//! sleeping) and at least every [`FLUSH_EVERY`], and takes up reloaded rules at those moments.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::capture::clock::PacketClock;
use crate::capture::{CaptureCounters, Packet};
use crate::decode::SkipReason;
use crate::detect::suppress::Suppressor;
use crate::identity::IdentityTable;
use crate::parallel::{
    WorkerResult, WorkerSink, join_all, shared_identity, shared_suppressor, sum_counters,
};
pub use crate::pipeline::FedReport;
use crate::pipeline::{PacketHandler, Stages, finish_input};
use crate::record::counters::{Counters, ReadCounters, StatsSnapshot};

/// Longest time a worker's records wait in its sink under a steady trickle of packets.
pub const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// A worker's own packet source.
pub trait Feed: Send {
    /// Hand what is ready to `f` (false from `f`: stop early); when nothing is ready, return
    /// 0, waiting at most about 100 ms. The packets read.
    fn read(&mut self, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> usize;
    /// The kernel's counters for this feed's sockets.
    fn counters(&mut self) -> CaptureCounters;
    /// Lines for the interfaces lost since the last call.
    fn take_lost(&mut self) -> Vec<String>;
    /// Interfaces still capturing.
    fn alive(&self) -> usize;
}

#[cfg(target_os = "linux")]
impl Feed for crate::capture::afpacket::AfPacketSource {
    fn read(&mut self, f: &mut dyn FnMut(&Packet<'_>) -> bool) -> usize {
        crate::capture::afpacket::AfPacketSource::read(self, f)
    }
    fn counters(&mut self) -> CaptureCounters {
        crate::capture::afpacket::AfPacketSource::counters(self)
    }
    fn take_lost(&mut self) -> Vec<String> {
        crate::capture::afpacket::AfPacketSource::take_lost(self)
    }
    fn alive(&self) -> usize {
        crate::capture::afpacket::AfPacketSource::alive(self)
    }
}

/// What one worker publishes after each read round.
#[derive(Default)]
struct Shared {
    counters: Counters,
    read: ReadCounters,
    lost: Vec<String>,
    alive: usize,
    failed: bool,
}

struct FedWorker {
    shared: Arc<Mutex<Shared>>,
    handle: Option<JoinHandle<WorkerResult>>,
}

/// The driver's side of self-fed workers: a [`PacketHandler`] the live driver is given in
/// place of the dispatcher. No packet passes through it: [`PacketHandler::fed_report`] says
/// what the workers read.
pub struct FedWorkers {
    workers: Vec<FedWorker>,
    stop: Arc<AtomicBool>,
    suppress: Arc<Mutex<Suppressor>>,
    /// The identity table every worker feeds and reads (its counters counted once).
    identity: Arc<Mutex<IdentityTable>>,
    reader_sink: WorkerSink,
    /// Lost-interface lines already reported.
    reported: Vec<String>,
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl FedWorkers {
    /// Start one worker per (stages, feed) pair, each writing to the sink `make_sink` gives
    /// it; `reader_sink` takes the `stats` records the driver writes.
    pub fn start(
        stages: Vec<Stages>,
        feeds: Vec<Box<dyn Feed>>,
        mut make_sink: impl FnMut(usize) -> WorkerSink,
        reader_sink: WorkerSink,
    ) -> io::Result<Self> {
        let suppress = shared_suppressor(&stages);
        let identity = shared_identity(&stages);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(feeds.len());
        for (i, (stages, feed)) in stages.into_iter().zip(feeds).enumerate() {
            let shared = Arc::new(Mutex::new(Shared {
                alive: feed.alive(),
                ..Shared::default()
            }));
            let sink = make_sink(i);
            let (s, st) = (Arc::clone(&shared), Arc::clone(&stop));
            let handle = std::thread::Builder::new()
                .name(format!("vw-worker-{i}"))
                .spawn(move || fed_loop(feed, stages, sink, s, st))?;
            workers.push(FedWorker {
                shared,
                handle: Some(handle),
            });
        }
        Ok(FedWorkers {
            workers,
            stop,
            suppress,
            identity,
            reader_sink,
            reported: Vec::new(),
        })
    }

    /// What the workers read so far, and the interfaces lost since the last call.
    fn report(&mut self) -> FedReport {
        let mut report = FedReport::default();
        let mut capture = CaptureCounters::default();
        for w in &self.workers {
            let mut s = lock(&w.shared);
            let r = &s.read;
            report.read.packets += r.packets;
            report.read.bytes += r.bytes;
            report.read.ts_out_of_range += r.ts_out_of_range;
            report.read.ts_jumps += r.ts_jumps;
            if let Some(k) = r.capture {
                capture.kernel_packets += k.kernel_packets;
                capture.kernel_drops += k.kernel_drops;
                capture.kernel_ifdrops += k.kernel_ifdrops;
                capture.kernel_freeze_queue += k.kernel_freeze_queue;
                capture.ring_bad_blocks += k.ring_bad_blocks;
            }
            report.alive = report.alive.max(s.alive);
            for line in std::mem::take(&mut s.lost) {
                if !self.reported.contains(&line) {
                    self.reported.push(line.clone());
                    report.lost.push(line);
                }
            }
        }
        report.read.capture = Some(capture);
        report
    }

    /// Stop the workers and wait for them; their results, or an error when one panicked.
    pub fn finish(mut self) -> io::Result<Vec<WorkerResult>> {
        self.stop.store(true, Ordering::Relaxed);
        let results = join_all(self.workers.iter_mut().map(|w| w.handle.take()));
        self.reader_sink.flush();
        results
    }
}

impl PacketHandler for FedWorkers {
    /// The workers read their own feeds; the driver hands nothing here.
    fn handle(&mut self, _packet: &Packet<'_>, _pcap_cnt: u64) -> Result<(), SkipReason> {
        Ok(())
    }

    fn set_pcap_filename(&mut self, _name: &str) {}

    fn fed_report(&mut self) -> Option<FedReport> {
        Some(self.report())
    }

    fn failed(&self) -> bool {
        self.reader_sink.failed()
            || self.workers.iter().any(|w| {
                lock(&w.shared).failed || w.handle.as_ref().is_none_or(|h| h.is_finished())
            })
    }

    fn write_stats(&mut self, snapshot: &StatsSnapshot) {
        self.reader_sink.stats(snapshot);
        self.reader_sink.flush();
    }

    fn counters(&self) -> Counters {
        sum_counters(
            self.workers.iter().map(|w| lock(&w.shared).counters),
            &self.suppress,
            &self.identity,
        )
    }

    /// Stop the workers' reading (the end of the live input): each decides what its flows
    /// hold, flushes and publishes its last counters before it returns.
    fn end_input(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for w in &mut self.workers {
            if let Some(h) = &w.handle {
                while !h.is_finished() {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
    }
}

/// What a worker counts of what it reads: packets, bytes, packet times.
#[derive(Default)]
struct Reading {
    read: ReadCounters,
    clock: PacketClock,
    pcap_cnt: u64,
}

impl Reading {
    /// One read round of `feed` through `stages`; the packets read.
    fn round(&mut self, feed: &mut dyn Feed, stages: &mut Stages, sink: &mut WorkerSink) -> usize {
        feed.read(&mut |packet| {
            self.read.packets += 1;
            self.read.bytes += u64::from(packet.orig_len);
            self.read.count_time(self.clock.step(packet.ts));
            self.pcap_cnt += 1;
            let _ = stages.handle(packet, self.pcap_cnt, &mut **sink);
            !sink.failed()
        })
    }
}

/// Most read rounds after a stop (a steady flow of packets would otherwise never end them).
const DRAIN_ROUNDS: usize = 64;

/// Read what the capture still holds when a stop comes: rounds until three in a row bring
/// nothing (a feed that just ran dry returns at once, the next waits for the block the kernel
/// hands over within its retire timeout), at most [`DRAIN_ROUNDS`]. `round` returns the
/// packets it read.
pub fn drain_after_stop(mut round: impl FnMut() -> usize) {
    let mut quiet = 0;
    for _ in 0..DRAIN_ROUNDS {
        if round() == 0 {
            quiet += 1;
            if quiet == 3 {
                return;
            }
        } else {
            quiet = 0;
        }
    }
}

fn fed_loop(
    mut feed: Box<dyn Feed>,
    mut stages: Stages,
    mut sink: WorkerSink,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
) -> WorkerResult {
    let mut reading = Reading::default();
    let mut last_flush = Instant::now();
    let mut lost = Vec::new();
    sink.begin_input("");
    stages.detector.start_capture();
    let publish = |stages: &Stages,
                   read: &ReadCounters,
                   feed: &mut Box<dyn Feed>,
                   sink: &WorkerSink,
                   lost: &mut Vec<String>,
                   kernel: bool| {
        let counters = stages.counters_without_suppression();
        let capture = kernel.then(|| feed.counters());
        let mut s = lock(&shared);
        s.counters = counters;
        let before = s.read.capture;
        s.read = *read;
        s.read.capture = capture.or(before);
        s.lost.append(lost);
        s.alive = feed.alive();
        s.failed = sink.failed();
    };
    while !stop.load(Ordering::Relaxed) {
        let n = reading.round(&mut *feed, &mut stages, &mut sink);
        lost.extend(feed.take_lost());
        let due = last_flush.elapsed() >= FLUSH_EVERY;
        if n == 0 || due {
            stages.take_reloaded_rules();
            sink.flush();
            last_flush = Instant::now();
        }
        publish(
            &stages,
            &reading.read,
            &mut feed,
            &sink,
            &mut lost,
            n == 0 || due,
        );
        if sink.failed() || feed.alive() == 0 {
            // Nothing more to read, or nowhere to write: wait for the driver to stop us.
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    if !sink.failed() {
        drain_after_stop(|| reading.round(&mut *feed, &mut stages, &mut sink));
    }
    finish_input(&mut stages.flows, &mut stages.detector, &mut *sink);
    sink.flush();
    publish(&stages, &reading.read, &mut feed, &sink, &mut lost, true);
    WorkerResult { stages }
}
