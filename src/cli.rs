//! The command line: `scan` for capture files, `sigs` to check and query signature packs.
//! Flags are documented here, in one place; `--help` shows these doc comments.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::decode::{Decoder, DecoderConfig};
use crate::detect::{Detector, LogSelection};
use crate::flow::{FlowConfig, FlowTable};
use crate::output::eve::EveWriter;
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
    Scan(ScanArgs),
    /// Capture live on one or more interfaces (libpcap) and write EVE alerts until stopped
    /// (SIGINT/SIGTERM); SIGHUP reloads signatures and reopens the --eve file.
    Live(LiveArgs),
    /// Check, list and query signature packs.
    #[command(subcommand)]
    Sigs(SigsCommand),
}

#[derive(Args, Debug, Clone)]
pub(crate) struct SignatureArgs {
    /// Signature pack file or directory of `*.toml` packs (repeatable). Default: the bundled
    /// `signatures/` directory next to the binary, else the packs built into it.
    #[arg(long = "signatures", value_name = "PATH")]
    signatures: Vec<PathBuf>,
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
    /// Write EVE JSON lines to FILE instead of stdout (reopened on SIGHUP).
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
    /// Write EVE JSON lines to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    eve: Option<PathBuf>,
    /// Also log protocol events, matched or not: comma-separated `dns`, `tls`,
    /// `http`, or `all`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    log: Vec<String>,
    /// Do not print the summary on stderr.
    #[arg(long, short)]
    quiet: bool,
    /// Also decode UDP to PORT as VXLAN (repeatable; 4789 always is).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    vxlan_ports: Vec<u16>,
    /// Write an EVE `stats` record at the end of the scan.
    #[arg(long)]
    stats: bool,
    #[command(flatten)]
    workers: WorkerArgs,
    #[command(flatten)]
    flow: FlowArgs,
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
        Command::Scan(args) => run_scan(args),
        Command::Live(args) => crate::live::run(args),
        Command::Sigs(cmd) => run_sigs(cmd),
    }
}

/// Load the packs the user named, or the bundled ones.
pub(crate) fn load_rules(args: &SignatureArgs) -> Result<RuleSet, Vec<SigError>> {
    if !args.signatures.is_empty() {
        return RuleSet::load(&args.signatures);
    }
    match sigs::default_signature_dir() {
        Some(dir) => RuleSet::load(&[dir]),
        None => RuleSet::bundled(),
    }
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

pub(crate) fn parse_log(list: &[String]) -> Result<LogSelection, String> {
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

fn run_scan(args: ScanArgs) -> i32 {
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
    let workers = args.workers.count();
    let sink: Box<dyn Write + Send> = match &args.eve {
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
        None => Box::new(io::stdout()),
    };
    if let Err(e) = pipeline::install_stop_handlers() {
        eprintln!("vendorwatch: cannot install signal handlers: {e}");
        return EXIT_FATAL;
    }
    let started = std::time::Instant::now();
    let mut stats = ScanStats::default();
    let inputs = pipeline::expand_inputs(&args.inputs, &mut stats);
    let mut config = DecoderConfig::default();
    config.vxlan_ports.extend(&args.vxlan_ports);
    let make_stages = || Stages {
        decoder: Decoder::new(config.clone()),
        flows: FlowTable::new(args.flow.config()),
        detector: Detector::new(rules.clone(), log),
        rules_generation: crate::parallel::RULES.generation(),
    };
    let (detect_stats, inventory, written, output_result) = if workers <= 1 {
        let sink: Box<dyn Write> = match args.eve {
            Some(_) => sink,
            // Today's path: stdout locked once.
            None => Box::new(io::stdout().lock()),
        };
        let mut out = EveWriter::new(sink);
        let mut stages = make_stages();
        pipeline::scan(&inputs, &mut stages, &mut out, &mut stats);
        if args.stats {
            let mut handler = pipeline::InThread {
                stages: &mut stages,
                out: &mut out,
            };
            crate::live::write_stats_record(&mut handler, &stats, None, started);
        }
        let detector = stages.detector;
        let written = out.records();
        (
            detector.stats,
            detector.inventory,
            written,
            out.finish().map(|_| ()),
        )
    } else {
        let all: Vec<Stages> = (0..workers).map(|_| make_stages()).collect();
        let mut dispatcher = match crate::parallel::Dispatcher::start(all, config.clone(), sink) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("vendorwatch: cannot start worker threads: {e}");
                return EXIT_FATAL;
            }
        };
        pipeline::scan_with(&inputs, &mut dispatcher, &mut stats);
        if args.stats {
            dispatcher.drain(stats.packets);
            crate::live::write_stats_record(&mut dispatcher, &stats, None, started);
        }
        let lines = dispatcher.lines_written();
        let (results, output_result) = dispatcher.finish();
        let merged = crate::parallel::merge_results(results, &mut stats);
        (
            merged.detect,
            merged.inventory,
            merged.records + lines,
            output_result,
        )
    };
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = write_summary(&mut err, &stats, &detect_stats, &inventory, written);
    }
    if let Err(e) = output_result {
        let target = args
            .eve
            .as_ref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
        eprintln!("vendorwatch: {target}: writing EVE records failed: {e}");
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
