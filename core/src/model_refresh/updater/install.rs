//! Installing an offered model: download (resumed, one fresh try after a mismatch), size
//! and SHA-256, identity, a test run, then the swap into `active/`.

use super::{ModelUpdater, UpdateOutcome};
use crate::detect::{Detector as _, EdgeDetector};
use crate::model_manifest::ModelManifest;
use crate::model_refresh::error::{RefreshError, RejectReason};
use crate::model_refresh::events::ModelEvent;
use crate::model_refresh::model_store::{DownloadMeta, Slot, check_identity, sha256_hex};

impl ModelUpdater {
    /// Download, verify, test-run, stage and swap.
    pub(super) async fn install(
        &self,
        manifest: &ModelManifest,
    ) -> Result<UpdateOutcome, RefreshError> {
        let url = self.model_url(manifest).map_err(RefreshError::Rejected)?;
        let meta = DownloadMeta {
            url: url.to_string(),
            sha256: manifest.sha256.to_ascii_lowercase(),
            size: manifest.size,
        };
        let mut requests = 0;
        let mut range_requests = 0;
        let bytes = loop {
            let resumed_from = self
                .store
                .prepare_download(&meta)
                .map_err(RefreshError::io("prepare the download"))?;
            let version = manifest.version.to_string();
            let mut progress = |received: u64, total: u64| {
                self.emit(ModelEvent::Downloading {
                    version: version.clone(),
                    received,
                    total,
                });
            };
            let report = self
                .fetcher
                .download(&url, &self.store.part_path(), manifest.size, &mut progress)
                .await;
            let report = match report {
                Ok(report) => report,
                Err(e @ RefreshError::Rejected(_)) => {
                    self.store.discard_download().ok();
                    return Err(e);
                }
                Err(e) => return Err(e),
            };
            requests += report.requests;
            range_requests += report.range_requests;
            let part = self.store.part_path();
            let bytes = std::fs::read(&part)
                .map_err(RefreshError::io(format!("cannot read {}", part.display())))?;
            let reason = if bytes.len() as u64 != manifest.size {
                RejectReason::SizeMismatch {
                    expected: manifest.size,
                    actual: bytes.len() as u64,
                }
            } else {
                let sha = sha256_hex(&bytes);
                if sha == meta.sha256 {
                    break bytes;
                }
                RejectReason::ShaMismatch {
                    expected: meta.sha256.clone(),
                    actual: sha,
                }
            };
            self.store
                .discard_download()
                .map_err(RefreshError::io("discard the download"))?;
            // A resumed file may hold bytes a crash left unflushed: one fresh try.
            if resumed_from == 0 {
                return Err(RefreshError::Rejected(reason));
            }
        };
        let detector = EdgeDetector::from_bytes(&bytes, &self.detector_config()).map_err(|e| {
            self.store.discard_download().ok();
            RefreshError::Rejected(RejectReason::ModelDoesNotLoad(e.to_string()))
        })?;
        drop(bytes);
        let checked = check_identity(&detector, manifest)
            .map_err(|_| RejectReason::IdentityMismatch {
                manifest: format!("{} {}", manifest.name, manifest.version),
                model: format!(
                    "{} {}",
                    detector.identity().name,
                    detector.identity().version
                ),
            })
            .and_then(|()| probe(&detector).map_err(RejectReason::ProbeFailed));
        if let Err(reason) = checked {
            self.store.discard_download().ok();
            return Err(RefreshError::Rejected(reason));
        }
        drop(detector);
        let replaced = self
            .store
            .installed(Slot::Active)
            .map(|m| m.version.to_string())
            .or_else(|| self.store.bundled_identity().map(|(v, _)| v.to_string()));
        self.store
            .stage_next(manifest)
            .map_err(RefreshError::io("stage the verified model"))?;
        self.store
            .discard_corrupt_active()
            .map_err(RefreshError::io("discard the corrupted active model"))?;
        self.store
            .commit_next()
            .map_err(RefreshError::io("swap in the new model"))?;
        let mut history = self.store.read_history();
        if history.floor.as_ref().is_none_or(|f| manifest.version > *f) {
            history.floor = Some(manifest.version.clone());
            self.store
                .write_history(&history)
                .map_err(RefreshError::io("record the installed version"))?;
        }
        self.emit(ModelEvent::Installed {
            name: manifest.name.clone(),
            version: manifest.version.to_string(),
            sha256: manifest.sha256.clone(),
            replaced: replaced.clone(),
        });
        Ok(UpdateOutcome::Installed {
            manifest: Box::new(manifest.clone()),
            replaced,
            requests,
            range_requests,
        })
    }
}

/// Runs the model on a synthetic photo through the whole pipeline, and on a mid-grey
/// tensor checking every output is finite.
fn probe(detector: &EdgeDetector) -> Result<(), String> {
    let model = detector.model();
    let size = model.input_size() as usize;
    let output = model.run(vec![114.0 / 255.0; 3 * size * size])?;
    let expected = (4 + model.classes().len()) * model.anchors();
    if output.len() != expected {
        return Err(format!(
            "output has {} values, expected {expected}",
            output.len()
        ));
    }
    if let Some(i) = output.iter().position(|v| !v.is_finite()) {
        return Err(format!("output value {i} is not finite"));
    }
    detector
        .detect(&probe_image()?)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A 96×64 PNG with a gradient and a dark square (deterministic).
fn probe_image() -> Result<Vec<u8>, String> {
    let image = image::RgbImage::from_fn(96, 64, |x, y| {
        if (30..60).contains(&x) && (20..44).contains(&y) {
            image::Rgb([40, 30, 20])
        } else {
            image::Rgb([(x * 2) as u8, (y * 3) as u8, 128])
        }
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .map_err(|e| format!("cannot encode the probe image: {e}"))?;
    Ok(bytes)
}
