//! The demo edge model compiled into the core: the floor the device falls back to when no
//! refreshed model is installed, with the manifest that describes it.

use serde::Deserialize;

use crate::detect::{EdgeDetector, EdgeDetectorConfig, ModelError};

/// The bundled model's ONNX bytes (`core/models/edge-model.onnx`).
pub const MODEL_BYTES: &[u8] = include_bytes!("../models/edge-model.onnx");

/// The bundled model's manifest (`core/models/edge-model.json`).
pub const MANIFEST_JSON: &str = include_str!("../models/edge-model.json");

/// What the manifest of the bundled model says.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BundledManifest {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// SHA-256 of the ONNX bytes.
    pub sha256: String,
    /// Size of the ONNX bytes.
    pub size: u64,
    /// Class names in id order.
    pub classes: Vec<String>,
    /// Input side.
    pub imgsz: u32,
    /// What it was trained on.
    pub trained_on: String,
}

/// Parses the bundled manifest.
pub fn manifest() -> Result<BundledManifest, serde_json::Error> {
    serde_json::from_str(MANIFEST_JSON)
}

/// Loads the bundled model as an edge detector.
pub fn detector(config: &EdgeDetectorConfig) -> Result<EdgeDetector, ModelError> {
    EdgeDetector::from_bytes(MODEL_BYTES, config)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::detect::{DAMAGE_CLASSES, Detector};

    #[test]
    fn manifest_describes_the_bundled_bytes() {
        let manifest = manifest().expect("manifest parses");
        let sha: String = Sha256::digest(MODEL_BYTES)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(manifest.sha256, sha, "manifest sha256 matches the model");
        assert_eq!(manifest.size, MODEL_BYTES.len() as u64);
        assert_eq!(manifest.classes, DAMAGE_CLASSES);
        let detector = detector(&EdgeDetectorConfig::default()).expect("bundled model loads");
        assert_eq!(detector.identity().sha256, manifest.sha256);
        assert_eq!(detector.model().input_size(), manifest.imgsz);
        assert_eq!(detector.identity().name, manifest.name);
        assert_eq!(detector.identity().version, manifest.version);
    }
}
