#!/usr/bin/env python3
"""numpy port of the Ultralytics YOLO detection post-processing (reference for the Rust core).

Ports (Ultralytics 8.4.x, see tools/requirements-models.txt for the exact version):
  * ultralytics.utils.nms.non_max_suppression  (detect, multi_label=False, agnostic=False,
    classes=None, max_nms=30000, max_wh=7680): candidates = max class score > conf;
    xywh2xyxy; best class per box; conf filter (strictly greater); keep the max_nms highest;
    class-aware NMS by offsetting boxes with class * max_wh; torchvision.ops.nms /
    TorchNMS.nms semantics (sort by score descending, suppress IoU > iou); first max_det kept.
  * ultralytics.utils.ops.xywh2xyxy
  * ultralytics.utils.ops.scale_boxes (ratio_pad=None path, as DetectionPredictor.construct_result
    calls it): gain = min(S/h0, S/w0); new_h, new_w = max(round(h0*gain), 1), ...; per-axis
    gains new_h/h0, new_w/w0; pad = round((S - new)/2 - 0.1); subtract pad, divide by gain,
    then ultralytics.utils.ops.clip_boxes to the original image.

CLI:
  ort_postprocess.py --output out.bin --shape 1,10,8400 --orig-size W,H [--imgsz S | --letterbox lb.json]
                     [--conf 0.25] [--iou 0.7] [--max-det 300]
prints JSON {"detections": [{"xyxy": [...], "class_id": c, "score": s}, ...]}.
If --letterbox (a core/tests/fixtures/letterbox/<stem>.<S>.json) is given, its new_unpad/left/top are used;
otherwise they are recomputed from --orig-size and --imgsz (default: from the output's anchor count).
"""
import argparse
import json

import numpy as np


def xywh2xyxy(x):
    y = np.empty_like(x)
    wh = x[..., 2:] / 2
    y[..., :2] = x[..., :2] - wh
    y[..., 2:] = x[..., :2] + wh
    return y


def nms_indices(boxes, scores, iou_thres):
    """torchvision.ops.nms / ultralytics TorchNMS.nms: greedy, score-descending, suppress IoU > thres."""
    if boxes.shape[0] == 0:
        return np.zeros(0, np.int64)
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        if order.size == 1:
            break
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[iou <= iou_thres]
    return np.asarray(keep, np.int64)


def non_max_suppression(pred, conf_thres=0.25, iou_thres=0.7, max_det=300, max_nms=30000, max_wh=7680):
    """pred: (4 + nc, N) raw head output of one image. Returns (n, 6) float32: x1, y1, x2, y2, conf, cls."""
    pred = np.asarray(pred, np.float32)
    nc = pred.shape[0] - 4
    xc = pred[4:4 + nc].max(0) > conf_thres
    x = pred.T[xc].copy()
    if not x.shape[0]:
        return np.zeros((0, 6), np.float32)
    x[:, :4] = xywh2xyxy(x[:, :4])
    box, cls = x[:, :4], x[:, 4:4 + nc]
    j = cls.argmax(1)
    conf = cls[np.arange(len(j)), j]
    filt = conf > conf_thres
    x = np.concatenate([box, conf[:, None], j[:, None].astype(np.float32)], 1)[filt]
    if not x.shape[0]:
        return np.zeros((0, 6), np.float32)
    if x.shape[0] > max_nms:
        x = x[np.argsort(-x[:, 4], kind="stable")[:max_nms]]
    c = x[:, 5:6] * max_wh
    i = nms_indices(x[:, :4] + c, x[:, 4], iou_thres)[:max_det]
    return x[i]


def scale_boxes(img1_shape, boxes, img0_shape, letterbox=None):
    """img1_shape (S_h, S_w), img0_shape (h0, w0); boxes (n, 4) xyxy, modified in place and clipped."""
    if letterbox is None:
        gain = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
        new_h, new_w = (max(round(v * gain), 1) for v in img0_shape[:2])
        pad_x = round((img1_shape[1] - new_w) / 2 - 0.1)
        pad_y = round((img1_shape[0] - new_h) / 2 - 0.1)
    else:
        new_w, new_h = letterbox["new_unpad_w"], letterbox["new_unpad_h"]
        pad_x, pad_y = letterbox["left"], letterbox["top"]
    gain_y, gain_x = new_h / img0_shape[0], new_w / img0_shape[1]
    boxes[:, [0, 2]] -= pad_x
    boxes[:, [1, 3]] -= pad_y
    boxes[:, [0, 2]] /= gain_x
    boxes[:, [1, 3]] /= gain_y
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, img0_shape[1])
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, img0_shape[0])
    return boxes


def postprocess(raw, imgsz, orig_hw, conf=0.25, iou=0.7, max_det=300, letterbox=None):
    """raw: (1, 4 + nc, N) or (4 + nc, N). Returns a list of dicts (xyxy in original pixels)."""
    raw = np.asarray(raw, np.float32)
    if raw.ndim == 3:
        raw = raw[0]
    det = non_max_suppression(raw, conf, iou, max_det)
    det[:, :4] = scale_boxes((imgsz, imgsz), det[:, :4], orig_hw, letterbox)
    return [{"xyxy": [float(v) for v in d[:4]], "class_id": int(d[5]), "score": float(d[4])} for d in det]


def anchors_to_imgsz(n):
    # N = (S/8)^2 + (S/16)^2 + (S/32)^2 = 21 * (S/32)^2
    return int(round((n / 21) ** 0.5 * 32))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--output", required=True, help="raw little-endian float32 model output")
    ap.add_argument("--shape", required=True, help="e.g. 1,10,8400")
    ap.add_argument("--orig-size", required=True, help="W,H of the original (EXIF-applied) image")
    ap.add_argument("--imgsz", type=int)
    ap.add_argument("--letterbox", help="letterbox JSON (core/tests/fixtures/letterbox/<stem>.<S>.json)")
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.7)
    ap.add_argument("--max-det", type=int, default=300)
    a = ap.parse_args()
    shape = [int(v) for v in a.shape.split(",")]
    raw = np.fromfile(a.output, dtype="<f4").reshape(shape)
    w0, h0 = (int(v) for v in a.orig_size.split(","))
    lb = json.load(open(a.letterbox)) if a.letterbox else None
    s = a.imgsz or (lb["new_shape"][0] if lb else anchors_to_imgsz(shape[-1]))
    dets = postprocess(raw, s, (h0, w0), a.conf, a.iou, a.max_det, lb)
    print(json.dumps({"imgsz": s, "orig_w": w0, "orig_h": h0, "conf": a.conf, "iou": a.iou, "max_det": a.max_det,
                      "detections": dets}))


if __name__ == "__main__":
    main()
