#!/usr/bin/env python3
"""Image fixtures + Ultralytics letterbox / detection references for Omni-Inspector tests.

Writes
  core/tests/fixtures/images/*.jpg|png     generated photos at odd sizes + EXIF-rotated JPEGs
  core/tests/fixtures/letterbox/<stem>.<S>.png / .json   for S in {640, 320}
  core/tests/fixtures/letterbox/<stem>.detections.640[.conf001].json
  core/tests/fixtures/letterbox/README.md

Letterbox references are made with Ultralytics itself, the way its predictor prepares an image
for a fixed-shape (static) ONNX export:
  ultralytics.utils.patches.imread (cv2.imdecode: BGR, EXIF orientation applied)
  -> ultralytics.data.augment.LetterBox(new_shape=(S, S), auto=False, scaleup=True, center=True, stride=32)
     (BasePredictor.pre_transform uses auto=False for a non-dynamic ONNX model; this is asserted below)
  -> BGR->RGB, saved as lossless PNG.
Run in .venv-models (tools/models/build.sh does).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".cache" / "ultralytics"))
Path(os.environ["YOLO_CONFIG_DIR"]).mkdir(parents=True, exist_ok=True)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

sys.path.insert(0, str(ROOT / "tools" / "datagen"))
import generate_yard_dataset as yard  # noqa: E402

FIX = ROOT / "core" / "tests" / "fixtures"
IMAGES = FIX / "images"
LB = FIX / "letterbox"
MODEL640 = FIX / "models" / "yolo11n-6cls-640-f32.onnx"

# (file name, width, height, scene kind, format)
PLAIN = [
    ("yard-1001x667.jpg", 1001, 667, "side"),
    ("yard-480x853.jpg", 480, 853, "door"),
    ("yard-333x777.png", 333, 777, "side"),
    ("yard-640x640.jpg", 640, 640, "open"),
    ("yard-1280x720.jpg", 1280, 720, "door"),
]
# EXIF orientation -> PIL transpose that turns the upright image into the stored pixels,
# chosen so that ImageOps.exif_transpose(stored) == upright.
EXIF = [
    ("exif-orient6-640x480.jpg", 6, Image.Transpose.ROTATE_90),
    ("exif-orient3-640x480.jpg", 3, Image.Transpose.ROTATE_180),
    ("exif-orient8-640x480.jpg", 8, Image.Transpose.ROTATE_270),
]
DETECTION_IMAGES = [n for n, *_ in PLAIN] + [n for n, *_ in EXIF]  # all of them (small JSON files)


def make_images(seed):
    IMAGES.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, (name, w, h, kind) in enumerate(PLAIN):
        rgb, boxes = yard.render_photo(seed, i, w, h, kind=kind, n_instances=4, noise=not name.endswith(".png"))
        p = IMAGES / name
        if name.endswith(".png"):
            Image.fromarray(rgb).save(p, format="PNG", optimize=True)
        else:
            Image.fromarray(rgb).save(p, format="JPEG", quality=85)
        out[name] = {"size": [w, h], "painted_boxes_xyxy": [[yard.CLASSES[c], *map(lambda v: round(float(v), 1), b)]
                                                           for c, *b in boxes]}
    for j, (name, orient, tr) in enumerate(EXIF):
        rgb, boxes = yard.render_photo(seed, 100 + j, 640, 480, kind="side", n_instances=3)
        upright = Image.fromarray(rgb)
        stored = upright.transpose(tr)
        exif = Image.Exif()
        exif[0x0112] = orient
        p = IMAGES / name
        stored.save(p, format="JPEG", quality=88, exif=exif.tobytes())
        # check: EXIF-applied decode is upright, by Pillow and by OpenCV (what Ultralytics uses)
        with Image.open(p) as im:
            assert im.getexif().get(0x0112) == orient
            pil = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
        assert pil.shape[:2] == (480, 640), (name, pil.shape)
        cvim = cv2.imdecode(np.fromfile(p, np.uint8), cv2.IMREAD_COLOR)[..., ::-1]
        assert cvim.shape[:2] == (480, 640), (name, cvim.shape)
        assert np.abs(pil.astype(int) - rgb.astype(int)).mean() < 6, name
        out[name] = {"size": [640, 480], "stored_size": list(stored.size), "exif_orientation": orient,
                     "painted_boxes_xyxy": [[yard.CLASSES[c], *map(lambda v: round(float(v), 1), b)] for c, *b in boxes]}
    for name in out:
        out[name]["bytes"] = (IMAGES / name).stat().st_size
    return out


def letterbox_refs():
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.patches import imread

    LB.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in sorted(IMAGES.iterdir()):
        if p.suffix.lower() not in (".jpg", ".png"):
            continue
        bgr = imread(str(p))
        for s in (640, 320):
            lbx = LetterBox(new_shape=(s, s), auto=False, scaleup=True, center=True, stride=32)
            params = lbx.get_params({"img": bgr})
            img = lbx(image=bgr)
            assert img.shape == (s, s, 3)
            cv2.imwrite(str(LB / f"{p.stem}.{s}.png"), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])  # BGR array -> RGB PNG
            h, w = bgr.shape[:2]
            nw, nh = params["new_unpad"]
            meta = {
                "image": p.name, "orig_h": h, "orig_w": w, "new_shape": [s, s],
                "ratio": params["ratio"][0], "new_unpad_w": nw, "new_unpad_h": nh,
                "dw": (s - nw) / 2, "dh": (s - nh) / 2,
                "top": params["top"], "bottom": params["bottom"], "left": params["left"], "right": params["right"],
                "pad_value": 114, "interpolation": "cv2.INTER_LINEAR", "channel_order": "RGB",
            }
            (LB / f"{p.stem}.{s}.json").write_text(json.dumps(meta, indent=2) + "\n")
            rows.append(meta)
    return rows


def check_predictor_pretransform():
    """Assert BasePredictor.pre_transform for our static ONNX equals our LetterBox call."""
    from ultralytics import YOLO
    from ultralytics.data.augment import LetterBox
    from ultralytics.utils.patches import imread

    y = YOLO(str(MODEL640), task="detect")
    p = IMAGES / "yard-1001x667.jpg"
    y.predict(str(p), imgsz=640, verbose=False)
    bgr = imread(str(p))
    got = y.predictor.pre_transform([bgr])[0]
    ref = LetterBox(new_shape=(640, 640), auto=False, scaleup=True, center=True, stride=32)(image=bgr)
    assert got.shape == ref.shape and np.array_equal(got, ref), "predictor letterbox differs"
    return y


def detections(y):
    out = {}
    for name in DETECTION_IMAGES:
        p = IMAGES / name
        stem = p.stem
        for conf, max_det, suffix in ((0.25, 300, ""), (0.01, 50, ".conf001")):
            r = y.predict(str(p), conf=conf, iou=0.7, max_det=max_det, imgsz=640, verbose=False)[0]
            b = r.boxes
            dets = [{"xyxy": [round(float(v), 3) for v in xy], "class_id": int(c), "class": yard.CLASSES[int(c)],
                     "score": round(float(s), 6)}
                    for xy, c, s in zip(b.xyxy.tolist(), b.cls.tolist(), b.conf.tolist())]
            doc = {"image": name, "model": MODEL640.name, "orig_h": r.orig_shape[0], "orig_w": r.orig_shape[1],
                   "imgsz": 640, "conf": conf, "iou": 0.7, "max_det": max_det, "agnostic_nms": False,
                   "call": f'YOLO("{MODEL640.relative_to(ROOT)}", task="detect").predict(img, conf={conf}, iou=0.7, '
                           f'max_det={max_det}, imgsz=640)',
                   "detections": dets}
            (LB / f"{stem}.detections.640{suffix}.json").write_text(json.dumps(doc, indent=2) + "\n")
            out[f"{stem}{suffix}"] = len(dets)
    return out


README = """# Ultralytics letterbox and detection references

Made by `tools/models/build_image_fixtures.py` (run by `tools/models/build.sh`, in `.venv-models`,
Ultralytics {ver}) from the images in `../images/` (themselves generated, seed {seed}, by the same
script with `tools/datagen/generate_yard_dataset.py`):

```sh
tools/models/build.sh        # everything; or only this step:
YOLO_OFFLINE=1 .venv-models/bin/python tools/models/build_image_fixtures.py --seed {seed}
```

## `<stem>.<S>.png` / `<stem>.<S>.json` (S = 640, 320)

The image exactly as the Ultralytics predictor prepares it for a fixed-shape ONNX export
(`BasePredictor.pre_transform` uses `auto=False` for a static ONNX model; the script asserts it):

1. `ultralytics.utils.patches.imread(path)`: `cv2.imdecode(..., IMREAD_COLOR)`, BGR, EXIF orientation applied;
2. `ultralytics.data.augment.LetterBox(new_shape=(S, S), auto=False, scaleup=True, center=True, stride=32)`:
   `r = min(S/h, S/w)`, `new_unpad = (round(w*r), round(h*r))`, `cv2.resize(..., INTER_LINEAR)`,
   `dw, dh = (S - new_unpad)/2`, `top = round(dh - 0.1)`, `bottom = round(dh + 0.1)`,
   `left = round(dw - 0.1)`, `right = round(dw + 0.1)`, `cv2.copyMakeBorder` with value 114;
3. saved as lossless PNG in RGB order (the model input is this / 255, CHW).

The JSON holds `ratio`, `new_unpad_w/h`, `dw`, `dh` (half paddings, floats), `top/bottom/left/right`
(integer borders actually added) and the original size after EXIF orientation.

## `<stem>.detections.640.json` and `<stem>.detections.640.conf001.json`

End-to-end Ultralytics results for `../models/yolo11n-6cls-640-f32.onnx`:
`YOLO(model, task="detect").predict(img, conf=0.25, iou=0.7, max_det=300, imgsz=640)` and the same with
`conf=0.01, max_det=50`. Boxes are xyxy in original (EXIF-applied) image pixels, with class ids and scores.
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import ultralytics

    imgs = make_images(a.seed)
    (IMAGES / "README.md").write_text(
        "# Image fixtures\n\nSynthetic photos rendered by `tools/models/build_image_fixtures.py --seed "
        f"{a.seed}` (uses `tools/datagen/generate_yard_dataset.py`; run by `tools/models/build.sh`).\n"
        "`exif-orient{6,3,8}-640x480.jpg` store rotated pixels plus an EXIF Orientation tag (6, 3, 8) so that the\n"
        "EXIF-applied image is the upright 640x480 photo.\n\n```json\n" + json.dumps(imgs, indent=1) + "\n```\n")
    rows = letterbox_refs()
    y = check_predictor_pretransform()
    det = detections(y)
    (LB / "README.md").write_text(README.format(ver=ultralytics.__version__, seed=a.seed))
    print(json.dumps({"images": {k: v["bytes"] for k, v in imgs.items()}, "letterbox_files": len(rows) * 2,
                      "detections": det}, indent=1))


if __name__ == "__main__":
    main()
