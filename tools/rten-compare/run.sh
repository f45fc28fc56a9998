#!/usr/bin/env bash
# rten vs onnxruntime (and tract, through core/examples/model_load.rs) on the same models and
# the same probe input, in one run (issue 15; a throwaway comparison, never run by CI).
# Usage: bash tools/rten-compare/run.sh   (needs the test venv: bash scripts/test.sh makes it)
set -euo pipefail
cd "$(dirname "$0")/../.."
py=${OMNI_TEST_PYTHON:-.venv/bin/python}
runs=${OMNI_BENCH_RUNS:-10}
(cd tools/rten-compare && cargo build --release -q)
cargo build --release -q -p omni-core --example model_load
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| model | threads | rten load ms | rten first ms | rten steady ms | onnxruntime steady ms | rten / ort | max box diff px | max score diff |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for spec in core/models/edge-model.onnx:320 core/tests/fixtures/models/yolo11n-6cls-640-f32.onnx:640; do
  model=${spec%:*}; size=${spec#*:}
  for threads in 1 2; do
    rten=$(RTEN_NUM_THREADS=$threads tools/rten-compare/target/release/rten-compare "$model" "$size" "$runs" "$out/rten.f32")
    "$py" - "$model" "$size" "$runs" "$threads" "$out/rten.f32" "$rten" <<'PY'
import json, sys, time
import numpy as np
import onnxruntime as ort
model, size, runs, threads, raw, rten = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], json.loads(sys.argv[6])
opts = ort.SessionOptions()
opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
s = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
x = (np.arange(3 * size * size) % 251).astype(np.float32).reshape(1, 3, size, size) / np.float32(251.0)
name = s.get_inputs()[0].name
ref = s.run(None, {name: x})[0]
times = []
for _ in range(runs):
    t = time.perf_counter(); s.run(None, {name: x}); times.append((time.perf_counter() - t) * 1000)
ort_ms = sorted(times)[len(times) // 2]
got = np.fromfile(raw, dtype="<f4").reshape(ref.shape)
box = float(np.abs(got[:, :4] - ref[:, :4]).max()); score = float(np.abs(got[:, 4:] - ref[:, 4:]).max())
print(f"| {model.split('/')[-1]} ({size}) | {threads} | {rten['load_ms']:.1f} | {rten['first_ms']:.1f} | {rten['steady_ms']:.1f} | {ort_ms:.1f} | {rten['steady_ms'] / ort_ms:.2f} | {box:.2e} | {score:.2e} |")
PY
  done
done
echo
echo "tract on the same probe input (1 thread):"
for model in core/models/edge-model.onnx core/tests/fixtures/models/yolo11n-6cls-640-f32.onnx; do
  target/release/examples/model_load "$model" 5 | grep -E "^\| (ONNX|file)"
done
