//! The command line: `scan` for capture files, `sigs` to check and query signature packs.
//! Flags are documented here, in one place; `--help` shows these doc comments.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::decode::{Decoder, DecoderConfig};
use crate::detect::suppress::Suppressor;
use crate::detect::{Detector, LogSelection};
use crate::flow::{FlowConfig, FlowTable};
use crate::output::eve::{EveStats, EveWriter};
use crate::output::formats::OutputFormat;
use crate::output::metrics::MetricsServer;
use crate::output::report::{AlertFacts, ReportBuilder, ReportFormat};
use crate::output::sink::{NetSink, SinkConfig, Target, write_sink_summary};
use crate::output::summary::write_summary;
use crate::pipeline::{self, ScanStats, Stages};
use crate::proto::NameBuf;
use crate::sigs::{self, Matcher, RuleSet, SigError};

/// Exit status when every input was read and every record written.
pub const EXIT_OK: i32 = 0;
/// Exit status when some input could not be read completely (the rest was still scanned).
pub const EXIT_INPUT_ERROR: i32 = 1;
/// Exit status for errors that stop the run: bad signatures, unwritable output, bad usage.
pub const EXIT_FATAL: i32 = 2;
/// Exit status base when SIGTERM or SIGINT stopped a scan: 128 + the signal number (143 for
/// SIGTERM, 130 for SIGINT), as a shell reports a process killed by it. Every record made
/// before the signal was written.
pub const EXIT_SIGNAL_BASE: i32 = 128;

/// Find hosts that still talk to a vendor's update, telemetry and licensing channels.
#[derive(Parser, Debug)]
#[command(name = "vendorwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan pcap/pcapng files (or directories of them, or `-` for stdin) and write EVE alerts.
    Scan(Box<ScanArgs>),
    /// Check, list and query signature packs.
    #[command(subcommand)]
    Sigs(SigsCommand),
    /// Host inventory from EVE alert records: which hosts still call home, over which channels
    /// and rules, first/last seen, counts, whether seen after the 2024-09-29 cut-off.
    Report(ReportArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// EVE JSON-lines files (alert records are used; other lines are ignored), `-` for stdin.
    #[arg(required = true, value_name = "EVE_FILE")]
    inputs: Vec<String>,
    /// text, json, csv or html (one self-contained page: sortable table, SVG timelines).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    format: String,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct SignatureArgs {
    /// Signature pack file or directory of `*.toml` packs (repeatable). Default: the bundled
    /// `signatures/` directory next to the binary, else the packs built into it.
    #[arg(long = "signatures", value_name = "PATH")]
    signatures: Vec<PathBuf>,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Capture files, directories (scanned recursively in name order) or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    /// Write EVE JSON lines to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Also log protocol events, matched or not: comma-separated `dns`, `tls`,
    /// `http`, or `all`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    log: Vec<String>,
    /// Seed of the EVE `community_id` flow hash (as Suricata's `community-id-seed`); use the
    /// same seed as the Zeek/Suricata sensors whose records you join with.
    #[arg(long, value_name = "N", default_value_t = 0)]
    community_id_seed: u16,
    /// Value of EVE `in_iface` (e.g. the span port the capture was taken on). Omitted when
    /// not given: a capture file does not say which sensor interface it came from.
    #[arg(long, value_name = "NAME")]
    in_iface: Option<String>,
    /// One alert per (source host, rule, matched name, observation kind) per this many
    /// seconds of packet time; repeats are counted and carried in the next alert
    /// (`alert.metadata.repeats`) and the summary. 0 turns suppression off.
    #[arg(long, value_name = "SECS", default_value_t = crate::detect::suppress::DEFAULT_WINDOW_SECS)]
    suppress_window: u64,
    /// Most (host, rule, name, kind) keys the suppression table holds; beyond it the oldest
    /// are evicted and counted.
    #[arg(long, value_name = "N", default_value_t = crate::detect::suppress::DEFAULT_CAPACITY)]
    suppress_capacity: usize,
    /// Record shape: `eve` (Suricata EVE JSON), `ecs` (Elastic Common Schema JSON) or
    /// `zeek-intel` (Zeek intel.log JSON; alerts only, --log events are not written).
    #[arg(long, value_name = "FORMAT", default_value = "eve")]
    format: String,
    /// EVE DNS object version: 3 (Suricata 8's default) or 2 (one record per query or
    /// response, `type: query|answer`, `rrname`/`rrtype` at the top of `dns`).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=3))]
    eve_dns_version: u8,
    /// Also send every record to syslog (RFC 5424, the record as MSG, facility local5):
    /// `udp://host:port`, `tcp://host:port` (octet-counted framing) or `unix:/path`.
    /// Repeatable.
    #[arg(long, value_name = "URL")]
    syslog: Vec<String>,
    /// Also send every record to Redis, `redis://host:port/[db]` (as Suricata's Redis
    /// output). Repeatable.
    #[arg(long, value_name = "URL")]
    redis: Vec<String>,
    /// Redis list or stream key.
    #[arg(long, value_name = "KEY", default_value = "vendorwatch")]
    redis_key: String,
    /// `list` (RPUSH) or `stream` (XADD key * eve JSON).
    #[arg(long, value_name = "MODE", default_value = "list")]
    redis_mode: String,
    /// Records each network output holds while its server is down; beyond it the oldest
    /// are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    sink_buffer: usize,
    /// Seconds each network output may keep trying to deliver what it holds at exit.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    sink_drain: f64,
    /// Write an `event_type: stats` record (Suricata's shape) at the end of the scan.
    #[arg(long)]
    stats: bool,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics while the scan runs (counters are
    /// listed in the README).
    #[arg(long, value_name = "ADDR:PORT")]
    metrics_listen: Option<String>,
    /// Keep serving metrics this many seconds after the scan ends (for a last scrape).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    metrics_linger: f64,
    /// At the end of the scan, write the host inventory report to FILE (format from the
    /// extension: .txt, .json, .csv, .html; or --report-format).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Format of --report: text, json, csv or html.
    #[arg(long, value_name = "FORMAT")]
    report_format: Option<String>,
    /// Do not print the summary on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Also decode UDP to PORT as VXLAN (repeatable; 4789 always is).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    vxlan_ports: Vec<u16>,
    #[command(flatten)]
    flow: FlowArgs,
    #[command(flatten)]
    sigs: SignatureArgs,
}

/// Limits of the TCP flow table and reassembly.
#[derive(Args, Debug, Clone)]
struct FlowArgs {
    /// Most TCP flows tracked at once; beyond it the least recently used flow is evicted
    /// (counted in the summary).
    #[arg(long, value_name = "N", default_value_t = FlowConfig::default().max_flows)]
    max_flows: usize,
    /// Most memory, in KiB, held by TCP reassembly buffers over all flows; segments beyond it
    /// are refused (counted).
    #[arg(long, value_name = "KIB", default_value_t = FlowConfig::default().max_reasm_bytes / 1024)]
    reassembly_memory: usize,
    /// Bytes of a client's first flight buffered to find a ClientHello or HTTP request head
    /// split over segments.
    #[arg(long, value_name = "BYTES", default_value_t = FlowConfig::default().first_flight_limit)]
    first_flight_limit: usize,
    /// Seconds (of capture time) without packets after which a flow is dropped.
    #[arg(long, value_name = "SECS", default_value_t = FlowConfig::default().idle_timeout_secs)]
    flow_timeout: i64,
}

impl FlowArgs {
    fn config(&self) -> FlowConfig {
        FlowConfig {
            max_flows: self.max_flows.max(1),
            max_reasm_bytes: self.reassembly_memory.saturating_mul(1024),
            first_flight_limit: self.first_flight_limit,
            idle_timeout_secs: self.flow_timeout.max(1),
        }
    }
}

#[derive(Subcommand, Debug)]
enum SigsCommand {
    /// Load the packs and report every error as `file:line:col: message`.
    Check(SignatureArgs),
    /// List the rules of the loaded packs.
    List(SignatureArgs),
    /// Say which rules match NAME (a domain name or an IP address), best first.
    Test {
        /// Name or address to test.
        name: String,
        #[command(flatten)]
        sigs: SignatureArgs,
    },
}

/// Entry point used by `main.rs`; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_FATAL } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Scan(args) => run_scan(*args),
        Command::Sigs(cmd) => run_sigs(cmd),
        Command::Report(args) => run_report(args),
    }
}

/// Load the packs the user named, or the bundled ones.
fn load_rules(args: &SignatureArgs) -> Result<RuleSet, Vec<SigError>> {
    if !args.signatures.is_empty() {
        return RuleSet::load(&args.signatures);
    }
    match sigs::default_signature_dir() {
        Some(dir) => RuleSet::load(&[dir]),
        None => RuleSet::bundled(),
    }
}

fn report_sig_errors(errors: &[SigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!(
        "vendorwatch: {} signature error(s); nothing scanned",
        errors.len()
    );
}

fn parse_log(list: &[String]) -> Result<LogSelection, String> {
    let mut log = LogSelection::default();
    for item in list {
        match item.trim() {
            "dns" => log.dns = true,
            "tls" => log.tls = true,
            "http" => log.http = true,
            "all" => {
                log.dns = true;
                log.tls = true;
                log.http = true;
            }
            "" => {}
            other => {
                return Err(format!(
                    "unknown --log value {other:?} (expected dns, tls, http or all)"
                ));
            }
        }
    }
    Ok(log)
}

fn run_report(args: ReportArgs) -> i32 {
    let Some(format) = ReportFormat::parse(&args.format) else {
        eprintln!(
            "vendorwatch: unknown --format {:?} (expected text, json, csv or html)",
            args.format
        );
        return EXIT_FATAL;
    };
    let mut report = ReportBuilder::default();
    let mut status = EXIT_OK;
    for input in &args.inputs {
        let result = if input == "-" {
            report.add_eve_reader(io::stdin().lock())
        } else {
            File::open(input).and_then(|f| report.add_eve_reader(io::BufReader::new(f)))
        };
        if let Err(e) = result {
            eprintln!("vendorwatch: {input}: {e}");
            status = EXIT_INPUT_ERROR;
        }
    }
    if report.bad_lines > 0 {
        eprintln!(
            "vendorwatch: {} line(s) were not EVE JSON and were skipped",
            report.bad_lines
        );
    }
    match write_report(&report, format, args.output.as_deref()) {
        Ok(()) => status,
        Err(e) => {
            eprintln!("vendorwatch: writing the report failed: {e}");
            EXIT_FATAL
        }
    }
}

fn write_report(
    report: &ReportBuilder,
    format: ReportFormat,
    path: Option<&std::path::Path>,
) -> io::Result<()> {
    match path {
        Some(p) => {
            let mut f = io::BufWriter::new(File::create(p)?);
            report.write(&mut f, format)?;
            f.flush()
        }
        None => {
            let mut out = io::stdout().lock();
            report.write(&mut out, format)?;
            out.flush()
        }
    }
}

/// Repeats still held by suppression at exit go into `scan --report` counts, so the report's
/// totals equal the summary's.
fn add_pending_repeats(report: &mut ReportBuilder, detector: &Detector) {
    let rules = detector.rules();
    for (key, pending, last) in detector.suppress.pending_repeats() {
        let Some(rule) = rules.rules.iter().find(|r| r.sid == key.sid) else {
            continue;
        };
        let vendor = rules.packs.get(rule.pack).map_or("", |p| p.vendor.as_str());
        report.add_repeats(&AlertFacts {
            host: &key.host.to_string(),
            vendor,
            channel: &rule.channel,
            sid: u64::from(rule.sid),
            signature: &rule.name,
            name: &key.name,
            ts: last,
            count: pending,
        });
    }
}

fn run_scan(args: ScanArgs) -> i32 {
    let started = std::time::Instant::now();
    let Some(output_format) = OutputFormat::parse(&args.format) else {
        eprintln!(
            "vendorwatch: unknown --format {:?} (expected eve, ecs or zeek-intel)",
            args.format
        );
        return EXIT_FATAL;
    };
    let report_format = match (&args.report, &args.report_format) {
        (_, Some(f)) => match ReportFormat::parse(f) {
            Some(f) => Some(f),
            None => {
                eprintln!(
                    "vendorwatch: unknown --report-format {f:?} (expected text, json, csv or html)"
                );
                return EXIT_FATAL;
            }
        },
        (Some(path), None) => Some(ReportFormat::from_path(path).unwrap_or(ReportFormat::Text)),
        (None, None) => None,
    };
    let log = match parse_log(&args.log) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("vendorwatch: {e}");
            return EXIT_FATAL;
        }
    };
    let rules = match load_rules(&args.sigs) {
        Ok(r) => r,
        Err(errors) => {
            report_sig_errors(&errors);
            return EXIT_FATAL;
        }
    };
    let mut targets = Vec::new();
    for spec in &args.syslog {
        match Target::syslog(spec) {
            Ok(t) => targets.push(t),
            Err(e) => {
                eprintln!("vendorwatch: {e}");
                return EXIT_FATAL;
            }
        }
    }
    for url in &args.redis {
        match Target::redis(url, &args.redis_key, &args.redis_mode) {
            Ok(t) => targets.push(t),
            Err(e) => {
                eprintln!("vendorwatch: {e}");
                return EXIT_FATAL;
            }
        }
    }
    let sink: Box<dyn Write> = match &args.eve {
        Some(path) => match File::create(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!(
                    "vendorwatch: {}: cannot create EVE file: {e}",
                    path.display()
                );
                return EXIT_FATAL;
            }
        },
        // EVE goes to stdout unless another output was named.
        None if !targets.is_empty() => Box::new(io::sink()),
        None => Box::new(io::stdout().lock()),
    };
    if let Err(e) = pipeline::install_stop_handlers() {
        eprintln!("vendorwatch: cannot install signal handlers: {e}");
        return EXIT_FATAL;
    }
    let mut out = EveWriter::new(sink);
    out.set_community_id_seed(args.community_id_seed);
    let sink_config = SinkConfig {
        buffer: args.sink_buffer.max(1),
        drain: std::time::Duration::from_secs_f64(args.sink_drain.clamp(0.0, 3600.0)),
    };
    for target in targets {
        match NetSink::start(target, sink_config) {
            Ok(s) => out.add_sink(s),
            Err(e) => {
                eprintln!("vendorwatch: cannot start an output thread: {e}");
                return EXIT_FATAL;
            }
        }
    }
    out.set_format(output_format);
    out.set_dns_version(args.eve_dns_version);
    if args.report.is_some() {
        out.enable_report();
    }
    if let Some(iface) = &args.in_iface {
        out.set_in_iface(iface);
    }
    let metrics = match &args.metrics_listen {
        Some(addr) => match MetricsServer::start(addr) {
            Ok(m) => {
                m.set_sinks(out.sink_stats());
                Some(m)
            }
            Err(e) => {
                eprintln!("vendorwatch: --metrics-listen {addr}: {e}");
                return EXIT_FATAL;
            }
        },
        None => None,
    };
    let mut detector = Detector::new(rules, log);
    detector.suppress = Suppressor::new(args.suppress_window, args.suppress_capacity);
    let mut stats = ScanStats::default();
    let inputs = pipeline::expand_inputs(&args.inputs, &mut stats);
    let mut config = DecoderConfig::default();
    config.vxlan_ports.extend(&args.vxlan_ports);
    let mut stages = Stages {
        decoder: Decoder::new(config),
        flows: FlowTable::new(args.flow.config()),
        detector,
    };
    match &metrics {
        Some(m) => pipeline::scan_with_tick(
            &inputs,
            &mut stages,
            &mut out,
            &mut stats,
            &mut |s, d, o| m.update(s, d, o),
        ),
        None => pipeline::scan(&inputs, &mut stages, &mut out, &mut stats),
    }
    let detector = stages.detector;
    if let Some(m) = &metrics {
        m.update(&stats, &detector, &out);
    }
    if args.stats {
        out.write_stats(&EveStats {
            uptime_secs: started.elapsed().as_secs(),
            packets: stats.packets,
            bytes: stats.bytes,
            invalid: stats.skipped.iter().sum(),
            dns_messages: detector.stats.dns_messages,
            client_hellos: detector.stats.client_hellos,
            http_requests: detector.stats.http_requests,
            alerts: detector.stats.alerts,
            suppressed: detector.suppress.suppressed,
        });
    }
    let written = out.records();
    let mut report = out.take_report();
    if let Some(report) = &mut report {
        add_pending_repeats(report, &detector);
    }
    let sink_reports = out.close_sinks();
    if metrics.is_some() && args.metrics_linger > 0.0 {
        std::thread::sleep(std::time::Duration::from_secs_f64(
            args.metrics_linger.min(3600.0),
        ));
    }
    let output_result = out.finish();
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = write_summary(
            &mut err,
            &stats,
            &detector.stats,
            &detector.inventory,
            &detector.suppress,
            written,
        );
        let _ = write_sink_summary(&mut err, &sink_reports);
    }
    if let Err(e) = output_result {
        let target = args
            .eve
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        eprintln!("vendorwatch: {target}: writing EVE records failed: {e}");
        return EXIT_FATAL;
    }
    if let (Some(path), Some(format), Some(report)) = (&args.report, report_format, &report)
        && let Err(e) = write_report(report, format, Some(path))
    {
        eprintln!(
            "vendorwatch: {}: writing the report failed: {e}",
            path.display()
        );
        return EXIT_FATAL;
    }
    if let Some(sig) = stats.stopped_by {
        eprintln!(
            "vendorwatch: stopped by signal {sig} after {} packet(s); {written} record(s) written",
            stats.packets
        );
        return EXIT_SIGNAL_BASE + sig;
    }
    if stats.files_failed > 0 || !stats.errors.is_empty() {
        EXIT_INPUT_ERROR
    } else {
        EXIT_OK
    }
}

fn run_sigs(cmd: SigsCommand) -> i32 {
    let sig_args = match &cmd {
        SigsCommand::Check(a) | SigsCommand::List(a) => a,
        SigsCommand::Test { sigs, .. } => sigs,
    };
    let rules = match load_rules(sig_args) {
        Ok(r) => r,
        Err(errors) => {
            report_sig_errors(&errors);
            return EXIT_FATAL;
        }
    };
    match cmd {
        SigsCommand::Check(_) => {
            let enabled = rules.rules.iter().filter(|r| r.enabled).count();
            println!(
                "ok: {} pack(s), {} rule(s) ({} enabled)",
                rules.packs.len(),
                rules.rules.len(),
                enabled
            );
            EXIT_OK
        }
        SigsCommand::List(_) => {
            for rule in &rules.rules {
                let pack = rules.packs.get(rule.pack).map_or("?", |p| p.id.as_str());
                println!(
                    "{}\t{}\t{}\tseverity {}\t{}\t{} domain(s), {} ip(s){}",
                    rule.sid,
                    pack,
                    rule.channel,
                    rule.severity,
                    rule.name,
                    rule.domains.len(),
                    rule.ips.len(),
                    if rule.enabled { "" } else { "\tdisabled" }
                );
            }
            EXIT_OK
        }
        SigsCommand::Test { name, .. } => sigs_test(&rules, &name),
    }
}

/// `sigs test NAME`: exit 0 and list the rules when something matches, 1 when nothing does.
fn sigs_test(rules: &RuleSet, name: &str) -> i32 {
    let matcher = Matcher::new(rules);
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return match matcher.match_ip(ip) {
            Some(m) => {
                let rule = &rules.rules[m.rule];
                let pattern = rule.ips.get(m.pattern).map_or("", String::as_str);
                println!(
                    "{ip}: sid {} {:?} (channel {}, pattern {pattern})",
                    rule.sid, rule.name, rule.channel
                );
                EXIT_OK
            }
            None => {
                println!("{ip}: no rule matches");
                EXIT_INPUT_ERROR
            }
        };
    }
    let mut norm = NameBuf::new();
    if !sigs::normalise_name(name.as_bytes(), &mut norm) {
        eprintln!("vendorwatch: name too long: {name}");
        return EXIT_FATAL;
    }
    let matches = matcher.explain(norm.as_bytes());
    let shown = String::from_utf8_lossy(norm.as_bytes());
    if matches.is_empty() {
        println!("{shown}: no rule matches");
        return EXIT_INPUT_ERROR;
    }
    for (i, m) in matches.iter().enumerate() {
        let rule = &rules.rules[m.rule];
        let pattern = rule.domains.get(m.pattern).map_or("", String::as_str);
        println!(
            "{shown}: {}sid {} {:?} (channel {}, severity {}, pattern {pattern})",
            if i == 0 { "" } else { "also " },
            rule.sid,
            rule.name,
            rule.channel,
            rule.severity
        );
    }
    EXIT_OK
}
