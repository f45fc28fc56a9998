//! Exports of a batch for Roboflow and SageMaker Ground Truth, with the model's boxes as
//! pre-annotations (the cloud verdict when there is one, else the edge one).
//!
//! * Roboflow: an upload-ready folder in its YOLO layout (`train/images`, `train/labels`,
//!   `data.yaml` with our class names): drag it into the project's upload page or use
//!   `roboflow upload`; the labels arrive as annotations to correct. Labelled, the project's
//!   "YOLOv11" export comes back through `dataset import-roboflow`.
//! * Ground Truth: an input manifest (JSON Lines, one `source-ref` per photo at
//!   `<s3 prefix><file>`) for a bounding-box labeling job; the model's boxes ride along under
//!   a label attribute (Ground Truth's own output format, `groundtruth/object-detection`) for
//!   an adjustment or verification job. The job's output manifest comes back through
//!   `dataset import-groundtruth`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};

use super::batch::{Batch, BatchPhoto};
use crate::dataset::labels::LabelLine;
use crate::dataset::staging::Staging;
use crate::dataset::{DAMAGE_CLASSES, create_dir, data_yaml};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;

/// What an export wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExportSummary {
    /// The folder or manifest written.
    pub out: PathBuf,
    /// Photos.
    pub images: usize,
    /// Pre-annotated boxes.
    pub boxes: usize,
}

/// The pre-annotation boxes of a photo at or above `min_score`, as YOLO lines (degenerate
/// boxes left out).
pub fn yolo_lines(photo: &BatchPhoto, min_score: f32) -> Vec<LabelLine> {
    let Some(prediction) = photo.prediction() else {
        return Vec::new();
    };
    prediction
        .boxes
        .iter()
        .filter(|b| b.score >= min_score)
        .map(|b| LabelLine::from_corners(b.class_id, [b.x1, b.y1, b.x2, b.y2]))
        .filter(|l| l.check(DAMAGE_CLASSES.len()).is_ok())
        .collect()
}

/// Writes the Roboflow upload folder `out` (refused when it exists; staged, so nothing is
/// left on error).
pub fn roboflow(batch_dir: &Path, out: &Path, min_score: f32) -> Result<ExportSummary> {
    let batch = Batch::load(batch_dir)?;
    if out.exists() {
        return Err(TrainerError::Input(format!(
            "{}: already exists",
            out.display()
        )));
    }
    let staging = Staging::new(out)?;
    let images = staging.path().join("train").join("images");
    let labels = staging.path().join("train").join("labels");
    create_dir(&images)?;
    create_dir(&labels)?;
    let mut boxes = 0;
    for photo in &batch.photos {
        let src = batch_dir.join("images").join(&photo.file);
        std::fs::copy(&src, images.join(&photo.file)).map_err(TrainerError::io(&src))?;
        let lines = yolo_lines(photo, min_score);
        boxes += lines.len();
        let body: String = lines.iter().map(|l| l.to_line() + "\n").collect();
        let label = labels.join(format!("{}.txt", photo.photo_id));
        std::fs::write(&label, body).map_err(TrainerError::io(&label))?;
    }
    let yaml = staging.path().join("data.yaml");
    std::fs::write(&yaml, data_yaml::render(false)).map_err(TrainerError::io(&yaml))?;
    staging.commit()?;
    Ok(ExportSummary {
        out: out.to_owned(),
        images: batch.photos.len(),
        boxes,
    })
}

/// The default label attribute of the pre-annotations in a Ground Truth input manifest.
pub const GT_LABEL_ATTRIBUTE: &str = "omni-prediction";

/// One input-manifest line: `source-ref` and, when the model saw something, its boxes in
/// Ground Truth's bounding-box output format under `label_attribute`.
pub fn groundtruth_line(
    photo: &BatchPhoto,
    prefix: &S3Uri,
    label_attribute: &str,
    min_score: f32,
) -> Value {
    let mut line = json!({
        "source-ref": format!("s3://{}/{}{}", prefix.bucket, prefix.prefix(), photo.file),
    });
    if let Some(prediction) = photo.prediction() {
        let (w, h) = (photo.width as f32, photo.height as f32);
        let kept: Vec<_> = prediction
            .boxes
            .iter()
            .filter(|b| b.score >= min_score)
            .collect();
        let annotations: Vec<Value> = kept
            .iter()
            .map(|b| {
                let (x1, y1) = ((b.x1.clamp(0.0, 1.0) * w).round(), (b.y1.clamp(0.0, 1.0) * h).round());
                let (x2, y2) = ((b.x2.clamp(0.0, 1.0) * w).round(), (b.y2.clamp(0.0, 1.0) * h).round());
                json!({"class_id": b.class_id, "left": x1, "top": y1, "width": x2 - x1, "height": y2 - y1})
            })
            .collect();
        let objects: Vec<Value> = kept
            .iter()
            .map(|b| json!({"confidence": b.score}))
            .collect();
        let class_map: BTreeMap<String, &str> = DAMAGE_CLASSES
            .iter()
            .enumerate()
            .map(|(i, c)| (i.to_string(), *c))
            .collect();
        line[label_attribute] = json!({
            "image_size": [{"width": photo.width, "height": photo.height, "depth": 3}],
            "annotations": annotations,
        });
        line[format!("{label_attribute}-metadata")] = json!({
            "objects": objects,
            "class-map": class_map,
            "type": "groundtruth/object-detection",
            "human-annotated": "no",
            "job-name": format!("omni-model-{}", prediction.model()),
        });
    }
    line
}

/// Writes the Ground Truth input manifest `out` (the photos at `<prefix><file>`: upload the
/// batch's `images/` there, e.g. `aws s3 sync BATCH/images s3://…/`).
pub fn groundtruth(
    batch_dir: &Path,
    prefix: &S3Uri,
    out: &Path,
    label_attribute: &str,
    min_score: f32,
) -> Result<ExportSummary> {
    let batch = Batch::load(batch_dir)?;
    let mut text = Vec::new();
    let mut boxes = 0;
    for photo in &batch.photos {
        let line = groundtruth_line(photo, prefix, label_attribute, min_score);
        boxes += line
            .get(label_attribute)
            .and_then(|a| a.get("annotations"))
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        serde_json::to_writer(&mut text, &line).map_err(|e| TrainerError::Input(e.to_string()))?;
        text.push(b'\n');
    }
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    create_dir(parent)?;
    let mut file = tempfile::NamedTempFile::new_in(parent).map_err(TrainerError::io(parent))?;
    file.write_all(&text).map_err(TrainerError::io(out))?;
    file.persist(out)
        .map_err(|e| TrainerError::io(out)(e.error))?;
    Ok(ExportSummary {
        out: out.to_owned(),
        images: batch.photos.len(),
        boxes,
    })
}
