//! What answers an invocation: the edge pipeline on a model, or a null model that only
//! measures the image (to benchmark the client).

use std::path::PathBuf;
use std::time::Instant;

use omni_core::detect::{Detector, EdgeDetector, EdgeDetectorConfig};
use omni_photo::probe::{self as photo_probe, PhotoLimits};
use omni_protocol::detections::{DetectionSource, Detections, ModelIdentity};
use omni_protocol::response::DetectionResponse;
use sha2::{Digest, Sha256};

/// Which model the endpoint runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// The demo model bundled in `omni-core`.
    Bundled,
    /// An ONNX file.
    Path(PathBuf),
    /// No inference: zero detections, image size from the header (client benchmarks).
    Null,
}

/// A loaded model.
pub enum InferenceModel {
    /// The edge pipeline.
    Edge(Box<EdgeDetector>),
    /// The null model.
    Null(ModelIdentity),
}

/// Why an invocation body could not be answered: a 400 `ValidationError` or a 424 `ModelError`.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// The body is not an image we accept.
    #[error("{0}")]
    Validation(String),
    /// The model failed.
    #[error("{0}")]
    Model(String),
}

impl InferenceModel {
    /// Loads `choice` with one inference thread.
    pub fn load(choice: &ModelChoice) -> Result<Self, String> {
        let config = EdgeDetectorConfig::default();
        match choice {
            ModelChoice::Bundled => omni_core::bundled_model::detector(&config)
                .map(|d| Self::Edge(Box::new(d)))
                .map_err(|e| e.to_string()),
            ModelChoice::Path(path) => EdgeDetector::from_path(path, &config)
                .map(|d| Self::Edge(Box::new(d)))
                .map_err(|e| e.to_string()),
            ModelChoice::Null => Ok(Self::Null(ModelIdentity {
                name: "null".into(),
                version: "0".into(),
                sha256: format!("{:x}", Sha256::digest(b"null model")),
            })),
        }
    }

    /// The model's identity.
    pub fn identity(&self) -> &ModelIdentity {
        match self {
            Self::Edge(d) => d.identity(),
            Self::Null(identity) => identity,
        }
    }

    /// Answers one image body.
    pub fn answer(&self, body: &[u8]) -> Result<DetectionResponse, InferenceError> {
        let header = photo_probe::probe(body, PhotoLimits::default())
            .map_err(|e| InferenceError::Validation(format!("unsupported image: {e}")))?;
        let detections = match self {
            Self::Edge(detector) => detector.detect(body).map_err(|e| match e {
                omni_core::detect::DetectError::Decode(e) => {
                    InferenceError::Validation(e.to_string())
                }
                other => InferenceError::Model(other.to_string()),
            })?,
            Self::Null(identity) => {
                let started = Instant::now();
                let (image_width, image_height) = header.oriented_size();
                Detections {
                    source: DetectionSource::Cloud,
                    model: identity.clone(),
                    image_width,
                    image_height,
                    inference_ms: started.elapsed().as_secs_f64() * 1000.0,
                    detections: Vec::new(),
                }
            }
        };
        Ok(DetectionResponse::from_detections(&detections))
    }
}
