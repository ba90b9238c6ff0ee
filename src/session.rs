//! One run of the engine, the same for `scan` and `live`: open the outputs the flags name,
//! build the stages (in the reader's thread with one worker, behind a dispatcher and an
//! output thread with more), let the job feed packets, then finish: decide what the flows
//! hold, write the report, close the network outputs, print the summary.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::args::OutputArgs;
use crate::exit::{EXIT_FATAL, eve_write_failed};
use crate::summary::{Job as SummaryJob, write_summary};
use vendorwatch::detect::inventory::Inventory;
use vendorwatch::engine::Engine;
use vendorwatch::fed::{FedWorkers, Feed};
use vendorwatch::output::eve_file::{EveWrite, stdout_file};
use vendorwatch::output::formats::OutputFormat;
use vendorwatch::output::formatter::{FormatConfig, Formatter};
use vendorwatch::output::hub::{HubReport, OutputHub, OutputThread};
use vendorwatch::output::metrics::MetricsServer;
use vendorwatch::output::report::{
    PackSummary, ReportBuilder, ReportContext, ReportFormat, ReportSource,
};
use vendorwatch::output::sink::{NetSink, SinkConfig, Target, write_sink_summary};
use vendorwatch::parallel::{Dispatcher, WorkerResult, WorkerSink};
use vendorwatch::pipeline::{InThread, PacketHandler, ScanStats};
use vendorwatch::record::counters::Counters;
use vendorwatch::sigs::RuleSet;

/// The inventory report: where, in which format, and the builder the hub feeds.
#[derive(Clone)]
pub struct ReportTarget {
    /// The file.
    pub path: PathBuf,
    /// Its format.
    pub format: ReportFormat,
    /// Fed by the hub from every alert.
    pub builder: Arc<Mutex<ReportBuilder>>,
}

impl ReportTarget {
    /// Say what the run analyses, for the report's header.
    pub fn set_context(&self, context: ReportContext) {
        let mut report = self.builder.lock().unwrap_or_else(|e| e.into_inner());
        report.set_context(context);
    }

    /// Write the report as it stands now (at exit, or on SIGUSR1 in `live`).
    pub fn write(&self) -> io::Result<()> {
        let report = self.builder.lock().unwrap_or_else(|e| e.into_inner());
        write_report(&report, self.format, Some(&self.path))
    }
}

/// The outputs, opened: the hub with its destinations, the record shape, the metrics
/// endpoint and the report.
pub struct Outputs {
    /// Destinations.
    pub hub: OutputHub,
    /// Record shape, shared by every worker's formatter.
    pub format: Arc<FormatConfig>,
    /// The metrics endpoint, when asked for.
    pub metrics: Option<Arc<MetricsServer>>,
    /// The report, when asked for.
    pub report: Option<ReportTarget>,
    /// How long the metrics endpoint stays up after the end.
    pub metrics_linger: f64,
    /// What the EVE output is, for error messages.
    pub eve_label: String,
}

impl Outputs {
    /// Tell the report (when one is asked for) what was analysed: the inputs (capture files,
    /// or interfaces for `live`), the packs and the sensor name.
    pub fn describe_inputs(&self, source: ReportSource, inputs: &[String], rules: &RuleSet) {
        if let Some(report) = &self.report {
            report.set_context(report_context(source, inputs, rules, &self.format.sensor));
        }
    }
}

/// Open every output the flags name; `eve` is the EVE writer (`None`: the flags' file or
/// stdout, refused when stdout is closed or read-only), `interfaces` the names written as
/// `in_iface` and `sensor` the sensor name when `--sensor-name` is not given.
pub fn open_outputs(
    args: &OutputArgs,
    eve: Option<Box<dyn EveWrite>>,
    interfaces: Vec<String>,
    sensor: Option<String>,
) -> Result<Outputs, String> {
    let sensor = sensor_name(args.sensor_name.as_deref(), sensor)?;
    let Some(format) = OutputFormat::parse(&args.format) else {
        return Err(format!(
            "unknown --format {:?} (expected eve, ecs or zeek-intel)",
            args.format
        ));
    };
    let report_format = match (&args.report, &args.report_format) {
        (_, Some(f)) => Some(ReportFormat::parse(f).ok_or_else(|| {
            format!("unknown --report-format {f:?} (expected text, json, csv or html)")
        })?),
        (Some(path), None) => Some(report_format_of(path, "--report-format")?),
        (None, None) => None,
    };
    if let Some(path) = &args.report {
        // As for --eve: a report that cannot be written is refused before the run, not
        // found out at its end.
        check_report_path(path)?;
    }
    let mut targets = Vec::new();
    for spec in &args.syslog {
        targets.push(Target::syslog(spec)?);
    }
    for url in &args.redis {
        targets.push(Target::redis(url, &args.redis_key, &args.redis_mode)?);
    }
    let eve_label = args
        .eve
        .as_ref()
        .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    let eve: Option<Box<dyn EveWrite>> = match (eve, &args.eve) {
        (Some(w), _) => Some(w),
        (None, Some(path)) => Some(Box::new(
            vendorwatch::output::reopen::open_eve(path)
                .map_err(|e| format!("{}: cannot open EVE file: {e}", path.display()))?,
        )),
        // EVE goes to stdout unless another output was named.
        (None, None) if !targets.is_empty() || args.kafka.is_some() => None,
        (None, None) => {
            crate::stdout_check::writable()?;
            Some(Box::new(stdout_file().map_err(|e| {
                format!("stdout: cannot use it for EVE: {e}")
            })?))
        }
    };
    let mut hub = OutputHub::with_eve(eve);
    hub.set_sensor(&sensor);
    let metrics = match &args.metrics_listen {
        Some(addr) => Some(Arc::new(
            MetricsServer::start(addr).map_err(|e| format!("--metrics-listen {addr}: {e}"))?,
        )),
        None => None,
    };
    if let Some(m) = &metrics {
        hub.set_metrics(Arc::clone(m));
    }
    let sink_config = SinkConfig {
        buffer: args.sink_buffer.max(1),
        drain: std::time::Duration::from_secs_f64(args.sink_drain.clamp(0.0, 3600.0)),
    };
    for target in targets {
        let sink = NetSink::start(target, sink_config)
            .map_err(|e| format!("cannot start an output thread: {e}"))?;
        hub.add_sink(sink);
    }
    if let Some(brokers) = &args.kafka {
        open_kafka(&mut hub, args, brokers, sink_config.drain)?;
    }
    let report = match (&args.report, report_format) {
        (Some(path), Some(format)) => Some(ReportTarget {
            path: path.clone(),
            format,
            builder: hub.enable_report(),
        }),
        _ => None,
    };
    Ok(Outputs {
        hub,
        format: Arc::new(FormatConfig {
            format,
            dns_version: args.eve_dns_version,
            community_id_seed: args.community_id_seed,
            interfaces,
            sensor,
        }),
        metrics,
        report,
        metrics_linger: args.metrics_linger,
        eve_label,
    })
}

/// Most bytes of a sensor name.
const MAX_SENSOR_NAME: usize = 255;

/// The sensor name: `--sensor-name` (`""`: none), else `default`; bounded.
fn sensor_name(flag: Option<&str>, default: Option<String>) -> Result<String, String> {
    let name = flag.map_or_else(|| default.unwrap_or_default(), str::to_string);
    if name.len() > MAX_SENSOR_NAME || name.chars().any(char::is_control) {
        return Err(format!(
            "--sensor-name: at most {MAX_SENSOR_NAME} bytes, no control characters"
        ));
    }
    Ok(name)
}

/// Start the Kafka output of `--kafka BROKERS` and add it to the hub.
#[cfg(feature = "kafka")]
fn open_kafka(
    hub: &mut OutputHub,
    args: &OutputArgs,
    brokers: &str,
    drain: std::time::Duration,
) -> Result<(), String> {
    use vendorwatch::output::kafka::{self, KafkaConfig, KafkaKey, KafkaSink};
    let config = KafkaConfig {
        key: KafkaKey::parse(&args.kafka_key)?,
        options: args
            .kafka_option
            .iter()
            .map(|o| kafka::parse_option(o))
            .collect::<Result<_, _>>()?,
        queue: usize::try_from(args.kafka_queue).unwrap_or(kafka::DEFAULT_QUEUE),
        drain,
        ..KafkaConfig::new(brokers, &args.kafka_topic)
    };
    hub.add_kafka(KafkaSink::start(&config)?);
    Ok(())
}

/// Without the `kafka` feature `--kafka` is refused, never ignored.
#[cfg(not(feature = "kafka"))]
fn open_kafka(
    _hub: &mut OutputHub,
    _args: &OutputArgs,
    brokers: &str,
    _drain: std::time::Duration,
) -> Result<(), String> {
    Err(format!(
        "--kafka {brokers}: this vendorwatch was built without the `kafka` feature"
    ))
}

/// What the report's header says was analysed: the source, its inputs, the sensor's name
/// (`--sensor-name`, by default the host name for `live`) and the packs loaded.
fn report_context(
    source: ReportSource,
    inputs: &[String],
    rules: &RuleSet,
    sensor: &str,
) -> ReportContext {
    ReportContext {
        source,
        inputs: inputs.to_vec(),
        sensor: (!sensor.is_empty()).then(|| sensor.to_string()),
        packs: rules
            .packs
            .iter()
            .map(|p| PackSummary {
                id: p.id.clone(),
                vendor: p.vendor.clone(),
                version: p.version.clone(),
                cutoff: p.cutoff.map(|c| c.secs),
            })
            .collect(),
    }
}

/// What drives the engine: reads packets (files, interfaces) into a handler until done.
pub trait Driver {
    /// Feed packets to `handler`; the stats so far go in `stats`.
    fn drive<H: PacketHandler>(&mut self, handler: &mut H, stats: &mut ScanStats);
    /// Workers that read their own capture (AF_PACKET fanout), one feed each: taken once at
    /// the start, and then `drive` is given the [`FedWorkers`] instead of packets to hand
    /// on. None: the driver reads and hands packets over.
    fn take_feeds(&mut self) -> Option<Vec<Box<dyn Feed>>> {
        None
    }
}

/// What a finished run leaves for the summary and the exit status.
pub struct Finished {
    /// The stages' counters, summed over workers.
    pub counters: Counters,
    /// Hosts that alerted.
    pub inventory: Inventory,
    /// The hub's final figures.
    pub hub: HubReport,
    /// The report could not be written.
    pub report_error: Option<String>,
}

/// Run `driver` over the engine with `workers` workers and the outputs; then finish every
/// output. Errors that stop the run before it starts are returned as one line.
pub fn run<D: Driver>(
    engine: &Engine,
    outputs: Outputs,
    workers: usize,
    driver: &mut D,
    stats: &mut ScanStats,
) -> Result<Finished, String> {
    let Outputs {
        hub,
        format,
        metrics,
        report,
        metrics_linger,
        ..
    } = outputs;
    let (counters, inventory, mut hub) = if let Some(feeds) = driver.take_feeds() {
        let output =
            OutputThread::start(hub).map_err(|e| format!("cannot start the output thread: {e}"))?;
        let stages = feeds.iter().map(|_| engine.stages()).collect();
        let make_sink =
            |_| -> WorkerSink { Box::new(Formatter::new(Arc::clone(&format), output.forwarder())) };
        let reader_sink: WorkerSink =
            Box::new(Formatter::new(Arc::clone(&format), output.forwarder()));
        let mut fed = FedWorkers::start(stages, feeds, make_sink, reader_sink)
            .map_err(|e| format!("cannot start worker threads: {e}"))?;
        driver.drive(&mut fed, stats);
        let counters = fed.counters();
        let (inventory, hub) = join_workers(fed.finish(), output)?;
        (counters, inventory, hub)
    } else if workers <= 1 {
        let mut stages = engine.stages();
        let mut formatter = Formatter::new(Arc::clone(&format), hub);
        {
            let mut handler = InThread {
                stages: &mut stages,
                sink: &mut formatter,
            };
            driver.drive(&mut handler, stats);
            handler.end_input();
        }
        let counters = stages.counters();
        (
            counters,
            stages.detector.inventory,
            formatter.into_forward(),
        )
    } else {
        let output =
            OutputThread::start(hub).map_err(|e| format!("cannot start the output thread: {e}"))?;
        let stages = (0..workers).map(|_| engine.stages()).collect();
        let make_sink =
            |_| -> WorkerSink { Box::new(Formatter::new(Arc::clone(&format), output.forwarder())) };
        let reader_sink: WorkerSink =
            Box::new(Formatter::new(Arc::clone(&format), output.forwarder()));
        let mut dispatcher = Dispatcher::start(
            stages,
            engine.config().decoder.clone(),
            make_sink,
            reader_sink,
        )
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
        driver.drive(&mut dispatcher, stats);
        dispatcher.drain(stats.read.packets);
        let counters = dispatcher.counters();
        let (inventory, hub) = join_workers(dispatcher.finish(), output)?;
        (counters, inventory, hub)
    };
    if let Some(m) = &metrics {
        m.set_stats(&vendorwatch::record::counters::StatsSnapshot {
            uptime_secs: 0,
            read: stats.read,
            counters,
        });
    }
    let mut report_error = None;
    if let Some(report) = &report {
        hub.add_pending_repeats(&engine.pending_repeats());
        if let Err(e) = report.write() {
            report_error = Some(format!(
                "{}: writing the report failed: {e}",
                report.path.display()
            ));
        }
    }
    let hub = hub.finish();
    if metrics.is_some() && metrics_linger > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(
            metrics_linger.min(3600.0),
        ));
    }
    Ok(Finished {
        counters,
        inventory,
        hub,
        report_error,
    })
}

/// The workers' results joined with the output thread: their inventories merged, and the hub.
fn join_workers(
    results: io::Result<Vec<WorkerResult>>,
    output: OutputThread,
) -> Result<(Inventory, OutputHub), String> {
    let hub = output.join().map_err(|e| e.to_string())?;
    let mut inventory = Inventory::default();
    for r in results.map_err(|e| e.to_string())? {
        inventory.merge(r.stages.detector.inventory);
    }
    Ok((inventory, hub))
}

/// [`run`], then what both subcommands do after it: print the summary (unless `quiet`) and
/// turn a failed EVE output, a report that could not be written or a run that could not
/// start into its exit status (`Err`). `Ok` leaves the exit status to the caller.
pub fn run_and_report<D: Driver>(
    job: SummaryJob,
    engine: &Engine,
    outputs: Outputs,
    workers: usize,
    driver: &mut D,
    stats: &mut ScanStats,
    quiet: bool,
) -> Result<Finished, i32> {
    let eve_label = outputs.eve_label.clone();
    let done = run(engine, outputs, workers, driver, stats).map_err(|line| {
        eprintln!("vendorwatch: {line}");
        EXIT_FATAL
    })?;
    if !quiet {
        print_summary(job, engine, stats, &done);
    }
    if let Some(e) = &done.hub.error {
        return Err(eve_write_failed(&eve_label, e));
    }
    if let Some(line) = &done.report_error {
        eprintln!("vendorwatch: {line}");
        return Err(EXIT_FATAL);
    }
    Ok(done)
}

/// Print the summary (unless quiet) and the network outputs' figures.
pub fn print_summary(job: SummaryJob, engine: &Engine, stats: &ScanStats, done: &Finished) {
    let mut err = io::stderr().lock();
    let suppress = engine
        .suppressor()
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let _ = write_summary(
        &mut err,
        job,
        stats,
        &done.counters,
        &done.inventory,
        &suppress,
        &done.hub,
    );
    let _ = write_sink_summary(&mut err, &done.hub.sinks);
}

/// The report format a file name's extension names; an unknown or missing extension is an
/// error (never a silent text report).
pub fn report_format_of(path: &Path, flag: &str) -> Result<ReportFormat, String> {
    ReportFormat::from_path(path).ok_or_else(|| {
        format!(
            "{}: cannot tell the report format from the file name (use .html, .json, .csv or \
             .txt, or {flag})",
            path.display()
        )
    })
}

/// The temporary file a report is written to before it replaces `path`.
fn report_temp(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// True when `path` is something other than a regular file (a FIFO, a device such as
/// /dev/stdout): written in place, as it cannot be replaced by a rename.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file())
}

/// Refuse a report path that cannot be written: a directory, or a place where the file (or
/// its temporary twin) cannot be created.
pub fn check_report_path(path: &Path) -> Result<(), String> {
    let fail = |e: io::Error| format!("{}: cannot write the report: {e}", path.display());
    if path.is_dir() {
        return Err(fail(io::Error::other("is a directory")));
    }
    if is_special(path) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map(drop)
            .map_err(fail);
    }
    // Written beside it then renamed, or in place when the directory is not writable.
    let temp = report_temp(path);
    match File::create(&temp) {
        Ok(_) => {
            let _ = std::fs::remove_file(&temp);
            Ok(())
        }
        Err(e) if path.is_file() => std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
            .map_err(|_| fail(e)),
        Err(e) => Err(fail(e)),
    }
}

/// Write a report to `path` (whole: written next to it, then renamed over it, so a failed
/// write leaves the previous report in place), or stdout.
pub fn write_report(
    report: &ReportBuilder,
    format: ReportFormat,
    path: Option<&Path>,
) -> io::Result<()> {
    let Some(p) = path else {
        let mut out = io::stdout().lock();
        report.write(&mut out, format)?;
        return out.flush();
    };
    let temp = report_temp(p);
    let special = is_special(p);
    let beside = if special {
        None
    } else {
        File::create(&temp).ok()
    };
    let Some(f) = beside else {
        // A FIFO or a device (/dev/stdout) cannot be replaced by a rename, and a directory
        // the user may not write has no room beside the file: written in place.
        let f = match special {
            true => std::fs::OpenOptions::new().write(true).open(p)?,
            false => File::create(p)?,
        };
        let mut f = io::BufWriter::new(f);
        report.write(&mut f, format)?;
        return f.flush();
    };
    let mut f = io::BufWriter::new(f);
    let written = report
        .write(&mut f, format)
        .and_then(|()| f.into_inner().map_err(|e| e.into_error()))
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(&temp, p));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}
