//! Benchmark of `Inspector::add_photo` with a 4 MB JPEG, fsync on: latency percentiles and
//! throughput from 1 and 4 capturing threads, printed as a table.
//! Run with `cargo bench -p omni-core --bench add_photo`.

use std::io::Cursor;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use image::{ImageFormat, Rgb, RgbImage};
use omni_core::{ContainerNumber, InspectionId, Inspector, InspectorConfig, NewInspection};

const PHOTOS: usize = 240;
const TARGET_BYTES: usize = 4 * 1024 * 1024;

fn main() {
    let base = four_megabyte_jpeg();
    println!(
        "add_photo: {PHOTOS} photos of {} bytes per run, fsync on (data file, directory, WAL commit)\n",
        base.len()
    );
    println!("| threads | median ms | p99 ms | max ms | photos/s |");
    println!("| --- | --- | --- | --- | --- |");
    for threads in [1, 2, 4] {
        let (mut latencies, wall) = run(&base, threads);
        latencies.sort();
        let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {threads} | {:.2} | {:.2} | {:.2} | {:.1} |",
            ms(pct(0.5)),
            ms(pct(0.99)),
            ms(latencies[latencies.len() - 1]),
            PHOTOS as f64 / wall.as_secs_f64()
        );
    }
}

/// Captures `PHOTOS` distinct photos from `threads` threads into a fresh data directory.
fn run(base: &[u8], threads: usize) -> (Vec<Duration>, Duration) {
    let dir = tempfile::tempdir().expect("tempdir");
    let inspector =
        Arc::new(Inspector::open(dir.path(), InspectorConfig::default()).expect("open"));
    let inspection = inspector
        .create_inspection(NewInspection::new(
            ContainerNumber::parse("CSQU3054383").expect("valid"),
        ))
        .expect("create")
        .id;
    let per_thread = PHOTOS / threads;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let inspector = Arc::clone(&inspector);
            let base = base.to_vec();
            std::thread::spawn(move || capture(&inspector, inspection, base, t, per_thread))
        })
        .collect();
    let latencies = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    (latencies, started.elapsed())
}

fn capture(
    inspector: &Inspector,
    inspection: InspectionId,
    mut bytes: Vec<u8>,
    thread: usize,
    count: usize,
) -> Vec<Duration> {
    let n = bytes.len();
    (0..count)
        .map(|i| {
            // Each photo differs in its last bytes so nothing is deduplicated or cached.
            bytes[n - 16..n - 8].copy_from_slice(&(thread as u64).to_le_bytes());
            bytes[n - 8..].copy_from_slice(&(i as u64).to_le_bytes());
            let t = Instant::now();
            inspector
                .add_photo(
                    inspection,
                    &bytes,
                    SystemTime::now(),
                    omni_core::Face::Whole,
                )
                .expect("add");
            t.elapsed()
        })
        .collect()
}

/// A noisy 3 MP JPEG padded to exactly 4 MB, like a phone camera's output.
fn four_megabyte_jpeg() -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let image = RgbImage::from_fn(2000, 1500, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state & 0x3f) as u8;
        Rgb([(x / 8) as u8 ^ n, (y / 6) as u8 ^ n, n])
    });
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .expect("encode");
    // Trailing bytes after EOI are ignored by decoders; they make the size exact.
    bytes.resize(TARGET_BYTES, 0);
    bytes
}
