//! Imports of the lists SOC teams already hold, turned into a signature pack (TOML text):
//! plain domain lists, hosts files, Suricata datasets (`type string`) and Zeek intel files.
//!
//! Design: an import *writes a pack* (`vendorwatch sigs import ... -o feed.toml`), which is
//! then loaded like any other pack with `--signatures`. One rule per input file, sids from
//! `--sid-start` upwards, the channel/severity/vendor given on the command line. So there is
//! one loading path, one validator and one place (`sigs check`) to look at what is loaded; the
//! written pack can be reviewed, diffed and versioned. Every bad line is reported as
//! `file:line:col: message`, all at once; duplicates inside the input are dropped (and
//! counted), since a feed commonly repeats names and the pack format forbids it.

use super::pack::{CHANNELS, SigError};
use super::pattern::{parse_cidr, parse_domain};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The input formats `sigs import` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// One domain (or pattern) per line; `#` comments and blank lines ignored.
    Domains,
    /// `/etc/hosts` style: `0.0.0.0 name [name...]`, `127.0.0.1 name`; `#` comments.
    Hosts,
    /// Suricata dataset file of `type string`: one base64-encoded string per line
    /// (optionally `,value` after it, as in datarep files).
    SuricataDataset,
    /// Zeek intel framework file: `#fields` header, tab-separated; `Intel::DOMAIN` and
    /// `Intel::ADDR` (and `Intel::SUBNET`) rows are taken, other types are counted.
    ZeekIntel,
}

impl ImportFormat {
    /// Parse the `--format` value.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "domains" => Ok(Self::Domains),
            "hosts" => Ok(Self::Hosts),
            "suricata-dataset" => Ok(Self::SuricataDataset),
            "zeek-intel" => Ok(Self::ZeekIntel),
            other => Err(format!(
                "unknown import format {other:?}: expected domains, hosts, suricata-dataset or \
                 zeek-intel"
            )),
        }
    }
}

/// What the import writes into the pack.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Input format.
    pub format: ImportFormat,
    /// Channel of every rule (one of [`CHANNELS`]).
    pub channel: String,
    /// sid of the first rule; the next input file gets the next sid.
    pub sid_start: u32,
    /// `[pack] id`.
    pub pack_id: String,
    /// `[pack] vendor`.
    pub vendor: String,
    /// `[pack] version`.
    pub version: String,
    /// EVE severity of every rule, 1..3.
    pub severity: u8,
    /// Write each plain name as `.name` (the name and everything below it) instead of the
    /// exact name. Feeds usually list exact names, so this is off by default.
    pub subdomains: bool,
    /// Suricata dataset type (`string`, or `sha256`/`md5`, which are rejected).
    pub dataset_type: String,
    /// Write each rule's domains to a list file `STEM.SID.domains` referenced by
    /// `domains_file` instead of inline in the TOML (the fast loading path for big feeds).
    pub domains_file_stem: Option<String>,
    /// Write the good lines of inputs that have bad ones (each bad line is still reported,
    /// in [`ImportReport::invalid`]) instead of writing nothing (`--skip-invalid`).
    pub skip_invalid: bool,
    /// Hosts files: import every name, whatever address it is mapped to (`--hosts-all`).
    /// By default only the names of blocklist lines are (mapped to 0.0.0.0, 127.0.0.1, ::
    /// or ::1): a line mapping a name to a real address is a local override, not a block.
    pub hosts_all: bool,
}

/// A pack written by [`import`]: the TOML text and the list files it references (name
/// relative to the pack file, content).
#[derive(Debug, Clone, Default)]
pub struct ImportedPack {
    /// The pack file.
    pub toml: String,
    /// `domains_file` lists, to be written next to the pack file.
    pub lists: Vec<(String, String)>,
}

/// What an import found, besides the pack text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Rules written (one per input file that held at least one indicator).
    pub rules: usize,
    /// Domain patterns written.
    pub domains: usize,
    /// CIDRs written.
    pub ips: usize,
    /// Repeated indicators dropped.
    pub duplicates: usize,
    /// Rows of other types (Zeek `Intel::URL`, ...) or hosts-file names such as
    /// `localhost`, skipped.
    pub skipped: usize,
    /// Hosts-file names mapped to an address that is not a blocklist sink (not 0.0.0.0,
    /// 127.0.0.1, :: or ::1), skipped without `--hosts-all`.
    pub not_blocked: usize,
    /// Bad lines left out with `--skip-invalid`, each as it would have been reported.
    pub invalid: Vec<SigError>,
}

/// The indicators read from one input file.
#[derive(Debug, Default)]
struct Indicators {
    domains: Vec<String>,
    ips: Vec<String>,
    skipped: usize,
    not_blocked: usize,
}

/// Read every file and build the pack text. All errors of all files are returned together.
pub fn import(
    files: &[PathBuf],
    opts: &ImportOptions,
) -> Result<(ImportedPack, ImportReport), Vec<SigError>> {
    let mut errors = Vec::new();
    let at0 = |message: String| SigError {
        file: PathBuf::from("<command line>"),
        line: 0,
        col: 0,
        message,
    };
    if !CHANNELS.contains(&opts.channel.as_str()) {
        errors.push(at0(format!(
            "--channel {:?}: expected one of: {}",
            opts.channel,
            CHANNELS.join(", ")
        )));
    }
    if !(1..=3).contains(&opts.severity) {
        errors.push(at0(format!(
            "--severity {}: must be 1 (high) to 3 (low)",
            opts.severity
        )));
    }
    if opts.sid_start == 0 {
        errors.push(at0("--sid-start must be at least 1".into()));
    }
    if files.is_empty() {
        errors.push(at0("no input file given".into()));
    }
    // Errors of the command line stop the import even with --skip-invalid.
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut report = ImportReport::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut rules = Vec::new();
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => {
                errors.push(SigError {
                    file: file.clone(),
                    line: 0,
                    col: 0,
                    message: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        let text = String::from_utf8_lossy(&text);
        let before = errors.len();
        let mut found = parse_list(&text, file, opts, &mut errors);
        if errors.len() > before {
            if !opts.skip_invalid {
                continue;
            }
            report.invalid.extend(errors.drain(before..));
        }
        report.skipped += found.skipped;
        report.not_blocked += found.not_blocked;
        for list in [&mut found.domains, &mut found.ips] {
            let before = list.len();
            list.retain(|v| seen.insert(v.clone()));
            report.duplicates += before - list.len();
        }
        if found.domains.is_empty() && found.ips.is_empty() {
            continue;
        }
        rules.push((file.clone(), found));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = String::with_capacity(
        64 + rules
            .iter()
            .map(|(_, r)| r.domains.len() * 32)
            .sum::<usize>(),
    );
    let _ = writeln!(
        out,
        "# Written by `vendorwatch sigs import --format {}`; regenerate rather than edit.",
        match opts.format {
            ImportFormat::Domains => "domains",
            ImportFormat::Hosts => "hosts",
            ImportFormat::SuricataDataset => "suricata-dataset",
            ImportFormat::ZeekIntel => "zeek-intel",
        }
    );
    let _ = writeln!(
        out,
        "\n[pack]\nid = {}\nvendor = {}\nversion = {}\n",
        quote(&opts.pack_id),
        quote(&opts.vendor),
        quote(&opts.version)
    );
    let mut extra = Vec::new();
    for (i, (file, found)) in rules.iter().enumerate() {
        let Some(sid) = u32::try_from(i)
            .ok()
            .and_then(|i| opts.sid_start.checked_add(i))
        else {
            return Err(vec![at0(
                "--sid-start too large for the number of files".into()
            )]);
        };
        let source = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let _ = writeln!(
            out,
            "[[rule]]\nsid = {sid}\nname = {}\nchannel = {}\nseverity = {}\ncomment = {}",
            quote(&format!("{} indicator ({source})", opts.vendor)),
            quote(&opts.channel),
            opts.severity,
            quote(&format!("imported from {}", file.display())),
        );
        let mut lists = vec![("ips", &found.ips)];
        match &opts.domains_file_stem {
            Some(stem) if !found.domains.is_empty() => {
                let name = format!("{stem}.{sid}.domains");
                let _ = writeln!(out, "domains_file = {}", quote(&name));
                let mut body = String::with_capacity(found.domains.len() * 24);
                for d in &found.domains {
                    body.push_str(d);
                    body.push('\n');
                }
                extra.push((name, body));
            }
            _ => lists.insert(0, ("domains", &found.domains)),
        }
        for (key, list) in lists {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(out, "{key} = [");
            for v in list {
                // Canonical patterns and CIDRs hold no character that needs escaping.
                let _ = writeln!(out, "  \"{v}\",");
            }
            let _ = writeln!(out, "]");
        }
        out.push('\n');
        report.rules += 1;
        report.domains += found.domains.len();
        report.ips += found.ips.len();
    }
    Ok((
        ImportedPack {
            toml: out,
            lists: extra,
        },
        report,
    ))
}

/// A TOML basic string.
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(q, "\\u{:04x}", u32::from(c));
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Parse one input file's text; each bad line's error goes to `errors`, and the indicators
/// of the good lines are returned (the caller drops them unless `--skip-invalid`).
fn parse_list(
    text: &str,
    file: &Path,
    opts: &ImportOptions,
    errors: &mut Vec<SigError>,
) -> Indicators {
    let before = errors.len();
    let mut found = Indicators::default();
    let err = |line: usize, col: usize, message: String| SigError {
        file: file.to_path_buf(),
        line,
        col,
        message,
    };
    let mut zeek_cols: Option<(usize, usize)> = None;
    if opts.format == ImportFormat::SuricataDataset {
        match opts.dataset_type.as_str() {
            "string" => {}
            t @ ("sha256" | "md5") => {
                errors.push(err(
                    0,
                    0,
                    format!(
                        "Suricata dataset type {t} holds file hashes, not names or addresses: \
                         vendorwatch matches names and addresses only, so it cannot import it \
                         (use a `type string` dataset of domain names)"
                    ),
                ));
                return found;
            }
            t => {
                errors.push(err(
                    0,
                    0,
                    format!("unsupported Suricata dataset type {t:?}: expected string"),
                ));
                return found;
            }
        }
    }
    for (i, raw_line) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw_line.trim_end_matches('\r');
        match opts.format {
            ImportFormat::Domains => {
                let body = strip_comment(line);
                let trimmed = body.trim();
                if trimmed.is_empty() {
                    continue;
                }
                let col = col_of(line, trimmed);
                if trimmed.contains(char::is_whitespace) {
                    errors.push(err(
                        n,
                        col,
                        format!("{trimmed:?}: one name per line expected (is this a hosts file? use --format hosts)"),
                    ));
                    continue;
                }
                add_name(trimmed, opts, &mut found, |m| errors.push(err(n, col, m)));
            }
            ImportFormat::Hosts => {
                let body = strip_comment(line);
                let mut words = body.split_whitespace();
                let Some(addr) = words.next() else { continue };
                let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
                    errors.push(err(
                        n,
                        col_of(line, addr),
                        format!("{addr:?} is not an address: a hosts file line is `0.0.0.0 name`"),
                    ));
                    continue;
                };
                let blocked = opts.hosts_all || is_sink(ip);
                let mut any = false;
                for name in words {
                    any = true;
                    if is_local_name(name) {
                        found.skipped += 1;
                        continue;
                    }
                    if !blocked {
                        found.not_blocked += 1;
                        continue;
                    }
                    let col = col_of(line, name);
                    add_name(name, opts, &mut found, |m| errors.push(err(n, col, m)));
                }
                if !any {
                    errors.push(err(n, col_of(line, addr), "address without a name".into()));
                }
            }
            ImportFormat::SuricataDataset => {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    continue;
                }
                // datarep/datajson files carry `,value` after the data.
                let data = trimmed.split(',').next().unwrap_or_default();
                let col = col_of(line, data);
                if (data.len() == 64 || data.len() == 32)
                    && data.bytes().all(|b| b.is_ascii_hexdigit())
                {
                    errors.push(err(
                        n,
                        col,
                        format!(
                            "this looks like a {} dataset (hex hashes), not `type string`: \
                             hash datasets cannot be imported",
                            if data.len() == 64 { "sha256" } else { "md5" }
                        ),
                    ));
                    continue;
                }
                match base64_decode(data).and_then(|b| String::from_utf8(b).ok()) {
                    Some(name) => add_name(name.trim(), opts, &mut found, |m| {
                        errors.push(err(n, col, m))
                    }),
                    None => errors.push(err(
                        n,
                        col,
                        format!(
                            "{data:?} is not base64 of a UTF-8 string (a `type string` dataset \
                             holds one base64-encoded name per line)"
                        ),
                    )),
                }
            }
            ImportFormat::ZeekIntel => {
                if let Some(fields) = line.strip_prefix("#fields") {
                    let names: Vec<&str> =
                        fields.trim_start_matches(['\t', ' ']).split('\t').collect();
                    let ind = names.iter().position(|f| *f == "indicator");
                    let typ = names.iter().position(|f| *f == "indicator_type");
                    match (ind, typ) {
                        (Some(a), Some(b)) => zeek_cols = Some((a, b)),
                        _ => errors.push(err(
                            n,
                            1,
                            "#fields header lacks `indicator` or `indicator_type`".into(),
                        )),
                    }
                    continue;
                }
                if line.starts_with('#') || line.trim().is_empty() {
                    continue;
                }
                let Some((ci, ct)) = zeek_cols else {
                    errors.push(err(
                        n,
                        1,
                        "data line before the `#fields` header (a Zeek intel file starts with \
                         `#fields<TAB>indicator<TAB>indicator_type...`)"
                            .into(),
                    ));
                    // One such error per file is enough.
                    zeek_cols = Some((usize::MAX, usize::MAX));
                    continue;
                };
                if ci == usize::MAX {
                    continue;
                }
                let cols: Vec<&str> = line.split('\t').collect();
                let (Some(ind), Some(typ)) = (cols.get(ci), cols.get(ct)) else {
                    errors.push(err(
                        n,
                        1,
                        format!(
                            "{} tab-separated column(s), the #fields header needs at least {}",
                            cols.len(),
                            ci.max(ct) + 1
                        ),
                    ));
                    continue;
                };
                let col = col_of(line, ind);
                match *typ {
                    "Intel::DOMAIN" => {
                        add_name(ind, opts, &mut found, |m| errors.push(err(n, col, m)))
                    }
                    "Intel::ADDR" | "Intel::SUBNET" => match parse_cidr(ind) {
                        Ok((a, l)) => found.ips.push(format!("{a}/{l}")),
                        Err(e) => errors.push(err(n, col, format!("invalid address {ind:?}: {e}"))),
                    },
                    _ => found.skipped += 1,
                }
            }
        }
    }
    if opts.format == ImportFormat::ZeekIntel && zeek_cols.is_none() && errors.len() == before {
        errors.push(err(
            0,
            0,
            "no `#fields` header: not a Zeek intel file".into(),
        ));
    }
    found
}

/// The addresses blocklist hosts files map names to: 0.0.0.0, 127.0.0.1, :: and ::1.
fn is_sink(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => v4.is_unspecified() || v4 == std::net::Ipv4Addr::LOCALHOST,
        std::net::IpAddr::V6(v6) => v6.is_unspecified() || v6.is_loopback(),
    }
}

/// Validate one name (or pattern) and store its canonical form.
fn add_name(
    name: &str,
    opts: &ImportOptions,
    found: &mut Indicators,
    mut fail: impl FnMut(String),
) {
    let plain = !name.starts_with('.') && !name.contains('*') && !name.contains('?');
    let written = if opts.subdomains && plain {
        format!(".{name}")
    } else {
        name.to_string()
    };
    match parse_domain(&written) {
        Ok(p) => found.domains.push(p.canonical),
        Err(e) => fail(format!("invalid domain {name:?}: {e}")),
    }
}

/// Text before a `#` comment.
fn strip_comment(line: &str) -> &str {
    line.split('#').next().unwrap_or_default()
}

/// 1-based character column of `part` (a subslice of `line`).
fn col_of(line: &str, part: &str) -> usize {
    let offset = (part.as_ptr() as usize).saturating_sub(line.as_ptr() as usize);
    line.get(..offset.min(line.len()))
        .map_or(1, |s| s.chars().count() + 1)
}

/// Names hosts files map for the machine itself, not as blocklist entries.
fn is_local_name(name: &str) -> bool {
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost"
            | "localhost.localdomain"
            | "local"
            | "broadcasthost"
            | "ip6-localhost"
            | "ip6-loopback"
            | "ip6-localnet"
            | "ip6-mcastprefix"
            | "ip6-allnodes"
            | "ip6-allrouters"
            | "ip6-allhosts"
            | "0.0.0.0"
    )
}

/// Standard base64 (with or without padding), as Suricata writes dataset strings.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    if s.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0u32;
    for b in s.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A single leftover character (6 bits) is not valid base64.
    (bits < 6).then_some(out)
}

#[cfg(test)]
pub(crate) fn base64_decode_for_tests(s: &str) -> Option<Vec<u8>> {
    base64_decode(s)
}
