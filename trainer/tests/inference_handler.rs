//! trainer/sagemaker/inference.py (the endpoint's handler) run by the test venv's Python with
//! a stand-in for the Ultralytics model: request decoding, the schema-v1 response, errors.

#![allow(clippy::unwrap_used)]

mod common;

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
                              (b"garbage", "image/jpeg", "application/json")):
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

#[test]
fn handler_returns_the_documented_response_and_errors() {
    let Some(python) = common::test_python() else {
        return;
    };
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(common::trainer_dir().join("sagemaker"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let response = serde_json::to_vec(&v["response"]).unwrap();
    // The Rust side's check of the schema accepts it.
    let parsed = omni_trainer::smoke::check_response(&response, 64, 48).unwrap();
    assert_eq!(parsed.schema_version, 1);
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
