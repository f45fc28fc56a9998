#!/usr/bin/env python3
"""Sanity checks of the committed fixtures; needs only numpy, opencv, onnxruntime (.venv is enough).

  * every core/tests/fixtures/models/*.onnx loads in onnxruntime; input/output shapes, metadata;
  * the f32 YOLO fixtures are input-dependent (std over images of the score rows > 0);
  * int8 vs f32 raw-output differences on the letterbox reference images;
  * the numpy post-processing port (tools/reference/ort_postprocess.py) run on onnxruntime's output
    for the letterbox PNGs reproduces Ultralytics' own detections (letterbox/*.detections.640*.json);
  * tools/reference/ort_run.py round trip.
Exit status 1 on failure. Prints a JSON summary.
"""
import glob
import json
import os
import subprocess
import sys
import tempfile

import cv2
import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIX = os.path.join(ROOT, "core", "tests", "fixtures")
sys.path.insert(0, os.path.join(ROOT, "tools", "reference"))
from ort_postprocess import postprocess  # noqa: E402


def session(p, threads=2):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(p, so, providers=["CPUExecutionProvider"])


def lb_input(png):
    rgb = cv2.imread(png)[..., ::-1]
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32)[None] / 255.0


def run(sess, x):
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    u = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / u if u > 0 else 0.0


def main():
    out, ok = {"models": {}, "int8_vs_f32": {}, "postprocess_parity": {}}, True
    for p in sorted(glob.glob(os.path.join(FIX, "models", "*.onnx"))):
        s = session(p)
        meta = s.get_modelmeta().custom_metadata_map
        i, o = s.get_inputs()[0], s.get_outputs()[0]
        x = np.random.default_rng(0).random(i.shape, dtype=np.float32)
        y = run(s, x)
        out["models"][os.path.basename(p)] = {"input": [i.name, i.shape], "output": [o.name, list(y.shape)],
                                              "task": meta.get("task"), "imgsz": meta.get("imgsz"),
                                              "omni_model_name": meta.get("omni_model_name")}
    for size in (640, 320):
        pngs = sorted(glob.glob(os.path.join(FIX, "letterbox", f"*.{size}.png")))
        xs = [lb_input(p) for p in pngs]
        f = session(os.path.join(FIX, "models", f"yolo11n-6cls-{size}-f32.onnx"))
        q = session(os.path.join(FIX, "models", f"yolo11n-6cls-{size}-int8.onnx"))
        a = np.concatenate([run(f, x) for x in xs])
        b = np.concatenate([run(q, x) for x in xs])
        std = float(a[:, 4:].std(0).mean())
        out["models"][f"yolo11n-6cls-{size}-f32.onnx"]["score_std_over_images_mean"] = std
        out["models"][f"yolo11n-6cls-{size}-f32.onnx"]["max_score"] = float(a[:, 4:].max())
        if not std > 0:
            ok = False
        d = np.abs(a - b)
        # detection-level agreement at conf 0.25 (letterbox space): same class and IoU > 0.5
        n_f = n_q = n_match = 0
        for ya, yb in zip(a, b):
            da = postprocess(ya[None], size, (size, size), 0.25, 0.7, 300)
            db = postprocess(yb[None], size, (size, size), 0.25, 0.7, 300)
            n_f, n_q = n_f + len(da), n_q + len(db)
            for x in da:
                n_match += any(x["class_id"] == z["class_id"] and iou(x["xyxy"], z["xyxy"]) > 0.5 for z in db)
        out["int8_vs_f32"][size] = {"images": len(xs), "score_max_abs": float(d[:, 4:].max()),
                                    "score_mean_abs": float(d[:, 4:].mean()),
                                    "box_max_abs_px": float(d[:, :4].max()), "box_mean_abs_px": float(d[:, :4].mean()),
                                    "f32_max_score": float(a[:, 4:].max()), "int8_max_score": float(b[:, 4:].max()),
                                    "dets_conf025_f32": n_f, "dets_conf025_int8": n_q, "f32_dets_matched_by_int8": n_match}
    # numpy NMS port vs Ultralytics end-to-end detections
    f = session(os.path.join(FIX, "models", "yolo11n-6cls-640-f32.onnx"))
    for dj in sorted(glob.glob(os.path.join(FIX, "letterbox", "*.detections.640*.json"))):
        ref = json.load(open(dj))
        stem = os.path.splitext(ref["image"])[0]
        lb = json.load(open(os.path.join(FIX, "letterbox", f"{stem}.640.json")))
        y = run(f, lb_input(os.path.join(FIX, "letterbox", f"{stem}.640.png")))
        got = postprocess(y, 640, (ref["orig_h"], ref["orig_w"]), ref["conf"], ref["iou"], ref["max_det"], lb)
        n_ok = len(got) == len(ref["detections"])
        max_box = max_score = 0.0
        if n_ok and got:
            gb = np.array([g["xyxy"] for g in got]); rb = np.array([r["xyxy"] for r in ref["detections"]])
            max_box = float(np.abs(gb - rb).max())
            max_score = float(np.abs(np.array([g["score"] for g in got]) - np.array([r["score"] for r in ref["detections"]])).max())
            n_ok = [g["class_id"] for g in got] == [r["class_id"] for r in ref["detections"]]
        good = n_ok and max_box < 0.5 and max_score < 1e-3
        ok &= good
        out["postprocess_parity"][os.path.basename(dj)] = {"ultralytics": len(ref["detections"]), "numpy_port": len(got),
                                                          "max_box_diff_px": max_box, "max_score_diff": max_score,
                                                          "ok": bool(good)}
    # ort_run.py round trip
    with tempfile.TemporaryDirectory() as t:
        x = lb_input(os.path.join(FIX, "letterbox", "yard-1001x667.320.png"))
        x.astype("<f4").tofile(os.path.join(t, "in.bin"))
        r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "reference", "ort_run.py"), "--model",
                            os.path.join(FIX, "models", "yolo11n-6cls-320-f32.onnx"), "--input", os.path.join(t, "in.bin"),
                            "--shape", "1,3,320,320", "--out", os.path.join(t, "out.bin"), "--threads", "1"],
                           capture_output=True, text=True, check=True)
        line = json.loads(r.stdout)
        y = np.fromfile(os.path.join(t, "out.bin"), "<f4").reshape(line["shape"])
        diff = float(np.abs(y - run(session(os.path.join(FIX, "models", "yolo11n-6cls-320-f32.onnx"), 1), x)).max())
        out["ort_run_roundtrip"] = {"shape": line["shape"], "max_abs_diff_vs_inprocess": diff}
        ok &= diff < 1e-4
    out["ok"] = bool(ok)
    print(json.dumps(out, indent=1))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
