//! A photo's bytes, read the same way by the phone core, the local endpoint and the yard
//! office:
//!
//! - [`probe`]: JPEG or PNG by magic bytes, size and pixel limits, EXIF orientation, all from
//!   the header (nothing is decoded), so a capture or an upload is refused or accepted at once;
//! - [`decode`]: decoding to RGB with the EXIF orientation applied, as Ultralytics reads a
//!   photo, and the DCT-scaled decode of big JPEGs for a model;
//! - [`scale`]: downscaled JPEG copies (the report's images, the office's thumbnails).
//!
//! No file or network I/O: callers pass bytes.

pub mod decode;
pub mod probe;
pub mod scale;

pub use decode::DecodeError;
pub use probe::{PhotoError, PhotoFormat, PhotoHeader, PhotoLimits};
