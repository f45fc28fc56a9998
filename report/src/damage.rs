//! The damages an input contains: each detection of the verdict that no review rejected (with
//! its class as the last review set it), plus each damage a reviewer added. These, and only
//! these, may become EIR lines, whoever writes the report.

use crate::cedex::LocationCode;
use crate::class::DamageClass;
use crate::eir::Citation;
use crate::face::Face;
use crate::input::{BoxPx, PhotoInput, ReportInput, ReviewAction, ReviewInput};

/// One damage found in the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    /// Stable id: `photo/dN` (detection N) or `photo/rREVIEW` (added by a review).
    pub id: String,
    /// The photo.
    pub photo_id: String,
    /// Its face.
    pub face: Face,
    /// The class (after reviews).
    pub class: DamageClass,
    /// The detector's confidence (none for an added damage).
    pub confidence: Option<f32>,
    /// The box.
    pub bbox: BoxPx,
    /// The box's share of the photo, 0-1.
    pub area_fraction: f32,
    /// The location code (part and sections from the last review that gave them).
    pub location: LocationCode,
    /// What it rests on.
    pub cites: Citation,
}

/// Every damage of a validated input, in photo order, detections before added ones.
pub fn collect(input: &ReportInput) -> Vec<Damage> {
    let mut out = Vec::new();
    for photo in &input.photos {
        collect_photo(photo, &mut out);
    }
    out
}

fn located(photo: &PhotoInput, reviews: &[&ReviewInput]) -> LocationCode {
    let reviewed = reviews
        .iter()
        .rev()
        .find_map(|r| r.location.and_then(|l| l.parsed()));
    match reviewed {
        Some((part, sections)) => LocationCode {
            face: photo.face,
            part: Some(part),
            sections: Some(sections),
        },
        None => LocationCode::from_face(photo.face),
    }
}

fn collect_photo(photo: &PhotoInput, out: &mut Vec<Damage>) {
    let pixels = (photo.width as f32 * photo.height as f32).max(1.0);
    if let Some(verdict) = &photo.verdict {
        for (index, d) in verdict.detections.iter().enumerate() {
            let about: Vec<&ReviewInput> = photo
                .reviews
                .iter()
                .filter(|r| match r.action {
                    ReviewAction::Confirm { detection }
                    | ReviewAction::Reject { detection }
                    | ReviewAction::Reclass { detection, .. } => detection == index,
                    ReviewAction::Add { .. } => false,
                })
                .collect();
            let mut class = DamageClass::from_id(d.class_id);
            let mut cites = Citation::Detection {
                source: verdict.source.clone(),
                model: verdict.model.clone(),
                index,
            };
            for r in &about {
                let review_cite = Citation::Review {
                    review_id: r.id.clone(),
                    reviewer: r.reviewer.clone(),
                    at_ms: r.at_ms,
                    detection: Some(index),
                };
                match r.action {
                    ReviewAction::Reject { .. } => class = None,
                    ReviewAction::Reclass { class_id, .. } => {
                        class = DamageClass::from_id(class_id);
                        cites = review_cite;
                    }
                    ReviewAction::Confirm { .. } => {
                        class = class.or(DamageClass::from_id(d.class_id));
                        cites = review_cite;
                    }
                    ReviewAction::Add { .. } => {}
                }
            }
            let Some(class) = class else { continue };
            out.push(Damage {
                id: format!("{}/d{index}", photo.id),
                photo_id: photo.id.clone(),
                face: photo.face,
                class,
                confidence: Some(d.score),
                bbox: d.bbox,
                area_fraction: (d.bbox.area() / pixels).clamp(0.0, 1.0),
                location: located(photo, &about),
                cites,
            });
        }
    }
    for r in &photo.reviews {
        if let ReviewAction::Add { class_id, bbox } = r.action
            && let Some(class) = DamageClass::from_id(class_id)
        {
            out.push(Damage {
                id: format!("{}/r{}", photo.id, r.id),
                photo_id: photo.id.clone(),
                face: photo.face,
                class,
                confidence: None,
                bbox,
                area_fraction: (bbox.area() / pixels).clamp(0.0, 1.0),
                location: located(photo, &[r]),
                cites: Citation::Review {
                    review_id: r.id.clone(),
                    reviewer: r.reviewer.clone(),
                    at_ms: r.at_ms,
                    detection: None,
                },
            });
        }
    }
}
