//! Decoding a stored photo to RGB with its EXIF orientation applied, as Ultralytics sees it
//! (OpenCV's `imread` applies the orientation too). JPEGs go straight to zune-jpeg in strict
//! mode, so a truncated or corrupt photo is reported instead of being half-filled with grey.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, Limits, RgbImage};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::photo_probe::{PhotoFormat, exif_orientation, sniff_format};

/// Why a photo cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Largest side accepted by the decoders (the capture limits refuse bigger photos earlier).
const MAX_SIDE: usize = 16_384;
/// The most memory a single PNG decode may allocate.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// Decodes JPEG or PNG bytes to RGB8 and applies the EXIF orientation.
pub fn decode_oriented(encoded: &[u8]) -> Result<RgbImage, DecodeError> {
    let image = match sniff_format(encoded) {
        Some(PhotoFormat::Jpeg) => decode_jpeg(encoded)?,
        Some(PhotoFormat::Png) => decode_png(encoded)?,
        None => return Err(DecodeError("not a JPEG or PNG image".to_owned())),
    };
    let orientation =
        Orientation::from_exif(exif_orientation(encoded)).unwrap_or(Orientation::NoTransforms);
    if orientation == Orientation::NoTransforms {
        return Ok(image);
    }
    let mut oriented = DynamicImage::ImageRgb8(image);
    oriented.apply_orientation(orientation);
    Ok(oriented.into_rgb8())
}

fn decode_jpeg(encoded: &[u8]) -> Result<RgbImage, DecodeError> {
    let options = DecoderOptions::default()
        .set_strict_mode(true)
        .set_max_width(MAX_SIDE)
        .set_max_height(MAX_SIDE)
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(encoded), options);
    let pixels = decoder
        .decode()
        .map_err(|e| DecodeError(format!("JPEG: {e:?}")))?;
    let info = decoder
        .info()
        .ok_or_else(|| DecodeError("JPEG: no frame header".to_owned()))?;
    RgbImage::from_raw(u32::from(info.width), u32::from(info.height), pixels)
        .ok_or_else(|| DecodeError("JPEG: decoded buffer has the wrong size".to_owned()))
}

fn decode_png(encoded: &[u8]) -> Result<RgbImage, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(encoded), image::ImageFormat::Png);
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| DecodeError(format!("PNG: {e}")))?;
    Ok(match image {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_images_and_broken_headers_are_errors() {
        assert!(decode_oriented(b"plain text").is_err());
        assert!(decode_oriented(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 16]).is_err());
        assert!(decode_oriented(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]).is_err());
    }
}
