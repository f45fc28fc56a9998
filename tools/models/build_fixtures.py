#!/usr/bin/env python3
"""Build the YOLO11n (6 damage classes) ONNX test fixtures for Omni-Inspector.

Run through tools/models/build.sh (it makes .venv-models and sets the offline env).

Steps (all seeded, nothing downloaded from any hub):
 1. generate the synthetic yard data set (tools/datagen) into .cache/omni-fixtures/yard;
 2. build YOLO11n from Ultralytics' own yolo11n.yaml with nc=6 and our class names and
    either train it briefly on CPU (--mode train, default) or only recalibrate the
    BatchNorm running statistics on generated images (--mode bnrecal);
 3. export ONNX (opset 17, simplify=True, dynamic=False, nms=False) at 640 and 320, keep
    Ultralytics' metadata_props and add omni_model_name / omni_model_version;
 4. int8 QDQ copies with onnxruntime quantize_static (per-tensor, Conv/MatMul only, the
    DFL decode in /model.23/dfl excluded, standard QuantizeLinear/DequantizeLinear only);
    then trainer/sagemaker/tract_surgery.py rewrites every Softmax of both the float and the int8
    model as ReduceMax/Sub/Exp/ReduceSum/Div in float (tract's Softmax on the DFL head's
    small axis was 225 ms of a 380 ms inference at 640) and records
    omni_graph_surgery=softmax-decomposed. The surgery runs after quantisation on purpose:
    calibrating the decomposed graph moves ~100 activation scales downstream of the C2PSA
    attention softmax by ~1 ulp; this way the int8 quantisation parameters do not depend on
    the surgery and the result equals `tract_surgery.py` run on the plain int8 file;
    (`--reuse-trained` skips training and re-exports the cached best.pt, byte-identical);
    the export arguments, the quantisation and the surgery of steps 3-4 are imported from
    trainer/sagemaker/train.py, so the fixtures are made exactly as the production models;
 5. two tiny hand-made models for error tests;
 6. core/tests/fixtures/models/manifest.json.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".cache" / "ultralytics"))
Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.path.insert(0, str(ROOT / "tools" / "datagen"))
import generate_yard_dataset as yard  # noqa: E402

# One copy of the export / int8 / surgery recipe: the SageMaker entry script (trainer/sagemaker/
# train.py, beside tract_surgery.py; it runs with only its own directory). The fixtures are
# exported and quantised exactly as the production models.
sys.path.insert(0, str(ROOT / "trainer" / "sagemaker"))
from train import (  # noqa: E402
    EXPORT_ARGS, compare as compare_int8, graph_surgery, letterbox_chw, ort_outputs, quantize_int8)

CLASSES = yard.CLASSES
OUT = ROOT / "core" / "tests" / "fixtures" / "models"
WORK = ROOT / ".cache" / "omni-fixtures"
MODEL_NAME = "yolo11n-fixture"
MODEL_VERSION = "0.1.0"
FIXED_DATE = "2025-01-01T00:00:00+00:00"  # replaces Ultralytics' export time stamp (reproducible bytes)
GRAPH_SURGERY_NOTE = (
    "All YOLO fixtures (f32 and int8) have every Softmax rewritten by trainer/sagemaker/tract_surgery.py as "
    "e = Exp(x - ReduceMax(x, axes=[a], keepdims=1)); y = e / ReduceSum(e, axes=[a], keepdims=1) (opset 17 forms: "
    "ReduceMax axes attribute, ReduceSum axes input); metadata_props omni_graph_surgery=softmax-decomposed. Why: in "
    "tract 0.23 the DFL head's /model.23/dfl/Softmax (input [1,16,4,8400], axis=1) took 225 ms of a 380 ms inference "
    "at 640 (moving the axis last with Transposes did not help); decomposed, the whole model runs in 166 ms in tract. "
    "The int8 copies are quantised from the exported graph and decomposed afterwards, so their quantisation "
    "parameters are those of the plain export; the decomposition is float (between DequantizeLinear and "
    "QuantizeLinear), standard ops only. Before/after, onnxruntime: f32 max abs diff ~2e-4 px on boxes (float ulp "
    "at 640) and <1e-6 on scores; int8 the same with graph optimisations off (ORT_ENABLE_BASIC: box <2e-4 px, "
    "score 0), but with ORT's default ORT_ENABLE_ALL the int8 outputs move (up to tens of px / 0.06 score at single "
    "anchors) because onnxruntime fused the attention's DQ->Softmax->Transpose->Q into a uint8 com.microsoft "
    "QLinearSoftmax before the surgery and cannot after it; tract never did that fusion.")


def sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def set_metadata(path: Path, extra: dict):
    m = onnx.load(str(path))
    props = {p.key: p.value for p in m.metadata_props}
    if "date" in props:
        props["date"] = FIXED_DATE
    props.update(extra)
    props = {k: str(v).replace(str(ROOT) + os.sep, "") for k, v in props.items()}  # no checkout path in the bytes
    del m.metadata_props[:]
    for k, v in props.items():
        m.metadata_props.add(key=k, value=str(v))
    onnx.save(m, str(path))
    return props


# ----------------------------------------------------------------------------
# data + model
# ----------------------------------------------------------------------------

def make_dataset(seed, n_train, n_val):
    d = WORK / "yard"
    key = json.dumps({"seed": seed, "train": n_train, "val": n_val,
                      "generator": sha256(Path(yard.__file__))})
    stamp = WORK / "yard.stamp.json"
    if d.exists() and stamp.exists() and json.loads(stamp.read_text())["key"] == key:
        stats = json.loads(stamp.read_text())["stats"]
        print("[data] reusing", d, flush=True)
    else:
        if d.exists():
            shutil.rmtree(d)
        t0 = time.time()
        stats = yard.generate_dataset(str(d), n_train, n_val, seed=seed, imgsz=640)
        stats["seconds"] = round(time.time() - t0, 2)
        stamp.write_text(json.dumps({"key": key, "stats": stats}))
    # Ultralytics resolves a relative `path:` against its datasets_dir, so train from an absolute copy.
    abs_yaml = WORK / "yard-abs.yaml"
    abs_yaml.write_text(yard.DATA_YAML.replace("path: .", f"path: {d}"))
    print(f"[data] {stats}", flush=True)
    return d, abs_yaml, stats


def train_model(abs_yaml, seed, epochs, imgsz):
    from ultralytics import YOLO

    model = YOLO("yolo11n.yaml")  # architecture only, no weights
    t0 = time.time()
    model.train(
        data=str(abs_yaml), epochs=epochs, imgsz=imgsz, batch=16, device="cpu", workers=0,
        plots=False, seed=seed, deterministic=True, pretrained=False, amp=False,
        project=str(WORK / "runs"), name="train", exist_ok=True, verbose=False, patience=1000,
    )
    secs = time.time() - t0
    run = WORK / "runs" / "train"
    best = run / "weights" / "best.pt"
    metrics = {}
    res_csv = run / "results.csv"
    if res_csv.exists():
        import csv

        rows = list(csv.DictReader(res_csv.open()))
        last = {k.strip(): v for k, v in rows[-1].items()}
        best_row = max(rows, key=lambda r: float(r.get("metrics/mAP50-95(B)", 0) or 0))
        metrics = {
            "last_epoch": {k: float(last[k]) for k in last if k.startswith("metrics/")},
            "best_mAP50-95": float(best_row["metrics/mAP50-95(B)"]),
            "best_mAP50": float(best_row["metrics/mAP50(B)"]),
        }
    print(f"[train] {epochs} epochs in {secs:.0f}s: {metrics}", flush=True)
    return best, {"mode": "train", "epochs": epochs, "imgsz": imgsz, "batch": 16, "seconds": round(secs),
                  "optimizer": "auto (AdamW)", "pt_metrics": metrics}


def bnrecal_model(data_dir, seed, n_images=100, imgsz=320):
    """Random init + BatchNorm running-stat recalibration on generated images."""
    import torch
    from ultralytics import YOLO
    from ultralytics.nn.tasks import DetectionModel

    torch.manual_seed(seed)
    y = YOLO("yolo11n.yaml")
    net = DetectionModel("yolo11n.yaml", nc=6, verbose=False)
    net.names = {i: n for i, n in enumerate(CLASSES)}
    imgs = sorted((data_dir / "train" / "images").glob("*.jpg"))[:n_images]
    bns = [m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    net.train()
    with torch.no_grad():
        for i in range(0, len(imgs), 10):
            x = torch.from_numpy(np.concatenate([letterbox_chw(p, imgsz) for p in imgs[i:i + 10]]))
            net(x)
    net.eval()
    net.args = dict(getattr(y.model, "args", {}) or {}, imgsz=imgsz)
    net.task = "detect"
    y.model = net
    return y, {"mode": "bnrecal", "images": len(imgs), "imgsz": imgsz}


def export(model_src, s, dst: Path):
    from ultralytics import YOLO

    y = model_src if not isinstance(model_src, (str, Path)) else YOLO(str(model_src))
    p = y.export(imgsz=s, **EXPORT_ARGS)
    shutil.move(p, dst)
    props = set_metadata(dst, {"omni_model_name": MODEL_NAME, "omni_model_version": MODEL_VERSION})
    print(f"[export] {dst.name}: {dst.stat().st_size} bytes, imgsz={props.get('imgsz')}", flush=True)
    return props


def surgery_diff_on(before: Path, after: Path, paths, s):
    xs = [letterbox_chw(p, s) for p in paths]
    d = np.abs(ort_outputs(before, xs) - ort_outputs(after, xs))
    e = np.abs(ort_outputs(before, xs, True) - ort_outputs(after, xs, True))
    r = {"images": len(paths), "box_rows_max_abs_diff": float(d[:, :4].max()),
         "score_rows_max_abs_diff": float(d[:, 4:].max()),
         "ort_enable_basic": {"box_rows_max_abs_diff": float(e[:, :4].max()),
                              "score_rows_max_abs_diff": float(e[:, 4:].max())}}
    print(f"[surgery diff] {after.name}: {json.dumps(r)}", flush=True)
    return r


def input_dependence(model: Path, paths, s):
    out = ort_outputs(model, [letterbox_chw(p, s) for p in paths])
    scores = out[:, 4:]
    return {
        "images": len(paths),
        "output_shape": list(out.shape[1:]),
        "score_std_over_images_mean": float(scores.std(0).mean()),
        "box_std_over_images_mean": float(out[:, :4].std(0).mean()),
        "max_score": float(scores.max()),
        "anchors_over_0.25_per_image": float((scores.max(1) > 0.25).sum(1).mean()),
    }


# ----------------------------------------------------------------------------
# tiny error-test models
# ----------------------------------------------------------------------------

def _save_small(model, path, meta):
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=str(v))
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def tiny_models(seed):
    rng = np.random.default_rng(seed)
    # classify: images 1x3x64x64 -> GlobalAveragePool -> Flatten -> MatMul(3x6) -> Softmax -> 1x6
    w = numpy_helper.from_array(rng.standard_normal((3, 6)).astype(np.float32), "fc.weight")
    g = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["gap"], name="/gap"),
         helper.make_node("Flatten", ["gap"], ["flat"], name="/flatten", axis=1),
         helper.make_node("MatMul", ["flat", "fc.weight"], ["logits"], name="/fc"),
         helper.make_node("Softmax", ["logits"], ["output0"], name="/softmax", axis=1)],
        "classify_fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 6])],
        [w])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="omni-inspector-tools")
    _save_small(m, OUT / "not-detect-classify.onnx", {
        "description": "Omni-Inspector error-test fixture: a classifier, not a detector",
        "author": "omni-inspector tools/models/build_fixtures.py", "task": "classify",
        "stride": 32, "batch": 1, "imgsz": [64, 64], "channels": 3,
        "names": "{0: 'dent', 1: 'dirt', 2: 'rust', 3: 'scratch', 4: 'spoiled', 5: 'mold'}",
    })
    # detect with 3 classes: 1x3x64x64 -> three AveragePool+1x1 Conv branches (strides 8/16/32)
    # -> reshape to 1x7x64, 1x7x16, 1x7x4 -> Concat -> 1x7x84 (4 box rows + 3 class rows)
    nodes, inits = [], []
    outs = []
    for s, n in ((8, 64), (16, 16), (32, 4)):
        inits.append(numpy_helper.from_array(rng.standard_normal((7, 3, 1, 1)).astype(np.float32), f"conv{s}.weight"))
        inits.append(numpy_helper.from_array(rng.standard_normal(7).astype(np.float32), f"conv{s}.bias"))
        inits.append(numpy_helper.from_array(np.array([1, 7, n], np.int64), f"shape{s}"))
        nodes += [
            helper.make_node("AveragePool", ["images"], [f"pool{s}"], name=f"/pool{s}", kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Conv", [f"pool{s}", f"conv{s}.weight", f"conv{s}.bias"], [f"conv{s}"], name=f"/conv{s}"),
            helper.make_node("Reshape", [f"conv{s}", f"shape{s}"], [f"flat{s}"], name=f"/reshape{s}"),
        ]
        outs.append(f"flat{s}")
    nodes.append(helper.make_node("Concat", outs, ["output0"], name="/concat", axis=2))
    g = helper.make_graph(
        nodes, "detect3_fixture",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 7, 84])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="omni-inspector-tools")
    _save_small(m, OUT / "detect-3-classes.onnx", {
        "description": "Omni-Inspector error-test fixture: a detector with 3 classes (not our 6)",
        "author": "omni-inspector tools/models/build_fixtures.py", "task": "detect",
        "stride": 32, "batch": 1, "imgsz": [64, 64], "channels": 3,
        "names": "{0: 'car', 1: 'truck', 2: 'bus'}",
    })


# ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mode", choices=["train", "bnrecal"], default="train")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--train-imgsz", type=int, default=320)
    ap.add_argument("--train-images", type=int, default=240)
    ap.add_argument("--val-images", type=int, default=60)
    ap.add_argument("--reuse-trained", action="store_true",
                    help="train mode: skip training and re-export .cache/omni-fixtures/runs/train/weights/best.pt "
                         "(model_source is kept from the existing manifest.json)")
    a = ap.parse_args()
    t_all = time.time()
    OUT.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    data_dir, abs_yaml, data_stats = make_dataset(a.seed, a.train_images, a.val_images)

    if a.mode == "train" and a.reuse_trained:
        src = WORK / "runs" / "train" / "weights" / "best.pt"
        assert src.exists(), f"--reuse-trained: {src} missing, run without it"
        old = json.loads((OUT / "manifest.json").read_text()) if (OUT / "manifest.json").exists() else {}
        how = dict(old.get("model_source") or {"mode": "train", "epochs": a.epochs, "imgsz": a.train_imgsz})
        how["reused_weights"] = str(src.relative_to(ROOT))
        print(f"[train] skipped, reusing {src}", flush=True)
    elif a.mode == "train":
        src, how = train_model(abs_yaml, a.seed, a.epochs, a.train_imgsz)
    else:
        src, how = bnrecal_model(data_dir, a.seed)

    val_imgs = sorted((data_dir / "val" / "images").glob("*.jpg"))
    manifest = {"generated_by": "tools/models/build.sh (tools/models/build_fixtures.py)",
                "command": f"SEED={a.seed} EPOCHS={a.epochs} tools/models/build.sh" + ("" if a.mode == "train" else " --mode bnrecal"),
                "seed": a.seed, "dataset": {"generator": "tools/datagen/generate_yard_dataset.py", **data_stats},
                "model_source": how, "graph_surgery": GRAPH_SURGERY_NOTE, "files": {}}
    if a.reuse_trained:
        manifest["command"] += " --reuse-trained"
    import onnxruntime, ultralytics

    manifest["versions"] = {"ultralytics": ultralytics.__version__, "torch": torch.__version__,
                            "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}

    for s in (640, 320):
        f32 = OUT / f"yolo11n-6cls-{s}-f32.onnx"
        i8 = OUT / f"yolo11n-6cls-{s}-int8.onnx"
        export(src, s, f32)
        calib = sorted((data_dir / "train" / "images").glob("*.jpg"))[:50]
        exclude = quantize_int8(f32, i8, calib, s)  # from the exported graph, before the surgery
        pre = {p: WORK / f"pre-surgery-{p.name}" for p in (f32, i8)}
        for p, c in pre.items():
            shutil.copyfile(p, c)
        graph_surgery(f32, i8)
        surgery_diff = {p.name: surgery_diff_on(c, p, val_imgs[:8], s) for p, c in pre.items()}
        props = {p.key: p.value for p in onnx.load(str(f32)).metadata_props}
        dep = input_dependence(f32, val_imgs[:16], s)
        print(f"[check] {f32.name}: {dep}", flush=True)
        assert dep["score_std_over_images_mean"] > 0, "fixture output does not depend on the input"
        entry = {"what": f"YOLO11n detector, 6 damage classes, fixed input 1x3x{s}x{s}, float32, raw head output "
                         f"1x10xN (4 box rows cx,cy,w,h in input pixels + 6 class scores), no NMS",
                 "how": f"Ultralytics export(format=onnx, imgsz={s}, opset=17, simplify=True, dynamic=False, nms=False); "
                        f"date metadata fixed to {FIXED_DATE}; omni_model_* props added; then "
                        "trainer/sagemaker/tract_surgery.py decompose_softmax (every Softmax -> ReduceMax/Sub/Exp/ReduceSum/Div, "
                        "metadata omni_graph_surgery=softmax-decomposed, see graph_surgery)",
                 "metadata_props": props, "input_dependence_on_16_val_images": dep,
                 "softmax_decomposed_vs_exported_onnxruntime_on_8_val_images": surgery_diff[f32.name]}
        if a.mode == "train":
            from ultralytics import YOLO

            v = YOLO(str(f32), task="detect").val(data=str(abs_yaml), imgsz=s, batch=1, device="cpu",
                                                  plots=False, verbose=False, workers=0,
                                                  project=str(WORK / "runs"), name=f"val{s}", exist_ok=True)
            entry[f"val_metrics_onnx_{s}"] = {"mAP50": float(v.box.map50), "mAP50-95": float(v.box.map)}
            print(f"[val] {f32.name}: {entry[f'val_metrics_onnx_{s}']}", flush=True)
        manifest["files"][f32.name] = entry

        diff = compare_int8(f32, i8, val_imgs[:8], s)
        print(f"[int8 vs f32 @{s}] {json.dumps(diff)}", flush=True)
        manifest["files"][i8.name] = {
            "what": f"int8 QDQ copy of {f32.name} (same input/output signature and metadata_props)",
            "how": "onnxruntime.quantization.quantize_static(QuantFormat.QDQ, per_channel=False, activations QUInt8 "
                   "asymmetric, weights QInt8 symmetric, op_types_to_quantize=[Conv, MatMul], MinMax calibration on "
                   f"50 generated train images letterboxed like the Ultralytics predictor), nodes excluded: {exclude}; "
                   "then (after quantisation) trainer/sagemaker/tract_surgery.py decompose_softmax, the decomposition is "
                   "float, see graph_surgery",
            "int8_vs_f32_onnxruntime_on_8_val_images": diff,
            "softmax_decomposed_vs_quantized_onnxruntime_on_8_val_images": surgery_diff[i8.name],
        }

    tiny_models(a.seed)
    manifest["files"]["not-detect-classify.onnx"] = {
        "what": "error-test model: metadata task=classify, input images 1x3x64x64, output output0 1x6",
        "how": "onnx.helper graph GlobalAveragePool->Flatten->MatMul->Softmax, random weights (seeded)"}
    manifest["files"]["detect-3-classes.onnx"] = {
        "what": "error-test model: metadata task=detect, 3 class names, imgsz [64,64], stride 32, input 1x3x64x64, output output0 1x7x84",
        "how": "onnx.helper graph of 3 AveragePool+1x1 Conv branches (strides 8/16/32) reshaped and concatenated, random weights (seeded)"}
    for name, e in manifest["files"].items():
        p = OUT / name
        e["sha256"], e["size"] = sha256(p), p.stat().st_size
    manifest["build_seconds"] = round(time.time() - t_all)
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    print(f"[done] manifest written, {manifest['build_seconds']}s", flush=True)


if __name__ == "__main__":
    main()
