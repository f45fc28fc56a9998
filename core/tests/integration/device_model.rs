//! The device format (gzipped NNEF tar made at publish time): same detections as the ONNX
//! model it came from, deterministic bytes, f16 within the download budget, typed errors for
//! damaged files.

use crate::common;

use std::fs;
use std::io::Write as _;

use common::fixture;
use omni_core::detect::device_model::{self, DevicePrecision, METADATA_PROPERTY};
use omni_core::detect::model_metadata::MetadataError;
use omni_core::detect::{
    DAMAGE_CLASSES, Detector, EdgeDetector, EdgeDetectorConfig, EdgeModel, ModelError,
};

fn onnx(name: &str) -> Vec<u8> {
    fs::read(fixture(&format!("models/{name}"))).expect("fixture model")
}

#[test]
fn float32_device_model_detects_exactly_what_its_onnx_model_detects() {
    for name in ["yolo11n-6cls-320-f32.onnx", "yolo11n-6cls-640-f32.onnx"] {
        let source = onnx(name);
        let export = device_model::export(&source, DevicePrecision::Float32).expect("export");
        assert!(device_model::is_device_model(&export.bytes));
        assert!(!device_model::is_device_model(&source));
        assert!(
            export.max_box_diff_px <= 0.01 && export.max_score_diff <= 1e-4,
            "{name}: {export:?}"
        );
        let config = EdgeDetectorConfig {
            postprocess: omni_core::detect::PostprocessConfig {
                confidence: 0.01,
                ..Default::default()
            },
            ..EdgeDetectorConfig::default()
        };
        let reference = EdgeDetector::from_bytes(&source, &config).expect("onnx");
        let device = EdgeDetector::from_bytes(&export.bytes, &config).expect("device model");
        assert_eq!(device.identity().name, reference.identity().name);
        assert_eq!(device.identity().version, reference.identity().version);
        assert_eq!(
            device.identity().sha256,
            common::sha256_hex(&export.bytes),
            "the identity names the file that runs"
        );
        assert_eq!(device.model().input_size(), reference.model().input_size());
        assert_eq!(device.model().classes(), DAMAGE_CLASSES);
        let mut compared = 0;
        for photo in crate::edge_detection::IMAGES {
            let bytes = fs::read(fixture(&format!("images/{photo}"))).expect("photo");
            let (a, b) = (
                reference.detect(&bytes).expect("onnx"),
                device.detect(&bytes).expect("device"),
            );
            assert_eq!(a.detections.len(), b.detections.len(), "{name} {photo}");
            for (x, y) in a.detections.iter().zip(&b.detections) {
                assert_eq!(x.class_id, y.class_id, "{name} {photo}");
                assert!((x.score - y.score).abs() <= 1e-4, "{name} {photo}");
                let (p, q) = (x.bbox, y.bbox);
                for d in [p.x1 - q.x1, p.y1 - q.y1, p.x2 - q.x2, p.y2 - q.y2] {
                    assert!(d.abs() <= 0.1, "{name} {photo}: {x:?} vs {y:?}");
                }
            }
            compared += a.detections.len();
        }
        assert!(compared > 0, "{name}: the photos gave boxes to compare");
    }
}

#[test]
fn export_is_deterministic_and_float16_halves_the_download() {
    let source = onnx("yolo11n-6cls-320-f32.onnx");
    let f32_a = device_model::export(&source, DevicePrecision::Float32).expect("export");
    let f32_b = device_model::export(&source, DevicePrecision::Float32).expect("export");
    assert_eq!(
        common::sha256_hex(&f32_a.bytes),
        common::sha256_hex(&f32_b.bytes),
        "same model, same bytes"
    );
    let f16 = device_model::export(&source, DevicePrecision::Float16).expect("export f16");
    assert!(
        f16.bytes.len() * 10 < f32_a.bytes.len() * 6,
        "f16 {} bytes vs f32 {}",
        f16.bytes.len(),
        f32_a.bytes.len()
    );
    assert!(
        f16.max_box_diff_px > 0.0 && f16.max_box_diff_px <= 2.0 && f16.max_score_diff <= 1e-2,
        "rounded weights move the outputs a little: {f16:?}"
    );
    let model = EdgeModel::from_bytes(&f16.bytes, Some(&DAMAGE_CLASSES), 1).expect("f16 loads");
    assert_eq!(model.input_size(), 320);
    assert_eq!(model.anchors(), 2100);
}

#[test]
fn damaged_or_foreign_device_models_are_refused_with_typed_errors() {
    let good = device_model::export(&onnx("yolo11n-6cls-320-f32.onnx"), DevicePrecision::Float32)
        .expect("export")
        .bytes;
    let truncated = EdgeModel::from_bytes(&good[..good.len() / 2], Some(&DAMAGE_CLASSES), 1);
    assert!(
        matches!(truncated, Err(ModelError::InvalidDeviceModel(_))),
        "{truncated:?}"
    );
    // One flipped byte in the compressed weights: gzip's CRC catches it (the whole stream is
    // read before the tar is).
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x40;
    let flipped = EdgeModel::from_bytes(&flipped, Some(&DAMAGE_CLASSES), 1);
    assert!(
        matches!(flipped, Err(ModelError::InvalidDeviceModel(_))),
        "{flipped:?}"
    );
    let mut garbage = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    garbage.write_all(b"not a tar at all").expect("gzip");
    let garbage = EdgeModel::from_bytes(&garbage.finish().expect("gzip"), None, 1);
    assert!(
        matches!(garbage, Err(ModelError::InvalidDeviceModel(_))),
        "{garbage:?}"
    );

    let three = device_model::export(&onnx("detect-3-classes.onnx"), DevicePrecision::Float32)
        .expect("a 3-class model exports")
        .bytes;
    let three = EdgeModel::from_bytes(&three, Some(&DAMAGE_CLASSES), 1);
    assert!(
        matches!(&three, Err(ModelError::ClassMismatch { found, .. }) if found.len() == 3),
        "{three:?}"
    );

    // A tar without our metadata (an NNEF model from elsewhere).
    let bare = bare_nnef_without_metadata();
    let bare = EdgeModel::from_bytes(&bare, Some(&DAMAGE_CLASSES), 1);
    assert!(
        matches!(
            bare,
            Err(ModelError::Metadata(MetadataError::Missing(
                METADATA_PROPERTY
            )))
        ),
        "{bare:?}"
    );
}

/// A valid NNEF tar of a one-op model, with no metadata property.
fn bare_nnef_without_metadata() -> Vec<u8> {
    use tract_nnef::prelude::*;
    let mut model = TypedModel::default();
    let input = model
        .add_source("input", f32::fact([1, 3, 32, 32]))
        .expect("source");
    model.select_output_outlets(&[input]).expect("outputs");
    tract_nnef::nnef()
        .write_to_tar(&model, Vec::new())
        .expect("write tar")
}
