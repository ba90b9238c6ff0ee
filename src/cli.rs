//! The command line: `scan` for capture files, `live` for interfaces (both take the same
//! stage and output flags, `crate::args`), `sigs` to check and query signature packs,
//! `report` for an inventory from EVE files. `--help` shows the doc comments.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::args::{LoadedRules, SignatureArgs, load_rules_from, report_sig_errors};
use crate::exit::{EXIT_FATAL, EXIT_INPUT_ERROR, EXIT_OK};
use crate::live::LiveArgs;
use crate::scan::ScanArgs;
use crate::session::{report_format_of, write_report};
use vendorwatch::output::report::{
    EveReadError, ReportBuilder, ReportContext, ReportFormat, ReportSource,
};
use vendorwatch::proto::NameBuf;
use vendorwatch::sigs::import::{ImportFormat, ImportOptions};
use vendorwatch::sigs::text::printable;
use vendorwatch::sigs::{self, DefaultPacks, MatchOptions, Matcher, PackOrigin, RuleSet};

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
    /// (SIGINT/SIGTERM); SIGHUP reloads signatures and reopens the --eve file, SIGUSR1
    /// writes the --report file.
    Live(Box<LiveArgs>),
    /// Check, list and query signature packs.
    #[command(subcommand)]
    Sigs(SigsCommand),
    /// Host inventory from EVE alert records: which hosts still call home, over which channels
    /// and rules, first/last seen, counts, whether seen after the vendor's cut-off (from its
    /// pack). A file that is not EVE JSON is an error.
    Report(ReportArgs),
    /// Check or show the configuration file (every option of scan and live, by long name).
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check FILE: every error as `file:line:col: message`, exit 0 when it is valid.
    Check {
        /// The configuration file.
        file: PathBuf,
    },
    /// Print the effective configuration (the file's settings and every default) as TOML
    /// that `config check` accepts.
    Show {
        /// The file (default: /etc/vendorwatch/vendorwatch.toml when it exists).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// EVE JSON-lines files (alert records are used; other lines are ignored), `-` for stdin.
    #[arg(required_unless_present = "kafka", value_name = "EVE_FILE")]
    inputs: Vec<String>,
    /// Also read the records of a Kafka topic (comma-separated bootstrap servers): the whole
    /// topic, or with --group from the group's committed offsets. A fleet's sensors write
    /// there with `--kafka`; a host seen by several is one row naming them.
    #[arg(long, value_name = "BROKERS")]
    kafka: Option<String>,
    /// The topic --kafka reads.
    #[arg(long, value_name = "TOPIC", default_value = "vendorwatch")]
    kafka_topic: String,
    /// Consumer group: read from its committed offsets (the beginning where it has none) and
    /// commit what was read, so the next report reads only what is new.
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// A librdkafka client property for --kafka, `KEY=VALUE` (repeatable): TLS, SASL.
    #[arg(long, value_name = "KEY=VALUE")]
    kafka_option: Vec<String>,
    /// Seconds to wait for the brokers, and between two messages, before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    kafka_timeout: f64,
    /// text, json, csv or html (one self-contained page: summary, SVG timeline, sortable
    /// tables per vendor). Default: from the -o file's extension (.txt, .json, .csv, .html;
    /// another is an error), else text.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Write the report to FILE instead of stdout (replaced whole, only when every input was
    /// read).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
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
    List {
        /// Under each rule, its sources (the rule's `references`), one per line.
        #[arg(long)]
        sources: bool,
        #[command(flatten)]
        sigs: SignatureArgs,
    },
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
    /// Channel of the rules: update, cloud, telemetry, activation, management, portal or
    /// other.
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
    /// Pack version, shown by `sigs list` and in alerts.
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
    /// Write the good lines even when some are bad (each bad line is still reported, as a
    /// warning); without it, a bad line means nothing is written.
    #[arg(long)]
    skip_invalid: bool,
    /// Hosts format: import every name, whatever address it is mapped to. Default: only
    /// blocklist lines, names mapped to 0.0.0.0, 127.0.0.1, :: or ::1.
    #[arg(long)]
    hosts_all: bool,
    /// Input files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Entry point used by `main.rs`; returns the process exit status.
pub fn main() -> i32 {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `vendorwatch gen-dist DIR` (packaging: man pages, completions) is not part of the command
    // line it documents, so neither the pages nor the completions offer it.
    if let [_, cmd, dir] = argv.as_slice()
        && cmd == "gen-dist"
    {
        return crate::dist::generate(Cli::command(), std::path::Path::new(dir));
    }
    // The configuration file's settings join the command line before clap parses it.
    let argv = match crate::config::merge_argv(&Cli::command(), &argv) {
        Ok((argv, _)) => argv,
        Err(errors) => {
            report_config_errors(&errors);
            return EXIT_FATAL;
        }
    };
    let cli = match Cli::command()
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_FATAL } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Scan(args) => crate::scan::run(*args),
        Command::Live(args) => crate::live::run(*args, command()),
        Command::Sigs(cmd) => run_sigs(cmd),
        Command::Report(args) => run_report(args),
        Command::Config(cmd) => run_config(cmd),
    }
}

fn report_config_errors(errors: &[crate::config::ConfigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("vendorwatch: {} configuration error(s)", errors.len());
}

/// `config check FILE` and `config show [--config FILE]`.
fn run_config(cmd: ConfigCommand) -> i32 {
    use crate::config::{self, Config};
    let cli = Cli::command();
    match cmd {
        ConfigCommand::Check { file } => match Config::read(&file, &cli).and_then(|c| {
            let errors = option_errors(&cli, &c);
            if errors.is_empty() {
                Ok(c)
            } else {
                Err(errors)
            }
        }) {
            Ok(c) => {
                let sections: Vec<String> = c
                    .sections
                    .iter()
                    .map(|(name, s)| format!("[{name}] {}", s.len()))
                    .collect();
                println!(
                    "{}: ok: {} option(s): {} at the top level{}{}",
                    file.display(),
                    c.len(),
                    c.top.len(),
                    if sections.is_empty() { "" } else { ", " },
                    sections.join(", ")
                );
                EXIT_OK
            }
            Err(errors) => {
                report_config_errors(&errors);
                EXIT_FATAL
            }
        },
        ConfigCommand::Show { config: path } => {
            let config = match path.or_else(|| config::path_for("live", None)) {
                Some(p) => match Config::read(&p, &cli) {
                    Ok(c) => Some(c),
                    Err(errors) => {
                        report_config_errors(&errors);
                        return EXIT_FATAL;
                    }
                },
                None => None,
            };
            print!("{}", config::show(&cli, config.as_ref()));
            EXIT_OK
        }
    }
}

/// What the run itself would refuse in the file's options beyond clap's checks (the
/// engine configuration: `--log` values, `--dns-port` count), each placed at the option.
fn option_errors(
    cli: &clap::Command,
    config: &crate::config::Config,
) -> Vec<crate::config::ConfigError> {
    let mut errors: Vec<crate::config::ConfigError> = Vec::new();
    for (name, matches) in crate::config::matches_of(cli, config) {
        let stage = match name.as_str() {
            "scan" => ScanArgs::from_arg_matches(&matches).map(|a| a.stage),
            "live" => LiveArgs::from_arg_matches(&matches).map(|a| a.stage),
            _ => continue,
        };
        let problem = match stage {
            Ok(stage) => stage.engine_config().err(),
            Err(e) => Some(e.to_string()),
        };
        if let Some(message) = problem {
            let e = config.error_naming(&format!("{name}: {message}"));
            if !errors.iter().any(|o| {
                o.message.split_once(": ").map(|m| m.1) == e.message.split_once(": ").map(|m| m.1)
            }) {
                errors.push(e);
            }
        }
    }
    errors
}

/// The command line's definition (for the configuration file's reload, man pages and
/// completions).
pub fn command() -> clap::Command {
    Cli::command()
}

fn run_report(args: ReportArgs) -> i32 {
    let format = match (&args.format, &args.output) {
        (Some(f), _) => ReportFormat::parse(f)
            .ok_or_else(|| format!("unknown --format {f:?} (expected text, json, csv or html)")),
        (None, Some(path)) => report_format_of(path, "--format"),
        (None, None) => Ok(ReportFormat::Text),
    };
    let format = match format {
        Ok(f) => f,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    let mut report = ReportBuilder::with_context(ReportContext {
        source: ReportSource::Eve,
        inputs: args
            .inputs
            .iter()
            .map(|i| if i == "-" { "stdin".into() } else { i.clone() })
            .chain(
                args.kafka
                    .iter()
                    .map(|b| format!("kafka {b} topic {}", args.kafka_topic)),
            )
            .collect(),
        ..ReportContext::default()
    });
    let mut status = EXIT_OK;
    for input in &args.inputs {
        let result = if input == "-" {
            report.add_eve_reader(io::stdin().lock())
        } else {
            File::open(input)
                .map_err(EveReadError::Io)
                .and_then(|f| report.add_eve_reader(io::BufReader::new(f)))
        };
        if let Err(e) = result {
            let name = if input == "-" { "stdin" } else { input };
            eprintln!("vendorwatch: {name}: {e}");
            status = EXIT_INPUT_ERROR;
        }
    }
    if let Some(brokers) = &args.kafka
        && let Err(line) = report_from_kafka(&mut report, brokers, &args)
    {
        eprintln!("vendorwatch: {line}");
        status = EXIT_INPUT_ERROR;
    }
    if status != EXIT_OK {
        // A report missing an input would look complete: none is written.
        eprintln!("vendorwatch: no report written");
        return status;
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
            let name = args
                .output
                .as_ref()
                .map_or_else(|| "stdout".to_string(), |p| p.display().to_string());
            eprintln!("vendorwatch: {name}: writing the report failed: {e}");
            EXIT_FATAL
        }
    }
}

/// Add the records of `report --kafka`'s topic to the report.
#[cfg(feature = "kafka")]
fn report_from_kafka(
    report: &mut ReportBuilder,
    brokers: &str,
    args: &ReportArgs,
) -> Result<(), String> {
    use vendorwatch::output::kafka::{ReadConfig, parse_option, read_topic};
    let config = ReadConfig {
        brokers: brokers.to_string(),
        topic: args.kafka_topic.clone(),
        group: args.group.clone(),
        options: args
            .kafka_option
            .iter()
            .map(|o| parse_option(o))
            .collect::<Result<_, _>>()?,
        timeout: std::time::Duration::from_secs_f64(args.kafka_timeout.clamp(0.1, 3600.0)),
    };
    read_topic(&config, |m| match std::str::from_utf8(m.payload) {
        Ok(line) => report.add_eve_line(line),
        Err(_) => report.bad_lines += 1,
    })
    .map(|_| ())
}

/// Without the `kafka` feature `report --kafka` is refused, never ignored.
#[cfg(not(feature = "kafka"))]
fn report_from_kafka(
    _report: &mut ReportBuilder,
    brokers: &str,
    _args: &ReportArgs,
) -> Result<(), String> {
    Err(format!(
        "--kafka {brokers}: this vendorwatch was built without the `kafka` feature"
    ))
}

fn run_sigs(cmd: SigsCommand) -> i32 {
    let loaded = match &cmd {
        // Named files are checked alone: the counts are of the packs being written.
        SigsCommand::Check { paths, sigs } if !paths.is_empty() => {
            let mut added = paths.clone();
            added.extend(sigs.signatures.iter().cloned());
            load_rules_from(sigs, &added, DefaultPacks::None)
        }
        SigsCommand::Check { sigs, .. }
        | SigsCommand::List { sigs, .. }
        | SigsCommand::Test { sigs, .. } => {
            load_rules_from(sigs, &sigs.signatures, sigs.default_packs())
        }
        SigsCommand::Import(args) => return run_import(args),
    };
    let loaded = match loaded {
        Ok(l) => l,
        Err(errors) => {
            report_sig_errors(&errors);
            return EXIT_FATAL;
        }
    };
    match cmd {
        SigsCommand::Check { .. } => {
            print!("{}", sigs_check_report(&loaded));
            EXIT_OK
        }
        SigsCommand::List { sources, .. } => {
            print!("{}", sigs_list_table(&loaded, sources));
            EXIT_OK
        }
        SigsCommand::Test { name, .. } => sigs_test(&loaded.rules, &name),
        SigsCommand::Import(_) => EXIT_FATAL,
    }
}

/// Where a pack came from, as `sigs check` and `sigs list` say it.
fn origin_text(loaded: &LoadedRules, pack: &sigs::PackInfo) -> String {
    let file = printable(&pack.file.to_string_lossy()).into_owned();
    match loaded.defaults.origin(pack) {
        PackOrigin::Bundled => "built into the binary".to_string(),
        PackOrigin::DefaultDir => format!("default, from {file}"),
        PackOrigin::Added => format!("added, from {file}"),
    }
}

/// One line per default pack an added pack replaced.
fn replaced_lines(loaded: &LoadedRules) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for r in &loaded.replaced {
        let _ = writeln!(
            out,
            "# pack {} replaces the default one ({})",
            printable(&r.id),
            if sigs::is_bundled_file(&r.default_file) {
                "built into the binary".into()
            } else {
                printable(&r.default_file.to_string_lossy()).into_owned()
            }
        );
    }
    out
}

/// `sigs check`: per pack, then per channel, the number of rules and indicators.
pub fn sigs_check_report(loaded: &LoadedRules) -> String {
    use std::fmt::Write as _;
    let rules = &loaded.rules;
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
            "\npack {} ({}, version {}) {}{}",
            printable(&pack.id),
            printable(&pack.vendor),
            printable(&pack.version),
            origin_text(loaded, pack),
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
                "  ports are matched only with --enable-port-rules (scan, live) or port_rules = true"
            );
        }
        if total[5] > 0 {
            let _ = writeln!(
                out,
                "  ja4 fingerprints are matched against TLS and QUIC ClientHellos (observation tls-ja4)"
            );
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
    if !loaded.replaced.is_empty() {
        out.push('\n');
        out.push_str(&replaced_lines(loaded));
    }
    out
}

/// `sigs list`: one row per rule, columns aligned; with `sources`, each rule's references
/// under it.
pub fn sigs_list_table(loaded: &LoadedRules, sources: bool) -> String {
    use std::fmt::Write as _;
    let rules = &loaded.rules;
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
    let rows: Vec<([String; 10], &sigs::Rule)> = order
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
            (
                [
                    r.sid.to_string(),
                    pack.map_or("?".into(), |p| printable(&p.id)).into_owned(),
                    r.channel.clone(),
                    r.severity.to_string(),
                    r.confidence.clone().unwrap_or_else(|| "-".into()),
                    r.domains.len().to_string(),
                    r.ips.len().to_string(),
                    r.ports.len().to_string(),
                    state.to_string(),
                    printable(&r.name).into_owned(),
                ],
                r,
            )
        })
        .collect();
    let mut width = head.map(str::len);
    for (row, _) in &rows {
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
    for (row, rule) in &rows {
        if row[1] != pack_shown {
            pack_shown = row[1].clone();
            if let Some(p) = rules.packs.iter().find(|p| printable(&p.id) == pack_shown) {
                let n = rules
                    .rules
                    .iter()
                    .filter(|r| r.pack_id_is(rules, &p.id))
                    .count();
                let mut dates = String::new();
                if let Some(cutoff) = p.cutoff {
                    let _ = write!(dates, ", cut-off {cutoff}");
                }
                if let (Some(from), Some(day)) = (&p.migrated_from, p.migration) {
                    let _ = write!(dates, ", replaced pack {} from {day}", printable(from));
                }
                line(&[&format!(
                    "# {} (pack {}, {n} rules, version {}{dates}, {})",
                    printable(&p.vendor),
                    pack_shown,
                    printable(&p.version),
                    origin_text(loaded, p)
                )]);
            }
        }
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        line(&cells);
        if sources {
            if rule.references.is_empty() {
                line(&["      source: (none in the rule; see the pack's comments)"]);
            }
            for r in &rule.references {
                line(&[&format!("      source: {}", printable(r))]);
            }
        }
    }
    out.push_str(&replaced_lines(loaded));
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
        skip_invalid: args.skip_invalid,
        hosts_all: args.hosts_all,
    };
    let (pack, report) = match sigs::import::import(&args.files, &opts) {
        Ok(r) => r,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "vendorwatch: {} import error(s); nothing written (--skip-invalid writes the \
                 good lines)",
                errors.len()
            );
            return EXIT_FATAL;
        }
    };
    for e in &report.invalid {
        eprintln!("{e}");
    }
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
    if !report.invalid.is_empty() {
        eprintln!(
            "vendorwatch: {} invalid line(s) left out (--skip-invalid)",
            report.invalid.len()
        );
    }
    if report.not_blocked > 0 {
        eprintln!(
            "vendorwatch: {} hosts-file name(s) mapped to other addresses than 0.0.0.0, \
             127.0.0.1, :: or ::1 left out (not blocklist lines; --hosts-all takes them)",
            report.not_blocked
        );
    }
    EXIT_OK
}

/// `sigs test NAME|IP|PORT`: exit 0 and list the rules when something matches, 1 when nothing
/// does; near misses are explained either way.
fn sigs_test(rules: &RuleSet, name: &str) -> i32 {
    if let Err(e) = check_test_arg(name) {
        eprintln!("vendorwatch: sigs test: {e}");
        return EXIT_FATAL;
    }
    let (text, status) = sigs_test_report(rules, name);
    print!("{text}");
    status
}

/// What `sigs test` refuses before looking anything up: an empty argument, an address that is
/// not one (`999.1.1.1`), a port out of range (`tcp/99999`).
fn check_test_arg(arg: &str) -> Result<(), String> {
    let shown = printable(arg);
    if arg.trim().is_empty() {
        return Err(
            "empty argument: give a domain name, an IP address or a port such as \
                    tcp/13000"
                .into(),
        );
    }
    if arg.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    if arg.contains('.') && arg.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(format!(
            "{shown:?} is not an IPv4 address (four numbers 0 to 255, as 192.0.2.1)"
        ));
    }
    if arg.contains(':')
        && arg
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    {
        return Err(format!("{shown:?} is not an IPv6 address"));
    }
    parse_port_arg(arg).map(|_| ())
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
    if let Ok(Some((proto, port))) = parse_port_arg(name) {
        let mut found = false;
        if let Some(m) = matcher.match_port(proto, port) {
            found = true;
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
                    "; matched only with --enable-port-rules"
                }
            );
        }
        // Payload rules are matched on this port without any flag: a prefix says more than
        // the port alone.
        for rule in rules.rules.iter().filter(|r| r.enabled) {
            for p in rule
                .payloads
                .iter()
                .filter(|p| p.proto == proto && p.port == port)
            {
                found = true;
                let _ = writeln!(
                    out,
                    "{name}: sid {} {:?} (channel {}, payload rule: {} to this port starting \
                     with {})",
                    rule.sid,
                    printable(&rule.name),
                    rule.channel,
                    match proto {
                        sigs::PortProto::Udp => "datagrams",
                        sigs::PortProto::Tcp => "segments",
                    },
                    p.label
                        .split_once(' ')
                        .map_or(p.label.as_str(), |(_, prefix)| prefix)
                );
            }
        }
        if !found {
            let _ = writeln!(
                out,
                "{name}: no enabled rule lists this port (as a port or a payload prefix)"
            );
        }
        return (out, if found { EXIT_OK } else { EXIT_INPUT_ERROR });
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

/// `tcp/13000` or `udp/15111`: `Ok(None)` when the argument is not written as a port,
/// `Err` when it is but the number is not one (`tcp/99999`, `udp/0`).
fn parse_port_arg(s: &str) -> Result<Option<(sigs::PortProto, u16)>, String> {
    let Some((proto, port)) = s.split_once('/') else {
        return Ok(None);
    };
    let proto = match proto.to_ascii_lowercase().as_str() {
        "tcp" => sigs::PortProto::Tcp,
        "udp" => sigs::PortProto::Udp,
        _ => return Ok(None),
    };
    match port.parse::<u16>() {
        Ok(n) if n > 0 => Ok(Some((proto, n))),
        _ => Err(format!(
            "{:?} is not a port: expected tcp/N or udp/N with N from 1 to 65535",
            printable(s)
        )),
    }
}
