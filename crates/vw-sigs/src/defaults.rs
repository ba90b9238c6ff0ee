//! The default packs and the packs a user adds to them.
//!
//! `--signatures PATH` *adds* to the default packs (as Suricata's `-s` adds to its
//! configured rule files), and `--no-default-signatures` drops the defaults (as Suricata's
//! `-S` replaces them). A pack added whose `[pack] id` is a default pack's replaces that
//! default pack: an edited copy of `kaspersky.toml` (or the repository's `signatures/` named
//! on the command line of an installed binary) takes the place of the built-in one instead
//! of clashing with it on every sid.

use super::load::LoadLimits;
use super::pack::{PackInfo, RuleSet, SigError, assemble, read_paths};
use super::tree::{self, Kind};
use std::path::{Path, PathBuf};

/// Where the default packs come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultPacks {
    /// No default packs: only those named (`--no-default-signatures`).
    None,
    /// The `*.toml` files of a directory ([`super::default_signature_dir`]).
    Dir(PathBuf),
    /// The packs compiled into the binary ([`super::BUNDLED`]).
    Bundled,
}

/// Where one loaded pack came from, as `sigs list` and `sigs check` say it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackOrigin {
    /// A default pack compiled into the binary.
    Bundled,
    /// A default pack read from the default directory.
    DefaultDir,
    /// A pack named with `--signatures` (or `sigs check PATH`).
    Added,
}

/// A default pack that an added pack of the same id took the place of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    /// The pack id.
    pub id: String,
    /// The default pack's file (`<bundled>/NAME` for a built-in one).
    pub default_file: PathBuf,
}

/// The prefix of a bundled pack's [`PackInfo::file`].
const BUNDLED_PREFIX: &str = "<bundled>/";

impl DefaultPacks {
    /// The default directory when one is found ([`super::default_signature_dir`]), else the
    /// packs compiled into the binary.
    pub fn find() -> Self {
        match super::default_signature_dir() {
            Some(dir) => DefaultPacks::Dir(dir),
            None => DefaultPacks::Bundled,
        }
    }

    /// Where `pack` (of a set loaded with these defaults) came from: the defaults are told
    /// by their file, so the answer is right whatever directory was found.
    pub fn origin(&self, pack: &PackInfo) -> PackOrigin {
        match self {
            DefaultPacks::Bundled if pack.file.starts_with(BUNDLED_PREFIX) => PackOrigin::Bundled,
            DefaultPacks::Dir(dir) if pack.file.parent() == Some(dir.as_path()) => {
                PackOrigin::DefaultDir
            }
            _ => PackOrigin::Added,
        }
    }
}

impl RuleSet {
    /// The default packs plus the packs of `added` (files, or directories of `*.toml`), all
    /// checked together (sids and pack ids unique, no overlapping indicators). A default pack
    /// whose id an added pack has is left out and listed in the second value. Every error of
    /// every file is returned at once.
    pub fn load_adding(
        defaults: &DefaultPacks,
        added: &[PathBuf],
        limits: LoadLimits,
    ) -> Result<(RuleSet, Vec<Replaced>), Vec<SigError>> {
        let mut errors = Vec::new();
        let mut user = Vec::new();
        read_paths(added, limits, &mut user, &mut errors);
        let added_ids: Vec<String> = user.iter().filter_map(|(_, t)| peek_pack_id(t)).collect();
        let mut default_sources: Vec<(PathBuf, String)> = Vec::new();
        match defaults {
            DefaultPacks::None => {}
            DefaultPacks::Dir(dir) => {
                read_paths(
                    std::slice::from_ref(dir),
                    limits,
                    &mut default_sources,
                    &mut errors,
                );
            }
            DefaultPacks::Bundled => {
                default_sources.extend(super::BUNDLED.iter().map(|(name, text)| {
                    (
                        PathBuf::from(format!("{BUNDLED_PREFIX}{name}")),
                        (*text).to_string(),
                    )
                }))
            }
        }
        let mut replaced = Vec::new();
        default_sources.retain(|(file, text)| match peek_pack_id(text) {
            Some(id) if added_ids.contains(&id) => {
                replaced.push(Replaced {
                    id,
                    default_file: file.clone(),
                });
                false
            }
            _ => true,
        });
        let sources = default_sources.iter().chain(&user);
        assemble(
            sources.map(|(p, t)| (p.clone(), t.as_str())),
            limits,
            errors,
        )
        .map(|set| (set, replaced))
    }
}

/// The `[pack] id` of a pack's text, read from the part before its first `[[rule]]` (cheap
/// for a big pack); `None` when that part does not parse or has none (the full load then
/// reports what is wrong).
pub(crate) fn peek_pack_id(text: &str) -> Option<String> {
    let head_end = tree::rule_headers(text)
        .first()
        .copied()
        .unwrap_or(text.len());
    let root = tree::parse(text.get(..head_end)?).ok()?;
    let Kind::Table(entries) = root.kind else {
        return None;
    };
    let (_, pack) = entries.into_iter().find(|(k, _)| k.name == "pack")?;
    let Kind::Table(fields) = pack.kind else {
        return None;
    };
    fields.into_iter().find_map(|(k, v)| match v.kind {
        Kind::Str(id) if k.name == "id" => Some(id),
        _ => None,
    })
}

/// True when `file` names a pack compiled into the binary.
pub fn is_bundled_file(file: &Path) -> bool {
    file.starts_with(BUNDLED_PREFIX)
}
