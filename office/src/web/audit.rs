//! An inspection's audit log as the page shows it: every review, oldest first (who, when,
//! which photo, each change in the reader's language), and the reviewed mark.

use super::i18n::Texts;
use super::pages::time_text;
use crate::wire::{InspectionSummary, Review, ReviewChange, VerdictSource};

/// One review in the log, or the reviewed mark (`marked`).
pub(super) struct Entry {
    /// When, ms (the log's order).
    at_ms: i64,
    /// The inspection's reviewed mark, not a review.
    pub marked: bool,
    /// When (UTC).
    pub when: String,
    /// Who.
    pub who: String,
    /// Which photo.
    pub photo: String,
    /// The photo's review number.
    pub revision: u64,
    /// For a first review, the verdict it started from (its source, in words).
    pub started_from: Option<&'static str>,
    /// Each change, in words.
    pub changes: Vec<String>,
}

/// The reviewed mark in the log.
pub(super) struct Mark {
    /// When (UTC).
    pub when: String,
    /// Who.
    pub who: String,
}

/// A change in words (boxes numbered from 1, as the form shows them).
pub(super) fn change_text(t: &Texts, change: &ReviewChange) -> String {
    let n = |i: u32| (u64::from(i) + 1).to_string();
    match change {
        ReviewChange::Accepted {
            box_index,
            class_id,
        } => t
            .change_accepted
            .replace("{n}", &n(*box_index))
            .replace("{class}", &t.class_name(*class_id)),
        ReviewChange::Reclassified {
            box_index,
            from,
            to,
        } => t
            .change_reclassified
            .replace("{n}", &n(*box_index))
            .replace("{from}", &t.class_name(*from))
            .replace("{to}", &t.class_name(*to)),
        ReviewChange::Deleted {
            box_index,
            class_id,
        } => t
            .change_deleted
            .replace("{n}", &n(*box_index))
            .replace("{class}", &t.class_name(*class_id)),
        ReviewChange::Drawn { class_id } => {
            t.change_drawn.replace("{class}", &t.class_name(*class_id))
        }
    }
}

/// The log of `reviews` (oldest first, as the store lists them) with the inspection's
/// reviewed mark in its place in time.
pub(super) fn entries(t: &Texts, reviews: &[Review], summary: &InspectionSummary) -> Vec<Entry> {
    let mut log: Vec<Entry> = reviews
        .iter()
        .map(|r| Entry {
            at_ms: r.reviewed_at_ms,
            marked: false,
            when: time_text(r.reviewed_at_ms),
            who: r.reviewer.clone(),
            photo: r.photo_id.clone(),
            revision: r.revision,
            started_from: r.based_on.as_ref().map(|v| match v.source {
                VerdictSource::Edge => t.edge,
                VerdictSource::Cloud => t.cloud,
            }),
            changes: r.changes.iter().map(|c| change_text(t, c)).collect(),
        })
        .collect();
    if let Some(at_ms) = summary.reviewed_at_ms {
        // After the reviews of the same millisecond: a stable sort keeps their order.
        let at = log.partition_point(|e| e.at_ms <= at_ms);
        log.insert(
            at,
            Entry {
                at_ms,
                marked: true,
                when: time_text(at_ms),
                who: summary.reviewed_by.clone().unwrap_or_default(),
                photo: String::new(),
                revision: 0,
                started_from: None,
                changes: Vec::new(),
            },
        );
    }
    log
}

/// The inspection's reviewed mark, if any.
pub(super) fn mark(summary: &InspectionSummary) -> Option<Mark> {
    let at = summary.reviewed_at_ms?;
    Some(Mark {
        when: time_text(at),
        who: summary.reviewed_by.clone().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::{EN, ES};

    #[test]
    fn changes_read_in_both_languages() {
        let reclassified = ReviewChange::Reclassified {
            box_index: 1,
            from: 0,
            to: 2,
        };
        assert_eq!(change_text(&EN, &reclassified), "box 2: dent → rust");
        assert_eq!(
            change_text(&ES, &reclassified),
            "caja 2: abolladura → óxido"
        );
        let deleted = ReviewChange::Deleted {
            box_index: 2,
            class_id: 3,
        };
        assert_eq!(change_text(&EN, &deleted), "box 3 deleted (scratch)");
        let drawn = ReviewChange::Drawn { class_id: 2 };
        assert_eq!(change_text(&EN, &drawn), "drew a rust box");
        assert_eq!(change_text(&ES, &drawn), "dibujó una caja de óxido");
    }
}
