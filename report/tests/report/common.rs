//! Fixtures: a closed inspection with photos (generated JPEGs), detections and reviews.

#![allow(dead_code)]

use std::io::Cursor;

use omni_report::Face;
use omni_report::input::{
    BoxPx, DetectionInput, PhotoInput, Place, ReportInput, ReviewAction, ReviewInput,
    ReviewedLocation, VerdictInput,
};

/// A JPEG of `w` x `h`: a grey gradient with a dark patch (a "dent") and a rust-coloured one.
pub fn jpeg(w: u32, h: u32, seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let g = (((x + y) * 255 / (w + h)) as u8).wrapping_add(seed);
        if (w / 4..w / 2).contains(&x) && (h / 4..h * 7 / 12).contains(&y) {
            image::Rgb([40, 40, 50])
        } else if (w / 16..w * 3 / 16).contains(&x) && (h * 3 / 4..h * 11 / 12).contains(&y) {
            image::Rgb([150, 70, 30])
        } else {
            image::Rgb([g, g, g.saturating_add(20)])
        }
    });
    let mut out = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode jpeg");
    out.into_inner()
}

fn b(x1: f32, y1: f32, x2: f32, y2: f32) -> BoxPx {
    BoxPx { x1, y1, x2, y2 }
}

fn det(class_id: u32, score: f32, bbox: BoxPx) -> DetectionInput {
    DetectionInput {
        class_id,
        score,
        bbox,
    }
}

fn photo(
    id: &str,
    face: Face,
    detections: Vec<DetectionInput>,
    reviews: Vec<ReviewInput>,
) -> PhotoInput {
    PhotoInput {
        id: id.into(),
        face,
        width: 1600,
        height: 1200,
        verdict: Some(VerdictInput {
            source: "cloud".into(),
            model: "yolo11n-omni-damage 0.2.0".into(),
            detections,
        }),
        reviews,
        bytes: None,
    }
}

fn review(id: &str, action: ReviewAction, location: Option<ReviewedLocation>) -> ReviewInput {
    ReviewInput {
        id: id.into(),
        reviewer: "ana.garcía".into(),
        at_ms: 1_780_000_900_000,
        action,
        location,
    }
}

/// A gate-in of CSQU3054383: right side with a large dent and some rust, the door end with a
/// scratch a reviewer confirmed and located, the front sound, the interior with dirt a reviewer
/// rejected and mould a reviewer added. Left side and roof not photographed.
pub fn sample_input() -> ReportInput {
    ReportInput {
        inspection_id: "0190b2f4-0000-7000-8000-00000000000a".into(),
        revision: 2,
        reviews: 0,
        eir_number: "EIR-2026-000123".into(),
        container_number: "CSQU3054383".into(),
        kind: "gate-in".into(),
        inspector: "inspector-7 (José Núñez)".into(),
        started_at_ms: 1_780_000_000_000,
        closed_at_ms: 1_780_000_600_000,
        location: Some(Place {
            name: Some("Terminal de Algeciras".into()),
            latitude: Some(36.13),
            longitude: Some(-5.35),
        }),
        photos: vec![
            photo(
                "p-right",
                Face::Right,
                vec![
                    det(0, 0.91, b(400.0, 300.0, 800.0, 700.0)),
                    det(2, 0.75, b(100.0, 900.0, 300.0, 1100.0)),
                ],
                vec![],
            ),
            photo(
                "p-door",
                Face::Door,
                vec![det(3, 0.6, b(10.0, 10.0, 110.0, 60.0))],
                vec![review(
                    "r1",
                    ReviewAction::Confirm { detection: 0 },
                    Some(ReviewedLocation {
                        part: 'B',
                        sections: ['2', 'N'],
                    }),
                )],
            ),
            photo("p-front", Face::Front, vec![], vec![]),
            photo(
                "p-interior",
                Face::Interior,
                vec![det(1, 0.8, b(0.0, 0.0, 400.0, 300.0))],
                vec![
                    review("r2", ReviewAction::Reject { detection: 0 }, None),
                    review(
                        "r3",
                        ReviewAction::Add {
                            class_id: 5,
                            bbox: b(50.0, 50.0, 250.0, 250.0),
                        },
                        None,
                    ),
                ],
            ),
        ],
    }
}

/// The sample with generated photo bytes.
pub fn sample_with_photos() -> ReportInput {
    let mut input = sample_input();
    for (i, p) in input.photos.iter_mut().enumerate() {
        p.bytes = Some(jpeg(p.width, p.height, i as u8 * 40));
    }
    input
}

/// The damage ids of the sample, in order.
pub const SAMPLE_DAMAGES: [&str; 4] = ["p-right/d0", "p-right/d1", "p-door/d0", "p-interior/rr3"];

/// `n` damaged photos of 4000 x 3000 (12 MP, as phones take them), one dent each.
pub fn damaged_photos(n: usize) -> ReportInput {
    let mut input = sample_input();
    let faces = Face::ALL;
    input.photos = (0..n)
        .map(|i| {
            let mut p = photo(
                &format!("p{i}"),
                faces[i % faces.len()],
                vec![det(0, 0.9, b(1000.0, 750.0, 2000.0, 1750.0))],
                vec![],
            );
            p.width = 4000;
            p.height = 3000;
            p.bytes = Some(jpeg(4000, 3000, i as u8 * 20));
            p
        })
        .collect();
    input
}
