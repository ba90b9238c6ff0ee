//! The configuration file (`--config FILE`; for `live`, `/etc/vendorwatch/vendorwatch.toml`
//! when it exists): every option of `scan` and `live`, under its long name, read generically
//! from the clap command rather than from a struct per flag, so an option added to the command
//! line is settable from the file with nothing to add here.
//!
//! Layout: a key at the top level applies to every subcommand that has that option (`scan`,
//! `live` or both); a `[scan]` or `[live]` table holds keys for that subcommand only and
//! overrides the top level. Values are TOML booleans for flags (`quiet = true`), arrays (or a
//! single value) for repeatable options (`interface = ["eth1", "eth2"]`), integers, floats or
//! strings otherwise. Each value is checked by the option's own clap value parser (types,
//! ranges, possible values), so the file accepts exactly what the command line does; every
//! error is reported as `file:line:col: message`.
//!
//! The command line overrides the file: the file's settings are turned into `--name=value`
//! arguments for the options the command line did not give (`ArgMatches::value_source`), and
//! the result is parsed by clap as usual. A flag set in the file cannot be turned off from the
//! command line (clap flags have no `--no-` form); give a `--config` without it.

use std::any::TypeId;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use clap::builder::Resettable;
use clap::parser::ValueSource;
use clap::{Arg, ArgAction, ArgMatches, Args, Command};

/// The file `live` reads when no `--config` is given (and it exists).
pub const DEFAULT_PATH: &str = "/etc/vendorwatch/vendorwatch.toml";

/// The subcommands that read a configuration file, and the names of their tables.
pub const SUBCOMMANDS: [&str; 2] = ["scan", "live"];

/// Largest configuration file read.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Arguments that are not options of the run: they cannot be set from the file.
/// Not options a file may set: the file itself, help, and `-r/--read`, which names an input
/// (inputs are given on the command line, as `INPUT` is).
const NOT_SETTABLE: &[&str] = &["config", "help", "version", "read"];

/// `--config FILE`, flattened into `scan` and `live`.
#[derive(Args, Debug, Clone)]
pub struct ConfigArg {
    /// Read options from this TOML file: each key is an option's long name (`eve = "..."`,
    /// `interface = ["eth1"]`); `[scan]`/`[live]` tables hold options for one subcommand. The
    /// command line overrides the file. `live` reads /etc/vendorwatch/vendorwatch.toml when
    /// it exists and no --config is given (`--config /dev/null`: none).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// A problem in a configuration file: a file, a `line:col` and a message, written as pack
/// errors are (`file:line:col: message`), so the same type.
pub type ConfigError = vendorwatch::sigs::SigError;

/// One option set in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The option's long name.
    pub key: String,
    /// The values as the command line would give them; a flag has one, `true` or `false`.
    pub values: Vec<String>,
    /// The option is a flag (no value on the command line).
    pub flag: bool,
    /// Line and column of the value in the file.
    pub at: (usize, usize),
}

impl Setting {
    /// The command-line arguments that give this setting (`--key=value` for each value; a
    /// flag's name when it is on).
    fn tokens(&self, arg: &Arg) -> Vec<OsString> {
        if self.flag {
            let on = self.values.first().is_some_and(|v| v == "true");
            let wanted = matches!(arg.get_action(), ArgAction::SetFalse) != on;
            return if wanted {
                vec![format!("--{}", self.key).into()]
            } else {
                Vec::new()
            };
        }
        self.values
            .iter()
            .map(|v| format!("--{}={v}", self.key).into())
            .collect()
    }
}

/// A configuration file, read and checked against the command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// Top-level settings (for every subcommand that has the option).
    pub top: Vec<Setting>,
    /// `[scan]` and `[live]` settings.
    pub sections: BTreeMap<String, Vec<Setting>>,
}

/// How an option's value is written in TOML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Flag,
    Int,
    Float,
    Text,
}

fn kind_of(arg: &Arg) -> Kind {
    if !arg.get_action().takes_values() {
        return Kind::Flag;
    }
    let t = arg.get_value_parser().type_id();
    let ints = [
        TypeId::of::<u8>(),
        TypeId::of::<u16>(),
        TypeId::of::<u32>(),
        TypeId::of::<u64>(),
        TypeId::of::<usize>(),
        TypeId::of::<i8>(),
        TypeId::of::<i16>(),
        TypeId::of::<i32>(),
        TypeId::of::<i64>(),
        TypeId::of::<isize>(),
    ];
    if ints.iter().any(|i| t == *i) {
        Kind::Int
    } else if t == TypeId::of::<f64>() || t == TypeId::of::<f32>() {
        Kind::Float
    } else {
        Kind::Text
    }
}

fn repeatable(arg: &Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The options of `sub` a file may set: named (`--long`), not `--config`/`--help`.
pub fn settable(sub: &Command) -> impl Iterator<Item = &Arg> {
    sub.get_arguments().filter(|a| {
        !a.is_positional()
            && a.get_long().is_some()
            && !NOT_SETTABLE.contains(&a.get_id().as_str())
            && !a.is_hide_set()
    })
}

fn find_arg<'a>(sub: &'a Command, long: &str) -> Option<&'a Arg> {
    settable(sub).find(|a| a.get_long() == Some(long))
}

/// `sub` with no argument required: for parsing a part of a command line (the file's
/// settings alone, or the command line before the file's are added).
fn relaxed(sub: &Command) -> Command {
    sub.clone()
        .mut_args(|a| {
            // A part alone may lack what another part gives (`INPUT` or `-r`, the
            // `--signatures` that `--no-default-signatures` needs): the whole is checked when
            // the command line is parsed with the file's settings in it.
            a.required(false)
                .required_unless_present(Resettable::<clap::Id>::Reset)
                .requires(Resettable::<clap::Id>::Reset)
        })
        .no_binary_name(true)
}

/// A byte offset's 1-based line and column (in characters).
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = text.get(..pos).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// Collects errors with their positions.
struct Checker<'a> {
    path: &'a Path,
    text: &'a str,
    errors: Vec<ConfigError>,
}

impl Checker<'_> {
    fn error(&mut self, span: Option<Range<usize>>, message: String) {
        let (line, col) = line_col(self.text, span.map_or(0, |s| s.start));
        self.errors.push(ConfigError {
            file: self.path.to_path_buf(),
            line,
            col,
            message,
        });
    }

    /// One key's value as command-line values for `arg`, checked by the option's parser on
    /// `sub`; `None` after reporting an error.
    fn setting(
        &mut self,
        sub: &Command,
        arg: &Arg,
        key: &str,
        item: &toml_edit::Item,
    ) -> Option<Setting> {
        let kind = kind_of(arg);
        let span = item.span();
        let Some(value) = item.as_value() else {
            self.error(span, format!("{key}: expected a value, found a table"));
            return None;
        };
        let scalars: Vec<&toml_edit::Value> = match value {
            toml_edit::Value::Array(a) if repeatable(arg) => a.iter().collect(),
            toml_edit::Value::Array(_) => {
                self.error(span, format!("{key}: takes one value, not an array"));
                return None;
            }
            v => vec![v],
        };
        let mut values = Vec::new();
        for v in scalars {
            let text = match (kind, v) {
                (Kind::Flag, toml_edit::Value::Boolean(b)) => b.value().to_string(),
                (Kind::Int, toml_edit::Value::Integer(i)) => i.value().to_string(),
                (Kind::Float, toml_edit::Value::Float(f)) => f.value().to_string(),
                (Kind::Float, toml_edit::Value::Integer(i)) => i.value().to_string(),
                (Kind::Text, toml_edit::Value::String(s)) => s.value().clone(),
                (_, other) => {
                    let want = match kind {
                        Kind::Flag => "true or false",
                        Kind::Int => "an integer",
                        Kind::Float => "a number",
                        Kind::Text => "a string",
                    };
                    self.error(
                        other.span().or(span.clone()),
                        format!(
                            "{key}: expected {want}, found {}",
                            with_article(other.type_name())
                        ),
                    );
                    return None;
                }
            };
            values.push(text);
        }
        let setting = Setting {
            key: key.to_string(),
            values,
            flag: kind == Kind::Flag,
            at: line_col(self.text, span.as_ref().map_or(0, |s| s.start)),
        };
        if !setting.flag && !setting.values.is_empty() {
            let tokens = setting.tokens(arg);
            if let Err(e) = relaxed(sub).try_get_matches_from(tokens) {
                self.error(span, clap_message(&e));
                return None;
            }
        }
        Some(setting)
    }
}

/// "a string", "an integer".
fn with_article(noun: &str) -> String {
    let vowel = noun.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {noun}", if vowel { "an" } else { "a" })
}

/// Clap's error as one line, without its `error: ` prefix and usage hints.
fn clap_message(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("").trim();
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}

/// The subcommands of `cli` that read the file.
fn subcommands(cli: &Command) -> Vec<&Command> {
    SUBCOMMANDS
        .iter()
        .filter_map(|name| cli.find_subcommand(name))
        .collect()
}

impl Config {
    /// Read `path` (at most [`MAX_CONFIG_BYTES`]) and check it against `cli`.
    pub fn read(path: &Path, cli: &Command) -> Result<Config, Vec<ConfigError>> {
        let whole = |message: String| {
            vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                col: 0,
                message,
            }]
        };
        if path.is_dir() {
            return Err(whole("is a directory, not a configuration file".into()));
        }
        let mut bytes = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes))
            .map_err(|e| whole(format!("cannot read: {e}")))?;
        if bytes.len() as u64 > MAX_CONFIG_BYTES {
            return Err(whole(format!(
                "larger than {} KiB; not a configuration file",
                MAX_CONFIG_BYTES / 1024
            )));
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            let pos = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let (line, col) = line_col(&text, pos);
            vec![ConfigError {
                file: path.to_path_buf(),
                line,
                col,
                message: "not UTF-8 text".into(),
            }]
        })?;
        Config::parse(path, &text, cli)
    }

    /// Check `text` (the contents of `path`) against `cli`; every error is reported.
    pub fn parse(path: &Path, text: &str, cli: &Command) -> Result<Config, Vec<ConfigError>> {
        let mut check = Checker {
            path,
            text,
            errors: Vec::new(),
        };
        let doc = match toml_edit::ImDocument::parse(text) {
            Ok(d) => d,
            Err(e) => {
                let lines: Vec<&str> = e.message().lines().map(str::trim).collect();
                let message = format!("TOML syntax: {}", lines.join(" ").trim());
                check.error(e.span(), message);
                return Err(check.errors);
            }
        };
        let subs = subcommands(cli);
        let mut config = Config {
            path: path.to_path_buf(),
            top: Vec::new(),
            sections: BTreeMap::new(),
        };
        for (key, item) in doc.as_table().iter() {
            let key_span = doc.as_table().key(key).and_then(|k| k.span());
            if let Some(sub) = subs.iter().find(|s| s.get_name() == key) {
                let Some(table) = item.as_table_like() else {
                    check.error(
                        key_span,
                        format!("{key}: expected a table of {key} options"),
                    );
                    continue;
                };
                let mut settings = Vec::new();
                for (k, v) in table.iter() {
                    let span = table.key(k).and_then(|k| k.span()).or(v.span());
                    match find_arg(sub, k) {
                        Some(arg) => {
                            if let Some(s) = check.setting(sub, arg, k, v) {
                                settings.push(s);
                            }
                        }
                        None => check.error(span, unknown(k, &[sub])),
                    }
                }
                config.sections.insert(key.to_string(), settings);
                continue;
            }
            let having: Vec<&&Command> =
                subs.iter().filter(|s| find_arg(s, key).is_some()).collect();
            match having
                .first()
                .and_then(|s| find_arg(s, key).map(|a| (s, a)))
            {
                Some((sub, arg)) => {
                    if let Some(s) = check.setting(sub, arg, key, item) {
                        config.top.push(s);
                    }
                }
                None => check.error(key_span.or(item.span()), unknown(key, &subs)),
            }
        }
        if check.errors.is_empty() {
            Ok(config)
        } else {
            Err(check.errors)
        }
    }

    /// The settings for subcommand `sub`: the top-level ones it has, then its table's (which
    /// override them).
    pub fn settings_for(&self, sub: &Command) -> Vec<Setting> {
        let mut out: Vec<Setting> = self
            .top
            .iter()
            .filter(|s| find_arg(sub, &s.key).is_some())
            .cloned()
            .collect();
        for s in self.sections.get(sub.get_name()).into_iter().flatten() {
            out.retain(|o| o.key != s.key);
            out.push(s.clone());
        }
        out
    }

    /// How many settings the file holds.
    pub fn len(&self) -> usize {
        self.top.len() + self.sections.values().map(Vec::len).sum::<usize>()
    }
}

/// "unknown option" with the closest known name when one is close.
fn unknown(key: &str, subs: &[&Command]) -> String {
    let names: Vec<&str> = subs
        .iter()
        .flat_map(|s| settable(s).filter_map(Arg::get_long))
        .collect();
    let close = names
        .iter()
        .filter(|n| edit_distance(n, key) <= 2 || n.replace('-', "_") == key)
        .min_by_key(|n| edit_distance(n, key));
    let which = subs
        .iter()
        .map(|s| s.get_name())
        .collect::<Vec<_>>()
        .join(" or ");
    match close {
        Some(n) => format!("unknown option {key:?} ({which} has no --{key}; did you mean {n:?}?)"),
        None => format!("unknown option {key:?} ({which} has no --{key})"),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The file a subcommand reads: `--config`, else for `live` [`DEFAULT_PATH`] when it exists.
pub fn path_for(sub: &str, explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None if sub == "live" && Path::new(DEFAULT_PATH).exists() => Some(DEFAULT_PATH.into()),
        None => None,
    }
}

/// The command line with the file's settings added for the options it does not give, ready
/// for clap; the file used (if any). A command line clap would refuse is returned unchanged,
/// for clap to report.
pub fn merge_argv(
    cli: &Command,
    argv: &[OsString],
) -> Result<(Vec<OsString>, Option<PathBuf>), Vec<ConfigError>> {
    let unchanged = || Ok((argv.to_vec(), None));
    let mut loose = cli.clone();
    for name in SUBCOMMANDS {
        loose = loose.mut_subcommand(name, |s| s.mut_args(|a| a.required(false)));
    }
    let Ok(matches) = loose.try_get_matches_from(argv) else {
        return unchanged();
    };
    let Some((name, given)) = matches.subcommand() else {
        return unchanged();
    };
    let Some(sub) = subcommands(cli).into_iter().find(|s| s.get_name() == name) else {
        return unchanged();
    };
    let explicit = given.get_one::<PathBuf>("config").map(PathBuf::as_path);
    let Some(path) = path_for(name, explicit) else {
        return unchanged();
    };
    let config = Config::read(&path, cli)?;
    let mut tokens = Vec::new();
    for setting in config.settings_for(sub) {
        let Some(arg) = find_arg(sub, &setting.key) else {
            continue;
        };
        if given.value_source(arg.get_id().as_str()) != Some(ValueSource::CommandLine) {
            tokens.extend(setting.tokens(arg));
        }
    }
    // After the subcommand's name (the top level has no options taking values, so the first
    // argument that is not one is the name).
    let at = argv
        .iter()
        .skip(1)
        .position(|a| a == OsStr::new(name))
        .map_or(argv.len(), |i| i + 2);
    let mut out = argv.to_vec();
    out.splice(at.min(out.len())..at.min(out.len()), tokens);
    Ok((out, Some(path)))
}

/// Option long name -> its values as the command line would give them.
pub type Values = BTreeMap<String, Vec<String>>;

/// Per subcommand, its options and values in the command's order.
type Effective = Vec<(String, Vec<(String, Vec<String>)>)>;

/// Every settable option of a subcommand and its value in `matches` as the command line
/// would give it (defaults included; an empty list for an option not set and without a
/// default).
pub fn effective(sub: &Command, matches: &ArgMatches) -> Values {
    settable(sub)
        .filter_map(|arg| {
            let long = arg.get_long()?;
            let values = matches
                .get_raw(arg.get_id().as_str())
                .map(|raw| {
                    raw.map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            Some((long.to_string(), values))
        })
        .collect()
}

/// Effective configuration of every subcommand that reads the file, with `config` applied
/// (none: the defaults), as (subcommand, option, values) in the command's order.
fn effective_all(cli: &Command, config: Option<&Config>) -> Effective {
    subcommands(cli)
        .into_iter()
        .map(|sub| {
            let values = effective(sub, &matches_for(sub, config));
            let ordered = settable(sub)
                .filter_map(|a| a.get_long())
                .filter_map(|l| values.get(l).map(|v| (l.to_string(), v.clone())))
                .collect();
            (sub.get_name().to_string(), ordered)
        })
        .collect()
}

/// The matches of subcommand `sub` given only the file's settings (required arguments not
/// enforced).
fn matches_for(sub: &Command, config: Option<&Config>) -> ArgMatches {
    let mut tokens: Vec<OsString> = Vec::new();
    for s in config.map(|c| c.settings_for(sub)).unwrap_or_default() {
        if let Some(arg) = find_arg(sub, &s.key) {
            tokens.extend(s.tokens(arg));
        }
    }
    relaxed(sub)
        .try_get_matches_from(tokens)
        .unwrap_or_default()
}

/// For each subcommand that reads the file, its matches given only the file's settings: for
/// the checks `config check` runs beyond clap's (those the run makes on the typed options).
pub fn matches_of(cli: &Command, config: &Config) -> Vec<(String, ArgMatches)> {
    subcommands(cli)
        .into_iter()
        .map(|sub| (sub.get_name().to_string(), matches_for(sub, Some(config))))
        .collect()
}

impl Config {
    /// An error about the file from a message that names an option (`--log ...`): placed at
    /// that option's value when the file sets it, else at the file.
    pub fn error_naming(&self, message: &str) -> ConfigError {
        let named = |key: &str| {
            let flag = format!("--{key}");
            message.match_indices(&flag).any(|(i, _)| {
                !message[i + flag.len()..]
                    .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-')
            })
        };
        let at = self
            .top
            .iter()
            .chain(self.sections.values().flatten())
            .find(|s| named(&s.key))
            .map_or((0, 0), |s| s.at);
        ConfigError {
            file: self.path.clone(),
            line: at.0,
            col: at.1,
            message: message.to_string(),
        }
    }
}

/// A TOML line for one option (a comment when it is not set and has no default).
fn toml_line(arg: &Arg, key: &str, values: &[String]) -> String {
    let kind = kind_of(arg);
    let one = |v: &String| match kind {
        Kind::Flag => (if v == "true" { "true" } else { "false" }).to_string(),
        Kind::Int if v.parse::<i64>().is_ok() => v.clone(),
        Kind::Float if v.parse::<f64>().is_ok_and(f64::is_finite) => {
            let f: f64 = v.parse().unwrap_or(0.0);
            format!("{f:?}")
        }
        _ => toml_edit::Value::from(v.as_str())
            .to_string()
            .trim()
            .to_string(),
    };
    if repeatable(arg) {
        let items: Vec<String> = values.iter().map(one).collect();
        return format!("{key} = [{}]", items.join(", "));
    }
    match values.first() {
        Some(v) => format!("{key} = {}", one(v)),
        None => format!("# {key}: not set"),
    }
}

/// `config show`: the effective configuration as TOML that `config check` accepts: the
/// options both subcommands take with the same value at the top level, the others in
/// `[scan]` and `[live]`.
pub fn show(cli: &Command, config: Option<&Config>) -> String {
    let all = effective_all(cli, config);
    let subs = subcommands(cli);
    let value_in = |sub: &str, key: &str| {
        all.iter()
            .find(|(s, _)| s == sub)
            .and_then(|(_, kv)| kv.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()))
    };
    let shared = |key: &str| {
        let mut it = SUBCOMMANDS.iter().map(|s| value_in(s, key));
        let first = it.next().flatten();
        first.is_some() && it.all(|v| v == first)
    };
    let mut out = String::new();
    out.push_str(&match config {
        Some(c) => format!(
            "# vendorwatch: effective configuration from {} (defaults included)\n",
            c.path.display()
        ),
        None => "# vendorwatch: effective configuration (defaults only: no file)\n".into(),
    });
    out.push_str("# Options of both scan and live:\n");
    let mut done = Vec::new();
    for sub in &subs {
        for arg in settable(sub) {
            let Some(key) = arg.get_long() else { continue };
            if done.contains(&key) || !shared(key) {
                continue;
            }
            done.push(key);
            let values = value_in(sub.get_name(), key).unwrap_or_default();
            out.push_str(&help_comment(arg));
            out.push_str(&toml_line(arg, key, &values));
            out.push('\n');
        }
    }
    for sub in &subs {
        out.push_str(&format!("\n[{}]\n", sub.get_name()));
        for arg in settable(sub) {
            let Some(key) = arg.get_long() else { continue };
            if done.contains(&key) {
                continue;
            }
            let values = value_in(sub.get_name(), key).unwrap_or_default();
            out.push_str(&help_comment(arg));
            out.push_str(&toml_line(arg, key, &values));
            out.push('\n');
        }
    }
    out
}

/// The first sentence of an option's help, as a comment line.
fn help_comment(arg: &Arg) -> String {
    let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let first = flat.split(". ").next().unwrap_or("").trim_end_matches('.');
    if first.is_empty() {
        String::new()
    } else {
        format!("# {first}.\n")
    }
}

/// Options SIGHUP applies without a restart: the signatures (and how they are loaded and
/// matched) and the suppression table's limits. The outputs are reopened at every SIGHUP.
pub const RELOADABLE: &[&str] = &[
    "signatures",
    "packs",
    "max-pack-size",
    "max-list-size",
    "no-default-signatures",
    "enable-port-rules",
    "suppress-window",
    "suppress-capacity",
];

/// What changed between two effective configurations: (applied now, needing a restart).
pub fn changes(before: &Values, after: &Values) -> (Vec<String>, Vec<String>) {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let changed = keys.into_iter().filter(|k| before.get(*k) != after.get(*k));
    changed
        .cloned()
        .partition(|k| RELOADABLE.contains(&k.as_str()))
}

/// The `live` options as the process's command line and its file say now (for SIGHUP): the
/// subcommand's matches and their effective values.
pub fn live_now(cli: &Command, argv: &[OsString]) -> Result<(ArgMatches, Values), Vec<String>> {
    let (merged, _) =
        merge_argv(cli, argv).map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let matches = cli
        .clone()
        .try_get_matches_from(merged)
        .map_err(|e| vec![clap_message(&e)])?;
    let sub = cli
        .find_subcommand("live")
        .ok_or_else(|| vec!["no live subcommand".to_string()])?;
    let live = matches
        .subcommand_matches("live")
        .ok_or_else(|| vec!["the command line is not `live`".to_string()])?;
    let values = effective(sub, live);
    Ok((live.clone(), values))
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
