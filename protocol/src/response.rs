//! The cloud detection response, schema version 1 (`docs/endpoint-response.md`).
//!
//! Both sides speak it: the local endpoint serialises [`DetectionResponse`] and the sync
//! engine parses and validates it with [`parse`] before anything is stored.

use serde::{Deserialize, Serialize};

use crate::detections::{
    BoundingBox, DAMAGE_CLASSES, Detection, DetectionSource, Detections, ModelIdentity,
};

/// The only schema version the phones, the endpoint and the office read and write.
pub const SCHEMA_VERSION: u32 = 1;

/// How far (pixels) a box may stick out of the image before it is refused.
const BOX_TOLERANCE_PX: f32 = 1.0;

/// The JSON body of a successful invocation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionResponse {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The model that answered.
    pub model: ResponseModel,
    /// Size of the image as the server received it; boxes are in these pixels.
    pub image: ResponseImage,
    /// Server-side inference time.
    pub inference_ms: f64,
    /// The damage found.
    pub detections: Vec<ResponseDetection>,
}

/// Model identity in a response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseModel {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Hex SHA-256 of the model file.
    pub sha256: String,
}

/// Image size in a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// One detection in a response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseDetection {
    /// Class id, an index into the damage classes.
    pub class_id: u32,
    /// Class name; must match `class_id`.
    pub label: String,
    /// Confidence in [0, 1].
    pub score: f32,
    /// Box in received-image pixels.
    #[serde(rename = "box")]
    pub bbox: ResponseBox,
}

/// A box in a response (`x1 <= x2`, `y1 <= y2`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseBox {
    /// Left.
    pub x1: f32,
    /// Top.
    pub y1: f32,
    /// Right.
    pub x2: f32,
    /// Bottom.
    pub y2: f32,
}

/// Why a response was refused. Nothing of a refused response is stored.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// Not JSON of the documented shape.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// A schema version this core does not read.
    #[error("response schema version {0} is not supported (expected {SCHEMA_VERSION})")]
    UnsupportedSchema(u32),
    /// A class id outside the damage classes, or a label that does not match it.
    #[error("detection {index}: unknown class {class_id} {label:?}")]
    UnknownClass {
        /// Position in `detections`.
        index: usize,
        /// The id given.
        class_id: u32,
        /// The label given.
        label: String,
    },
    /// NaN/infinite numbers, a score outside [0, 1], or an inverted box.
    #[error("detection {index}: invalid {what}")]
    InvalidNumber {
        /// Position in `detections` (or `usize::MAX` for top-level fields).
        index: usize,
        /// Which value.
        what: &'static str,
    },
    /// A box outside the image.
    #[error("detection {index}: box lies outside the {width}x{height} image")]
    BoxOutsideImage {
        /// Position in `detections`.
        index: usize,
        /// Image width.
        width: u32,
        /// Image height.
        height: u32,
    },
    /// The server saw an image of another size than the one sent.
    #[error("response describes a {got_w}x{got_h} image but {sent_w}x{sent_h} was sent")]
    ImageSizeMismatch {
        /// Width sent.
        sent_w: u32,
        /// Height sent.
        sent_h: u32,
        /// Width in the response.
        got_w: u32,
        /// Height in the response.
        got_h: u32,
    },
}

impl DetectionResponse {
    /// The response for `detections` (what the local endpoint sends).
    pub fn from_detections(detections: &Detections) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            model: ResponseModel {
                name: detections.model.name.clone(),
                version: detections.model.version.clone(),
                sha256: detections.model.sha256.clone(),
            },
            image: ResponseImage {
                width: detections.image_width,
                height: detections.image_height,
            },
            inference_ms: detections.inference_ms,
            detections: detections
                .detections
                .iter()
                .map(|d| ResponseDetection {
                    class_id: d.class_id,
                    label: d.label.clone(),
                    score: d.score,
                    bbox: ResponseBox {
                        x1: d.bbox.x1,
                        y1: d.bbox.y1,
                        x2: d.bbox.x2,
                        y2: d.bbox.y2,
                    },
                })
                .collect(),
        }
    }
}

/// Parses and validates a response to an image of `sent` size (width, height), and returns
/// the detections with boxes scaled to `original` (the photo's EXIF-oriented size).
pub fn parse(
    body: &[u8],
    sent: (u32, u32),
    original: (u32, u32),
) -> Result<Detections, ResponseError> {
    let response: DetectionResponse =
        serde_json::from_slice(body).map_err(|e| ResponseError::Malformed(e.to_string()))?;
    if response.schema_version != SCHEMA_VERSION {
        return Err(ResponseError::UnsupportedSchema(response.schema_version));
    }
    let ResponseImage { width, height } = response.image;
    if (width, height) != sent {
        return Err(ResponseError::ImageSizeMismatch {
            sent_w: sent.0,
            sent_h: sent.1,
            got_w: width,
            got_h: height,
        });
    }
    if !response.inference_ms.is_finite() || response.inference_ms < 0.0 {
        return Err(ResponseError::InvalidNumber {
            index: usize::MAX,
            what: "inference_ms",
        });
    }
    let (sx, sy) = (
        original.0 as f32 / width.max(1) as f32,
        original.1 as f32 / height.max(1) as f32,
    );
    let mut detections = Vec::with_capacity(response.detections.len());
    for (index, d) in response.detections.iter().enumerate() {
        if DAMAGE_CLASSES.get(d.class_id as usize) != Some(&d.label.as_str()) {
            return Err(ResponseError::UnknownClass {
                index,
                class_id: d.class_id,
                label: d.label.clone(),
            });
        }
        if !(d.score.is_finite() && (0.0..=1.0).contains(&d.score)) {
            return Err(ResponseError::InvalidNumber {
                index,
                what: "score",
            });
        }
        let b = d.bbox;
        if ![b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite()) || b.x2 < b.x1 || b.y2 < b.y1 {
            return Err(ResponseError::InvalidNumber { index, what: "box" });
        }
        let (w, h) = (width as f32, height as f32);
        let t = BOX_TOLERANCE_PX;
        if b.x1 < -t || b.y1 < -t || b.x2 > w + t || b.y2 > h + t {
            return Err(ResponseError::BoxOutsideImage {
                index,
                width,
                height,
            });
        }
        let bbox = BoundingBox {
            x1: b.x1.clamp(0.0, w) * sx,
            y1: b.y1.clamp(0.0, h) * sy,
            x2: b.x2.clamp(0.0, w) * sx,
            y2: b.y2.clamp(0.0, h) * sy,
        };
        detections.push(Detection {
            class_id: d.class_id,
            label: d.label.clone(),
            score: d.score,
            bbox,
            bbox_normalized: bbox.normalized(original.0, original.1),
        });
    }
    Ok(Detections {
        source: DetectionSource::Cloud,
        model: ModelIdentity {
            name: response.model.name,
            version: response.model.version,
            sha256: response.model.sha256,
        },
        image_width: original.0,
        image_height: original.1,
        inference_ms: response.inference_ms,
        detections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(detections: &str) -> Vec<u8> {
        format!(
            r#"{{"schema_version":1,"model":{{"name":"m","version":"1","sha256":"ab"}},
               "image":{{"width":100,"height":50}},"inference_ms":3.5,"detections":[{detections}]}}"#
        )
        .into_bytes()
    }

    const DENT: &str =
        r#"{"class_id":0,"label":"dent","score":0.9,"box":{"x1":10,"y1":5,"x2":50,"y2":25}}"#;

    #[test]
    fn valid_response_is_scaled_to_the_original() {
        let d = parse(&body(DENT), (100, 50), (400, 200)).unwrap();
        assert_eq!(d.source, DetectionSource::Cloud);
        assert_eq!((d.image_width, d.image_height), (400, 200));
        let b = d.detections[0].bbox;
        assert_eq!((b.x1, b.y1, b.x2, b.y2), (40.0, 20.0, 200.0, 100.0));
        assert_eq!(d.detections[0].bbox_normalized.x2, 0.5);
    }

    #[test]
    fn serialised_detections_parse_back() {
        let d = parse(&body(DENT), (100, 50), (100, 50)).unwrap();
        let json = serde_json::to_vec(&DetectionResponse::from_detections(&d)).unwrap();
        assert_eq!(parse(&json, (100, 50), (100, 50)).unwrap(), d);
    }

    #[test]
    fn each_kind_of_bad_response_is_a_typed_error() {
        let sent = (100, 50);
        type Case = (Vec<u8>, fn(&ResponseError) -> bool);
        let cases: Vec<Case> = vec![
            (b"<html>oops</html>".to_vec(), |e| {
                matches!(e, ResponseError::Malformed(_))
            }),
            (b"{\"schema_version\":1}".to_vec(), |e| {
                matches!(e, ResponseError::Malformed(_))
            }),
            (
                String::from_utf8(body(DENT))
                    .unwrap()
                    .replace("\"schema_version\":1", "\"schema_version\":2")
                    .into_bytes(),
                |e| matches!(e, ResponseError::UnsupportedSchema(2)),
            ),
            (
                body(&DENT.replace("\"class_id\":0", "\"class_id\":6")),
                |e| matches!(e, ResponseError::UnknownClass { .. }),
            ),
            (body(&DENT.replace("\"dent\"", "\"crack\"")), |e| {
                matches!(e, ResponseError::UnknownClass { .. })
            }),
            (body(&DENT.replace("0.9", "1.5")), |e| {
                matches!(e, ResponseError::InvalidNumber { what: "score", .. })
            }),
            (body(&DENT.replace("\"x2\":50", "\"x2\":5")), |e| {
                matches!(e, ResponseError::InvalidNumber { what: "box", .. })
            }),
            (body(&DENT.replace("\"y2\":25", "\"y2\":80")), |e| {
                matches!(e, ResponseError::BoxOutsideImage { .. })
            }),
            // JSON has no NaN literal; a server that writes one sends invalid JSON.
            (body(&DENT.replace("0.9", "NaN")), |e| {
                matches!(e, ResponseError::Malformed(_))
            }),
            (
                String::from_utf8(body(DENT))
                    .unwrap()
                    .replace("\"width\":100", "\"width\":101")
                    .into_bytes(),
                |e| matches!(e, ResponseError::ImageSizeMismatch { .. }),
            ),
        ];
        for (i, (bytes, expected)) in cases.iter().enumerate() {
            let err = parse(bytes, sent, sent).expect_err(&format!("case {i} accepted"));
            assert!(expected(&err), "case {i}: unexpected {err:?}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use super::body;

        /// Arbitrary JSON values, a few levels deep.
        fn json() -> impl Strategy<Value = serde_json::Value> {
            let leaf = prop_oneof![
                Just(serde_json::Value::Null),
                any::<bool>().prop_map(serde_json::Value::from),
                any::<f64>().prop_map(serde_json::Value::from),
                any::<i64>().prop_map(serde_json::Value::from),
                ".{0,8}".prop_map(serde_json::Value::from),
            ];
            leaf.prop_recursive(3, 32, 6, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..6)
                        .prop_map(serde_json::Value::from),
                    proptest::collection::btree_map(
                        prop_oneof![
                            Just("schema_version".to_owned()),
                            Just("detections".to_owned()),
                            Just("image".to_owned()),
                            Just("box".to_owned()),
                            Just("score".to_owned()),
                            "[a-z_]{1,8}",
                        ],
                        inner,
                        0..6,
                    )
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn any_bytes_or_json_are_parsed_or_refused_without_panicking(
                bytes in proptest::collection::vec(any::<u8>(), 0..256),
                value in json(),
            ) {
                let _ = parse(&bytes, (100, 50), (400, 200));
                let _ = parse(value.to_string().as_bytes(), (100, 50), (400, 200));
            }

            #[test]
            fn accepted_boxes_always_lie_in_the_original_image(
                boxes in proptest::collection::vec(
                    (0usize..6, 0.0f32..=1.0, -2.0f32..110.0, -2.0f32..60.0, 0.0f32..40.0, 0.0f32..40.0),
                    0..8,
                ),
            ) {
                let detections: Vec<String> = boxes
                    .iter()
                    .map(|(class, score, x, y, w, h)| {
                        format!(
                            r#"{{"class_id":{class},"label":"{}","score":{score},"box":{{"x1":{x},"y1":{y},"x2":{},"y2":{}}}}}"#,
                            DAMAGE_CLASSES[*class],
                            x + w,
                            y + h
                        )
                    })
                    .collect();
                if let Ok(parsed) = parse(&body(&detections.join(",")), (100, 50), (400, 200)) {
                    for d in &parsed.detections {
                        let b = d.bbox;
                        prop_assert!(b.x1 >= 0.0 && b.y1 >= 0.0 && b.x2 <= 400.0 && b.y2 <= 200.0, "{b:?}");
                        prop_assert!(b.x1 <= b.x2 && b.y1 <= b.y2, "{b:?}");
                        prop_assert!((0.0..=1.0).contains(&d.score));
                    }
                }
            }
        }
    }
}
