//! One engine for `scan` and `live`: the stage configuration, built once from one set of
//! options, the compiled rules every worker shares (and reload publishes), and the
//! suppression table every worker shares. [`Engine::stages`] makes one worker's stages.

use std::sync::{Arc, Mutex};

use crate::decode::{Decoder, DecoderConfig};
use crate::detect::lineage::HostLineage;
use crate::detect::suppress::Suppressor;
use crate::detect::{Detector, LogSelection, answers::ResolvedIps};
use crate::flow::quic::{QuicConfig, QuicFlows};
use crate::flow::{FlowConfig, FlowTable};
use crate::identity::{IdentityFeed, IdentityTable};
use crate::pipeline::Stages;
use crate::record::PendingRepeats;
use crate::record::lineage::Lineage;
use crate::rules::RulesSlot;
use crate::sigs::{CompiledRules, MatchOptions, RuleSet};

/// Everything the stages are configured with (caps, timeouts, what to log, matcher options).
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Link layers, tunnel ports, fragment reassembly caps.
    pub decoder: DecoderConfig,
    /// TCP flow table and reassembly caps.
    pub flow: FlowConfig,
    /// QUIC Initial table caps.
    pub quic: QuicConfig,
    /// Ports read as DNS (UDP datagrams, TCP streams): 53 and `--dns-port`.
    pub dns_ports: crate::proto::dns::DnsPorts,
    /// Most addresses remembered from DNS answers to matched names.
    pub resolved_capacity: usize,
    /// Suppression window (seconds of packet time; 0: off) and table capacity.
    pub suppress_window: u64,
    /// Most keys the suppression table holds.
    pub suppress_capacity: usize,
    /// Most (host, pack) keys the migration memory holds ([`crate::detect::lineage`]).
    pub lineage_capacity: usize,
    /// Protocol events to log besides alerts.
    pub log: LogSelection,
    /// Matcher options (`--enable-port-rules`), applied at load and at every reload.
    pub match_options: MatchOptions,
    /// Most entries in each part of the host identity table.
    pub identity_capacity: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            decoder: DecoderConfig::default(),
            flow: FlowConfig::default(),
            quic: QuicConfig::default(),
            dns_ports: crate::proto::dns::DnsPorts::default(),
            resolved_capacity: crate::detect::RESOLVED_CAPACITY,
            suppress_window: crate::detect::suppress::DEFAULT_WINDOW_SECS,
            suppress_capacity: crate::detect::suppress::DEFAULT_CAPACITY,
            lineage_capacity: crate::detect::lineage::DEFAULT_CAPACITY,
            log: LogSelection::default(),
            match_options: MatchOptions::default(),
            identity_capacity: crate::identity::DEFAULT_CAPACITY,
        }
    }
}

/// The engine: configuration, rules and the shared tables, from which each worker's stages
/// are made.
pub struct Engine {
    config: EngineConfig,
    rules: Arc<RulesSlot>,
    suppress: Arc<Mutex<Suppressor>>,
    lineage: Arc<Mutex<HostLineage>>,
    identity: Arc<Mutex<IdentityTable>>,
}

impl Engine {
    /// Compile `rules` once and set up the shared tables.
    pub fn new(config: EngineConfig, rules: RuleSet) -> Self {
        let compiled = Arc::new(CompiledRules::compile(rules, config.match_options));
        let suppress = Suppressor::new(config.suppress_window, config.suppress_capacity);
        Engine {
            rules: Arc::new(RulesSlot::new(compiled)),
            suppress: Arc::new(Mutex::new(suppress)),
            lineage: Arc::new(Mutex::new(HostLineage::new(config.lineage_capacity))),
            identity: Arc::new(Mutex::new(IdentityTable::new(config.identity_capacity))),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Where reloads are published (the control thread compiles with
    /// [`Engine::compile`] and publishes here).
    pub fn rules(&self) -> &Arc<RulesSlot> {
        &self.rules
    }

    /// Compile a reloaded rule set with the engine's matcher options.
    pub fn compile(options: MatchOptions, rules: RuleSet) -> Arc<CompiledRules> {
        Arc::new(CompiledRules::compile(rules, options))
    }

    /// The host identity table every worker shares.
    pub fn identity(&self) -> &Arc<Mutex<IdentityTable>> {
        &self.identity
    }

    /// The suppression table every worker shares.
    pub fn suppressor(&self) -> &Arc<Mutex<Suppressor>> {
        &self.suppress
    }

    /// Repeats still held by the suppression table (suppressed, not yet carried by an alert):
    /// they count for their host in the report.
    pub fn pending_repeats(&self) -> Vec<PendingRepeats> {
        let compiled = self.rules.current();
        let rules = &compiled.rules;
        let table = self.suppress.lock().unwrap_or_else(|e| e.into_inner());
        table
            .pending_repeats()
            .filter_map(|(key, count, last)| {
                let rule = rules.rules.iter().find(|r| r.sid == key.sid)?;
                let pack = rules.packs.get(rule.pack);
                Some(PendingRepeats {
                    host: key.host,
                    vendor: pack.map_or("", |p| p.vendor.as_str()).to_string(),
                    channel: rule.channel.clone(),
                    sid: rule.sid,
                    signature: rule.name.clone(),
                    name: key.name.clone(),
                    last,
                    count,
                    cutoff: pack.and_then(|p| p.cutoff).map(|c| c.secs),
                    lineage: pack.map(Lineage::of).unwrap_or_default(),
                })
            })
            .collect()
    }

    /// One worker's stages.
    pub fn stages(&self) -> Stages {
        let c = &self.config;
        // The generation before the set: a reload in between is taken up at the first batch.
        let rules_generation = self.rules.generation();
        let mut detector =
            Detector::with_compiled(self.rules.current(), c.log, Arc::clone(&self.suppress));
        detector.set_lineage(Arc::clone(&self.lineage));
        detector.resolved = ResolvedIps::new(c.resolved_capacity);
        detector.dns_ports = c.dns_ports;
        detector.set_identity(Arc::clone(&self.identity));
        let mut flows = FlowTable::new(c.flow);
        flows.quic = QuicFlows::new(c.quic);
        flows.dns_ports = c.dns_ports;
        Stages {
            decoder: Decoder::new(c.decoder.clone()),
            flows,
            detector,
            skipped: [0; crate::decode::SkipReason::ALL.len()],
            rules_generation,
            rules: Arc::clone(&self.rules),
            identity: Some(IdentityFeed::new(Arc::clone(&self.identity))),
        }
    }
}
