//! Turning YOLO11's raw output `[4 + classes, anchors]` into detections in original pixels,
//! as Ultralytics' `non_max_suppression` (multi_label=False, class-aware) and `scale_boxes` do.

use super::letterbox::Letterbox;
use crate::detections::BoundingBox;

/// Thresholds of the postprocess.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PostprocessConfig {
    /// Minimum class score kept (Ultralytics `conf`, default 0.25).
    pub confidence: f32,
    /// IoU above which a lower-scored box of the same class is suppressed (default 0.7).
    pub iou: f32,
    /// Most detections kept per image (default 300).
    pub max_detections: usize,
    /// Keep every class above the threshold for an anchor, not just the best one
    /// (Ultralytics' `multi_label`, which its `val` uses; off for prediction).
    pub multi_label: bool,
}

impl Default for PostprocessConfig {
    fn default() -> Self {
        Self {
            confidence: 0.25,
            iou: 0.7,
            max_detections: 300,
            multi_label: false,
        }
    }
}

impl PostprocessConfig {
    /// The settings of Ultralytics' `val` (conf 0.001, IoU 0.7, 300 detections,
    /// multi-label), for accuracy numbers comparable with Ultralytics'.
    pub fn ultralytics_val() -> Self {
        Self {
            confidence: 0.001,
            iou: 0.7,
            max_detections: 300,
            multi_label: true,
        }
    }
}

/// Candidates kept before NMS, as Ultralytics' `max_nms`.
const MAX_NMS: usize = 30_000;

/// A detection before labels are attached.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RawDetection {
    /// Class id.
    pub class_id: u32,
    /// Class score.
    pub score: f32,
    /// Box in original pixels, clipped to the image.
    pub bbox: BoundingBox,
}

/// Decodes `output` (`rows` × `anchors`, row-major: cx, cy, w, h in input pixels, then one
/// sigmoid score per class), filters by confidence, runs class-aware NMS, and maps the kept
/// boxes back to the `width`×`height` original image.
pub fn postprocess(
    output: &[f32],
    anchors: usize,
    classes: usize,
    letterbox: &Letterbox,
    width: u32,
    height: u32,
    config: &PostprocessConfig,
) -> Vec<RawDetection> {
    let row = |r: usize| &output[r * anchors..(r + 1) * anchors];
    let (cx, cy, w, h) = (row(0), row(1), row(2), row(3));
    let mut candidates: Vec<(u32, f32, BoundingBox)> = Vec::new();
    let xyxy = |a: usize| BoundingBox {
        x1: cx[a] - w[a] / 2.0,
        y1: cy[a] - h[a] / 2.0,
        x2: cx[a] + w[a] / 2.0,
        y2: cy[a] + h[a] / 2.0,
    };
    for a in 0..anchors {
        if config.multi_label {
            for c in 0..classes {
                let score = output[(4 + c) * anchors + a];
                if score > config.confidence {
                    candidates.push((c as u32, score, xyxy(a)));
                }
            }
            continue;
        }
        // Best class; ties go to the lowest id, as torch's max does.
        let (class_id, score) = (0..classes)
            .map(|c| (c, output[(4 + c) * anchors + a]))
            .fold((0, f32::NEG_INFINITY), |best, cur| {
                if cur.1 > best.1 { cur } else { best }
            });
        if score > config.confidence {
            candidates.push((class_id as u32, score, xyxy(a)));
        }
    }
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1));
    candidates.truncate(MAX_NMS);
    let kept = nms(&candidates, config.iou, config.max_detections);
    let (max_x, max_y) = (width as f32, height as f32);
    kept.into_iter()
        .map(|i| {
            let (class_id, score, b) = candidates[i];
            let (x1, y1) = letterbox.to_original(b.x1, b.y1);
            let (x2, y2) = letterbox.to_original(b.x2, b.y2);
            RawDetection {
                class_id,
                score,
                bbox: BoundingBox {
                    x1: x1.clamp(0.0, max_x),
                    y1: y1.clamp(0.0, max_y),
                    x2: x2.clamp(0.0, max_x),
                    y2: y2.clamp(0.0, max_y),
                },
            }
        })
        .collect()
}

/// Greedy NMS over candidates sorted by descending score (torchvision's `nms`): a box is
/// suppressed by a kept box of the same class with IoU above `iou`. Returns kept indices.
fn nms(sorted: &[(u32, f32, BoundingBox)], iou: f32, max_detections: usize) -> Vec<usize> {
    let mut kept: Vec<usize> = Vec::new();
    let mut suppressed = vec![false; sorted.len()];
    for i in 0..sorted.len() {
        if suppressed[i] {
            continue;
        }
        kept.push(i);
        if kept.len() == max_detections {
            break;
        }
        let (class_i, _, box_i) = sorted[i];
        for j in i + 1..sorted.len() {
            if !suppressed[j] && sorted[j].0 == class_i && box_i.iou(&sorted[j].2) > iou {
                suppressed[j] = true;
            }
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a raw output with `anchors` columns from (cx, cy, w, h, scores).
    fn output(rows: &[(f32, f32, f32, f32, [f32; 2])]) -> Vec<f32> {
        let n = rows.len();
        let mut out = vec![0.0; 6 * n];
        for (a, (cx, cy, w, h, s)) in rows.iter().enumerate() {
            for (r, v) in [*cx, *cy, *w, *h, s[0], s[1]].into_iter().enumerate() {
                out[r * n + a] = v;
            }
        }
        out
    }

    #[test]
    fn filters_suppresses_per_class_and_maps_back() {
        let lb = Letterbox::new(200, 100, 64); // gain 0.32 on both axes, new 64x32, top 16
        let raw = output(&[
            (32.0, 32.0, 20.0, 10.0, [0.9, 0.1]),  // kept
            (33.0, 32.0, 20.0, 10.0, [0.8, 0.1]),  // same class, IoU > 0.7: suppressed
            (33.0, 32.0, 20.0, 10.0, [0.1, 0.85]), // other class: kept
            (10.0, 20.0, 4.0, 4.0, [0.2, 0.24]),   // below 0.25: dropped
        ]);
        let dets = postprocess(&raw, 4, 2, &lb, 200, 100, &PostprocessConfig::default());
        assert_eq!(dets.len(), 2);
        assert_eq!((dets[0].class_id, dets[0].score), (0, 0.9));
        assert_eq!(dets[1].class_id, 1);
        let b = dets[0].bbox;
        // x: (22 - 0) / 0.32 = 68.75 .. (42) / 0.32 = 131.25; y: (27 - 16) / 0.32 = 34.375
        assert!(
            (b.x1 - 68.75).abs() < 1e-3 && (b.x2 - 131.25).abs() < 1e-3,
            "{b:?}"
        );
        assert!(
            (b.y1 - 34.375).abs() < 1e-3 && (b.y2 - 65.625).abs() < 1e-3,
            "{b:?}"
        );
    }

    #[test]
    fn boxes_are_clipped_and_max_detections_holds() {
        let lb = Letterbox::new(64, 64, 64);
        let raw = output(&[
            (2.0, 2.0, 10.0, 10.0, [0.9, 0.0]),
            (40.0, 40.0, 10.0, 10.0, [0.8, 0.0]),
            (60.0, 60.0, 10.0, 10.0, [0.7, 0.0]),
        ]);
        let config = PostprocessConfig {
            max_detections: 2,
            ..PostprocessConfig::default()
        };
        let dets = postprocess(&raw, 3, 2, &lb, 64, 64, &config);
        assert_eq!(dets.len(), 2);
        assert_eq!((dets[0].bbox.x1, dets[0].bbox.y1), (0.0, 0.0));
    }
}
