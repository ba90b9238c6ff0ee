//! The flags `scan` and `live` share, defined once: what the stages do (signatures, caps,
//! suppression, logging, workers) and where records go (formats and destinations). Each
//! group turns itself into the configuration the library takes, so both subcommands build
//! the same engine and the same outputs.

use std::path::PathBuf;

use clap::Args;

use crate::exit::EXIT_FATAL;
use vendorwatch::decode::{DecoderConfig, DefragConfig};
use vendorwatch::detect::LogSelection;
use vendorwatch::engine::EngineConfig;
use vendorwatch::flow::FlowConfig;
use vendorwatch::flow::quic::QuicConfig;
use vendorwatch::proto::dns::{DnsPorts, MAX_EXTRA_DNS_PORTS};
use vendorwatch::sigs::{self, DefaultPacks, LoadLimits, MatchOptions, RuleSet, SigError};

#[derive(Args, Debug, Clone)]
pub struct SignatureArgs {
    /// Also load this signature pack file or directory of `*.toml` packs (repeatable), on top
    /// of the default packs (`signatures/` next to the binary, else the packs built into it);
    /// a pack with a default pack's id replaces that one. `sigs list` shows where each came
    /// from.
    #[arg(long = "signatures", value_name = "PATH")]
    pub signatures: Vec<PathBuf>,
    /// Do not load the default packs: only those of `--signatures` (as Suricata's `-S`
    /// replaces its rule files where `-s` adds).
    #[arg(long, requires = "signatures")]
    pub no_default_signatures: bool,
    /// Use only these packs (comma-separated pack ids, e.g. `kaspersky,dahua`); default: all
    /// loaded packs. `sigs list` shows the ids.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub packs: Vec<String>,
    /// Largest signature pack file read, in MiB; a larger one is an error. Parsing a pack
    /// takes memory in proportion to its size: put big feeds in a `domains_file`.
    #[arg(long, value_name = "MIB", default_value_t = sigs::DEFAULT_MAX_PACK_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pack_size: u64,
    /// Largest `domains_file` list read, in MiB; a larger one is an error.
    #[arg(long, value_name = "MIB", default_value_t = sigs::DEFAULT_MAX_LIST_MIB,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_list_size: u64,
}

impl SignatureArgs {
    /// The default packs these flags load: none with `--no-default-signatures`.
    pub fn default_packs(&self) -> DefaultPacks {
        if self.no_default_signatures {
            DefaultPacks::None
        } else {
            DefaultPacks::find()
        }
    }

    /// The size limits of `--max-pack-size` and `--max-list-size`.
    pub fn limits(&self) -> LoadLimits {
        LoadLimits {
            max_pack_mib: self.max_pack_size,
            max_list_mib: self.max_list_size,
        }
    }
}

/// What the stages do: signatures, matching, caps, suppression, protocol logging, workers.
#[derive(Args, Debug, Clone)]
pub struct StageArgs {
    /// Also log protocol events, matched or not: comma-separated `dns`, `tls`,
    /// `http`, `quic` (ClientHellos of QUIC Initials), `dhcp` (DHCPv4 messages), or `all`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub log: Vec<String>,
    /// One alert per (source host, rule, matched name, observation kind) per this many
    /// seconds of packet time; repeats are counted and carried in the next alert
    /// (`alert.metadata.repeats`) and the summary. 0 turns suppression off.
    #[arg(long, value_name = "SECS", default_value_t = vendorwatch::detect::suppress::DEFAULT_WINDOW_SECS)]
    pub suppress_window: u64,
    /// Most (host, rule, name, kind) keys the suppression table holds; beyond it the oldest
    /// are evicted and counted.
    #[arg(long, value_name = "N", default_value_t = vendorwatch::detect::suppress::DEFAULT_CAPACITY)]
    pub suppress_capacity: usize,
    /// Most (host, pack) keys the migration memory holds (when a host first showed a product
    /// another pack replaced, for `alert.metadata.verdict`); beyond it the oldest are
    /// evicted and counted. Report verdicts do not depend on it.
    #[arg(long, value_name = "N", default_value_t = vendorwatch::detect::lineage::DEFAULT_CAPACITY)]
    pub migration_capacity: usize,
    /// Most entries in each part of the host identity table (addresses with DHCP leases,
    /// DHCP clients by MAC, MACs learned from frames); beyond it the least recently seen
    /// eighth is evicted and counted.
    #[arg(long, value_name = "N", default_value_t = vendorwatch::identity::DEFAULT_CAPACITY as u64,
          value_parser = clap::value_parser!(u64).range(8..))]
    pub identity_capacity: u64,
    /// Also decode UDP to PORT as VXLAN (repeatable; 4789 always is).
    #[arg(long = "vxlan-port", value_name = "PORT")]
    pub vxlan_ports: Vec<u16>,
    /// Also read UDP and TCP to or from PORT as DNS (repeatable, up to 16; 53 always is),
    /// e.g. a forwarder on 5353 or 8053.
    #[arg(long = "dns-port", value_name = "PORT")]
    pub dns_ports: Vec<u16>,
    /// Match the `ports` of every rule (e.g. the Kaspersky Security Center server ports).
    /// Off by default because ports are reused by other software; a pack can turn on its
    /// own with `port_rules = true`.
    #[arg(long)]
    pub enable_port_rules: bool,
    #[command(flatten)]
    pub workers: WorkerArgs,
    #[command(flatten)]
    pub flow: FlowArgs,
    #[command(flatten)]
    pub sigs: SignatureArgs,
}

impl StageArgs {
    /// The engine configuration these flags describe.
    pub fn engine_config(&self) -> Result<EngineConfig, String> {
        let mut decoder = DecoderConfig::default();
        decoder.vxlan_ports.extend(&self.vxlan_ports);
        decoder.defrag = self.flow.defrag_config();
        let dns_ports = DnsPorts::with_extra(&self.dns_ports)
            .ok_or_else(|| format!("--dns-port: at most {MAX_EXTRA_DNS_PORTS} ports besides 53"))?;
        Ok(EngineConfig {
            decoder,
            flow: self.flow.config(),
            quic: self.flow.quic_config(),
            dns_ports,
            resolved_capacity: self.flow.resolved_capacity,
            suppress_window: self.suppress_window,
            suppress_capacity: self.suppress_capacity,
            lineage_capacity: self.migration_capacity,
            log: parse_log(&self.log)?,
            match_options: self.match_options(),
            identity_capacity: usize::try_from(self.identity_capacity).unwrap_or(usize::MAX),
        })
    }

    /// Matcher options, the same at load and at every reload.
    pub fn match_options(&self) -> MatchOptions {
        MatchOptions {
            enable_port_rules: self.enable_port_rules,
        }
    }

    /// The engine configuration and the rules, each error reported on stderr; the exit
    /// status when either is bad.
    pub fn config_and_rules(&self) -> Result<(EngineConfig, RuleSet), i32> {
        let config = self.engine_config().map_err(|e| {
            eprintln!("vendorwatch: {e}");
            EXIT_FATAL
        })?;
        let rules = load_rules(&self.sigs).map_err(|errors| {
            report_sig_errors(&errors);
            EXIT_FATAL
        })?;
        Ok((config, rules))
    }
}

/// How many worker threads: `--workers N`, default cores - 1, at least 1.
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    /// Worker threads decoding and matching (default: cores - 1, at least 1). With 1 the
    /// stages run in the reader's thread and records come out in packet order; with more, a
    /// symmetric flow hash picks the worker (both directions of a flow meet on one worker) and
    /// records of different flows may come out in another order.
    #[arg(long, value_name = "N", value_parser = at_least_one_worker)]
    pub workers: Option<usize>,
}

/// `--workers N`: 0 is refused (it used to run with 1, silently).
fn at_least_one_worker(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err(
            "0 workers cannot process packets; give 1 or more (1: the stages run in \
                      the reader's thread)"
                .into(),
        ),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

impl WorkerArgs {
    pub fn count(&self) -> usize {
        self.workers
            .unwrap_or_else(|| {
                std::thread::available_parallelism()
                    .map_or(1, |n| n.get())
                    .saturating_sub(1)
            })
            .max(1)
    }
}

/// Limits of the TCP flow table and reassembly.
#[derive(Args, Debug, Clone)]
pub struct FlowArgs {
    /// Most TCP flows tracked at once; beyond it the least recently used flow is evicted
    /// (counted in the summary).
    #[arg(long, value_name = "N", default_value_t = FlowConfig::default().max_flows)]
    max_flows: usize,
    /// Most memory, in KiB, held by TCP reassembly buffers over all flows; segments beyond it
    /// are refused (counted).
    #[arg(long, value_name = "KIB", default_value_t = FlowConfig::default().max_reasm_bytes / 1024)]
    reassembly_memory: usize,
    /// Bytes of a client's first flight buffered to find a ClientHello split over segments; a
    /// longer hello is read up to here (SNI found when within; no JA4; counted).
    #[arg(long, value_name = "BYTES", default_value_t = FlowConfig::default().first_flight_limit)]
    first_flight_limit: usize,
    /// Bytes of one HTTP request head held per flow while it is incomplete (every request of
    /// a keep-alive connection is followed); a longer head is read up to here (Host found when
    /// within) and the rest of it skipped (counted).
    #[arg(long, value_name = "BYTES", default_value_t = FlowConfig::default().http_head_limit)]
    http_head_limit: usize,
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
    #[arg(long, value_name = "N", default_value_t = vendorwatch::detect::RESOLVED_CAPACITY)]
    pub resolved_capacity: usize,
}

impl FlowArgs {
    pub fn config(&self) -> FlowConfig {
        FlowConfig {
            max_flows: self.max_flows.max(1),
            max_reasm_bytes: self.reassembly_memory.saturating_mul(1024),
            first_flight_limit: self.first_flight_limit,
            http_head_limit: self.http_head_limit.max(1),
            idle_timeout_secs: self.flow_timeout.max(1),
        }
    }

    /// Fragment reassembly caps from the flags.
    pub fn defrag_config(&self) -> DefragConfig {
        DefragConfig {
            memcap: self.defrag_memory.saturating_mul(1024),
            timeout_secs: self.defrag_timeout.max(1),
            max_datagrams: self.defrag_max_datagrams.max(1),
        }
    }

    /// QUIC Initial table caps from the flags.
    pub fn quic_config(&self) -> QuicConfig {
        QuicConfig {
            max_pending: self.quic_max_pending.max(1),
            max_bytes: self.quic_memory.saturating_mul(1024),
        }
    }
}

/// The loaded packs and where the default ones came from (for `sigs list`).
pub struct LoadedRules {
    /// The packs, after `--packs`.
    pub rules: RuleSet,
    /// Where the default packs were read from (`None` with `--no-default-signatures`).
    pub defaults: DefaultPacks,
    /// Default packs replaced by an added pack of the same id.
    pub replaced: Vec<sigs::Replaced>,
}

/// Load the default packs plus those of `--signatures` (or only those, with
/// `--no-default-signatures`), then keep the `--packs` ones.
pub fn load_rules(args: &SignatureArgs) -> Result<RuleSet, Vec<SigError>> {
    load_rules_from(args, &args.signatures, args.default_packs()).map(|l| l.rules)
}

/// [`load_rules`] with the added paths and the defaults given (`sigs check PATH...` checks
/// its paths alone), and the origins of the packs.
pub fn load_rules_from(
    args: &SignatureArgs,
    added: &[PathBuf],
    defaults: DefaultPacks,
) -> Result<LoadedRules, Vec<SigError>> {
    let (all, replaced) = RuleSet::load_adding(&defaults, added, args.limits())?;
    let rules = if args.packs.is_empty() {
        all
    } else {
        all.select(&args.packs).map_err(|message| {
            vec![SigError {
                file: PathBuf::from("--packs"),
                line: 0,
                col: 0,
                message,
            }]
        })?
    };
    Ok(LoadedRules {
        rules,
        defaults,
        replaced,
    })
}

/// Print signature errors, one per line, and how many there were.
pub fn report_sig_errors(errors: &[SigError]) {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!(
        "vendorwatch: {} signature error(s); nothing scanned",
        errors.len()
    );
    if clashes_with_defaults(errors) {
        eprintln!(
            "vendorwatch: packs named with --signatures are added to the default packs (one \
             with a default pack's id replaces it); --no-default-signatures loads only yours"
        );
    }
}

/// True when an error is a clash (sid, pack id, indicator) with a default pack: the user may
/// have meant to replace the defaults.
fn clashes_with_defaults(errors: &[SigError]) -> bool {
    let marker = match DefaultPacks::find() {
        DefaultPacks::Dir(dir) => dir.display().to_string(),
        _ => "<bundled>/".to_string(),
    };
    errors.iter().any(|e| {
        let line = e.to_string();
        ["duplicate sid", "duplicate pack id", "overlapping"]
            .iter()
            .any(|c| e.message.starts_with(c))
            && line.contains(&marker)
    })
}

pub fn parse_log(list: &[String]) -> Result<LogSelection, String> {
    let mut log = LogSelection::default();
    for item in list {
        match item.trim() {
            "dns" => log.dns = true,
            "tls" => log.tls = true,
            "http" => log.http = true,
            "quic" => log.quic = true,
            "dhcp" => log.dhcp = true,
            "all" => {
                log.dns = true;
                log.tls = true;
                log.http = true;
                log.quic = true;
                log.dhcp = true;
            }
            "" => {}
            other => {
                return Err(format!(
                    "unknown --log value {other:?} (expected dns, tls, http, quic, dhcp or all)"
                ));
            }
        }
    }
    Ok(log)
}

/// Where records go and in which shape: the same destinations for `scan` and `live`.
#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Append EVE JSON lines to FILE (created when missing, as Suricata does) instead of
    /// stdout; reopened on SIGHUP (logrotate) in `live`.
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// Record shape: `eve` (Suricata EVE JSON), `ecs` (Elastic Common Schema JSON) or
    /// `zeek-intel` (Zeek intel.log JSON; alerts only, --log events are not written).
    #[arg(long, value_name = "FORMAT", default_value = "eve")]
    pub format: String,
    /// EVE DNS object version: 3 (Suricata 8's default) or 2 (one record per query or
    /// response, `type: query|answer`, `rrname`/`rrtype` at the top of `dns`).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(2..=3))]
    pub eve_dns_version: u8,
    /// Seed of the EVE `community_id` flow hash (as Suricata's `community-id-seed`); use the
    /// same seed as the Zeek/Suricata sensors whose records you join with.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub community_id_seed: u16,
    /// Also send every record to syslog (RFC 5424, the record as MSG, facility local5):
    /// `udp://host:port`, `tcp://host:port` (octet-counted framing) or `unix:/path`.
    /// Repeatable.
    #[arg(long, value_name = "URL")]
    pub syslog: Vec<String>,
    /// Also send every record to Redis, `redis://host:port/[db]` (as Suricata's Redis
    /// output). Repeatable.
    #[arg(long, value_name = "URL")]
    pub redis: Vec<String>,
    /// Redis list or stream key.
    #[arg(long, value_name = "KEY", default_value = "vendorwatch")]
    pub redis_key: String,
    /// `list` (RPUSH) or `stream` (XADD key * eve JSON).
    #[arg(long, value_name = "MODE", default_value = "list")]
    pub redis_mode: String,
    /// Also send every record to Kafka: comma-separated bootstrap servers (`host:port`).
    /// Idempotent producer with `acks=all`; never waits: a full queue drops and counts.
    #[arg(long, value_name = "BROKERS")]
    pub kafka: Option<String>,
    /// Kafka topic the records go to.
    #[arg(long, value_name = "TOPIC", default_value = "vendorwatch")]
    pub kafka_topic: String,
    /// Kafka message key: `host` (the record's host: one machine's records stay in order in
    /// one partition), `flow` (the EVE flow_id) or `none`.
    #[arg(long, value_name = "KEY", default_value = "host")]
    pub kafka_key: String,
    /// A librdkafka client property, `KEY=VALUE` (repeatable): TLS (`security.protocol=ssl`,
    /// `ssl.ca.location=...`), compression (`compression.type=zstd`), batching
    /// (`linger.ms=...`). Applied after vendorwatch's own (`acks=all`, idempotence).
    #[arg(long, value_name = "KEY=VALUE")]
    pub kafka_option: Vec<String>,
    /// Records queued for Kafka while the brokers are slow or down; beyond it new records
    /// are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..=i32::MAX as u64))]
    pub kafka_queue: u64,
    /// The sensor's name, written on every record as EVE `host`, ECS `observer.name` and Zeek
    /// intel `seen.node`. Default: the machine's host name for `live`, none for `scan`; ""
    /// for none.
    #[arg(long, value_name = "NAME")]
    pub sensor_name: Option<String>,
    /// Records each network output holds while its server is down; beyond it the oldest
    /// are dropped and counted.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub sink_buffer: usize,
    /// Seconds each network output (syslog, Redis, Kafka) may keep trying to deliver what it
    /// holds at exit.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub sink_drain: f64,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics while running (counters are
    /// listed in the README).
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
    /// Keep serving metrics this many seconds after the end (for a last scrape).
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    pub metrics_linger: f64,
    /// At the end, write the host inventory report to FILE (format from the extension:
    /// .txt, .json, .csv, .html, another is an error; or --report-format), checked writable
    /// before the run starts. `live` also writes it on SIGUSR1.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Format of --report: text, json, csv or html.
    #[arg(long, value_name = "FORMAT")]
    pub report_format: Option<String>,
    /// Do not print the summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}
