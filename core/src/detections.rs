//! Detection results as stored and shown: which model saw which damage where.

use serde::Serialize;

use crate::inspection::PhotoId;
use crate::timestamp::Timestamp;

/// Where a result was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectionSource {
    /// On the device, by the bundled or refreshed edge model.
    Edge,
    /// By the cloud endpoint.
    Cloud,
}

impl DetectionSource {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Cloud => "cloud",
        }
    }

    /// Parses the database name.
    pub fn from_db(name: &str) -> Option<Self> {
        match name {
            "edge" => Some(Self::Edge),
            "cloud" => Some(Self::Cloud),
            _ => None,
        }
    }
}

/// Which model produced a result.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ModelIdentity {
    /// Model name, e.g. `omni-yolo11n-demo`.
    pub name: String,
    /// Model version, e.g. `1.0.0`.
    pub version: String,
    /// SHA-256 of the model file, lowercase hex.
    pub sha256: String,
}

/// An axis-aligned box in original (EXIF-oriented) image pixels.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct PixelBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

/// One detected instance of damage.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    /// Class id (index into the model's class names).
    pub class_id: u32,
    /// Class name, e.g. `rust`.
    pub label: String,
    /// Confidence in 0..=1.
    pub score: f32,
    /// Where, in original image pixels.
    #[serde(rename = "box")]
    pub bbox: PixelBox,
}

/// A stored result of one model over one photo.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DetectionResult {
    /// The photo it describes.
    pub photo_id: PhotoId,
    /// Edge or cloud.
    pub source: DetectionSource,
    /// The model that produced it.
    pub model: ModelIdentity,
    /// Inference time in milliseconds as measured where it ran.
    pub inference_ms: f64,
    /// When it was stored.
    pub created_at: Timestamp,
    /// The detections, highest score first.
    pub detections: Vec<Detection>,
}
