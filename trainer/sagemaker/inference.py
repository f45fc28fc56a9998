#!/usr/bin/env python3
"""Omni-Inspector SageMaker inference handler (code/inference.py inside the deployed model.tar.gz).

Runs in the SageMaker PyTorch inference container (sagemaker-pytorch-inference toolkit
conventions: model_fn / input_fn / predict_fn / output_fn), with Ultralytics installed from
code/requirements.txt. `omni-trainer deploy` repacks the training job's model.tar.gz with this
file and its requirements under code/.

Request:  InvokeEndpoint, body = one JPEG or PNG (Content-Type image/jpeg or image/png),
          Accept application/json (or */*).
Response: the Omni-Inspector endpoint response, schema_version 1 (docs/endpoint-response.md):
  {"schema_version": 1,
   "model": {"name", "version", "sha256"},          # sha256 = hex of the weights file served
   "image": {"width", "height"},                    # of the image as received, after EXIF orientation
   "inference_ms": float,
   "detections": [{"class_id", "label", "score", "box": {"x1", "y1", "x2", "y2"}}]}
  boxes in pixels of the received image, clipped to it, x1 < x2 and y1 < y2; Ultralytics
  predict defaults (conf 0.25, iou 0.7, max_det 300, imgsz = the trained size), overridable by
  the environment variables OMNI_CONF, OMNI_IOU, OMNI_IMGSZ.
Errors: a 4xx or 5xx with the body {"message": ...}:
  413 a body over MAX_BODY_BYTES, or an image declaring more than MAX_PIXELS pixels (checked
      from its header, before any pixel is decoded);
  415 a Content-Type other than image/jpeg or image/png, or a body whose magic bytes are not
      those of the declared type (a BMP sent as image/jpeg, a TIFF as image/png);
  400 an image that does not decode; 406 an unsupported Accept.

Model directory (SageMaker's /opt/ml/model): best.pt (required), metrics.json (model_name,
model_version, export_imgsz; optional).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import time
import warnings
from pathlib import Path

CLASSES = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"]
SCHEMA_VERSION = 1
# Content-Type -> (magic bytes, Pillow format). Only these two are ever decoded.
IMAGE_TYPES = {
    "image/jpeg": (b"\xff\xd8\xff", "JPEG"),
    "image/png": (b"\x89PNG\r\n\x1a\n", "PNG"),
}
# The phone's own limit (omni_core::photo_probe::PhotoLimits::default().max_pixels): a photo
# over it is never captured, and a 140 KB PNG of 12000x12000 would take ~850 MiB to decode.
MAX_PIXELS = 50_000_000
# InvokeEndpoint carries at most 4 MB to a serverless endpoint (6 MB to a real-time one), so
# 6 MiB refuses nothing SageMaker forwards while bounding what a direct caller (local mode, a
# test harness) can make the handler hold.
MAX_BODY_BYTES = 6 * 1024 * 1024

try:  # present in the SageMaker inference containers; absent in local tests
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except Exception:  # noqa: BLE001
    _ToolkitError = None


if _ToolkitError is not None:
    class InferenceError(_ToolkitError):
        """An error with an HTTP status; the toolkit answers it with the JSON body."""

        def __init__(self, status: int, message: str):
            self.status = status
            self.message = message
            super().__init__(status, json.dumps({"message": message}), "error")
else:
    class InferenceError(Exception):
        """An error with an HTTP status and the JSON body {"message": ...}."""

        def __init__(self, status: int, message: str):
            super().__init__(json.dumps({"message": message}))
            self.status = status
            self.message = message


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def model_fn(model_dir):
    """Loads best.pt with Ultralytics; returns the model with its identity and settings."""
    from ultralytics import YOLO

    model_dir = Path(model_dir)
    weights = model_dir / "best.pt"
    if not weights.is_file():
        raise InferenceError(500, f"no best.pt in {model_dir}")
    meta = {}
    if (model_dir / "metrics.json").is_file():
        meta = json.loads((model_dir / "metrics.json").read_text())
    yolo = YOLO(str(weights), task="detect")
    names = [yolo.names[i] for i in sorted(yolo.names)]
    if names != CLASSES:
        raise InferenceError(500, f"model classes {names} are not {CLASSES}")
    return {
        "yolo": yolo,
        "identity": {"name": meta.get("model_name", "yolo11n-omni-damage"),
                     "version": str(meta.get("model_version", "0.0.0")),
                     "sha256": _sha256(weights)},
        "imgsz": int(os.environ.get("OMNI_IMGSZ") or meta.get("hyperparameters", {}).get("imgsz") or 640),
        "conf": float(os.environ.get("OMNI_CONF", "0.25")),
        "iou": float(os.environ.get("OMNI_IOU", "0.7")),
    }


def input_fn(request_body, request_content_type):
    """Decodes a JPEG or PNG body into an RGB PIL image, EXIF orientation applied.

    The body is bounded, its magic bytes must be those of the declared type, and the pixel
    count is checked from the header before anything is decoded."""
    from PIL import Image, ImageOps

    content_type = (request_content_type or "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise InferenceError(415, f"unsupported content type {request_content_type!r}; send image/jpeg or image/png")
    if isinstance(request_body, str):
        request_body = request_body.encode("latin-1")
    if len(request_body) > MAX_BODY_BYTES:
        raise InferenceError(413, f"body is {len(request_body)} bytes, more than the {MAX_BODY_BYTES}-byte limit")
    magic, pillow_format = IMAGE_TYPES[content_type]
    if bytes(request_body[:len(magic)]) != magic:
        raise InferenceError(
            415, f"body is not {content_type} (starts with {bytes(request_body[:8]).hex()}); send image/jpeg or image/png")
    try:
        # Reads the header only; `formats` keeps Pillow from trying any other decoder. Its
        # DecompressionBombWarning is moot: the pixel count is checked below.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(request_body), formats=[pillow_format])
    except Image.DecompressionBombError as e:  # Pillow's own cap, far above ours
        raise InferenceError(413, f"image is too large: {e}") from None
    except Exception as e:  # noqa: BLE001
        raise InferenceError(400, f"image does not decode: {e}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise InferenceError(
            413, f"image declares {width}x{height} pixels, more than the {MAX_PIXELS}-pixel limit")
    try:
        image.load()
    except Exception as e:  # noqa: BLE001
        raise InferenceError(400, f"image does not decode: {e}") from None
    return ImageOps.exif_transpose(image).convert("RGB")


def predict_fn(input_data, model):
    """Runs Ultralytics predict; returns the response object (before serialisation)."""
    import numpy as np

    width, height = input_data.size
    # Ultralytics takes numpy images as BGR (OpenCV order).
    bgr = np.asarray(input_data)[:, :, ::-1]
    started = time.perf_counter()
    results = model["yolo"].predict(bgr, imgsz=model["imgsz"], conf=model["conf"], iou=model["iou"],
                                    max_det=300, verbose=False)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    boxes = results[0].boxes
    xyxy = boxes.xyxy.cpu().numpy() if hasattr(boxes.xyxy, "cpu") else np.asarray(boxes.xyxy)
    conf = boxes.conf.cpu().numpy() if hasattr(boxes.conf, "cpu") else np.asarray(boxes.conf)
    cls = boxes.cls.cpu().numpy() if hasattr(boxes.cls, "cpu") else np.asarray(boxes.cls)
    return build_response(model["identity"], width, height, elapsed_ms, xyxy, conf, cls)


def build_response(identity, width, height, inference_ms, xyxy, conf, cls):
    """The schema-v1 response from raw boxes (pixels), scores and class ids."""
    detections = []
    for (x1, y1, x2, y2), score, class_id in zip(xyxy, conf, cls):
        x1, x2 = sorted((min(max(float(x1), 0.0), width), min(max(float(x2), 0.0), width)))
        y1, y2 = sorted((min(max(float(y1), 0.0), height), min(max(float(y2), 0.0), height)))
        if x2 <= x1 or y2 <= y1:
            continue
        class_id = int(class_id)
        detections.append({"class_id": class_id, "label": CLASSES[class_id], "score": round(float(score), 6),
                           "box": {"x1": x1, "y1": y1, "x2": x2, "y2": y2}})
    detections.sort(key=lambda d: -d["score"])
    return {"schema_version": SCHEMA_VERSION, "model": dict(identity),
            "image": {"width": int(width), "height": int(height)},
            "inference_ms": round(float(inference_ms), 3), "detections": detections}


def output_fn(prediction, accept):
    """Serialises to JSON; only application/json (or */*) is offered."""
    accept = (accept or "application/json").split(";")[0].strip().lower()
    if accept not in ("application/json", "*/*"):
        raise InferenceError(406, f"unsupported accept {accept!r}; use application/json")
    return json.dumps(prediction), "application/json"
