//! Per-operator time profile of an ONNX detection model under tract, to find where
//! inference time goes. Usage:
//! `cargo run --release -p omni-core --example profile_tract -- MODEL.onnx [SIZE] [THREADS]`

use std::collections::HashMap;
use std::time::Instant;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{SimpleState, eval};
use tract_onnx::tract_core::runtime::RunOptions;

const RUNS: usize = 5;

fn main() -> TractResult<()> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or_else(|| TractError::msg("usage: profile_tract MODEL.onnx [SIZE] [THREADS]"))?;
    let size: usize = args.next().map_or(Ok(640), |s| s.parse())?;
    let threads: usize = args.next().map_or(Ok(1), |s| s.parse())?;
    if let Ok(panels) = std::env::var("TRACT_PANEL_THRESHOLD") {
        multithread::set_threading_panel_threshold(panels.parse()?);
    }
    if let Ok(macs) = std::env::var("TRACT_MAC_THRESHOLD") {
        multithread::set_threading_mac_threshold(macs.parse()?);
    }
    let mut model = tract_onnx::onnx().model_for_path(&path)?;
    model.set_input_fact(0, f32::fact([1, 3, size, size]).into())?;
    let options = RunOptions {
        executor: (threads > 1).then(|| multithread::Executor::multithread(threads)),
        ..RunOptions::default()
    };
    let plan = model
        .into_optimized()?
        .into_runnable_with_options(&options)?;
    let input = Tensor::from_shape(&[1, 3, size, size], &vec![0.5f32; 3 * size * size])?;
    let mut by_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut by_node: HashMap<String, f64> = HashMap::new();
    let mut totals = Vec::new();
    for run in 0..RUNS {
        let mut state = SimpleState::new(&plan)?;
        let started = Instant::now();
        state.run_plan_with_eval(
            tvec!(input.clone().into()),
            |ctx, op_state, node, inputs| {
                let t = Instant::now();
                let result = eval(ctx, op_state, node, inputs);
                // The first run warms caches and allocations; it is not counted.
                if run > 0 {
                    let ms = t.elapsed().as_secs_f64() * 1000.0 / (RUNS - 1) as f64;
                    let entry = by_op.entry(node.op().name().to_string()).or_default();
                    entry.0 += ms;
                    entry.1 += 1;
                    *by_node
                        .entry(format!("{} {}", node.op().name(), node.name))
                        .or_default() += ms;
                }
                result
            },
        )?;
        if run > 0 {
            totals.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    totals.sort_by(f64::total_cmp);
    println!(
        "{path} at {size}, {threads} thread(s): median {:.1} ms per run",
        totals[totals.len() / 2]
    );
    println!("\nby operator (ms per run, node count):");
    let mut ops: Vec<_> = by_op.into_iter().collect();
    ops.sort_by(|a, b| b.1.0.total_cmp(&a.1.0));
    for (name, (ms, n)) in ops.iter().take(12) {
        println!("{ms:9.2}  {:4}  {name}", n / (RUNS - 1));
    }
    println!("\nslowest nodes (ms per run):");
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (name, ms) in nodes.iter().take(12) {
        println!("{ms:9.2}  {name}");
    }
    Ok(())
}
