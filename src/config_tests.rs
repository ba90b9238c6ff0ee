//! The file against the real command line: every option of `scan` and `live` (walked from
//! clap, so an option added later is covered with nothing to add here) is settable from the
//! file, at the top level and in its subcommand's table, reaches the parsed arguments, and
//! yields to the command line.

use super::*;
use crate::cli::command;

/// A value for `arg` that its parser accepts and that differs from its default.
fn test_value(sub: &Command, arg: &Arg) -> (String, Vec<String>) {
    let key = arg.get_long().expect("settable options are long");
    let default: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    let candidates: Vec<(String, Vec<String>)> = match kind_of(arg) {
        Kind::Flag => vec![("true".into(), vec!["true".into()])],
        Kind::Int => ["7", "3", "2", "1", "100", "4096"]
            .iter()
            .map(|v| (v.to_string(), vec![v.to_string()]))
            .collect(),
        Kind::Float => vec![("1.5".into(), vec!["1.5".into()])],
        Kind::Text => {
            let mut c: Vec<String> = arg
                .get_possible_values()
                .iter()
                .map(|p| p.get_name().to_string())
                .collect();
            c.push("vw-test-value".into());
            c.into_iter()
                .map(|v| {
                    let lit = toml_edit::Value::from(v.as_str()).to_string();
                    (lit.trim().to_string(), vec![v])
                })
                .collect()
        }
    };
    for (lit, values) in candidates {
        if values == default {
            continue;
        }
        let setting = Setting {
            key: key.into(),
            values: values.clone(),
            flag: kind_of(arg) == Kind::Flag,
            at: (0, 0),
        };
        if relaxed(sub)
            .try_get_matches_from(setting.tokens(arg))
            .is_ok()
        {
            let lit = if repeatable(arg) {
                format!("[{lit}]")
            } else {
                lit
            };
            return (lit, values);
        }
    }
    panic!("no test value found for --{key}");
}

/// The command line of `sub` with its required arguments given.
fn argv(sub: &str, extra: &[&str]) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec!["vendorwatch".into(), sub.into()];
    v.extend(extra.iter().map(OsString::from));
    if sub == "scan" {
        v.push("in.pcap".into());
    }
    v
}

fn write(tag: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vw-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(format!("{tag}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// Parse `argv` the way `main` does: the file merged in, then clap.
fn parse(argv: &[OsString]) -> Result<ArgMatches, String> {
    let cli = command();
    let (merged, _) = merge_argv(&cli, argv).map_err(|e| format!("{e:?}"))?;
    let m = cli
        .try_get_matches_from(merged)
        .map_err(|e| e.to_string())?;
    // The typed arguments are built from the merged matches too.
    <crate::cli::Cli as clap::FromArgMatches>::from_arg_matches(&m).map_err(|e| e.to_string())?;
    Ok(m)
}

/// Options clap accepts only with another one (`requires`), and that other one's setting.
const COMPANIONS: &[(&str, &str)] = &[("no-default-signatures", "signatures = [\"mine.toml\"]\n")];

#[test]
fn every_option_of_scan_and_live_is_settable_from_the_file() {
    let cli = command();
    let mut checked = 0;
    for name in SUBCOMMANDS {
        let sub = cli.find_subcommand(name).expect("subcommand");
        for arg in settable(sub) {
            let key = arg.get_long().expect("long");
            let (lit, values) = test_value(sub, arg);
            // live needs an interface: from the file too, unless it is the option tested.
            let mut needs = if name == "live" && key != "interface" {
                "interface = [\"lo\"]\n".to_string()
            } else {
                String::new()
            };
            // An option that needs another (clap `requires`) gets it from the file too.
            for (option, companion) in COMPANIONS {
                if key == *option {
                    needs.push_str(companion);
                }
            }
            for (tag, text) in [
                ("top", format!("{needs}{key} = {lit}\n")),
                ("table", format!("{needs}[{name}]\n{key} = {lit}\n")),
            ] {
                let path = write(&format!("{name}-{key}-{tag}"), &text);
                let config = path.to_string_lossy().into_owned();
                let m = parse(&argv(name, &["--config", &config]))
                    .unwrap_or_else(|e| panic!("{name} {key} ({tag}): {e}\n{text}"));
                let got = effective(sub, m.subcommand_matches(name).expect("matches"));
                assert_eq!(
                    got.get(key),
                    Some(&values),
                    "{name}: --{key} from the file ({tag}):\n{text}"
                );
                checked += 1;
            }
        }
    }
    // scan and live have well over 30 options each; a walk that found none proves nothing.
    assert!(checked > 100, "only {checked} settings checked");
}

#[test]
fn the_command_line_overrides_the_file() {
    let cli = command();
    let sub = cli.find_subcommand("scan").expect("scan");
    let path = write(
        "override",
        "eve = \"/from/file.json\"\nsuppress-window = 10\nsignatures = [\"a\", \"b\"]\n\
         [scan]\nsuppress-window = 20\n",
    );
    let config = path.to_string_lossy().into_owned();
    let m = parse(&argv("scan", &["--config", &config])).expect("parses");
    let got = effective(sub, m.subcommand_matches("scan").expect("scan"));
    assert_eq!(got["eve"], ["/from/file.json"]);
    assert_eq!(got["suppress-window"], ["20"], "the [scan] table wins");
    assert_eq!(got["signatures"], ["a", "b"]);
    let m = parse(&argv(
        "scan",
        &[
            "--config",
            &config,
            "--eve",
            "/from/cli.json",
            "--signatures",
            "c",
            "--suppress-window",
            "0",
        ],
    ))
    .expect("parses");
    let got = effective(sub, m.subcommand_matches("scan").expect("scan"));
    assert_eq!(got["eve"], ["/from/cli.json"]);
    assert_eq!(
        got["signatures"],
        ["c"],
        "a list on the command line replaces the file's"
    );
    assert_eq!(got["suppress-window"], ["0"]);
}

#[test]
fn errors_name_the_line_and_column() {
    let cli = command();
    let text = "workers = \"four\"\nsupress-window = 10\neve-dns-version = 7\n\
                quiet = 1\n[live]\nstats = true\nsnaplen = [1, 2]\n[scan]\nstats = true\n\
                [sigs]\nx = 1\n";
    let errors: Vec<String> = Config::parse(Path::new("c.toml"), text, &cli)
        .expect_err("invalid")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errors,
        [
            "c.toml:1:11: workers: expected an integer, found a string",
            "c.toml:2:1: unknown option \"supress-window\" (scan or live has no \
             --supress-window; did you mean \"suppress-window\"?)",
            "c.toml:3:19: invalid value '7' for '--eve-dns-version <N>': 7 is not in 2..=3",
            "c.toml:4:9: quiet: expected true or false, found an integer",
            "c.toml:6:1: unknown option \"stats\" (live has no --stats)",
            "c.toml:7:11: snaplen: takes one value, not an array",
            "c.toml:10:2: unknown option \"sigs\" (scan or live has no --sigs)",
        ]
    );
    let errors = Config::parse(Path::new("c.toml"), "eve = \"x\n", &cli).expect_err("syntax");
    assert_eq!((errors[0].line, errors[0].col), (1, 9));
    assert!(errors[0].message.starts_with("TOML syntax: "), "{errors:?}");
}

#[test]
fn show_prints_what_check_accepts_with_the_file_applied() {
    let cli = command();
    let defaults = show(&cli, None);
    let path = write("shown", &defaults);
    let parsed = Config::read(&path, &cli).expect("the defaults shown are a valid file");
    assert!(parsed.len() > 30, "{defaults}");
    let text = "interface = [\"eth1\", \"eth2\"]\nworkers = 3\nlog = [\"dns\", \"tls\"]\n\
                sink-drain = 2\n[scan]\nworkers = 1\n";
    let config = Config::parse(Path::new("c.toml"), text, &cli).expect("valid");
    let shown = show(&cli, Some(&config));
    for line in [
        "interface = [\"eth1\", \"eth2\"]",
        "log = [\"dns\", \"tls\"]",
        "sink-drain = 2.0",
        "max-flows = 65536",
        "# eve: not set",
        "[scan]\n",
        "[live]\n",
    ] {
        assert!(shown.contains(line), "{line:?} not in:\n{shown}");
    }
    // workers differs between the two: it is in each table, not at the top level.
    let top = shown.split("\n[").next().unwrap_or("");
    assert!(!top.contains("\nworkers ="), "{shown}");
    let round = Config::parse(Path::new("shown.toml"), &shown, &cli).expect("round trip");
    assert_eq!(
        show(&cli, Some(&round)).lines().skip(1).collect::<Vec<_>>(),
        shown.lines().skip(1).collect::<Vec<_>>()
    );
}

#[test]
fn changes_split_into_applied_and_needing_a_restart() {
    let before: Values = [
        ("signatures".to_string(), vec!["a".to_string()]),
        ("bpf".into(), vec![]),
        ("workers".into(), vec!["1".into()]),
    ]
    .into_iter()
    .collect();
    let mut after = before.clone();
    after.insert("signatures".into(), vec!["b".into()]);
    after.insert("bpf".into(), vec!["udp".into()]);
    let (applied, restart) = changes(&before, &after);
    assert_eq!(applied, ["signatures"]);
    assert_eq!(restart, ["bpf"]);
}
