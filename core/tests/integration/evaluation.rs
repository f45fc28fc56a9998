//! The mAP evaluator against Ultralytics' own `val` on the same model and data set. It needs
//! the models venv (torch and Ultralytics, ~6 GB: `OMNI_MODELS_PYTHON`, or `.venv-models`
//! from `tools/models/build.sh`), which the README's test command does not install: ignored
//! there (listed as such), run by `bash scripts/test-training.sh`, and failing where the venv
//! is missing. The hand-computed cases in `src/evaluation.rs` run always.

use crate::common;

use std::path::{Path, PathBuf};

use omni_core::detect::{EdgeDetector, EdgeDetectorConfig};

fn models_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::env::var_os("OMNI_MODELS_PYTHON")
        .map(PathBuf::from)
        .or_else(|| Some(root.join(".venv-models/bin/python")))
        .filter(|p| p.exists())
}

#[test]
#[ignore = "needs the models venv (Ultralytics, ~6 GB): bash scripts/test-training.sh runs it"]
fn agrees_with_ultralytics_val_within_a_hundredth() {
    let python = models_python().expect(
        "the models venv with Ultralytics: set OMNI_MODELS_PYTHON, or make .venv-models \
         (bash scripts/test-training.sh does)",
    );
    let data = common::generate_yard_dataset(&python, 7, 4, 40);
    let data_dir = data.path().to_str().expect("utf-8");
    let model = common::fixture("models/yolo11n-6cls-320-f32.onnx");
    let stdout = common::run_python(
        &python,
        "tools/reference/ultralytics_val.py",
        &[
            "--model",
            model.to_str().expect("utf-8"),
            "--data",
            data_dir,
            "--imgsz",
            "320",
        ],
    );
    // Ultralytics prints its own progress to stdout too: the JSON is the last line.
    let last = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let theirs: serde_json::Value = serde_json::from_str(last).expect("json");
    let detector = EdgeDetector::from_path(&model, &EdgeDetectorConfig::default()).expect("model");
    let ours = common::evaluate_like_ultralytics_val(detector, data.path());
    let (t50, t5095) = (
        theirs["map50"].as_f64().expect("map50"),
        theirs["map50_95"].as_f64().expect("map50_95"),
    );
    eprintln!(
        "ours mAP50 {:.4} mAP50-95 {:.4}; Ultralytics {t50:.4} {t5095:.4}",
        ours.map50, ours.map50_95
    );
    assert!(
        (ours.map50 - t50).abs() <= 0.01,
        "mAP50 {} vs {t50}",
        ours.map50
    );
    assert!(
        (ours.map50_95 - t5095).abs() <= 0.01,
        "mAP50-95 {} vs {t5095}",
        ours.map50_95
    );
}
