//! The Label Studio round trip, cross-checked with Label Studio's own converter, and bad exports.

use super::*;

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
    let export = write_labelled_export(dir.path(), &tasks);
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
