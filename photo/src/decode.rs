//! Decoding a stored photo to RGB with its EXIF orientation applied, as Ultralytics sees it
//! (OpenCV's `imread` applies the orientation too). JPEGs go straight to zune-jpeg in strict
//! mode, so a truncated or corrupt photo is reported instead of being half-filled with grey.
//!
//! For the model, a JPEG at least [`DCT_SCALE_MIN_FACTOR`] times the input side on both axes
//! (a phone's 12 MP photo) is decoded at 1/4 or 1/8 scale in the DCT domain instead
//! (jpeg-decoder, which also fails on a truncated file): half the decode time, and on the
//! generated val set at 12 MP +1.9 pt mAP50-95, because the letterbox's bilinear resize aliases
//! on a 12× downscale and the DCT scale is a block average (`docs/edge-detection.md`).

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageReader, Limits, RgbImage};
use zune_jpeg::JpegDecoder;
use zune_jpeg::zune_core::bytestream::ZCursor;
use zune_jpeg::zune_core::colorspace::ColorSpace;
use zune_jpeg::zune_core::options::DecoderOptions;

use crate::probe::{PhotoFormat, exif_orientation, sniff_format};

/// Why a photo cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(pub String);

/// Largest side accepted by the decoders (the capture limits refuse bigger photos earlier).
const MAX_SIDE: usize = 16_384;
/// The most memory a single PNG decode may allocate.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

/// A JPEG is decoded at a DCT scale for a model only when both its sides are at least this many
/// times the model's input side (so the scale is 1/4 or 1/8 and the scaled image still covers
/// the input); smaller photos keep the full decode, exactly as Ultralytics reads them.
pub const DCT_SCALE_MIN_FACTOR: u32 = 4;

/// A photo decoded for a model: the pixels to letterbox, and the photo's own (oriented) size,
/// which boxes are reported in.
#[derive(Debug)]
pub struct DecodedPhoto {
    /// The oriented pixels, possibly DCT-scaled.
    pub image: RgbImage,
    /// The photo's oriented width.
    pub width: u32,
    /// The photo's oriented height.
    pub height: u32,
}

/// Decodes JPEG or PNG bytes to RGB8 and applies the EXIF orientation.
pub fn decode_oriented(encoded: &[u8]) -> Result<RgbImage, DecodeError> {
    let image = match sniff_format(encoded) {
        Some(PhotoFormat::Jpeg) => decode_jpeg(encoded)?,
        Some(PhotoFormat::Png) => decode_png(encoded)?,
        None => return Err(DecodeError("not a JPEG or PNG image".to_owned())),
    };
    Ok(oriented(exif_orientation(encoded), image))
}

/// Decodes a photo for a model of input side `side`: big JPEGs at a DCT scale (see the module
/// documentation), everything else as [`decode_oriented`].
pub fn decode_for_model(encoded: &[u8], side: u32) -> Result<DecodedPhoto, DecodeError> {
    let big_jpeg = sniff_format(encoded) == Some(PhotoFormat::Jpeg)
        && imagesize::blob_size(encoded).is_ok_and(|size| {
            let factor = DCT_SCALE_MIN_FACTOR as usize * side as usize;
            size.width.min(size.height) >= factor
        });
    if big_jpeg && let Some((scaled, width, height)) = decode_jpeg_scaled(encoded, (side, side))? {
        // EXIF orientations 5–8 rotate by a quarter turn: the photo's sides swap.
        let orientation = exif_orientation(encoded);
        let (width, height) = if (5..=8).contains(&orientation) {
            (height, width)
        } else {
            (width, height)
        };
        let image = oriented(orientation, scaled);
        return Ok(DecodedPhoto {
            image,
            width,
            height,
        });
    }
    let image = decode_oriented(encoded)?;
    let (width, height) = image.dimensions();
    Ok(DecodedPhoto {
        image,
        width,
        height,
    })
}

/// `image` with the EXIF `orientation` (1–8) applied.
pub(crate) fn oriented(orientation: u8, image: RgbImage) -> RgbImage {
    let orientation = Orientation::from_exif(orientation).unwrap_or(Orientation::NoTransforms);
    if orientation == Orientation::NoTransforms {
        return image;
    }
    let mut oriented = DynamicImage::ImageRgb8(image);
    oriented.apply_orientation(orientation);
    oriented.into_rgb8()
}

/// A colour JPEG decoded at the smallest DCT scale that keeps its (unoriented) width and height
/// at least `min` (width, height), with its full (unoriented) size; `None` for grey or CMYK
/// JPEGs, which take the full decode.
pub(crate) fn decode_jpeg_scaled(
    encoded: &[u8],
    min: (u32, u32),
) -> Result<Option<(RgbImage, u32, u32)>, DecodeError> {
    let failed = |e: jpeg_decoder::Error| DecodeError(format!("JPEG: {e}"));
    let mut decoder = jpeg_decoder::Decoder::new(encoded);
    decoder.set_max_decoding_buffer_size(MAX_SIDE * MAX_SIDE * 3);
    decoder.read_info().map_err(failed)?;
    let full = decoder
        .info()
        .ok_or_else(|| DecodeError("JPEG: no frame header".to_owned()))?;
    if full.pixel_format != jpeg_decoder::PixelFormat::RGB24 {
        return Ok(None);
    }
    let side = |v: u32| u16::try_from(v).unwrap_or(u16::MAX);
    decoder.scale(side(min.0), side(min.1)).map_err(failed)?;
    let pixels = decoder.decode().map_err(failed)?;
    let scaled = decoder
        .info()
        .ok_or_else(|| DecodeError("JPEG: no frame header".to_owned()))?;
    let image = RgbImage::from_raw(u32::from(scaled.width), u32::from(scaled.height), pixels)
        .ok_or_else(|| DecodeError("JPEG: decoded buffer has the wrong size".to_owned()))?;
    Ok(Some((image, u32::from(full.width), u32::from(full.height))))
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
