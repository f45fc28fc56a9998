//! Header-only inspection of captured photos: format by magic bytes, dimensions, EXIF
//! orientation, and the limits that refuse decompression bombs. Nothing here decodes pixels.

use std::io::Cursor;

use serde::Serialize;

/// Image formats the core accepts from the camera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoFormat {
    /// JPEG (JFIF/EXIF), what phone cameras produce.
    Jpeg,
    /// PNG, for screenshots and tests.
    Png,
}

impl PhotoFormat {
    /// The file extension used under `photos/`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
        }
    }

    /// The name stored in the database (`jpeg`, `png`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
        }
    }

    /// Parses the database name.
    pub fn from_db(name: &str) -> Option<Self> {
        match name {
            "jpeg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            _ => None,
        }
    }

    /// The MIME type.
    pub fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

/// Limits applied before a photo is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted encoded size in bytes.
    pub max_bytes: usize,
    /// Largest accepted width × height, as the header declares it.
    pub max_pixels: u64,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        Self {
            max_bytes: 40 * 1024 * 1024,
            max_pixels: 50_000_000,
        }
    }
}

/// What the header of an accepted photo says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhotoHeader {
    /// Encoded format.
    pub format: PhotoFormat,
    /// Stored pixel width (before EXIF orientation is applied).
    pub width: u32,
    /// Stored pixel height (before EXIF orientation is applied).
    pub height: u32,
    /// EXIF orientation, 1–8 (1 when absent or unreadable).
    pub orientation: u8,
}

impl PhotoHeader {
    /// Width and height once the EXIF orientation is applied (5–8 swap the axes).
    pub fn oriented_size(&self) -> (u32, u32) {
        if self.orientation >= 5 {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// Why a photo was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Exhaustive on purpose: omni-core maps every variant to a stable code for hosts (`ApiError`), and the office to an HTTP answer, and a new variant must be mapped there.
pub enum PhotoError {
    /// No bytes at all.
    #[error("photo is empty (0 bytes)")]
    Empty,
    /// More bytes than [`PhotoLimits::max_bytes`].
    #[error("photo is {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Size given.
        size: usize,
        /// Limit in force.
        limit: usize,
    },
    /// The magic bytes are neither JPEG nor PNG.
    #[error("not a JPEG or PNG photo (starts with {magic})")]
    UnsupportedFormat {
        /// Hex of the first bytes, for the error report.
        magic: String,
    },
    /// The magic bytes match but the header cannot be read.
    #[error("{format:?} header is unreadable: {reason}")]
    CorruptHeader {
        /// Sniffed format.
        format: PhotoFormat,
        /// The parser's reason.
        reason: String,
    },
    /// The header declares more pixels than [`PhotoLimits::max_pixels`].
    #[error("photo declares {width}x{height} pixels, more than the {limit}-pixel limit")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Limit in force.
        limit: u64,
    },
}

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Sniffs the format from the magic bytes.
pub fn sniff_format(bytes: &[u8]) -> Option<PhotoFormat> {
    if bytes.starts_with(JPEG_MAGIC) {
        Some(PhotoFormat::Jpeg)
    } else if bytes.starts_with(PNG_MAGIC) {
        Some(PhotoFormat::Png)
    } else {
        None
    }
}

/// Checks size, format, declared dimensions and orientation without decoding pixels.
///
/// A JPEG whose body is truncated but whose header is intact passes: it is kept as the
/// inspector's evidence and detection later reports it unreadable.
pub fn probe(bytes: &[u8], limits: PhotoLimits) -> Result<PhotoHeader, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLarge {
            size: bytes.len(),
            limit: limits.max_bytes,
        });
    }
    let format = sniff_format(bytes).ok_or_else(|| PhotoError::UnsupportedFormat {
        magic: bytes.iter().take(8).map(|b| format!("{b:02x}")).collect(),
    })?;
    let size = imagesize::blob_size(bytes).map_err(|e| PhotoError::CorruptHeader {
        format,
        reason: e.to_string(),
    })?;
    let (width, height) = (
        u32::try_from(size.width).unwrap_or(u32::MAX),
        u32::try_from(size.height).unwrap_or(u32::MAX),
    );
    if width == 0 || height == 0 {
        return Err(PhotoError::CorruptHeader {
            format,
            reason: format!("declared size {width}x{height}"),
        });
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PhotoError::TooManyPixels {
            width,
            height,
            limit: limits.max_pixels,
        });
    }
    Ok(PhotoHeader {
        format,
        width,
        height,
        orientation: exif_orientation(bytes),
    })
}

/// The EXIF orientation tag (1–8), or 1 when there is none or it cannot be read: a
/// broken EXIF block is no reason to refuse evidence.
pub(crate) fn exif_orientation(bytes: &[u8]) -> u8 {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return 1;
    };
    exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|field| field.value.get_uint(0))
        .and_then(|value| u8::try_from(value).ok())
        .filter(|value| (1..=8).contains(value))
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal PNG signature + IHDR chunk declaring `width`×`height` (CRC not checked
    /// by header parsers).
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = PNG_MAGIC.to_vec();
        bytes.extend_from_slice(&13u32.to_be_bytes());
        bytes.extend_from_slice(b"IHDR");
        bytes.extend_from_slice(&width.to_be_bytes());
        bytes.extend_from_slice(&height.to_be_bytes());
        bytes.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        bytes
    }

    #[test]
    fn empty_and_oversized_inputs_are_refused() {
        let limits = PhotoLimits::default();
        assert_eq!(probe(&[], limits), Err(PhotoError::Empty));
        let small = PhotoLimits {
            max_bytes: 4,
            ..limits
        };
        assert!(matches!(
            probe(&[0xFF, 0xD8, 0xFF, 0xE0, 0], small),
            Err(PhotoError::TooLarge { size: 5, limit: 4 })
        ));
    }

    #[test]
    fn text_is_not_a_photo() {
        let err = probe(b"hello, I am a text file", PhotoLimits::default()).expect_err("text");
        assert!(
            matches!(err, PhotoError::UnsupportedFormat { ref magic } if magic == "68656c6c6f2c2049")
        );
    }

    #[test]
    fn png_declaring_thirty_thousand_squared_is_a_bomb() {
        let err = probe(&png_header(30_000, 30_000), PhotoLimits::default()).expect_err("bomb");
        assert_eq!(
            err,
            PhotoError::TooManyPixels {
                width: 30_000,
                height: 30_000,
                limit: 50_000_000
            }
        );
    }

    #[test]
    fn png_header_gives_dimensions() {
        let header = probe(&png_header(640, 480), PhotoLimits::default()).expect("valid");
        assert_eq!(header.format, PhotoFormat::Png);
        assert_eq!(
            (header.width, header.height, header.orientation),
            (640, 480, 1)
        );
    }

    #[test]
    fn jpeg_magic_without_header_is_corrupt() {
        let err = probe(&[0xFF, 0xD8, 0xFF, 0xE0, 0x00], PhotoLimits::default()).expect_err("x");
        assert!(matches!(
            err,
            PhotoError::CorruptHeader {
                format: PhotoFormat::Jpeg,
                ..
            }
        ));
    }

    #[test]
    fn oriented_size_swaps_for_rotations() {
        let header = PhotoHeader {
            format: PhotoFormat::Jpeg,
            width: 4000,
            height: 3000,
            orientation: 6,
        };
        assert_eq!(header.oriented_size(), (3000, 4000));
    }

    mod properties {
        use proptest::prelude::*;

        use super::super::*;
        use super::png_header;

        const JPEG_SOI: [u8; 3] = [0xff, 0xd8, 0xff];

        proptest! {
            #[test]
            fn any_bytes_are_probed_or_refused_without_panicking(
                bytes in proptest::collection::vec(any::<u8>(), 0..512),
            ) {
                let _ = probe(&bytes, PhotoLimits::default());
            }

            #[test]
            fn mangled_jpeg_and_png_headers_never_pass_the_limits(
                jpeg in any::<bool>(),
                width in any::<u32>(),
                height in any::<u32>(),
                tail in proptest::collection::vec(any::<u8>(), 0..256),
            ) {
                let mut bytes = if jpeg { JPEG_SOI.to_vec() } else { png_header(width, height) };
                bytes.extend_from_slice(&tail);
                let limits = PhotoLimits::default();
                if let Ok(header) = probe(&bytes, limits) {
                    prop_assert!(header.width > 0 && header.height > 0);
                    prop_assert!(u64::from(header.width) * u64::from(header.height) <= limits.max_pixels);
                    prop_assert!((1..=8).contains(&header.orientation));
                }
            }
        }
    }
}
