//! Model start-up and size: the ONNX export against the device format (gzipped NNEF tar,
//! decluttered at publish time, f32 or f16 weights), through the product's own loader
//! (`EdgeModel::from_bytes`). Usage:
//! `cargo run --release -p omni-core --example model_load -- MODEL.onnx [ROUNDS]`
//!
//! Prints medians over ROUNDS (default 5): load (read + declutter for ONNX + codegen + plan),
//! first inference, model ready (the two), steady inference; the file sizes; the export time
//! and the device model's largest output difference against the ONNX model.

use std::time::Instant;

use omni_core::detect::EdgeModel;
use omni_core::detect::device_model::{self, DevicePrecision};

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Medians of (load, first inference, steady inference) over `rounds` fresh loads.
fn time_loads(bytes: &[u8], rounds: usize) -> Result<[f64; 3], Box<dyn std::error::Error>> {
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..rounds {
        let t = Instant::now();
        let model = EdgeModel::from_bytes(bytes, None, 1)?;
        times[0].push(ms(t));
        let size = model.input_size() as usize;
        let input = device_model::probe_input(size);
        let t = Instant::now();
        model.run(input.clone())?;
        times[1].push(ms(t));
        let t = Instant::now();
        for _ in 0..3 {
            model.run(input.clone())?;
        }
        times[2].push(ms(t) / 3.0);
    }
    Ok(times.map(|mut v| median(&mut v)))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().ok_or("usage: model_load MODEL.onnx [ROUNDS]")?;
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let onnx = std::fs::read(&path)?;
    println!("model {path}, {rounds} rounds, 1 thread (medians, ms)\n");
    println!(
        "| file | bytes | export ms | max box diff px / score diff vs ONNX | load | first inference | **model ready** | steady inference |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let [load, first, steady] = time_loads(&onnx, rounds)?;
    println!(
        "| ONNX | {} | - | - | {load:.1} | {first:.1} | **{:.1}** | {steady:.1} |",
        onnx.len(),
        load + first
    );
    for precision in [DevicePrecision::Float32, DevicePrecision::Float16] {
        let t = Instant::now();
        let export = device_model::export(&onnx, precision)?;
        let export_ms = ms(t);
        let [load, first, steady] = time_loads(&export.bytes, rounds)?;
        println!(
            "| device NNEF tgz, {} | {} | {export_ms:.0} | {:.2e} / {:.2e} | {load:.1} | {first:.1} | **{:.1}** | {steady:.1} |",
            precision.as_str(),
            export.bytes.len(),
            export.max_box_diff_px,
            export.max_score_diff,
            load + first
        );
    }
    Ok(())
}
