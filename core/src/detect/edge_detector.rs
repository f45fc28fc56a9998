//! The edge pipeline end to end: decode → letterbox → tract → NMS → original pixels.

use std::path::Path;
use std::time::Instant;

use super::edge_model::{EdgeModel, ModelError};
use super::letterbox::letterbox_tensor;
use super::postprocess::{PostprocessConfig, postprocess};
use super::{DAMAGE_CLASSES, DetectError, Detector};
use crate::detections::{BoundingBox, Detection, DetectionSource, Detections, ModelIdentity};
use omni_photo::decode::decode_for_model;

/// Settings of the edge detector.
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeDetectorConfig {
    /// Thresholds.
    pub postprocess: PostprocessConfig,
    /// Threads for tract's matrix products (1 = single-threaded).
    pub threads: usize,
    /// Classes the model must have, in order.
    pub classes: Vec<String>,
}

impl Default for EdgeDetectorConfig {
    fn default() -> Self {
        Self {
            postprocess: PostprocessConfig::default(),
            threads: 1,
            classes: DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect(),
        }
    }
}

/// Runs a YOLO11 ONNX model on the device.
#[derive(Debug)]
pub struct EdgeDetector {
    model: EdgeModel,
    postprocess: PostprocessConfig,
}

/// Timings of one [`EdgeDetector::detect_timed`] call, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StageTimings {
    /// Decoding and orienting the photo.
    pub decode_ms: f64,
    /// Letterbox and tensor conversion.
    pub preprocess_ms: f64,
    /// The model.
    pub inference_ms: f64,
    /// Decoding the output, NMS and mapping boxes back.
    pub postprocess_ms: f64,
}

impl EdgeDetector {
    /// Loads the model at `path`.
    pub fn from_path(path: &Path, config: &EdgeDetectorConfig) -> Result<Self, ModelError> {
        let classes: Vec<&str> = config.classes.iter().map(String::as_str).collect();
        let model = EdgeModel::from_path(path, Some(&classes), config.threads)?;
        Ok(Self::new(model, config.postprocess))
    }

    /// Loads a model from its ONNX bytes.
    pub fn from_bytes(bytes: &[u8], config: &EdgeDetectorConfig) -> Result<Self, ModelError> {
        let classes: Vec<&str> = config.classes.iter().map(String::as_str).collect();
        let model = EdgeModel::from_bytes(bytes, Some(&classes), config.threads)?;
        Ok(Self::new(model, config.postprocess))
    }

    /// Wraps a loaded model.
    pub fn new(model: EdgeModel, postprocess: PostprocessConfig) -> Self {
        Self { model, postprocess }
    }

    /// Replaces the thresholds.
    pub fn set_postprocess(&mut self, postprocess: PostprocessConfig) {
        self.postprocess = postprocess;
    }

    /// The model.
    pub fn model(&self) -> &EdgeModel {
        &self.model
    }

    /// Detects and reports the time spent in each stage.
    pub fn detect_timed(&self, encoded: &[u8]) -> Result<(Detections, StageTimings), DetectError> {
        let mut timings = StageTimings::default();
        let t = Instant::now();
        let photo = decode_for_model(encoded, self.model.input_size())?;
        timings.decode_ms = ms(t);
        let t = Instant::now();
        let (tensor, letterbox) = letterbox_tensor(&photo.image, self.model.input_size());
        // Boxes come out in the decoded pixels (DCT-scaled for big JPEGs) and are reported in
        // the photo's own.
        let (decoded_width, decoded_height) = photo.image.dimensions();
        let (width, height) = (photo.width, photo.height);
        let (scale_x, scale_y) = (
            width as f32 / decoded_width as f32,
            height as f32 / decoded_height as f32,
        );
        drop(photo);
        timings.preprocess_ms = ms(t);
        let t = Instant::now();
        let output = self.model.run(tensor).map_err(DetectError::Inference)?;
        timings.inference_ms = ms(t);
        let t = Instant::now();
        let classes = self.model.classes();
        let raw = postprocess(
            &output,
            self.model.anchors(),
            classes.len(),
            &letterbox,
            decoded_width,
            decoded_height,
            &self.postprocess,
        );
        let detections = raw
            .into_iter()
            .map(|d| {
                let bbox = BoundingBox {
                    x1: d.bbox.x1 * scale_x,
                    y1: d.bbox.y1 * scale_y,
                    x2: d.bbox.x2 * scale_x,
                    y2: d.bbox.y2 * scale_y,
                };
                Detection {
                    class_id: d.class_id,
                    label: classes[d.class_id as usize].clone(),
                    score: d.score,
                    bbox,
                    bbox_normalized: bbox.normalized(width, height),
                }
            })
            .collect();
        timings.postprocess_ms = ms(t);
        Ok((
            Detections {
                source: DetectionSource::Edge,
                model: self.model.identity().clone(),
                image_width: width,
                image_height: height,
                inference_ms: timings.inference_ms,
                detections,
            },
            timings,
        ))
    }
}

impl Detector for EdgeDetector {
    fn identity(&self) -> &ModelIdentity {
        self.model.identity()
    }

    fn source(&self) -> DetectionSource {
        DetectionSource::Edge
    }

    fn detect(&self, encoded: &[u8]) -> Result<Detections, DetectError> {
        self.detect_timed(encoded).map(|(detections, _)| detections)
    }
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}
