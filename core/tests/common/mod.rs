//! Helpers shared by the core's integration tests.

#![allow(dead_code, missing_docs)]

use std::io::Cursor;

use image::{ImageFormat, Rgb, RgbImage};

/// A real JPEG of `width`×`height` with content that depends on `seed`.
pub fn jpeg(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Jpeg)
}

/// A real PNG of `width`×`height`.
pub fn png(width: u32, height: u32, seed: u32) -> Vec<u8> {
    encode(width, height, seed, ImageFormat::Png)
}

fn encode(width: u32, height: u32, seed: u32, format: ImageFormat) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        let v = x.wrapping_mul(7) ^ y.wrapping_mul(13) ^ seed.wrapping_mul(2_654_435_761);
        Rgb([
            (v & 0xff) as u8,
            ((v >> 8) & 0xff) as u8,
            (x + y + seed) as u8,
        ])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), format)
        .expect("encode test image");
    bytes
}

/// Lowercase hex SHA-256, computed independently of the core.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
