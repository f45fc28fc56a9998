//! Choosing and loading the model to run: `active/`, else `previous/`, else the bundled
//! model, each refreshed slot checked against its manifest before tract sees it.

use std::fs;
use std::path::PathBuf;

use serde::Serialize;

use super::{MANIFEST_FILE, MODEL_FILE, ModelStore, Slot, sha256_hex};
use crate::detect::{Detector as _, EdgeDetector, EdgeDetectorConfig};
use crate::model_manifest::ModelManifest;

/// A slot that was skipped while loading, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The slot skipped.
    pub slot: Slot,
    /// Why it could not be used.
    pub reason: String,
}

/// The model to run, and how it was chosen.
#[derive(Debug)]
pub struct LoadedModel {
    /// The detector, ready to run.
    pub detector: EdgeDetector,
    /// The slot it came from.
    pub slot: Slot,
    /// Its manifest (`None` for the bundled model).
    pub manifest: Option<ModelManifest>,
    /// Slots tried first that could not be used (empty when the first choice loaded; a
    /// missing `active/` when nothing was ever installed is not a fallback).
    pub fallbacks: Vec<Fallback>,
}

/// No model could be loaded at all.
#[derive(Debug, thiserror::Error)]
#[error("no loadable edge model: {}", .0.iter().map(|f| format!("{}: {}", f.slot.as_str(), f.reason)).collect::<Vec<_>>().join("; "))]
pub struct NoModel(pub Vec<Fallback>);

/// The floor model, run when no refreshed model is installed or loadable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BundledModel {
    /// The demo model compiled into this build (feature `bundled-model`: the CLI, tests).
    #[default]
    Compiled,
    /// A model file shipped with the app (an Android asset copied out, an iOS bundle
    /// resource): the mobile library does not carry the model in its code.
    File(PathBuf),
}

impl ModelStore {
    /// Loads the model to run: `active/`, else `previous/`, else the bundled model, reporting
    /// each slot skipped. Each refreshed slot must have a manifest, a file of that size and
    /// SHA-256, load with `config`'s classes, and name the manifest's model and version.
    pub fn load(&self, config: &EdgeDetectorConfig) -> Result<LoadedModel, NoModel> {
        let mut fallbacks = Vec::new();
        for slot in [Slot::Active, Slot::Previous] {
            match self.load_slot(slot, config) {
                Ok(Some((detector, manifest))) => {
                    return Ok(LoadedModel {
                        detector,
                        slot,
                        manifest: Some(manifest),
                        fallbacks,
                    });
                }
                // Nothing installed is the normal state before any refresh.
                Ok(None) => {}
                Err(reason) => fallbacks.push(Fallback { slot, reason }),
            }
        }
        self.load_bundled(config, fallbacks)
    }

    fn load_bundled(
        &self,
        config: &EdgeDetectorConfig,
        mut fallbacks: Vec<Fallback>,
    ) -> Result<LoadedModel, NoModel> {
        let loaded = match &self.bundled {
            BundledModel::Compiled => compiled_model(config),
            BundledModel::File(path) => EdgeDetector::from_path(path, config)
                .map_err(|e| format!("{}: {e}", path.display())),
        };
        match loaded {
            Ok(detector) => Ok(LoadedModel {
                detector,
                slot: Slot::Bundled,
                manifest: None,
                fallbacks,
            }),
            Err(reason) => {
                fallbacks.push(Fallback {
                    slot: Slot::Bundled,
                    reason,
                });
                Err(NoModel(fallbacks))
            }
        }
    }

    /// Version and SHA-256 of the bundled model, when it can be read.
    pub(crate) fn bundled_identity(&self) -> Option<(semver::Version, String)> {
        let (version, sha256) = match &self.bundled {
            BundledModel::Compiled => compiled_identity()?,
            BundledModel::File(path) => {
                let detector =
                    EdgeDetector::from_path(path, &EdgeDetectorConfig::default()).ok()?;
                let identity = detector.identity();
                (identity.version.clone(), identity.sha256.clone())
            }
        };
        Some((semver::Version::parse(&version).ok()?, sha256))
    }

    /// Loads one refreshed slot: `Ok(None)` when the slot does not exist at all.
    fn load_slot(
        &self,
        slot: Slot,
        config: &EdgeDetectorConfig,
    ) -> Result<Option<(EdgeDetector, ModelManifest)>, String> {
        let Some(dir) = self.slot_dir(slot) else {
            return Ok(None);
        };
        if !dir.exists() {
            return Ok(None);
        }
        let manifest_bytes = fs::read(dir.join(MANIFEST_FILE))
            .map_err(|e| format!("cannot read {MANIFEST_FILE}: {e}"))?;
        let manifest: ModelManifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| format!("{MANIFEST_FILE} is malformed: {e}"))?;
        let bytes =
            fs::read(dir.join(MODEL_FILE)).map_err(|e| format!("cannot read {MODEL_FILE}: {e}"))?;
        check_bytes(&bytes, &manifest)?;
        let detector = EdgeDetector::from_bytes(&bytes, config).map_err(|e| e.to_string())?;
        check_identity(&detector, &manifest)?;
        Ok(Some((detector, manifest)))
    }

    /// The manifest of `slot` when its file is there with the manifest's size and SHA-256
    /// (a corrupted file, or a missing one, gives `None`).
    pub(crate) fn verified(&self, slot: Slot) -> Option<ModelManifest> {
        let manifest = self.installed(slot)?;
        let bytes = fs::read(self.slot_dir(slot)?.join(MODEL_FILE)).ok()?;
        check_bytes(&bytes, &manifest).ok()?;
        Some(manifest)
    }
}

/// Size and SHA-256 of `bytes` against `manifest`.
pub(crate) fn check_bytes(bytes: &[u8], manifest: &ModelManifest) -> Result<(), String> {
    if bytes.len() as u64 != manifest.size {
        return Err(format!(
            "{MODEL_FILE} is {} bytes, its manifest says {}",
            bytes.len(),
            manifest.size
        ));
    }
    let sha = sha256_hex(bytes);
    if !sha.eq_ignore_ascii_case(&manifest.sha256) {
        return Err(format!(
            "{MODEL_FILE} sha256 {sha} differs from its manifest's {}",
            manifest.sha256
        ));
    }
    Ok(())
}

/// The model's own name and version (ONNX metadata) against the manifest's.
pub(crate) fn check_identity(
    detector: &EdgeDetector,
    manifest: &ModelManifest,
) -> Result<(), String> {
    let identity = detector.identity();
    if identity.name != manifest.name || identity.version != manifest.version.to_string() {
        return Err(format!(
            "model metadata says {} {}, manifest says {} {}",
            identity.name, identity.version, manifest.name, manifest.version
        ));
    }
    Ok(())
}
/// The model compiled into this build.
#[cfg(feature = "bundled-model")]
fn compiled_model(config: &EdgeDetectorConfig) -> Result<EdgeDetector, String> {
    crate::bundled_model::detector(config).map_err(|e| e.to_string())
}

/// Version and SHA-256 of the model compiled into this build.
#[cfg(feature = "bundled-model")]
fn compiled_identity() -> Option<(String, String)> {
    let manifest = crate::bundled_model::manifest().ok()?;
    Some((manifest.version, manifest.sha256))
}

/// This build carries no model.
#[cfg(not(feature = "bundled-model"))]
fn compiled_identity() -> Option<(String, String)> {
    None
}

/// This build carries no model: the host must name a [`BundledModel::File`].
#[cfg(not(feature = "bundled-model"))]
fn compiled_model(_config: &EdgeDetectorConfig) -> Result<EdgeDetector, String> {
    Err("this build has no compiled-in model: pass the bundled model's file".into())
}
