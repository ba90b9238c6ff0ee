//! `vendorwatch scan`: capture files, directories of them, or stdin, through the engine.

use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use crate::args::{OutputArgs, StageArgs};
use crate::exit::{EXIT_FATAL, EXIT_INPUT_ERROR, EXIT_OK, EXIT_SIGNAL_BASE};
use crate::progress::{self, ScanProgress};
use crate::session::{self, Driver};
use crate::summary::Job;
use vendorwatch::engine::Engine;
use vendorwatch::output::metrics::MetricsServer;
use vendorwatch::output::report::ReportSource;
use vendorwatch::pipeline::{self, Inputs, PacketHandler, Progress, ScanStats};

/// Options of `scan`: the inputs, then the stage and output options `live` has too.
#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Capture files, directories (scanned recursively in name order; each directory and
    /// file once, however many links lead to it) or `-` for stdin.
    #[arg(required_unless_present = "read", value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// Read this capture file, directory or `-` (repeatable), as `tcpdump -r`, `tshark -r`
    /// and `suricata -r` take it: the same as naming it as an INPUT (read first).
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,
    /// Name on stderr each entry of a scanned directory that is skipped, and why (not a
    /// capture, an empty file, a second link to a file already read); they are counted in
    /// the summary either way.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Show a progress line on stderr (bytes read of the total when known, packets/s,
    /// alerts, ETA), even when stderr is not a terminal. Default: shown when stderr is a
    /// terminal, not with --quiet, and not when the EVE lines go to that terminal too.
    #[arg(long, overrides_with = "no_progress")]
    pub progress: bool,
    /// Never show the progress line.
    #[arg(long, overrides_with = "progress")]
    pub no_progress: bool,
    /// Value of EVE `in_iface` (e.g. the span port the capture was taken on). Omitted when
    /// not given: a capture file does not say which sensor interface it came from.
    #[arg(long, value_name = "NAME")]
    pub in_iface: Option<String>,
    /// Write an `event_type: stats` record (Suricata's shape) at the end of the scan.
    #[arg(long)]
    pub stats: bool,
    #[command(flatten)]
    pub config: crate::config::ConfigArg,
    #[command(flatten)]
    pub stage: StageArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Reads the inputs in order into the engine, expanding directories as it goes.
struct ScanDriver {
    inputs: Inputs,
    metrics: Option<Arc<MetricsServer>>,
    write_stats: bool,
    started: Instant,
    /// The progress line, when shown; cleared when the reading ends (before the summary).
    progress: Option<ScanProgress>,
}

impl Driver for ScanDriver {
    fn drive<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats) {
        let progress = self.progress.as_mut().map(|p| p as &mut dyn Progress);
        match &self.metrics {
            Some(m) => {
                let m = Arc::clone(m);
                pipeline::scan(
                    &mut self.inputs,
                    handler,
                    stats,
                    Some(&mut |snap| m.set_stats(snap)),
                    progress,
                );
            }
            None => pipeline::scan(&mut self.inputs, handler, stats, None, progress),
        }
        if let Some(p) = &self.progress {
            p.finish();
        }
        if self.write_stats {
            handler.drain(stats.read.packets);
            let snap = pipeline::snapshot(&*handler, &stats.read, self.started);
            handler.write_stats(&snap);
        }
    }
}

/// Run `vendorwatch scan`; the exit status.
pub fn run(args: ScanArgs) -> i32 {
    let started = Instant::now();
    let (config, rules) = match args.stage.config_and_rules() {
        Ok(both) => both,
        Err(status) => return status,
    };
    let interfaces = args.in_iface.iter().cloned().collect();
    let outputs = match session::open_outputs(&args.output, None, interfaces, None) {
        Ok(o) => o,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    // `-r FILE` names inputs as tcpdump's does; they are read first.
    let inputs: Vec<String> = args.read.iter().chain(&args.inputs).cloned().collect();
    outputs.describe_inputs(ReportSource::Scan, &inputs, &rules);
    if let Err(e) = pipeline::install_stop_handlers() {
        eprintln!("vendorwatch: cannot install signal handlers: {e}");
        return EXIT_FATAL;
    }
    let engine = Engine::new(config, rules);
    let mut stats = ScanStats::default();
    // As `session::open_outputs` decides: stdout unless a file or another output was named.
    let eve_to_stdout =
        args.output.eve.is_none() && args.output.syslog.is_empty() && args.output.redis.is_empty();
    let progress = progress::wanted(
        args.progress,
        args.no_progress,
        args.output.quiet,
        eve_to_stdout,
    )
    .then(|| ScanProgress::start(&inputs, args.progress));
    let mut driver = ScanDriver {
        inputs: Inputs::new(&inputs).verbose(args.verbose),
        metrics: outputs.metrics.clone(),
        write_stats: args.stats,
        started,
        progress,
    };
    let workers = args.stage.workers.count();
    let done = match session::run_and_report(
        Job::Scan,
        &engine,
        outputs,
        workers,
        &mut driver,
        &mut stats,
        args.output.quiet,
    ) {
        Ok(done) => done,
        Err(status) => return status,
    };
    exit_status(&stats, done.hub.records)
}

/// The exit status of a scan that wrote its output: stopped by a signal, an input not read
/// to its end, or all well.
fn exit_status(stats: &ScanStats, written: u64) -> i32 {
    if let Some(sig) = stats.stopped_by {
        eprintln!(
            "vendorwatch: stopped by signal {sig} after {} packet(s); {written} record(s) written",
            stats.read.packets
        );
        return EXIT_SIGNAL_BASE + sig;
    }
    if stats.read.files_failed > 0 || !stats.errors.is_empty() {
        EXIT_INPUT_ERROR
    } else {
        EXIT_OK
    }
}
