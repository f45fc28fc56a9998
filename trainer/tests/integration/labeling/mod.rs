//! The labeling loop: selection on a phone store and on the embedded office with known
//! verdicts (each strategy, budget, seed, skipping what is labelled or batched), the Label
//! Studio round trip cross-checked with Label Studio's own converter, Roboflow and Ground
//! Truth exports read back by the existing imports, `dataset merge`, and bad input.

#![allow(clippy::unwrap_used)]

mod commands;
mod exports;
mod label_studio;
mod on_office;
mod selection;

pub(crate) use commands::LABELING_HELP;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::{ImageFormat, Rgb, RgbImage};
use omni_core::detect::{DetectError, Detector};
use omni_core::{
    BoundingBox, ContainerNumber, Detection, DetectionSource, Detections, Inspector,
    InspectorConfig, ModelIdentity, NewInspection, Timestamp,
};
use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{self, DetectStatus, VerdictSource};
use omni_trainer::dataset::merge::{self, DATASET_JSON, DatasetManifest};
use omni_trainer::dataset::{groundtruth, roboflow};
use omni_trainer::labeling::batch::{self, Batch};
use omni_trainer::labeling::select::{self, Known, SelectOptions, Strategy};
use omni_trainer::labeling::source::{OfficeSource, PhoneSource};
use omni_trainer::labeling::{export, labelstudio};
use omni_trainer::s3uri::S3Uri;
use serde_json::{Value, json};

use crate::common;
use crate::common::office_records::{closed_inspection, whole_photo};

/// The one class list (the core's).
use omni_trainer::dataset::DAMAGE_CLASSES as CLASSES;

/// A photo of 8×6 random grey blocks (distinct dHash per seed); `noise` brightens it a
/// little (a near duplicate of the same seed).
fn photo(seed: u64, noise: u8) -> Vec<u8> {
    let mut rng = fastrand_like(seed);
    let blocks: Vec<u8> = (0..48).map(|_| (rng() % 256) as u8).collect();
    let img = RgbImage::from_fn(128, 96, |x, y| {
        let v = blocks[(y / 16 * 8 + x / 16) as usize].saturating_add(noise);
        Rgb([v, v, v])
    });
    let mut bytes = Vec::new();
    img.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .unwrap();
    bytes
}

/// A tiny xorshift generator (reproducible photos without another dependency).
fn fastrand_like(seed: u64) -> impl FnMut() -> u64 {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    }
}

/// A box: class, score, normalised corners.
type B = (u32, f32, [f32; 4]);

struct Fixed {
    identity: ModelIdentity,
    source: DetectionSource,
    boxes: Vec<B>,
}

impl Fixed {
    fn new(source: DetectionSource, boxes: &[B]) -> Self {
        let name = if source == DetectionSource::Edge {
            "edge-test"
        } else {
            "cloud-test"
        };
        Self {
            identity: ModelIdentity {
                name: name.into(),
                version: "1.0.0".into(),
                sha256: format!(
                    "{:064}",
                    if source == DetectionSource::Edge {
                        1
                    } else {
                        2
                    }
                ),
            },
            source,
            boxes: boxes.to_vec(),
        }
    }
}

impl Detector for Fixed {
    fn identity(&self) -> &ModelIdentity {
        &self.identity
    }
    fn source(&self) -> DetectionSource {
        self.source
    }
    fn detect(&self, _encoded: &[u8]) -> Result<Detections, DetectError> {
        let (w, h) = (128.0, 96.0);
        Ok(Detections {
            source: self.source,
            model: self.identity.clone(),
            image_width: 128,
            image_height: 96,
            inference_ms: 1.0,
            detections: self
                .boxes
                .iter()
                .map(|(c, s, [x1, y1, x2, y2])| Detection {
                    class_id: *c,
                    label: CLASSES[*c as usize].into(),
                    score: *s,
                    bbox: BoundingBox {
                        x1: x1 * w,
                        y1: y1 * h,
                        x2: x2 * w,
                        y2: y2 * h,
                    },
                    bbox_normalized: BoundingBox {
                        x1: *x1,
                        y1: *y1,
                        x2: *x2,
                        y2: *y2,
                    },
                })
                .collect(),
        })
    }
}

/// A known photo: (name, image seed, noise, edge boxes, cloud boxes).
type Fixture = (&'static str, u64, u8, Vec<B>, Option<Vec<B>>);

/// The known photos.
fn fixtures() -> Vec<Fixture> {
    let a = [0.1, 0.1, 0.4, 0.5];
    let many: Vec<B> = (0..6)
        .map(|i| {
            (
                3,
                0.8,
                [0.05 + 0.15 * i as f32, 0.1, 0.15 + 0.15 * i as f32, 0.3],
            )
        })
        .collect();
    let mut v = vec![
        ("low", 1, 0, vec![(2, 0.4, a)], None),
        (
            "confident",
            2,
            0,
            vec![(0, 0.9, a)],
            Some(vec![(0, 0.92, [0.11, 0.1, 0.4, 0.5])]),
        ),
        (
            "disagree",
            3,
            0,
            vec![(0, 0.8, a)],
            Some(vec![(2, 0.85, a)]),
        ),
        ("many", 4, 0, many, None),
        ("rare", 5, 0, vec![(5, 0.9, a)], None),
        ("empty", 6, 0, vec![], None),
        ("low-again", 1, 4, vec![(2, 0.3, a)], None),
    ];
    for i in 0..13 {
        v.push(("filler", 100 + i, 0, vec![(0, 0.9, a)], None));
    }
    v
}

/// A phone store with the fixtures, open; and photo id by fixture name (fillers numbered).
pub(crate) fn phone_store(dir: &Path) -> (PhoneSource, BTreeMap<String, String>) {
    let inspector = Inspector::open(dir, InspectorConfig::default()).unwrap();
    let inspection = inspector
        .create_inspection(NewInspection::new(
            ContainerNumber::parse("CSQU3054383").unwrap(),
        ))
        .unwrap();
    let mut ids = BTreeMap::new();
    for (i, (name, seed, noise, edge, cloud)) in fixtures().into_iter().enumerate() {
        let p = inspector
            .add_photo(
                inspection.id,
                &photo(seed, noise),
                Timestamp::now(),
                omni_core::Face::Whole,
            )
            .unwrap();
        inspector
            .detect_photo(&Fixed::new(DetectionSource::Edge, &edge), p.id)
            .unwrap();
        if let Some(cloud) = cloud {
            inspector
                .detect_photo(&Fixed::new(DetectionSource::Cloud, &cloud), p.id)
                .unwrap();
        }
        let key = if name == "filler" {
            format!("filler{i}")
        } else {
            name.to_owned()
        };
        ids.insert(key, p.id.to_string());
    }
    (PhoneSource::from_inspector(inspector), ids)
}

fn options(strategies: &[Strategy], max: usize) -> SelectOptions {
    SelectOptions {
        strategies: strategies.to_vec(),
        class_counts: Some(vec![100, 50, 50, 50, 50, 0]),
        max,
        ..SelectOptions::default()
    }
}

fn chosen_names(selection: &select::Selection, ids: &BTreeMap<String, String>) -> BTreeSet<String> {
    let by_id: BTreeMap<&String, &String> = ids.iter().map(|(k, v)| (v, k)).collect();
    selection
        .chosen
        .iter()
        .map(|c| by_id[&c.record.photo_id].clone())
        .collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

fn chosen_names_one(id: &str, ids: &BTreeMap<String, String>) -> String {
    ids.iter()
        .find(|(_, v)| v.as_str() == id)
        .map(|(k, _)| k.clone())
        .unwrap()
}

/// Roboflow's import writes `train/`; a pool for merge is flat `images/` + `labels/`.
fn flatten_pool(pool: &Path) {
    for split in ["train", "val", "test"] {
        for kind in ["images", "labels"] {
            let from = pool.join(split).join(kind);
            if !from.is_dir() {
                continue;
            }
            std::fs::create_dir_all(pool.join(kind)).unwrap();
            for e in std::fs::read_dir(&from).unwrap() {
                let e = e.unwrap();
                std::fs::rename(e.path(), pool.join(kind).join(e.file_name())).unwrap();
            }
        }
    }
}

// --- Office -------------------------------------------------------------------------

fn response(boxes: &[B]) -> Box<serde_json::value::RawValue> {
    let detections: Vec<Value> = boxes
        .iter()
        .map(|(c, s, [x1, y1, x2, y2])| {
            json!({"class_id": c, "label": CLASSES[*c as usize], "score": s,
                   "box": {"x1": x1 * 128.0, "y1": y1 * 96.0, "x2": x2 * 128.0, "y2": y2 * 96.0}})
        })
        .collect();
    let body = json!({"schema_version": 1, "model": {"name": "m", "version": "1", "sha256": "ab"},
                      "image": {"width": 128, "height": 96}, "inference_ms": 1.0,
                      "detections": detections});
    serde_json::value::RawValue::from_string(body.to_string()).unwrap()
}

/// Stores the fixtures in an office store through its trait; returns photo id by name.
pub(crate) async fn fill_office(store: &dyn Store) -> BTreeMap<String, String> {
    let mut ids = BTreeMap::new();
    for (i, (name, seed, noise, edge, cloud)) in fixtures().into_iter().enumerate() {
        // Two inspections share a millisecond: the paging must not lose or repeat them.
        let id = format!("insp-{i:02}");
        let inspection = closed_inspection(
            &id,
            "CSQU 305438-3",
            "inspector-7",
            1_700_000_000_000 + (i as i64 / 2),
        );
        store.put_inspection(&inspection).await.unwrap();
        let bytes = photo(seed, noise);
        let p = whole_photo(format!("photo-{i:02}"), &id, &bytes);
        store
            .put_photo(&p, &bytes, DetectStatus::None)
            .await
            .unwrap();
        for (source, boxes) in [
            (VerdictSource::Edge, Some(edge)),
            (VerdictSource::Cloud, cloud),
        ] {
            let Some(boxes) = boxes else { continue };
            let verdict = wire::Verdict {
                photo_id: p.id.clone(),
                source,
                model_name: "m".into(),
                model_version: "1".into(),
                model_sha256: format!("{source:?}"),
                has_damage: !boxes.is_empty(),
                response: response(&boxes),
                received_at_ms: 1_700_000_000_000,
            };
            store.put_verdict(&id, &verdict).await.unwrap();
        }
        let key = if name == "filler" {
            format!("filler{i}")
        } else {
            name.to_owned()
        };
        ids.insert(key, p.id);
    }
    ids
}

/// Each strategy on an office source picks the expected photos.
fn assert_office_selection(source: &mut OfficeSource, ids: &BTreeMap<String, String>) {
    let known = Known::default();
    for (strategy, expected) in [
        (Strategy::Disagreement, set(&["disagree"])),
        (Strategy::ManyBoxes, set(&["many"])),
        (Strategy::RareClass, set(&["rare"])),
    ] {
        let s = select::select(source, &known, &options(&[strategy], 10)).unwrap();
        assert_eq!(chosen_names(&s, ids), expected, "{strategy:?}");
        assert_eq!(s.scanned, 20);
    }
    let s = select::select(source, &known, &options(&[Strategy::LowConfidence], 10)).unwrap();
    assert_eq!(s.chosen.len(), 1);
    assert_eq!(s.thinned.len(), 1);
}

/// A batch of the many, disagree, rare and low photos.
fn make_batch(root: &Path) -> PathBuf {
    let (mut source, _) = phone_store(&root.join("phone"));
    let o = options(
        &[
            Strategy::LowConfidence,
            Strategy::Disagreement,
            Strategy::ManyBoxes,
            Strategy::RareClass,
        ],
        10,
    );
    let s = select::select(&mut source, &Known::default(), &o).unwrap();
    let out = root.join("batches").join("b1");
    batch::write(&out, &mut source, &s, &o, "2026-01-01T00:00:00Z").unwrap();
    out
}

pub(crate) fn read_labels(path: &Path) -> Vec<Vec<f64>> {
    let mut lines: Vec<Vec<f64>> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().map(|v| v.parse().unwrap()).collect())
        .collect();
    lines.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lines
}

pub(crate) fn assert_close(a: &[Vec<f64>], b: &[Vec<f64>], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "{what}");
        for (u, v) in x.iter().zip(y) {
            assert!((u - v).abs() <= tol, "{what}: {x:?} vs {y:?}");
        }
    }
}

/// Label Studio's JSON export of `tasks` (as its export documents: the task with `id`,
/// `data`, `annotations` [{`id`, `result`, `was_cancelled`, `created_at`, …}],
/// `predictions`): each task's annotation accepts the predictions, except that the first
/// task is labelled background (no regions) and the second gets one box moved and
/// relabelled.
pub(crate) fn labelled_export(tasks: &[Value]) -> Vec<Value> {
    tasks
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut result: Vec<Value> = t["predictions"][0]["result"].as_array().cloned().unwrap_or_default();
            for r in &mut result {
                r.as_object_mut().unwrap().remove("score");
                r["origin"] = json!("prediction-changed");
            }
            if i == 0 {
                result.clear();
            }
            if i == 1 {
                result[0]["value"]["x"] = json!(12.345678);
                result[0]["value"]["width"] = json!(20.5);
                result[0]["value"]["rectanglelabels"] = json!(["scratch"]);
            }
            json!({
                "id": 100 + i,
                "data": t["data"],
                "annotations": [
                    {"id": 1, "completed_by": 1, "result": [{"type": "rectanglelabels", "from_name": "label", "to_name": "image", "value": {"x": 1, "y": 1, "width": 5, "height": 5, "rotation": 0, "rectanglelabels": ["dent"]}}],
                     "was_cancelled": true, "created_at": "2026-01-02T10:00:00.000000Z"},
                    {"id": 2, "completed_by": 1, "result": result, "was_cancelled": false,
                     "ground_truth": false, "created_at": "2026-01-02T11:00:00.000000Z",
                     "updated_at": "2026-01-02T11:00:00.000000Z", "lead_time": 12.5}
                ],
                "predictions": t["predictions"],
                "meta": {}, "created_at": "2026-01-02T09:00:00.000000Z", "project": 1
            })
        })
        .collect()
}

/// Writes [`labelled_export`] of `tasks` to `dir/export.json`, pretty-printed as Label
/// Studio writes it; its path.
fn write_labelled_export(dir: &Path, tasks: &[Value]) -> PathBuf {
    let export = dir.join("export.json");
    std::fs::write(
        &export,
        serde_json::to_string_pretty(&labelled_export(tasks)).unwrap(),
    )
    .unwrap();
    export
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
