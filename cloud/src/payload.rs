//! The request body for one photo: the original when it already fits the serverless limits,
//! otherwise an oriented, downscaled JPEG. The original on disk is never touched.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;

use omni_photo::PhotoFormat;
use omni_photo::decode::{DecodeError, decode_oriented};
use omni_photo::probe::PhotoHeader;

/// Serverless endpoints accept at most 4 MB per request; stay a little under it.
pub const MAX_PAYLOAD_BYTES: usize = 4_000_000;

/// Longest side sent to the endpoint. The model runs at 640 px or less, so this loses nothing.
pub const MAX_SIDE: u32 = 1920;

/// What is sent for one photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The body.
    pub bytes: Vec<u8>,
    /// Its MIME type.
    pub content_type: &'static str,
    /// Width and height of the image in the body, EXIF orientation applied.
    pub sent_size: (u32, u32),
    /// Width and height of the original photo, EXIF orientation applied.
    pub original_size: (u32, u32),
}

/// The photo could not be turned into a request body (it cannot be decoded).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The image does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// JPEG encoding failed.
    #[error("could not re-encode the photo: {0}")]
    Encode(String),
}

/// The body of a photo's upload to the yard office: the original bytes when they fit the
/// office's (the serverless endpoint's) 4 MB limit, so the office archives exactly what the
/// phone stored; otherwise the same downscaled JPEG as [`prepare`] makes. The sizes say how
/// to read a verdict the office returns for it (boxes in the uploaded image's oriented
/// pixels).
pub fn archive(
    encoded: Vec<u8>,
    format: PhotoFormat,
    width: u32,
    height: u32,
    orientation: u8,
) -> Result<Payload, PayloadError> {
    if encoded.len() > MAX_PAYLOAD_BYTES {
        return prepare(encoded, format, width, height, orientation);
    }
    let oriented = oriented_size(format, width, height, orientation);
    Ok(Payload {
        bytes: encoded,
        content_type: format.mime_type(),
        sent_size: oriented,
        original_size: oriented,
    })
}

/// A `width`×`height` image's size once its EXIF `orientation` is applied.
fn oriented_size(format: PhotoFormat, width: u32, height: u32, orientation: u8) -> (u32, u32) {
    let header = PhotoHeader {
        format,
        width,
        height,
        orientation,
    };
    header.oriented_size()
}

/// Builds the body for a photo stored as `encoded`, `width`×`height` before orientation.
pub fn prepare(
    encoded: Vec<u8>,
    format: PhotoFormat,
    width: u32,
    height: u32,
    orientation: u8,
) -> Result<Payload, PayloadError> {
    let original_size = oriented_size(format, width, height, orientation);
    if orientation <= 1 && width.max(height) <= MAX_SIDE && encoded.len() <= MAX_PAYLOAD_BYTES {
        return Ok(Payload {
            bytes: encoded,
            content_type: format.mime_type(),
            sent_size: original_size,
            original_size,
        });
    }
    let mut image = decode_oriented(&encoded)?;
    drop(encoded);
    let mut side = MAX_SIDE;
    let mut quality = 90;
    loop {
        let (w, h) = image.dimensions();
        if w.max(h) > side {
            let scale = side as f32 / w.max(h) as f32;
            let (nw, nh) = (
                ((w as f32 * scale).round() as u32).max(1),
                ((h as f32 * scale).round() as u32).max(1),
            );
            image = image::imageops::resize(&image, nw, nh, FilterType::Triangle);
        }
        let mut bytes = Vec::new();
        JpegEncoder::new_with_quality(Cursor::new(&mut bytes), quality)
            .encode_image(&image)
            .map_err(|e| PayloadError::Encode(e.to_string()))?;
        if bytes.len() <= MAX_PAYLOAD_BYTES || side <= 320 {
            return Ok(Payload {
                bytes,
                content_type: PhotoFormat::Jpeg.mime_type(),
                sent_size: image.dimensions(),
                original_size,
            });
        }
        // Pathological content (noise): trade quality, then size, until it fits.
        if quality > 70 {
            quality -= 10;
        } else {
            side = side * 3 / 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use image::{ImageBuffer, Rgb};

    use super::*;

    fn jpeg(w: u32, h: u32, noisy: bool) -> Vec<u8> {
        let mut rng = fastrand::Rng::with_seed(7);
        let img = ImageBuffer::from_fn(w, h, |x, y| {
            if noisy {
                Rgb([rng.u8(..), rng.u8(..), rng.u8(..)])
            } else {
                Rgb([(x % 256) as u8, (y % 256) as u8, 90])
            }
        });
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(Cursor::new(&mut out), 100)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn small_photo_is_sent_as_is() {
        let bytes = jpeg(640, 480, false);
        let p = prepare(bytes.clone(), PhotoFormat::Jpeg, 640, 480, 1).unwrap();
        assert_eq!(p.bytes, bytes);
        assert_eq!(p.sent_size, (640, 480));
    }

    #[test]
    fn large_or_rotated_photo_is_downscaled_under_the_limit() {
        let bytes = jpeg(4000, 3000, true);
        assert!(bytes.len() > MAX_PAYLOAD_BYTES);
        let p = prepare(bytes, PhotoFormat::Jpeg, 4000, 3000, 1).unwrap();
        assert!(p.bytes.len() <= MAX_PAYLOAD_BYTES, "{}", p.bytes.len());
        assert!(p.sent_size.0 <= MAX_SIDE && p.sent_size.0 > p.sent_size.1);
        assert_eq!(p.original_size, (4000, 3000));

        // Orientation 6 without EXIF in the bytes: sizes follow the stored orientation.
        let p = prepare(jpeg(300, 200, false), PhotoFormat::Jpeg, 300, 200, 6).unwrap();
        assert_eq!(p.original_size, (200, 300));
    }

    #[test]
    fn undecodable_photo_is_an_error() {
        let err = prepare(
            vec![0xFF, 0xD8, 0xFF, 0, 1],
            PhotoFormat::Jpeg,
            5000,
            5000,
            1,
        );
        assert!(matches!(err, Err(PayloadError::Decode(_))));
    }
}
