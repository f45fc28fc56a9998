//! rten on the edge model (issue 15, a throwaway comparison; not part of the product).
//! Usage: `rten-compare MODEL.onnx SIZE RUNS OUT.f32`: loads the model with rten, runs the
//! probe input `(i % 251) / 251` (the one `core/examples/model_load.rs` feeds tract) RUNS times
//! after one first run, writes the raw output as little-endian f32 to OUT, and prints one JSON
//! line: load ms, first inference ms, steady median ms. Threads: `RTEN_NUM_THREADS`.

use std::time::Instant;

use rten::Model;
use rten_tensor::NdTensor;
use rten_tensor::prelude::*;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, size, runs, out] = args.as_slice() else {
        return Err("usage: rten-compare MODEL.onnx SIZE RUNS OUT.f32".into());
    };
    let (size, runs): (usize, usize) = (size.parse()?, runs.parse()?);
    let probe: Vec<f32> = (0..3 * size * size)
        .map(|i| (i % 251) as f32 / 251.0)
        .collect();
    let t = Instant::now();
    let model = Model::load_file(model)?;
    let load_ms = ms(t);
    let input = NdTensor::from_data([1, 3, size, size], probe);
    let t = Instant::now();
    let output = model.run_one(input.view().into(), None)?;
    let first_ms = ms(t);
    let mut steady = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        model.run_one(input.view().into(), None)?;
        steady.push(ms(t));
    }
    steady.sort_by(f64::total_cmp);
    let output: NdTensor<f32, 3> = output.try_into()?;
    let bytes: Vec<u8> = output.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(out, bytes)?;
    println!(
        "{{\"load_ms\": {load_ms:.1}, \"first_ms\": {first_ms:.1}, \"steady_ms\": {:.1}, \"shape\": {:?}}}",
        steady[steady.len() / 2],
        output.shape()
    );
    Ok(())
}
