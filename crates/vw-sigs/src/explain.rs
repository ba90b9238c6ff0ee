//! `vendorwatch sigs test NAME`: why a pattern does *not* match a name that looks close to it
//! (a decoy such as `kaspersky.com.evil.example` or `notkaspersky.com`, a glob that wants one
//! more character, a disabled rule). Runs once per command, so it may scan every rule.

use super::matcher::Matcher;
use super::pack::RuleSet;
use super::pattern::{Mode, glob_match, parse_domain};

/// Most near misses reported for one name.
pub const MAX_NEAR_MISSES: usize = 12;

/// One explained near miss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// Index into [`RuleSet::rules`].
    pub rule: usize,
    /// The pattern as stored in the rule.
    pub pattern: String,
    /// Why it does not match, in words.
    pub reason: String,
}

/// Near misses of a normalised `name` against every rule's domain patterns, closest first
/// (patterns whose literal part is in the name as a whole-label suffix, then the others).
/// Patterns that match are not listed, except in disabled rules ("would match, but").
pub fn near_misses(rules: &RuleSet, name: &str) -> Vec<NearMiss> {
    let mut close = Vec::new();
    let mut far = Vec::new();
    for (ri, rule) in rules.rules.iter().enumerate() {
        for raw in &rule.domains {
            let Ok(p) = parse_domain(raw) else { continue };
            if !name.contains(p.anchor.as_str()) {
                continue;
            }
            let matches = pattern_matches(raw, name);
            let (bucket, reason) = if matches {
                if rule.enabled {
                    continue;
                }
                (
                    &mut close,
                    "would match, but the rule is disabled (enabled = false)".to_string(),
                )
            } else {
                match why_not(&p, name) {
                    (true, r) => (&mut close, r),
                    (false, r) => (&mut far, r),
                }
            };
            bucket.push(NearMiss {
                rule: ri,
                pattern: raw.clone(),
                reason,
            });
        }
    }
    close.extend(far);
    close.truncate(MAX_NEAR_MISSES);
    close
}

/// Does `pattern` (one stored pattern) match `name`? Through a one-pattern matcher, so the
/// semantics are exactly those of the hot path.
fn pattern_matches(pattern: &str, name: &str) -> bool {
    let text = format!(
        "[pack]\nid = \"x\"\nvendor = \"x\"\nversion = \"x\"\n[[rule]]\nsid = 1\nname = \"x\"\n\
         channel = \"other\"\nseverity = 3\ndomains = [\"{pattern}\"]\n"
    );
    RuleSet::from_str(&text, std::path::Path::new("<test>"))
        .is_ok_and(|set| Matcher::new(&set).match_name(name.as_bytes()).is_some())
}

/// Why `p` does not match `name`; true when the anchor sits at a label boundary at the end
/// of the name (a close miss).
fn why_not(p: &super::pattern::Pattern, name: &str) -> (bool, String) {
    let anchor = p.anchor.as_str();
    if let Some(left) = name.strip_suffix(anchor) {
        if left.is_empty() || left.ends_with('.') {
            let left = left.strip_suffix('.');
            return (true, why_not_left(p, left));
        }
        let first = left.rsplit('.').next().unwrap_or(left);
        let anchor_first = anchor.split('.').next().unwrap_or(anchor);
        return (
            false,
            format!(
                "label differs: \"{first}{anchor_first}\" is not \"{anchor_first}\" \
                 (patterns match whole labels, so {name} is not {anchor} or below it)"
            ),
        );
    }
    // The anchor is inside the name but not at its end.
    let pos = name.find(anchor).unwrap_or(0);
    let after = name.get(pos + anchor.len()..).unwrap_or_default();
    let before_ok = pos == 0 || name.as_bytes().get(pos - 1) == Some(&b'.');
    if before_ok && after.starts_with('.') {
        (
            false,
            format!(
                "contains {anchor} but not as a suffix: the name ends in \"{}\", so it \
                 belongs to another domain",
                &after[1..]
            ),
        )
    } else {
        (
            false,
            format!("contains \"{anchor}\" but not as whole labels at the end of the name"),
        )
    }
}

/// The anchor matched at a label boundary; explain the mode / left-hand labels.
fn why_not_left(p: &super::pattern::Pattern, left: Option<&str>) -> String {
    let anchor = &p.anchor;
    if p.labels.is_empty() {
        return match (p.mode, left) {
            (Mode::Exact, Some(_)) => format!(
                "exact pattern: the name is below {anchor}; write \".{anchor}\" for {anchor} \
                 and everything below it"
            ),
            (Mode::Below, None) => format!(
                "\"*.{anchor}\" matches only names strictly below {anchor}, not {anchor} itself; \
                 write \".{anchor}\" to include it"
            ),
            _ => "no match".into(),
        };
    }
    let Some(left) = left else {
        return format!(
            "the pattern needs {} label(s) left of {anchor}, the name has none",
            p.labels.len()
        );
    };
    let have: Vec<&str> = left.split('.').collect();
    let need = p.labels.len();
    if p.mode == Mode::Exact && have.len() != need {
        return format!(
            "the pattern has exactly {need} label(s) left of {anchor}, the name has {}; \
             '*' and '?' never span a dot",
            have.len()
        );
    }
    for (pat, label) in p.labels.iter().rev().zip(have.iter().rev()) {
        if !glob_match(pat.as_bytes(), label.as_bytes()) {
            return format!(
                "label \"{label}\" does not match \"{pat}\" ('*' is any run of characters, '?' \
                 exactly one, both within one label)"
            );
        }
    }
    match p.mode {
        _ if have.len() < need => format!(
            "the pattern needs {need} label(s) left of {anchor}, the name has {}",
            have.len()
        ),
        Mode::Below => format!(
            "\"*.\" needs at least one more label left of \"{}\"",
            p.canonical.trim_start_matches("*.")
        ),
        _ => "no match".into(),
    }
}
