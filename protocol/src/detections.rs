//! What a detector found in one image, as the edge path, the endpoint and the office all
//! spell it: which model saw which damage where, and the damage classes in class-id order.

use serde::Serialize;

/// The damage classes, in class-id order.
pub const DAMAGE_CLASSES: [&str; 6] = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"];

/// Where a result was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
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
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ModelIdentity {
    /// Model name, e.g. `omni-yolo11n-demo`.
    pub name: String,
    /// Model version, e.g. `1.0.0`.
    pub version: String,
    /// SHA-256 of the model file, lowercase hex.
    pub sha256: String,
}

/// An axis-aligned box `(x1, y1)`–`(x2, y2)`, in pixels or normalised to 0..=1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BoundingBox {
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

impl BoundingBox {
    /// This pixel box divided by the image size.
    pub fn normalized(&self, width: u32, height: u32) -> Self {
        let (w, h) = (width.max(1) as f32, height.max(1) as f32);
        Self {
            x1: self.x1 / w,
            y1: self.y1 / h,
            x2: self.x2 / w,
            y2: self.y2 / h,
        }
    }

    /// Area (zero for degenerate boxes).
    pub fn area(&self) -> f32 {
        (self.x2 - self.x1).max(0.0) * (self.y2 - self.y1).max(0.0)
    }

    /// Intersection over union with `other`.
    pub fn iou(&self, other: &Self) -> f32 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }
}

/// One detected instance of damage.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Detection {
    /// Class id (index into the model's class names).
    pub class_id: u32,
    /// Class name, e.g. `rust`.
    pub label: String,
    /// Confidence in 0..=1.
    pub score: f32,
    /// Where, in original (EXIF-oriented) image pixels.
    #[serde(rename = "box")]
    pub bbox: BoundingBox,
    /// The same box divided by the image size.
    #[serde(rename = "box_normalized")]
    pub bbox_normalized: BoundingBox,
}

/// What one model found in one image: the common output of the edge and cloud paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Detections {
    /// Edge or cloud.
    pub source: DetectionSource,
    /// The model that produced them.
    pub model: ModelIdentity,
    /// Oriented width of the image the boxes refer to.
    pub image_width: u32,
    /// Oriented height of the image the boxes refer to.
    pub image_height: u32,
    /// Inference time in milliseconds, as measured where it ran.
    pub inference_ms: f64,
    /// The detections, highest score first.
    pub detections: Vec<Detection>,
}
