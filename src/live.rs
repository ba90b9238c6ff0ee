//! `vendorwatch live`: open the interfaces, drop privileges, start the control thread, then
//! read packets into the same engine and outputs as `scan` until a stop signal; then drain,
//! flush, write a last `stats` record, the report and the summary, and exit 0.
//!
//! Two ways to capture (`--capture`). `afpacket` (Linux, the default): AF_PACKET TPACKET_V3
//! rings; with `--workers 1` the stages run in this thread on packets read in place from the
//! ring, with more each worker reads its own rings in the kernel's fanout group
//! (`vendorwatch::fed`) and this thread only watches signals, timers and counters. `pcap`:
//! libpcap in immediate mode, read in this thread (through the dispatcher with N workers).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, FromArgMatches};

use crate::args::{OutputArgs, StageArgs, load_rules};
use crate::config;
use crate::control::{self, Flags};
use crate::exit::{EXIT_FATAL, EXIT_INPUT_ERROR, EXIT_OK};
use crate::session::{self, Driver, ReportTarget};
use crate::summary::Job;
#[cfg(target_os = "linux")]
use vendorwatch::capture::afpacket::{AfPacketConfig, AfPacketSource};
use vendorwatch::capture::live::{LiveConfig, LiveSource};
use vendorwatch::capture::{CaptureCounters, Packet};
use vendorwatch::decode;
use vendorwatch::engine::Engine;
use vendorwatch::fed::Feed;
use vendorwatch::output::eve_file::EveWrite;
use vendorwatch::output::metrics::MetricsServer;
use vendorwatch::output::reopen::ReopenableFile;
use vendorwatch::output::report::ReportSource;
use vendorwatch::pipeline::{self, PacketHandler, ScanStats};
use vendorwatch::sigs::CompiledRules;

/// Options of `live`: the capture, then the stage and output options `scan` has too.
#[derive(Args, Debug)]
pub struct LiveArgs {
    /// Interface to capture on (repeatable); records name it in `in_iface`. When one of
    /// several fails while running, the others go on and the loss is reported.
    #[arg(short = 'i', long = "interface", value_name = "IFACE", required = true)]
    pub interfaces: Vec<String>,
    /// BPF filter (tcpdump syntax). Default: none, every packet (tunnels and odd ports matter).
    #[arg(long, value_name = "FILTER")]
    pub bpf: Option<String>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub snaplen: i32,
    /// How to capture: `afpacket` (Linux: AF_PACKET TPACKET_V3 memory-mapped rings, one per
    /// worker and interface, workers in a kernel fanout group; the default on Linux) or `pcap`
    /// (libpcap, immediate mode, one reader thread; the default elsewhere).
    #[arg(long, value_enum, value_name = "METHOD", default_value_t = CaptureMethod::default())]
    pub capture: CaptureMethod,
    /// `--capture afpacket`: ring size per worker and interface, in MiB (default 64).
    #[arg(long, value_name = "MiB")]
    pub ring_size: Option<usize>,
    /// `--capture afpacket`: a ring block not yet full is handed over after this many
    /// milliseconds, which bounds alert latency at low packet rates (default 10).
    #[arg(long, value_name = "MS")]
    pub block_timeout_ms: Option<u32>,
    /// `--capture pcap`: kernel capture buffer per interface, in bytes (libpcap's default when
    /// not given).
    #[arg(long, value_name = "BYTES")]
    pub buffer_size: Option<i32>,
    /// Do not put the interfaces in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Write an EVE `stats` record every SECS seconds (0: only at exit).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub stats_interval: u64,
    /// After opening the capture, switch to this user (as tcpdump -Z).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    #[command(flatten)]
    pub config: crate::config::ConfigArg,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Longest time records wait in a buffer (or a batch) under a steady trickle of packets.
const FLUSH_EVERY: Duration = Duration::from_millis(200);
/// Default `--ring-size`, MiB.
const RING_MIB: usize = 64;
/// Default `--block-timeout-ms`.
const BLOCK_TIMEOUT_MS: u32 = 10;
/// How often the driver looks at signals and counters while the workers read their own rings.
const FED_TICK: Duration = Duration::from_millis(20);

/// `--capture`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaptureMethod {
    /// AF_PACKET TPACKET_V3 rings with fanout (Linux).
    Afpacket,
    /// libpcap.
    Pcap,
}

impl Default for CaptureMethod {
    fn default() -> Self {
        if cfg!(target_os = "linux") {
            CaptureMethod::Afpacket
        } else {
            CaptureMethod::Pcap
        }
    }
}

/// What the driver reads itself (with fed workers: nothing).
enum Source {
    Pcap(LiveSource),
    #[cfg(target_os = "linux")]
    AfPacket(AfPacketSource),
}

impl Source {
    fn read(&mut self, f: impl FnMut(&Packet<'_>) -> bool) -> usize {
        match self {
            Source::Pcap(s) => s.read(f),
            #[cfg(target_os = "linux")]
            Source::AfPacket(s) => s.read(f),
        }
    }
    fn take_lost(&mut self) -> Vec<String> {
        match self {
            Source::Pcap(s) => s.take_lost(),
            #[cfg(target_os = "linux")]
            Source::AfPacket(s) => s.take_lost(),
        }
    }
    fn alive(&self) -> usize {
        match self {
            Source::Pcap(s) => s.alive(),
            #[cfg(target_os = "linux")]
            Source::AfPacket(s) => s.alive(),
        }
    }
    fn counters(&mut self) -> CaptureCounters {
        match self {
            Source::Pcap(s) => s.counters(),
            #[cfg(target_os = "linux")]
            Source::AfPacket(s) => s.counters(),
        }
    }
}

/// Why the read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Signal,
    AllInterfacesLost,
    OutputFailed,
}

/// Reads the interfaces into the engine until stopped.
struct LiveDriver {
    /// The interfaces this thread reads (None: the workers read their own).
    source: Option<Source>,
    /// The workers' own rings, until `session::run` takes them.
    feeds: Option<Vec<Box<dyn Feed>>>,
    flags: Arc<Flags>,
    started: Instant,
    metrics: Option<Arc<MetricsServer>>,
    report: Option<ReportTarget>,
    ended: Ended,
}

impl LiveDriver {
    /// Bring `stats.read` up to date (the kernel's counters; with fed workers, what they
    /// read), print the interfaces lost since the last call; the interfaces still capturing.
    fn sync<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats) -> usize {
        let (lost, alive) = match (&mut self.source, handler.fed_report()) {
            (Some(source), _) => {
                stats.read.capture = Some(source.counters());
                (source.take_lost(), source.alive())
            }
            (None, Some(report)) => {
                let files = (stats.read.files_ok, stats.read.files_failed);
                stats.read = report.read;
                (stats.read.files_ok, stats.read.files_failed) = files;
                (report.lost, report.alive)
            }
            (None, None) => (Vec::new(), 0),
        };
        for line in lost {
            eprintln!("vendorwatch: {line}; {alive} interface(s) still capturing");
            stats.errors.push(line);
        }
        alive
    }

    fn write_stats<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats) {
        handler.drain(stats.read.packets);
        self.sync(handler, stats);
        let snap = pipeline::snapshot(&*handler, &stats.read, self.started);
        handler.write_stats(&snap);
        if let Some(m) = &self.metrics {
            m.set_stats(&snap);
        }
    }

    fn write_report(&self) {
        if let Some(report) = &self.report {
            match report.write() {
                Ok(()) => eprintln!(
                    "vendorwatch: SIGUSR1: report written to {}",
                    report.path.display()
                ),
                Err(e) => eprintln!(
                    "vendorwatch: {}: writing the report failed: {e}",
                    report.path.display()
                ),
            }
        }
    }
}

/// Count one packet read by this thread and hand it on; false once the output failed.
fn hand<H: PacketHandler>(
    packet: &Packet<'_>,
    handler: &mut H,
    stats: &mut ScanStats,
    clock: &mut vendorwatch::capture::clock::PacketClock,
    pcap_cnt: &mut u64,
) -> bool {
    stats.read.packets += 1;
    stats.read.bytes += u64::from(packet.orig_len);
    stats.read.count_time(clock.step(packet.ts));
    *pcap_cnt += 1;
    let _ = handler.handle(packet, *pcap_cnt);
    !handler.failed()
}

impl Driver for LiveDriver {
    fn drive<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats) {
        handler.set_pcap_filename("");
        let mut pcap_cnt = 0u64;
        let mut clock = vendorwatch::capture::clock::PacketClock::default();
        let mut last_flush = Instant::now();
        let mut last_metrics = Instant::now();
        self.ended = loop {
            self.flags.beat();
            if self.flags.stop_signal().is_some() {
                break Ended::Signal;
            }
            let (n, alive) = match &mut self.source {
                Some(source) => {
                    let n = source.read(|p| hand(p, handler, stats, &mut clock, &mut pcap_cnt));
                    for line in source.take_lost() {
                        eprintln!(
                            "vendorwatch: {line}; {} interface(s) still capturing",
                            source.alive()
                        );
                        stats.errors.push(line);
                    }
                    (n, source.alive())
                }
                None => {
                    // The workers read and flush on their own.
                    std::thread::sleep(FED_TICK);
                    (1, self.sync(handler, stats))
                }
            };
            if n == 0 || last_flush.elapsed() >= FLUSH_EVERY {
                handler.idle();
                last_flush = Instant::now();
            }
            if let Some(m) = self.metrics.clone()
                && last_metrics.elapsed() >= FLUSH_EVERY
            {
                self.sync(handler, stats);
                m.set_stats(&pipeline::snapshot(&*handler, &stats.read, self.started));
                last_metrics = Instant::now();
            }
            if self.flags.stats_due.swap(false, Ordering::Relaxed) {
                self.write_stats(handler, stats);
            }
            if self.flags.report_due.swap(false, Ordering::Relaxed) {
                handler.drain(stats.read.packets);
                handler.idle();
                self.write_report();
            }
            if handler.failed() {
                break Ended::OutputFailed;
            }
            if alive == 0 {
                break Ended::AllInterfacesLost;
            }
        };
        if self.ended == Ended::Signal
            && let Some(source) = &mut self.source
        {
            // What the kernel still holds (a ring block not yet handed over) is read too.
            vendorwatch::fed::drain_after_stop(|| {
                source.read(|p| hand(p, handler, stats, &mut clock, &mut pcap_cnt))
            });
        }
        // The flows still held are decided before the last stats record counts them.
        handler.end_input();
        self.write_stats(handler, stats);
    }

    fn take_feeds(&mut self) -> Option<Vec<Box<dyn Feed>>> {
        self.feeds.take()
    }
}

/// The opened capture: read by this thread, or by each worker.
type Opened = (
    Option<Source>,
    Option<Vec<Box<dyn Feed>>>,
    Vec<(String, u32)>,
);

/// Open the interfaces as `--capture` says, for `workers` workers; the error is one line.
fn open_capture(args: &LiveArgs, workers: usize) -> Result<Opened, String> {
    let afpacket_only = args.ring_size.is_some() || args.block_timeout_ms.is_some();
    match args.capture {
        CaptureMethod::Pcap => {
            if afpacket_only {
                return Err(
                    "--ring-size and --block-timeout-ms are for --capture afpacket (pcap: --buffer-size)"
                        .into(),
                );
            }
            let capture = LiveConfig {
                snaplen: args.snaplen.max(64),
                buffer_size: args.buffer_size,
                promisc: !args.no_promisc,
                bpf: args.bpf.clone(),
            };
            let source = LiveSource::open(&args.interfaces, &capture)?;
            let described = source.describe();
            Ok((Some(Source::Pcap(source)), None, described))
        }
        #[cfg(target_os = "linux")]
        CaptureMethod::Afpacket => {
            if args.buffer_size.is_some() {
                return Err(
                    "--buffer-size is for --capture pcap (afpacket: --ring-size MiB per worker)"
                        .into(),
                );
            }
            let mib = args.ring_size.unwrap_or(RING_MIB);
            if !(1..=4096).contains(&mib) {
                return Err(format!("--ring-size {mib}: expected 1 to 4096 MiB"));
            }
            let timeout = args.block_timeout_ms.unwrap_or(BLOCK_TIMEOUT_MS);
            if !(1..=1000).contains(&timeout) {
                return Err(format!("--block-timeout-ms {timeout}: expected 1 to 1000"));
            }
            let config = AfPacketConfig {
                snaplen: usize::try_from(args.snaplen.max(64)).unwrap_or(65_535),
                ring_bytes: mib << 20,
                block_timeout_ms: timeout,
                promisc: !args.no_promisc,
                bpf: args.bpf.clone(),
            };
            let mut sources = AfPacketSource::open_workers(&args.interfaces, &config, workers)?;
            let described = sources.first().map(|s| s.describe()).unwrap_or_default();
            if sources.len() == 1 {
                let source = sources.pop().map(Source::AfPacket);
                return Ok((source, None, described));
            }
            let feeds = sources
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Feed>)
                .collect();
            Ok((None, Some(feeds), described))
        }
        #[cfg(not(target_os = "linux"))]
        CaptureMethod::Afpacket => {
            Err("--capture afpacket needs Linux (use --capture pcap)".into())
        }
    }
}

/// Run `vendorwatch live`; the exit status.
pub fn run(args: LiveArgs, cli: clap::Command) -> i32 {
    let started = Instant::now();
    let (config, rules) = match args.stage.config_and_rules() {
        Ok(both) => both,
        Err(status) => return status,
    };
    let workers = args.stage.workers.count();
    let (source, feeds, described) = match open_capture(&args, workers) {
        Ok(opened) => opened,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    let flags = Arc::new(Flags::default());
    // The EVE file is reopened by path on SIGHUP (logrotate).
    let eve: Option<Box<dyn EveWrite>> = match &args.output.eve {
        Some(path) => match ReopenableFile::create(path.clone(), Arc::clone(&flags.reopen)) {
            Ok(f) => Some(Box::new(f)),
            Err(e) => {
                eprintln!(
                    "vendorwatch: {}: cannot create EVE file: {e}",
                    path.display()
                );
                return EXIT_FATAL;
            }
        },
        None => None,
    };
    let outputs = match session::open_outputs(
        &args.output,
        eve,
        args.interfaces.clone(),
        vendorwatch::output::sink::host_name(),
    ) {
        Ok(o) => o,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    outputs.describe_inputs(ReportSource::Live, &args.interfaces, &rules);
    if let Some(user) = &args.user
        && let Err(line) = crate::privdrop::drop_to(user)
    {
        eprintln!("vendorwatch: {line}");
        return EXIT_FATAL;
    }
    // The report is written as the user dropped to: check again as that user.
    if args.user.is_some()
        && let Some(report) = &outputs.report
        && let Err(line) = session::check_report_path(&report.path)
    {
        eprintln!("vendorwatch: {line}");
        return EXIT_FATAL;
    }
    let engine = Engine::new(config, rules);
    let interval = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    let reload = control::Reload {
        slot: Arc::clone(engine.rules()),
        load: sighup_reload(&args, cli, Arc::clone(engine.suppressor())),
    };
    if let Err(e) = control::start(Arc::clone(&flags), interval, reload) {
        eprintln!("vendorwatch: cannot start the control thread: {e}");
        return EXIT_FATAL;
    }
    let described: Vec<String> = described
        .into_iter()
        .map(|(name, lt)| {
            if !decode::link_type_supported(lt) {
                eprintln!(
                    "vendorwatch: {name}: link type {lt} is not decoded (packets are counted only)"
                );
            }
            format!("{name} (link type {lt})")
        })
        .collect();
    let how = match args.capture {
        CaptureMethod::Afpacket if workers > 1 => "AF_PACKET rings, one fanout group per interface",
        CaptureMethod::Afpacket => "AF_PACKET ring",
        CaptureMethod::Pcap => "libpcap",
    };
    eprintln!(
        "vendorwatch: capturing on {} ({how}); {workers} worker(s)",
        described.join(", ")
    );
    crate::notify::notify(&format!(
        "READY=1\nSTATUS=capturing on {}; {workers} worker(s)",
        described.join(", ")
    ));
    let mut driver = LiveDriver {
        source,
        feeds,
        flags,
        started,
        metrics: outputs.metrics.clone(),
        report: outputs.report.clone(),
        ended: Ended::Signal,
    };
    let mut stats = ScanStats::default();
    if let Err(status) = session::run_and_report(
        Job::Live,
        &engine,
        outputs,
        workers,
        &mut driver,
        &mut stats,
        args.output.quiet,
    ) {
        return status;
    }
    match driver.ended {
        Ended::Signal => EXIT_OK,
        Ended::AllInterfacesLost => {
            eprintln!("vendorwatch: every interface was lost; stopping");
            EXIT_INPUT_ERROR
        }
        Ended::OutputFailed => EXIT_FATAL,
    }
}

/// What SIGHUP runs on the control thread: re-read the configuration file with the process's
/// command line over it (as at start), name the changed options that need a restart, and
/// apply the others: the signatures (`--signatures`, `--packs`, the size limits, compiled with
/// `--enable-port-rules`) and the suppression limits. Nothing is applied unless the file and
/// the packs are both valid.
/// `cli` is the program's whole command (`cli::command`), which the file is read against.
fn sighup_reload(
    args: &LiveArgs,
    cli: clap::Command,
    suppressor: Arc<std::sync::Mutex<vendorwatch::detect::suppress::Suppressor>>,
) -> Box<dyn FnMut() -> Result<Arc<CompiledRules>, control::ReloadError> + Send> {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // What runs now: the options as parsed at start.
    let mut running = config::live_now(&cli, &argv)
        .map(|(_, values)| values)
        .unwrap_or_default();
    let mut current = args.stage.clone();
    Box::new(move || {
        let (matches, now) = config::live_now(&cli, &argv).map_err(control::ReloadError::Config)?;
        let new = LiveArgs::from_arg_matches(&matches)
            .map_err(|e| control::ReloadError::Config(vec![e.to_string()]))?;
        let rules = load_rules(&new.stage.sigs).map_err(control::ReloadError::Signatures)?;
        let (applied, restart) = config::changes(&running, &now);
        for key in &restart {
            eprintln!(
                "vendorwatch: SIGHUP: {key} changed ({} -> {}); it needs a restart to apply",
                shown(running.get(key)),
                shown(now.get(key))
            );
        }
        for key in &applied {
            eprintln!(
                "vendorwatch: SIGHUP: {key}: {} -> {}",
                shown(running.get(key)),
                shown(now.get(key))
            );
            match now.get(key) {
                Some(v) => running.insert(key.clone(), v.clone()),
                None => running.remove(key),
            };
        }
        current.sigs = new.stage.sigs.clone();
        current.enable_port_rules = new.stage.enable_port_rules;
        current.suppress_window = new.stage.suppress_window;
        current.suppress_capacity = new.stage.suppress_capacity;
        suppressor
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .set_limits(current.suppress_window, current.suppress_capacity);
        Ok(Engine::compile(current.match_options(), rules))
    })
}

/// An option's values for a log line.
fn shown(values: Option<&Vec<String>>) -> String {
    match values.map(Vec::as_slice) {
        None | Some([]) => "(not set)".into(),
        Some([one]) => format!("{one:?}"),
        Some(many) => format!("{many:?}"),
    }
}
