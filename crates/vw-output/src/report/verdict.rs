//! The per-host migration verdict of the inventory (`kaspersky-after-cutoff`,
//! `migrated-to-ultraav`, `ultraav-only`, `kaspersky-before-cutoff-only`): decided from all
//! of a host's alerts, in any order, by [`Verdict::decide`] over the relations the alerts'
//! packs name (`migrated_from` / `migrated_to`). No vendor is named here: the labels are made
//! from pack ids.

use std::collections::BTreeMap;

use super::{AlertFacts, HostRow, ReportBuilder};
use crate::record::lineage::{Seen, Verdict, is_product_evidence};

/// Fold one alert's relations and, for a pack in a relation, what the host did for it.
pub(super) fn note(
    relations: &mut BTreeMap<(String, String), Option<i64>>,
    row: &mut HostRow,
    a: &AlertFacts<'_>,
) {
    let l = a.lineage;
    if l.is_empty() {
        return;
    }
    if let Some(from) = &l.migrated_from {
        let day = relations.entry((from.clone(), l.pack.clone())).or_default();
        *day = day.or(l.migration);
    }
    for to in &l.migrated_to {
        relations.entry((l.pack.clone(), to.clone())).or_default();
    }
    if !is_product_evidence(a.channel) {
        return;
    }
    let after = a.cutoff.is_some_and(|c| a.ts.secs >= c);
    match row.migration.get_mut(&l.pack) {
        Some(seen) => seen.add(a.ts, after),
        None => {
            row.migration.insert(l.pack.clone(), Seen::at(a.ts, after));
        }
    }
}

impl ReportBuilder {
    /// The host's verdict for each relation it took part in (usually one).
    pub(super) fn verdicts(&self, r: &HostRow) -> Vec<String> {
        self.relations
            .keys()
            .filter_map(|(from, to)| {
                Verdict::decide(r.migration.get(from), r.migration.get(to))
                    .map(|v| v.label(from, to))
            })
            .collect()
    }

    /// The relations seen, as `FROM -> TO (from DAY)`, for the reports' legends.
    pub(super) fn relations_text(&self) -> Vec<String> {
        self.relations
            .iter()
            .map(|((from, to), day)| match day {
                Some(secs) => format!("{from} -> {to} (from {})", super::fmt_day(*secs)),
                None => format!("{from} -> {to}"),
            })
            .collect()
    }
}
