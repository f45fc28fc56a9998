//! Writes a JPEG of a photo with its detections drawn as labelled boxes.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use omni_core::Detections;
use omni_core::detect::DecodeError;
use omni_photo::decode::decode_oriented;

/// Why an annotated copy could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    /// The stored photo does not decode.
    #[error("cannot decode for annotation: {0}")]
    Decode(#[from] DecodeError),
    /// The JPEG cannot be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The annotated copy.
        path: PathBuf,
        /// Why.
        source: image::ImageError,
    },
}

/// One colour per class id (wraps for more classes).
const PALETTE: [[u8; 3]; 6] = [
    [255, 56, 56],   // dent
    [255, 157, 151], // dirt
    [255, 112, 31],  // rust
    [0, 194, 255],   // scratch
    [146, 204, 23],  // spoiled
    [61, 219, 134],  // mold
];

/// Decodes `encoded`, draws `detections` on it and writes `out` as JPEG.
pub fn write_annotated(
    encoded: &[u8],
    detections: &Detections,
    out: &Path,
) -> Result<(), AnnotateError> {
    let mut image = decode_oriented(encoded)?;
    let (w, h) = image.dimensions();
    let scale = (w.min(h) / 320).max(1);
    let thickness = scale.max(2);
    for d in &detections.detections {
        let color = Rgb(PALETTE[d.class_id as usize % PALETTE.len()]);
        let (x1, y1) = (d.bbox.x1.max(0.0) as u32, d.bbox.y1.max(0.0) as u32);
        let (x2, y2) = (
            (d.bbox.x2 as u32).min(w.saturating_sub(1)),
            (d.bbox.y2 as u32).min(h.saturating_sub(1)),
        );
        draw_rect(&mut image, (x1, y1, x2, y2), thickness, color);
        let label = format!("{} {:.0}%", d.label, d.score * 100.0);
        let text_h = 8 * scale + 2 * scale;
        let text_w = label.len() as u32 * 8 * scale + 2 * scale;
        let ty = if y1 >= text_h { y1 - text_h } else { y1 };
        fill_rect(&mut image, (x1, ty, x1 + text_w, ty + text_h), color);
        draw_text(
            &mut image,
            x1 + scale,
            ty + scale,
            scale,
            &label,
            Rgb([0, 0, 0]),
        );
    }
    image
        .save_with_format(out, image::ImageFormat::Jpeg)
        .map_err(|source| AnnotateError::Write {
            path: out.to_owned(),
            source,
        })
}

fn fill_rect(image: &mut RgbImage, (x1, y1, x2, y2): (u32, u32, u32, u32), color: Rgb<u8>) {
    let (w, h) = image.dimensions();
    for y in y1..y2.min(h) {
        for x in x1..x2.min(w) {
            image.put_pixel(x, y, color);
        }
    }
}

fn draw_rect(image: &mut RgbImage, (x1, y1, x2, y2): (u32, u32, u32, u32), t: u32, color: Rgb<u8>) {
    fill_rect(image, (x1, y1, x2 + 1, (y1 + t).min(y2 + 1)), color);
    fill_rect(image, (x1, y2.saturating_sub(t) + 1, x2 + 1, y2 + 1), color);
    fill_rect(image, (x1, y1, (x1 + t).min(x2 + 1), y2 + 1), color);
    fill_rect(image, (x2.saturating_sub(t) + 1, y1, x2 + 1, y2 + 1), color);
}

/// Draws ASCII text with the 8×8 bitmap font, each font pixel `scale`×`scale`.
fn draw_text(image: &mut RgbImage, x: u32, y: u32, scale: u32, text: &str, color: Rgb<u8>) {
    use font8x8::UnicodeFonts;
    let (w, h) = image.dimensions();
    for (i, c) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(c) else {
            continue;
        };
        let gx = x + i as u32 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8u32 {
                if bits & (1 << col) == 0 {
                    continue;
                }
                for dy in 0..scale {
                    for dx in 0..scale {
                        let (px, py) = (gx + col * scale + dx, y + row as u32 * scale + dy);
                        if px < w && py < h {
                            image.put_pixel(px, py, color);
                        }
                    }
                }
            }
        }
    }
}
