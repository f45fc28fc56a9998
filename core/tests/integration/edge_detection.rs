//! The edge pipeline against its references: Ultralytics' letterbox, onnxruntime on the same
//! model and tensor, and the store's handling of results and unreadable photos.

use crate::common;

use std::fs;

use common::fixture;
use omni_core::detect::letterbox::{letterbox_rgb, letterbox_tensor};
use omni_core::detect::postprocess::{PostprocessConfig, postprocess};
use omni_core::detect::{
    DAMAGE_CLASSES, Detector, EdgeDetector, EdgeDetectorConfig, EdgeModel, ModelError,
};
use omni_core::{DetectOutcome, Error};
use omni_photo::decode::decode_oriented;

/// The fixture photos: sizes, aspect ratios, PNG, EXIF orientations.
pub(crate) const IMAGES: [&str; 8] = [
    "yard-1001x667.jpg",
    "yard-480x853.jpg",
    "yard-333x777.png",
    "yard-640x640.jpg",
    "yard-1280x720.jpg",
    "exif-orient3-640x480.jpg",
    "exif-orient6-640x480.jpg",
    "exif-orient8-640x480.jpg",
];

fn model(name: &str) -> EdgeModel {
    EdgeModel::from_path(
        &fixture(&format!("models/{name}")),
        Some(&DAMAGE_CLASSES),
        1,
    )
    .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn fixture_models_load_with_their_metadata() {
    for (name, size, anchors) in [
        ("yolo11n-6cls-640-f32.onnx", 640, 8400),
        ("yolo11n-6cls-320-f32.onnx", 320, 2100),
        ("yolo11n-6cls-640-int8.onnx", 640, 8400),
        ("yolo11n-6cls-320-int8.onnx", 320, 2100),
    ] {
        let m = model(name);
        assert_eq!(m.input_size(), size, "{name}");
        assert_eq!(m.anchors(), anchors, "{name}");
        assert_eq!(m.classes(), DAMAGE_CLASSES, "{name}");
        assert_eq!(m.identity().name, "yolo11n-fixture");
        let bytes = fs::read(fixture(&format!("models/{name}"))).expect("read");
        assert_eq!(m.identity().sha256, common::sha256_hex(&bytes));
    }
}

#[test]
fn bad_models_are_refused_with_typed_errors() {
    let good = fs::read(fixture("models/yolo11n-6cls-320-f32.onnx")).expect("read");
    let truncated = EdgeModel::from_bytes(&good[..good.len() / 2], Some(&DAMAGE_CLASSES), 1);
    assert!(
        matches!(truncated, Err(ModelError::InvalidOnnx(_))),
        "{truncated:?}"
    );
    let garbage = EdgeModel::from_bytes(b"\x00\x01not a model at all", Some(&DAMAGE_CLASSES), 1);
    assert!(garbage.is_err(), "garbage refused");
    let classify = EdgeModel::from_path(
        &fixture("models/not-detect-classify.onnx"),
        Some(&DAMAGE_CLASSES),
        1,
    );
    assert!(
        matches!(&classify, Err(ModelError::NotDetect { task }) if task == "classify"),
        "{classify:?}"
    );
    let three = EdgeModel::from_path(
        &fixture("models/detect-3-classes.onnx"),
        Some(&DAMAGE_CLASSES),
        1,
    );
    assert!(
        matches!(&three, Err(ModelError::ClassMismatch { found, .. }) if found.len() == 3),
        "{three:?}"
    );
    let missing = EdgeModel::from_path(&fixture("models/nope.onnx"), None, 1);
    assert!(matches!(missing, Err(ModelError::Io { .. })));
}

#[test]
fn letterbox_matches_ultralytics() {
    for image_name in IMAGES {
        let bytes = fs::read(fixture(&format!("images/{image_name}"))).expect("image");
        let image = decode_oriented(&bytes).expect("decode");
        let stem = image_name.rsplit_once('.').expect("ext").0;
        for size in [640u32, 320] {
            let meta: serde_json::Value = serde_json::from_slice(
                &fs::read(fixture(&format!("letterbox/{stem}.{size}.json"))).expect("json"),
            )
            .expect("parse");
            assert_eq!(
                image.width(),
                meta["orig_w"].as_u64().expect("w") as u32,
                "{stem}: oriented width"
            );
            assert_eq!(
                image.height(),
                meta["orig_h"].as_u64().expect("h") as u32,
                "{stem}: oriented height"
            );
            let (ours, lb) = letterbox_rgb(&image, size);
            for (ours, key) in [
                (lb.new_width, "new_unpad_w"),
                (lb.new_height, "new_unpad_h"),
                (lb.left, "left"),
                (lb.top, "top"),
            ] {
                assert_eq!(
                    u64::from(ours),
                    meta[key].as_u64().expect(key),
                    "{stem}: {key}"
                );
            }
            let reference = image::open(fixture(&format!("letterbox/{stem}.{size}.png")))
                .expect("reference png")
                .to_rgb8();
            assert_eq!(reference.dimensions(), (size, size));
            let diffs: Vec<u32> = ours
                .as_raw()
                .iter()
                .zip(reference.as_raw())
                .map(|(a, b)| u32::from(a.abs_diff(*b)))
                .collect();
            let mean = diffs.iter().sum::<u32>() as f64 / diffs.len() as f64;
            let max = diffs.iter().copied().max().unwrap_or(0);
            eprintln!("{stem} @{size}: letterbox mean |diff| {mean:.3}, max {max}");
            // Same geometry and sampling; the JPEG decoders (zune-jpeg vs libjpeg-turbo) and
            // OpenCV's fixed-point interpolation differ by a few levels at most.
            assert!(mean < 1.0, "{stem} @{size}: mean diff {mean}");
            assert!(max <= 24, "{stem} @{size}: max diff {max}");
        }
    }
}

#[test]
fn raw_outputs_and_detections_match_onnxruntime() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    for (model_name, size) in [
        ("yolo11n-6cls-640-f32.onnx", 640u32),
        ("yolo11n-6cls-320-f32.onnx", 320),
    ] {
        let m = model(model_name);
        let model_path = fixture(&format!("models/{model_name}"));
        let mut compared = 0;
        for image_name in IMAGES {
            let bytes = fs::read(fixture(&format!("images/{image_name}"))).expect("image");
            let image = decode_oriented(&bytes).expect("decode");
            let (tensor, lb) = letterbox_tensor(&image, size);
            let input = dir.path().join("in.bin");
            let out = dir.path().join("out.bin");
            common::write_f32(&input, &tensor);
            common::run_python(
                &python,
                "tools/reference/ort_run.py",
                &[
                    "--model",
                    model_path.to_str().expect("utf-8"),
                    "--input",
                    input.to_str().expect("utf-8"),
                    "--shape",
                    &format!("1,3,{size},{size}"),
                    "--out",
                    out.to_str().expect("utf-8"),
                ],
            );
            let reference = common::read_f32(&out);
            let ours = m.run(tensor).expect("tract run");
            assert_eq!(ours.len(), reference.len());
            let anchors = m.anchors();
            let (mut box_diff, mut score_diff) = (0f32, 0f32);
            for (i, (a, b)) in ours.iter().zip(&reference).enumerate() {
                let d = (a - b).abs();
                if i < 4 * anchors {
                    box_diff = box_diff.max(d);
                } else {
                    score_diff = score_diff.max(d);
                }
            }
            eprintln!(
                "{model_name} {image_name}: max |box diff| {box_diff:.4} px, max |score diff| {score_diff:.2e}"
            );
            assert!(box_diff <= 0.1, "{image_name}: box diff {box_diff}");
            assert!(score_diff <= 1e-3, "{image_name}: score diff {score_diff}");

            // After NMS: our postprocess on our output vs the numpy port of Ultralytics'
            // non_max_suppression on onnxruntime's output. A low threshold gives many boxes.
            let config = PostprocessConfig {
                confidence: 0.01,
                ..PostprocessConfig::default()
            };
            let (w, h) = image.dimensions();
            let ours = postprocess(&ours, anchors, DAMAGE_CLASSES.len(), &lb, w, h, &config);
            let theirs: serde_json::Value = serde_json::from_str(&common::run_python(
                &python,
                "tools/reference/ort_postprocess.py",
                &[
                    "--output",
                    out.to_str().expect("utf-8"),
                    "--shape",
                    &format!("1,10,{anchors}"),
                    "--orig-size",
                    &format!("{w},{h}"),
                    "--imgsz",
                    &size.to_string(),
                    "--conf",
                    "0.01",
                ],
            ))
            .expect("json");
            let theirs = theirs["detections"].as_array().expect("detections");
            // Detections whose score sits within 1e-3 of the threshold may flip either way.
            let near_edge = |s: f32| (s - 0.01).abs() <= 1e-3;
            let ours_kept: Vec<_> = ours.iter().filter(|d| !near_edge(d.score)).collect();
            let theirs_kept: Vec<_> = theirs
                .iter()
                .filter(|d| !near_edge(d["score"].as_f64().expect("score") as f32))
                .collect();
            assert_eq!(
                ours_kept.len(),
                theirs_kept.len(),
                "{model_name} {image_name}: detection count"
            );
            // Pair each of ours with an unused reference detection of the same class, best
            // IoU first (near-equal scores may sort either way).
            let mut used = vec![false; theirs_kept.len()];
            for o in &ours_kept {
                let best = theirs_kept
                    .iter()
                    .enumerate()
                    .filter(|(i, t)| {
                        !used[*i] && t["class_id"].as_u64() == Some(u64::from(o.class_id))
                    })
                    .map(|(i, t)| {
                        let xyxy: Vec<f32> = t["xyxy"]
                            .as_array()
                            .expect("xyxy")
                            .iter()
                            .map(|v| v.as_f64().expect("f") as f32)
                            .collect();
                        let tb = omni_core::BoundingBox {
                            x1: xyxy[0],
                            y1: xyxy[1],
                            x2: xyxy[2],
                            y2: xyxy[3],
                        };
                        (
                            i,
                            o.bbox.iou(&tb),
                            t["score"].as_f64().expect("score") as f32,
                        )
                    })
                    .max_by(|a, b| a.1.total_cmp(&b.1));
                let (i, iou, score) = best
                    .unwrap_or_else(|| panic!("{model_name} {image_name}: no reference for {o:?}"));
                used[i] = true;
                assert!(
                    iou >= 0.99,
                    "{model_name} {image_name}: IoU {iou} for {o:?}"
                );
                assert!(
                    (o.score - score).abs() <= 1e-3,
                    "{image_name}: score {} vs {score}",
                    o.score
                );
            }
            compared += ours_kept.len();
        }
        assert!(compared > 0, "{model_name}: some detections were compared");
    }
}

fn detector(name: &str) -> EdgeDetector {
    EdgeDetector::from_path(
        &fixture(&format!("models/{name}")),
        &EdgeDetectorConfig::default(),
    )
    .expect("detector")
}

#[test]
fn edge_results_are_stored_once_and_unreadable_photos_are_marked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector = common::open_inspector(dir.path());
    let inspection = common::create_inspection(&inspector, "CSQU3054383");
    let good = fs::read(fixture("images/exif-orient6-640x480.jpg")).expect("image");
    let photo = common::add_whole_photo(&inspector, inspection.id, &good).expect("add");
    assert_eq!(photo.orientation, 6);
    let full = common::jpeg(640, 480, 5);
    let truncated = common::add_whole_photo(&inspector, inspection.id, &full[..full.len() / 4])
        .expect("truncated JPEG kept");

    let edge = detector("yolo11n-6cls-320-f32.onnx");
    let sha = edge.identity().sha256.clone();
    assert_eq!(
        inspector
            .pending_detection(&sha, 10)
            .expect("pending")
            .len(),
        2
    );

    let DetectOutcome::Detected(result) = inspector.detect_photo(&edge, photo.id).expect("detect")
    else {
        panic!("expected a result");
    };
    // Orientation 6 rotates by 90°: boxes refer to the oriented (swapped) size.
    assert_eq!(
        (
            result.detections.image_width,
            result.detections.image_height
        ),
        (photo.height, photo.width)
    );
    assert_eq!(
        inspector.detect_photo(&edge, photo.id).expect("again"),
        DetectOutcome::AlreadyDone
    );
    let outcome = inspector
        .detect_photo(&edge, truncated.id)
        .expect("truncated");
    let DetectOutcome::Unreadable { reason } = outcome else {
        panic!("truncated JPEG should be unreadable, got {outcome:?}");
    };
    assert!(!reason.is_empty());
    assert!(
        inspector
            .pending_detection(&sha, 10)
            .expect("pending")
            .is_empty(),
        "never retried"
    );

    let detail = inspector.inspection(inspection.id).expect("detail");
    let stored = &detail.photos[0].results;
    assert_eq!(stored.len(), 1, "one result per model");
    assert_eq!(stored[0].detections, result.detections);
    assert_eq!(
        detail.photos[1].photo.unreadable_reason.as_deref(),
        Some(reason.as_str())
    );

    // A second model adds its own result beside the first.
    let other = detector("yolo11n-6cls-320-int8.onnx");
    assert!(matches!(
        inspector.detect_photo(&other, photo.id).expect("int8"),
        DetectOutcome::Detected(_)
    ));
    assert_eq!(
        inspector.inspection(inspection.id).expect("detail").photos[0]
            .results
            .len(),
        2
    );
    assert!(matches!(
        inspector.detect_photo(&edge, omni_core::PhotoId::new()),
        Err(Error::PhotoNotFound(_))
    ));
    assert_eq!(inspector.integrity_check().expect("check"), vec!["ok"]);
}
