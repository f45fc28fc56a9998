//! A person's review of one photo: the boxes the reviewer asserts (from then on the photo's
//! ground truth, and the trainer's labels), kept beside the verdicts, never over them.
//!
//! Reviews of a photo are numbered from 1; each is a new immutable record. A review is
//! written against the revision its author saw (`revision = seen + 1`): when somebody else
//! wrote that number first, the store refuses it (a stale review, 409), so two reviewers never
//! overwrite each other silently. The records, oldest first, are the inspection's audit log.

use omni_protocol::DAMAGE_CLASSES;
use serde::{Deserialize, Serialize};

use crate::VerdictSource;

/// Most boxes one review may hold.
pub const MAX_REVIEW_BOXES: usize = 300;
/// Longest reviewer name, in characters.
pub const MAX_REVIEWER_CHARS: usize = 64;
/// Smallest side of a box, as a fraction of the photo's side.
pub const MIN_BOX_SIDE: f32 = 0.002;

/// A box a reviewer kept or drew. Coordinates are fractions of the photo's (EXIF-oriented)
/// width and height, in [0, 1], left < right and top < bottom.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewBox {
    /// Schema-v1 class id (`dent, dirt, rust, scratch, spoiled, mold`).
    pub class_id: u32,
    /// Left.
    pub x1: f32,
    /// Top.
    pub y1: f32,
    /// Right.
    pub x2: f32,
    /// Bottom.
    pub y2: f32,
}

/// The verdict a photo's first review started from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerdictRef {
    /// Edge or cloud.
    pub source: VerdictSource,
    /// The model file's SHA-256 (with the photo and source, the verdict's key).
    pub model_sha256: String,
}

/// What a review did to one box of the previous state (the previous review, or for the
/// first review the verdict it started from). `box_index` is the box's index in that state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReviewChange {
    /// Kept as it was.
    Accepted {
        /// Index in the previous state.
        box_index: u32,
        /// Its class.
        class_id: u32,
    },
    /// Kept with another class.
    Reclassified {
        /// Index in the previous state.
        box_index: u32,
        /// The class it had.
        from: u32,
        /// The class the reviewer gave it.
        to: u32,
    },
    /// Removed: not damage, or not this damage.
    Deleted {
        /// Index in the previous state.
        box_index: u32,
        /// Its class.
        class_id: u32,
    },
    /// A box the model missed, drawn by the reviewer.
    Drawn {
        /// Its class.
        class_id: u32,
    },
}

/// One review of one photo, as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Review {
    /// The inspection.
    pub inspection_id: String,
    /// The photo (unique within its inspection).
    pub photo_id: String,
    /// 1 for the photo's first review, then one more each time.
    pub revision: u64,
    /// Who reviewed (the signed-in user's name).
    pub reviewer: String,
    /// When, ms since the epoch.
    pub reviewed_at_ms: i64,
    /// For a first review, the verdict it started from (none: the photo had no readable
    /// verdict and every box was drawn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<VerdictRef>,
    /// The boxes the reviewer asserts: the photo's damage from this review on.
    pub boxes: Vec<ReviewBox>,
    /// What this review changed against the previous state, for the audit log.
    pub changes: Vec<ReviewChange>,
}

/// Why a review cannot be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewError(pub String);

impl std::fmt::Display for ReviewError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ReviewError {}

fn class_ok(class_id: u32) -> bool {
    (class_id as usize) < DAMAGE_CLASSES.len()
}

impl ReviewBox {
    /// Checks the class and the coordinates.
    pub fn validate(&self) -> Result<(), ReviewError> {
        if !class_ok(self.class_id) {
            return Err(ReviewError(format!("unknown class id {}", self.class_id)));
        }
        let coords = [self.x1, self.y1, self.x2, self.y2];
        if coords
            .iter()
            .any(|c| !c.is_finite() || !(0.0..=1.0).contains(c))
        {
            return Err(ReviewError(
                "box coordinates must be fractions of the photo in [0, 1]".into(),
            ));
        }
        if self.x2 - self.x1 < MIN_BOX_SIDE || self.y2 - self.y1 < MIN_BOX_SIDE {
            return Err(ReviewError(format!(
                "a box needs left < right and top < bottom, each side at least {MIN_BOX_SIDE} of the photo"
            )));
        }
        Ok(())
    }
}

impl Review {
    /// Checks what a store can check alone: a revision from 1, a reviewer name, at most
    /// [`MAX_REVIEW_BOXES`] valid boxes, and changes that account for every box (one change per
    /// box of the previous state is not checkable here; every `Drawn` and kept box must match
    /// a box, so `accepted + reclassified + drawn == boxes.len()`).
    pub fn validate(&self) -> Result<(), ReviewError> {
        if self.revision == 0 {
            return Err(ReviewError("a review's revision starts at 1".into()));
        }
        let name = self.reviewer.trim();
        if name.is_empty()
            || name.chars().count() > MAX_REVIEWER_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(ReviewError(format!(
                "a reviewer is a name of 1 to {MAX_REVIEWER_CHARS} printable characters"
            )));
        }
        if self.revision > 1 && self.based_on.is_some() {
            return Err(ReviewError(
                "only a photo's first review starts from a verdict".into(),
            ));
        }
        if self.boxes.len() > MAX_REVIEW_BOXES {
            return Err(ReviewError(format!(
                "a review holds at most {MAX_REVIEW_BOXES} boxes"
            )));
        }
        for b in &self.boxes {
            b.validate()?;
        }
        if self.changes.len() > 2 * MAX_REVIEW_BOXES {
            return Err(ReviewError("too many changes in one review".into()));
        }
        let mut kept = 0usize;
        for change in &self.changes {
            let classes = match change {
                ReviewChange::Accepted { class_id, .. }
                | ReviewChange::Deleted { class_id, .. }
                | ReviewChange::Drawn { class_id } => [*class_id, *class_id],
                ReviewChange::Reclassified { from, to, .. } => [*from, *to],
            };
            if !classes.iter().all(|c| class_ok(*c)) {
                return Err(ReviewError("a change names an unknown class id".into()));
            }
            if !matches!(change, ReviewChange::Deleted { .. }) {
                kept += 1;
            }
        }
        if kept != self.boxes.len() {
            return Err(ReviewError(format!(
                "the changes keep or draw {kept} boxes but the review holds {}",
                self.boxes.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review() -> Review {
        Review {
            inspection_id: "i".into(),
            photo_id: "p".into(),
            revision: 1,
            reviewer: "ana".into(),
            reviewed_at_ms: 1,
            based_on: Some(VerdictRef {
                source: VerdictSource::Cloud,
                model_sha256: "ab".into(),
            }),
            boxes: vec![ReviewBox {
                class_id: 2,
                x1: 0.1,
                y1: 0.1,
                x2: 0.5,
                y2: 0.4,
            }],
            changes: vec![
                ReviewChange::Reclassified {
                    box_index: 0,
                    from: 0,
                    to: 2,
                },
                ReviewChange::Deleted {
                    box_index: 1,
                    class_id: 3,
                },
            ],
        }
    }

    #[test]
    fn a_good_review_passes_and_round_trips() {
        let r = review();
        assert_eq!(r.validate(), Ok(()));
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains(r#""action":"reclassified""#), "{json}");
        assert_eq!(serde_json::from_str::<Review>(&json).unwrap(), r);
    }

    /// A change that breaks a good review.
    type Breakage = Box<dyn Fn(&mut Review)>;

    #[test]
    fn bad_reviews_are_refused_with_a_reason() {
        let cases: Vec<(&str, Breakage)> = vec![
            ("revision", Box::new(|r| r.revision = 0)),
            ("reviewer", Box::new(|r| r.reviewer = " ".into())),
            ("reviewer", Box::new(|r| r.reviewer = "a\u{7}b".into())),
            ("reviewer", Box::new(|r| r.reviewer = "x".repeat(65))),
            ("first review", Box::new(|r| r.revision = 2)),
            ("class", Box::new(|r| r.boxes[0].class_id = 6)),
            ("[0, 1]", Box::new(|r| r.boxes[0].x2 = 1.5)),
            ("[0, 1]", Box::new(|r| r.boxes[0].y1 = f32::NAN)),
            ("left < right", Box::new(|r| r.boxes[0].x2 = 0.1)),
            (
                "class id",
                Box::new(|r| r.changes.push(ReviewChange::Drawn { class_id: 9 })),
            ),
            (
                "holds 1",
                Box::new(|r| {
                    r.changes.remove(0);
                }),
            ),
            (
                "at most",
                Box::new(|r| r.boxes = vec![r.boxes[0]; MAX_REVIEW_BOXES + 1]),
            ),
        ];
        for (want, mutate) in cases {
            let mut r = review();
            mutate(&mut r);
            let err = r.validate().expect_err(want);
            assert!(err.0.contains(want), "{want}: {err}");
        }
    }
}
