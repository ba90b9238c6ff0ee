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
        // Nothing added, nothing replaced: the defaults' heads are not parsed twice.
        default_sources.retain(
            |(file, text)| match peek_pack_id_if(!added_ids.is_empty(), text) {
                Some(id) if added_ids.contains(&id) => {
                    replaced.push(Replaced {
                        id,
                        default_file: file.clone(),
                    });
                    false
                }
                _ => true,
            },
        );
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

/// [`peek_pack_id`] when `wanted`.
fn peek_pack_id_if(wanted: bool, text: &str) -> Option<String> {
    wanted.then(|| peek_pack_id(text)).flatten()
}

/// True when `file` names a pack compiled into the binary.
pub fn is_bundled_file(file: &Path) -> bool {
    file.starts_with(BUNDLED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("vw-sigs-defaults-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn pack(id: &str, sid: u32, domain: &str) -> String {
        format!(
            "[pack]\nid = \"{id}\"\nvendor = \"V {id}\"\nversion = \"1\"\n\n[[rule]]\nsid = {sid}\n\
             name = \"r\"\nchannel = \"other\"\nseverity = 2\ndomains = [\"{domain}\"]\n"
        )
    }

    /// `--signatures` adds to the bundled packs; each pack says where it came from.
    #[test]
    fn added_packs_come_on_top_of_the_bundled_ones() {
        let dir = temp_dir("add");
        let mine = dir.join("mine.toml");
        std::fs::write(&mine, pack("mine", 9_900_001, "mine.example")).expect("write");
        let (set, replaced) = RuleSet::load_adding(
            &DefaultPacks::Bundled,
            std::slice::from_ref(&mine),
            LoadLimits::default(),
        )
        .expect("loads");
        assert!(replaced.is_empty());
        assert_eq!(set.packs.len(), super::super::BUNDLED.len() + 1);
        assert!(set.packs.iter().any(|p| p.id == "kaspersky"));
        for p in &set.packs {
            let want = if p.id == "mine" {
                PackOrigin::Added
            } else {
                PackOrigin::Bundled
            };
            assert_eq!(DefaultPacks::Bundled.origin(p), want, "{}", p.id);
        }
        // Without defaults: only the named pack.
        let (set, _) = RuleSet::load_adding(
            &DefaultPacks::None,
            std::slice::from_ref(&mine),
            LoadLimits::default(),
        )
        .expect("loads");
        assert_eq!(set.packs.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A pack with a default pack's id replaces it (no clash on every sid); a pack of
    /// another id that reuses a default sid is still an error.
    #[test]
    fn same_id_replaces_the_default_pack_other_clashes_stay_errors() {
        let dir = temp_dir("replace");
        let mine = dir.join("kaspersky.toml");
        std::fs::write(&mine, pack("kaspersky", 4_200_001, "new.example")).expect("write");
        let (set, replaced) = RuleSet::load_adding(
            &DefaultPacks::Bundled,
            std::slice::from_ref(&mine),
            LoadLimits::default(),
        )
        .expect("replaces");
        assert_eq!(set.packs.len(), super::super::BUNDLED.len());
        let k = set
            .packs
            .iter()
            .find(|p| p.id == "kaspersky")
            .expect("kaspersky");
        assert_eq!(k.file, mine);
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].id, "kaspersky");
        assert!(is_bundled_file(&replaced[0].default_file));
        let clash = dir.join("clash.toml");
        std::fs::write(&clash, pack("clash", 4_200_001, "other.example")).expect("write");
        let errors = RuleSet::load_adding(
            &DefaultPacks::Bundled,
            std::slice::from_ref(&clash),
            LoadLimits::default(),
        )
        .expect_err("duplicate sid");
        assert!(
            errors
                .iter()
                .any(|e| e.message.starts_with("duplicate sid 4200001")),
            "{errors:?}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Default packs read from a directory say so; a file of that directory named again is
    /// loaded once.
    #[test]
    fn default_directory_origin_and_no_double_load() {
        let dir = temp_dir("dir");
        let defaults = dir.join("signatures");
        std::fs::create_dir_all(&defaults).expect("mkdir");
        let a = defaults.join("a.toml");
        std::fs::write(&a, pack("a", 9_900_010, "a.example")).expect("write");
        let d = DefaultPacks::Dir(defaults.clone());
        let (set, replaced) =
            RuleSet::load_adding(&d, std::slice::from_ref(&defaults), LoadLimits::default())
                .expect("the same directory twice loads once");
        assert_eq!(set.packs.len(), 1);
        assert_eq!(replaced.len(), 1);
        let (set, _) = RuleSet::load_adding(&d, &[], LoadLimits::default()).expect("loads");
        assert_eq!(d.origin(&set.packs[0]), PackOrigin::DefaultDir);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pack_id_is_read_from_the_head() {
        assert_eq!(peek_pack_id(&pack("x", 1, "a.b")).as_deref(), Some("x"));
        assert_eq!(peek_pack_id("[pack]\nvendor = \"v\"\n"), None);
        assert_eq!(peek_pack_id("not toml ["), None);
    }
}
