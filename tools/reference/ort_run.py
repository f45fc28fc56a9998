#!/usr/bin/env python3
"""Run an ONNX model with onnxruntime (CPU) on one raw float32 tensor.

    ort_run.py --model M.onnx --input in.bin --shape 1,3,S,S --out out.bin [--threads N]

in.bin / out.bin are raw little-endian float32 (C order). Prints one JSON line:
{"output": name, "shape": [...], "input_shape": [...], "ms": inference time}.
Used by the Rust parity tests; needs only numpy + onnxruntime (.venv, tools/requirements-test.txt).
"""
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--input", required=True)
    ap.add_argument("--shape", required=True, help="comma separated, e.g. 1,3,640,640")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    x = np.fromfile(a.input, dtype="<f4")
    if x.size != int(np.prod(shape)):
        sys.exit(f"ort_run: {a.input} has {x.size} floats, shape {shape} needs {int(np.prod(shape))}")
    x = x.reshape(shape).astype(np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    t0 = time.perf_counter()
    y = sess.run(None, {inp.name: x})[0]
    ms = (time.perf_counter() - t0) * 1e3
    np.ascontiguousarray(y, dtype="<f4").tofile(a.out)
    print(json.dumps({"output": sess.get_outputs()[0].name, "shape": list(y.shape), "input_shape": shape,
                      "ms": round(ms, 3)}))


if __name__ == "__main__":
    main()
