//! trainer/sagemaker/inference.py (the endpoint's handler) run by the test venv's Python with
//! a stand-in for the Ultralytics model: request decoding, the schema-v1 response, errors, and
//! the refusal of disguised formats, pixel bombs and oversize bodies.

#![allow(clippy::unwrap_used)]

use crate::common;

const SCRIPT: &str = r#"
import io, json, sys
import numpy as np
from PIL import Image
sys.path.insert(0, sys.argv[1])
import inference

class Boxes:
    xyxy = np.array([[10.0, 5.0, 50.0, 40.0], [-3.0, 20.0, 70.0, 90.0], [30.0, 30.0, 30.0, 35.0]])
    conf = np.array([0.4, 0.9, 0.8])
    cls = np.array([2.0, 5.0, 1.0])

class Result:
    boxes = Boxes()

class Yolo:
    def predict(self, image, **kw):
        assert image.shape == (48, 64, 3), image.shape
        assert (kw["conf"], kw["iou"], kw["max_det"]) == (0.25, 0.7, 300), kw
        return [Result()]

model = {"yolo": Yolo(), "identity": {"name": "n", "version": "0.2.0", "sha256": "ab" * 32},
         "imgsz": 320, "conf": 0.25, "iou": 0.7}
buf = io.BytesIO()
Image.new("RGB", (64, 48), (120, 60, 30)).save(buf, format="PNG")
image = inference.input_fn(buf.getvalue(), "image/png")
body, content_type = inference.output_fn(inference.predict_fn(image, model), "application/json")
assert content_type == "application/json"
out = {"response": json.loads(body)}
for (data, ctype, accept) in ((buf.getvalue(), "text/csv", "application/json"),
                              (b"\xff\xd8\xff not really a jpeg", "image/jpeg", "application/json")):
    try:
        inference.input_fn(data, ctype)
    except inference.InferenceError as e:
        out.setdefault("errors", []).append([e.status, json.loads(str(e) if not hasattr(e, "message") else json.dumps({"message": e.message}))])
try:
    inference.output_fn({}, "text/html")
except inference.InferenceError as e:
    out.setdefault("errors", []).append([e.status, {"message": e.message}])
print(json.dumps(out))
"#;

/// Runs `script` with the handler's directory as its argument; its stdout is one JSON value.
fn run_handler_script(script: &str) -> Option<serde_json::Value> {
    let python = common::test_python()?;
    let handler_dir = common::trainer_dir().join("sagemaker");
    let out = common::python_c(&python, script, &[&handler_dir]);
    Some(serde_json::from_str(&out).unwrap())
}

#[test]
fn handler_returns_the_documented_response_and_errors() {
    let Some(v) = run_handler_script(SCRIPT) else {
        return;
    };
    let response = serde_json::to_vec(&v["response"]).unwrap();
    // The Rust side's check of the schema accepts it.
    let parsed = omni_trainer::smoke::check_response(&response, 64, 48).unwrap();
    assert_eq!(parsed.model.version, "0.2.0");
    // Sorted by score, clipped to the image, the zero-width box dropped.
    let labels: Vec<&str> = parsed.detections.iter().map(|d| d.label.as_str()).collect();
    assert_eq!(labels, ["mold", "rust"]);
    assert_eq!(parsed.detections[0].bbox.x1, 0.0);
    assert_eq!(parsed.detections[0].bbox.x2, 64.0);
    assert_eq!(parsed.detections[0].bbox.y2, 48.0);
    let errors = v["errors"].as_array().unwrap();
    let statuses: Vec<i64> = errors.iter().map(|e| e[0].as_i64().unwrap()).collect();
    assert_eq!(statuses, [415, 400, 406]);
    assert!(
        errors[0][1]["message"]
            .as_str()
            .unwrap()
            .contains("text/csv")
    );
}

const HOSTILE: &str = r#"
import io, json, resource, struct, sys, zlib
from PIL import Image
sys.path.insert(0, sys.argv[1])
import inference

def encoded(fmt):
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(buf, format=fmt)
    return buf.getvalue()

def png_of_zeros(width, height):
    """A valid grayscale PNG of zeros, compressed row by row (never held decoded): ~140 KB
    for 12000x12000."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    z = zlib.compressobj(9)
    row = bytes(width + 1)  # filter byte 0, then the row
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")

def outcome(body, content_type):
    try:
        image = inference.input_fn(body, content_type)
        return {"status": 200, "size": list(image.size)}
    except inference.InferenceError as e:
        return {"status": e.status, "message": e.message}

def peak_rss():  # bytes (Linux reports KiB)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

bomb = png_of_zeros(12000, 12000)
just_over = png_of_zeros(7072, 7071)  # 50 006 112 pixels
limit = inference.MAX_BODY_BYTES
jpeg_prefix = b"\xff\xd8\xff"
before = peak_rss()
out = {
    "max_pixels": inference.MAX_PIXELS,
    "max_body": limit,
    "bomb_bytes": len(bomb),
    "bmp_as_jpeg": outcome(encoded("BMP"), "image/jpeg"),
    "tiff_as_png": outcome(encoded("TIFF"), "image/png"),
    "png_as_jpeg": outcome(encoded("PNG"), "image/jpeg"),
    "bomb": outcome(bomb, "image/png"),
    "just_over": outcome(just_over, "image/png"),
    "oversize": outcome(jpeg_prefix + bytes(limit - len(jpeg_prefix) + 1), "image/jpeg"),
    "at_limit": outcome(jpeg_prefix + bytes(limit - len(jpeg_prefix)), "image/jpeg"),
    "jpeg": outcome(encoded("JPEG"), "image/jpeg"),
    "png": outcome(encoded("PNG"), "image/png; charset=binary"),
}
out["peak_growth"] = peak_rss() - before
print(json.dumps(out))
"#;

#[test]
fn handler_refuses_disguised_formats_pixel_bombs_and_oversize_bodies() {
    let Some(v) = run_handler_script(HOSTILE) else {
        return;
    };
    let status = |case: &str| v[case]["status"].as_i64().unwrap();
    let message = |case: &str| v[case]["message"].as_str().unwrap_or_default().to_owned();
    // The phone's limit, one number for both.
    assert_eq!(
        v["max_pixels"].as_u64().unwrap(),
        omni_core::photo_probe::PhotoLimits::default().max_pixels
    );
    // Only JPEG and PNG, and only as what the Content-Type says (BMP starts "BM", TIFF "II*").
    assert_eq!(status("bmp_as_jpeg"), 415, "{v}");
    assert!(message("bmp_as_jpeg").contains("424d"), "{v}");
    assert_eq!(status("tiff_as_png"), 415, "{v}");
    assert!(message("tiff_as_png").contains("image/png"), "{v}");
    assert_eq!(status("png_as_jpeg"), 415, "{v}");
    // A 12000x12000 PNG of ~140 KB is refused from its header, before decoding: the
    // handler's peak memory does not grow by the 144 MB of its pixels.
    assert!(v["bomb_bytes"].as_u64().unwrap() < 200_000, "{v}");
    assert_eq!(status("bomb"), 413, "{v}");
    assert!(message("bomb").contains("12000x12000"), "{v}");
    assert_eq!(status("just_over"), 413, "{v}");
    let growth = v["peak_growth"].as_u64().unwrap();
    assert!(growth < 64 << 20, "peak RSS grew by {growth} bytes: {v}");
    // The body cap: one byte over is refused unread; at the cap it reaches the decoder.
    assert_eq!(v["max_body"].as_u64().unwrap(), 6 << 20);
    assert_eq!(status("oversize"), 413, "{v}");
    assert!(message("oversize").contains("6291456-byte limit"), "{v}");
    assert_eq!(status("at_limit"), 400, "{v}");
    // Real photos still decode.
    assert_eq!(status("jpeg"), 200, "{v}");
    assert_eq!(v["jpeg"]["size"], serde_json::json!([64, 48]));
    assert_eq!(status("png"), 200, "{v}");
}
