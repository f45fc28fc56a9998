//! Damage detection: one pipeline (decode with `omni-photo` → letterbox → YOLO11 → NMS →
//! original pixels) shared by the edge path and every tool that checks it, behind the
//! [`Detector`] trait the cloud path implements too. This is the edge runtime (tract): the
//! crates that run on a server without it (the office, its Lambda) do not depend on `omni-core`.

pub mod device_model;
pub mod edge_detector;
pub mod edge_model;
pub mod letterbox;
pub mod model_metadata;
pub mod postprocess;

use crate::detections::{DetectionSource, Detections, ModelIdentity};

pub use edge_detector::{EdgeDetector, EdgeDetectorConfig};
pub use edge_model::{EdgeModel, ModelError};
pub use omni_photo::DecodeError;
pub use omni_protocol::DAMAGE_CLASSES;
pub use postprocess::PostprocessConfig;

/// Why detection on one image failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DetectError {
    /// The image could not be decoded: the photo is unreadable, retrying will not help.
    #[error("image cannot be decoded: {0}")]
    Decode(#[from] DecodeError),
    /// The model failed while running.
    #[error("inference failed: {0}")]
    Inference(String),
}

/// Something that finds damage in a photo: the edge model on the device, or the cloud
/// endpoint. Both return the same [`Detections`].
pub trait Detector: Send + Sync {
    /// The model this detector runs.
    fn identity(&self) -> &ModelIdentity;

    /// Where it runs: its results are stored under this source.
    fn source(&self) -> DetectionSource;

    /// Detects damage in an encoded photo (JPEG or PNG), boxes in EXIF-oriented pixels.
    fn detect(&self, encoded: &[u8]) -> Result<Detections, DetectError>;
}
