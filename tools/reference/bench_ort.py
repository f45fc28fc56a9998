#!/usr/bin/env python3
"""onnxruntime CPU baseline for the Rust benchmark (same pipeline, Python side).

    bench_ort.py --model M.onnx --images DIR --threads 1,2 --runs N [--warmup W] [--conf 0.25] [--json]

Per image and run: read file -> Pillow decode (libjpeg-turbo) + ImageOps.exif_transpose -> RGB
-> letterbox (cv2.resize INTER_LINEAR, pad 114, Ultralytics LetterBox arithmetic, auto=False)
-> CHW float32 / 255 -> onnxruntime (intra_op_num_threads=T, inter_op_num_threads=1,
ORT_SEQUENTIAL) -> numpy NMS port (tools/reference/ort_postprocess.py) -> boxes in original pixels.
Reports per thread count: model load ms, median / p95 of end-to-end ms and of inference-only ms,
detections per image, and peak RSS (resource.getrusage ru_maxrss, whole process, MiB).
Needs only numpy, Pillow, opencv-python-headless, onnxruntime (.venv).
"""
import argparse
import json
import os
import resource
import sys
import time

import cv2
import numpy as np
import onnxruntime as ort
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_postprocess import postprocess  # noqa: E402

EXTS = (".jpg", ".jpeg", ".png")


def letterbox(rgb, s):
    """Ultralytics LetterBox(new_shape=(s, s), auto=False, scaleup=True, center=True) on an RGB array."""
    h, w = rgb.shape[:2]
    r = min(s / h, s / w)
    nw, nh = max(round(w * r), 1), max(round(h * r), 1)
    if (w, h) != (nw, nh):
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    dw, dh = (s - nw) / 2, (s - nh) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return cv2.copyMakeBorder(rgb, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))


def load_rgb(path):
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.asarray(im.convert("RGB"))


def pct(v, q):
    return float(np.percentile(np.asarray(v), q)) if v else None


def peak_rss_mib():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (1024 * 1024) if sys.platform == "darwin" else r / 1024, 1)


def bench(model, images, threads, runs, warmup, conf, iou, max_det):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    t0 = time.perf_counter()
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - t0) * 1e3
    inp = sess.get_inputs()[0]
    s = int(inp.shape[2])
    e2e, infer, per_image = [], [], {}
    for it in range(warmup + runs):
        for p in images:
            t_a = time.perf_counter()
            rgb = load_rgb(p)
            x = np.ascontiguousarray(letterbox(rgb, s).transpose(2, 0, 1), dtype=np.float32)[None] / 255.0
            t_b = time.perf_counter()
            y = sess.run(None, {inp.name: x})[0]
            t_c = time.perf_counter()
            dets = postprocess(y, s, rgb.shape[:2], conf, iou, max_det)
            t_d = time.perf_counter()
            if it >= warmup:
                e2e.append((t_d - t_a) * 1e3)
                infer.append((t_c - t_b) * 1e3)
                per_image[os.path.basename(p)] = len(dets)
    return {
        "threads": threads, "imgsz": s, "images": len(images), "runs": runs, "warmup": warmup,
        "model_load_ms": round(load_ms, 2),
        "e2e_ms_median": round(pct(e2e, 50), 3), "e2e_ms_p95": round(pct(e2e, 95), 3),
        "infer_ms_median": round(pct(infer, 50), 3), "infer_ms_p95": round(pct(infer, 95), 3),
        "detections_per_image": per_image, "peak_rss_mib": peak_rss_mib(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--images", required=True, help="directory of .jpg/.png files (or one file)")
    ap.add_argument("--threads", default="1", help="comma separated, e.g. 1,2")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.7)
    ap.add_argument("--max-det", type=int, default=300)
    ap.add_argument("--json", action="store_true", help="print one JSON document (default: a short table)")
    a = ap.parse_args()
    if os.path.isdir(a.images):
        images = sorted(os.path.join(a.images, f) for f in os.listdir(a.images) if f.lower().endswith(EXTS))
    else:
        images = [a.images]
    if not images:
        sys.exit(f"bench_ort: no images in {a.images}")
    results = [bench(a.model, images, int(t), a.runs, a.warmup, a.conf, a.iou, a.max_det)
               for t in a.threads.split(",")]
    doc = {"engine": "onnxruntime", "ort_version": ort.__version__, "model": a.model, "results": results}
    if a.json:
        print(json.dumps(doc))
    else:
        print(f"onnxruntime {ort.__version__}  {a.model}  {len(images)} images x {a.runs} runs")
        for r in results:
            print(f"threads={r['threads']}: load {r['model_load_ms']:.1f} ms  e2e median {r['e2e_ms_median']:.1f} "
                  f"p95 {r['e2e_ms_p95']:.1f} ms  infer median {r['infer_ms_median']:.1f} p95 {r['infer_ms_p95']:.1f} ms"
                  f"  peak RSS {r['peak_rss_mib']} MiB")


if __name__ == "__main__":
    main()
