//! The labeling loop: selection on a phone store and on the embedded office with known
//! verdicts (each strategy, budget, seed, skipping what is labelled or batched), the Label
//! Studio round trip cross-checked with Label Studio's own converter, Roboflow and Ground
//! Truth exports read back by the existing imports, `dataset merge`, and bad input.

#![allow(clippy::unwrap_used)]

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
use omni_office::wire::{self, DetectStatus, InspectionState, VerdictSource};
use omni_trainer::dataset::merge::{self, DATASET_JSON, DatasetManifest};
use omni_trainer::dataset::{groundtruth, roboflow};
use omni_trainer::labeling::batch::{self, Batch};
use omni_trainer::labeling::select::{self, Known, SelectOptions, Strategy};
use omni_trainer::labeling::source::{OfficeSource, PhoneSource};
use omni_trainer::labeling::{export, labelstudio};
use omni_trainer::s3uri::S3Uri;
use serde_json::{Value, json};

use crate::common;

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

#[test]
fn each_strategy_picks_exactly_the_expected_phone_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, ids) = phone_store(&dir.path().join("phone"));
    let known = Known::default();
    for (strategy, expected) in [
        (Strategy::Disagreement, set(&["disagree"])),
        (Strategy::ManyBoxes, set(&["many"])),
        (Strategy::RareClass, set(&["rare"])),
    ] {
        let s = select::select(&mut source, &known, &options(&[strategy], 10)).unwrap();
        assert_eq!(chosen_names(&s, &ids), expected, "{strategy:?}");
        assert_eq!(s.scanned, 20);
    }
    // Low confidence: "low" and its near duplicate "low-again" (same container, same scene):
    // one is chosen, the other thinned out as like it.
    let s = select::select(
        &mut source,
        &known,
        &options(&[Strategy::LowConfidence], 10),
    )
    .unwrap();
    let chosen = chosen_names(&s, &ids);
    assert_eq!(chosen.len(), 1);
    assert!(
        chosen == set(&["low"]) || chosen == set(&["low-again"]),
        "{chosen:?}"
    );
    assert_eq!(s.thinned.len(), 1);
    let pair = set(&["low", "low-again"]);
    let by_id: BTreeMap<&String, &String> = ids.iter().map(|(k, v)| (v, k)).collect();
    assert!(pair.contains(by_id[&s.thinned[0].photo_id]));
    assert!(pair.contains(by_id[&s.thinned[0].like]));
    // Without thinning both are chosen.
    let mut o = options(&[Strategy::LowConfidence], 10);
    o.near_duplicate_bits = 0;
    let s = select::select(&mut source, &known, &o).unwrap();
    if s.thinned.is_empty() {
        assert_eq!(chosen_names(&s, &ids), pair);
    }
    // Outside the band: a band that "low" (0.4) misses and "low-again" (0.3) hits.
    let mut o = options(&[Strategy::LowConfidence], 10);
    o.band = (0.25, 0.35);
    let s = select::select(&mut source, &known, &o).unwrap();
    assert_eq!(chosen_names(&s, &ids), set(&["low-again"]));
}

#[test]
fn budget_seed_and_random_control_sample() {
    let dir = tempfile::tempdir().unwrap();
    let (mut source, ids) = phone_store(&dir.path().join("phone"));
    let known = Known::default();
    let ranked = [
        Strategy::LowConfidence,
        Strategy::Disagreement,
        Strategy::ManyBoxes,
        Strategy::RareClass,
    ];
    // Budget 2 of the 4 candidates (low/low-again being one after thinning).
    let s = select::select(&mut source, &known, &options(&ranked, 2)).unwrap();
    assert_eq!(s.chosen.len(), 2);
    let all = set(&["low", "low-again", "disagree", "many", "rare"]);
    assert!(chosen_names(&s, &ids).is_subset(&all));
    // Random only: the budget, reproducible for a seed, another seed another sample.
    let mut random = |seed| {
        let mut o = options(&[Strategy::Random], 5);
        o.seed = seed;
        let s = select::select(&mut source, &known, &o).unwrap();
        assert_eq!(s.chosen.len(), 5);
        assert!(
            s.chosen
                .iter()
                .all(|c| c.reasons == vec![select::Reason::Random])
        );
        chosen_names(&s, &ids)
    };
    let first = random(1);
    assert_eq!(first, random(1));
    assert!((2..40).map(&mut random).any(|other| other != first));
    // Everything with a 25 % control share of 4: 3 ranked + 1 random.
    let mut o = options(&Strategy::ALL, 4);
    o.random_share = 0.25;
    let s = select::select(&mut source, &known, &o).unwrap();
    assert_eq!(s.chosen.len(), 4);
    let random_count = s
        .chosen
        .iter()
        .filter(|c| c.reasons == vec![select::Reason::Random])
        .count();
    assert_eq!(random_count, 1);
    assert!(
        s.chosen[..3]
            .iter()
            .all(|c| all.contains(&chosen_names_one(&c.record.photo_id, &ids)))
    );
}

fn chosen_names_one(id: &str, ids: &BTreeMap<String, String>) -> String {
    ids.iter()
        .find(|(_, v)| v.as_str() == id)
        .map(|(k, _)| k.clone())
        .unwrap()
}

#[test]
fn batches_skip_photos_already_batched_or_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let (source, ids) = phone_store(&dir.path().join("phone"));
    drop(source);
    let batches = dir.path().join("batches");
    // Batch 1 through the CLI: rare-class needs a data set; use many-boxes + disagreement.
    let (ok, stdout, stderr) = common::cli(
        &[
            "--json",
            "labeling",
            "select",
            "--phone",
            dir.path().join("phone").to_str().unwrap(),
            "--out",
            batches.to_str().unwrap(),
            "--name",
            "b1",
            "--strategy",
            "many-boxes,disagreement",
            "--max",
            "10",
        ],
        &[],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let written: Value = serde_json::from_str(&stdout).unwrap();
    let b1 = Batch::load(&batches.join("b1")).unwrap();
    assert_eq!(written["photos"].as_array().unwrap().len(), 2);
    let chosen: BTreeSet<String> = b1
        .photos
        .iter()
        .map(|p| chosen_names_one(&p.photo_id, &ids))
        .collect();
    assert_eq!(chosen, set(&["disagree", "many"]));
    for p in &b1.photos {
        let bytes = std::fs::read(batches.join("b1/images").join(&p.file)).unwrap();
        assert_eq!(omni_e2e::sha256_hex(&bytes), p.sha256);
        assert_eq!((p.width, p.height), (128, 96));
        assert!(!p.reasons.is_empty());
    }
    assert_eq!(b1.candidates["many-boxes"], 1);
    // Batch 2 with the same strategies: nothing left (both skipped as already batched).
    let mut known = Known::default();
    batch::add_earlier_batches(&batches, &mut known).unwrap();
    let mut source = PhoneSource::open(&dir.path().join("phone")).unwrap();
    let o = options(&[Strategy::ManyBoxes, Strategy::Disagreement], 10);
    let s = select::select(&mut source, &known, &o).unwrap();
    assert!(s.chosen.is_empty());
    assert_eq!(s.known, 2);
    // A batch name is never reused.
    drop(source);
    let (ok, _, stderr) = common::cli(
        &[
            "labeling",
            "select",
            "--phone",
            dir.path().join("phone").to_str().unwrap(),
            "--out",
            batches.to_str().unwrap(),
            "--name",
            "b1",
        ],
        &[],
        dir.path(),
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    // Labelled photos (in dataset.json) are skipped too: label b1 (its predictions) and merge.
    let pool = dir.path().join("pool");
    let out = dir.path().join("rf");
    export::roboflow(&batches.join("b1"), &out, 0.25).unwrap();
    roboflow::import(&out, &pool, &BTreeMap::new()).unwrap();
    flatten_pool(&pool);
    let ds = dir.path().join("ds");
    merge::merge(
        &pool,
        &ds,
        Some(&batches.join("b1")),
        0.2,
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let mut known = Known::default();
    DatasetManifest::load(&ds)
        .unwrap()
        .unwrap()
        .add_known(&mut known);
    let mut source = PhoneSource::open(&dir.path().join("phone")).unwrap();
    let s = select::select(&mut source, &known, &o).unwrap();
    assert!(s.chosen.is_empty());
    assert_eq!(s.known, 2);
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
        let inspection = wire::Inspection {
            id: id.clone(),
            container_number: "CSQU 305438-3".into(),
            inspector_id: "inspector-7".into(),
            created_at_ms: 1_700_000_000_000 + (i as i64 / 2),
            updated_at_ms: 1_700_000_000_000,
            location: None,
            state: InspectionState::Closed,
            revision: 1,
            received_at_ms: 1_700_000_000_000,
            kind: None,
        };
        store.put_inspection(&inspection).await.unwrap();
        let bytes = photo(seed, noise);
        let p = wire::Photo {
            id: format!("photo-{i:02}"),
            inspection_id: id.clone(),
            sha256: omni_e2e::sha256_hex(&bytes),
            size_bytes: bytes.len() as u64,
            content_type: "image/jpeg".into(),
            received_at_ms: 1_700_000_000_000,
            face: wire::Face::Whole,
        };
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

#[test]
fn selection_on_the_embedded_office() {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ids = rt.block_on(fill_office(&store));
    drop(store);
    let mut source = OfficeSource::embedded(dir.path()).unwrap();
    assert_office_selection(&mut source, &ids);
    let known = Known::default();
    // The store trait directly (any store): the same answer.
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let mut source = OfficeSource::from_store("office:test", store).unwrap();
    let s = select::select(&mut source, &known, &options(&[Strategy::Disagreement], 10)).unwrap();
    assert_eq!(chosen_names(&s, &ids), set(&["disagree"]));
    // Missing directories are refused, not created.
    let err = OfficeSource::embedded(&dir.path().join("nope")).unwrap_err();
    assert!(
        err.to_string().contains("not an office data directory"),
        "{err}"
    );
    let err = PhoneSource::open(&dir.path().join("nope")).unwrap_err();
    assert!(
        err.to_string().contains("not a phone data directory"),
        "{err}"
    );
    assert!(!dir.path().join("nope").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selection_on_the_office_on_aws() {
    let Some(moto) = common::shared_moto() else {
        return;
    };
    let (store, name) = common::moto_office(moto, "labeling-office").await;
    let ids = fill_office(&store).await;
    // The selection blocks on a runtime of its own: off this one.
    let (url, table) = (moto.url(), name.clone());
    tokio::task::spawn_blocking(move || {
        let store: Arc<dyn Store> = Arc::new(store);
        let mut source = OfficeSource::from_store("office:moto", store).unwrap();
        assert_office_selection(&mut source, &ids);
        // The CLI on the same table and bucket.
        let dir = tempfile::tempdir().unwrap();
        let (ok, stdout, stderr) = common::cli(
            &[
                "--json",
                "labeling",
                "select",
                "--office-table",
                &table,
                "--office-bucket",
                &table,
                "--office-endpoint-url",
                &url,
                "--out",
                dir.path().to_str().unwrap(),
                "--name",
                "b1",
                "--strategy",
                "many-boxes",
            ],
            &common::cli_env(&url, &table),
            dir.path(),
        );
        assert!(ok, "{stderr}");
        let b: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(b["photos"][0]["photo_id"], ids["many"].as_str());
        assert!(
            b["source"]
                .as_str()
                .unwrap()
                .starts_with("office:dynamodb:")
        );
    })
    .await
    .unwrap();
}

// --- Exports and imports ----------------------------------------------------------

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

#[test]
fn label_studio_round_trip_matches_label_studios_converter() {
    let dir = tempfile::tempdir().unwrap();
    let batch_dir = make_batch(dir.path());
    let b = Batch::load(&batch_dir).unwrap();
    assert_eq!(b.photos.len(), 4);
    let ls = dir.path().join("ls");
    let summary = labelstudio::export(&batch_dir, "/data/local-files/?d=b1/images/", &ls).unwrap();
    assert_eq!((summary.tasks, summary.with_predictions), (4, 4));
    let tasks: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&summary.tasks_file).unwrap()).unwrap();
    // Predictions: percent boxes, model_version, scores.
    let many = tasks
        .iter()
        .find(|t| t["predictions"][0]["result"].as_array().unwrap().len() == 6)
        .unwrap();
    let r = &many["predictions"][0]["result"][0];
    assert_eq!(r["type"], "rectanglelabels");
    assert_eq!(r["value"]["rectanglelabels"][0], "scratch");
    assert!((r["value"]["x"].as_f64().unwrap() - 5.0).abs() < 1e-4);
    assert!((r["value"]["width"].as_f64().unwrap() - 10.0).abs() < 1e-4);
    assert!((r["score"].as_f64().unwrap() - 0.8).abs() < 1e-6);
    assert_eq!(many["predictions"][0]["model_version"], "edge-test@1.0.0");
    assert_eq!(r["original_width"], 128);
    let config = std::fs::read_to_string(&summary.config_file).unwrap();
    for (i, c) in CLASSES.iter().enumerate() {
        assert!(config.contains(&format!("<Label value=\"{c}\" category=\"{i}\"/>")));
    }
    // The export back, pretty-printed as Label Studio writes it.
    let export = dir.path().join("export.json");
    std::fs::write(
        &export,
        serde_json::to_string_pretty(&labelled_export(&tasks)).unwrap(),
    )
    .unwrap();
    let pool = dir.path().join("pool");
    let imported = labelstudio::import(&export, &batch_dir.join("images"), &pool).unwrap();
    assert_eq!(
        (imported.images, imported.background, imported.unlabelled),
        (4, 1, 0)
    );
    // Our YOLO labels: the first task is background, the second has the edited box.
    let file0 = tasks[0]["data"]["image"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let stem0 = file0.trim_end_matches(".jpg");
    assert_eq!(
        std::fs::read_to_string(pool.join("labels").join(format!("{stem0}.txt"))).unwrap(),
        ""
    );
    // Label Studio's own converter on the same export and config.
    let Some(python) = common::test_python() else {
        return;
    };
    let theirs = dir.path().join("theirs");
    common::python_c(
        &python,
        "import sys\nfrom label_studio_converter import Converter\n\
         c = Converter(config=sys.argv[1], project_dir=sys.argv[3], download_resources=False)\n\
         c.convert_to_yolo(input_data=sys.argv[2], output_dir=sys.argv[3], is_dir=False)\n",
        &[&summary.config_file, &export, &theirs],
    );
    let classes = std::fs::read_to_string(theirs.join("classes.txt")).unwrap();
    assert_eq!(classes.lines().collect::<Vec<_>>(), CLASSES);
    for p in &b.photos {
        let ours = read_labels(&pool.join("labels").join(format!("{}.txt", p.photo_id)));
        let theirs = read_labels(&theirs.join("labels").join(format!("{}.txt", p.photo_id)));
        assert_close(&ours, &theirs, 1e-6, &p.photo_id);
    }
    // The edited box: class scratch (3), x 12.345678 % + width 20.5 % / 2.
    let stem1 = tasks[1]["data"]["photo_id"].as_str().unwrap();
    let edited = read_labels(&pool.join("labels").join(format!("{stem1}.txt")));
    assert!(
        edited
            .iter()
            .any(|l| l[0] == 3.0 && (l[1] - (0.12345678 + 0.1025)).abs() < 1e-6)
    );
}

/// Writes a one-task export whose annotation has `region`, imports it; returns the error.
fn refused(region: Value, image: &str) -> (String, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    common::write(&dir.path().join("images/a.jpg"), photo(1, 0));
    let export = json!([{"id": 7, "data": {"image": format!("/data/upload/1/{image}")},
                         "annotations": [{"id": 1, "result": [region], "was_cancelled": false}]}]);
    let path = dir.path().join("export.json");
    std::fs::write(&path, serde_json::to_string_pretty(&export).unwrap()).unwrap();
    let out = dir.path().join("pool");
    let err = labelstudio::import(&path, &dir.path().join("images"), &out)
        .unwrap_err()
        .to_string();
    assert!(!out.exists(), "nothing written");
    (err, path, dir)
}

fn rect(label: &str, rotation: f64) -> Value {
    json!({"id": "r1", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
           "original_width": 128, "original_height": 96,
           "value": {"x": 10, "y": 10, "width": 20, "height": 20, "rotation": rotation,
                     "rectanglelabels": [label]}})
}

#[test]
fn bad_label_studio_exports_are_refused_with_file_and_line() {
    let (err, path, _d) = refused(rect("rust", 15.0), "a.jpg");
    assert!(
        err.contains(&format!("{}:", path.display())) && err.contains("rotated by 15"),
        "{err}"
    );
    let line = err.split(':').nth(1).unwrap().parse::<usize>().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().nth(line - 1).unwrap().contains("\"rotation\""),
        "{err}"
    );
    let (err, path, _d) = refused(rect("corrosion", 0.0), "a.jpg");
    assert!(
        err.contains("unknown label \"corrosion\"") && err.contains("dent, dirt"),
        "{err}"
    );
    let line = err.split(':').nth(1).unwrap().parse::<usize>().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().nth(line - 1).unwrap().contains("corrosion"),
        "{err}"
    );
    let (err, _, _d) = refused(rect("rust", 0.0), "b.jpg");
    assert!(err.contains("image \"b.jpg\" not found"), "{err}");
    let (err, _, _d) = refused(
        json!({"type": "polygonlabels", "value": {"points": [[1, 1], [2, 2], [1, 2]], "polygonlabels": ["rust"]}}),
        "a.jpg",
    );
    assert!(err.contains("polygonlabels regions are not boxes"), "{err}");
    // Not JSON: the parser's line.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.json");
    std::fs::write(&path, "[\n  {\"id\": 1,\n  \"data\": \n").unwrap();
    let err = labelstudio::import(&path, dir.path(), &dir.path().join("pool"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with(&format!("{}:", path.display())), "{err}");
    assert!(!dir.path().join("pool").exists());
    // An upload's hashed name finds the bare file.
    let dir = tempfile::tempdir().unwrap();
    common::write(&dir.path().join("images/a.jpg"), photo(1, 0));
    let export = json!([{"id": 7, "data": {"image": "/data/upload/1/0a1b2c3d-a.jpg"},
                         "annotations": [{"result": [rect("Rust", 0.0)]}]}]);
    std::fs::write(dir.path().join("e.json"), export.to_string()).unwrap();
    let s = labelstudio::import(
        &dir.path().join("e.json"),
        &dir.path().join("images"),
        &dir.path().join("pool"),
    )
    .unwrap();
    assert_eq!(s.boxes[2], 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pool/labels/a.txt")).unwrap(),
        "2 0.200000 0.200000 0.200000 0.200000\n"
    );
}

#[test]
fn roboflow_folder_and_groundtruth_manifest_read_back_by_the_imports() {
    let dir = tempfile::tempdir().unwrap();
    let batch_dir = make_batch(dir.path());
    let b = Batch::load(&batch_dir).unwrap();
    // Roboflow: the folder imports with the existing import, labels = the predictions.
    let rf = dir.path().join("rf");
    let s = export::roboflow(&batch_dir, &rf, 0.25).unwrap();
    assert_eq!((s.images, s.boxes), (4, 1 + 1 + 6 + 1));
    let rf_pool = dir.path().join("rf-pool");
    roboflow::import(&rf, &rf_pool, &BTreeMap::new()).unwrap();
    for p in &b.photos {
        let expected: Vec<Vec<f64>> = {
            let mut v: Vec<Vec<f64>> = export::yolo_lines(p, 0.25)
                .iter()
                .map(|l| vec![f64::from(l.class_id), l.cx, l.cy, l.w, l.h])
                .collect();
            v.sort_by(|a, b| a.partial_cmp(b).unwrap());
            v
        };
        let got = read_labels(
            &rf_pool
                .join("train/labels")
                .join(format!("{}.txt", p.photo_id)),
        );
        assert_close(&got, &expected, 1e-6, "roboflow");
    }
    assert!(
        export::roboflow(&batch_dir, &rf, 0.25)
            .unwrap_err()
            .to_string()
            .contains("already exists")
    );
    // Ground Truth: one source-ref per photo under the prefix; the pre-annotations, read
    // back by the output-manifest import, are the predictions (to the pixel).
    let manifest = dir.path().join("gt/input.manifest");
    let prefix = S3Uri::parse("s3://yard-labels/batches/b1").unwrap();
    let s = export::groundtruth(
        &batch_dir,
        &prefix,
        &manifest,
        export::GT_LABEL_ATTRIBUTE,
        0.25,
    )
    .unwrap();
    assert_eq!(s.images, 4);
    let text = std::fs::read_to_string(&manifest).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    for (line, p) in lines.iter().zip(&b.photos) {
        assert_eq!(
            line["source-ref"],
            format!("s3://yard-labels/batches/b1/{}", p.file)
        );
    }
    let gt_pool = dir.path().join("gt-pool");
    let imported = groundtruth::import(
        &manifest,
        Some(&batch_dir.join("images")),
        &gt_pool,
        Some(export::GT_LABEL_ATTRIBUTE),
        &BTreeMap::new(),
    )
    .unwrap();
    assert_eq!((imported.images, imported.boxes), (4, 9));
    for p in &b.photos {
        let label = std::fs::read_dir(gt_pool.join("labels"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|f| {
                f.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(&p.photo_id)
            })
            .unwrap();
        let mut expected: Vec<Vec<f64>> = export::yolo_lines(p, 0.25)
            .iter()
            .map(|l| vec![f64::from(l.class_id), l.cx, l.cy, l.w, l.h])
            .collect();
        expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
        assert_close(&read_labels(&label), &expected, 1.0 / 96.0, "groundtruth");
    }
    // A truncated output-manifest line: refused with its line, nothing written.
    let truncated = dir.path().join("gt/truncated.manifest");
    let cut = text.lines().take(2).collect::<Vec<_>>().join("\n");
    std::fs::write(
        &truncated,
        format!("{}\n{}", cut, &text.lines().nth(2).unwrap()[..40]),
    )
    .unwrap();
    let out = dir.path().join("gt-bad");
    let err = groundtruth::import(
        &truncated,
        Some(&batch_dir.join("images")),
        &out,
        Some(export::GT_LABEL_ATTRIBUTE),
        &BTreeMap::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("truncated.manifest") && err.contains(":3"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn merge_versions_the_dataset_and_a_rerun_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let batch_dir = make_batch(dir.path());
    let b = Batch::load(&batch_dir).unwrap();
    let ls = dir.path().join("ls");
    let summary = labelstudio::export(&batch_dir, "/data/local-files/?d=b1/images/", &ls).unwrap();
    let tasks: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&summary.tasks_file).unwrap()).unwrap();
    let export = dir.path().join("export.json");
    std::fs::write(
        &export,
        serde_json::to_string_pretty(&labelled_export(&tasks)).unwrap(),
    )
    .unwrap();
    let pool = dir.path().join("pool");
    labelstudio::import(&export, &batch_dir.join("images"), &pool).unwrap();
    // An existing data set (no dataset.json yet) becomes version 1, the merge version 2.
    let ds = dir.path().join("ds");
    common::small_dataset(&ds, 4, 2);
    let (ok, stdout, stderr) = common::cli(
        &[
            "--json",
            "dataset",
            "merge",
            pool.to_str().unwrap(),
            "--into",
            ds.to_str().unwrap(),
            "--from-batch",
            batch_dir.to_str().unwrap(),
        ],
        &[],
        dir.path(),
    );
    assert!(ok, "{stderr}");
    let s: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(s["version"], 2);
    assert_eq!(s["train"].as_u64().unwrap() + s["val"].as_u64().unwrap(), 4);
    let m = DatasetManifest::load(&ds).unwrap().unwrap();
    assert_eq!(m.batches, ["b1"]);
    assert_eq!(m.changelog.len(), 2);
    assert_eq!(m.images.len(), 10);
    for p in &b.photos {
        let (key, entry) = m
            .images
            .iter()
            .find(|(_, e)| e.photo_id.as_deref() == Some(&p.photo_id))
            .unwrap();
        let digest = hex_decode(&entry.sha256);
        let split = if omni_trainer::dataset::split::goes_to_val(&digest, 0.2) {
            "val"
        } else {
            "train"
        };
        assert_eq!(entry.split, split);
        assert!(key.starts_with(&format!("{split}/images/")));
        assert!(entry.source.starts_with("phone:"));
        assert!(ds.join(key).is_file());
    }
    let boxes: u64 = m
        .counts
        .values()
        .map(|c| c.boxes.values().sum::<u64>())
        .sum();
    assert_eq!(boxes, 6 + (6 + 1 + 1 + 1 - 1));
    assert_eq!(m.counts.values().map(|c| c.background).sum::<u64>(), 1);
    // The data set validates.
    let report = omni_trainer::dataset::validate::validate(&ds, &|_, _| {}).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    // Re-running changes nothing, not even dataset.json.
    let before = std::fs::read(ds.join(DATASET_JSON)).unwrap();
    let again = merge::merge(&pool, &ds, Some(&batch_dir), 0.2, "2027-01-01T00:00:00Z").unwrap();
    assert!(!again.changed);
    assert_eq!((again.version, again.already), (2, 4));
    assert_eq!(std::fs::read(ds.join(DATASET_JSON)).unwrap(), before);
    // A bad label in a pool: refused with file and line, nothing merged.
    let bad = dir.path().join("bad");
    common::write(&bad.join("images/x.jpg"), photo(77, 0));
    common::write(
        &bad.join("labels/x.txt"),
        "0 0.5 0.5 0.1 0.1\n9 0.5 0.5 0.1 0.1\n",
    );
    let err = merge::merge(&bad, &ds, None, 0.2, "2027-01-01T00:00:00Z")
        .unwrap_err()
        .to_string();
    assert!(err.contains("x.txt:2:"), "{err}");
    assert_eq!(std::fs::read(ds.join(DATASET_JSON)).unwrap(), before);
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn labeling_commands_have_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["labeling", "--help"],
        vec!["labeling", "select", "--help"],
        vec!["labeling", "export-labelstudio", "--help"],
        vec!["labeling", "import-labelstudio", "--help"],
        vec!["labeling", "import-reviewed", "--help"],
        vec!["labeling", "export-roboflow", "--help"],
        vec!["labeling", "export-groundtruth", "--help"],
        vec!["dataset", "merge", "--help"],
    ] {
        let (ok, stdout, _) = common::cli(&args, &[], dir.path());
        assert!(ok && stdout.contains("Usage"), "{args:?}");
    }
    let (ok, _, stderr) = common::cli(&["labeling", "select", "--out", "b"], &[], dir.path());
    assert!(!ok);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("omni-trainer: error: give a source"),
        "{stderr}"
    );
}

// --- The whole loop ------------------------------------------------------------------

/// The loop on generated data: the yard generator's photos captured on a phone store, the
/// bundled model's edge verdicts, 50 selected, "labelled" from the generator's ground truth,
/// merged, validated; then, where a Python with Ultralytics is given (`OMNI_MODELS_PYTHON`,
/// the `.venv-models` of tools/models/build.sh), 3 epochs of train.py on CPU and the
/// publish gate (our edge pipeline on the val split) on its models. About 20 s without
/// the training step.
#[test]
fn whole_loop_on_generated_data() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let generated = dir.path().join("gen");
    let out = std::process::Command::new(&python)
        .arg(omni_e2e::repo_path(
            "tools/datagen/generate_yard_dataset.py",
        ))
        .args([
            "--seed",
            "11",
            "--train",
            "120",
            "--val",
            "1",
            "--imgsz",
            "320",
            "--workers",
            "1",
        ])
        .arg("--out")
        .arg(&generated)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Capture every generated photo on a phone and run the bundled model on it.
    let phone = dir.path().join("phone");
    let mut truth: BTreeMap<String, PathBuf> = BTreeMap::new();
    {
        let inspector = Inspector::open(&phone, InspectorConfig::default()).unwrap();
        let detector =
            omni_core::bundled_model::detector(&omni_core::detect::EdgeDetectorConfig::default())
                .unwrap();
        let inspection = inspector
            .create_inspection(NewInspection::new(
                ContainerNumber::parse("CSQU3054383").unwrap(),
            ))
            .unwrap();
        let images = generated.join("train/images");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&images)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for image in files {
            let bytes = std::fs::read(&image).unwrap();
            let p = inspector
                .add_photo(
                    inspection.id,
                    &bytes,
                    Timestamp::now(),
                    omni_core::Face::Whole,
                )
                .unwrap();
            inspector.detect_photo(&detector, p.id).unwrap();
            let stem = image.file_stem().unwrap().to_string_lossy().into_owned();
            truth.insert(
                p.sha256.clone(),
                generated.join(format!("train/labels/{stem}.txt")),
            );
        }
    }
    // Select 50.
    let mut source = PhoneSource::open(&phone).unwrap();
    let mut o = SelectOptions {
        strategies: vec![
            Strategy::LowConfidence,
            Strategy::Disagreement,
            Strategy::ManyBoxes,
            Strategy::Random,
        ],
        max: 50,
        seed: 5,
        ..SelectOptions::default()
    };
    o.random_share = 0.5;
    let s = select::select(&mut source, &Known::default(), &o).unwrap();
    let batch_dir = dir.path().join("batches/loop-1");
    let b = batch::write(&batch_dir, &mut source, &s, &o, "2026-01-01T00:00:00Z").unwrap();
    drop(source);
    assert!(
        b.photos.len() >= 45,
        "{} chosen, {} thinned",
        b.photos.len(),
        b.thinned.len()
    );
    // "Label" them from the generator's ground truth, merge, validate.
    let pool = dir.path().join("pool");
    for p in &b.photos {
        common::write(
            &pool.join("images").join(&p.file),
            std::fs::read(batch_dir.join("images").join(&p.file)).unwrap(),
        );
        common::write(
            &pool.join("labels").join(format!("{}.txt", p.photo_id)),
            std::fs::read(&truth[&p.sha256]).unwrap(),
        );
    }
    let ds = dir.path().join("ds");
    let m = merge::merge(&pool, &ds, Some(&batch_dir), 0.2, "2026-01-01T00:00:00Z").unwrap();
    assert_eq!((m.version, (m.train + m.val) as usize), (1, b.photos.len()));
    let report = omni_trainer::dataset::validate::validate(&ds, &|_, _| {}).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    // Train 3 epochs on CPU and gate the models as `publish` does.
    let Some(models_python) = std::env::var_os("OMNI_MODELS_PYTHON") else {
        eprintln!("skipping training: OMNI_MODELS_PYTHON (a Python with Ultralytics) not set");
        return;
    };
    let model_dir = dir.path().join("model");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(models_python)
        .arg(common::trainer_dir().join("sagemaker/train.py"))
        .args([
            "--epochs",
            "3",
            "--imgsz",
            "320",
            "--batch",
            "8",
            "--workers",
            "0",
            "--device",
            "cpu",
        ])
        .args(["--dataset-version", "1", "--model-version", "0.9.0"])
        .env("SM_CHANNEL_TRAINING", &ds)
        .env("SM_MODEL_DIR", &model_dir)
        .env("OMNI_CHECKPOINT_DIR", dir.path().join("ckpt"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = ["model.onnx", "model-int8.onnx", "metrics.json"]
        .iter()
        .map(|f| ((*f).to_owned(), std::fs::read(model_dir.join(f)).unwrap()))
        .collect();
    let artifacts = omni_trainer::artifacts::Artifacts {
        uri: S3Uri::parse("s3://local/model.tar.gz").unwrap(),
        tarball: Vec::new(),
        files,
    };
    let metrics = artifacts.metrics().unwrap();
    eprintln!(
        "train.py, 3 epochs on CPU: {:.1} s; metrics.json: {metrics}",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(metrics["dataset_version"], "1");
    let checked = omni_trainer::publish::check_models(
        &artifacts,
        &ds,
        2,
        omni_trainer::publish::EdgePrecision::Float16,
    )
    .unwrap();
    assert_eq!(checked.identity.version, "0.9.0");
}
