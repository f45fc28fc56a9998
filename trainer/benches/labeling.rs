//! `labeling select` over a large embedded office store: time and peak memory of the
//! streaming scan (goal: 100,000 photo records in ≤ 10 s, memory flat in the store's size).
//! Prints a Markdown table (docs/benchmarks.md, "Labeling selection").
//!
//! Run: `cargo bench -p omni-trainer --bench labeling` (`BENCH_RECORDS=10000,100000` to
//! change the sizes; `BENCH_DIR=DIR` keeps the generated stores between runs — building
//! one writes every photo and verdict through the office's store trait, fsync'd, and takes
//! minutes at 100,000).
//!
//! Each size is measured in a fresh child process, so its peak RSS (`VmHWM`) is the
//! selection's own, not the store building's.

#![allow(missing_docs, clippy::unwrap_used)]

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::{ImageFormat, Rgb, RgbImage};
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{self, DetectStatus, VerdictSource};
use omni_trainer::dataset::DAMAGE_CLASSES;
use omni_trainer::labeling::select::{self, Known, SelectOptions, Strategy};
use omni_trainer::labeling::source::OfficeSource;
use serde_json::json;

/// The office records the labeling tests store too (one copy).
#[path = "../tests/integration/common/office_records.rs"]
#[allow(dead_code)]
mod office_records;

use office_records::{closed_inspection, whole_photo};

const PHOTOS_PER_INSPECTION: usize = 4;
/// Distinct pictures (the selection decodes only the photos it chooses).
const PICTURES: usize = 512;

fn picture(seed: u64) -> Vec<u8> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let blocks: Vec<u8> = (0..48)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 256) as u8
        })
        .collect();
    let img = RgbImage::from_fn(160, 120, |x, y| {
        let v = blocks[(y / 20 * 8 + x / 20) as usize];
        Rgb([v, v / 2, 255 - v])
    });
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .unwrap();
    bytes
}

fn response(i: usize, cloud: bool) -> Box<serde_json::value::RawValue> {
    // Scores spread over 0.2..1.0; one photo in 7 has 6 boxes; cloud shifts the class of
    // one photo in 5 (a disagreement).
    let n = if i.is_multiple_of(7) { 6 } else { 1 + i % 3 };
    let detections: Vec<_> = (0..n)
        .map(|k| {
            let class = (i + k + usize::from(cloud && i.is_multiple_of(5))) % 6;
            let score = 0.2 + ((i * 37 + k * 11) % 80) as f64 / 100.0;
            let x = 10.0 + 20.0 * k as f64;
            let label = DAMAGE_CLASSES[class];
            json!({"class_id": class, "label": label,
                   "score": score, "box": {"x1": x, "y1": 10.0, "x2": x + 15.0, "y2": 40.0}})
        })
        .collect();
    let body = json!({"schema_version": 1, "model": {"name": "m", "version": "1", "sha256": "ab"},
                      "image": {"width": 160, "height": 120}, "inference_ms": 1.0, "detections": detections});
    serde_json::value::RawValue::from_string(body.to_string()).unwrap()
}

fn build(dir: &Path, records: usize) {
    let store = EmbeddedStore::open(dir).unwrap();
    let pictures: Vec<Vec<u8>> = (0..PICTURES as u64).map(picture).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    rt.block_on(async {
        for n in 0..records.div_ceil(PHOTOS_PER_INSPECTION) {
            let id = format!("insp-{n:07}");
            store
                .put_inspection(&closed_inspection(
                    &id,
                    &format!("CONT {n:07}"),
                    "bench",
                    1_700_000_000_000 + (n as i64 / 3) * 1000,
                ))
                .await
                .unwrap();
            for k in 0..PHOTOS_PER_INSPECTION {
                let i = n * PHOTOS_PER_INSPECTION + k;
                let bytes = &pictures[i % PICTURES];
                let photo = whole_photo(format!("photo-{i:07}"), &id, bytes);
                store
                    .put_photo(&photo, bytes, DetectStatus::None)
                    .await
                    .unwrap();
                for (source, cloud) in [(VerdictSource::Edge, false), (VerdictSource::Cloud, true)]
                {
                    let verdict = wire::Verdict {
                        photo_id: photo.id.clone(),
                        source,
                        model_name: "m".into(),
                        model_version: "1".into(),
                        model_sha256: format!("{source:?}"),
                        has_damage: true,
                        response: response(i, cloud),
                        received_at_ms: 1_700_000_000_000,
                    };
                    store.put_verdict(&id, &verdict).await.unwrap();
                }
            }
        }
    });
    eprintln!(
        "built {records} records in {:.0} s",
        t.elapsed().as_secs_f64()
    );
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The child: one selection over the store in `dir`; prints `seconds chosen scanned rss`.
fn measure(dir: &Path) {
    let options = SelectOptions {
        strategies: Strategy::ALL.to_vec(),
        class_counts: Some(vec![1000, 1000, 1000, 1000, 200, 20]),
        max: 100,
        seed: 1,
        ..SelectOptions::default()
    };
    let rss_before = peak_rss_mib();
    let t = Instant::now();
    let mut source = OfficeSource::embedded(dir).unwrap();
    let s = select::select(&mut source, &Known::default(), &options).unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{secs:.2} {} {} {rss_before:.1} {:.1}",
        s.chosen.len(),
        s.scanned,
        peak_rss_mib()
    );
}

fn main() {
    if let Some(dir) = std::env::var_os("BENCH_MEASURE") {
        measure(Path::new(&dir));
        return;
    }
    let sizes: Vec<usize> = std::env::var("BENCH_RECORDS")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let temp = tempfile::tempdir().unwrap();
    let root: PathBuf =
        std::env::var_os("BENCH_DIR").map_or_else(|| temp.path().to_owned(), PathBuf::from);
    let mut rows = Vec::new();
    for records in sizes {
        let dir = root.join(format!("office-{records}"));
        if !dir.join("office.sqlite3").is_file() {
            build(&dir, records);
        }
        let out = omni_e2e::process::output_ok(
            Command::new(std::env::current_exe().unwrap()).env("BENCH_MEASURE", &dir),
        );
        let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        rows.push((records, line));
    }
    println!(
        "labeling select over the embedded office store (all strategies, --max 100, edge + cloud verdict per photo)"
    );
    println!();
    println!("| photo records | seconds | chosen | scanned | RSS before (MiB) | peak RSS (MiB) |");
    println!("| ---: | ---: | ---: | ---: | ---: | ---: |");
    for (records, line) in rows {
        let f: Vec<&str> = line.split_whitespace().collect();
        println!(
            "| {records} | {} | {} | {} | {} | {} |",
            f[0], f[1], f[2], f[3], f[4]
        );
    }
}
