//! What decoding big JPEGs at a DCT scale does to accuracy and decode time.
//! Usage: `cargo run --release -p omni-core --example dct_decode_map -- DATA MODEL OUT`
//!
//! Re-encodes DATA's val split (YOLO layout) as 4000x3000 JPEGs (quality 92, ±4 levels of
//! sensor-like noise) under OUT, then evaluates MODEL on them twice with the product's
//! evaluator: the pipeline as it is (`decode_for_model`: 1/8 DCT scale at 320, 1/4 at 640),
//! and with every photo decoded in full first (`decode_oriented`, the way Ultralytics reads
//! it), handed to the same detector as a lossless PNG. Prints mAP50 / mAP50-95 of both and the
//! median decode time of each decoder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use omni_core::ModelIdentity;
use omni_core::detect::{
    DetectError, Detector, EdgeDetector, EdgeDetectorConfig, PostprocessConfig,
};
use omni_core::detections::{DetectionSource, Detections};
use omni_core::evaluation;
use omni_photo::decode::{decode_for_model, decode_oriented};

/// The edge detector fed the fully decoded photo (as a PNG, so it is not decoded again at a
/// DCT scale).
struct FullDecode(EdgeDetector);

impl Detector for FullDecode {
    fn identity(&self) -> &ModelIdentity {
        self.0.identity()
    }

    fn source(&self) -> DetectionSource {
        self.0.source()
    }

    fn detect(&self, encoded: &[u8]) -> Result<Detections, DetectError> {
        let image = decode_oriented(encoded)?;
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| DetectError::Inference(format!("png: {e}")))?;
        self.0.detect(&png)
    }
}

fn median_ms(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied().unwrap_or(f64::NAN)
}

/// DATA's val split as 12 MP JPEGs under OUT (labels are normalised: copied as they are).
fn twelve_megapixel_copy(data: &Path, out: &Path) -> std::io::Result<usize> {
    let (images, labels) = (out.join("val/images"), out.join("val/labels"));
    std::fs::create_dir_all(&images)?;
    std::fs::create_dir_all(&labels)?;
    let mut count = 0;
    for entry in std::fs::read_dir(data.join("val/images"))? {
        let path = entry?.path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let target = images.join(format!("{stem}.jpg"));
        std::fs::copy(
            data.join(format!("val/labels/{stem}.txt")),
            labels.join(format!("{stem}.txt")),
        )?;
        count += 1;
        if target.exists() {
            continue;
        }
        let photo = image::open(&path).map_err(std::io::Error::other)?;
        let mut big = photo
            .resize_exact(4000, 3000, image::imageops::FilterType::Triangle)
            .into_rgb8();
        fastrand::seed(count as u64);
        for value in big.iter_mut() {
            *value = value.saturating_add(fastrand::u8(0..9)).saturating_sub(4);
        }
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 92)
            .encode_image(&big)
            .map_err(std::io::Error::other)?;
        std::fs::write(&target, jpeg)?;
    }
    Ok(count)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<PathBuf> = std::env::args().skip(1).map(PathBuf::from).collect();
    let [data, model, out] = args.as_slice() else {
        return Err("usage: dct_decode_map DATA MODEL OUT".into());
    };
    let count = twelve_megapixel_copy(data, out)?;
    let config = EdgeDetectorConfig {
        postprocess: PostprocessConfig::ultralytics_val(),
        ..EdgeDetectorConfig::default()
    };
    let pipeline = EdgeDetector::from_path(model, &config)?;
    let classes = pipeline.model().classes().to_vec();
    let side = pipeline.model().input_size();
    let full = FullDecode(EdgeDetector::from_path(model, &config)?);
    let full_metrics = evaluation::evaluate(&full, out, &classes, |_, _| {})?;
    let metrics = evaluation::evaluate(&pipeline, out, &classes, |_, _| {})?;
    let (mut full_ms, mut scaled_ms, mut scaled_size) = (Vec::new(), Vec::new(), (0, 0));
    for entry in std::fs::read_dir(out.join("val/images"))?.take(10) {
        let bytes = std::fs::read(entry?.path())?;
        let t = Instant::now();
        decode_oriented(&bytes)?;
        full_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        scaled_size = decode_for_model(&bytes, side)?.image.dimensions();
        scaled_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!("{count} val images at 4000x3000, model input {side}\n");
    println!("| decode | mAP50 | mAP50-95 | median decode ms (10 photos) |");
    println!("| --- | --- | --- | --- |");
    println!(
        "| full (zune-jpeg, `decode_oriented`), then letterbox | {:.4} | {:.4} | {:.1} |",
        full_metrics.map50,
        full_metrics.map50_95,
        median_ms(full_ms)
    );
    println!(
        "| DCT-scaled to {}x{} (`decode_for_model`, the pipeline), then letterbox | {:.4} | {:.4} | {:.1} |",
        scaled_size.0,
        scaled_size.1,
        metrics.map50,
        metrics.map50_95,
        median_ms(scaled_ms)
    );
    println!(
        "difference (pipeline - full) mAP50-95: {:+.4}",
        metrics.map50_95 - full_metrics.map50_95
    );
    Ok(())
}
