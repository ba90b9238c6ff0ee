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
