//! `vendorwatch live`: open the interfaces, drop privileges, start the control thread, then
//! read packets into the same engine and outputs as `scan` (in the reader's thread with
//! `--workers 1`, through the dispatcher otherwise) until a stop signal; then drain, flush,
//! write a last `stats` record, the report and the summary, and exit 0.

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
use vendorwatch::capture::live::{LiveConfig, LiveSource};
use vendorwatch::decode;
use vendorwatch::engine::Engine;
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
    /// Kernel capture buffer per interface, in bytes (libpcap's default when not given).
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

/// Why the read loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    Signal,
    AllInterfacesLost,
    OutputFailed,
}

/// Reads the interfaces into the engine until stopped.
struct LiveDriver {
    source: LiveSource,
    flags: Arc<Flags>,
    started: Instant,
    metrics: Option<Arc<MetricsServer>>,
    report: Option<ReportTarget>,
    ended: Ended,
}

impl LiveDriver {
    fn write_stats<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats) {
        handler.drain(stats.read.packets);
        stats.read.capture = Some(self.source.counters());
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
            let n = self.source.read(|packet| {
                stats.read.packets += 1;
                stats.read.bytes += u64::from(packet.orig_len);
                stats.read.count_time(clock.step(packet.ts));
                pcap_cnt += 1;
                let _ = handler.handle(packet, pcap_cnt);
                !handler.failed()
            });
            for line in self.source.take_lost() {
                eprintln!(
                    "vendorwatch: {line}; {} interface(s) still capturing",
                    self.source.alive()
                );
                stats.errors.push(line);
            }
            if n == 0 || last_flush.elapsed() >= FLUSH_EVERY {
                handler.idle();
                last_flush = Instant::now();
            }
            if let Some(m) = &self.metrics
                && last_metrics.elapsed() >= FLUSH_EVERY
            {
                stats.read.capture = Some(self.source.counters());
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
            if self.source.alive() == 0 {
                break Ended::AllInterfacesLost;
            }
        };
        // The flows still held are decided before the last stats record counts them.
        handler.end_input();
        self.write_stats(handler, stats);
    }
}

/// Run `vendorwatch live`; the exit status.
pub fn run(args: LiveArgs) -> i32 {
    let started = Instant::now();
    let (config, rules) = match args.stage.config_and_rules() {
        Ok(both) => both,
        Err(status) => return status,
    };
    let capture = LiveConfig {
        snaplen: args.snaplen.max(64),
        buffer_size: args.buffer_size,
        promisc: !args.no_promisc,
        bpf: args.bpf.clone(),
    };
    let source = match LiveSource::open(&args.interfaces, &capture) {
        Ok(s) => s,
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
    let outputs = match session::open_outputs(&args.output, eve, args.interfaces.clone()) {
        Ok(o) => o,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    if let Some(report) = &outputs.report {
        report.set_context(session::report_context(
            ReportSource::Live,
            &args.interfaces,
            &rules,
        ));
    }
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
        load: sighup_reload(&args, Arc::clone(engine.suppressor())),
    };
    if let Err(e) = control::start(Arc::clone(&flags), interval, reload) {
        eprintln!("vendorwatch: cannot start the control thread: {e}");
        return EXIT_FATAL;
    }
    let workers = args.stage.workers.count();
    let described: Vec<String> = source
        .describe()
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
    eprintln!(
        "vendorwatch: capturing on {}; {workers} worker(s)",
        described.join(", ")
    );
    crate::notify::notify(&format!(
        "READY=1\nSTATUS=capturing on {}; {workers} worker(s)",
        described.join(", ")
    ));
    let mut driver = LiveDriver {
        source,
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
fn sighup_reload(
    args: &LiveArgs,
    suppressor: Arc<std::sync::Mutex<vendorwatch::detect::suppress::Suppressor>>,
) -> Box<dyn FnMut() -> Result<Arc<CompiledRules>, control::ReloadError> + Send> {
    let cli = crate::cli::command();
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
