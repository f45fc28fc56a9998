//! A photo's chain of office reviews (`crate::wire::Review`) as the report's reviews
//! (`omni_report::input::ReviewInput`), against the verdict the first review started from.
//!
//! The latest review's boxes are the photo's damage. Each review's changes name boxes of the
//! state before it (the previous review's boxes, or the verdict's detections for the first),
//! so the chain is followed change by change to learn where each box of the latest review
//! comes from. Only the net effect against the verdict is reported:
//! - a detection still in the latest review: `Confirm` (same class) or `Reclass` (another),
//!   cited by the latest review (whose author asserted it last);
//! - a detection some review deleted: `Reject`, cited by the review that deleted it;
//! - a box a reviewer drew that is still in the latest review: `Add`, with its class there and
//!   its fractions converted to the photo's pixels, cited by the review that drew it.
//!
//! Review ids are the photo's review revision (`3`), and `3.1`, `3.2`… for the boxes review 3
//! drew (so an added damage is `photo/r3.1`). No location is given: the review form has no
//! part or section field, and the report never guesses one.

use omni_report::input::{BoxPx, ReviewAction, ReviewInput};

use crate::wire::{Review, ReviewChange};

/// Where a box of a review state comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The verdict's detection of this index.
    Detection(usize),
    /// The `ordinal`-th box (from 0) drawn by the review at `at` in the chain.
    Drawn { at: usize, ordinal: usize },
}

/// The report's reviews of one photo. `reviews` are the photo's reviews (any order);
/// `classes` the class ids of the detections of the verdict the first review started from
/// (none when it started from none); `width` × `height` the frame the report's boxes are in. A
/// chain that does not follow (a missing revision, a change naming a box the state before did
/// not have, a box no change accounts for) is refused with the reason: the report is not
/// written from a review it cannot read.
pub fn review_inputs(
    reviews: &[&Review],
    classes: &[u32],
    width: u32,
    height: u32,
) -> Result<Vec<ReviewInput>, String> {
    let mut chain: Vec<&Review> = reviews.to_vec();
    chain.sort_by_key(|r| r.revision);
    for (i, r) in chain.iter().enumerate() {
        if r.revision != i as u64 + 1 {
            return Err(format!(
                "photo {}: its reviews skip from revision {i} to {}",
                r.photo_id, r.revision
            ));
        }
    }
    let Some(latest) = chain.last() else {
        return Ok(Vec::new());
    };
    let detections = classes.len();
    let mut state: Vec<Origin> = (0..detections).map(Origin::Detection).collect();
    // The review (index in the chain) that deleted each detection.
    let mut rejected_by: Vec<Option<usize>> = vec![None; detections];
    for (at, r) in chain.iter().enumerate() {
        state = follow(r, at, &state, &mut rejected_by)?;
    }
    let mut out = Vec::new();
    let mut kept = vec![false; detections];
    for (origin, b) in state.iter().zip(&latest.boxes) {
        match *origin {
            Origin::Detection(index) => {
                kept[index] = true;
                let action = if classes[index] == b.class_id {
                    ReviewAction::Confirm { detection: index }
                } else {
                    ReviewAction::Reclass {
                        detection: index,
                        class_id: b.class_id,
                    }
                };
                out.push(input(latest, latest.revision.to_string(), action));
            }
            Origin::Drawn { at, ordinal } => {
                let drew = chain[at];
                let (w, h) = (width as f32, height as f32);
                out.push(input(
                    drew,
                    format!("{}.{}", drew.revision, ordinal + 1),
                    ReviewAction::Add {
                        class_id: b.class_id,
                        bbox: BoxPx {
                            x1: b.x1 * w,
                            y1: b.y1 * h,
                            x2: b.x2 * w,
                            y2: b.y2 * h,
                        },
                    },
                ));
            }
        }
    }
    for (index, by) in rejected_by.iter().enumerate() {
        if let (Some(at), false) = (by, kept[index]) {
            let r = chain[*at];
            out.push(input(
                r,
                r.revision.to_string(),
                ReviewAction::Reject { detection: index },
            ));
        }
    }
    Ok(out)
}

/// The state after review `r` (at `at` in the chain) from the `before` state, noting the
/// detections it deleted.
fn follow(
    r: &Review,
    at: usize,
    before: &[Origin],
    rejected_by: &mut [Option<usize>],
) -> Result<Vec<Origin>, String> {
    let broken = |why: String| format!("photo {} review {}: {why}", r.photo_id, r.revision);
    let mut seen = vec![false; before.len()];
    let mut after = Vec::new();
    let mut drawn = 0;
    for change in &r.changes {
        let index = match change {
            ReviewChange::Accepted { box_index, .. }
            | ReviewChange::Reclassified { box_index, .. }
            | ReviewChange::Deleted { box_index, .. } => *box_index as usize,
            ReviewChange::Drawn { .. } => {
                after.push(Origin::Drawn { at, ordinal: drawn });
                drawn += 1;
                continue;
            }
        };
        let (Some(origin), Some(once)) = (before.get(index), seen.get_mut(index)) else {
            return Err(broken(format!(
                "a change names box {index} of a state of {} boxes",
                before.len()
            )));
        };
        if std::mem::replace(once, true) {
            return Err(broken(format!("two changes name box {index}")));
        }
        match (change, origin) {
            (ReviewChange::Deleted { .. }, Origin::Detection(d)) => rejected_by[*d] = Some(at),
            (ReviewChange::Deleted { .. }, Origin::Drawn { .. }) => {}
            _ => after.push(*origin),
        }
    }
    if let Some(missed) = seen.iter().position(|s| !s) {
        return Err(broken(format!("no change accounts for box {missed}")));
    }
    if after.len() != r.boxes.len() {
        return Err(broken(format!(
            "its changes keep {} boxes but it holds {}",
            after.len(),
            r.boxes.len()
        )));
    }
    Ok(after)
}

fn input(r: &Review, id: String, action: ReviewAction) -> ReviewInput {
    ReviewInput {
        id,
        reviewer: r.reviewer.clone(),
        at_ms: r.reviewed_at_ms,
        action,
        location: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ReviewBox;

    fn b(class_id: u32, x1: f32) -> ReviewBox {
        ReviewBox {
            class_id,
            x1,
            y1: 0.5,
            x2: x1 + 0.1,
            y2: 0.75,
        }
    }

    fn review(
        revision: u64,
        reviewer: &str,
        boxes: Vec<ReviewBox>,
        changes: Vec<ReviewChange>,
    ) -> Review {
        Review {
            inspection_id: "i".into(),
            photo_id: "p".into(),
            revision,
            reviewer: reviewer.into(),
            reviewed_at_ms: revision as i64 * 1000,
            based_on: None,
            boxes,
            changes,
        }
    }

    use ReviewChange::{Accepted, Deleted, Drawn, Reclassified};

    /// Verdict: dent (0), rust (2), scratch (3). Review 1 keeps the dent, calls the rust
    /// spoiled, deletes the scratch, draws dirt. Review 2 deletes the dent, keeps the others,
    /// draws mould. Review 3 calls the spoiled box rust again, the dirt scratch, and deletes
    /// the mould.
    fn chain() -> Vec<Review> {
        vec![
            review(
                1,
                "ana",
                vec![b(0, 0.0), b(4, 0.2), b(1, 0.4)],
                vec![
                    Accepted {
                        box_index: 0,
                        class_id: 0,
                    },
                    Reclassified {
                        box_index: 1,
                        from: 2,
                        to: 4,
                    },
                    Deleted {
                        box_index: 2,
                        class_id: 3,
                    },
                    Drawn { class_id: 1 },
                ],
            ),
            review(
                2,
                "luis",
                vec![b(4, 0.2), b(1, 0.4), b(5, 0.6)],
                vec![
                    Deleted {
                        box_index: 0,
                        class_id: 0,
                    },
                    Accepted {
                        box_index: 1,
                        class_id: 4,
                    },
                    Accepted {
                        box_index: 2,
                        class_id: 1,
                    },
                    Drawn { class_id: 5 },
                ],
            ),
            review(
                3,
                "eva",
                vec![b(2, 0.2), b(3, 0.4)],
                vec![
                    Reclassified {
                        box_index: 0,
                        from: 4,
                        to: 2,
                    },
                    Reclassified {
                        box_index: 1,
                        from: 1,
                        to: 3,
                    },
                    Deleted {
                        box_index: 2,
                        class_id: 5,
                    },
                ],
            ),
        ]
    }

    #[test]
    fn a_chain_of_three_reviews_becomes_its_net_effect_on_the_verdict() {
        let reviews = chain();
        // Any order in, the chain is followed by revision.
        let refs: Vec<&Review> = reviews.iter().rev().collect();
        let got = review_inputs(&refs, &[0, 2, 3], 1000, 800).unwrap();
        let summary: Vec<(String, String, ReviewAction)> = got
            .iter()
            .map(|r| (r.id.clone(), r.reviewer.clone(), r.action))
            .collect();
        assert_eq!(
            summary,
            vec![
                // The rust, spoiled in review 1 and rust again in review 3: confirmed.
                (
                    "3".into(),
                    "eva".into(),
                    ReviewAction::Confirm { detection: 1 }
                ),
                // Dirt drawn in review 1, a scratch since review 3: added by its drawer.
                (
                    "1.1".into(),
                    "ana".into(),
                    ReviewAction::Add {
                        class_id: 3,
                        bbox: BoxPx {
                            x1: 400.0,
                            y1: 400.0,
                            x2: 500.0,
                            y2: 600.0
                        },
                    }
                ),
                // The dent deleted in review 2, the scratch in review 1.
                (
                    "2".into(),
                    "luis".into(),
                    ReviewAction::Reject { detection: 0 }
                ),
                (
                    "1".into(),
                    "ana".into(),
                    ReviewAction::Reject { detection: 2 }
                ),
            ]
        );
        assert!(got.iter().all(|r| r.location.is_none()));
        assert_eq!(got[1].at_ms, 1000);
    }

    #[test]
    fn a_first_review_reclasses_and_one_without_a_verdict_adds() {
        let reviews = chain();
        let got = review_inputs(&[&reviews[0]], &[0, 2, 3], 10, 10).unwrap();
        assert_eq!(
            got[1].action,
            ReviewAction::Reclass {
                detection: 1,
                class_id: 4
            }
        );
        let drawn = review(1, "ana", vec![b(1, 0.1)], vec![Drawn { class_id: 1 }]);
        let got = review_inputs(&[&drawn], &[], 10, 10).unwrap();
        assert!(matches!(
            got[..],
            [ReviewInput {
                action: ReviewAction::Add { class_id: 1, .. },
                ..
            }]
        ));
        assert_eq!(review_inputs(&[], &[0], 10, 10).unwrap(), vec![]);
    }

    #[test]
    fn a_chain_that_does_not_follow_is_refused() {
        let reviews = chain();
        let gap = review_inputs(&[&reviews[0], &reviews[2]], &[0, 2, 3], 10, 10);
        assert!(gap.unwrap_err().contains("skip from revision 1 to 3"));
        let mut beyond = reviews[0].clone();
        beyond.changes[0] = Accepted {
            box_index: 7,
            class_id: 0,
        };
        let err = review_inputs(&[&beyond], &[0, 2, 3], 10, 10).unwrap_err();
        assert!(err.contains("names box 7 of a state of 3"), "{err}");
        let mut twice = reviews[0].clone();
        twice.changes[2] = Deleted {
            box_index: 1,
            class_id: 2,
        };
        let err = review_inputs(&[&twice], &[0, 2, 3], 10, 10).unwrap_err();
        assert!(err.contains("two changes name box 1"), "{err}");
        let mut missed = reviews[0].clone();
        missed.changes.remove(2);
        let err = review_inputs(&[&missed], &[0, 2, 3], 10, 10).unwrap_err();
        assert!(err.contains("no change accounts for box 2"), "{err}");
        let mut short = reviews[0].clone();
        short.boxes.pop();
        let err = review_inputs(&[&short], &[0, 2, 3], 10, 10).unwrap_err();
        assert!(err.contains("keep 3 boxes but it holds 2"), "{err}");
    }
}
