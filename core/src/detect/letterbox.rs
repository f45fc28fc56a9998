//! Letterboxing exactly as Ultralytics does for a fixed-shape export (`LetterBox(auto=False,
//! scaleup=True, center=True)`): scale to fit S×S keeping the aspect ratio, resize with
//! OpenCV's `INTER_LINEAR` sampling, pad with 114 centred, then RGB/255 in CHW order.

use image::RgbImage;

/// The pad value Ultralytics uses.
pub const PAD_VALUE: u8 = 114;

/// How an image maps into the S×S model input.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Model input side S.
    pub size: u32,
    /// Horizontal scale from original to resized pixels (`new_width / width`).
    pub gain_x: f64,
    /// Vertical scale from original to resized pixels (`new_height / height`).
    pub gain_y: f64,
    /// Resized width (before padding).
    pub new_width: u32,
    /// Resized height (before padding).
    pub new_height: u32,
    /// Left padding in pixels.
    pub left: u32,
    /// Top padding in pixels.
    pub top: u32,
}

impl Letterbox {
    /// The letterbox of a `width`×`height` image into `size`×`size`, with Ultralytics'
    /// rounding (`round` is Python's: halves to even).
    pub fn new(width: u32, height: u32, size: u32) -> Self {
        let (w, h, s) = (f64::from(width), f64::from(height), f64::from(size));
        let gain = (s / h).min(s / w);
        // At least one pixel: an absurdly elongated photo still yields a valid input.
        let new_width = ((w * gain).round_ties_even() as u32).clamp(1, size);
        let new_height = ((h * gain).round_ties_even() as u32).clamp(1, size);
        let dw = f64::from(size - new_width) / 2.0;
        let dh = f64::from(size - new_height) / 2.0;
        Self {
            size,
            gain_x: f64::from(new_width) / w,
            gain_y: f64::from(new_height) / h,
            new_width,
            new_height,
            left: (dw - 0.1).round_ties_even() as u32,
            top: (dh - 0.1).round_ties_even() as u32,
        }
    }

    /// Maps a point in model-input pixels back to original pixels (Ultralytics'
    /// `scale_boxes`: subtract the padding, divide by the per-axis gain of the rounded
    /// resize).
    pub fn to_original(&self, x: f32, y: f32) -> (f32, f32) {
        (
            (x - self.left as f32) / self.gain_x as f32,
            (y - self.top as f32) / self.gain_y as f32,
        )
    }
}

/// Resizes `image` into its letterbox and pads it: the S×S RGB picture the model sees.
pub fn letterbox_rgb(image: &RgbImage, size: u32) -> (RgbImage, Letterbox) {
    let lb = Letterbox::new(image.width(), image.height(), size);
    let mut out = RgbImage::from_pixel(size, size, image::Rgb([PAD_VALUE; 3]));
    resize_into(image, &lb, |x, y, rgb| {
        out.put_pixel(lb.left + x, lb.top + y, image::Rgb(rgb));
    });
    (out, lb)
}

/// Letterboxes `image` straight into a `1×3×S×S` CHW f32 tensor in 0..=1.
pub fn letterbox_tensor(image: &RgbImage, size: u32) -> (Vec<f32>, Letterbox) {
    let lb = Letterbox::new(image.width(), image.height(), size);
    let plane = (size * size) as usize;
    let mut tensor = vec![f32::from(PAD_VALUE) / 255.0; 3 * plane];
    resize_into(image, &lb, |x, y, rgb| {
        let at = ((lb.top + y) * size + lb.left + x) as usize;
        for (c, value) in rgb.into_iter().enumerate() {
            tensor[c * plane + at] = f32::from(value) / 255.0;
        }
    });
    (tensor, lb)
}

/// One axis of OpenCV's `INTER_LINEAR` sampling: for each destination index, the two source
/// indices and the weight of the second, with half-pixel centres and edge clamping.
fn axis_taps(src: u32, dst: u32) -> Vec<(u32, u32, f32)> {
    let scale = f64::from(src) / f64::from(dst);
    (0..dst)
        .map(|d| {
            let f = (f64::from(d) + 0.5) * scale - 0.5;
            let mut i = f.floor();
            let mut frac = f - i;
            if i < 0.0 {
                i = 0.0;
                frac = 0.0;
            }
            let last = f64::from(src - 1);
            if i >= last {
                i = last;
                frac = 0.0;
            }
            let i0 = i as u32;
            ((i0), (i0 + 1).min(src - 1), frac as f32)
        })
        .collect()
}

/// Bilinear resize of `image` to the letterbox's new size, calling `put(x, y, rgb)` for
/// every destination pixel; an unscaled image is copied as is (Ultralytics skips the resize).
fn resize_into(image: &RgbImage, lb: &Letterbox, mut put: impl FnMut(u32, u32, [u8; 3])) {
    if image.width() == lb.new_width && image.height() == lb.new_height {
        for (x, y, p) in image.enumerate_pixels() {
            put(x, y, p.0);
        }
        return;
    }
    let xs = axis_taps(image.width(), lb.new_width);
    let ys = axis_taps(image.height(), lb.new_height);
    let raw = image.as_raw();
    let stride = image.width() as usize * 3;
    // Horizontal pass per needed source row, cached for the two rows a destination row uses.
    let mut row_cache: [(u32, Vec<f32>); 2] = [(u32::MAX, Vec::new()), (u32::MAX, Vec::new())];
    let horizontal = |sy: u32, buf: &mut Vec<f32>| {
        buf.clear();
        let row = &raw[sy as usize * stride..(sy as usize + 1) * stride];
        for &(x0, x1, fx) in &xs {
            for c in 0..3 {
                let a = f32::from(row[x0 as usize * 3 + c]);
                let b = f32::from(row[x1 as usize * 3 + c]);
                buf.push(a + (b - a) * fx);
            }
        }
    };
    for (dy, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (slot, sy) in [(0usize, y0), (1usize, y1)] {
            if row_cache[slot].0 != sy {
                if let Some(other) = row_cache.iter().position(|(r, _)| *r == sy) {
                    let buf = row_cache[other].1.clone();
                    row_cache[slot] = (sy, buf);
                } else {
                    horizontal(sy, &mut row_cache[slot].1);
                    row_cache[slot].0 = sy;
                }
            }
        }
        let (top, bottom) = (&row_cache[0].1, &row_cache[1].1);
        for dx in 0..lb.new_width as usize {
            let mut rgb = [0u8; 3];
            for (c, out) in rgb.iter_mut().enumerate() {
                let a = top[dx * 3 + c];
                let b = bottom[dx * 3 + c];
                *out = (a + (b - a) * fy).round().clamp(0.0, 255.0) as u8;
            }
            put(dx as u32, dy as u32, rgb);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letterbox_matches_ultralytics_rounding() {
        // 1001x667 into 640: gain 0.63936, new 640x426, pad (0, 107) top.
        let lb = Letterbox::new(1001, 667, 640);
        assert_eq!((lb.new_width, lb.new_height), (640, 426));
        assert_eq!((lb.left, lb.top), (0, 107));
        // 333x777 into 320: gain 0.41184, new 137x320, dw 91.5 -> left round(91.4) = 91.
        let lb = Letterbox::new(333, 777, 320);
        assert_eq!((lb.new_width, lb.new_height), (137, 320));
        assert_eq!((lb.left, lb.top), (91, 0));
        let (x, y) = lb.to_original(91.0, 0.0);
        assert!(x.abs() < 1e-4 && y.abs() < 1e-4);
    }

    #[test]
    fn tensor_is_chw_padded_with_114() {
        let image = RgbImage::from_pixel(64, 32, image::Rgb([255, 0, 10]));
        let (tensor, lb) = letterbox_tensor(&image, 64);
        assert_eq!((lb.top, lb.new_height), (16, 32));
        let plane = 64 * 64;
        assert_eq!(tensor.len(), 3 * plane);
        assert!(
            (tensor[0] - 114.0 / 255.0).abs() < 1e-6,
            "top-left is padding"
        );
        let centre = 32 * 64 + 32;
        assert!((tensor[centre] - 1.0).abs() < 1e-6, "R");
        assert!(tensor[plane + centre].abs() < 1e-6, "G");
        assert!(
            (tensor[2 * plane + centre] - 10.0 / 255.0).abs() < 1e-6,
            "B"
        );
    }

    #[test]
    fn downscale_samples_like_opencv_inter_linear() {
        // 4 -> 2: OpenCV samples at x = 0.5 and 2.5, i.e. averages pixel pairs.
        let image = RgbImage::from_fn(4, 2, |x, _| image::Rgb([[0, 100, 200, 250][x as usize]; 3]));
        let (tensor, lb) = letterbox_tensor(&image, 2);
        assert_eq!((lb.new_width, lb.new_height, lb.top), (2, 1, 0));
        let plane = 4;
        let row = &tensor[..2];
        assert!((row[0] * 255.0 - 50.0).abs() < 1e-3, "{}", row[0] * 255.0);
        assert!((row[1] * 255.0 - 225.0).abs() < 1e-3, "{}", row[1] * 255.0);
        assert_eq!(tensor.len(), 3 * plane);
    }
}
