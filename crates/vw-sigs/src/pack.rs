//! Signature packs: loading `signatures/*.toml` into a [`RuleSet`] and reporting every
//! mistake as `file:line:col: message`.

pub use super::error::SigError;
use super::load::{self, LoadLimits};
use super::pattern::{PortProto, parse_cidr, parse_domain, parse_ja4, parse_port};
use super::text::{excerpt, excerpt_path};
use super::tree::{self, Key, Kind, Node};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The channels a rule may name; alert metadata and the host summary group by them.
pub const CHANNELS: &[&str] = &[
    "update",
    "cloud",
    "telemetry",
    "activation",
    "management",
    "portal",
    "other",
];
/// The confidence levels a rule may name (how well sourced its indicators are).
pub const CONFIDENCES: &[&str] = &["high", "medium", "low"];

const PACK_KEYS: &[&str] = &[
    "id",
    "vendor",
    "version",
    "references",
    "port_rules",
    "cutoff",
];
const RULE_KEYS: &[&str] = &[
    "sid",
    "rev",
    "name",
    "channel",
    "severity",
    "confidence",
    "references",
    "domains",
    "domains_file",
    "ips",
    "ports",
    "ja4",
    "payloads",
    "user_agents",
    "pass",
    "enabled",
    "comment",
];

/// Longest `payloads` prefix, in bytes: enough for a protocol's magic and verb, short enough
/// to compare in one or two words.
pub const MAX_PAYLOAD_PREFIX: usize = 32;
/// Longest `user_agents` entry, in bytes.
pub const MAX_USER_AGENT: usize = 128;
const PAYLOAD_KEYS: &[&str] = &["proto", "port", "prefix", "prefix_hex"];

/// A name-less indicator (`payloads = [{ proto = "udp", port = 8800, prefix = "DHGET " }]`):
/// the server port of a UDP datagram or TCP segment and the bytes its payload starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadPrefix {
    /// `udp` or `tcp`.
    pub proto: PortProto,
    /// Server (destination) port, 1 to 65535.
    pub port: u16,
    /// The bytes the payload must start with (1 to [`MAX_PAYLOAD_PREFIX`]).
    pub prefix: Vec<u8>,
    /// Canonical text for listings and `alert.metadata.matched_pattern`:
    /// `udp/8800 "DHGET "`, bytes outside printable ASCII as `\xNN`.
    pub label: String,
}

impl PayloadPrefix {
    /// Build one, with its label.
    pub fn new(proto: PortProto, port: u16, prefix: Vec<u8>) -> Self {
        let mut label = format!("{}/{port} \"", proto.label());
        for &b in &prefix {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                label.push(char::from(b));
            } else {
                label.push_str(&format!("\\x{b:02x}"));
            }
        }
        label.push('"');
        PayloadPrefix {
            proto,
            port,
            prefix,
            label,
        }
    }
}

/// The `[pack]` table of one file: who the signatures are about and where they came from
/// (carried into alert metadata and `sigs list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackInfo {
    /// Short identifier, e.g. `kaspersky`; unique across loaded packs.
    pub id: String,
    /// Vendor name as shown in alerts.
    pub vendor: String,
    /// Pack version (a date by convention), shown by `sigs list` and in stats.
    pub version: String,
    /// Where the pack's indicators come from.
    pub references: Vec<String>,
    /// `port_rules = true`: this pack's `ports` indicators match without
    /// `--enable-port-rules` (default false: ports are reused by other software).
    pub port_rules: bool,
    /// The file the pack was read from (`<bundled>/NAME` for the built-in copy).
    pub file: PathBuf,
    /// `cutoff = "YYYY-MM-DD"`: the day from which the vendor's products may no longer be
    /// sold or updated (Kaspersky: 2024-09-29). Alerts carry it, and the inventory counts
    /// what a host did from then on; a pack without one has no cut-off.
    pub cutoff: Option<PackDate>,
}

/// A calendar date from a pack (`YYYY-MM-DD`, UTC), with its first second as Unix time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackDate {
    /// Year, month (1-12), day (1-31): a real date (checked on parse).
    pub ymd: (i32, u8, u8),
    /// 00:00:00 UTC of that day, in Unix seconds.
    pub secs: i64,
}

impl PackDate {
    /// Parse `YYYY-MM-DD` (a real calendar date, years 1970-9999).
    pub fn parse(s: &str) -> Option<PackDate> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let digits = |r: std::ops::Range<usize>| {
            let part = s.get(r)?;
            part.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| part.parse::<i64>().ok())?
        };
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days_in_month = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if y < 1970 || d < 1 || d > days_in_month {
            return None;
        }
        // days_from_civil (Howard Hinnant).
        let yy = if m <= 2 { y - 1 } else { y };
        let era = yy.div_euclid(400);
        let yoe = yy - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        Some(PackDate {
            ymd: (i32::try_from(y).ok()?, m as u8, d as u8),
            secs: days * 86_400,
        })
    }
}

impl std::fmt::Display for PackDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = self.ymd;
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// One `[[rule]]`: an alert definition (EVE `signature_id`, `signature`, `severity`) plus the
/// names and addresses that raise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// EVE `alert.signature_id`; unique across all loaded packs.
    pub sid: u32,
    /// EVE `alert.rev`; default 1.
    pub rev: u32,
    /// EVE `alert.signature`.
    pub name: String,
    /// One of [`CHANNELS`].
    pub channel: String,
    /// EVE severity, 1 (high) to 3 (low).
    pub severity: u8,
    /// One of [`CONFIDENCES`], if given.
    pub confidence: Option<String>,
    /// Sources of the indicators.
    pub references: Vec<String>,
    /// Domain patterns in canonical form (lowercase, no trailing dot).
    pub domains: Vec<String>,
    /// CIDRs as written (validated: parseable, no host bits).
    pub ips: Vec<String>,
    /// Server ports in canonical form (`tcp/13000`, `udp/15111`); matched only when port
    /// rules are enabled (pack `port_rules = true` or `--enable-port-rules`).
    pub ports: Vec<String>,
    /// JA4 TLS client fingerprints (lowercase, validated); stored and listed, not matched
    /// yet (reserved for the JA4 issue).
    pub ja4: Vec<String>,
    /// Name-less indicators: server port plus payload prefix (UDP datagrams, TCP segments).
    pub payloads: Vec<PayloadPrefix>,
    /// HTTP `User-Agent` indicators: a case-sensitive substring, or with a leading `^` a
    /// prefix (stored as written).
    pub user_agents: Vec<String>,
    /// `pass = true`: the rule's `domains` are known decoys. When one of them is the best
    /// (most specific) match for a name, no rule alerts on it, so a vendor catch-all such
    /// as `*.ys7.com` can coexist with an exception such as `open.ys7.com`.
    pub pass: bool,
    /// Disabled rules are kept for listing but never match.
    pub enabled: bool,
    /// Free text from the file.
    pub comment: Option<String>,
    /// Index into [`RuleSet::packs`].
    pub pack: usize,
}

/// Everything loaded from the signature files: the owned, printable form of the rules
/// (compile it with [`super::Matcher::new`] to match).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleSet {
    /// One entry per file.
    pub packs: Vec<PackInfo>,
    /// All rules of all packs, in file order.
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// Load every `*.toml` of each path: a directory is read in file-name order (not
    /// recursively), a file as it is. All errors of all files are returned together, so one
    /// run of `vendorwatch sigs check` shows everything to fix.
    pub fn load(paths: &[PathBuf]) -> Result<RuleSet, Vec<SigError>> {
        Self::load_with(paths, LoadLimits::default())
    }

    /// [`Self::load`], with the size limits given (`--max-pack-size`, `--max-list-size`).
    pub fn load_with(paths: &[PathBuf], limits: LoadLimits) -> Result<RuleSet, Vec<SigError>> {
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        if paths.is_empty() {
            errors.push(whole_file(
                Path::new("."),
                "no signature file or directory given",
            ));
        }
        read_paths(paths, limits, &mut sources, &mut errors);
        assemble(
            sources.iter().map(|(p, t)| (p.clone(), t.as_str())),
            limits,
            errors,
        )
    }

    /// Parse one pack from text, reporting errors against `file`: for tests and for packs
    /// that do not live on disk.
    pub fn from_str(text: &str, file: &Path) -> Result<RuleSet, Vec<SigError>> {
        assemble(
            std::iter::once((file.to_path_buf(), text)),
            LoadLimits::default(),
            Vec::new(),
        )
    }

    /// The packs compiled into the binary ([`super::BUNDLED`]), so a lone installed binary
    /// works without its `signatures/` directory.
    pub fn bundled() -> Result<RuleSet, Vec<SigError>> {
        assemble(
            super::BUNDLED
                .iter()
                .map(|(name, text)| (PathBuf::from(format!("<bundled>/{name}")), *text)),
            LoadLimits::default(),
            Vec::new(),
        )
    }
}

impl Rule {
    /// True when the rule belongs to the pack with this id.
    pub fn pack_id_is(&self, set: &RuleSet, id: &str) -> bool {
        set.packs.get(self.pack).is_some_and(|p| p.id == id)
    }
}

impl RuleSet {
    /// Keep only the packs whose ids are listed (`--packs kaspersky,dahua`), in load order.
    /// An unknown id is an error naming the available ones.
    pub fn select(&self, ids: &[String]) -> Result<RuleSet, String> {
        let ids: Vec<&str> = ids
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let unknown: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| !self.packs.iter().any(|p| p.id == *id))
            .collect();
        if !unknown.is_empty() {
            let available: Vec<&str> = self.packs.iter().map(|p| p.id.as_str()).collect();
            return Err(format!(
                "unknown pack id{} {}; available: {}",
                if unknown.len() > 1 { "s" } else { "" },
                unknown.join(", "),
                available.join(", ")
            ));
        }
        let mut out = RuleSet::default();
        let mut map = vec![None; self.packs.len()];
        for (i, p) in self.packs.iter().enumerate() {
            if ids.contains(&p.id.as_str()) {
                map[i] = Some(out.packs.len());
                out.packs.push(p.clone());
            }
        }
        for r in &self.rules {
            if let Some(Some(new)) = map.get(r.pack) {
                let mut r = r.clone();
                r.pack = *new;
                out.rules.push(r);
            }
        }
        Ok(out)
    }
}

/// Read the pack files of `paths` (a directory: its `*.toml` files in name order) into
/// `sources`, each error into `errors`.
pub(crate) fn read_paths(
    paths: &[PathBuf],
    limits: LoadLimits,
    sources: &mut Vec<(PathBuf, String)>,
    errors: &mut Vec<SigError>,
) {
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => match list_toml(path) {
                Ok(files) if files.is_empty() => {
                    errors.push(whole_file(path, "directory holds no *.toml file"));
                }
                Ok(files) => {
                    for file in files {
                        read_into(&file, limits, sources, errors);
                    }
                }
                Err(e) => errors.push(whole_file(path, &format!("cannot list: {e}"))),
            },
            Ok(_) => read_into(path, limits, sources, errors),
            Err(e) => errors.push(whole_file(path, &format!("cannot open: {e}"))),
        }
    }
}

fn whole_file(path: &Path, message: &str) -> SigError {
    SigError {
        file: path.to_path_buf(),
        line: 0,
        col: 0,
        message: message.to_string(),
    }
}

fn list_toml(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(files)
}

fn read_into(
    path: &Path,
    limits: LoadLimits,
    sources: &mut Vec<(PathBuf, String)>,
    errors: &mut Vec<SigError>,
) {
    match load::read_pack(path, limits.max_pack_mib) {
        Ok(text) => sources.push((path.to_path_buf(), text)),
        Err(message) => errors.push(whole_file(path, &message)),
    }
}

/// Where something was defined, for "first defined at" notes: an index into
/// [`Assembly::files`], line and column (12 bytes: one is kept per sid).
#[derive(Clone, Copy)]
struct Place {
    file: u32,
    line: u32,
    col: u32,
}

/// The rule set being assembled from the packs, and what the checks across files need (sids
/// and pack ids seen, overlapping indicators). Each part of a pack hands its checked rules
/// here at once ([`Assembly::add`]), so a big pack is never held twice.
#[derive(Default)]
struct Assembly {
    set: RuleSet,
    sids: HashMap<u32, Place>,
    pack_ids: HashMap<String, Place>,
    overlaps: Overlaps,
    /// Pack files and list files, in load order: [`Place::file`] and the overlap check's
    /// file indices point in here.
    files: Vec<PathBuf>,
    /// The pack being read: its file index and the index it will have in `set.packs`.
    file: usize,
    pack: usize,
}

/// How far an [`Assembly`] was, to undo a pack that failed.
#[derive(Clone, Copy)]
struct Mark {
    rules: usize,
    keys: usize,
    files: usize,
}

impl Assembly {
    fn place(&self, src: &Source, span: Option<Range<usize>>) -> Place {
        let (line, col) = src.line_col(span);
        Place {
            file: self.file as u32,
            line: line as u32,
            col: col as u32,
        }
    }

    /// `file:line:col` of a place.
    fn show(&self, p: Place) -> String {
        let file = self.files.get(p.file as usize).cloned().unwrap_or_default();
        format!("{}:{}:{}", file.display(), p.line, p.col)
    }

    /// Add one checked rule of the current pack, unless its sid was taken.
    fn add(&mut self, src: &Source, parsed: ParsedRule, errors: &mut Vec<SigError>) {
        let (mut rule, sid_span, indicators, list_file) = parsed;
        if let Some(&first) = self.sids.get(&rule.sid) {
            errors.push(src.error(
                sid_span,
                format!(
                    "duplicate sid {} (first defined at {}); sids must be unique across all \
                     packs",
                    rule.sid,
                    self.show(first)
                ),
            ));
            return;
        }
        self.sids.insert(rule.sid, self.place(src, sid_span));
        let list_index = list_file.map(|list| {
            self.files.push(list);
            self.files.len() - 1
        });
        self.overlaps
            .add(&rule, indicators, (self.file, list_index));
        rule.pack = self.pack;
        self.set.rules.push(rule);
    }

    fn mark(&self) -> Mark {
        Mark {
            rules: self.set.rules.len(),
            keys: self.overlaps.keys.len(),
            files: self.files.len(),
        }
    }

    /// Take back the rules added since `mark` (a pack that failed, or parts about to be
    /// parsed again as one document).
    fn rollback(&mut self, mark: Mark) {
        for rule in self.set.rules.get(mark.rules..).unwrap_or_default() {
            self.sids.remove(&rule.sid);
        }
        self.set.rules.truncate(mark.rules);
        self.overlaps.indicators.truncate(mark.rules);
        self.overlaps.keys.truncate(mark.keys);
        self.files.truncate(mark.files);
    }
}

/// Parse every source, then check what spans files (duplicate sids and pack ids).
pub(crate) fn assemble<'a>(
    sources: impl Iterator<Item = (PathBuf, &'a str)>,
    limits: LoadLimits,
    mut errors: Vec<SigError>,
) -> Result<RuleSet, Vec<SigError>> {
    let mut asm = Assembly::default();
    for (file, text) in sources {
        let src = Source::new(&file, text, limits);
        asm.file = asm.files.len();
        asm.pack = asm.set.packs.len();
        asm.files.push(file.clone());
        let mark = asm.mark();
        let Some((pack, id_span)) = src.parse_pack(&mut asm, &mut errors) else {
            asm.rollback(mark);
            continue;
        };
        if let Some(&first) = asm.pack_ids.get(&pack.id) {
            errors.push(src.error(
                id_span,
                format!(
                    "duplicate pack id \"{}\" (first defined at {})",
                    excerpt(&pack.id),
                    asm.show(first)
                ),
            ));
        } else {
            let place = asm.place(&src, id_span);
            asm.pack_ids.insert(pack.id.clone(), place);
        }
        asm.set.packs.push(pack);
    }
    asm.overlaps.check(&asm.set.rules, &asm.files, &mut errors);
    if errors.is_empty() {
        Ok(asm.set)
    } else {
        Err(errors)
    }
}

fn indicator_hash(kind: IndicatorKind, value: &str) -> u64 {
    use std::hash::Hasher;
    let mut h = super::FxHasher::default();
    h.write_u8(kind as u8);
    h.write(value.as_bytes());
    h.finish()
}

/// A rule's indicators and its files: (index of the pack file, index of its list file).
type RuleIndicators = (Vec<Indicator>, (usize, Option<usize>));

/// Overlapping indicators: the same canonical domain pattern, CIDR or port twice in one rule,
/// or in two enabled rules (of any packs). Only one of them could ever be reported (the lowest
/// sid wins), so the other is dead weight or a mistake. Patterns that merely cover each other
/// (`.a.com` and `x.a.com`) are allowed: the most specific one wins, by design.
///
/// Checked once at the end by sorting (hash, rule, position) triples: cache-friendly and
/// without a copy of any value, so a 1-million-domain list stays fast and small (16 bytes
/// per indicator, plus its 16-byte position record).
#[derive(Default)]
struct Overlaps {
    /// (hash of kind and value, rule index, index into `indicators[rule]`).
    keys: Vec<(u64, u32, u32)>,
    /// Per rule (in `RuleSet::rules` order): its indicators and (pack file, list file).
    indicators: Vec<RuleIndicators>,
}

impl Overlaps {
    fn add(&mut self, rule: &Rule, indicators: Vec<Indicator>, files: (usize, Option<usize>)) {
        let r = self.indicators.len() as u32;
        self.keys.reserve(indicators.len());
        for (i, ind) in indicators.iter().enumerate() {
            if let Some(value) = ind.kind.list(rule).get(ind.index as usize) {
                self.keys
                    .push((indicator_hash(ind.kind, value), r, i as u32));
            }
        }
        self.indicators.push((indicators, files));
    }

    fn check(mut self, rules: &[Rule], files: &[PathBuf], errors: &mut Vec<SigError>) {
        self.keys.sort_unstable();
        let value = |r: u32, i: u32| -> Option<(&Indicator, &str)> {
            let ind = self.indicators.get(r as usize)?.0.get(i as usize)?;
            let v = ind
                .kind
                .list(rules.get(r as usize)?)
                .get(ind.index as usize)?;
            Some((ind, v.as_str()))
        };
        let place = |r: u32, ind: &Indicator| -> (PathBuf, usize, usize) {
            let (pack, list) = self.indicators[r as usize].1;
            let f = match list {
                Some(l) if ind.in_list_file => l,
                _ => pack,
            };
            (
                files.get(f).cloned().unwrap_or_default(),
                ind.line as usize,
                ind.col as usize,
            )
        };
        let mut group_start = 0usize;
        while group_start < self.keys.len() {
            let h = self.keys[group_start].0;
            let mut end = group_start + 1;
            while end < self.keys.len() && self.keys[end].0 == h {
                end += 1;
            }
            // Groups hold equal hashes: almost always equal values, compared to be exact.
            for j in group_start + 1..end {
                let (_, rj, ij) = self.keys[j];
                let Some((ind, v)) = value(rj, ij) else {
                    continue;
                };
                let rule = &rules[rj as usize];
                let earlier = (group_start..j).map(|k| self.keys[k]).find(|&(_, rk, ik)| {
                    let same_value =
                        value(rk, ik).is_some_and(|(x, w)| x.kind == ind.kind && w == v);
                    same_value && (rk == rj || (rule.enabled && rules[rk as usize].enabled))
                });
                let Some((_, rk, ik)) = earlier else { continue };
                let Some((first, _)) = value(rk, ik) else {
                    continue;
                };
                let (file, line, col) = place(rj, ind);
                let (ffile, fline, fcol) = place(rk, first);
                let message = if rk == rj {
                    format!(
                        "{} \"{v}\" appears twice in sid {} (first at line {fline}, column \
                         {fcol}); remove one",
                        ind.kind.name(),
                        rule.sid
                    )
                } else {
                    format!(
                        "overlapping {} \"{v}\": already in enabled sid {} at {}:{fline}:{fcol}; \
                         only one rule could ever report it (merge them, or set enabled = false \
                         on one)",
                        ind.kind.name(),
                        rules[rk as usize].sid,
                        ffile.display()
                    )
                };
                errors.push(SigError {
                    file,
                    line,
                    col,
                    message,
                });
            }
            group_start = end;
        }
    }
}

/// Which part of a pack a document is (see [`Source::parse_pack`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The whole file.
    Whole,
    /// What comes before the first `[[rule]]` line.
    Head,
    /// From a `[[rule]]` line on.
    Rules,
}

enum PartError {
    /// The part is not valid TOML: the one error reported for the file, as for a whole one.
    Syntax(SigError),
    /// The parts do not add up the way the whole document would: parse it whole.
    Whole,
}

/// What the top-level tables of a pack's parts add up to (its rules go to the
/// [`Assembly`] as they are checked).
#[derive(Default)]
struct Collected {
    /// Set once `[pack]` was seen (to `None` when it was not valid).
    pack: Option<Option<(PackInfo, Option<Range<usize>>)>>,
    /// Top-level keys seen (but `rule` in parts that start with `[[rule]]`).
    keys: std::collections::HashSet<String>,
}

/// A validated rule, where its sid was written, and its indicators with their positions.
type ParsedRule = (Rule, Option<Range<usize>>, Vec<Indicator>, Option<PathBuf>);

/// One domain pattern, CIDR or port of a rule (by index into the rule's list), and where it
/// was written, for overlap checks. Small and without a copy of the value, so a million
/// indicators stay cheap.
#[derive(Clone, Copy)]
struct Indicator {
    kind: IndicatorKind,
    index: u32,
    line: u32,
    col: u32,
    /// Written in the rule's `domains_file`, not in the pack file itself.
    in_list_file: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum IndicatorKind {
    Domain,
    Cidr,
    Port,
    UserAgent,
}

impl IndicatorKind {
    fn name(self) -> &'static str {
        match self {
            IndicatorKind::Domain => "domain pattern",
            IndicatorKind::Cidr => "CIDR",
            IndicatorKind::Port => "port",
            IndicatorKind::UserAgent => "user agent",
        }
    }

    fn list(self, rule: &Rule) -> &[String] {
        match self {
            IndicatorKind::Domain => &rule.domains,
            IndicatorKind::Cidr => &rule.ips,
            IndicatorKind::Port => &rule.ports,
            IndicatorKind::UserAgent => &rule.user_agents,
        }
    }
}

/// One file's text and a line index for turning byte spans into `line:col`.
struct Source<'a> {
    file: &'a Path,
    text: &'a str,
    line_starts: Vec<usize>,
    limits: LoadLimits,
}

impl<'a> Source<'a> {
    fn new(file: &'a Path, text: &'a str, limits: LoadLimits) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            file,
            text,
            line_starts,
            limits,
        }
    }

    fn line_col(&self, span: Option<Range<usize>>) -> (usize, usize) {
        let pos = span.map_or(0, |s| s.start).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= pos).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .text
            .get(start..pos)
            .map_or(pos - start, |s| s.chars().count());
        (line, col + 1)
    }

    fn error(&self, span: Option<Range<usize>>, message: String) -> SigError {
        let (line, col) = self.line_col(span);
        SigError {
            file: self.file.to_path_buf(),
            line,
            col,
            message,
        }
    }

    /// Parse and check the pack. A pack with `[[rule]]` tables is parsed a part at a time
    /// (cut before a `[[rule]]` line, see [`tree::rule_headers`], every 64 KiB): each part's
    /// rules are checked and its tree dropped before the next part is parsed, so memory
    /// follows the rules kept, not the TOML parser's tree of the whole file. When the parts do
    /// not add up the way the whole document would (a top-level key written in two parts, or
    /// `rule` written before the first `[[rule]]` line), the whole document is parsed instead,
    /// so TOML's own verdict stands.
    fn parse_pack(
        &self,
        asm: &mut Assembly,
        errors: &mut Vec<SigError>,
    ) -> Option<(PackInfo, Option<Range<usize>>)> {
        /// Bytes of rules parsed as one document: large enough that the parser's fixed cost
        /// per document does not show, small enough that its tree stays a few MB.
        const PART_BYTES: usize = 64 << 10;
        let before = errors.len();
        let mark = asm.mark();
        let headers = tree::rule_headers(self.text);
        if let Some(&first) = headers.first() {
            let mut starts = vec![0, first];
            for &h in &headers[1..] {
                if starts.last().is_some_and(|&last| h - last >= PART_BYTES) {
                    starts.push(h);
                }
            }
            starts.push(self.text.len());
            let mut collected = Collected::default();
            let mut result = Ok(());
            for (i, range) in starts.windows(2).enumerate() {
                let part = if i == 0 { Part::Head } else { Part::Rules };
                result = self.take_part(range[0]..range[1], part, &mut collected, asm, errors);
                if result.is_err() {
                    break;
                }
            }
            match result {
                Ok(()) => return self.finish(collected, errors),
                Err(PartError::Syntax(e)) => {
                    errors.truncate(before);
                    errors.push(e);
                    return None;
                }
                Err(PartError::Whole) => {
                    errors.truncate(before);
                    asm.rollback(mark);
                }
            }
        }
        let mut collected = Collected::default();
        match self.take_part(0..self.text.len(), Part::Whole, &mut collected, asm, errors) {
            Ok(()) => self.finish(collected, errors),
            Err(PartError::Syntax(e)) => {
                errors.truncate(before);
                errors.push(e);
                None
            }
            // Only parts ask for the whole document.
            Err(PartError::Whole) => None,
        }
    }

    /// Parse the part `range` of the pack, check its top-level tables into `c` and hand its
    /// rules to `asm`.
    fn take_part(
        &self,
        range: Range<usize>,
        part: Part,
        c: &mut Collected,
        asm: &mut Assembly,
        errors: &mut Vec<SigError>,
    ) -> Result<(), PartError> {
        let root = tree::parse_part(self.text, range).map_err(|(message, span)| {
            let message = message.trim_end().replace('\n', "; ");
            PartError::Syntax(self.error(span, format!("TOML syntax: {message}")))
        })?;
        let Kind::Table(entries) = root.kind else {
            errors.push(self.error(root.span, "expected a TOML table".into()));
            return Ok(());
        };
        for (key, value) in &entries {
            let rules_of_part = key.name == "rule" && part == Part::Rules;
            if part != Part::Whole && !rules_of_part {
                if part == Part::Head && key.name == "rule" {
                    return Err(PartError::Whole);
                }
                if !c.keys.insert(key.name.clone()) {
                    return Err(PartError::Whole);
                }
            }
            match key.name.as_str() {
                "pack" => c.pack = Some(self.pack_info(value, errors)),
                "rule" => match &value.kind {
                    Kind::Array(items) => {
                        for node in items {
                            if let Some(rule) = self.rule(node, errors) {
                                asm.add(self, rule, errors);
                            }
                        }
                    }
                    _ => errors.push(self.error(
                        at(key, value),
                        "`rule` must be an array of tables: write each rule under [[rule]]".into(),
                    )),
                },
                other => errors.push(self.error(
                    key.span.clone(),
                    format!(
                        "unknown top-level key `{}`; expected [pack] and [[rule]]",
                        excerpt(other)
                    ),
                )),
            }
        }
        Ok(())
    }

    /// The `[pack]` table the parts collected.
    fn finish(
        &self,
        c: Collected,
        errors: &mut Vec<SigError>,
    ) -> Option<(PackInfo, Option<Range<usize>>)> {
        match c.pack {
            Some(pack) => pack,
            None => {
                errors.push(self.error(
                    Some(0..0),
                    "missing [pack] table (id, vendor, version)".into(),
                ));
                None
            }
        }
    }

    /// Split a table's entries into known keys (in `known` order) and report unknown ones.
    fn fields<'n>(
        &self,
        node: &'n Node,
        what: &str,
        known: &[&str],
        errors: &mut Vec<SigError>,
    ) -> Option<Vec<Option<(&'n Key, &'n Node)>>> {
        let Kind::Table(entries) = &node.kind else {
            errors.push(self.error(
                node.span.clone(),
                format!("{what} must be a table, found {}", node.kind.type_name()),
            ));
            return None;
        };
        let mut slots = vec![None; known.len()];
        for (key, value) in entries {
            match known.iter().position(|k| *k == key.name) {
                Some(i) => slots[i] = Some((key, value)),
                None => errors.push(self.error(
                    key.span.clone().or_else(|| node.span.clone()),
                    format!(
                        "unknown key `{}` in {what}; expected one of: {}",
                        excerpt(&key.name),
                        known.join(", ")
                    ),
                )),
            }
        }
        Some(slots)
    }

    fn missing(&self, table: &Node, what: &str, key: &str) -> SigError {
        self.error(table.span.clone(), format!("{what} is missing `{key}`"))
    }

    fn string(&self, key: &Key, node: &Node, errors: &mut Vec<SigError>) -> Option<String> {
        match &node.kind {
            Kind::Str(s) if s.trim().is_empty() => {
                errors.push(self.error(at(key, node), format!("`{}` is empty", key.name)));
                None
            }
            Kind::Str(s) => Some(s.clone()),
            other => {
                errors.push(self.type_error(key, node, "a string", other));
                None
            }
        }
    }

    fn int(
        &self,
        key: &Key,
        node: &Node,
        range: Range<i64>,
        errors: &mut Vec<SigError>,
    ) -> Option<i64> {
        match &node.kind {
            Kind::Int(n) if range.contains(n) => Some(*n),
            Kind::Int(n) => {
                errors.push(self.error(
                    at(key, node),
                    format!(
                        "`{}` is {n}, it must be from {} to {}",
                        key.name,
                        range.start,
                        range.end - 1
                    ),
                ));
                None
            }
            other => {
                errors.push(self.type_error(key, node, "an integer", other));
                None
            }
        }
    }

    fn one_of(
        &self,
        key: &Key,
        node: &Node,
        allowed: &[&str],
        errors: &mut Vec<SigError>,
    ) -> Option<String> {
        let s = self.string(key, node, errors)?;
        if allowed.contains(&s.as_str()) {
            Some(s)
        } else {
            errors.push(self.error(
                at(key, node),
                format!(
                    "`{}` is \"{}\", expected one of: {}",
                    key.name,
                    excerpt(&s),
                    allowed.join(", ")
                ),
            ));
            None
        }
    }

    /// An array of strings, each checked by `check` (which returns the stored form).
    fn strings(
        &self,
        key: &Key,
        node: &Node,
        errors: &mut Vec<SigError>,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Option<Vec<String>> {
        self.strings_spanned(key, node, errors, check)
            .map(|v| v.into_iter().map(|(s, _)| s).collect())
    }

    /// As [`Self::strings`], keeping each item's span (for overlap errors).
    fn strings_spanned(
        &self,
        key: &Key,
        node: &Node,
        errors: &mut Vec<SigError>,
        check: impl Fn(&str) -> Result<String, String>,
    ) -> Option<Vec<(String, Option<Range<usize>>)>> {
        let Kind::Array(items) = &node.kind else {
            errors.push(self.type_error(key, node, "an array of strings", &node.kind));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items {
            let span = item.span.clone().or_else(|| at(key, node));
            match &item.kind {
                Kind::Str(s) => match check(s) {
                    Ok(v) => out.push((v, span)),
                    Err(msg) => {
                        errors.push(self.error(span, msg));
                        ok = false;
                    }
                },
                other => {
                    errors.push(self.error(
                        span,
                        format!(
                            "`{}` must hold strings, found {}",
                            key.name,
                            other.type_name()
                        ),
                    ));
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    /// Read a rule's `domains_file`: a plain list next to the pack (path relative to the
    /// pack file), read by [`load::read_list`]. The fast path for big imported feeds: no TOML
    /// parsing per entry. Returns the path and (canonical pattern, line, col) items; bad lines
    /// are reported against the list file, a file that cannot be read at the key.
    #[allow(clippy::type_complexity)]
    fn domains_file(
        &self,
        name: &str,
        span: Option<Range<usize>>,
        errors: &mut Vec<SigError>,
    ) -> Option<(PathBuf, Vec<(String, u32, u32)>)> {
        let path = match self.file.parent() {
            Some(dir) if Path::new(name).is_relative() => dir.join(name),
            _ => PathBuf::from(name),
        };
        let before = errors.len();
        let max_mib = self.limits.max_list_mib;
        match load::read_list(&path, max_mib, errors) {
            Ok(items) => (errors.len() == before).then_some((path, items)),
            Err(why) => {
                errors.push(self.error(
                    span,
                    format!(
                        "cannot read domains_file {}: {}",
                        excerpt_path(&path),
                        why.describe(max_mib, "--max-list-size")
                    ),
                ));
                None
            }
        }
    }

    fn boolean(&self, key: &Key, node: &Node, errors: &mut Vec<SigError>) -> Option<bool> {
        match &node.kind {
            Kind::Bool(b) => Some(*b),
            other => {
                errors.push(self.type_error(key, node, "a boolean", other));
                None
            }
        }
    }

    fn type_error(&self, key: &Key, node: &Node, want: &str, found: &Kind) -> SigError {
        self.error(
            at(key, node),
            format!("`{}` must be {want}, found {}", key.name, found.type_name()),
        )
    }

    fn pack_info(
        &self,
        node: &Node,
        errors: &mut Vec<SigError>,
    ) -> Option<(PackInfo, Option<Range<usize>>)> {
        let slots = self.fields(node, "[pack]", PACK_KEYS, errors)?;
        let req = |i: usize, errors: &mut Vec<SigError>| match slots[i] {
            Some((k, v)) => self.string(k, v, errors),
            None => {
                errors.push(self.missing(node, "[pack]", PACK_KEYS[i]));
                None
            }
        };
        let id = req(0, errors);
        let vendor = req(1, errors);
        let version = req(2, errors);
        let references = match slots[3] {
            Some((k, v)) => self.strings(k, v, errors, non_empty),
            None => Some(Vec::new()),
        };
        let port_rules = match slots[4] {
            Some((k, v)) => self.boolean(k, v, errors),
            None => Some(false),
        };
        let cutoff = match slots[5] {
            Some((k, v)) => self.string(k, v, errors).and_then(|text| {
                let date = PackDate::parse(text.trim());
                if date.is_none() {
                    errors.push(self.error(
                        at(k, v),
                        format!(
                            "`cutoff` must be a date YYYY-MM-DD, found \"{}\"",
                            excerpt(&text)
                        ),
                    ));
                }
                date.map(Some)
            }),
            None => Some(None),
        };
        let id_span = slots[0].and_then(|(k, v)| at(k, v));
        Some((
            PackInfo {
                id: id?,
                vendor: vendor?,
                version: version?,
                references: references?,
                port_rules: port_rules?,
                file: self.file.to_path_buf(),
                cutoff: cutoff?,
            },
            id_span,
        ))
    }

    fn rule(&self, node: &Node, errors: &mut Vec<SigError>) -> Option<ParsedRule> {
        let what = "[[rule]]";
        let before = errors.len();
        let slots = self.fields(node, what, RULE_KEYS, errors)?;
        let get = |name: &str| {
            RULE_KEYS
                .iter()
                .position(|k| *k == name)
                .and_then(|i| slots[i])
        };
        let sid = match get("sid") {
            Some((k, v)) => self.int(k, v, 1..i64::from(u32::MAX) + 1, errors),
            None => {
                errors.push(self.missing(node, what, "sid"));
                None
            }
        };
        let rev = match get("rev") {
            Some((k, v)) => self.int(k, v, 1..i64::from(u32::MAX) + 1, errors),
            None => Some(1),
        };
        let name = match get("name") {
            Some((k, v)) => self.string(k, v, errors),
            None => {
                errors.push(self.missing(node, what, "name"));
                None
            }
        };
        let channel = match get("channel") {
            Some((k, v)) => self.one_of(k, v, CHANNELS, errors),
            None => {
                errors.push(self.missing(node, what, "channel"));
                None
            }
        };
        let severity = match get("severity") {
            Some((k, v)) => self.int(k, v, 1..4, errors),
            None => {
                errors.push(self.missing(node, what, "severity"));
                None
            }
        };
        let confidence = get("confidence").map(|(k, v)| self.one_of(k, v, CONFIDENCES, errors));
        let references = match get("references") {
            Some((k, v)) => self.strings(k, v, errors, non_empty),
            None => Some(Vec::new()),
        };
        let domains = match get("domains") {
            Some((k, v)) => self.strings_spanned(k, v, errors, |raw| {
                parse_domain(raw)
                    .map(|p| p.canonical)
                    .map_err(|e| format!("invalid domain pattern \"{}\": {e}", excerpt(raw)))
            }),
            None => Some(Vec::new()),
        };
        let mut list_file = match get("domains_file") {
            Some((k, v)) => self
                .string(k, v, errors)
                .and_then(|name| self.domains_file(&name, at(k, v), errors)),
            None => None,
        };
        let ips = match get("ips") {
            Some((k, v)) => self.strings_spanned(k, v, errors, |raw| {
                parse_cidr(raw)
                    .map(|(a, l)| format!("{a}/{l}"))
                    .map_err(|e| format!("invalid CIDR \"{}\": {e}", excerpt(raw)))
            }),
            None => Some(Vec::new()),
        };
        let ports = match get("ports") {
            Some((k, v)) => self.strings_spanned(k, v, errors, |raw| {
                parse_port(raw)
                    .map(|(p, n)| format!("{}/{n}", p.label()))
                    .map_err(|e| format!("invalid port \"{}\": {e}", excerpt(raw)))
            }),
            None => Some(Vec::new()),
        };
        let ja4 = match get("ja4") {
            Some((k, v)) => self.strings(k, v, errors, |raw| {
                parse_ja4(raw)
                    .map_err(|e| format!("invalid JA4 fingerprint \"{}\": {e}", excerpt(raw)))
            }),
            None => Some(Vec::new()),
        };
        let payloads = match get("payloads") {
            Some((k, v)) => self.payloads(k, v, errors),
            None => Some(Vec::new()),
        };
        let user_agents = match get("user_agents") {
            Some((k, v)) => self.strings_spanned(k, v, errors, check_user_agent),
            None => Some(Vec::new()),
        };
        let pass = match get("pass") {
            Some((k, v)) => self.boolean(k, v, errors),
            None => Some(false),
        };
        if pass == Some(true)
            && ([&ips, &ports]
                .iter()
                .any(|l| l.as_ref().is_some_and(|l| !l.is_empty()))
                || payloads.as_ref().is_some_and(|l| !l.is_empty())
                || user_agents.as_ref().is_some_and(|l| !l.is_empty()))
        {
            errors.push(
                self.error(
                    node.span.clone(),
                    "a `pass` rule exempts domain names only: move its `ips`, `ports`, `payloads` \
                 or `user_agents` to another rule"
                        .into(),
                ),
            );
        }
        let enabled = match get("enabled") {
            Some((k, v)) => self.boolean(k, v, errors),
            None => Some(true),
        };
        let comment = get("comment").map(|(k, v)| match &v.kind {
            Kind::Str(s) => Some(s.clone()),
            other => {
                errors.push(self.type_error(k, v, "a string", other));
                None
            }
        });
        // A `domains_file` that could not be read was reported; the rule may well have
        // patterns, so "can never match" would mislead.
        let list_failed = get("domains_file").is_some() && list_file.is_none();
        if let (Some(d), Some(i), Some(p), Some(j), Some(pl), Some(ua)) =
            (&domains, &ips, &ports, &ja4, &payloads, &user_agents)
            && !list_failed
            && list_file.as_ref().is_none_or(|(_, l)| l.is_empty())
            && d.is_empty()
            && i.is_empty()
            && p.is_empty()
            && j.is_empty()
            && pl.is_empty()
            && ua.is_empty()
        {
            errors.push(self.error(
                node.span.clone(),
                "rule has no `domains`, `ips`, `ports`, `ja4`, `payloads` or `user_agents`, so \
                 it can never match"
                    .into(),
            ));
        }
        if errors.len() != before {
            return None;
        }
        let sid_span = get("sid").and_then(|(k, v)| at(k, v));
        let mut indicators = Vec::new();
        let mut split = |list: Option<Vec<(String, Option<Range<usize>>)>>, kind: IndicatorKind| {
            list.map(|items| {
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, (value, span))| {
                        let (line, col) = self.line_col(span);
                        indicators.push(Indicator {
                            kind,
                            index: i as u32,
                            line: line as u32,
                            col: col as u32,
                            in_list_file: false,
                        });
                        value
                    })
                    .collect::<Vec<_>>()
            })
        };
        let mut domains = split(domains, IndicatorKind::Domain);
        let ips = split(ips, IndicatorKind::Cidr);
        let ports = split(ports, IndicatorKind::Port);
        let user_agents = split(user_agents, IndicatorKind::UserAgent);
        if let (Some(list), Some((_, listed))) = (&mut domains, list_file.as_mut()) {
            for (value, line, col) in std::mem::take(listed) {
                indicators.push(Indicator {
                    kind: IndicatorKind::Domain,
                    index: list.len() as u32,
                    line,
                    col,
                    in_list_file: true,
                });
                list.push(value);
            }
        }
        Some((
            Rule {
                sid: u32::try_from(sid?).ok()?,
                rev: u32::try_from(rev?).ok()?,
                name: name?,
                channel: channel?,
                severity: u8::try_from(severity?).ok()?,
                confidence: confidence.map_or(Some(None), |c| c.map(Some))?,
                references: references?,
                domains: domains?,
                ips: ips?,
                ports: ports?,
                ja4: ja4?,
                payloads: payloads?,
                user_agents: user_agents?,
                pass: pass?,
                enabled: enabled?,
                comment: comment.map_or(Some(None), |c| c.map(Some))?,
                pack: 0,
            },
            sid_span,
            indicators,
            list_file.map(|(path, _)| path),
        ))
    }
}

/// One `user_agents` entry: printable ASCII, not empty, at most [`MAX_USER_AGENT`] bytes.
fn check_user_agent(raw: &str) -> Result<String, String> {
    let body = raw.strip_prefix('^').unwrap_or(raw);
    if body.is_empty() {
        return Err(
            "empty user agent: write the substring to look for (\"^X\" = starts with X)".into(),
        );
    }
    if raw.len() > MAX_USER_AGENT {
        return Err(format!(
            "user agent \"{}\" is {} bytes, at most {MAX_USER_AGENT} are allowed",
            excerpt(raw),
            raw.len()
        ));
    }
    if let Some(c) = raw.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(format!(
            "user agent \"{}\" holds {c:?}: only printable ASCII appears in a User-Agent header",
            excerpt(raw)
        ));
    }
    Ok(raw.to_string())
}

/// Decode `prefix_hex`: hex digit pairs, optionally separated by spaces or colons.
fn decode_hex(raw: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = raw.bytes().filter(|b| !matches!(b, b' ' | b':')).collect();
    if !digits.len().is_multiple_of(2) {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| {
                    format!(
                        "\"{}\" is not a hex byte",
                        excerpt(&String::from_utf8_lossy(pair))
                    )
                })
        })
        .collect()
}

impl Source<'_> {
    /// `payloads = [{ proto = "udp", port = 8800, prefix = "DHGET " }, ...]`; `prefix_hex`
    /// instead of `prefix` for binary magic.
    fn payloads(
        &self,
        key: &Key,
        node: &Node,
        errors: &mut Vec<SigError>,
    ) -> Option<Vec<PayloadPrefix>> {
        let Kind::Array(items) = &node.kind else {
            errors.push(self.type_error(key, node, "an array of tables", &node.kind));
            return None;
        };
        let before = errors.len();
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let what = "a `payloads` entry";
            let Some(slots) = self.fields(item, what, PAYLOAD_KEYS, errors) else {
                continue;
            };
            let span = item.span.clone().or_else(|| at(key, node));
            let proto = match slots[0] {
                Some((k, v)) => self.one_of(k, v, &["udp", "tcp"], errors).map(|p| {
                    if p == "udp" {
                        PortProto::Udp
                    } else {
                        PortProto::Tcp
                    }
                }),
                None => {
                    errors.push(self.error(span.clone(), format!("{what} is missing `proto`")));
                    None
                }
            };
            let port = match slots[1] {
                Some((k, v)) => self.int(k, v, 1..65536, errors).map(|p| p as u16),
                None => {
                    errors.push(self.error(span.clone(), format!("{what} is missing `port`")));
                    None
                }
            };
            let prefix = match (slots[2], slots[3]) {
                (Some((k, v)), None) => match &v.kind {
                    Kind::Str(s) => Some((s.as_bytes().to_vec(), at(k, v))),
                    other => {
                        errors.push(self.type_error(k, v, "a string", other));
                        None
                    }
                },
                (None, Some((k, v))) => match &v.kind {
                    Kind::Str(s) => match decode_hex(s) {
                        Ok(b) => Some((b, at(k, v))),
                        Err(e) => {
                            errors.push(self.error(
                                at(k, v),
                                format!("invalid `prefix_hex` \"{}\": {e}", excerpt(s)),
                            ));
                            None
                        }
                    },
                    other => {
                        errors.push(self.type_error(k, v, "a string", other));
                        None
                    }
                },
                (Some(_), Some((k, _))) => {
                    errors.push(self.error(
                        k.span.clone().or(span.clone()),
                        "give `prefix` or `prefix_hex`, not both".into(),
                    ));
                    None
                }
                (None, None) => {
                    errors.push(self.error(
                        span.clone(),
                        format!("{what} is missing `prefix` (text) or `prefix_hex` (bytes)"),
                    ));
                    None
                }
            };
            let prefix = prefix.and_then(|(bytes, at)| {
                if bytes.is_empty() {
                    errors.push(self.error(
                        at,
                        "empty payload prefix: it would match every packet to the port".into(),
                    ));
                    None
                } else if bytes.len() > MAX_PAYLOAD_PREFIX {
                    errors.push(self.error(
                        at,
                        format!(
                            "payload prefix is {} bytes, at most {MAX_PAYLOAD_PREFIX} are allowed",
                            bytes.len()
                        ),
                    ));
                    None
                } else {
                    Some(bytes)
                }
            });
            if let (Some(proto), Some(port), Some(prefix)) = (proto, port, prefix) {
                let p = PayloadPrefix::new(proto, port, prefix);
                if out.contains(&p) {
                    errors.push(self.error(
                        span,
                        format!("payload {} appears twice in this rule", p.label),
                    ));
                } else {
                    out.push(p);
                }
            }
        }
        (errors.len() == before).then_some(out)
    }
}

/// The value's span, or the key's when the value has none.
fn at(key: &Key, node: &Node) -> Option<Range<usize>> {
    node.span.clone().or_else(|| key.span.clone())
}

fn non_empty(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        Err("empty string".into())
    } else {
        Ok(s.to_string())
    }
}
