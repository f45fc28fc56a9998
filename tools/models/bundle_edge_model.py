#!/usr/bin/env python3
"""Make a trained model the core's bundled edge model, with its manifest.

    bundle_edge_model.py --model-dir .cache/demo-model/model --data .cache/demo-model/data \
        --omni target/release/omni [--generator-note "generated data set v1 ..."]

Copies MODEL_DIR/model.onnx (float, Softmax-decomposed, as trainer/sagemaker/train.py
exports it) to core/models/edge-model.onnx and writes core/models/edge-model.json: name,
version, sha256, size, classes, imgsz, what it was trained on, the training run (where, wall
time, epochs), Ultralytics' val numbers from MODEL_DIR/metrics.json, and our own pipeline's
numbers from `omni eval --json` on the same val split for the float and the int8 export,
plus the int8 gate verdict (int8 mAP50-95 within 0.01 of float, in our pipeline).
Standard library only.
"""
import argparse
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def omni_eval(omni, model, data):
    out = subprocess.run([str(omni), "eval", "--model", str(model), "--data", str(data), "--json"],
                         check=True, capture_output=True, text=True).stdout
    m = json.loads(out)
    return {"mAP50": round(m["map50"], 4), "mAP50-95": round(m["map50_95"], 4),
            "per_class": {c["label"]: {"mAP50": round(c["map50"], 4), "mAP50-95": round(c["map50_95"], 4),
                                       "instances": c["instances"]} for c in m["per_class"]},
            "images": m["images"], "instances": m["instances"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data", required=True, help="the data set root the model was validated on")
    ap.add_argument("--omni", required=True, help="path to a built omni binary")
    ap.add_argument("--trained-on", default="generated data set v1 (tools/datagen/generate_yard_dataset.py)")
    a = ap.parse_args()
    model_dir = Path(a.model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    src = model_dir / "model.onnx"
    data = Path(a.data)
    ours_float = omni_eval(a.omni, src, data)
    ours_int8 = omni_eval(a.omni, model_dir / "model-int8.onnx", data)
    drop = ours_float["mAP50-95"] - ours_int8["mAP50-95"]
    dst = ROOT / "core/models/edge-model.onnx"
    shutil.copyfile(src, dst)
    blob = dst.read_bytes()
    train = metrics["train"]
    manifest = {
        "format_version": 1,
        "name": metrics["model_name"],
        "version": metrics["model_version"],
        "file": "edge-model.onnx",
        "sha256": hashlib.sha256(blob).hexdigest(),
        "size": len(blob),
        "classes": metrics["classes"],
        "imgsz": metrics["export_imgsz"],
        "precision": "float32",
        "graph_surgery": "softmax-decomposed (trainer/sagemaker/tract_surgery.py)",
        "trained_on": f"{a.trained_on}: {metrics['dataset']['train']['images']} train / "
                      f"{metrics['dataset']['val']['images']} val images",
        "training": {
            "entry_script": "trainer/sagemaker/train.py via tools/models/train_demo.sh",
            "host": metrics["host"], "device": train["device"], "epochs_run": train["epochs_run"],
            "best_epoch": train["best_epoch"], "wall_seconds_total": train["wall_seconds_total"],
            "sessions": train["sessions"],
        },
        "metrics": {
            "ultralytics_val_float": {k: metrics["onnx"]["float"][k] for k in ("mAP50", "mAP50-95")},
            "ultralytics_val_int8": {k: metrics["onnx"]["int8"][k] for k in ("mAP50", "mAP50-95")},
            "our_pipeline_float": ours_float,
            "our_pipeline_int8": ours_int8,
            "int8_gate": {"max_drop": 0.01, "drop": round(drop, 4), "passes": drop <= 0.01},
        },
        "note": "Demo model trained on generated images, not on real container photos.",
    }
    (ROOT / "core/models/edge-model.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest["metrics"], indent=2))


if __name__ == "__main__":
    sys.exit(main())
