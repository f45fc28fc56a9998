//! The labeling loop (`omni-trainer labeling …`, `docs/labeling.md`): pick the field photos
//! worth labelling from a phone data directory or the yard office ([`select`]), write them as
//! a batch folder with a `batch.json` saying why each was chosen ([`batch`]), export them with
//! the model's boxes as pre-annotations to Label Studio ([`labelstudio`]), Roboflow or
//! SageMaker Ground Truth ([`export`]), and import the labels back ([`labelstudio::import`];
//! Roboflow and Ground Truth through the existing [`crate::dataset`] imports). A Ground Truth
//! labeling job is started and followed from here too ([`groundtruth_job`]), its output
//! imported back ([`groundtruth_import`]). The office's reviews come out as labels directly
//! ([`reviewed`]), without a labeling tool. `dataset merge` ([`crate::dataset::merge`]) then
//! adds them to the versioned data set.

pub mod batch;
pub mod export;
pub mod groundtruth_import;
pub mod groundtruth_job;
pub mod labelstudio;
pub mod phash;
pub mod reviewed;
pub mod select;
pub mod source;

use serde::{Deserialize, Serialize};

use crate::dataset::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};

/// One box a model predicted, with corners normalised to the oriented photo (0..=1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictedBox {
    /// Class id (index into [`DAMAGE_CLASSES`]).
    pub class_id: u32,
    /// Confidence in 0..=1.
    pub score: f32,
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

impl PredictedBox {
    /// Intersection over union with `other`.
    pub fn iou(&self, other: &Self) -> f32 {
        let iw = (self.x2.min(other.x2) - self.x1.max(other.x1)).max(0.0);
        let ih = (self.y2.min(other.y2) - self.y1.max(other.y1)).max(0.0);
        let inter = iw * ih;
        let area = |b: &Self| (b.x2 - b.x1).max(0.0) * (b.y2 - b.y1).max(0.0);
        let union = area(self) + area(other) - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The class name of the one class list.
    pub fn label(&self) -> &'static str {
        class_name(self.class_id).unwrap_or("?")
    }
}

/// What one model (edge or cloud) said about a photo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The model's name.
    pub model_name: String,
    /// The model's version.
    pub model_version: String,
    /// Its boxes, as stored.
    pub boxes: Vec<PredictedBox>,
}

impl Prediction {
    /// The highest score (0 without boxes).
    pub fn max_score(&self) -> f32 {
        self.boxes.iter().map(|b| b.score).fold(0.0, f32::max)
    }

    /// `model_name@model_version`, Label Studio's `model_version`.
    pub fn model(&self) -> String {
        format!("{}@{}", self.model_name, self.model_version)
    }
}

/// A photo as a source lists it: its identity and the newest stored edge and cloud verdicts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhotoRecord {
    /// The photo id (the phone's UUID; the office keeps it).
    pub photo_id: String,
    /// The inspection it belongs to.
    pub inspection_id: String,
    /// The container's number, normalised.
    pub container: String,
    /// When it was taken (phone) or received (office), ms since the epoch.
    pub taken_at_ms: i64,
    /// SHA-256 of the photo's bytes, lowercase hex.
    pub sha256: String,
    /// File extension, `jpg` or `png`.
    pub extension: String,
    /// The newest edge verdict.
    pub edge: Option<Prediction>,
    /// The newest cloud verdict.
    pub cloud: Option<Prediction>,
}

impl PhotoRecord {
    /// The verdict exports pre-annotate with: the cloud's (the larger model) when there is
    /// one, else the edge's.
    pub fn best_prediction(&self) -> Option<&Prediction> {
        self.cloud.as_ref().or(self.edge.as_ref())
    }

    /// The photo's file name in a batch: `<photo id>.<ext>`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.photo_id, self.extension)
    }
}

/// The name of class `id` in the one class list.
pub fn class_name(id: u32) -> Option<&'static str> {
    DAMAGE_CLASSES.get(id as usize).copied()
}

/// Our class id of a labeling tool's label (case-insensitive), or `None`.
pub fn class_id(label: &str) -> Option<u32> {
    let label = label.trim();
    DAMAGE_CLASSES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(label))
        .map(|i| i as u32)
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json<T: Serialize>(path: &std::path::Path, value: &T) -> Result<()> {
    let mut text =
        serde_json::to_string_pretty(value).map_err(|e| TrainerError::Input(e.to_string()))?;
    text.push('\n');
    std::fs::write(path, text).map_err(TrainerError::io(path))
}

/// Reads JSON from `path`.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(TrainerError::io(path))?;
    serde_json::from_str(&text)
        .map_err(|e| TrainerError::Input(format!("{}:{}: {e}", path.display(), e.line())))
}
