//! The compiled rule set in use: the control thread publishes a reload here once, every
//! worker takes it up between batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::sigs::CompiledRules;

/// The compiled rule set in use, and its generation: the control thread publishes a reload
/// here once; every worker takes it up between batches (one atomic load when nothing changed).
pub struct RulesSlot {
    generation: AtomicU64,
    current: Mutex<Arc<CompiledRules>>,
}

impl RulesSlot {
    /// A slot holding `rules` as generation 0.
    pub fn new(rules: Arc<CompiledRules>) -> Self {
        RulesSlot {
            generation: AtomicU64::new(0),
            current: Mutex::new(rules),
        }
    }

    /// Publish a new compiled set to every worker.
    pub fn publish(&self, rules: Arc<CompiledRules>) {
        let mut slot = self.current.lock().unwrap_or_else(|e| e.into_inner());
        *slot = rules;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The compiled set now.
    pub fn current(&self) -> Arc<CompiledRules> {
        Arc::clone(&self.current.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Reload: `load` reads and compiles the packs (on the caller's thread, once); only a
    /// set that loaded without error is published, so a broken pack leaves every worker on
    /// the set it had. Workers still holding the old `Arc` finish their batch with it. The
    /// number of rules published, or the load's errors.
    pub fn reload<E>(
        &self,
        load: impl FnOnce() -> Result<Arc<CompiledRules>, E>,
    ) -> Result<usize, E> {
        let compiled = load()?;
        let n = compiled.rules.rules.len();
        self.publish(compiled);
        Ok(n)
    }

    /// The current set when newer than `seen` (then `seen` is updated).
    pub fn take_newer(&self, seen: &mut u64) -> Option<Arc<CompiledRules>> {
        let generation = self.generation.load(Ordering::Acquire);
        if generation == *seen {
            return None;
        }
        *seen = generation;
        Some(self.current())
    }

    /// Generation now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigs::{MatchOptions, RuleSet, SigError};

    fn load(path: &std::path::Path) -> Result<Arc<CompiledRules>, Vec<SigError>> {
        let rules = RuleSet::load(&[path.to_path_buf()])?;
        Ok(Arc::new(CompiledRules::compile(
            rules,
            MatchOptions::default(),
        )))
    }

    const HEAD: &str = "[pack]\nid = \"t\"\nvendor = \"T\"\nversion = \"1\"\n";

    fn pack(extra: &str) -> String {
        format!(
            "{HEAD}\n[[rule]]\nsid = 1\nname = \"r1\"\nchannel = \"other\"\nseverity = 3\n{extra}"
        )
    }

    #[test]
    fn reload_publishes_only_valid_sets_and_workers_see_each_once() {
        let dir = std::env::temp_dir().join(format!("vw-rules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("p.toml");
        std::fs::write(&file, pack("domains = [\"a.com\"]\n")).expect("write");
        let slot = RulesSlot::new(load(&file).expect("load"));
        let mut seen = slot.generation();
        let held_by_a_worker = slot.current();
        assert!(slot.take_newer(&mut seen).is_none());

        // A good version is published once; the old set lives on where still held.
        std::fs::write(&file, pack("domains = [\"b.com\"]\n")).expect("write");
        assert_eq!(slot.reload(|| load(&file)).expect("reload"), 1);
        let new = slot.take_newer(&mut seen).expect("newer");
        assert!(new.matcher.match_name(b"b.com").is_some());
        assert!(new.matcher.match_name(b"a.com").is_none());
        assert!(held_by_a_worker.matcher.match_name(b"a.com").is_some());
        assert!(slot.take_newer(&mut seen).is_none(), "taken up once");

        // A broken one is refused with its errors; nothing new is published.
        std::fs::write(&file, pack("domains = [\"a..b\"]\n")).expect("write");
        let errors = slot.reload(|| load(&file)).expect_err("bad pack");
        assert!(errors[0].to_string().contains("p.toml:"), "{}", errors[0]);
        assert!(slot.take_newer(&mut seen).is_none());
        assert!(slot.current().matcher.match_name(b"b.com").is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
