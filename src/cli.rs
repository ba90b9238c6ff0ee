//! The command line: `scan` for capture files, `sigs` to check and query signature packs.
//! Flags are documented here, in one place; `--help` shows these doc comments.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::decode::{Decoder, DecoderConfig, DefragConfig};
use crate::detect::answers::ResolvedIps;
use crate::detect::suppress::Suppressor;
use crate::detect::{Detector, LogSelection};
use crate::flow::quic::{QuicConfig, QuicFlows};
use crate::flow::{FlowConfig, FlowTable};
use crate::output::eve::EveWriter;
use crate::output::formats::OutputFormat;
use crate::output::metrics::MetricsServer;
use crate::output::report::{AlertFacts, ReportBuilder, ReportFormat};
use crate::output::sink::{NetSink, SinkConfig, Target, write_sink_summary};
use crate::output::summary::write_summary;
use crate::pipeline::{self, ScanStats, Stages};
use crate::proto::NameBuf;
use crate::sigs::import::{ImportFormat, ImportOptions};
use crate::sigs::{self, MatchOptions, Matcher, RuleSet, SigError};

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
    /// Capture live on one or more interfaces (libpcap) and write EVE alerts until stopped
    /// (SIGINT/SIGTERM); SIGHUP reloads signatures and reopens the --eve file.
    Live(Box<LiveArgs>),
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
pub(crate) struct SignatureArgs {
    /// Signature pack file or directory of `*.toml` packs (repeatable). Default: the bundled
    /// `signatures/` directory next to the binary, else the packs built into it.
    #[arg(long = "signatures", value_name = "PATH")]
    signatures: Vec<PathBuf>,
    /// Use only these packs (comma-separated pack ids, e.g. `kaspersky,dahua`); default: all
    /// loaded packs. `sigs list` shows the ids.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    packs: Vec<String>,
}

/// How many worker threads: `--workers N`, default cores - 1, at least 1.
#[derive(Args, Debug, Clone)]
pub(crate) struct WorkerArgs {
    /// Worker threads decoding and matching (default: cores - 1, at least 1). With 1 the
    /// stages run in the reader's thread and records come out in packet order; with more, a
    /// symmetric flow hash picks the worker (both directions of a flow meet on one worker) and
    /// records of different flows may come out in another order.
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
}

impl WorkerArgs {
    pub(crate) fn count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .saturating_sub(1)
            })
            .max(1)
    }
}

/// Options of `live`.
#[derive(Args, Debug)]
pub(crate) struct LiveArgs {
    /// Interface to capture on (repeatable). When one of several fails while running, the
    /// others go on and the loss is reported.
    #[arg(short = 'i', long = "interface", value_name = "IFACE", required = true)]
    pub(crate) interfaces: Vec<String>,
    /// BPF filter (tcpdump syntax). Default: none, every packet (tunnels and odd ports matter).
    #[arg(long, value_name = "FILTER")]
    pub(crate) bpf: Option<String>,
    /// Bytes kept of each packet.
    #[arg(long, value_name = "BYTES", default_value_t = 262_144)]
    pub(crate) snaplen: i32,
    /// Kernel capture buffer per interface, in bytes (libpcap's default when not given).
    #[arg(long, value_name = "BYTES")]
    pub(crate) buffer_size: Option<i32>,
    /// Do not put the interfaces in promiscuous mode.
    #[arg(long)]
    pub(crate) no_promisc: bool,
    /// Write an EVE `stats` record every SECS seconds (0: only at exit).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) stats_interval: u64,
    /// After opening the capture, switch to this user (as tcpdump -Z).
    #[arg(long, value_name = "NAME")]
    pub(crate) user: Option<String>,
    /// Append EVE JSON lines to FILE (created when missing) instead of stdout; reopened on
    /// SIGHUP (logrotate).
    #[arg(long, value_name = "FILE")]
    pub(crate) eve: Option<PathBuf>,
    /// Also log protocol events, matched or not: comma-separated `dns`, `tls`,
    /// `http`, or `all`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub(crate) log: Vec<String>,
    /// Do not print the summary on stderr at exit.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Also decode UDP to PORT as VXLAN (repeatable; 4789 always is).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    pub(crate) vxlan_ports: Vec<u16>,
    /// One alert per (source host, rule, matched name, observation kind) per this many
    /// seconds; repeats are counted. 0 turns suppression off.
    #[arg(long, value_name = "SECS", default_value_t = crate::detect::suppress::DEFAULT_WINDOW_SECS)]
    pub(crate) suppress_window: u64,
    /// Most keys the suppression table holds; the oldest are evicted (counted).
    #[arg(long, value_name = "N", default_value_t = crate::detect::suppress::DEFAULT_CAPACITY)]
    pub(crate) suppress_capacity: usize,
    #[command(flatten)]
    pub(crate) workers: WorkerArgs,
    #[command(flatten)]
    pub(crate) flow: FlowArgs,
    #[command(flatten)]
    pub(crate) sigs: SignatureArgs,
}

#[derive(Args, Debug)]
struct ScanArgs {
    /// Capture files, directories (scanned recursively in name order) or `-` for stdin.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    /// Append EVE JSON lines to FILE (created when missing, as Suricata does) instead of stdout.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Also log protocol events, matched or not: comma-separated `dns`, `tls`,
    /// `http`, `quic` (ClientHellos of QUIC Initials), or `all`.
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
    workers: WorkerArgs,
    #[command(flatten)]
    flow: FlowArgs,
    /// Match the `ports` of every rule (e.g. the Kaspersky Security Center server ports).
    /// Off by default because ports are reused by other software; a pack can turn on its
    /// own with `port_rules = true`.
    #[arg(long)]
    enable_port_rules: bool,
    #[command(flatten)]
    sigs: SignatureArgs,
}

/// Limits of the TCP flow table and reassembly.
#[derive(Args, Debug, Clone)]
pub(crate) struct FlowArgs {
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
    /// Most memory, in KiB, held by incomplete IP datagrams (fragment reassembly); the oldest
    /// are evicted first (counted).
    #[arg(long, value_name = "KIB", default_value_t = DefragConfig::default().memcap / 1024)]
    defrag_memory: usize,
    /// Most incomplete IP datagrams held at once; the oldest is evicted (counted).
    #[arg(long, value_name = "N", default_value_t = DefragConfig::default().max_datagrams)]
    defrag_max_datagrams: usize,
    /// Seconds (of capture time) before an incomplete IP datagram is dropped (counted).
    #[arg(long, value_name = "SECS", default_value_t = DefragConfig::default().timeout_secs)]
    defrag_timeout: i64,
    /// Most QUIC connections with an incomplete ClientHello held at once; the oldest is
    /// evicted (counted).
    #[arg(long, value_name = "N", default_value_t = QuicConfig::default().max_pending)]
    quic_max_pending: usize,
    /// Most memory, in KiB, buffered for incomplete QUIC ClientHellos; the oldest connections
    /// are evicted first (counted).
    #[arg(long, value_name = "KIB", default_value_t = QuicConfig::default().max_bytes / 1024)]
    quic_memory: usize,
    /// Most addresses remembered from DNS answers to matched names (for `resolved-ip`); the
    /// oldest is evicted (counted).
    #[arg(long, value_name = "N", default_value_t = crate::detect::RESOLVED_CAPACITY)]
    pub(crate) resolved_capacity: usize,
}

impl FlowArgs {
    pub(crate) fn config(&self) -> FlowConfig {
        FlowConfig {
            max_flows: self.max_flows.max(1),
            max_reasm_bytes: self.reassembly_memory.saturating_mul(1024),
            first_flight_limit: self.first_flight_limit,
            idle_timeout_secs: self.flow_timeout.max(1),
        }
    }

    /// Fragment reassembly caps from the flags.
    pub(crate) fn defrag_config(&self) -> DefragConfig {
        DefragConfig {
            memcap: self.defrag_memory.saturating_mul(1024),
            timeout_secs: self.defrag_timeout.max(1),
            max_datagrams: self.defrag_max_datagrams.max(1),
        }
    }

    /// QUIC Initial table caps from the flags.
    pub(crate) fn quic_config(&self) -> QuicConfig {
        QuicConfig {
            max_pending: self.quic_max_pending.max(1),
            max_bytes: self.quic_memory.saturating_mul(1024),
        }
    }
}

#[derive(Subcommand, Debug)]
enum SigsCommand {
    /// Load the packs, report every error as `file:line:col: message`, print counts per pack
    /// and channel.
    Check {
        /// Pack files or directories to check (same as --signatures).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        sigs: SignatureArgs,
    },
    /// List the rules of the loaded packs as a table.
    List(SignatureArgs),
    /// Say which rules match NAME (a domain name, an IP address, or a port such as
    /// tcp/13000), best first, and why close patterns do not.
    Test {
        /// Name, address or port to test.
        name: String,
        #[command(flatten)]
        sigs: SignatureArgs,
    },
    /// Turn domain lists, hosts files, Suricata datasets or Zeek intel files into a pack.
    Import(ImportArgs),
}

#[derive(Args, Debug)]
struct ImportArgs {
    /// Input format: domains (one per line), hosts (`0.0.0.0 name`), suricata-dataset
    /// (`type string`: base64 lines), zeek-intel (`#fields` header, Intel::DOMAIN/ADDR rows).
    #[arg(long, value_name = "FORMAT")]
    format: String,
    /// Channel of the rules: update, telemetry, activation, management, portal or other.
    #[arg(long, value_name = "CHANNEL")]
    channel: String,
    /// sid of the first rule (one rule per input file, sids counting up).
    #[arg(long, value_name = "N")]
    sid_start: u32,
    /// Pack id (default: the output file's name without extension, else the first input's).
    #[arg(long, value_name = "ID")]
    pack_id: Option<String>,
    /// Vendor shown in alerts.
    #[arg(long, value_name = "V", default_value = "Imported")]
    vendor: String,
    /// Pack version (default: "imported").
    #[arg(long, value_name = "VERSION", default_value = "imported")]
    version: String,
    /// EVE severity of the rules, 1 (high) to 3 (low).
    #[arg(long, value_name = "S", default_value_t = 2)]
    severity: u8,
    /// Match each listed name and everything below it (`.name`), not just the exact name.
    #[arg(long)]
    subdomains: bool,
    /// Suricata dataset type: string (sha256 and md5 hold hashes and are rejected).
    #[arg(long, value_name = "TYPE", default_value = "string")]
    dataset_type: String,
    /// Write the pack to OUT (default: stdout).
    #[arg(short, long, value_name = "OUT.toml")]
    output: Option<PathBuf>,
    /// Put each rule's domains in a plain list `OUT.SID.domains` next to OUT (referenced by
    /// `domains_file`) instead of inline TOML: loads much faster for big feeds. Needs -o.
    #[arg(long, requires = "output")]
    domains_file: bool,
    /// Input files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
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
        Command::Live(args) => crate::live::run(*args),
        Command::Sigs(cmd) => run_sigs(cmd),
        Command::Report(args) => run_report(args),
    }
}

/// Load the packs the user named, or the bundled ones.
pub(crate) fn load_rules(args: &SignatureArgs) -> Result<RuleSet, Vec<SigError>> {
    let all = if !args.signatures.is_empty() {
        RuleSet::load(&args.signatures)?
    } else {
        match sigs::default_signature_dir() {
            Some(dir) => RuleSet::load(&[dir])?,
            None => RuleSet::bundled()?,
        }
    };
    if args.packs.is_empty() {
        return Ok(all);
    }
    all.select(&args.packs).map_err(|message| {
        vec![SigError {
            file: PathBuf::from("--packs"),
            line: 0,
            col: 0,
            message,
        }]
    })
}

/// `--log` and the signature packs of `scan` and `live`, each error reported on stderr; the
/// exit status when either is bad.
pub(crate) fn log_and_rules(
    log: &[String],
    sigs: &SignatureArgs,
) -> Result<(LogSelection, RuleSet), i32> {
    let log = parse_log(log).map_err(|e| {
        eprintln!("vendorwatch: {e}");
        EXIT_FATAL
    })?;
    let rules = load_rules(sigs).map_err(|errors| {
        report_sig_errors(&errors);
        EXIT_FATAL
    })?;
    Ok((log, rules))
}

pub(crate) fn report_sig_errors(errors: &[SigError]) {
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
            "quic" => log.quic = true,
            "all" => {
                log.dns = true;
                log.tls = true;
                log.http = true;
                log.quic = true;
            }
            "" => {}
            other => {
                return Err(format!(
                    "unknown --log value {other:?} (expected dns, tls, http, quic or all)"
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
    let (log, rules) = match log_and_rules(&args.log, &args.sigs) {
        Ok(both) => both,
        Err(status) => return status,
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
        Some(path) => match crate::output::reopen::open_eve(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("vendorwatch: {}: cannot open EVE file: {e}", path.display());
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
    let workers = args.workers.count();
    let parallel_ok = targets.is_empty() && args.report.is_none() && args.metrics_listen.is_none();
    if workers > 1 && !parallel_ok && args.workers.workers.is_some() {
        eprintln!(
            "vendorwatch: --workers: --syslog, --redis, --report and --metrics-listen run with one worker"
        );
    }
    if workers > 1 && parallel_ok {
        drop(sink);
        return run_scan_parallel(&args, rules, log, output_format, workers, started);
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
    let mut stats = ScanStats::default();
    let inputs = pipeline::expand_inputs(&args.inputs, &mut stats);
    let mut stages = scan_stages(&args, rules, log);
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
    if let Some(m) = &metrics {
        m.update(&stats, &stages.detector, &out);
    }
    if args.stats {
        out.write_stats(&crate::output::stats::StatsInput {
            uptime_secs: started.elapsed().as_secs(),
            capture: None,
            packets: stats.packets,
            bytes: stats.bytes,
            invalid: stats.skipped.iter().sum(),
            counters: stages.counters(),
        });
    }
    let detector = stages.detector;
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
        return eve_write_failed(args.eve.as_deref(), &e);
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
    scan_exit_status(&stats, written)
}

/// One set of stages for `scan`, configured from its flags (caps, port rules, suppression);
/// one per worker with `--workers N`.
fn scan_stages(args: &ScanArgs, rules: RuleSet, log: LogSelection) -> Stages {
    let options = MatchOptions {
        enable_port_rules: args.enable_port_rules,
    };
    let mut detector = Detector::with_options(rules, log, options);
    detector.suppress = Suppressor::new(args.suppress_window, args.suppress_capacity);
    detector.resolved = ResolvedIps::new(args.flow.resolved_capacity);
    let mut config = DecoderConfig::default();
    config.vxlan_ports.extend(&args.vxlan_ports);
    config.defrag = args.flow.defrag_config();
    let mut flows = FlowTable::new(args.flow.config());
    flows.quic = QuicFlows::new(args.flow.quic_config());
    Stages {
        decoder: Decoder::new(config),
        flows,
        detector,
        rules_generation: crate::parallel::RULES.generation(),
    }
}

fn run_scan_parallel(
    args: &ScanArgs,
    rules: RuleSet,
    log: LogSelection,
    format: OutputFormat,
    workers: usize,
    started: std::time::Instant,
) -> i32 {
    let sink: Box<dyn Write + Send> = match &args.eve {
        Some(path) => match crate::output::reopen::open_eve(path) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("vendorwatch: {}: cannot open EVE file: {e}", path.display());
                return EXIT_FATAL;
            }
        },
        None => Box::new(io::stdout()),
    };
    let mut stats = ScanStats::default();
    let inputs = pipeline::expand_inputs(&args.inputs, &mut stats);
    let mut config = DecoderConfig::default();
    config.vxlan_ports.extend(&args.vxlan_ports);
    config.defrag = args.flow.defrag_config();
    let all: Vec<Stages> = (0..workers)
        .map(|_| scan_stages(args, rules.clone(), log))
        .collect();
    let (seed, dns_version, iface) = (
        args.community_id_seed,
        args.eve_dns_version,
        args.in_iface.clone(),
    );
    let configure = std::sync::Arc::new(move |out: &mut EveWriter| {
        out.set_community_id_seed(seed);
        out.set_format(format);
        out.set_dns_version(dns_version);
        if let Some(i) = &iface {
            out.set_in_iface(i);
        }
    });
    let mut dispatcher = match crate::parallel::Dispatcher::start(all, config, sink, configure) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("vendorwatch: cannot start worker threads: {e}");
            return EXIT_FATAL;
        }
    };
    pipeline::scan_with(&inputs, &mut dispatcher, &mut stats);
    if args.stats && format == OutputFormat::Eve {
        dispatcher.drain(stats.packets);
        crate::live::write_stats_record(&mut dispatcher, &stats, None, started);
    }
    let lines = dispatcher.lines_written();
    let (results, output_result) = dispatcher.finish();
    let merged = crate::parallel::merge_results(results, &mut stats);
    let written = merged.records + lines;
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = write_summary(
            &mut err,
            &stats,
            &merged.detect,
            &merged.inventory,
            &merged.suppress,
            written,
        );
    }
    if let Err(e) = output_result {
        return eve_write_failed(args.eve.as_deref(), &e);
    }
    scan_exit_status(&stats, written)
}

/// Report that the EVE output (`--eve` FILE, else stdout) failed; the exit status for it.
pub(crate) fn eve_write_failed(eve: Option<&std::path::Path>, e: &io::Error) -> i32 {
    let target = eve.map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
    eprintln!("vendorwatch: {target}: writing EVE records failed: {e}");
    EXIT_FATAL
}

/// The exit status of a scan that wrote its output: stopped by a signal, an input not read
/// to its end, or all well.
fn scan_exit_status(stats: &ScanStats, written: u64) -> i32 {
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
        SigsCommand::Check { paths, sigs } => {
            let mut all = sigs.clone();
            all.signatures.extend(paths.iter().cloned());
            all
        }
        SigsCommand::List(a) => a.clone(),
        SigsCommand::Test { sigs, .. } => sigs.clone(),
        SigsCommand::Import(args) => return run_import(args),
    };
    let rules = match load_rules(&sig_args) {
        Ok(r) => r,
        Err(errors) => {
            report_sig_errors(&errors);
            return EXIT_FATAL;
        }
    };
    match cmd {
        SigsCommand::Check { .. } => {
            print!("{}", sigs_check_report(&rules));
            EXIT_OK
        }
        SigsCommand::List(_) => {
            print!("{}", sigs_list_table(&rules));
            EXIT_OK
        }
        SigsCommand::Test { name, .. } => sigs_test(&rules, &name),
        SigsCommand::Import(_) => EXIT_FATAL,
    }
}

/// `sigs check`: per pack, then per channel, the number of rules and indicators.
pub fn sigs_check_report(rules: &RuleSet) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let enabled = rules.rules.iter().filter(|r| r.enabled).count();
    let _ = writeln!(
        out,
        "ok: {} pack(s), {} rule(s) ({} enabled)",
        rules.packs.len(),
        rules.rules.len(),
        enabled
    );
    for (pi, pack) in rules.packs.iter().enumerate() {
        let _ = writeln!(
            out,
            "\npack {} ({}, version {}) from {}{}",
            pack.id,
            pack.vendor,
            pack.version,
            pack.file.display(),
            if pack.port_rules {
                ", port rules on"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "  {:<11} {:>6} {:>8} {:>9} {:>6} {:>6} {:>5}",
            "channel", "rules", "enabled", "domains", "ips", "ports", "ja4"
        );
        let mut total = [0usize; 6];
        for channel in sigs::CHANNELS {
            let mut c = [0usize; 6];
            for r in rules
                .rules
                .iter()
                .filter(|r| r.pack == pi && r.channel == *channel)
            {
                c[0] += 1;
                c[1] += usize::from(r.enabled);
                c[2] += r.domains.len();
                c[3] += r.ips.len();
                c[4] += r.ports.len();
                c[5] += r.ja4.len();
            }
            if c[0] == 0 {
                continue;
            }
            for (t, v) in total.iter_mut().zip(c) {
                *t += v;
            }
            let _ = writeln!(
                out,
                "  {:<11} {:>6} {:>8} {:>9} {:>6} {:>6} {:>5}",
                channel, c[0], c[1], c[2], c[3], c[4], c[5]
            );
        }
        let _ = writeln!(
            out,
            "  {:<11} {:>6} {:>8} {:>9} {:>6} {:>6} {:>5}",
            "total", total[0], total[1], total[2], total[3], total[4], total[5]
        );
        if total[4] > 0 && !pack.port_rules {
            let _ = writeln!(
                out,
                "  ports are matched only with `scan --enable-port-rules` (or port_rules = true)"
            );
        }
        if total[5] > 0 {
            let _ = writeln!(out, "  ja4 fingerprints are stored, not matched yet");
        }
        let of_pack = || rules.rules.iter().filter(|r| r.pack == pi);
        let payloads: usize = of_pack().map(|r| r.payloads.len()).sum();
        let uas: usize = of_pack().map(|r| r.user_agents.len()).sum();
        let pass: usize = of_pack().filter(|r| r.pass).map(|r| r.domains.len()).sum();
        if payloads + uas + pass > 0 {
            let _ = writeln!(
                out,
                "  payload prefixes: {payloads}, user agents: {uas}, pass (decoy) patterns: {pass}"
            );
        }
    }
    out
}

/// `sigs list`: one row per rule, columns aligned.
pub fn sigs_list_table(rules: &RuleSet) -> String {
    use std::fmt::Write as _;
    let head = [
        "SID", "PACK", "CHANNEL", "SEV", "CONF", "DOMAINS", "IPS", "PORTS", "STATE", "NAME",
    ];
    // Grouped by vendor (then sid), so each covered vendor's rules read as one block.
    let mut order: Vec<&sigs::Rule> = rules.rules.iter().collect();
    order.sort_by_key(|r| {
        (
            rules
                .packs
                .get(r.pack)
                .map(|p| p.vendor.to_ascii_lowercase()),
            r.sid,
        )
    });
    let rows: Vec<[String; 10]> = order
        .into_iter()
        .map(|r| {
            let pack = rules.packs.get(r.pack);
            let state = if !r.enabled {
                "disabled"
            } else if r.pass {
                "pass"
            } else if !r.ports.is_empty() && !pack.is_some_and(|p| p.port_rules) {
                "ports-opt-in"
            } else {
                "enabled"
            };
            [
                r.sid.to_string(),
                pack.map_or("?", |p| p.id.as_str()).to_string(),
                r.channel.clone(),
                r.severity.to_string(),
                r.confidence.clone().unwrap_or_else(|| "-".into()),
                r.domains.len().to_string(),
                r.ips.len().to_string(),
                r.ports.len().to_string(),
                state.to_string(),
                r.name.clone(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[&str]| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ", w = width[i]);
            }
        }
        let _ = writeln!(out, "{}", l.trim_end());
    };
    line(&head);
    let mut pack_shown = String::new();
    for row in &rows {
        if row[1] != pack_shown {
            pack_shown = row[1].clone();
            if let Some(p) = rules.packs.iter().find(|p| p.id == pack_shown) {
                let n = rules
                    .rules
                    .iter()
                    .filter(|r| r.pack_id_is(rules, &p.id))
                    .count();
                line(&[&format!(
                    "# {} (pack {}, {n} rules, version {})",
                    p.vendor, p.id, p.version
                )]);
            }
        }
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
    }
    out
}

fn run_import(args: &ImportArgs) -> i32 {
    let format = match ImportFormat::parse(&args.format) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("vendorwatch: {e}");
            return EXIT_FATAL;
        }
    };
    let pack_id = args.pack_id.clone().unwrap_or_else(|| {
        args.output
            .as_ref()
            .or(args.files.first())
            .and_then(|f| f.file_stem())
            .map_or_else(|| "imported".into(), |s| s.to_string_lossy().into_owned())
    });
    let opts = ImportOptions {
        format,
        channel: args.channel.clone(),
        sid_start: args.sid_start,
        pack_id,
        vendor: args.vendor.clone(),
        version: args.version.clone(),
        severity: args.severity,
        subdomains: args.subdomains,
        dataset_type: args.dataset_type.clone(),
        domains_file_stem: args
            .output
            .as_ref()
            .filter(|_| args.domains_file)
            .and_then(|o| o.file_stem())
            .map(|s| s.to_string_lossy().into_owned()),
    };
    let (pack, report) = match sigs::import::import(&args.files, &opts) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "vendorwatch: {} import error(s); nothing written",
                errors.len()
            );
            return EXIT_FATAL;
        }
    };
    let text = pack.toml;
    let dir = args
        .output
        .as_ref()
        .and_then(|o| o.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    for (name, body) in &pack.lists {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, body) {
            eprintln!(
                "vendorwatch: {}: cannot write the list: {e}",
                path.display()
            );
            return EXIT_FATAL;
        }
    }
    let written = match &args.output {
        Some(path) => std::fs::write(path, &text).map_err(|e| (path.display().to_string(), e)),
        None => io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| ("stdout".to_string(), e)),
    };
    if let Err((target, e)) = written {
        eprintln!("vendorwatch: {target}: cannot write the pack: {e}");
        return EXIT_FATAL;
    }
    eprintln!(
        "vendorwatch: imported {} rule(s): {} domain pattern(s), {} address(es); {} duplicate(s) \
         and {} other row(s) skipped",
        report.rules, report.domains, report.ips, report.duplicates, report.skipped
    );
    EXIT_OK
}

/// `sigs test NAME|IP|PORT`: exit 0 and list the rules when something matches, 1 when nothing
/// does; near misses are explained either way.
fn sigs_test(rules: &RuleSet, name: &str) -> i32 {
    let (text, status) = sigs_test_report(rules, name);
    print!("{text}");
    status
}

/// The text `sigs test` prints and its exit status.
pub fn sigs_test_report(rules: &RuleSet, name: &str) -> (String, i32) {
    use std::fmt::Write as _;
    let mut out = String::new();
    let all_ports = MatchOptions {
        enable_port_rules: true,
    };
    let matcher = Matcher::with_options(rules, all_ports);
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return match matcher.match_ip(ip) {
            Some(m) => {
                let rule = &rules.rules[m.rule];
                let pattern = rule.ips.get(m.pattern).map_or("", String::as_str);
                let _ = writeln!(
                    out,
                    "{ip}: sid {} {:?} (channel {}, pattern {pattern})",
                    rule.sid, rule.name, rule.channel
                );
                (out, EXIT_OK)
            }
            None => {
                let _ = writeln!(out, "{ip}: no rule matches");
                (out, EXIT_INPUT_ERROR)
            }
        };
    }
    if let Some((proto, port)) = parse_port_arg(name) {
        return match matcher.match_port(proto, port) {
            Some(m) => {
                let rule = &rules.rules[m.rule];
                let pack_on = rules.packs.get(rule.pack).is_some_and(|p| p.port_rules);
                let _ = writeln!(
                    out,
                    "{name}: sid {} {:?} (channel {}, confidence {}){}",
                    rule.sid,
                    rule.name,
                    rule.channel,
                    rule.confidence.as_deref().unwrap_or("-"),
                    if pack_on {
                        ""
                    } else {
                        "; matched only with scan --enable-port-rules"
                    }
                );
                (out, EXIT_OK)
            }
            None => {
                let _ = writeln!(out, "{name}: no enabled rule lists this port");
                (out, EXIT_INPUT_ERROR)
            }
        };
    }
    let mut norm = NameBuf::new();
    if !sigs::normalise_name(name.as_bytes(), &mut norm) {
        let _ = writeln!(out, "vendorwatch: name too long: {name}");
        return (out, EXIT_FATAL);
    }
    let matches = matcher.explain(norm.as_bytes());
    let shown = String::from_utf8_lossy(norm.as_bytes()).into_owned();
    if matches.is_empty() {
        let _ = writeln!(out, "{shown}: no rule matches");
    }
    let passed = matches.first().is_some_and(|m| rules.rules[m.rule].pass);
    for (i, m) in matches.iter().enumerate() {
        let rule = &rules.rules[m.rule];
        let pattern = rule.domains.get(m.pattern).map_or("", String::as_str);
        let _ = writeln!(
            out,
            "{shown}: {}sid {} {:?} (channel {}, severity {}, pattern {pattern}){}",
            if i == 0 { "" } else { "also " },
            rule.sid,
            rule.name,
            rule.channel,
            rule.severity,
            if rule.pass {
                "; a pass rule: a known decoy, no alert"
            } else {
                ""
            }
        );
    }
    for miss in sigs::explain::near_misses(rules, &shown) {
        // Once something matched, "an exact pattern of a parent domain" is noise.
        if !matches.is_empty() && miss.reason.starts_with("exact pattern") {
            continue;
        }
        let rule = &rules.rules[miss.rule];
        let _ = writeln!(
            out,
            "{shown}: near miss: sid {} pattern {}: {}",
            rule.sid, miss.pattern, miss.reason
        );
    }
    let status = if matches.is_empty() || passed {
        EXIT_INPUT_ERROR
    } else {
        EXIT_OK
    };
    (out, status)
}

/// `tcp/13000` or `udp/15111`.
fn parse_port_arg(s: &str) -> Option<(sigs::PortProto, u16)> {
    let (proto, port) = s.split_once('/')?;
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => sigs::PortProto::Tcp,
        "udp" => sigs::PortProto::Udp,
        _ => return None,
    };
    Some((proto, port.parse().ok()?))
}
