#!/usr/bin/env python3
"""Deterministic synthetic "container yard" data set generator for Omni-Inspector.

Renders photos of shipping-container sides / door ends (corrugated steel in real
container colours, door ends with locking bars and handles, open doors showing the
cargo), paints damage instances with distinct looks, applies a mild perspective warp,
lighting, blur, noise and JPEG compression, and writes the exact Ultralytics YOLO
layout:

    DIR/data.yaml
    DIR/train/images/*.jpg   DIR/train/labels/*.txt
    DIR/val/images/*.jpg     DIR/val/labels/*.txt

Classes (id = index): dent, dirt, rust, scratch, spoiled, mold.
Label lines: ``class cx cy w h`` normalised to [0, 1]; each box is the tight bounding
box of the instance's painted pixels after the perspective warp, clipped to the image.

Everything is derived from ``--seed`` (per-image generators seeded from
(seed, split, index)), so the output does not depend on the number of workers.
Only numpy, Pillow and OpenCV (headless or not) are needed.

Examples:
    python3 tools/datagen/generate_yard_dataset.py --out /tmp/yard --seed 0
    python3 tools/datagen/generate_yard_dataset.py --samples samples --count 4
"""
from __future__ import annotations

import argparse
import io
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import cv2
import numpy as np
from PIL import Image

CLASSES = ["dent", "dirt", "rust", "scratch", "spoiled", "mold"]
DENT, DIRT, RUST, SCRATCH, SPOILED, MOLD = range(6)

# Real container livery colours (RGB).
CONTAINER_COLOURS = {
    "maersk_blue": (66, 140, 190),
    "navy_blue": (30, 60, 110),
    "red": (165, 40, 35),
    "green": (40, 105, 60),
    "grey": (140, 145, 148),
    "orange": (215, 110, 30),
    "white": (222, 222, 215),
    "brown": (110, 60, 40),
    "yellow": (215, 175, 40),
}
COLOUR_NAMES = sorted(CONTAINER_COLOURS)

# Aspect ratios (w, h) relative to the long side.
ASPECTS = [(640, 480), (640, 640), (480, 640), (640, 512), (640, 360)]

SPLIT_IDS = {"train": 1, "val": 2, "sample": 3, "fixture": 4}


# ----------------------------------------------------------------------------
# small helpers
# ----------------------------------------------------------------------------

def _smooth_noise(rng, h, w, cell, octaves=2):
    """Value noise in roughly [-1, 1]: low-res random grid upsampled (bicubic)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for _ in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        g = rng.standard_normal((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell = max(1.0, cell / 2.5)
    return out / total


def _blob_mask(rng, h, w, n, rough=0.0, s=1.0):
    """Irregular blob inside an (h, w) patch: union of ellipses, optional rough edge."""
    m = np.zeros((h, w), np.uint8)
    for _ in range(n):
        cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
        ax, ay = rng.uniform(0.15, 0.32) * w, rng.uniform(0.15, 0.32) * h
        cv2.ellipse(m, (int(cx), int(cy)), (max(1, int(ax)), max(1, int(ay))),
                    float(rng.uniform(0, 180)), 0, 360, 255, -1)
    if rough > 0:
        f = m.astype(np.float32) / 255.0
        k = int(max(3, 6 * s)) | 1
        f = cv2.GaussianBlur(f, (k, k), 0)
        f += rough * _smooth_noise(rng, h, w, max(2.0, 4 * s), 2)
        m = np.where(f > 0.5, 255, 0).astype(np.uint8)
    return m


class Canvas:
    """Float RGB image plus the list of labelled instances (class, mask)."""

    def __init__(self, img):
        self.img = img
        self.h, self.w = img.shape[:2]
        self.instances = []  # (cls, full-size uint8 mask)
        self.boxes = []  # pre-warp boxes for overlap rejection

    def place(self, rng, bw, bh, region=None, tries=12):
        """Pick a top-left for a bw x bh patch inside region (x0, y0, x1, y1) with low overlap."""
        x0, y0, x1, y1 = region if region is not None else (0, 0, self.w, self.h)
        bw, bh = int(min(bw, x1 - x0 - 2)), int(min(bh, y1 - y0 - 2))
        if bw < 4 or bh < 4:
            return None
        for _ in range(tries):
            x = int(rng.uniform(x0, x1 - bw))
            y = int(rng.uniform(y0, y1 - bh))
            b = (x, y, x + bw, y + bh)
            if all(_iou(b, o) < 0.15 for o in self.boxes):
                self.boxes.append(b)
                return x, y, bw, bh
        return None

    def composite(self, cls, x, y, colour, alpha, label_mask=None):
        """Alpha-blend a colour patch (ph, pw, 3) with alpha (ph, pw) at (x, y)."""
        ph, pw = alpha.shape
        roi = self.img[y:y + ph, x:x + pw]
        a = alpha[..., None]
        roi[:] = roi * (1 - a) + colour * a
        if cls is not None:
            full = np.zeros((self.h, self.w), np.uint8)
            lm = label_mask if label_mask is not None else (alpha > 0.2)
            full[y:y + ph, x:x + pw] = lm.astype(np.uint8)
            self.instances.append((cls, full))


def _iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / ua if ua > 0 else 0.0


# ----------------------------------------------------------------------------
# scene: background, container side, door end, open door
# ----------------------------------------------------------------------------

def _corrugation_profile(rng, n, pitch, light):
    """Brightness multiplier along one axis for a trapezoidal corrugation."""
    t = (np.arange(n, dtype=np.float32) + rng.uniform(0, pitch)) / pitch % 1.0
    # outer flat, slope up, inner flat, slope down
    prof = np.ones(n, np.float32)
    prof[(t >= 0.30) & (t < 0.40)] = 1.0 + light
    prof[(t >= 0.40) & (t < 0.80)] = 0.90
    prof[(t >= 0.80) & (t < 0.90)] = 1.0 - light
    k = max(1, int(pitch * 0.04)) * 2 + 1
    return cv2.GaussianBlur(prof.reshape(1, -1), (k, 1), 0).ravel()


def _background(rng, h, w):
    img = np.empty((h, w, 3), np.float32)
    sky_top = np.array(rng.choice([(120, 160, 210), (170, 180, 190), (200, 205, 210)]), np.float32)
    ground = np.array(rng.choice([(90, 90, 88), (120, 110, 95), (70, 72, 75)]), np.float32)
    yy = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    img[:] = sky_top * (1 - yy) + (sky_top * 0.8 + 20) * yy
    horizon = int(h * rng.uniform(0.75, 0.9))
    img[horizon:] = ground + 12 * _smooth_noise(rng, h - horizon, w, 20)[..., None]
    return img


def _panel(rng, img, rect, colour, pitch, vertical=True, light=0.18):
    x0, y0, x1, y1 = rect
    ph, pw = y1 - y0, x1 - x0
    base = np.array(colour, np.float32) * rng.uniform(0.85, 1.1)
    if vertical:
        prof = _corrugation_profile(rng, pw, pitch, light)[None, :, None]
    else:
        prof = _corrugation_profile(rng, ph, pitch, light)[:, None, None]
    weather = 1.0 + 0.05 * _smooth_noise(rng, ph, pw, 40, 2)[..., None]
    img[y0:y1, x0:x1] = base * prof * weather


def _rails(img, rect, s, colour):
    x0, y0, x1, y1 = rect
    t = max(3, int(14 * s))
    c = np.array(colour, np.float32) * 0.75
    img[y0:y0 + t, x0:x1] = c * 1.1
    img[y1 - t:y1, x0:x1] = c * 0.8
    img[y0:y1, x0:x0 + t] = c * 0.9
    img[y0:y1, x1 - t:x1] = c * 0.85
    return t


def _locking_bar(img, x, y0, y1, s, colour):
    r = max(2, int(5 * s))
    xs = np.arange(-r, r + 1, dtype=np.float32)
    shade = (0.55 + 0.7 * np.cos(xs / r * math.pi / 2) ** 2)[None, :, None]
    steel = np.array(colour, np.float32) * 0.6 + 60
    img[y0:y1, x - r:x + r + 1] = steel * shade
    # cam keepers at top and bottom and a handle
    for yy in (y0 + int(10 * s), y1 - int(18 * s)):
        cv2.rectangle(img, (x - 2 * r, yy), (x + 2 * r, yy + int(8 * s)), tuple(float(v) for v in steel * 0.7), -1)
    hy = int(y0 + (y1 - y0) * 0.55)
    cv2.rectangle(img, (x - r, hy), (x + int(38 * s), hy + max(2, int(6 * s))),
                  tuple(float(v) for v in steel * 1.1), -1)
    cv2.rectangle(img, (x + int(30 * s), hy - int(6 * s)), (x + int(40 * s), hy + int(12 * s)),
                  tuple(float(v) for v in steel * 0.8), -1)


def _scene(rng, w, h, s, kind):
    """Render the flat (pre-warp) scene. Returns canvas, container rect, interior rect."""
    img = _background(rng, h, w)
    colour = CONTAINER_COLOURS[COLOUR_NAMES[rng.integers(len(COLOUR_NAMES))]]
    mx = int(w * rng.uniform(0.0, 0.06))
    top = int(h * rng.uniform(0.0, 0.12))
    bot = h - int(h * rng.uniform(0.0, 0.12))
    rect = (mx, top, w - mx, bot)
    x0, y0, x1, y1 = rect
    pitch = rng.uniform(26, 40) * s
    interior = None
    if kind == "side":
        _panel(rng, img, rect, colour, pitch)
        _rails(img, rect, s, colour)
    elif kind == "door":
        _panel(rng, img, rect, colour, pitch * 0.8, light=0.12)
        t = _rails(img, rect, s, colour)
        xm = (x0 + x1) // 2
        img[y0:y1, xm - max(1, int(2 * s)):xm + max(1, int(2 * s))] *= 0.45
        for frac in (0.18, 0.36, 0.64, 0.82):
            _locking_bar(img, int(x0 + (x1 - x0) * frac), y0 + t, y1 - t, s, colour)
    else:  # open door: dark interior between two swung doors
        _panel(rng, img, rect, colour, pitch * 0.8, light=0.12)
        t = _rails(img, rect, s, colour)
        ix0 = int(x0 + (x1 - x0) * rng.uniform(0.12, 0.2))
        ix1 = int(x1 - (x1 - x0) * rng.uniform(0.12, 0.2))
        iy0, iy1 = y0 + t, y1 - t
        ih, iw = iy1 - iy0, ix1 - ix0
        yy = np.linspace(0, 1, ih, dtype=np.float32)[:, None, None]
        xx = np.abs(np.linspace(-1, 1, iw, dtype=np.float32))[None, :, None]
        dark = rng.uniform(18, 34)
        interior_img = dark * (1.2 - 0.5 * xx) * (0.8 + 0.4 * yy) * np.array([1.0, 0.97, 0.92], np.float32)
        interior_img = interior_img + 4 * _smooth_noise(rng, ih, iw, 30)[..., None]
        img[iy0:iy1, ix0:ix1] = interior_img
        # floor boards
        fy = int(iy0 + ih * 0.78)
        img[fy:iy1, ix0:ix1] = np.array((55, 45, 35), np.float32) * (0.7 + 0.3 * yy[: iy1 - fy])
        # a few neutral cargo boxes (not labelled): straight edges, flat tan colour
        for _ in range(rng.integers(0, 4)):
            bw, bh = int(iw * rng.uniform(0.12, 0.25)), int(ih * rng.uniform(0.1, 0.2))
            bx = int(rng.uniform(ix0, ix1 - bw))
            by = fy - bh - int(rng.uniform(0, ih * 0.3))
            c = np.array((150, 120, 80), np.float32) * rng.uniform(0.35, 0.6)
            img[by:by + bh, bx:bx + bw] = c
            img[by:by + bh, bx:bx + max(1, int(2 * s))] *= 0.6
        interior = (ix0, iy0, ix1, iy1)
    return Canvas(img), rect, interior, colour


# ----------------------------------------------------------------------------
# damage painters
# ----------------------------------------------------------------------------

def paint_rust(rng, cv, s, rect):
    x0, y0, x1, y1 = rect
    bw = int(rng.uniform(40, 150) * s)
    bh = int(rng.uniform(30, 110) * s)
    mode = rng.random()
    if mode < 0.4:  # along the bottom rail
        region = (x0, max(y0, y1 - int(bh * 1.3)), x1, y1)
    elif mode < 0.6:  # along a vertical edge
        side = x0 if rng.random() < 0.5 else x1 - int(bw * 1.3)
        region = (max(0, side), y0, min(cv.w, side + int(bw * 1.3)), y1)
    else:
        region = rect
    p = cv.place(rng, bw, bh, region)
    if p is None:
        return
    x, y, bw, bh = p
    m = _blob_mask(rng, bh, bw, int(rng.integers(2, 6)), rough=0.55, s=s)
    # drip streaks running down
    for _ in range(rng.integers(0, 4)):
        sx = int(rng.uniform(0.2, 0.8) * bw)
        cv2.line(m, (sx, bh // 2), (sx + int(rng.integers(-2, 3)), bh - 1), 255, max(1, int(2 * s)))
    alpha = (m > 0).astype(np.float32) * rng.uniform(0.8, 0.97)
    base = np.array(rng.choice([(150, 70, 28), (175, 92, 38), (120, 55, 25), (190, 105, 45)]), np.float32)
    tex = 0.75 + 0.3 * _smooth_noise(rng, bh, bw, 5 * s) + 0.18 * rng.standard_normal((bh, bw)).astype(np.float32)
    dark = _smooth_noise(rng, bh, bw, 10 * s) > 0.35  # pitting
    tex[dark] *= 0.55
    colour = base * tex[..., None]
    cv.composite(RUST, x, y, colour, alpha)


def paint_dent(rng, cv, s, rect):
    a = rng.uniform(25, 80) * s
    b = a * rng.uniform(0.6, 1.3)
    bw, bh = int(2 * a) + 2, int(2 * b) + 2
    p = cv.place(rng, bw, bh, rect)
    if p is None:
        return
    x, y, bw, bh = p
    a, b = (bw - 2) / 2, (bh - 2) / 2
    yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
    u = (xx - bw / 2) / a
    v = (yy - bh / 2) / b
    r2 = u * u + v * v
    inside = r2 < 1.0
    depth = np.clip(1.0 - r2, 0, 1) ** 1.3
    # displace the corrugation horizontally/vertically inside the dent
    shift = rng.uniform(5, 14) * s
    roi = cv.img[y:y + bh, x:x + bw].copy()
    mapx = (xx + shift * depth * np.sign(u + 1e-6) * 0.6).astype(np.float32)
    mapy = (yy + shift * depth * 0.5 * v).astype(np.float32)
    warped = cv2.remap(roi, mapx, mapy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    ang = rng.uniform(0, 2 * math.pi)
    lx, ly = math.cos(ang), math.sin(ang)
    # shading of a concave bowl: side facing the light is dark, opposite side bright
    k = rng.uniform(0.45, 0.7)
    shade = 1.0 + k * (u * lx + v * ly) * np.sqrt(np.clip(1 - r2, 0, 1)) * 1.6
    rim = np.exp(-((np.sqrt(r2) - 1.0) ** 2) / 0.006) * 0.35  # crease at the rim
    shade = shade - rim
    out = np.clip(warped * shade[..., None], 0, 255)
    alpha = cv2.GaussianBlur(inside.astype(np.float32), (3, 3), 0)
    cv.composite(DENT, x, y, out, alpha, label_mask=inside)


def paint_scratch(rng, cv, s, rect):
    L = rng.uniform(50, 220) * s
    ang = rng.uniform(-0.6, 0.6) + (0 if rng.random() < 0.7 else math.pi / 2)
    dx, dy = math.cos(ang), math.sin(ang)
    n_lines = int(rng.integers(1, 5))
    spread = rng.uniform(3, 12) * s
    bw = int(abs(dx) * L + abs(dy) * spread * n_lines) + 8
    bh = int(abs(dy) * L + abs(dx) * spread * n_lines) + 8
    p = cv.place(rng, bw, bh, rect)
    if p is None:
        return
    x, y, bw, bh = p
    colour_patch = np.zeros((bh, bw, 3), np.float32)
    alpha = np.zeros((bh, bw), np.float32)
    lm = np.zeros((bh, bw), np.uint8)
    cx, cy = bw / 2, bh / 2
    for i in range(n_lines):
        off = (i - (n_lines - 1) / 2) * spread
        l = L * rng.uniform(0.5, 1.0)
        npts = int(rng.integers(6, 14))
        ts = np.linspace(-l / 2, l / 2, npts)
        jit = rng.normal(0, 1.2 * s, npts)
        pts = np.stack([cx + ts * dx - (off + jit) * dy, cy + ts * dy + (off + jit) * dx], 1)
        pts = np.clip(pts, 1, [bw - 2, bh - 2]).astype(np.int32)
        th = max(1, int(round(rng.uniform(1, 2.2) * s)))
        shadow = np.zeros_like(lm)
        cv2.polylines(shadow, [pts + np.array([1, 1], np.int32)], False, 255, th, cv2.LINE_AA)
        line = np.zeros_like(lm)
        cv2.polylines(line, [pts], False, 255, th, cv2.LINE_AA)
        sa = shadow.astype(np.float32) / 255 * 0.5
        colour_patch = colour_patch * (1 - sa[..., None]) + np.array((25, 25, 28), np.float32) * sa[..., None]
        alpha = np.maximum(alpha, sa)
        la = line.astype(np.float32) / 255
        bright = np.array((235, 238, 242), np.float32) * rng.uniform(0.9, 1.05)
        colour_patch = colour_patch * (1 - la[..., None]) + bright * la[..., None]
        alpha = np.maximum(alpha, la)
        lm |= (line > 60).astype(np.uint8)
    cv.composite(SCRATCH, x, y, np.clip(colour_patch, 0, 255), alpha, label_mask=lm > 0)


def paint_dirt(rng, cv, s, rect):
    bw = int(rng.uniform(40, 160) * s)
    bh = int(rng.uniform(30, 120) * s)
    p = cv.place(rng, bw, bh, rect)
    if p is None:
        return
    x, y, bw, bh = p
    a = np.zeros((bh, bw), np.float32)
    for _ in range(rng.integers(2, 6)):
        cx, cy = rng.uniform(0.25, 0.75) * bw, rng.uniform(0.25, 0.75) * bh
        sx, sy = rng.uniform(0.08, 0.2) * bw, rng.uniform(0.08, 0.2) * bh
        yy, xx = np.mgrid[0:bh, 0:bw].astype(np.float32)
        a = np.maximum(a, np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2))
    # splash droplets
    drops = np.zeros((bh, bw), np.uint8)
    for _ in range(rng.integers(3, 15)):
        cv2.circle(drops, (int(rng.uniform(0.05, 0.95) * bw), int(rng.uniform(0.05, 0.95) * bh)),
                   max(1, int(rng.uniform(1, 4) * s)), 255, -1)
    a = np.maximum(a, cv2.GaussianBlur(drops.astype(np.float32) / 255, (3, 3), 0) * 0.8)
    a *= 1 + 0.25 * _smooth_noise(rng, bh, bw, 6 * s)
    a = np.clip(a, 0, 1) * rng.uniform(0.55, 0.85)
    base = np.array(rng.choice([(105, 85, 60), (85, 80, 72), (120, 100, 70), (70, 62, 50)]), np.float32)
    colour = base * (0.85 + 0.15 * _smooth_noise(rng, bh, bw, 8 * s))[..., None]
    cv.composite(DIRT, x, y, colour, a, label_mask=a > 0.18)


def paint_mold(rng, cv, s, rect):
    r = rng.uniform(20, 70) * s
    bw = bh = int(2.2 * r)
    p = cv.place(rng, bw, bh, rect)
    if p is None:
        return
    x, y, bw, bh = p
    a = np.zeros((bh, bw), np.float32)
    halo = np.zeros((bh, bw), np.float32)
    n = int(rng.integers(80, 350) * (r / (40 * s)))
    centres = [(bw / 2, bh / 2)] + [(rng.uniform(0.3, 0.7) * bw, rng.uniform(0.3, 0.7) * bh) for _ in range(2)]
    spec = np.zeros((bh, bw), np.uint8)
    for i in range(n):
        cx, cy = centres[i % len(centres)]
        px = int(np.clip(rng.normal(cx, r * 0.33), 1, bw - 2))
        py = int(np.clip(rng.normal(cy, r * 0.33), 1, bh - 2))
        rad = max(1, int(rng.uniform(0.6, 3.2) * s))
        cv2.circle(spec, (px, py), rad, 255, -1)
        cv2.circle(halo, (px, py), rad * 3, 1.0, -1)
    halo = cv2.GaussianBlur(halo, (0, 0), max(1.0, 3 * s)) * 0.45
    a = np.maximum(spec.astype(np.float32) / 255 * 0.95, np.clip(halo, 0, 0.45))
    base = np.array(rng.choice([(22, 45, 20), (12, 18, 12), (35, 60, 28), (20, 30, 18)]), np.float32)
    colour = base * (0.7 + 0.5 * rng.random((bh, bw))).astype(np.float32)[..., None]
    colour = np.where((spec > 0)[..., None], colour, np.array((50, 80, 40), np.float32))
    cv.composite(MOLD, x, y, colour, a, label_mask=a > 0.2)


def paint_spoiled(rng, cv, s, interior):
    ix0, iy0, ix1, iy1 = interior
    bw = int(rng.uniform(50, 170) * s)
    bh = int(rng.uniform(35, 110) * s)
    region = (ix0, iy0 + (iy1 - iy0) // 3, ix1, iy1)
    p = cv.place(rng, bw, bh, region)
    if p is None:
        return
    x, y, bw, bh = p
    m = _blob_mask(rng, bh, bw, int(rng.integers(3, 8)), rough=0.35, s=s) > 0
    n = _smooth_noise(rng, bh, bw, 6 * s, 3)
    palette = np.array([(95, 60, 28), (70, 85, 30), (90, 45, 80), (120, 90, 40), (55, 40, 25)], np.float32)
    idx = np.clip(((n + 1) / 2 * len(palette)).astype(np.int32), 0, len(palette) - 1)
    colour = palette[idx] * (0.8 + 0.4 * rng.random((bh, bw))).astype(np.float32)[..., None]
    # rotting fruit-like rounded lumps with highlights
    for _ in range(rng.integers(3, 10)):
        c = (int(rng.uniform(0.15, 0.85) * bw), int(rng.uniform(0.15, 0.85) * bh))
        rr = max(2, int(rng.uniform(4, 12) * s))
        col = tuple(float(v) for v in palette[rng.integers(len(palette))] * 1.3)
        cv2.circle(colour, c, rr, col, -1)
        cv2.circle(colour, (c[0] - rr // 3, c[1] - rr // 3), max(1, rr // 4), (150, 140, 90), -1)
    alpha = cv2.GaussianBlur(m.astype(np.float32), (3, 3), 0) * 0.95
    cv.composite(SPOILED, x, y, np.clip(colour, 0, 255), alpha, label_mask=m)


PAINTERS = {RUST: paint_rust, DENT: paint_dent, SCRATCH: paint_scratch, DIRT: paint_dirt, MOLD: paint_mold}


# ----------------------------------------------------------------------------
# full photo
# ----------------------------------------------------------------------------

def render(rng, w, h, n_instances=None, kind=None, noise=True):
    """Render one photo. Returns (uint8 RGB image HxWx3, [(cls, x0, y0, x1, y1)] in pixels)."""
    s = min(w, h) / 480.0
    if kind is None:
        r = rng.random()
        kind = "side" if r < 0.5 else ("door" if r < 0.78 else "open")
    cv, rect, interior, _ = _scene(rng, w, h, s, kind)
    if n_instances is None:
        n_instances = 0 if rng.random() < 0.08 else int(rng.integers(1, 6))
    for i in range(n_instances):
        if interior is not None and (i == 0 or rng.random() < 0.35):
            paint_spoiled(rng, cv, s, interior)
            continue
        cls = int(rng.choice([RUST, DENT, SCRATCH, DIRT, MOLD]))
        region = rect
        if interior is not None:  # damage on the open door leaves / frame, not the hole
            ix0, _, ix1, _ = interior
            region = (rect[0], rect[1], ix0, rect[3]) if rng.random() < 0.5 else (ix1, rect[1], rect[2], rect[3])
        PAINTERS[cls](rng, cv, s, region)

    # global lighting gradient + vignette
    img = cv.img
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    g = ((xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang))
    light = rng.uniform(0.8, 1.1) + rng.uniform(0.1, 0.35) * g
    vig = 1.0 - rng.uniform(0.0, 0.25) * (((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) * 2)
    img = img * (light * vig)[..., None]

    # mild perspective warp; the destination quad contains the frame (no empty border)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    j = 0.07
    dst = np.float32([
        [-rng.uniform(0, j) * w, -rng.uniform(0, j) * h],
        [w + rng.uniform(0, j) * w, -rng.uniform(0, j) * h],
        [w + rng.uniform(0, j) * w, h + rng.uniform(0, j) * h],
        [-rng.uniform(0, j) * w, h + rng.uniform(0, j) * h],
    ])
    H = cv2.getPerspectiveTransform(src, dst)
    img = cv2.warpPerspective(np.clip(img, 0, 255).astype(np.float32), H, (w, h),
                              flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    boxes = []
    for cls, m in cv.instances:
        pts = cv2.findNonZero(m)
        if pts is None:
            continue
        tp = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float32), H).reshape(-1, 2)
        inside = (tp[:, 0] >= 0) & (tp[:, 0] < w) & (tp[:, 1] >= 0) & (tp[:, 1] < h)
        if inside.mean() < 0.4:
            continue
        tp = tp[inside]
        x0, y0 = tp.min(0)
        x1, y1 = tp.max(0) + 1.0
        x0, y0, x1, y1 = max(0.0, x0), max(0.0, y0), min(float(w), x1), min(float(h), y1)
        if x1 - x0 < 3 or y1 - y0 < 3:
            continue
        boxes.append((cls, x0, y0, x1, y1))

    # camera effects
    if rng.random() < 0.5:
        sig = rng.uniform(0.3, 1.2) * s
        img = cv2.GaussianBlur(img, (0, 0), sig)
    if noise:
        img = img + rng.normal(0, rng.uniform(1, 6), img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), boxes


def encode_jpeg(rgb, quality):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def yolo_lines(boxes, w, h):
    return "".join(
        f"{c} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} {(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}\n"
        for c, x0, y0, x1, y1 in boxes
    )


def _make_one(args):
    out, split, i, seed, imgsz = args
    rng = np.random.default_rng([seed, SPLIT_IDS[split], i])
    aw, ah = ASPECTS[rng.integers(len(ASPECTS))]
    w, h = int(round(aw * imgsz / 640)), int(round(ah * imgsz / 640))
    rgb, boxes = render(rng, w, h)
    name = f"yard_{split}_{i:05d}"
    with open(os.path.join(out, split, "images", name + ".jpg"), "wb") as f:
        f.write(encode_jpeg(rgb, rng.integers(55, 96)))
    with open(os.path.join(out, split, "labels", name + ".txt"), "w") as f:
        f.write(yolo_lines(boxes, w, h))
    return [b[0] for b in boxes]


DATA_YAML = """# Omni-Inspector synthetic container-yard data set (tools/datagen/generate_yard_dataset.py)
path: .
train: train/images
val: val/images
nc: 6
names: [dent, dirt, rust, scratch, spoiled, mold]
"""


def generate_dataset(out, n_train=240, n_val=60, seed=0, imgsz=640, workers=None):
    for split in ("train", "val"):
        os.makedirs(os.path.join(out, split, "images"), exist_ok=True)
        os.makedirs(os.path.join(out, split, "labels"), exist_ok=True)
    with open(os.path.join(out, "data.yaml"), "w") as f:
        f.write(DATA_YAML)
    jobs = [(out, "train", i, seed, imgsz) for i in range(n_train)] + \
           [(out, "val", i, seed, imgsz) for i in range(n_val)]
    workers = workers or min(len(jobs), os.cpu_count() or 1)
    counts = np.zeros(len(CLASSES), np.int64)
    if workers <= 1:
        results = map(_make_one, jobs)
    else:
        ex = ProcessPoolExecutor(workers)
        results = ex.map(_make_one, jobs, chunksize=8)
    empty = 0
    for cls_list in results:
        empty += not cls_list
        for c in cls_list:
            counts[c] += 1
    if workers > 1:
        ex.shutdown()
    return {"images": len(jobs), "empty": empty, "instances": dict(zip(CLASSES, counts.tolist()))}


def render_photo(seed, index, w, h, kind=None, n_instances=None, split="fixture", noise=True):
    """Deterministic single photo for fixtures / samples: (rgb uint8, boxes)."""
    rng = np.random.default_rng([seed, SPLIT_IDS[split], index])
    return render(rng, w, h, n_instances=n_instances, kind=kind, noise=noise)


def write_samples(out, count, seed=0, w=1600, h=1200, quality=90):
    os.makedirs(out, exist_ok=True)
    kinds = ["side", "door", "open", "side"]
    written = []
    for i in range(count):
        rgb, boxes = render_photo(seed, i, w, h, kind=kinds[i % len(kinds)],
                                  n_instances=4 + i % 2, split="sample", noise=False)
        path = os.path.join(out, f"container-{i + 1:02d}.jpg")
        with open(path, "wb") as f:
            f.write(encode_jpeg(rgb, quality))
        written.append((path, [CLASSES[b[0]] for b in boxes]))
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="output data-set directory (Ultralytics YOLO layout)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=int, default=240)
    ap.add_argument("--val", type=int, default=60)
    ap.add_argument("--imgsz", type=int, default=640, help="long side of the generated images")
    ap.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    ap.add_argument("--samples", help="write full-size demo photos to this directory instead")
    ap.add_argument("--count", type=int, default=4, help="number of demo photos with --samples")
    a = ap.parse_args(argv)
    t0 = time.time()
    if a.samples:
        for path, cls in write_samples(a.samples, a.count, seed=a.seed):
            print(f"{path}\t{os.path.getsize(path)} bytes\t{','.join(cls)}")
    elif a.out:
        stats = generate_dataset(a.out, a.train, a.val, a.seed, a.imgsz, a.workers or None)
        print(f"{stats}")
    else:
        ap.error("give --out DIR or --samples DIR")
    print(f"done in {time.time() - t0:.1f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
