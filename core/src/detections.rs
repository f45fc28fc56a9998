//! Detection results as stored and shown: which model saw which damage where. The result
//! types every side speaks live in `omni-protocol` and are re-exported here; the row the phone
//! stores for one photo is this crate's.

use serde::Serialize;

pub use omni_protocol::detections::{
    BoundingBox, Detection, DetectionSource, Detections, ModelIdentity,
};

use crate::inspection::PhotoId;
use omni_protocol::Timestamp;

/// A stored result of one model over one photo.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct DetectionResult {
    /// The photo it describes.
    pub photo_id: PhotoId,
    /// When it was stored.
    #[cfg_attr(feature = "uniffi", uniffi(name = "created_at_ms"))]
    pub created_at: Timestamp,
    /// What the model found.
    #[serde(flatten)]
    pub detections: Detections,
}
