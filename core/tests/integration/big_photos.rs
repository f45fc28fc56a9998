//! Big JPEGs (a phone's 12 MP photo) decoded at a DCT scale for the model: boxes reported in
//! the photo's own pixels and orientation, a truncated photo still an error, smaller photos
//! decoded in full as before.

use crate::common;

use std::fs;
use std::io::Cursor;

use common::fixture;
use image::imageops::FilterType;
use omni_core::detect::{
    DetectError, Detector, EdgeDetector, EdgeDetectorConfig, PostprocessConfig,
};
use omni_photo::decode::{DCT_SCALE_MIN_FACTOR, decode_for_model, decode_oriented};

/// The yard fixture photo upscaled to 4000x3000 and encoded at quality 92, with the APP1
/// (EXIF) segment of `exif_from` spliced in after the SOI marker when given.
fn twelve_megapixel(exif_from: Option<&str>) -> Vec<u8> {
    let photo = image::open(fixture("images/yard-1280x720.jpg")).expect("fixture");
    let big = photo
        .resize_exact(4000, 3000, FilterType::Triangle)
        .into_rgb8();
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
        .encode_image(&big)
        .expect("encode");
    let Some(name) = exif_from else { return jpeg };
    let source = fs::read(fixture(&format!("images/{name}"))).expect("exif fixture");
    let at = source
        .windows(2)
        .position(|w| w == [0xFF, 0xE1])
        .expect("an APP1 segment");
    let length = usize::from(u16::from_be_bytes([source[at + 2], source[at + 3]]));
    let mut spliced = jpeg[..2].to_vec();
    spliced.extend_from_slice(&source[at..at + 2 + length]);
    spliced.extend_from_slice(&jpeg[2..]);
    spliced
}

/// The same photo as the detector sees it after the DCT-scaled decode, as a lossless PNG.
fn as_png(image: &image::RgbImage) -> Vec<u8> {
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    png
}

fn detector() -> EdgeDetector {
    let config = EdgeDetectorConfig {
        postprocess: PostprocessConfig {
            confidence: 0.05,
            ..PostprocessConfig::default()
        },
        ..EdgeDetectorConfig::default()
    };
    EdgeDetector::from_path(&fixture("models/yolo11n-6cls-320-f32.onnx"), &config).expect("model")
}

#[test]
fn a_twelve_megapixel_jpeg_is_decoded_at_one_eighth_and_boxes_come_back_in_its_pixels() {
    let detector = detector();
    let photo = twelve_megapixel(None);
    let decoded = decode_for_model(&photo, 320).expect("decode");
    assert_eq!(decoded.image.dimensions(), (500, 375), "1/8 DCT scale");
    assert_eq!((decoded.width, decoded.height), (4000, 3000));

    let found = detector.detect(&photo).expect("detect");
    assert_eq!((found.image_width, found.image_height), (4000, 3000));
    // The same pixels given as a 500x375 photo: the same boxes, 8 times smaller.
    let small = detector.detect(&as_png(&decoded.image)).expect("detect");
    assert!(!small.detections.is_empty(), "the photo has damage to find");
    assert_eq!(found.detections.len(), small.detections.len());
    for (big, small) in found.detections.iter().zip(&small.detections) {
        assert_eq!(big.class_id, small.class_id);
        assert_eq!(big.score, small.score);
        for (b, s) in [
            (big.bbox.x1, small.bbox.x1),
            (big.bbox.y1, small.bbox.y1),
            (big.bbox.x2, small.bbox.x2),
            (big.bbox.y2, small.bbox.y2),
        ] {
            assert!((b - s * 8.0).abs() < 1e-2, "{big:?} vs {small:?}");
        }
        assert!((big.bbox_normalized.x2 - small.bbox_normalized.x2).abs() < 1e-5);
        assert!(big.bbox.x2 <= 4000.0 && big.bbox.y2 <= 3000.0);
    }
}

#[test]
fn an_exif_rotated_big_jpeg_reports_its_rotated_size_and_boxes_inside_it() {
    let photo = twelve_megapixel(Some("exif-orient6-640x480.jpg"));
    let decoded = decode_for_model(&photo, 320).expect("decode");
    assert_eq!(
        decoded.image.dimensions(),
        (375, 500),
        "rotated a quarter turn"
    );
    assert_eq!((decoded.width, decoded.height), (3000, 4000));
    let found = detector().detect(&photo).expect("detect");
    assert_eq!((found.image_width, found.image_height), (3000, 4000));
    assert!(!found.detections.is_empty());
    for d in &found.detections {
        assert!(d.bbox.x2 <= 3000.0 && d.bbox.y2 <= 4000.0, "{d:?}");
    }
}

#[test]
fn a_truncated_big_jpeg_is_still_a_decode_error() {
    let photo = twelve_megapixel(None);
    let cut = &photo[..photo.len() * 9 / 10];
    let result = detector().detect(cut);
    assert!(matches!(result, Err(DetectError::Decode(_))), "{result:?}");
}

#[test]
fn photos_under_the_factor_are_decoded_in_full_as_before() {
    for name in crate::edge_detection::IMAGES {
        let bytes = fs::read(fixture(&format!("images/{name}"))).expect("fixture");
        let full = decode_oriented(&bytes).expect("decode");
        let decoded = decode_for_model(&bytes, 320).expect("decode");
        assert!(
            full.width().min(full.height()) < DCT_SCALE_MIN_FACTOR * 320,
            "{name} is a small photo"
        );
        assert_eq!(decoded.image, full, "{name}");
        assert_eq!((decoded.width, decoded.height), full.dimensions(), "{name}");
    }
}
