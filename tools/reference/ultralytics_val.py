#!/usr/bin/env python3
"""Ultralytics' own `val` numbers for an ONNX detection model on a YOLO-format data set.

    ultralytics_val.py --model M.onnx --data DIR [--imgsz 320] [--conf 0.001] [--iou 0.7]

DIR holds data.yaml (or train/ and val/ with our six classes). Prints one JSON line:
{"map50": .., "map50_95": .., "per_class": {name: {"map50": .., "map50_95": ..}}}.
Needs the models venv (.venv-models: ultralytics, onnxruntime). Nothing is downloaded.
The Rust evaluator's cross-check test (core/tests/evaluation.rs) compares against it.
"""
import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "omni-ultralytics-config"))
Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)

NAMES = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--conf", type=float, default=0.001)
    ap.add_argument("--iou", type=float, default=0.7)
    a = ap.parse_args()
    from ultralytics import YOLO

    root = Path(a.data).resolve()
    # Ultralytics resolves a relative `path:` against its own datasets folder: write an
    # absolute one.
    yaml = Path(tempfile.mkdtemp()) / "data.yaml"
    yaml.write_text(
        f"path: {root}\ntrain: train/images\nval: val/images\nnc: {len(NAMES)}\nnames: {NAMES}\n"
    )
    metrics = YOLO(a.model, task="detect").val(
        data=str(yaml), imgsz=a.imgsz, conf=a.conf, iou=a.iou, batch=1, plots=False,
        verbose=False, device="cpu", project=tempfile.mkdtemp(), name="val",
    )
    box = metrics.box
    per_class = {}
    for i, c in enumerate(box.ap_class_index):
        per_class[NAMES[int(c)]] = {"map50": float(box.ap50[i]), "map50_95": float(box.ap[i])}
    print(json.dumps({"map50": float(box.map50), "map50_95": float(box.map), "per_class": per_class}))


if __name__ == "__main__":
    sys.exit(main())
