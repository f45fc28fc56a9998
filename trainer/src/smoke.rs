//! The deploy smoke test's check of the endpoint response (schema version 1,
//! `docs/endpoint-response.md`), done by the core's parser, the one the phones run.

use omni_core::Detections;
use omni_protocol::response;

use crate::error::{Result, TrainerError};

/// A sample container photo for the smoke test (1001×667 JPEG).
pub const SAMPLE_JPEG: &[u8] = include_bytes!("../../core/tests/fixtures/images/yard-1001x667.jpg");

/// Parses and checks a response to a `width`×`height` image with the phones' own parser
/// (`omni_protocol::response`): a deploy passes its smoke test exactly when the phones
/// would accept the answer.
pub fn check_response(body: &[u8], width: u32, height: u32) -> Result<Detections> {
    response::parse(body, (width, height), (width, height)).map_err(|e| {
        TrainerError::Smoke(format!(
            "{e}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    })
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
        let parsed = check_response(&body(50.0, "rust"), 100, 50).expect("valid");
        assert_eq!((parsed.image_width, parsed.image_height), (100, 50));
        assert_eq!(parsed.detections[0].label, "rust");
        assert!(check_response(&body(150.0, "rust"), 100, 50).is_err());
        assert!(check_response(&body(50.0, "dent"), 100, 50).is_err());
        assert!(check_response(&body(50.0, "rust"), 101, 50).is_err());
        assert!(check_response(b"{\"message\": \"x\"}", 100, 50).is_err());
        assert_eq!(dimensions(SAMPLE_JPEG).expect("dims"), (1001, 667));
    }
}
