//! Edge pipeline benchmark, side by side with onnxruntime on the same models and images.
//!
//! `cargo bench -p omni-core --bench edge` prints, for each fixture model (320/640, float and
//! int8) and 1 and 2 threads: model load+optimise time, median and p95 of end-to-end time
//! (decode → letterbox → inference → NMS) and of inference alone, and peak RSS — ours (tract)
//! and onnxruntime's (`tools/reference/bench_ort.py`, Pillow/libjpeg-turbo decode, cv2
//! letterbox, numpy NMS) — with the ratio ours/onnxruntime. Each configuration runs in its own
//! process so peak RSS is its own. Then it compares JPEG decoders on a 12 MP photo.
//! Environment: `OMNI_TEST_PYTHON` (default `.venv/bin/python`), `OMNI_BENCH_RUNS` (default 5).
//!
//! `cargo bench -p omni-core --bench edge -- --threads-sweep` instead sweeps tract's
//! multithreading gates (`tract_linalg::multithread`: the matmul panel and MAC thresholds and
//! the element-wise threshold) at 320 and 640 float on 1, 2 and 4 threads, inference only, on
//! the fixture photos, next to onnxruntime at the same thread counts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use image::imageops::FilterType;
use omni_core::detect::{EdgeDetector, EdgeDetectorConfig};
use omni_photo::decode::decode_oriented;
use serde_json::{Value, json};

const MODELS: [&str; 4] = [
    "yolo11n-6cls-320-f32.onnx",
    "yolo11n-6cls-320-int8.onnx",
    "yolo11n-6cls-640-f32.onnx",
    "yolo11n-6cls-640-int8.onnx",
];

/// A child process's measurement: (model, threads, images, runs) → JSON.
type ChildRun = fn(&Path, usize, &Path, usize) -> Value;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // A child process: one configuration, its JSON on stdout.
    let modes: [(&str, ChildRun); 2] = [("--child", child), ("--sweep-child", sweep_child)];
    for (mode, run) in modes {
        if let Some(i) = args.iter().position(|a| a == mode) {
            let model = PathBuf::from(&args[i + 1]);
            let threads: usize = args[i + 2].parse().expect("threads");
            let images = PathBuf::from(&args[i + 3]);
            let runs: usize = args[i + 4].parse().expect("runs");
            println!("{}", run(&model, threads, &images, runs));
            return;
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let runs: usize = std::env::var("OMNI_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let python = std::env::var_os("OMNI_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv/bin/python"));
    let sets = prepare_images(&root);
    if args.iter().any(|a| a == "--threads-sweep") {
        threads_sweep(&root, &python, &sets[0].1, runs);
        return;
    }
    println!("edge pipeline: ours (tract) vs onnxruntime, {runs} runs per image after 1 warm-up\n");
    println!(
        "| images | model | threads | load ms ours / ort | e2e median ms ours / ort | e2e p95 ms ours / ort | infer median ms ours / ort | infer ratio | e2e ratio | peak RSS MiB ours / ort |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (set_name, dir) in &sets {
        for model in MODELS {
            let model_path = root.join("core/tests/fixtures/models").join(model);
            for threads in [1usize, 2] {
                let ours = run_child(&model_path, threads, dir, runs);
                let ort = run_ort(&python, &root, &model_path, threads, dir, runs);
                let f = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
                let ratio = |k: &str| f(&ours, k) / ort.as_ref().map_or(f64::NAN, |o| f(o, k));
                let pair = |k: &str| {
                    format!(
                        "{:.1} / {}",
                        f(&ours, k),
                        ort.as_ref()
                            .map_or("n/a".to_owned(), |o| format!("{:.1}", f(o, k)))
                    )
                };
                println!(
                    "| {set_name} | {} | {threads} | {} | {} | {} | {} | {:.2} | {:.2} | {} |",
                    model
                        .trim_start_matches("yolo11n-6cls-")
                        .trim_end_matches(".onnx"),
                    pair("model_load_ms"),
                    pair("e2e_ms_median"),
                    pair("e2e_ms_p95"),
                    pair("infer_ms_median"),
                    ratio("infer_ms_median"),
                    ratio("e2e_ms_median"),
                    pair("peak_rss_mib"),
                );
            }
        }
    }
    decoders(&sets[1].1);
}

/// Fixture photos as they are, and one 12 MP JPEG made from a sample photo.
fn prepare_images(root: &Path) -> Vec<(&'static str, PathBuf)> {
    let out = root.join("target/bench-images");
    let mixed = out.join("fixtures");
    let twelve = out.join("12mp");
    std::fs::create_dir_all(&mixed).expect("mkdir");
    std::fs::create_dir_all(&twelve).expect("mkdir");
    let fixtures = root.join("core/tests/fixtures/images");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("jpg" | "png")
        ) {
            std::fs::copy(&path, mixed.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let big = twelve.join("container-12mp.jpg");
    if !big.exists() {
        let sample = image::open(root.join("samples/container-03.jpg")).expect("sample photo");
        let mut up = sample
            .resize_exact(4000, 3000, FilterType::Triangle)
            .into_rgb8();
        // Sensor-like noise so the JPEG has a phone photo's size (~4 MB).
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for p in up.pixels_mut() {
            for c in &mut p.0 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *c = c.saturating_add((state % 9) as u8).saturating_sub(4);
            }
        }
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92)
            .encode_image(&up)
            .expect("encode");
        std::fs::write(&big, bytes).expect("write 12 MP");
    }
    vec![("fixtures (8, ≤1.3 MP)", mixed), ("12 MP JPEG", twelve)]
}

fn run_child(model: &Path, threads: usize, images: &Path, runs: usize) -> Value {
    run_child_mode("--child", model, threads, images, runs)
}

fn run_child_mode(mode: &str, model: &Path, threads: usize, images: &Path, runs: usize) -> Value {
    let output = Command::new(std::env::current_exe().expect("exe"))
        .arg(mode)
        .arg(model)
        .arg(threads.to_string())
        .arg(images)
        .arg(runs.to_string())
        .output()
        .expect("child");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("child JSON")
}

fn run_ort(
    python: &Path,
    root: &Path,
    model: &Path,
    threads: usize,
    images: &Path,
    runs: usize,
) -> Option<Value> {
    if !python.exists() {
        return None;
    }
    let output = Command::new(python)
        .arg(root.join("tools/reference/bench_ort.py"))
        .arg("--model")
        .arg(model)
        .arg("--images")
        .arg(images)
        .args([
            "--threads",
            &threads.to_string(),
            "--runs",
            &runs.to_string(),
            "--json",
        ])
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!(
            "bench_ort.py failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        return None;
    }
    let doc: Value = serde_json::from_slice(&output.stdout).ok()?;
    doc["results"].get(0).cloned()
}

/// One configuration, in this process: load once, then every image `runs` times.
fn child(model: &Path, threads: usize, images: &Path, runs: usize) -> Value {
    let config = EdgeDetectorConfig {
        threads,
        ..EdgeDetectorConfig::default()
    };
    let started = Instant::now();
    let detector = EdgeDetector::from_path(model, &config).expect("model");
    let load_ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut files: Vec<PathBuf> = std::fs::read_dir(images)
        .expect("images")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let (mut e2e, mut infer, mut decode) = (Vec::new(), Vec::new(), Vec::new());
    for file in &files {
        let bytes = std::fs::read(file).expect("image");
        detector.detect_timed(&bytes).expect("warm-up");
        for _ in 0..runs {
            let t = Instant::now();
            let (_, timings) = detector.detect_timed(&bytes).expect("detect");
            e2e.push(t.elapsed().as_secs_f64() * 1000.0);
            infer.push(timings.inference_ms);
            decode.push(timings.decode_ms);
        }
    }
    json!({
        "model_load_ms": load_ms,
        "e2e_ms_median": percentile(&mut e2e, 0.5),
        "e2e_ms_p95": percentile(&mut e2e, 0.95),
        "infer_ms_median": percentile(&mut infer, 0.5),
        "infer_ms_p95": percentile(&mut infer, 0.95),
        "decode_ms_median": percentile(&mut decode, 0.5),
        "peak_rss_mib": peak_rss_mib(),
    })
}

/// tract's threading gates, as one configuration of the sweep.
struct Gates {
    name: &'static str,
    panels: usize,
    macs: usize,
    elements: usize,
}

/// tract-linalg 0.23.9's defaults, then one knob moved at a time.
const GATES: [Gates; 7] = [
    Gates {
        name: "default (panels 64, MACs 2^21, elements 32768)",
        panels: 64,
        macs: 1 << 21,
        elements: 32768,
    },
    Gates {
        name: "panels 16",
        panels: 16,
        macs: 1 << 21,
        elements: 32768,
    },
    Gates {
        name: "panels 4",
        panels: 4,
        macs: 1 << 21,
        elements: 32768,
    },
    Gates {
        name: "panels 256",
        panels: 256,
        macs: 1 << 21,
        elements: 32768,
    },
    Gates {
        name: "MAC gate off (panels alone)",
        panels: 64,
        macs: usize::MAX,
        elements: 32768,
    },
    Gates {
        name: "elements 0 (always thread element-wise)",
        panels: 64,
        macs: 1 << 21,
        elements: 0,
    },
    Gates {
        name: "element-wise never threaded",
        panels: 64,
        macs: 1 << 21,
        elements: usize::MAX,
    },
];

/// The sweep: per model and thread count, onnxruntime's inference median and ours under each
/// gate configuration (one process per model and thread count, the gates set in turn).
fn threads_sweep(root: &Path, python: &Path, images: &Path, runs: usize) {
    println!(
        "tract threading gates, inference median ms on the 8 fixture photos, {runs} runs each\n"
    );
    println!(
        "| model | threads | onnxruntime | tract: {} |",
        GATES.map(|g| g.name).join(" | ")
    );
    println!("| --- | --- | --- |{}", " --- |".repeat(GATES.len()));
    for model in ["yolo11n-6cls-320-f32.onnx", "yolo11n-6cls-640-f32.onnx"] {
        let model_path = root.join("core/tests/fixtures/models").join(model);
        for threads in [1usize, 2, 4] {
            let ort = run_ort(python, root, &model_path, threads, images, runs)
                .and_then(|o| o["infer_ms_median"].as_f64());
            let ours = run_child_mode("--sweep-child", &model_path, threads, images, runs);
            let cells: Vec<String> = GATES
                .iter()
                .map(|g| {
                    let ms = ours[g.name].as_f64().unwrap_or(f64::NAN);
                    ort.map_or(format!("{ms:.1}"), |o| format!("{ms:.1} ({:.2}×)", ms / o))
                })
                .collect();
            println!(
                "| {} | {threads} | {} | {} |",
                model
                    .trim_start_matches("yolo11n-6cls-")
                    .trim_end_matches(".onnx"),
                ort.map_or("n/a".to_owned(), |o| format!("{o:.1}")),
                cells.join(" | ")
            );
        }
    }
}

/// One model and thread count: inference median under each gate configuration.
fn sweep_child(model: &Path, threads: usize, images: &Path, runs: usize) -> Value {
    use tract_linalg::multithread as mt;
    let config = EdgeDetectorConfig {
        threads,
        ..EdgeDetectorConfig::default()
    };
    let detector = EdgeDetector::from_path(model, &config).expect("model");
    let mut files: Vec<PathBuf> = std::fs::read_dir(images)
        .expect("images")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let photos: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("image"))
        .collect();
    let mut out = serde_json::Map::new();
    for gates in &GATES {
        mt::set_threading_panel_threshold(gates.panels);
        mt::set_threading_mac_threshold(gates.macs);
        mt::set_threading_element_threshold(gates.elements);
        let mut infer = Vec::new();
        for bytes in &photos {
            detector.detect_timed(bytes).expect("warm-up");
            for _ in 0..runs {
                infer.push(detector.detect_timed(bytes).expect("detect").1.inference_ms);
            }
        }
        out.insert(gates.name.to_owned(), json!(percentile(&mut infer, 0.5)));
    }
    Value::Object(out)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() as f64 - 1.0) * p).round() as usize]
}

/// Peak resident set size of this process (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// A decoder under test: decodes the photo, returns the output size.
type Decode<'a> = dyn Fn() -> (u32, u32) + 'a;

/// JPEG decoders on the 12 MP photo: median of 5 decodes each.
fn decoders(dir: &Path) {
    let path = std::fs::read_dir(dir)
        .expect("dir")
        .next()
        .expect("a 12 MP JPEG")
        .expect("entry")
        .path();
    let bytes = std::fs::read(&path).expect("read");
    let time = |f: &dyn Fn() -> (u32, u32)| {
        let mut times = Vec::new();
        let mut size = (0, 0);
        for _ in 0..6 {
            let t = Instant::now();
            size = f();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        (percentile(&mut times[1..], 0.5), size)
    };
    println!(
        "\nJPEG decode of a 12 MP photo ({} bytes), median of 5:\n",
        bytes.len()
    );
    println!("| decoder | output | ms |");
    println!("| --- | --- | --- |");
    let rows: Vec<(&str, Box<Decode>)> = vec![
        (
            "image 0.25 `load_from_memory` (zune-jpeg inside)",
            Box::new(|| {
                let i = image::load_from_memory(&bytes).expect("decode").into_rgb8();
                i.dimensions()
            }),
        ),
        (
            "zune-jpeg direct, strict (ours: `decode_oriented`)",
            Box::new(|| decode_oriented(&bytes).expect("decode").dimensions()),
        ),
        (
            "jpeg-decoder, full size",
            Box::new(|| jpeg_decoder_scaled(&bytes, None)),
        ),
        (
            "jpeg-decoder, DCT-scaled to ≥1000 px (1/4)",
            Box::new(|| jpeg_decoder_scaled(&bytes, Some(1000))),
        ),
        (
            "jpeg-decoder, DCT-scaled to ≥500 px (1/8)",
            Box::new(|| jpeg_decoder_scaled(&bytes, Some(500))),
        ),
    ];
    for (name, f) in rows {
        let (ms, (w, h)) = time(&*f);
        println!("| {name} | {w}x{h} | {ms:.1} |");
    }
}

fn jpeg_decoder_scaled(bytes: &[u8], target: Option<u16>) -> (u32, u32) {
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    if let Some(side) = target {
        decoder.scale(side, side).expect("scale");
    }
    decoder.decode().expect("decode");
    let info = decoder.info().expect("info");
    (u32::from(info.width), u32::from(info.height))
}
