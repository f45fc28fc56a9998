//! A 64-bit difference hash (dHash) of a photo: near-duplicate shots (the same container
//! photographed twice in a row) differ in a few bits, different scenes in about half.

use image::DynamicImage;
use image::imageops::FilterType;

/// The dHash of an image: grey 9×8 thumbnail, one bit per horizontally adjacent pair
/// (`1` when the left pixel is brighter).
pub fn dhash(image: &DynamicImage) -> u64 {
    let small = image.resize_exact(9, 8, FilterType::Triangle).to_luma8();
    let mut hash = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let left = small.get_pixel(x, y)[0];
            let right = small.get_pixel(x + 1, y)[0];
            hash = (hash << 1) | u64::from(left > right);
        }
    }
    hash
}

/// Bits that differ between two hashes.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn picture(seed: u32, noise: u8) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(120, 80, |x, y| {
            let v = ((x * (3 + seed)) ^ (y * (5 + seed * 7))) as u8;
            Rgb([v.saturating_add(noise), v / 2, 255 - v])
        }))
    }

    #[test]
    fn near_duplicates_are_close_and_different_scenes_far() {
        let a = dhash(&picture(1, 0));
        let a2 = dhash(&picture(1, 3));
        let b = dhash(&picture(9, 0));
        assert!(distance(a, a2) <= 4, "{}", distance(a, a2));
        assert!(distance(a, b) > 12, "{}", distance(a, b));
    }
}
