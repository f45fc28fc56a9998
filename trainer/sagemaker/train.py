#!/usr/bin/env python3
"""Omni-Inspector SageMaker training entry script: YOLO11n, 6 container-damage classes.

Runs unchanged in a SageMaker PyTorch training container (entry_point="train.py",
source_dir="trainer/sagemaker") and locally (tools/models/train_demo.sh). It imports nothing
from the repository except `tract_surgery.py`, which sits in the same directory as this
script (the one copy of it; tools/models/build_fixtures.py imports it, and this script's
export and int8 recipe, from here too).

Inputs
  * data channel: $SM_CHANNEL_TRAINING (default /opt/ml/input/data/training) holding the
    Ultralytics YOLO layout written by tools/datagen/generate_yard_dataset.py:
    data.yaml, train/images, train/labels, val/images, val/labels. data.yaml `names` must be
    exactly [dent, dirt, rust, scratch, spoiled, mold] in this order (id = index). The file
    is rewritten with an absolute `path:` into a temporary copy (Ultralytics would resolve a
    relative `path:` against its own datasets dir). Optional: yolo11n.pt in the channel root
    = transfer learning from those weights; otherwise the network is built from Ultralytics'
    own yolo11n.yaml with nc=6 (random init). Nothing is ever downloaded (YOLO_OFFLINE=1,
    YOLO_AUTOINSTALL=False; on CUDA the AMP self-check, which would fetch yolo26n.pt, is
    replaced by "AMP on" unless --amp false).
  * hyperparameters: command line, SageMaker style `--name value` (both `--hsv_h` and
    `--hsv-h` spellings are accepted); see `python train.py --help`.

Spot interruption / resume
  The Ultralytics run directory is $OMNI_CHECKPOINT_DIR (else $SM_CHECKPOINT_DIR, else
  /opt/ml/checkpoints, which SageMaker syncs to S3) / omni-yolo11n; Ultralytics writes
  weights/last.pt (with optimizer state) after every epoch. On start:
    * no weights/last.pt                       -> new training;
    * last.pt with epoch >= 0 and optimizer and epoch + 1 < epochs of that run
                                               -> YOLO(last.pt).train(resume=True, ...):
       continues at the next epoch with the checkpoint's hyperparameters (Ultralytics only
       lets data, device, workers, batch, imgsz, patience, ... change on resume);
    * last.pt finished (optimizer stripped, epoch -1, or all epochs done)
                                               -> no training, only export + metrics;
    * last.pt unreadable (killed while writing) -> resume from weights/best.pt when that is
       resumable, else the run directory is moved aside and training starts anew.
  To retrain from scratch, delete the checkpoint directory.

Outputs in $SM_MODEL_DIR (default /opt/ml/model)
  best.pt            Ultralytics checkpoint of the best epoch (optimizer stripped);
  model.onnx         float32, static 1x3xSxS (S = --export-imgsz, default --imgsz), opset 17,
                     simplify=True, nms=False, raw head output 1x10xN; every Softmax decomposed
                     (tract_surgery, metadata omni_graph_surgery=softmax-decomposed); metadata
                     props: Ultralytics' own + omni_model_name, omni_model_version;
  model-int8.onnx    int8 QDQ copy: onnxruntime quantize_static, per-tensor, Conv/MatMul only,
                     /model.23/dfl* excluded, activations QUInt8 asymmetric, weights QInt8
                     symmetric, MinMax calibration on the first --calib-images (50) sorted train
                     images letterboxed exactly like inference (LetterBox auto=False, centre, pad
                     114, RGB, /255), standard ops only, quantised from the plain export and then
                     Softmax-decomposed (tools/models/build_fixtures.py imports this recipe); metadata
                     as model.onnx + omni_quantization;
  results.csv        Ultralytics per-epoch training log (all sessions);
  metrics.json       see below.

metrics.json (schema "omni-train-metrics/1")
  model_name, model_version, export_imgsz, dataset_version (the data set's dataset.json
      version, from `omni-trainer train`; null without one)
  onnx.float / onnx.int8: Ultralytics `val` of that ONNX file on the val split
      (YOLO(onnx, task="detect").val(data, imgsz=S, conf=0.001, iou=0.7, batch=1,
      plots=False, device=cpu) -> onnxruntime CPU):
        file, "mAP50", "mAP50-95", precision, recall (mean over classes present in val),
        images, instances,
        per_class: {dent|dirt|rust|scratch|spoiled|mold:
                    {"mAP50", "mAP50-95", precision, recall, instances}}
                   (values null for a class without instances in val);
  int8_vs_float: raw-output differences on 8 val images (onnxruntime), like the fixtures;
  train: epochs_requested, epochs_run (distinct epochs in results.csv), best_epoch,
      resumed (this invocation resumed a checkpoint), resumed_from_epoch (1-based epoch this
      invocation started at, null if it did not train), sessions (invocations of this run, kept
      in <run dir>/omni-train-sessions.json), train_seconds (sum of Ultralytics' per-session training time),
      seconds_per_epoch (train_seconds / epochs_run), wall_seconds (this invocation, incl.
      export and metrics), wall_seconds_total (all recorded invocations), device, amp,
      started_from ("yolo11n.pt" transfer or "yolo11n.yaml" scratch),
      pt_last_epoch (precision/recall/mAP50/mAP50-95 of the last epoch's PyTorch val);
  hyperparameters: the effective values (from the checkpoint when resumed);
  dataset: channel, train/val {images, labels, empty, instances{class: n}};
  versions: python, ultralytics, torch, onnx, onnxruntime, onnxslim; host.

Exit status: 0 on success; 1 with one line "train.py: error: ..." on bad input (also written
to /opt/ml/output/failure when that directory exists, which SageMaker shows as the failure
reason); 2 on bad command-line arguments (argparse).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLASSES = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"]
RUN_NAME = "omni-yolo11n"
STATE_FILE = "omni-train-sessions.json"
IMG_EXT = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "omni-ultralytics-config"))
Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)


class BadInput(Exception):
    pass


def fail(msg: str) -> "NoReturn":  # noqa: F821
    line = f"train.py: error: {msg}"
    print(line, file=sys.stderr, flush=True)
    if os.path.isdir("/opt/ml/output"):
        try:
            Path("/opt/ml/output/failure").write_text(line + "\n")
        except OSError:
            pass
    sys.exit(1)


def log(msg: str):
    print(f"[omni-train] {msg}", flush=True)


# ----------------------------------------------------------------------------
# arguments
# ----------------------------------------------------------------------------

def str2bool(v: str) -> bool:
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "y", "on"):
        return True
    if s in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected a boolean, got {v!r}")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        prog="train.py", description="Train YOLO11n on the Omni-Inspector damage data set, export ONNX + int8, "
                                     "write metrics (SageMaker entry point; see the module docstring).")

    def opt(name, **kw):
        names = [f"--{name}"]
        alt = f"--{name.replace('_', '-')}" if "_" in name else f"--{name.replace('-', '_')}"
        if alt != names[0]:
            names.append(alt)
        ap.add_argument(*names, dest=name.replace("-", "_"), **kw)

    opt("epochs", type=int, default=100)
    opt("batch", type=int, default=16)
    opt("imgsz", type=int, default=640)
    opt("export-imgsz", type=int, default=None, help="ONNX input size (default: --imgsz)")
    opt("seed", type=int, default=0)
    opt("workers", type=int, default=8, help="data-loader workers (8 on SageMaker; pass 0 locally)")
    opt("device", default=None, help="cpu, cuda, 0, 0,1 ... (default: cuda if available else cpu)")
    opt("patience", type=int, default=100, help="early-stopping patience in epochs")
    opt("close_mosaic", type=int, default=10)
    opt("amp", type=str2bool, default=None, help="mixed precision on CUDA (default: true on CUDA)")
    opt("model-name", default="yolo11n-omni-damage")
    opt("model-version", default="0.1.0")
    opt("dataset-version", default=None, help="version of the data set (its dataset.json), recorded in metrics.json")
    opt("calib-images", type=int, default=50, help="train images for int8 calibration")
    # augmentation (seed plan)
    for k, v in (("hsv_h", 0.015), ("hsv_s", 0.7), ("hsv_v", 0.4), ("degrees", 20.0), ("translate", 0.2),
                 ("scale", 0.9), ("shear", 5.0), ("flipud", 0.5), ("fliplr", 0.5), ("mosaic", 1.0),
                 ("mixup", 0.15)):
        opt(k, type=float, default=v)
    a = ap.parse_args(argv)
    for k in ("epochs", "batch", "imgsz", "calib_images"):
        if getattr(a, k) <= 0:
            ap.error(f"--{k} must be > 0")
    if a.imgsz % 32 or (a.export_imgsz or 32) % 32:
        ap.error("--imgsz / --export-imgsz must be multiples of 32")
    return a


AUG_KEYS = ("hsv_h", "hsv_s", "hsv_v", "degrees", "translate", "scale", "shear", "flipud", "fliplr", "mosaic", "mixup")


# ----------------------------------------------------------------------------
# data channel
# ----------------------------------------------------------------------------

def _list_images(d: Path):
    return sorted(p for p in d.rglob("*") if p.suffix.lower() in IMG_EXT and p.is_file()) if d.is_dir() else []


def check_channel(channel: Path, workdir: Path):
    """Validate the data channel; write an absolute-path copy of data.yaml. Returns (yaml_path, stats)."""
    import yaml

    if not channel.is_dir():
        raise BadInput(f"data channel {channel} does not exist (set SM_CHANNEL_TRAINING)")
    y = channel / "data.yaml"
    if not y.is_file():
        raise BadInput(f"no data.yaml in data channel {channel}")
    try:
        cfg = yaml.safe_load(y.read_text())
    except Exception as e:  # noqa: BLE001
        raise BadInput(f"{y} is not valid YAML: {str(e).splitlines()[0]}")
    if not isinstance(cfg, dict):
        raise BadInput(f"{y} is not a YAML mapping")
    names = cfg.get("names")
    if isinstance(names, dict):
        try:
            names = [names[k] for k in sorted(names, key=int)] if sorted(map(int, names)) == list(range(len(names))) else None
        except (TypeError, ValueError):
            names = None
    if names != CLASSES:
        raise BadInput(f"data.yaml names must be exactly {CLASSES} in this order (id = index), got {cfg.get('names')!r}")
    if "nc" in cfg and cfg["nc"] != len(CLASSES):
        raise BadInput(f"data.yaml nc must be {len(CLASSES)}, got {cfg['nc']!r}")
    stats = {"channel": str(channel)}
    splits = {}
    for split in ("train", "val"):
        rel = cfg.get(split, f"{split}/images")
        if not isinstance(rel, str):
            raise BadInput(f"data.yaml {split}: must be one directory path, got {rel!r}")
        d = Path(rel) if Path(rel).is_absolute() else channel / rel
        imgs = _list_images(d)
        if not imgs:
            raise BadInput(f"no {split} images in {d} (data.yaml {split}: {rel})")
        lab_dir = Path(str(d).replace(f"{os.sep}images", f"{os.sep}labels"))
        counts = [0] * len(CLASSES)
        labels = empty = 0
        for im in imgs:
            lf = lab_dir / im.relative_to(d).with_suffix(".txt")
            if not lf.is_file():
                empty += 1
                continue
            labels += 1
            lines = [ln.split() for ln in lf.read_text().splitlines() if ln.strip()]
            empty += not lines
            for ln in lines:
                try:
                    c = int(float(ln[0]))
                except (ValueError, IndexError):
                    raise BadInput(f"bad label line in {lf}: {' '.join(ln)!r}")
                if not 0 <= c < len(CLASSES):
                    raise BadInput(f"class id {c} out of range 0..{len(CLASSES) - 1} in {lf}")
                counts[c] += 1
        splits[split] = str(d)
        stats[split] = {"images": len(imgs), "labels": labels, "empty": empty,
                        "instances": dict(zip(CLASSES, counts))}
    if stats["train"]["labels"] == 0:
        raise BadInput(f"no train label files next to the train images (expected {splits['train']} -> .../labels/*.txt)")
    out = {"path": str(channel), "train": splits["train"], "val": splits["val"], "nc": len(CLASSES), "names": list(CLASSES)}
    workdir.mkdir(parents=True, exist_ok=True)
    abs_yaml = workdir / "data-abs.yaml"
    abs_yaml.write_text("# absolute-path copy of " + str(y) + " written by trainer/sagemaker/train.py\n"
                        + yaml.safe_dump(out, sort_keys=False))
    return abs_yaml, stats, splits


# ----------------------------------------------------------------------------
# checkpoint state
# ----------------------------------------------------------------------------

def read_ckpt(path: Path):
    from ultralytics.utils.patches import torch_load

    return torch_load(str(path), map_location="cpu")


def ckpt_state(path: Path):
    """('resumable'|'finished'|'corrupt', ckpt-or-None)."""
    try:
        ck = read_ckpt(path)
        assert isinstance(ck, dict) and ("ema" in ck or "model" in ck)
    except Exception as e:  # noqa: BLE001
        log(f"cannot read {path}: {type(e).__name__}: {str(e)[:200]}")
        return "corrupt", None
    epoch = ck.get("epoch", -1)
    total = (ck.get("train_args") or {}).get("epochs", 0)
    if epoch is not None and epoch >= 0 and ck.get("optimizer") is not None and epoch + 1 < total:
        return "resumable", ck
    return "finished", ck


def plan_run(run_dir: Path):
    """Decide fresh / resume / finished from the checkpoint directory. Returns (mode, weights_path, ckpt)."""
    last, best = run_dir / "weights" / "last.pt", run_dir / "weights" / "best.pt"
    if not last.exists():
        if run_dir.exists() and any(run_dir.iterdir()):
            log(f"{run_dir} exists without weights/last.pt: starting a new run in it")
        return "fresh", None, None
    state, ck = ckpt_state(last)
    if state == "corrupt" and best.exists():
        bstate, bck = ckpt_state(best)
        if bstate == "resumable":
            log(f"falling back to {best} (epoch {bck['epoch'] + 1}) for resume")
            shutil.copyfile(best, last)
            return "resume", last, bck
        if bstate == "finished":
            return "finished", best, bck
    if state == "corrupt":
        aside = run_dir.with_name(f"{run_dir.name}-unreadable-{int(time.time())}")
        log(f"no usable checkpoint; moving {run_dir} to {aside} and starting anew")
        run_dir.rename(aside)
        return "fresh", None, None
    return ("resume" if state == "resumable" else "finished"), last, ck


def load_sessions(run_dir: Path):
    p = run_dir / STATE_FILE
    try:
        return json.loads(p.read_text()) if p.exists() else []
    except (OSError, ValueError):
        return []


def save_sessions(run_dir: Path, sessions):
    p = run_dir / STATE_FILE
    tmp = p.with_suffix(".tmp")
    tmp.write_text(json.dumps(sessions, indent=1))
    os.replace(tmp, p)


def read_results(csv_path: Path):
    """Rows of results.csv deduplicated by epoch (last row wins), plus summed per-session train time."""
    if not csv_path.exists():
        return [], 0.0
    rows = [{k.strip(): v for k, v in r.items()} for r in csv.DictReader(csv_path.open())]
    by_epoch, total, prev, seg_max = {}, 0.0, None, 0.0
    for r in rows:
        try:
            e, t = int(float(r["epoch"])), float(r["time"])
        except (KeyError, ValueError):
            continue
        if prev is not None and t < prev:  # a new session restarted Ultralytics' clock
            total += seg_max
            seg_max = 0.0
        seg_max, prev = max(seg_max, t), t
        by_epoch[e] = r
    total += seg_max
    return [by_epoch[e] for e in sorted(by_epoch)], total


# ----------------------------------------------------------------------------
# export / int8: the one copy of the recipe; tools/models/build_fixtures.py imports it from
# here, so the test fixtures are exported and quantised exactly as production models
# ----------------------------------------------------------------------------

# Ultralytics export arguments (the image size apart): static shape, raw head, no NMS.
EXPORT_ARGS = dict(format="onnx", opset=17, simplify=True, dynamic=False, nms=False, device="cpu", verbose=False)

def letterbox_chw(path, s):
    """Ultralytics predictor preprocessing for a fixed-shape export: imread (BGR) ->
    LetterBox(auto=False, scaleup, center, stride 32, pad 114) -> RGB -> CHW float32 / 255."""
    import numpy as np
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.patches import imread

    bgr = imread(str(path))
    lb = LetterBox(new_shape=(s, s), auto=False, scaleup=True, center=True, stride=32)(image=bgr)
    return np.ascontiguousarray(lb[..., ::-1].transpose(2, 0, 1), dtype=np.float32)[None] / 255.0


def set_metadata(path: Path, extra: dict):
    import onnx

    m = onnx.load(str(path))
    props = {p.key: p.value for p in m.metadata_props}
    for k in props:  # no temporary paths in the file (Ultralytics' description names the data yaml)
        props[k] = re.sub(r"\S*omni-train-[^/\s]*/data-abs\.yaml", "data.yaml", props[k])
    props.update({k: str(v) for k, v in extra.items()})
    del m.metadata_props[:]
    for k, v in props.items():
        m.metadata_props.add(key=k, value=v)
    onnx.save(m, str(path))
    return props


def export_onnx(weights: Path, s: int, dst: Path, name: str, version: str, work: Path):
    from ultralytics import YOLO

    d = work / "export"
    d.mkdir(parents=True, exist_ok=True)
    src = d / "best.pt"
    shutil.copyfile(weights, src)
    p = YOLO(str(src)).export(imgsz=s, **EXPORT_ARGS)
    shutil.move(p, dst)
    props = set_metadata(dst, {"omni_model_name": name, "omni_model_version": version})
    log(f"export {dst.name}: {dst.stat().st_size} bytes, imgsz={props.get('imgsz')}")
    return props


def quantize_int8(src: Path, dst: Path, calib_paths, s):
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(calib_paths)

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {"images": letterbox_chw(p, s)}

    m = onnx.load(str(src))
    exclude = [n.name for n in m.graph.node if n.name.startswith("/model.23/dfl")]
    tmp = dst.with_suffix(".tmp.onnx")
    quantize_static(
        str(src), str(tmp), Reader(), quant_format=QuantFormat.QDQ,
        op_types_to_quantize=["Conv", "MatMul"], nodes_to_exclude=exclude,
        per_channel=False,  # tract's DequantizeLinear takes one scale per tensor
        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
    )
    q = onnx.load(str(tmp))
    tmp.unlink()
    bad = sorted({n.op_type for n in q.graph.node if n.domain not in ("", "ai.onnx")})
    if bad:
        raise RuntimeError(f"non-standard ops in int8 model: {bad}")
    keep = [o for o in q.opset_import if o.domain in ("", "ai.onnx")]
    del q.opset_import[:]
    q.opset_import.extend(keep)
    props = {p.key: p.value for p in m.metadata_props}
    props["omni_quantization"] = ("int8 QDQ static per-tensor (onnxruntime quantize_static), Conv/MatMul, "
                                  "/model.23/dfl excluded")
    del q.metadata_props[:]
    for k, v in props.items():
        q.metadata_props.add(key=k, value=v)
    onnx.checker.check_model(q)
    onnx.save(q, str(dst))
    ops = [n.op_type for n in q.graph.node]
    log(f"int8 {dst.name}: {dst.stat().st_size} bytes, Q={ops.count('QuantizeLinear')} "
        f"DQ={ops.count('DequantizeLinear')}, calibrated on {len(calib_paths)} images, excluded {len(exclude)} dfl node(s)")
    return exclude


def graph_surgery(f32: Path, i8: Path):
    """Decompose every Softmax of both models (tract_surgery, in place) and check the int8 result."""
    import onnx

    sys.path.insert(0, str(HERE))
    import tract_surgery  # trainer/sagemaker/tract_surgery.py, beside this script

    n32 = tract_surgery.decompose_softmax_file(f32, f32)
    n8 = tract_surgery.decompose_softmax_file(i8, i8)
    if not (n32 >= 1 and n8 == n32):
        raise RuntimeError(f"Softmax count f32={n32} int8={n8}")
    q = onnx.load(str(i8))
    ops = [n.op_type for n in q.graph.node]
    if "Softmax" in ops or not ops.count("ReduceMax") == ops.count("ReduceSum") == ops.count("Exp") == n8:
        raise RuntimeError("Softmax decomposition incomplete in the int8 model")
    if any(n.domain not in ("", "ai.onnx") for n in q.graph.node):
        raise RuntimeError("non-standard ops in int8 model")
    dec_out = {o for n in q.graph.node if n.op_type in ("ReduceMax", "Sub", "Exp", "ReduceSum") for o in n.output
               if "/Softmax/" in n.name}
    q_in = {n.input[0] for n in q.graph.node if n.op_type == "QuantizeLinear"}
    if not dec_out or dec_out & q_in:
        raise RuntimeError("softmax decomposition got quantised inside")
    log(f"surgery: {n32} Softmax node(s) decomposed in {f32.name} and {i8.name}")
    return n32


def ort_outputs(model: Path, xs, basic_opt=False):
    """The raw outputs of `model` (onnxruntime, CPU) for the inputs `xs`, concatenated.
    `basic_opt`: no QDQ -> QLinear* kernel fusion, float ops between DQ and Q as tract runs them."""
    import numpy as np
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = os.cpu_count() or 1
    if basic_opt:
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x})[0] for x in xs])


def compare(f32: Path, i8: Path, paths, s):
    import numpy as np

    xs = [letterbox_chw(p, s) for p in paths]
    a, b = ort_outputs(f32, xs), ort_outputs(i8, xs)
    d = np.abs(a - b)
    return {
        "images": len(paths),
        "box_rows_max_abs_diff": float(d[:, :4].max()),
        "box_rows_mean_abs_diff": float(d[:, :4].mean()),
        "score_rows_max_abs_diff": float(d[:, 4:].max()),
        "score_rows_mean_abs_diff": float(d[:, 4:].mean()),
        "f32_max_score": float(a[:, 4:].max()),
        "int8_max_score": float(b[:, 4:].max()),
        "argmax_anchor_agreement": float(np.mean(a[:, 4:].max(1).argmax(1) == b[:, 4:].max(1).argmax(1))),
    }


def val_onnx(onnx_path: Path, data_yaml: Path, s: int, work: Path):
    from ultralytics import YOLO

    def f(x):
        return None if x is None else round(float(x), 6)

    v = YOLO(str(onnx_path), task="detect").val(
        data=str(data_yaml), imgsz=s, conf=0.001, iou=0.7, batch=1, plots=False, device="cpu", workers=0,
        verbose=False, project=str(work / "val"), name=onnx_path.stem, exist_ok=True)
    nt = [int(x) for x in (getattr(v, "nt_per_class", None) if getattr(v, "nt_per_class", None) is not None
                           else [0] * len(CLASSES))]
    per = {c: {"mAP50": None, "mAP50-95": None, "precision": None, "recall": None, "instances": nt[i] if i < len(nt) else 0}
           for i, c in enumerate(CLASSES)}
    for j, c in enumerate(v.box.ap_class_index):
        p, r, ap50, ap = v.box.class_result(j)
        per[CLASSES[int(c)]].update({"mAP50": f(ap50), "mAP50-95": f(ap), "precision": f(p), "recall": f(r)})
    out = {"file": onnx_path.name, "mAP50": f(v.box.map50), "mAP50-95": f(v.box.map), "precision": f(v.box.mp),
           "recall": f(v.box.mr), "instances": int(sum(nt)), "per_class": per}
    log(f"val {onnx_path.name}: mAP50={out['mAP50']} mAP50-95={out['mAP50-95']}")
    return out


# ----------------------------------------------------------------------------

def main(argv=None):
    t_start = time.time()
    a = parse_args(argv)
    channel = Path(os.environ.get("SM_CHANNEL_TRAINING", "/opt/ml/input/data/training")).resolve()
    model_dir = Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")).resolve()
    ckpt_dir = Path(os.environ.get("OMNI_CHECKPOINT_DIR") or os.environ.get("SM_CHECKPOINT_DIR")
                    or "/opt/ml/checkpoints").resolve()
    work = Path(tempfile.mkdtemp(prefix="omni-train-"))
    try:
        abs_yaml, data_stats, splits = check_channel(channel, work)
    except BadInput as e:
        shutil.rmtree(work, ignore_errors=True)
        fail(str(e))
    for d, what in ((model_dir, "SM_MODEL_DIR"), (ckpt_dir, "checkpoint dir")):
        try:
            d.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            fail(f"cannot create {what} {d}: {e.strerror}")
    log(f"data {channel}: train {data_stats['train']['images']} images, val {data_stats['val']['images']} images")

    import torch

    if a.device in (None, "", "auto"):
        device = "0" if torch.cuda.is_available() else "cpu"
    else:
        device = "0" if a.device in ("cuda", "gpu") else a.device
    on_cuda = device != "cpu" and device != "mps"
    if on_cuda and not torch.cuda.is_available():
        fail(f"--device {a.device}: CUDA is not available here")
    amp = on_cuda if a.amp is None else (a.amp and on_cuda)
    if device == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)

    import ultralytics
    import ultralytics.engine.trainer as ul_trainer
    from ultralytics import YOLO

    if amp:  # the stock AMP check downloads yolo26n.pt; never download anything
        ul_trainer.check_amp = lambda *_a, **_k: True

    run_dir = ckpt_dir / RUN_NAME
    mode, wpath, ck = plan_run(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    sessions = [] if mode == "fresh" else load_sessions(run_dir)
    session = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "mode": mode, "host": socket.gethostname(),
               "device": device}
    sessions.append(session)
    save_sessions(run_dir, sessions)

    pretrained_pt = channel / "yolo11n.pt"
    hyp = {"epochs": a.epochs, "batch": a.batch, "imgsz": a.imgsz, "seed": a.seed, "workers": a.workers,
           "patience": a.patience, "close_mosaic": a.close_mosaic, **{k: getattr(a, k) for k in AUG_KEYS}}
    resumed_from = None

    def on_epoch_end(trainer):  # keeps the session record current even if the job is killed later
        session.update({"last_epoch": int(trainer.epoch) + 1, "wall_seconds": round(time.time() - t_start, 1)})
        save_sessions(run_dir, sessions)

    common = dict(data=str(abs_yaml), device=device, workers=a.workers, save_dir=str(run_dir), plots=False)
    if mode == "resume":
        targs = ck.get("train_args") or {}
        resumed_from = int(ck["epoch"]) + 2  # 1-based epoch that runs next
        diff = {k: (targs.get(k), v) for k, v in hyp.items() if k in targs and targs.get(k) != v
                and k not in ("workers", "patience")}
        if diff:
            log(f"resume keeps the checkpoint's values for {diff} (checkpoint, requested); delete {ckpt_dir} to change them")
        log(f"resuming {wpath} at epoch {resumed_from}/{targs.get('epochs')}")
        session["resumed_from_epoch"] = resumed_from
        save_sessions(run_dir, sessions)
        model = YOLO(str(wpath))
        model.add_callback("on_fit_epoch_end", on_epoch_end)
        model.train(resume=True, patience=a.patience, **common)
    elif mode == "fresh":
        started_from = "yolo11n.pt" if pretrained_pt.is_file() else "yolo11n.yaml"
        log(f"new training from {started_from} on {device} for {a.epochs} epochs at {a.imgsz}, run dir {run_dir}")
        session["started_from"] = started_from
        save_sessions(run_dir, sessions)
        model = YOLO(str(pretrained_pt)) if pretrained_pt.is_file() else YOLO("yolo11n.yaml")
        model.add_callback("on_fit_epoch_end", on_epoch_end)
        model.train(epochs=a.epochs, batch=a.batch, imgsz=a.imgsz, seed=a.seed, deterministic=True,
                    patience=a.patience, close_mosaic=a.close_mosaic, pretrained=pretrained_pt.is_file(), amp=amp,
                    project=str(ckpt_dir), name=RUN_NAME, exist_ok=True, verbose=True, val=True,
                    **{k: getattr(a, k) for k in AUG_KEYS}, **{k: v for k, v in common.items() if k != "save_dir"})
        resumed_from = 1
    else:
        log(f"{wpath} is a finished run: no training, exporting its best weights "
            f"(delete {ckpt_dir} to retrain)")

    best = run_dir / "weights" / "best.pt"
    if not best.exists():
        best = run_dir / "weights" / "last.pt"
    if not best.exists():
        raise RuntimeError(f"training left no weights in {run_dir / 'weights'}")
    final = read_ckpt(best)
    targs = dict(final.get("train_args") or {})
    eff_hyp = {k: targs.get(k, v) for k, v in hyp.items()}
    eff_hyp["workers"], eff_hyp["device"], eff_hyp["amp"] = a.workers, device, amp
    eff_hyp["optimizer"] = targs.get("optimizer")
    started_from = next((x["started_from"] for x in reversed(sessions) if x.get("started_from")), None)

    # ---- outputs ---------------------------------------------------------
    s = a.export_imgsz or int(targs.get("imgsz") or a.imgsz)
    shutil.copyfile(best, model_dir / "best.pt")
    if (run_dir / "results.csv").exists():
        shutil.copyfile(run_dir / "results.csv", model_dir / "results.csv")
    f32, i8 = model_dir / "model.onnx", model_dir / "model-int8.onnx"
    plain = work / "plain.onnx"
    export_onnx(best, s, plain, a.model_name, a.model_version, work)
    train_imgs = _list_images(Path(splits["train"]))
    val_imgs = _list_images(Path(splits["val"]))
    calib = train_imgs[:a.calib_images]
    quantize_int8(plain, work / "plain-int8.onnx", calib, s)  # from the plain export, before the surgery
    shutil.copyfile(plain, f32)
    shutil.copyfile(work / "plain-int8.onnx", i8)
    graph_surgery(f32, i8)
    diff = compare(f32, i8, val_imgs[:8], s)
    log(f"int8 vs float on {diff['images']} val images: {json.dumps(diff)}")
    m_f32 = val_onnx(f32, abs_yaml, s, work)
    m_i8 = val_onnx(i8, abs_yaml, s, work)

    rows, train_seconds = read_results(run_dir / "results.csv")
    last_row = rows[-1] if rows else {}
    best_row = max(rows, key=lambda r: float(r.get("metrics/mAP50-95(B)") or 0)) if rows else {}
    wall = time.time() - t_start
    session.update({"ended": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "wall_seconds": round(wall, 1)})
    save_sessions(run_dir, sessions)

    import onnx
    import onnxruntime

    try:
        import onnxslim

        slim_v = onnxslim.__version__
    except Exception:  # noqa: BLE001
        slim_v = None
    metrics = {
        "schema": "omni-train-metrics/1",
        "model_name": a.model_name,
        "model_version": a.model_version,
        "dataset_version": a.dataset_version,
        "export_imgsz": s,
        "classes": CLASSES,
        "onnx": {"float": m_f32, "int8": m_i8},
        "val_settings": {"split": "val", "conf": 0.001, "iou": 0.7, "batch": 1, "imgsz": s, "runtime": "onnxruntime CPU"},
        "int8_vs_float": diff,
        "int8_calibration_images": len(calib),
        "train": {
            "epochs_requested": int(targs.get("epochs") or a.epochs),
            "epochs_run": len(rows),
            "best_epoch": int(float(best_row["epoch"])) if best_row else None,
            "resumed": mode == "resume",
            "resumed_from_epoch": resumed_from,
            "sessions": len(sessions),
            "train_seconds": round(train_seconds, 1),
            "seconds_per_epoch": round(train_seconds / len(rows), 2) if rows else None,
            "wall_seconds": round(wall, 1),
            "wall_seconds_total": round(sum(x.get("wall_seconds", 0) for x in sessions), 1),
            "device": device if device == "cpu" else f"cuda:{device} ({torch.cuda.get_device_name(0)})",
            "amp": amp,
            "started_from": started_from,
            "pt_last_epoch": {k.split("/")[1].replace("(B)", ""): float(v) for k, v in last_row.items()
                              if k.startswith("metrics/")},
        },
        "hyperparameters": eff_hyp,
        "dataset": data_stats,
        "versions": {"python": platform.python_version(), "ultralytics": ultralytics.__version__,
                     "torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
                     "onnxslim": slim_v},
        "host": {"hostname": socket.gethostname(), "machine": platform.machine(), "cpus": os.cpu_count()},
    }
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    log(f"done: {len(rows)} epochs ({train_seconds:.0f}s training, {wall:.0f}s this run) on {metrics['train']['device']}; "
        f"float mAP50-95={m_f32['mAP50-95']} int8 mAP50-95={m_i8['mAP50-95']}; outputs in {model_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
