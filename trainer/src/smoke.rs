//! The endpoint response (schema version 1, `docs/endpoint-response.md`) and the checks the
//! deploy smoke test applies to it.

use serde::{Deserialize, Serialize};

use crate::dataset::DAMAGE_CLASSES;
use crate::error::{Result, TrainerError};

/// A sample container photo for the smoke test (1001×667 JPEG).
pub const SAMPLE_JPEG: &[u8] = include_bytes!("../../core/tests/fixtures/images/yard-1001x667.jpg");

/// The model that answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseModel {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Hex SHA-256 of the model file.
    pub sha256: String,
}

/// Size of the received image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A box in pixels of the received image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseBox {
    /// Left.
    pub x1: f64,
    /// Top.
    pub y1: f64,
    /// Right.
    pub x2: f64,
    /// Bottom.
    pub y2: f64,
}

/// One detection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResponseDetection {
    /// Class id.
    pub class_id: u32,
    /// Class name.
    pub label: String,
    /// Score in [0, 1].
    pub score: f64,
    /// Box.
    #[serde(rename = "box")]
    pub bbox: ResponseBox,
}

/// The endpoint's answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointResponse {
    /// Always 1.
    pub schema_version: u32,
    /// The model.
    pub model: ResponseModel,
    /// The image as received.
    pub image: ResponseImage,
    /// Model time in ms.
    pub inference_ms: f64,
    /// Detections.
    pub detections: Vec<ResponseDetection>,
}

/// Parses and checks a response to a `width`×`height` image.
pub fn check_response(body: &[u8], width: u32, height: u32) -> Result<EndpointResponse> {
    let bad = |m: String| Err(TrainerError::Smoke(m));
    let response: EndpointResponse = serde_json::from_slice(body).map_err(|e| {
        TrainerError::Smoke(format!(
            "not the endpoint response schema: {e}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })?;
    if response.schema_version != 1 {
        return bad(format!(
            "schema_version {} is not 1",
            response.schema_version
        ));
    }
    if (response.image.width, response.image.height) != (width, height) {
        return bad(format!(
            "image {}x{} differs from the {width}x{height} photo sent",
            response.image.width, response.image.height
        ));
    }
    if response.model.sha256.len() != 64
        || !response.model.sha256.chars().all(|c| c.is_ascii_hexdigit())
    {
        return bad(format!(
            "model.sha256 {:?} is not hex SHA-256",
            response.model.sha256
        ));
    }
    for (i, d) in response.detections.iter().enumerate() {
        let expected = DAMAGE_CLASSES.get(d.class_id as usize);
        if expected != Some(&d.label.as_str()) {
            return bad(format!(
                "detection {i}: class {} {:?} is not ours",
                d.class_id, d.label
            ));
        }
        if !(0.0..=1.0).contains(&d.score) {
            return bad(format!("detection {i}: score {} outside [0, 1]", d.score));
        }
        let b = d.bbox;
        let inside = 0.0 <= b.x1
            && b.x1 < b.x2
            && b.x2 <= f64::from(width)
            && 0.0 <= b.y1
            && b.y1 < b.y2
            && b.y2 <= f64::from(height);
        if !inside {
            return bad(format!(
                "detection {i}: box {b:?} is not inside the {width}x{height} image"
            ));
        }
    }
    Ok(response)
}

/// Width and height of an encoded JPEG or PNG.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32)> {
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok())
        .ok_or_else(|| TrainerError::Input("the sample photo is not a JPEG or PNG".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(x2: f64, label: &str) -> Vec<u8> {
        serde_json::json!({"schema_version": 1,
            "model": {"name": "m", "version": "0.1.0", "sha256": "a".repeat(64)},
            "image": {"width": 100, "height": 50}, "inference_ms": 1.0,
            "detections": [{"class_id": 2, "label": label, "score": 0.5,
                            "box": {"x1": 1.0, "y1": 1.0, "x2": x2, "y2": 10.0}}]})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn checks() {
        assert!(check_response(&body(50.0, "rust"), 100, 50).is_ok());
        assert!(check_response(&body(150.0, "rust"), 100, 50).is_err());
        assert!(check_response(&body(50.0, "dent"), 100, 50).is_err());
        assert!(check_response(&body(50.0, "rust"), 101, 50).is_err());
        assert!(check_response(b"{\"message\": \"x\"}", 100, 50).is_err());
        assert_eq!(dimensions(SAMPLE_JPEG).expect("dims"), (1001, 667));
    }
}
