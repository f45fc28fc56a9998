//! Helpers of the core's integration tests; the ones the crates share come from `omni_e2e`.

/// Generated test photos, the test venv's Python, the shared fixtures.
pub use omni_e2e::{core_fixture as fixture, jpeg, png, sha256_hex, test_python};

use omni_core::detect::{EdgeDetector, PostprocessConfig};
use omni_core::evaluation;
use omni_core::{
    ContainerNumber, Face, Inspection, InspectionId, Inspector, InspectorConfig, NewInspection,
    Photo,
};

/// Opens an inspector over `dir` with the default configuration.
pub fn open_inspector(dir: &std::path::Path) -> Inspector {
    Inspector::open(dir, InspectorConfig::default()).expect("open inspector")
}

/// A new inspection of container `number` (a valid ISO 6346 number), nothing else set.
pub fn new_inspection(number: &str) -> NewInspection {
    NewInspection::new(ContainerNumber::parse(number).expect("valid container number"))
}

/// Creates an inspection of container `number` in `inspector`.
pub fn create_inspection(inspector: &Inspector, number: &str) -> Inspection {
    inspector
        .create_inspection(new_inspection(number))
        .expect("create inspection")
}

/// Adds `bytes` to `inspection` as a photo of the whole container, taken now: the test
/// checks the answer (a photo, or the error it expects).
pub fn add_whole_photo(
    inspector: &Inspector,
    inspection: InspectionId,
    bytes: &[u8],
) -> omni_core::Result<Photo> {
    inspector.add_photo(inspection, bytes, std::time::SystemTime::now(), Face::Whole)
}

/// Runs a script under `tools/` with the test venv's Python; returns its stdout.
pub fn run_python(python: &std::path::Path, script: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(python)
        .arg(omni_e2e::repo_path(script))
        .args(args)
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// Generates a yard data set with `tools/datagen/generate_yard_dataset.py` into a fresh
/// temporary directory: `train` and `val` images drawn from `seed`.
pub fn generate_yard_dataset(
    python: &std::path::Path,
    seed: u32,
    train: u32,
    val: u32,
) -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("tempdir");
    let [seed, train, val] = [seed, train, val].map(|n| n.to_string());
    run_python(
        python,
        "tools/datagen/generate_yard_dataset.py",
        &[
            "--out",
            data.path().to_str().expect("utf-8"),
            "--seed",
            &seed,
            "--train",
            &train,
            "--val",
            &val,
        ],
    );
    data
}

/// Scores `detector` on the data set at `data` the way Ultralytics' `val` does (its
/// post-processing, the model's own classes).
pub fn evaluate_like_ultralytics_val(
    mut detector: EdgeDetector,
    data: &std::path::Path,
) -> evaluation::Metrics {
    detector.set_postprocess(PostprocessConfig::ultralytics_val());
    let classes = detector.model().classes().to_vec();
    evaluation::evaluate(&detector, data, &classes, |_, _| {}).expect("eval")
}

/// Writes f32 values as raw little-endian bytes.
pub fn write_f32(path: &std::path::Path, values: &[f32]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write f32");
}

/// Reads raw little-endian f32 values.
pub fn read_f32(path: &std::path::Path) -> Vec<f32> {
    std::fs::read(path)
        .expect("read f32")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}
