//! What a photo shows now, the state a review starts from: its latest review's boxes, else
//! (for a first review) the cloud verdict's when it reads, else the phone's, converted from
//! the verdict's pixels to fractions of the photo.

use super::verdicts::{Layer, layer};
use crate::wire::review::MIN_BOX_SIDE;
use crate::wire::{Review, ReviewBox, Verdict, VerdictRef, VerdictSource};

/// What a photo shows now: the boxes a review starts from.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PhotoState {
    /// The latest review's revision (0: none yet).
    pub revision: u64,
    /// For revision 0, the verdict the boxes come from.
    pub based_on: Option<VerdictRef>,
    /// The boxes, as fractions of the photo.
    pub boxes: Vec<ReviewBox>,
}

impl PhotoState {
    /// The `based_on` form field: `source:sha256`, empty when none.
    pub fn based_on_field(&self) -> String {
        self.based_on
            .as_ref()
            .map(|v| format!("{}:{}", v.source.as_str(), v.model_sha256))
            .unwrap_or_default()
    }
}

/// A verdict layer's boxes as fractions of its image, clamped into it (a box a model drew
/// past the edge, or thinner than a review allows, stays reviewable).
fn layer_boxes(l: &Layer) -> Vec<ReviewBox> {
    let (w, h) = (l.width.max(1) as f32, l.height.max(1) as f32);
    let span = |a: f32, b: f32| {
        let (a, b) = (a.clamp(0.0, 1.0), b.clamp(0.0, 1.0));
        let min = MIN_BOX_SIDE * 1.5;
        if b - a >= min {
            (a, b)
        } else {
            let b = (a + min).min(1.0);
            (b - min, b)
        }
    };
    l.boxes
        .iter()
        .map(|b| {
            let (x1, x2) = span(b.x / w, (b.x + b.w) / w);
            let (y1, y2) = span(b.y / h, (b.y + b.h) / h);
            ReviewBox {
                class_id: b.class_id,
                x1,
                y1,
                x2,
                y2,
            }
        })
        .collect()
}

/// The layer a first review starts from: the cloud verdict when readable, else the phone's
/// when readable, else none.
pub(super) fn verdict_layer(verdicts: &[&Verdict]) -> Option<(VerdictSource, Layer)> {
    [VerdictSource::Cloud, VerdictSource::Edge]
        .into_iter()
        .map(|source| (source, layer(verdicts, source)))
        .find(|(_, l)| l.readable)
}

/// The latest revision among one photo's reviews (0: none).
pub(super) fn latest(reviews: &[&Review]) -> u64 {
    reviews.iter().map(|r| r.revision).max().unwrap_or(0)
}

/// A photo's state at `revision` (0: the verdict's), from its reviews and verdicts; `None`
/// when no review has that revision.
pub(super) fn state_at(
    revision: u64,
    reviews: &[&Review],
    verdicts: &[&Verdict],
) -> Option<PhotoState> {
    if revision > 0 {
        return reviews
            .iter()
            .find(|r| r.revision == revision)
            .map(|r| PhotoState {
                revision,
                based_on: None,
                boxes: r.boxes.clone(),
            });
    }
    Some(match verdict_layer(verdicts) {
        Some((source, l)) => PhotoState {
            revision: 0,
            based_on: Some(VerdictRef {
                source,
                model_sha256: l.model_sha256.clone(),
            }),
            boxes: layer_boxes(&l),
        },
        None => PhotoState {
            revision: 0,
            based_on: None,
            boxes: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::verdicts::BoxView;

    #[test]
    fn verdict_boxes_become_fractions_inside_the_photo() {
        let l = Layer {
            key: "cloud",
            present: true,
            readable: true,
            width: 200,
            height: 100,
            model: String::new(),
            model_sha256: String::new(),
            boxes: vec![BoxView {
                class_id: 1,
                label: "dirt".into(),
                score_pct: 50,
                x: 190.0,
                y: -10.0,
                w: 30.0,
                h: 60.0,
                font: 1.0,
            }],
        };
        let b = layer_boxes(&l)[0];
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (0.95, 0.0, 1.0, 0.5));
        assert!(b.validate().is_ok());
    }
}
