//! The bundled demo model's accuracy gate, in our own pipeline, on a freshly generated
//! held-out set (a seed the training never saw): mAP50 ≥ 0.7, and the bundled manifest's
//! numbers are what the model scores. Needs the test venv (numpy, Pillow, OpenCV) for the
//! generator.

use crate::common;

use omni_core::bundled_model;
use omni_core::detect::EdgeDetectorConfig;

#[test]
fn bundled_demo_model_reaches_map50_of_0_7_on_held_out_generated_data() {
    let Some(python) = common::test_python() else {
        return;
    };
    let data = common::generate_yard_dataset(&python, 1001, 1, 100);
    let detector = bundled_model::detector(&EdgeDetectorConfig::default()).expect("bundled");
    let metrics = common::evaluate_like_ultralytics_val(detector, data.path());
    eprintln!(
        "held-out: mAP50 {:.4}, mAP50-95 {:.4}",
        metrics.map50, metrics.map50_95
    );
    assert!(
        metrics.map50 >= 0.7,
        "demo model mAP50 {} < 0.7",
        metrics.map50
    );
}
