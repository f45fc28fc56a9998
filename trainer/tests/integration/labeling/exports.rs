//! Roboflow and Ground Truth exports read back by the imports, and `dataset merge`.

use super::*;

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
    let export = write_labelled_export(dir.path(), &tasks);
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
