//! Signature packs (`signatures/*.toml`) and the matcher built from them.
//!
//! - [`RuleSet`] is the owned form: loaded and validated from TOML, every error reported as
//!   `file:line:col: message` ([`SigError`]), printable for `sigs list` and alerts.
//! - [`Matcher`] is the hot-path index: an observed name is looked up by hashing its suffixes
//!   label by label from the right (one hash lookup per label, however many rules there are);
//!   an address by longest prefix. Lookups never allocate.
//!
//! - Name-less indicators: `payloads` (a UDP/TCP server port plus the bytes the payload
//!   starts with) and `user_agents` (HTTP `User-Agent` substrings), matched by the detector
//!   on the fast path without allocating.
//! - Rules may also carry `ports` (opt-in, matched on a flow's server side by the detector),
//!   `ja4` (ClientHello fingerprints, matched by the detector) and a `domains_file` (a plain list: the fast
//!   loading path for big feeds). [`import`] turns domain lists, hosts files, Suricata datasets
//!   and Zeek intel files into packs; [`explain`] says why a close pattern does not match;
//!   [`reload`] swaps in new signatures only when they are valid.
//!
//! Pattern semantics (also in the README): `a.b` exact; `*.a.b` any name strictly
//! below `a.b`; `.a.b` `a.b` and everything below; `*` (any run) and `?` (one character)
//! inside a label glob within that label only. Observed names are normalised with
//! [`normalise_name`] first.

// The wire crate's parsers, named as the modules of one crate were (`crate::proto`).
use vw_wire::proto;

mod defaults;
mod error;
pub mod explain;
pub mod import;
mod load;
mod matcher;
mod pack;
mod pattern;
pub mod text;
mod tree;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_ext;
#[cfg(test)]
mod tests_load;

pub use defaults::{DefaultPacks, PackOrigin, Replaced, is_bundled_file};
pub use load::{
    DEFAULT_MAX_LIST_MIB, DEFAULT_MAX_PACK_MIB, LoadLimits, MAX_BAD_LINES_SHOWN, MAX_LIST_LINE,
};
pub use matcher::{
    FxBuildHasher, FxHasher, IndicatorMatch, IpMatch, MatchOptions, Matcher, NameMatch, PortMatch,
    normalise_name,
};
pub use pack::{
    CHANNELS, CONFIDENCES, MAX_PAYLOAD_PREFIX, MAX_USER_AGENT, PackDate, PackInfo, PayloadPrefix,
    Rule, RuleSet, SigError,
};
pub use pattern::PortProto;

use std::path::{Path, PathBuf};

/// The packs compiled into the binary, as (file name, text): a lone installed binary still
/// has signatures, and [`RuleSet::bundled`] loads them.
pub const BUNDLED: &[(&str, &str)] = &[
    ("dahua.toml", include_str!("../../../signatures/dahua.toml")),
    (
        "dji-autel.toml",
        include_str!("../../../signatures/dji-autel.toml"),
    ),
    (
        "hikvision.toml",
        include_str!("../../../signatures/hikvision.toml"),
    ),
    (
        "huawei.toml",
        include_str!("../../../signatures/huawei.toml"),
    ),
    (
        "kaspersky.toml",
        include_str!("../../../signatures/kaspersky.toml"),
    ),
    ("zte.toml", include_str!("../../../signatures/zte.toml")),
];

/// Where the Debian package installs the packs.
pub const PACKAGED_SIGNATURE_DIR: &str = "/usr/share/vendorwatch/signatures";

/// Find the `signatures/` directory shipped with the program, so the editable files are used:
/// `signatures/` next to the executable or in one of its 3 parent directories (a checkout's
/// `target/debug/vendorwatch`, an unpacked release), then [`PACKAGED_SIGNATURE_DIR`] (the
/// Debian package). Only directories holding at least one `*.toml` count. No path of the
/// build machine is compiled in: a binary copied elsewhere never reads its build tree. `None`
/// means: fall back to [`RuleSet::bundled`], the packs compiled into the binary.
pub fn default_signature_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok();
    signature_dir_for(exe.as_deref(), Path::new(PACKAGED_SIGNATURE_DIR))
}

/// [`default_signature_dir`] for the executable `exe` and the packaged directory `packaged`.
pub fn signature_dir_for(exe: Option<&Path>, packaged: &Path) -> Option<PathBuf> {
    let mut dir = exe.and_then(Path::parent);
    for _ in 0..4 {
        let Some(d) = dir else { break };
        let candidate = d.join("signatures");
        if has_toml(&candidate) {
            return Some(candidate);
        }
        dir = d.parent();
    }
    has_toml(packaged).then(|| packaged.to_path_buf())
}

fn has_toml(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "toml"))
    })
}

/// A rule set compiled once (on load, or on the control thread at a reload) and shared by
/// every worker through an `Arc`: the rules, their matcher, and every flag derived from them,
/// so a rule kind added by a reload (the first JA4, port or payload rule) is matched at once.
pub struct CompiledRules {
    /// The rules and packs.
    pub rules: RuleSet,
    /// Their matcher.
    pub matcher: Matcher,
    /// Some enabled rule lists `ja4` fingerprints.
    pub has_ja4_rules: bool,
}

impl CompiledRules {
    /// Compile `rules` with `options` (`--enable-port-rules`).
    pub fn compile(rules: RuleSet, options: MatchOptions) -> Self {
        let matcher = Matcher::with_options(&rules, options);
        let has_ja4_rules = rules.rules.iter().any(|r| r.enabled && !r.ja4.is_empty());
        CompiledRules {
            rules,
            matcher,
            has_ja4_rules,
        }
    }
}
