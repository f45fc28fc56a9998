//! Where the edge model's start-up time goes, and whether a pre-decluttered NNEF model (tract's
//! documented device format) loads faster than the ONNX file. Usage:
//! `cargo run --release -p omni-core --example model_load -- MODEL.onnx [SIZE] [ROUNDS]`
//!
//! Prints, per phase, the median over ROUNDS (default 5) of: ONNX parse, typing + declutter,
//! codegen (`into_optimized` of the decluttered model), plan, first inference, steady
//! inference; then the same for the NNEF tar written from the decluttered model, its size, and
//! the largest output difference between the two paths on the same input.

use std::io::Cursor;
use std::time::Instant;

use tract_onnx::prelude::*;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

type Plan = std::sync::Arc<TypedSimplePlan>;

/// Times codegen, plan, the first and a steady inference of a decluttered model.
fn finish(
    decluttered: TypedModel,
    input: &Tensor,
    times: &mut [Vec<f64>],
) -> TractResult<Vec<f32>> {
    // Codegen only (`into_optimized` would declutter again first: the ONNX path measured its
    // declutter apart, and the NNEF model was decluttered before it was written).
    let t = Instant::now();
    let mut optimized = decluttered;
    optimized.optimize()?;
    times[0].push(ms(t));
    let t = Instant::now();
    let plan: Plan = optimized.into_runnable()?;
    times[1].push(ms(t));
    let t = Instant::now();
    let out = plan.run(tvec!(input.clone().into()))?;
    times[2].push(ms(t));
    let t = Instant::now();
    for _ in 0..3 {
        plan.run(tvec!(input.clone().into()))?;
    }
    times[3].push(ms(t) / 3.0);
    let view = out[0].try_as_plain_ram()?;
    Ok(view.as_slice::<f32>()?.to_vec())
}

fn main() -> TractResult<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| TractError::msg("usage: model_load MODEL.onnx [SIZE] [ROUNDS]"))?;
    let size: usize = args.next().map_or(Ok(320), |s| s.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let bytes = std::fs::read(&path)?;
    let input = Tensor::from_shape(
        &[1, 3, size, size],
        &(0..3 * size * size)
            .map(|i| (i % 251) as f32 / 251.0)
            .collect::<Vec<_>>(),
    )?;
    let nnef = tract_nnef::nnef();

    let (mut parse, mut declutter) = (Vec::new(), Vec::new());
    let mut onnx_times = vec![Vec::new(); 4];
    let (mut nnef_read, mut nnef_times) = (Vec::new(), vec![Vec::new(); 4]);
    let mut tars: Vec<Vec<u8>> = Vec::new();
    let mut max_diff = 0f32;
    let mut failures = Vec::new();
    let mut writer_differs = 0;
    let mut graphs: Vec<String> = Vec::new();
    for round in 0..rounds {
        let t = Instant::now();
        let mut model = tract_onnx::onnx().model_for_read(&mut Cursor::new(&bytes))?;
        parse.push(ms(t));
        let t = Instant::now();
        model.set_input_fact(0, f32::fact([1, 3, size, size]).into())?;
        let mut decluttered = model.into_typed()?.into_decluttered()?;
        declutter.push(ms(t));
        let onnx_out = finish(decluttered.clone(), &input, &mut onnx_times)?;

        // The ONNX metadata (class names, version) travels in our own manifest; NNEF's
        // properties fragment does not parse back the ONNX string properties.
        decluttered.properties.clear();
        // tract-nnef turns node names into NNEF identifiers by replacing punctuation with `_`,
        // so `attn/Reshape.1.1` and `attn/Reshape_1.1` become the same identifier and the
        // second assignment shadows the first (a reshape then reads the wrong tensor). Which
        // names the declutter gives is not deterministic, so the round trip failed in some
        // runs. Node ids make every identifier unique.
        if std::env::var_os("MODEL_LOAD_KEEP_NAMES").is_none() {
            for node in &mut decluttered.nodes {
                node.name = format!("n{}_{}", node.id, node.name);
            }
        }
        let tar = nnef.write_to_tar_with_config(&decluttered, Vec::new(), false, true)?;
        let again = nnef.write_to_tar_with_config(&decluttered, Vec::new(), false, true)?;
        if tar != again {
            writer_differs += 1;
        }
        graphs.push(format!("{decluttered}"));
        let t = Instant::now();
        match nnef.model_for_read(&mut Cursor::new(&tar)) {
            Ok(model) => {
                nnef_read.push(ms(t));
                let nnef_out = finish(model, &input, &mut nnef_times)?;
                for (x, y) in onnx_out.iter().zip(&nnef_out) {
                    max_diff = max_diff.max((x - y).abs());
                }
            }
            Err(e) => failures.push(format!("round {round}: {e:#}")),
        }
        tars.push(tar);
    }
    let identical = tars.windows(2).all(|w| w[0] == w[1]);
    println!("model {path}, {size}x{size}, {rounds} rounds (medians, ms)");
    println!("| phase | ONNX | NNEF (decluttered) |");
    println!("| --- | --- | --- |");
    let nnef_or = |v: &Vec<f64>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.1}", median(v.clone()))
        }
    };
    println!(
        "| read (+ declutter for ONNX) | {:.1} + {:.1} | {} |",
        median(parse.clone()),
        median(declutter.clone()),
        nnef_or(&nnef_read)
    );
    for (i, name) in [
        "codegen (optimize)",
        "plan",
        "first inference",
        "steady inference",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "| {name} | {:.1} | {} |",
            median(onnx_times[i].clone()),
            nnef_or(&nnef_times[i])
        );
    }
    let ready = |read: f64, times: &[Vec<f64>]| {
        read + (0..3).map(|i| median(times[i].clone())).sum::<f64>()
    };
    println!(
        "| ready (read..first inference) | {:.1} | {} |",
        ready(
            median(parse.clone()) + median(declutter.clone()),
            &onnx_times
        ),
        if nnef_read.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.1}", ready(median(nnef_read.clone()), &nnef_times))
        }
    );
    println!(
        "ONNX file {} bytes; NNEF tar {} bytes; tars identical across rounds: {identical}; \
         NNEF read failures: {}/{rounds}; max |ONNX - NNEF| output difference: {max_diff:e}",
        bytes.len(),
        tars.first().map_or(0, Vec::len),
        failures.len()
    );
    println!(
        "same model written twice differs: {writer_differs}/{rounds}; decluttered graphs \
         identical across rounds: {}",
        graphs.windows(2).all(|w| w[0] == w[1])
    );
    if let Ok(dir) = std::env::var("MODEL_LOAD_DUMP") {
        for (i, g) in graphs.iter().enumerate() {
            std::fs::write(format!("{dir}/graph-{i}.txt"), g)?;
        }
    }
    for f in failures {
        println!("  {f}");
    }
    Ok(())
}
