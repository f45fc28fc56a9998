//! A stored verdict as the page draws it: its boxes in the pixels of the image the model saw,
//! checked again as schema v1 (a phone's verdict is untrusted input, whatever the API
//! checked when it was stored).

use omni_protocol::response::{self, DetectionResponse};

use crate::wire::{Verdict, VerdictSource};

/// Largest image side a drawn verdict may claim.
const MAX_SIDE: u32 = 20_000;
/// Most boxes drawn for one verdict.
const MAX_BOXES: usize = 300;

/// One box, in the verdict's image pixels.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxView {
    /// Class id (the CSS colour).
    pub class_id: u32,
    /// Class name.
    pub label: String,
    /// Score in percent.
    pub score_pct: u32,
    /// Left, top, width, height.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
    /// Label font size (scales with the image).
    pub font: f32,
}

/// One verdict layer of a photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    /// `edge` or `cloud` (CSS class and radio value).
    pub key: &'static str,
    /// Whether a verdict of this source exists.
    pub present: bool,
    /// Whether it reads as schema v1 (an unreadable one is shown as such, never drawn).
    pub readable: bool,
    /// The image size the boxes are in.
    pub width: u32,
    /// Height.
    pub height: u32,
    /// `name version` of the model.
    pub model: String,
    /// The model file's SHA-256 (with the photo and source, the verdict's key).
    pub model_sha256: String,
    /// The boxes.
    pub boxes: Vec<BoxView>,
}

impl Layer {
    fn absent(key: &'static str) -> Layer {
        Layer {
            key,
            present: false,
            readable: false,
            width: 1,
            height: 1,
            model: String::new(),
            model_sha256: String::new(),
            boxes: Vec::new(),
        }
    }
}

/// The layer of `source` among a photo's verdicts (the newest when several models answered).
pub fn layer(verdicts: &[&Verdict], source: VerdictSource) -> Layer {
    let key = match source {
        VerdictSource::Edge => "edge",
        VerdictSource::Cloud => "cloud",
    };
    let Some(verdict) = verdicts
        .iter()
        .filter(|v| v.source == source)
        .max_by_key(|v| v.received_at_ms)
    else {
        return Layer::absent(key);
    };
    let model = format!("{} {}", verdict.model_name, verdict.model_version);
    let raw = verdict.response.get();
    let read = serde_json::from_str::<DetectionResponse>(raw)
        .ok()
        .filter(|r| (1..=MAX_SIDE).contains(&r.image.width))
        .filter(|r| (1..=MAX_SIDE).contains(&r.image.height))
        .and_then(|r| {
            let size = (r.image.width, r.image.height);
            response::parse(raw.as_bytes(), size, size).ok()
        });
    let Some(detections) = read else {
        return Layer {
            present: true,
            model,
            model_sha256: verdict.model_sha256.clone(),
            ..Layer::absent(key)
        };
    };
    let (width, height) = (detections.image_width, detections.image_height);
    // In the verdict's own units: the label keeps its size relative to the photo.
    let font = width.max(height) as f32 / 45.0;
    let boxes = detections
        .detections
        .iter()
        .take(MAX_BOXES)
        .map(|d| BoxView {
            class_id: d.class_id,
            label: d.label.clone(),
            score_pct: (d.score * 100.0).round() as u32,
            x: d.bbox.x1,
            y: d.bbox.y1,
            w: d.bbox.x2 - d.bbox.x1,
            h: d.bbox.y2 - d.bbox.y1,
            font,
        })
        .collect();
    Layer {
        key,
        present: true,
        readable: true,
        width,
        height,
        model,
        model_sha256: verdict.model_sha256.clone(),
        boxes,
    }
}
