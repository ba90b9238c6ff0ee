//! Product migrations between packs (`[pack] migrated_from`, `migration`): what an alert
//! carries of them and the per-host verdict both the engine (alert metadata) and the
//! inventory report compute. Everything comes from the packs' relations; the labels are made
//! from pack ids, so the next forced migration is a pack change, not a code change.

use crate::capture::Timestamp;
use crate::sigs::PackInfo;

/// An alert's pack as far as migrations go: empty (`pack` == "") for a pack in no relation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    /// The pack id, when the pack replaced one or was replaced.
    pub pack: String,
    /// The pack this one replaced (`migrated_from`).
    pub migrated_from: Option<String>,
    /// The packs that replaced this one (derived `migrated_to`).
    pub migrated_to: Vec<String>,
    /// The day the replacement began (`migration`, Unix seconds), for a replacing pack.
    pub migration: Option<i64>,
}

impl Lineage {
    /// What `pack` says of migrations (nothing allocated for a pack in no relation).
    pub fn of(pack: &PackInfo) -> Lineage {
        if pack.migrated_from.is_none() && pack.migrated_to.is_empty() {
            return Lineage::default();
        }
        Lineage {
            pack: pack.id.clone(),
            migrated_from: pack.migrated_from.clone(),
            migrated_to: pack.migrated_to.clone(),
            migration: pack.migration.map(|d| d.secs),
        }
    }

    /// True when the pack is in no relation.
    pub fn is_empty(&self) -> bool {
        self.pack.is_empty()
    }
}

/// Does an alert of this channel show the product installed? Browsing a vendor's website
/// (`portal`) does not: such alerts never make a verdict.
pub fn is_product_evidence(channel: &str) -> bool {
    channel != "portal"
}

/// What one host did on one side of a relation: first and last product-evidence alert, and
/// whether any was at or after the pack's cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// First alert time.
    pub first: Timestamp,
    /// Last alert time.
    pub last: Timestamp,
    /// Some alert at or after the pack's cut-off.
    pub after_cutoff: bool,
}

impl Seen {
    /// Seen once, at `ts`.
    pub fn at(ts: Timestamp, after_cutoff: bool) -> Seen {
        Seen {
            first: ts,
            last: ts,
            after_cutoff,
        }
    }

    /// Fold in another alert.
    pub fn add(&mut self, ts: Timestamp, after_cutoff: bool) {
        self.first = self.first.min(ts);
        self.last = self.last.max(ts);
        self.after_cutoff |= after_cutoff;
    }
}

/// A host's verdict for one relation (FROM replaced by TO), most telling first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// FROM seen, then TO seen later (at or after FROM's first alert): `migrated-to-TO`.
    Migrated,
    /// FROM seen at or after its cut-off, no TO after it: `FROM-after-cutoff`.
    FromAfterCutoff,
    /// TO seen, no FROM before it (nor after FROM's cut-off): `TO-only`.
    ToOnly,
    /// FROM seen only before its cut-off, no TO: `FROM-before-cutoff-only`.
    FromBeforeCutoffOnly,
}

impl Verdict {
    /// Decide from what the host did on each side (None: nothing seen on that side).
    pub fn decide(from: Option<&Seen>, to: Option<&Seen>) -> Option<Verdict> {
        match (from, to) {
            (Some(f), Some(t)) if t.last >= f.first => Some(Verdict::Migrated),
            (Some(f), _) if f.after_cutoff => Some(Verdict::FromAfterCutoff),
            (_, Some(_)) => Some(Verdict::ToOnly),
            (Some(_), None) => Some(Verdict::FromBeforeCutoffOnly),
            (None, None) => None,
        }
    }

    /// The label, from the pack ids: `migrated-to-ultraav`, `kaspersky-after-cutoff`, ...
    pub fn label(self, from: &str, to: &str) -> String {
        match self {
            Verdict::Migrated => format!("migrated-to-{to}"),
            Verdict::FromAfterCutoff => format!("{from}-after-cutoff"),
            Verdict::ToOnly => format!("{to}-only"),
            Verdict::FromBeforeCutoffOnly => format!("{from}-before-cutoff-only"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> Timestamp {
        Timestamp { secs, nanos: 0 }
    }

    /// Each verdict, and the order between them when a host did several things.
    #[test]
    fn verdicts_from_what_each_side_saw() {
        let before = Seen::at(t(10), false);
        let after = Seen::at(t(100), true);
        let to_later = Seen::at(t(50), false);
        let to_earlier = Seen::at(t(5), false);
        let d = Verdict::decide;
        assert_eq!(d(Some(&before), Some(&to_later)), Some(Verdict::Migrated));
        assert_eq!(d(Some(&after), None), Some(Verdict::FromAfterCutoff));
        // TO only before FROM, FROM after its cut-off: still on FROM.
        assert_eq!(
            d(Some(&after), Some(&to_earlier)),
            Some(Verdict::FromAfterCutoff)
        );
        assert_eq!(d(None, Some(&to_later)), Some(Verdict::ToOnly));
        assert_eq!(d(Some(&before), Some(&to_earlier)), Some(Verdict::ToOnly));
        assert_eq!(d(Some(&before), None), Some(Verdict::FromBeforeCutoffOnly));
        assert_eq!(d(None, None), None);
        assert_eq!(Verdict::Migrated.label("k", "u"), "migrated-to-u");
        assert_eq!(
            Verdict::FromBeforeCutoffOnly.label("k", "u"),
            "k-before-cutoff-only"
        );
        assert!(!is_product_evidence("portal") && is_product_evidence("update"));
    }
}
