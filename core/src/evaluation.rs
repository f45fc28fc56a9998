//! Accuracy of a detector on a YOLO-format validation set: mAP50 and mAP50-95 per class, as
//! Ultralytics' `val` computes them (`match_predictions`, `ap_per_class`, `compute_ap` with
//! 101-point interpolation), and the int8-vs-float gate the trainer's publish step applies.

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::detect::Detector;
use crate::detections::BoundingBox;

/// The IoU thresholds 0.50, 0.55, …, 0.95.
const IOU_THRESHOLDS: [f32; 10] = [0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95];

/// The most a device model's mAP50-95 may fall below its float ONNX model's (one point).
pub const DEVICE_MAX_MAP_DROP: f64 = 0.01;

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluationError {
    /// The data set layout or a file in it is unreadable.
    #[error("{path}: {reason}")]
    Dataset {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A label line is malformed.
    #[error("{path}:{line}: {reason}")]
    Label {
        /// The label file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The detector failed on an image.
    #[error("{path}: {reason}")]
    Detection {
        /// The image.
        path: PathBuf,
        /// The detector's error.
        reason: String,
    },
}

/// One ground-truth or predicted box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LabeledBox {
    /// Class id.
    pub class_id: u32,
    /// Box in image pixels.
    pub bbox: BoundingBox,
}

/// The predictions and ground truth of one image.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImageEvaluation {
    /// Ground truth.
    pub truth: Vec<LabeledBox>,
    /// Predictions with their scores.
    pub predictions: Vec<(LabeledBox, f32)>,
}

/// Average precision of one class.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassMetrics {
    /// Class id.
    pub class_id: u32,
    /// Class name.
    pub label: String,
    /// Ground-truth instances.
    pub instances: usize,
    /// AP at IoU 0.5.
    pub map50: f64,
    /// AP averaged over IoU 0.5–0.95.
    pub map50_95: f64,
}

/// Accuracy over a data set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    /// Images evaluated.
    pub images: usize,
    /// Ground-truth instances.
    pub instances: usize,
    /// Mean over classes present in the ground truth of AP at IoU 0.5.
    pub map50: f64,
    /// Mean over those classes of AP averaged over IoU 0.5–0.95.
    pub map50_95: f64,
    /// Per class (classes present in the ground truth).
    pub per_class: Vec<ClassMetrics>,
}

/// An image of a YOLO data set with its label file.
#[derive(Clone, Debug, PartialEq)]
pub struct LabeledImage {
    /// The image.
    pub image: PathBuf,
    /// Its label file (`labels/<stem>.txt`; absent means no objects).
    pub labels: PathBuf,
}

/// Lists the images of a YOLO split: `dir/images/*` with `dir/labels/<stem>.txt`. `dir` may
/// be the split itself or a data set root holding `val/`.
pub fn list_split(dir: &Path) -> Result<Vec<LabeledImage>, EvaluationError> {
    let split = if dir.join("images").is_dir() {
        dir.to_owned()
    } else {
        dir.join("val")
    };
    let images_dir = split.join("images");
    let entries = fs::read_dir(&images_dir).map_err(|e| EvaluationError::Dataset {
        path: images_dir.clone(),
        reason: format!("no images directory ({e})"),
    })?;
    let mut images = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| EvaluationError::Dataset {
                path: images_dir.clone(),
                reason: e.to_string(),
            })?
            .path();
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if !matches!(ext.as_deref(), Some("jpg" | "jpeg" | "png")) {
            continue;
        }
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let labels = split.join("labels").join(format!("{stem}.txt"));
        images.push(LabeledImage {
            image: path,
            labels,
        });
    }
    images.sort_by(|a, b| a.image.cmp(&b.image));
    Ok(images)
}

/// Reads a YOLO label file (`class cx cy w h`, normalised) into pixel boxes for an image of
/// `width`×`height`. A missing file means no objects.
pub fn read_labels(
    path: &Path,
    width: u32,
    height: u32,
    classes: usize,
) -> Result<Vec<LabeledBox>, EvaluationError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(EvaluationError::Dataset {
                path: path.to_owned(),
                reason: e.to_string(),
            });
        }
    };
    let (w, h) = (width as f32, height as f32);
    let mut boxes = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let bad = |reason: String| EvaluationError::Label {
            path: path.to_owned(),
            line: i + 1,
            reason,
        };
        if fields.len() != 5 {
            return Err(bad(format!("expected 5 fields, got {}", fields.len())));
        }
        let class_id: u32 = fields[0]
            .parse()
            .map_err(|_| bad(format!("class {:?} is not an integer", fields[0])))?;
        if class_id as usize >= classes {
            return Err(bad(format!("class {class_id} out of range 0..{classes}")));
        }
        let mut v = [0f32; 4];
        for (slot, field) in v.iter_mut().zip(&fields[1..]) {
            *slot = field
                .parse()
                .ok()
                .filter(|x: &f32| x.is_finite())
                .ok_or_else(|| bad(format!("{field:?} is not a number")))?;
        }
        let [cx, cy, bw, bh] = v;
        boxes.push(LabeledBox {
            class_id,
            bbox: BoundingBox {
                x1: (cx - bw / 2.0) * w,
                y1: (cy - bh / 2.0) * h,
                x2: (cx + bw / 2.0) * w,
                y2: (cy + bh / 2.0) * h,
            },
        });
    }
    Ok(boxes)
}

/// Runs `detector` over every image of the split at `dir` and scores it. For mAP the
/// detector should use a low confidence threshold (Ultralytics' `val` uses 0.001).
pub fn evaluate(
    detector: &dyn Detector,
    dir: &Path,
    class_names: &[String],
    mut progress: impl FnMut(usize, usize),
) -> Result<Metrics, EvaluationError> {
    let images = list_split(dir)?;
    let mut evaluations = Vec::with_capacity(images.len());
    for (i, item) in images.iter().enumerate() {
        let bytes = fs::read(&item.image).map_err(|e| EvaluationError::Dataset {
            path: item.image.clone(),
            reason: e.to_string(),
        })?;
        let detections = detector
            .detect(&bytes)
            .map_err(|e| EvaluationError::Detection {
                path: item.image.clone(),
                reason: e.to_string(),
            })?;
        let truth = read_labels(
            &item.labels,
            detections.image_width,
            detections.image_height,
            class_names.len(),
        )?;
        let predictions = detections
            .detections
            .iter()
            .map(|d| {
                (
                    LabeledBox {
                        class_id: d.class_id,
                        bbox: d.bbox,
                    },
                    d.score,
                )
            })
            .collect();
        evaluations.push(ImageEvaluation { truth, predictions });
        progress(i + 1, images.len());
    }
    Ok(score(&evaluations, class_names))
}

/// mAP over already-collected predictions and ground truth.
pub fn score(images: &[ImageEvaluation], class_names: &[String]) -> Metrics {
    // (score, class, true positive at each IoU threshold) for every prediction.
    let mut stats: Vec<(f32, u32, [bool; 10])> = Vec::new();
    let mut instances = vec![0usize; class_names.len()];
    for image in images {
        for t in &image.truth {
            if let Some(n) = instances.get_mut(t.class_id as usize) {
                *n += 1;
            }
        }
        let tp = match_predictions(&image.truth, &image.predictions);
        for ((p, s), tp) in image.predictions.iter().zip(tp) {
            stats.push((*s, p.class_id, tp));
        }
    }
    // Highest confidence first; a stable sort keeps image order on ties.
    stats.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut per_class = Vec::new();
    for (class_id, &n_truth) in instances.iter().enumerate() {
        if n_truth == 0 {
            continue;
        }
        let class_stats: Vec<&[bool; 10]> = stats
            .iter()
            .filter(|s| s.1 as usize == class_id)
            .map(|s| &s.2)
            .collect();
        let mut ap = [0f64; 10];
        if !class_stats.is_empty() {
            for (j, slot) in ap.iter_mut().enumerate() {
                let mut tpc = 0f64;
                let mut recall = Vec::with_capacity(class_stats.len());
                let mut precision = Vec::with_capacity(class_stats.len());
                for (k, tp) in class_stats.iter().enumerate() {
                    if tp[j] {
                        tpc += 1.0;
                    }
                    recall.push(tpc / (n_truth as f64 + 1e-16));
                    precision.push(tpc / (k as f64 + 1.0));
                }
                *slot = average_precision(&recall, &precision);
            }
        }
        per_class.push(ClassMetrics {
            class_id: class_id as u32,
            label: class_names[class_id].clone(),
            instances: n_truth,
            map50: ap[0],
            map50_95: ap.iter().sum::<f64>() / ap.len() as f64,
        });
    }
    let mean = |f: fn(&ClassMetrics) -> f64| {
        if per_class.is_empty() {
            0.0
        } else {
            per_class.iter().map(f).sum::<f64>() / per_class.len() as f64
        }
    };
    Metrics {
        images: images.len(),
        instances: instances.iter().sum(),
        map50: mean(|c| c.map50),
        map50_95: mean(|c| c.map50_95),
        per_class,
    }
}

/// Ultralytics 8.4's `match_predictions` (greedy, COCO-style): predictions in descending
/// score order each claim, at every IoU threshold, the best-overlapping truth of the same
/// class not yet claimed at that threshold, if the overlap reaches the threshold.
fn match_predictions(truth: &[LabeledBox], predictions: &[(LabeledBox, f32)]) -> Vec<[bool; 10]> {
    let mut tp = vec![[false; 10]; predictions.len()];
    let mut order: Vec<usize> = (0..predictions.len()).collect();
    order.sort_by(|&a, &b| predictions[b].1.total_cmp(&predictions[a].1));
    let mut claimed = vec![[false; 10]; truth.len()];
    for pi in order {
        let (p, _) = &predictions[pi];
        let ious: Vec<f32> = truth
            .iter()
            .map(|t| {
                if t.class_id == p.class_id {
                    t.bbox.iou(&p.bbox)
                } else {
                    0.0
                }
            })
            .collect();
        for (j, &threshold) in IOU_THRESHOLDS.iter().enumerate() {
            // First maximum among unclaimed truths, as numpy's argmax.
            let best = ious
                .iter()
                .enumerate()
                .filter(|(ti, _)| !claimed[*ti][j])
                .fold(None, |best: Option<(usize, f32)>, (ti, &v)| match best {
                    Some((_, bv)) if bv >= v => best,
                    _ => Some((ti, v)),
                });
            if let Some((ti, v)) = best
                && v >= threshold
            {
                tp[pi][j] = true;
                claimed[ti][j] = true;
            }
        }
    }
    tp
}

/// Ultralytics' `compute_ap`: precision envelope, then the trapezoidal integral of the
/// envelope interpolated at 101 recall points.
fn average_precision(recall: &[f64], precision: &[f64]) -> f64 {
    let mut mrec = Vec::with_capacity(recall.len() + 2);
    mrec.push(0.0);
    mrec.extend_from_slice(recall);
    mrec.push(1.0);
    let mut mpre = Vec::with_capacity(precision.len() + 2);
    mpre.push(1.0);
    mpre.extend_from_slice(precision);
    mpre.push(0.0);
    for i in (0..mpre.len() - 1).rev() {
        mpre[i] = mpre[i].max(mpre[i + 1]);
    }
    let xs: Vec<f64> = (0..101).map(|i| f64::from(i) / 100.0).collect();
    let ys: Vec<f64> = xs.iter().map(|&x| interp(x, &mrec, &mpre)).collect();
    xs.windows(2)
        .zip(ys.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}

/// `numpy.interp`: linear interpolation of `x` over increasing `xp`, clamped at the ends.
/// With repeated `xp` values numpy takes the rightmost segment's left value, also at
/// `x == xp[0]` (only `x < xp[0]` returns `fp[0]`); so does this.
fn interp(x: f64, xp: &[f64], fp: &[f64]) -> f64 {
    if x < xp[0] {
        return fp[0];
    }
    let last = xp.len() - 1;
    if x >= xp[last] {
        return fp[last];
    }
    // Index of the last xp <= x.
    let i = xp.partition_point(|&v| v <= x) - 1;
    let (x0, x1) = (xp[i], xp[i + 1]);
    if x1 == x0 {
        return fp[i];
    }
    fp[i] + (fp[i + 1] - fp[i]) * (x - x0) / (x1 - x0)
}

/// Why a device model (int8, or the f16/f32 device format) fails the publish gate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "{precision} mAP50-95 {device:.4} is more than {max_drop} below the float model's {float:.4} (drop {drop:.4})"
)]
pub struct GateFailure {
    /// What the device model is (`int8`, `float16`, …).
    pub precision: String,
    /// Float model mAP50-95.
    pub float: f64,
    /// Device model mAP50-95.
    pub device: f64,
    /// float − device.
    pub drop: f64,
    /// The allowed drop.
    pub max_drop: f64,
}

/// The publish gate: the device model's mAP50-95 *in our pipeline* must be within
/// [`DEVICE_MAX_MAP_DROP`] of the float ONNX model's.
pub fn device_gate(precision: &str, float: &Metrics, device: &Metrics) -> Result<(), GateFailure> {
    let drop = float.map50_95 - device.map50_95;
    if drop > DEVICE_MAX_MAP_DROP {
        Err(GateFailure {
            precision: precision.to_owned(),
            float: float.map50_95,
            device: device.map50_95,
            drop,
            max_drop: DEVICE_MAX_MAP_DROP,
        })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(class_id: u32, x1: f32, y1: f32, x2: f32, y2: f32) -> LabeledBox {
        LabeledBox {
            class_id,
            bbox: BoundingBox { x1, y1, x2, y2 },
        }
    }

    fn names() -> Vec<String> {
        vec!["a".into(), "b".into()]
    }

    #[test]
    fn perfect_predictions_score_one() {
        let image = ImageEvaluation {
            truth: vec![b(0, 0.0, 0.0, 10.0, 10.0), b(1, 20.0, 20.0, 40.0, 40.0)],
            predictions: vec![
                (b(0, 0.0, 0.0, 10.0, 10.0), 0.9),
                (b(1, 20.0, 20.0, 40.0, 40.0), 0.8),
            ],
        };
        let m = score(&[image], &names());
        // Ultralytics' ceiling: the envelope drops to 0 at recall 1, halving the last
        // trapezoid of the 101-point integral.
        assert!((m.map50 - 0.995).abs() < 1e-9, "{m:?}");
        assert!((m.map50_95 - 0.995).abs() < 1e-9, "{m:?}");
    }

    #[test]
    fn hand_computed_case() {
        // Class 0: two truths. Predictions by score: TP (IoU 1), FP (no truth), TP at
        // IoU 0.6 only (box 10x10 vs 10x6). At IoU 0.5..0.6: recall [.5, .5, 1], precision
        // [1, .5, 2/3]; from 0.65 on: recall [.5, .5, .5], precision [1, .5, 1/3]. The
        // expected APs were computed with numpy's interp/trapezoid, as Ultralytics'
        // compute_ap does: 0.828333… and 0.58.
        let image = ImageEvaluation {
            truth: vec![b(0, 0.0, 0.0, 10.0, 10.0), b(0, 100.0, 100.0, 110.0, 110.0)],
            predictions: vec![
                (b(0, 0.0, 0.0, 10.0, 10.0), 0.9),
                (b(0, 50.0, 50.0, 60.0, 60.0), 0.8),
                (b(0, 100.0, 100.0, 110.0, 106.0), 0.7),
            ],
        };
        let m = score(&[image], &names());
        let (ap50, ap_high) = (0.828_333_333_333_333_1, 0.579_999_999_999_999_8);
        assert!((m.map50 - ap50).abs() < 1e-9, "{} vs {ap50}", m.map50);
        let expected = (3.0 * ap50 + 7.0 * ap_high) / 10.0;
        assert!(
            (m.map50_95 - expected).abs() < 1e-9,
            "{} vs {expected}",
            m.map50_95
        );
        assert_eq!(
            m.per_class.len(),
            1,
            "class 1 has no truth and does not count"
        );
        assert_eq!(m.instances, 2);
    }

    #[test]
    fn wrong_class_is_a_false_positive_and_truth_is_matched_once() {
        let image = ImageEvaluation {
            truth: vec![b(0, 0.0, 0.0, 10.0, 10.0)],
            predictions: vec![
                (b(1, 0.0, 0.0, 10.0, 10.0), 0.95),
                (b(0, 0.0, 0.0, 10.0, 10.0), 0.9),
                (b(0, 0.0, 0.0, 10.0, 9.0), 0.85),
            ],
        };
        let tp = match_predictions(&image.truth, &image.predictions);
        assert_eq!(tp[0], [false; 10]);
        assert_eq!(tp[1], [true; 10]);
        assert_eq!(tp[2], [false; 10], "truth already matched");
    }

    #[test]
    fn only_false_positives_score_zero() {
        // numpy.interp at recall 0 takes the rightmost of the repeated zeros (precision 0),
        // so a class whose predictions are all wrong has AP 0, as in Ultralytics.
        let image = ImageEvaluation {
            truth: vec![b(0, 0.0, 0.0, 10.0, 10.0)],
            predictions: vec![(b(0, 50.0, 50.0, 60.0, 60.0), 0.9)],
        };
        let m = score(&[image], &names());
        assert_eq!((m.map50, m.map50_95), (0.0, 0.0));
    }

    #[test]
    fn gate_allows_one_point() {
        let metrics = |map50_95| Metrics {
            images: 1,
            instances: 1,
            map50: 0.0,
            map50_95,
            per_class: Vec::new(),
        };
        assert!(device_gate("int8", &metrics(0.60), &metrics(0.595)).is_ok());
        assert!(device_gate("float16", &metrics(0.60), &metrics(0.62)).is_ok());
        let err = device_gate("int8", &metrics(0.60), &metrics(0.58)).expect_err("drop 0.02");
        assert!(err.to_string().starts_with("int8 mAP50-95 0.5800"), "{err}");
        assert!((err.drop - 0.02).abs() < 1e-9);
    }

    #[test]
    fn labels_parse_and_bad_lines_name_file_and_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.txt");
        fs::write(&path, "0 0.5 0.5 0.2 0.4\n\n1 0.1 0.1 0.1 0.1\n").expect("write");
        let boxes = read_labels(&path, 100, 50, 2).expect("parse");
        assert_eq!(boxes.len(), 2);
        let b0 = boxes[0].bbox;
        for (got, want) in [(b0.x1, 40.0), (b0.y1, 15.0), (b0.x2, 60.0), (b0.y2, 35.0)] {
            assert!((got - want).abs() < 1e-4, "{b0:?}");
        }
        fs::write(&path, "0 0.5 0.5 0.2 0.4\n7 0.5 0.5 0.1 0.1\n").expect("write");
        let err = read_labels(&path, 100, 50, 6).expect_err("class 7 of 6");
        assert!(
            matches!(err, EvaluationError::Label { line: 2, .. }),
            "{err}"
        );
        fs::write(&path, "0 0.5 nan 0.2 0.4\n").expect("write");
        assert!(read_labels(&path, 100, 50, 6).is_err());
        assert!(
            read_labels(&dir.path().join("missing.txt"), 1, 1, 6)
                .expect("missing = none")
                .is_empty()
        );
    }
}
