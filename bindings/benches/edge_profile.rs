//! Edge inference through the bindings' `OmniCore` under the profile it is built with, so the
//! mobile profile's `opt-level` is chosen on measurements (docs/benchmarks.md):
//!
//! ```text
//! cargo bench -p omni-ffi --bench edge_profile --profile release
//! CARGO_PROFILE_MOBILE_FFI_OPT_LEVEL=z cargo bench -p omni-ffi --bench edge_profile --profile mobile-ffi
//! CARGO_PROFILE_MOBILE_FFI_OPT_LEVEL=s cargo bench -p omni-ffi --bench edge_profile --profile mobile-ffi
//! ```
//!
//! Prints one table row: the profile's name, model load (open) time, and the median and p95
//! of `edge_verdict` (decode → letterbox → inference → NMS → store) over fresh photos, plus
//! the median of `stats()` (a local SQLite read), all on one thread.

use std::path::Path;
use std::time::Instant;

use omni_ffi::{CoreConfig, NewInspection, OmniCore};

fn jpeg(seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(1280, 960, |x, y| {
        let v = (x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed.wrapping_mul(101)) as u8;
        image::Rgb([v, v.wrapping_add(60), 255 - v])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .expect("encode");
    out
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let runs: usize = std::env::var("OMNI_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = CoreConfig {
        data_dir: dir.path().join("data").display().to_string(),
        bundled_model_path: Some(
            root.join("core/models/edge-model.onnx")
                .display()
                .to_string(),
        ),
        threads: 1,
        cloud: None,
        office: None,
        sync: None,
        model_refresh: None,
        inspection_kinds_toml: None,
    };
    let start = Instant::now();
    let core = OmniCore::open(config, None).expect("open");
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let inspection = core
        .create_inspection(NewInspection {
            container_number: "CSQU3054383".into(),
            inspector_id: None,
            notes: None,
            location: None,
            kind: None,
        })
        .expect("inspection");
    let photos: Vec<String> = (0..=runs as u32)
        .map(|i| {
            core.add_photo(inspection.id.to_string(), jpeg(i), None, None)
                .expect("photo")
                .id
                .to_string()
        })
        .collect();
    core.edge_verdict(photos[0].clone()).expect("warm-up");
    let mut verdict_ms: Vec<f64> = photos[1..]
        .iter()
        .map(|id| {
            let t = Instant::now();
            core.edge_verdict(id.clone()).expect("verdict");
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    verdict_ms.sort_by(f64::total_cmp);
    let mut stats_us: Vec<f64> = (0..1000)
        .map(|_| {
            let t = Instant::now();
            core.stats().expect("stats");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    stats_us.sort_by(f64::total_cmp);
    let profile = std::env::var("OMNI_BENCH_PROFILE_LABEL").unwrap_or_else(|_| "?".into());
    println!("| profile | open ms | edge_verdict median ms | p95 ms | stats() median µs | runs |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| {profile} | {open_ms:.1} | {:.1} | {:.1} | {:.1} | {runs} |",
        percentile(&verdict_ms, 0.5),
        percentile(&verdict_ms, 0.95),
        percentile(&stats_us, 0.5),
    );
}
