//! `labeling import-reviewed`: the office's reviews come out as YOLO labels through the real
//! binary, on the embedded store (real SQLite) and on DynamoDB + S3 (moto); the pool merges
//! into a data set that `dataset validate` accepts; bad input is one error line, nothing
//! written.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use omni_office::store::Store;
use omni_office::store::embedded::EmbeddedStore;
use omni_office::wire::{self, DetectStatus, InspectionState, Review, ReviewBox, ReviewChange};
use serde_json::Value;

use crate::common;
use crate::labeling::{assert_close, read_labels};

/// 2026-`month`-`day`T00:00:00Z, ms since the epoch.
fn day(month: i64, day: i64) -> i64 {
    // 2026-01-01T00:00:00Z; 2026 is no leap year.
    const JAN1: i64 = 1_767_225_600_000;
    let days_before = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    JAN1 + (days_before[(month - 1) as usize] + day - 1) * 86_400_000
}

/// A review box of `class_id` at fractions `x1, y1, x2, y2`.
pub(crate) const fn rbox(class_id: u32, [x1, y1, x2, y2]: [f32; 4]) -> ReviewBox {
    ReviewBox {
        class_id,
        x1,
        y1,
        x2,
        y2,
    }
}

/// A review of `photo` drawing `boxes` (revision 1) or replacing the previous `kept` boxes.
fn review(
    inspection: &str,
    photo: &str,
    revision: u64,
    kept: usize,
    boxes: Vec<ReviewBox>,
) -> Review {
    let mut changes: Vec<ReviewChange> = (0..kept as u32)
        .map(|i| ReviewChange::Deleted {
            box_index: i,
            class_id: 0,
        })
        .collect();
    changes.extend(boxes.iter().map(|b| ReviewChange::Drawn {
        class_id: b.class_id,
    }));
    Review {
        inspection_id: inspection.into(),
        photo_id: photo.into(),
        revision,
        reviewer: "ana".into(),
        reviewed_at_ms: day(11, 20) + revision as i64,
        based_on: None,
        boxes,
        changes,
    }
}

/// The office of the tests, and the labels expected from each photo (`class cx cy w h`).
pub(crate) struct Office {
    /// Expected label lines by photo id, of the photos an import takes.
    pub expected: BTreeMap<String, Vec<Vec<f64>>>,
}

/// The YOLO label lines (`class cx cy w h`, sorted) of review `boxes`.
pub(crate) fn lines(boxes: &[ReviewBox]) -> Vec<Vec<f64>> {
    let mut lines: Vec<Vec<f64>> = boxes
        .iter()
        .map(|b| {
            let [x1, y1, x2, y2] = [b.x1, b.y1, b.x2, b.y2].map(f64::from);
            vec![
                f64::from(b.class_id),
                (x1 + x2) / 2.0,
                (y1 + y2) / 2.0,
                x2 - x1,
                y2 - y1,
            ]
        })
        .collect();
    lines.sort_by(|a, b| a.partial_cmp(b).unwrap());
    lines
}

async fn inspection(store: &dyn Store, id: &str, created_at_ms: i64) {
    let inspection = wire::Inspection {
        id: id.into(),
        container_number: "CSQU3054383".into(),
        inspector_id: "inspector-7".into(),
        created_at_ms,
        updated_at_ms: created_at_ms,
        location: None,
        state: InspectionState::Closed,
        revision: 1,
        received_at_ms: created_at_ms,
        kind: None,
    };
    store.put_inspection(&inspection).await.unwrap();
}

async fn photo(store: &dyn Store, inspection: &str, id: &str, bytes: &[u8], png: bool) {
    let p = wire::Photo {
        id: id.into(),
        inspection_id: inspection.into(),
        sha256: omni_e2e::sha256_hex(bytes),
        size_bytes: bytes.len() as u64,
        content_type: if png { "image/png" } else { "image/jpeg" }.into(),
        received_at_ms: day(11, 10),
        face: wire::Face::Whole,
    };
    store
        .put_photo(&p, bytes, DetectStatus::None)
        .await
        .unwrap();
}

/// Inspections with reviews, through the store trait:
/// * `insp-nov` (2026-11-10, marked reviewed): `p-dent` reviewed twice (the second review
///   moves, relabels and adds boxes: the expected labels), `p-clean` (a PNG) reviewed
///   without boxes (a negative), `p-none` never reviewed, `p-bad` reviewed once;
/// * `insp-open` (2026-11-11, not marked): `q-open` reviewed;
/// * `insp-oct` (2026-10-01, marked): `o-mold` reviewed.
pub(crate) async fn fill(store: &dyn Store) -> Office {
    let mut expected = BTreeMap::new();
    inspection(store, "insp-nov", day(11, 10)).await;
    for (i, id) in ["p-dent", "p-none", "p-bad"].iter().enumerate() {
        photo(
            store,
            "insp-nov",
            id,
            &common::jpeg(160, 120, 40 + i as u32),
            false,
        )
        .await;
    }
    photo(store, "insp-nov", "p-clean", &common::png(96, 64, 50), true).await;
    let first = vec![rbox(0, [0.1, 0.1, 0.4, 0.3])];
    store
        .put_review(&review("insp-nov", "p-dent", 1, 0, first))
        .await
        .unwrap();
    let latest = vec![
        rbox(2, [0.12, 0.1, 0.42, 0.33]),
        rbox(3, [0.5, 0.55, 0.9, 0.95]),
        rbox(5, [0.0, 0.0, 1.0, 0.25]),
    ];
    store
        .put_review(&review("insp-nov", "p-dent", 2, 1, latest.clone()))
        .await
        .unwrap();
    expected.insert("p-dent".to_owned(), lines(&latest));
    store
        .put_review(&review("insp-nov", "p-clean", 1, 0, vec![]))
        .await
        .unwrap();
    expected.insert("p-clean".to_owned(), Vec::new());
    let bad = vec![rbox(1, [0.2, 0.2, 0.3, 0.3])];
    store
        .put_review(&review("insp-nov", "p-bad", 1, 0, bad.clone()))
        .await
        .unwrap();
    expected.insert("p-bad".to_owned(), lines(&bad));
    store
        .mark_reviewed("insp-nov", "ana", day(11, 21))
        .await
        .unwrap();

    inspection(store, "insp-open", day(11, 11)).await;
    photo(
        store,
        "insp-open",
        "q-open",
        &common::jpeg(80, 60, 60),
        false,
    )
    .await;
    store
        .put_review(&review(
            "insp-open",
            "q-open",
            1,
            0,
            vec![rbox(4, [0.3, 0.3, 0.6, 0.6])],
        ))
        .await
        .unwrap();

    inspection(store, "insp-oct", day(10, 1)).await;
    photo(
        store,
        "insp-oct",
        "o-mold",
        &common::jpeg(120, 90, 70),
        false,
    )
    .await;
    let mold = vec![rbox(5, [0.25, 0.5, 0.75, 0.9])];
    store
        .put_review(&review("insp-oct", "o-mold", 1, 0, mold.clone()))
        .await
        .unwrap();
    expected.insert("o-mold".to_owned(), lines(&mold));
    store
        .mark_reviewed("insp-oct", "luis", day(10, 2))
        .await
        .unwrap();
    Office { expected }
}

/// Makes `p-bad`'s stored review fail `Review::validate` (a box past the photo's edge), as a
/// store written by other software could hold it.
fn tamper(office_dir: &Path) {
    let db = rusqlite::Connection::open(office_dir.join("office.sqlite3")).unwrap();
    let changed = db
        .execute(
            "UPDATE reviews SET review = json_set(review, '$.boxes[0].x2', 1.5) \
             WHERE photo_id = 'p-bad'",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// The pool holds exactly the photos of `ids`, each with the expected labels (1e-4).
pub(crate) fn assert_pool(pool: &Path, office: &Office, ids: &[&str]) {
    let mut images: Vec<String> = std::fs::read_dir(pool.join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    images.sort();
    let mut want: Vec<String> = ids
        .iter()
        .map(|id| {
            let ext = if *id == "p-clean" { "png" } else { "jpg" };
            format!("{id}.{ext}")
        })
        .collect();
    want.sort();
    assert_eq!(images, want);
    for id in ids {
        let label = pool.join("labels").join(format!("{id}.txt"));
        assert_close(&read_labels(&label), &office.expected[*id], 1e-4, id);
    }
    assert_eq!(
        std::fs::read_dir(pool.join("labels")).unwrap().count(),
        ids.len()
    );
}

/// Runs the CLI, which must succeed: (stdout, stderr).
pub(crate) fn cli_ok(args: &[&str], env: &[(String, String)], cwd: &Path) -> (String, String) {
    let (ok, stdout, stderr) = common::cli(args, env, cwd);
    assert!(ok, "{args:?}: {stderr}");
    (stdout, stderr)
}

#[test]
fn reviewed_photos_become_labels_that_merge_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let office_dir = cwd.join("office-data");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let office = rt.block_on(async {
        let store = EmbeddedStore::open(&office_dir).unwrap();
        fill(&store).await
    });
    tamper(&office_dir);

    // November: the marked inspection's reviewed photos; the open one's and the bad
    // review left out and counted.
    let (stdout, stderr) = cli_ok(
        &[
            "--json",
            "labeling",
            "import-reviewed",
            "--office",
            "office-data",
            "--since",
            "2026-11-01",
            "--out",
            "reviewed-nov",
        ],
        &[],
        cwd,
    );
    let pool = cwd.join("reviewed-nov");
    assert_pool(&pool, &office, &["p-dent", "p-clean"]);
    let summary: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(summary["images"], 2);
    assert_eq!(summary["negatives"], 1);
    assert_eq!(summary["inspections"], 1);
    assert_eq!(summary["not_marked_reviewed"], 1);
    assert_eq!(summary["without_review"], 1);
    assert_eq!(summary["boxes"]["rust"], 1);
    assert_eq!(summary["boxes"]["mold"], 1);
    let skipped = summary["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{summary}");
    assert_eq!(skipped[0]["photo_id"], "p-bad");
    let reason = skipped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("invalid") && reason.contains("[0, 1]"),
        "{reason}"
    );
    assert!(
        stderr.contains("left out photo p-bad of inspection insp-nov (review revision 1)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 photos with reviews in inspections not marked reviewed"),
        "{stderr}"
    );
    // Where each image came from, for `dataset merge --from-batch`.
    let batch: Value =
        serde_json::from_slice(&std::fs::read(pool.join("batch.json")).unwrap()).unwrap();
    assert_eq!(batch["name"], "reviewed-nov");
    assert!(batch["source"].as_str().unwrap().starts_with("office:"));
    let dent = batch["photos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["photo_id"] == "p-dent")
        .unwrap();
    assert_eq!(dent["review"]["revision"], 2);
    assert_eq!(dent["review"]["marked_by"], "ana");
    assert_eq!(
        (dent["width"].as_u64(), dent["height"].as_u64()),
        (Some(160), Some(120))
    );

    // October only: the other marked inspection.
    cli_ok(
        &[
            "labeling",
            "import-reviewed",
            "--office",
            "office-data",
            "--until",
            "2026-11-01",
            "--out",
            "reviewed-oct",
        ],
        &[],
        cwd,
    );
    assert_pool(&cwd.join("reviewed-oct"), &office, &["o-mold"]);

    // Merged into a data set, which validates; dataset.json names the office and photos.
    common::small_dataset(&cwd.join("ds"), 4, 2);
    let (merged, _) = cli_ok(
        &[
            "dataset",
            "merge",
            "reviewed-nov",
            "--into",
            "ds",
            "--from-batch",
            "reviewed-nov",
        ],
        &[],
        cwd,
    );
    assert!(merged.contains("version 2"), "{merged}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(cwd.join("ds/dataset.json")).unwrap()).unwrap();
    let from_office: Vec<&Value> = manifest["images"]
        .as_object()
        .unwrap()
        .values()
        .filter(|e| e["batch"] == "reviewed-nov")
        .collect();
    assert_eq!(from_office.len(), 2);
    for entry in &from_office {
        assert!(
            entry["source"].as_str().unwrap().starts_with("office:"),
            "{entry}"
        );
        assert_eq!(entry["container"], "CSQU3054383");
    }
    for (key, entry) in manifest["images"].as_object().unwrap() {
        if entry["photo_id"] == "p-dent" {
            let label = cwd
                .join("ds")
                .join(key.replace("/images/", "/labels/").replace(".jpg", ".txt"));
            assert_close(
                &read_labels(&label),
                &office.expected["p-dent"],
                1e-4,
                "merged p-dent",
            );
        }
    }
    let (valid, _) = cli_ok(&["dataset", "validate", "ds"], &[], cwd);
    assert!(valid.trim_end().ends_with("ok"), "{valid}");
}

/// One error line, a non-zero exit, and no pool.
fn refused(args: &[&str], cwd: &Path, want: &str) {
    let (ok, _, stderr) = common::cli(args, &[], cwd);
    assert!(!ok, "{args:?} succeeded");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(
        stderr.starts_with("omni-trainer: error: ") && stderr.contains(want),
        "{args:?}: {stderr}"
    );
    assert!(!cwd.join("pool").exists(), "{args:?} wrote the pool");
}

#[test]
fn bad_input_is_one_error_line_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let cwd = dir.path();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = EmbeddedStore::open(&cwd.join("office-data")).unwrap();
        fill(&store).await
    });
    let import = |more: &[&'static str]| {
        let mut args = vec!["labeling", "import-reviewed"];
        args.extend_from_slice(more);
        args
    };
    refused(
        &import(&["--office", "nope", "--out", "pool"]),
        cwd,
        "not an office data directory",
    );
    assert!(!cwd.join("nope").exists());
    // A store that is not one.
    common::write(
        &cwd.join("garbage/office.sqlite3"),
        b"not a database at all",
    );
    refused(
        &import(&["--office", "garbage", "--out", "pool"]),
        cwd,
        "garbage",
    );
    // Refused before anything was written beside it: no photos/ folder appears.
    assert!(!cwd.join("garbage/photos").exists());
    refused(&import(&["--out", "pool"]), cwd, "give the office");
    refused(
        &import(&[
            "--office",
            "office-data",
            "--since",
            "last tuesday",
            "--out",
            "pool",
        ]),
        cwd,
        "--since: \"last tuesday\" is not a date",
    );
    refused(
        &import(&[
            "--office",
            "office-data",
            "--since",
            "2026-11-02",
            "--until",
            "2026-11-01",
            "--out",
            "pool",
        ]),
        cwd,
        "--since must be before --until",
    );
    // Only the inspection nobody marked reviewed: nothing to import.
    refused(
        &import(&[
            "--office",
            "office-data",
            "--since",
            "2026-11-11",
            "--out",
            "pool",
        ]),
        cwd,
        "no reviewed photos to import (0 inspections marked reviewed, 1 photos with reviews in inspections not marked reviewed, 0 photos skipped); nothing imported",
    );
    // An existing folder is never overwritten, nor touched.
    common::write(&cwd.join("pool/keep.txt"), b"mine");
    let (ok, _, stderr) = common::cli(
        &import(&["--office", "office-data", "--out", "pool"]),
        &[],
        cwd,
    );
    assert!(!ok && stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(cwd.join("pool/keep.txt")).unwrap(), b"mine");
    assert_eq!(std::fs::read_dir(cwd.join("pool")).unwrap().count(), 1);
    // No staging directory left behind by any refusal.
    let hidden: Vec<_> = std::fs::read_dir(cwd)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reviewed_photos_on_the_office_on_aws() {
    let Some(moto) = common::shared_moto() else {
        return;
    };
    let (store, name) = common::moto_office(moto, "reviewed-office").await;
    let office = fill(&store).await;
    let url = moto.url();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let (stdout, _) = cli_ok(
            &[
                "--json",
                "labeling",
                "import-reviewed",
                "--office-table",
                &name,
                "--office-bucket",
                &name,
                "--office-endpoint-url",
                &url,
                "--out",
                "pool",
            ],
            &common::cli_env(&url, &name),
            dir.path(),
        );
        // Every marked inspection's reviewed photo (no tampering here: p-bad is valid).
        assert_pool(
            &dir.path().join("pool"),
            &office,
            &["p-dent", "p-clean", "p-bad", "o-mold"],
        );
        let summary: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["not_marked_reviewed"], 1);
        assert_eq!(summary["without_review"], 1);
        assert!(
            summary["source"]
                .as_str()
                .unwrap()
                .starts_with("office:dynamodb:")
        );
    })
    .await
    .unwrap();
}
