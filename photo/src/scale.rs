//! Downscaled JPEG copies of a photo, with its EXIF orientation applied: the report's
//! (Amazon Nova's images, the PDF's photos) and the office's thumbnails. One implementation:
//! a big JPEG is decoded at a DCT scale (1/2, 1/4 or 1/8, a block average) that still covers
//! the target size, then resized (triangle filter) to it, so a 12 MP photo's thumbnail never
//! decodes 12 MP.

use std::io::Cursor;

use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};

use crate::decode::{DecodeError, decode_jpeg_scaled, decode_oriented, oriented};
use crate::probe::{PhotoFormat, exif_orientation, sniff_format};

/// The long side of a thumbnail, in pixels.
pub const THUMBNAIL_LONG_SIDE: u32 = 320;
/// The JPEG quality of a thumbnail.
pub const THUMBNAIL_QUALITY: u8 = 75;

/// How small a downscaled copy is; its aspect is the photo's. A photo already within it
/// keeps its size (it is only re-encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fit {
    /// At most this many pixels.
    MaxPixels(u32),
    /// The long side at most this many pixels.
    LongSide(u32),
}

/// A downscaled copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScaledJpeg {
    /// The JPEG bytes.
    pub bytes: Vec<u8>,
    /// Its width.
    pub width: u32,
    /// Its height.
    pub height: u32,
    /// The photo's own oriented (width, height), which boxes on it are in.
    pub source: (u32, u32),
}

/// The size of an oriented `width`×`height` photo brought within `fit`.
fn target(width: u32, height: u32, fit: Fit) -> (u32, u32) {
    let (w, h) = (f64::from(width), f64::from(height));
    let scale = match fit {
        Fit::MaxPixels(max) => {
            let pixels = w * h;
            if pixels <= f64::from(max) {
                return (width, height);
            }
            (f64::from(max) / pixels).sqrt()
        }
        Fit::LongSide(side) => {
            let long = width.max(height);
            if long <= side {
                return (width, height);
            }
            f64::from(side) / f64::from(long)
        }
    };
    let side = |v: f64, round: bool| {
        let v = v * scale;
        (if round { v.round() } else { v.floor() } as u32).max(1)
    };
    match fit {
        // The long side lands exactly on the bound; the short one is rounded.
        Fit::LongSide(bound) if width >= height => (bound, side(h, true)),
        Fit::LongSide(bound) => (side(w, true), bound),
        Fit::MaxPixels(_) => (side(w, false), side(h, false)),
    }
}

/// Decodes JPEG or PNG bytes (oriented), brings them within `fit` (aspect kept) and encodes
/// them as JPEG at `quality`.
pub fn downscale_jpeg(encoded: &[u8], fit: Fit, quality: u8) -> Result<ScaledJpeg, DecodeError> {
    let (image, source) = decode_within(encoded, fit)?;
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut bytes), quality)
        .encode_image(&image)
        .map_err(|e| DecodeError(format!("JPEG encoding: {e}")))?;
    Ok(ScaledJpeg {
        bytes,
        width: image.width(),
        height: image.height(),
        source,
    })
}

/// A photo's thumbnail: the long side [`THUMBNAIL_LONG_SIDE`], JPEG at [`THUMBNAIL_QUALITY`].
pub fn thumbnail(encoded: &[u8]) -> Result<ScaledJpeg, DecodeError> {
    downscale_jpeg(
        encoded,
        Fit::LongSide(THUMBNAIL_LONG_SIDE),
        THUMBNAIL_QUALITY,
    )
}

/// Pixels brought within a fit, and the photo's own oriented (width, height).
type Within = (RgbImage, (u32, u32));

/// The oriented pixels brought within `fit`, and the photo's oriented size.
fn decode_within(encoded: &[u8], fit: Fit) -> Result<Within, DecodeError> {
    if let Some(scaled) = scaled_jpeg(encoded, fit)? {
        return Ok(scaled);
    }
    let full = decode_oriented(encoded)?;
    let source = full.dimensions();
    let (w, h) = target(source.0, source.1, fit);
    Ok((resized(full, w, h), source))
}

/// `image` at `width`×`height` (itself when it already is).
fn resized(image: RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        image
    } else {
        imageops::resize(&image, width, height, FilterType::Triangle)
    }
}

/// A big colour JPEG decoded at a DCT scale that covers its target and resized to it; `None`
/// for anything else (PNG, grey or CMYK JPEG, or a JPEG less than twice its target), which
/// takes the full decode.
fn scaled_jpeg(encoded: &[u8], fit: Fit) -> Result<Option<Within>, DecodeError> {
    if sniff_format(encoded) != Some(PhotoFormat::Jpeg) {
        return Ok(None);
    }
    let Ok(size) = imagesize::blob_size(encoded) else {
        return Ok(None);
    };
    let (Ok(width), Ok(height)) = (u32::try_from(size.width), u32::try_from(size.height)) else {
        return Ok(None);
    };
    let orientation = exif_orientation(encoded);
    // EXIF orientations 5–8 rotate by a quarter turn: the oriented sides swap.
    let turned = (5..=8).contains(&orientation);
    let (ow, oh) = if turned {
        (height, width)
    } else {
        (width, height)
    };
    let (tw, th) = target(ow, oh, fit);
    let (min_w, min_h) = if turned { (th, tw) } else { (tw, th) };
    if width < 2 * min_w || height < 2 * min_h {
        return Ok(None);
    }
    let Some((image, _, _)) = decode_jpeg_scaled(encoded, (min_w, min_h))? else {
        return Ok(None);
    };
    Ok(Some((
        resized(oriented(orientation, image), tw, th),
        (ow, oh),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb};

    fn jpeg(width: u32, height: u32) -> Vec<u8> {
        let image: RgbImage = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(Cursor::new(&mut bytes), 90)
            .encode_image(&image)
            .expect("encode");
        bytes
    }

    #[test]
    fn targets_keep_the_aspect() {
        assert_eq!(target(4000, 3000, Fit::LongSide(320)), (320, 240));
        assert_eq!(target(3000, 4000, Fit::LongSide(320)), (240, 320));
        assert_eq!(target(200, 100, Fit::LongSide(320)), (200, 100));
        assert_eq!(target(2000, 1000, Fit::MaxPixels(500_000)), (1000, 500));
        assert_eq!(target(10_000, 1, Fit::LongSide(320)), (320, 1));
    }

    #[test]
    fn thumbnails_of_big_and_small_photos() {
        for (w, h, tw, th) in [
            (1600, 1200, 320, 240),
            (1200, 1600, 240, 320),
            (300, 200, 300, 200),
        ] {
            let thumb = thumbnail(&jpeg(w, h)).expect("thumbnail");
            assert_eq!((thumb.width, thumb.height), (tw, th));
            assert_eq!(thumb.source, (w, h));
            let decoded = decode_oriented(&thumb.bytes).expect("decodes");
            assert_eq!(decoded.dimensions(), (tw, th));
        }
    }

    #[test]
    fn max_pixels_as_the_report_asks() {
        let scaled = downscale_jpeg(&jpeg(2000, 1000), Fit::MaxPixels(500_000), 80).expect("ok");
        assert_eq!((scaled.width, scaled.height), (1000, 500));
    }

    #[test]
    fn non_images_and_truncated_jpegs_are_errors() {
        assert!(thumbnail(b"plain text").is_err());
        let bytes = jpeg(1600, 1200);
        assert!(thumbnail(&bytes[..bytes.len() / 2]).is_err());
    }
}
