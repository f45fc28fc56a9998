//! `dataset validate`, `split`, `import-roboflow`, `import-groundtruth` on real files.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::{jpeg, png, small_dataset, write};
use omni_trainer::dataset::validate::{Rule, validate};
use omni_trainer::dataset::{data_yaml, groundtruth, roboflow, split};

fn rules(root: &Path) -> Vec<(Rule, String, Option<usize>)> {
    let report = validate(root, &|_, _| {}).unwrap();
    report
        .problems
        .iter()
        .map(|p| {
            let rel = p.file.strip_prefix(root).unwrap().display().to_string();
            (p.rule, rel, p.line)
        })
        .collect()
}

#[test]
fn a_clean_data_set_passes_with_counts_per_class() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 12, 4);
    // An explicit negative: empty label file.
    write(&dir.path().join("train/images/empty.png"), png(32, 32, 99));
    write(&dir.path().join("train/labels/empty.txt"), "");
    let report = validate(dir.path(), &|_, _| {}).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.splits["train"].images, 13);
    assert_eq!(report.splits["train"].negatives, 1);
    assert_eq!(report.splits["val"].images, 4);
    assert_eq!(report.instances.values().sum::<usize>(), 16);
    assert_eq!(report.instances["dent"], 3); // seeds 0, 6 (train) and 1002 (val)
    assert_eq!(report.instances.len(), 6);
}

#[test]
fn every_rule_is_reported_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    small_dataset(root, 2, 1);
    let label =
        |name: &str, text: &str| write(&root.join(format!("train/labels/{name}.txt")), text);
    let image = |name: &str, seed| {
        write(
            &root.join(format!("train/images/{name}.jpg")),
            jpeg(40, 30, seed),
        )
    };
    image("syntax", 10);
    label("syntax", "0 0.5 0.5 0.1 0.1\n1 0.5 0.5 0.1\n");
    image("class", 11);
    label("class", "6 0.5 0.5 0.1 0.1\n");
    image("norm", 12);
    label("norm", "0 1.5 0.5 0.1 0.1\n");
    image("degenerate", 13);
    label("degenerate", "\n0 0.5 0.5 0.0 0.1\n");
    image("nolabel", 14);
    label("orphan", "0 0.5 0.5 0.1 0.1\n");
    write(
        &root.join("train/images/broken.jpg"),
        b"\xff\xd8\xff not really a jpeg",
    );
    label("broken", "");
    write(&root.join("train/images/anim.gif"), b"GIF89a");
    // The same bytes in train and val.
    let dup = jpeg(50, 50, 77);
    write(&root.join("train/images/dup-a.jpg"), &dup);
    label("dup-a", "");
    write(&root.join("val/images/dup-b.jpg"), &dup);
    write(&root.join("val/labels/dup-b.txt"), "");

    let found = rules(root);
    let expect = [
        (Rule::Syntax, "train/labels/syntax.txt", Some(2)),
        (Rule::ClassOutOfRange, "train/labels/class.txt", Some(1)),
        (Rule::NotNormalised, "train/labels/norm.txt", Some(1)),
        (Rule::Degenerate, "train/labels/degenerate.txt", Some(2)),
        (Rule::MissingLabel, "train/images/nolabel.jpg", None),
        (Rule::OrphanLabel, "train/labels/orphan.txt", None),
        (Rule::Undecodable, "train/images/broken.jpg", None),
        (Rule::UnsupportedFile, "train/images/anim.gif", None),
        (Rule::DuplicateAcrossSplits, "train/images/dup-a.jpg", None),
        (Rule::DuplicateAcrossSplits, "val/images/dup-b.jpg", None),
    ];
    for (rule, file, line) in expect {
        assert!(
            found.contains(&(rule, file.to_owned(), line)),
            "missing {rule:?} {file}:{line:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn layout_and_data_yaml_rules() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("val/images/a.jpg"), jpeg(10, 10, 1));
    write(&dir.path().join("val/labels/a.txt"), "");
    write(&dir.path().join("data.yaml"), "names: [dent, rust]\n");
    let found = rules(dir.path());
    assert!(
        found
            .iter()
            .any(|(r, f, _)| *r == Rule::Layout && f == "train/images"),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(r, f, _)| *r == Rule::DataYaml && f == "data.yaml"),
        "{found:?}"
    );
}

#[test]
fn cli_validate_exits_non_zero_with_every_problem_and_json() {
    let dir = tempfile::tempdir().unwrap();
    small_dataset(dir.path(), 3, 1);
    let dir_arg = dir.path().to_str().unwrap();
    let (ok, stdout, _) = common::cli(&["dataset", "validate", dir_arg], &[], dir.path());
    assert!(ok, "{stdout}");
    write(
        &dir.path().join("train/labels/img0.txt"),
        "9 0.5 0.5 0.1 0.1\n",
    );
    let (ok, stdout, stderr) = common::cli(&["dataset", "validate", dir_arg], &[], dir.path());
    assert!(!ok);
    assert!(
        stdout.contains("img0.txt:1: class 9 out of range 0..6"),
        "{stdout}"
    );
    assert_eq!(
        stderr.trim(),
        "omni-trainer: error: data set has 1 problem(s)"
    );
    let (ok, stdout, _) = common::cli(&["--json", "dataset", "validate", dir_arg], &[], dir.path());
    assert!(!ok);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["problems"][0]["rule"], "class_out_of_range");
    assert_eq!(report["problems"][0]["line"], 1);
}

fn pool(root: &Path, n: u32) {
    for i in 0..n {
        write(&root.join(format!("images/p{i}.jpg")), jpeg(24, 24, i));
        write(
            &root.join(format!("labels/p{i}.txt")),
            format!("{} 0.5 0.5 0.2 0.2\n", i % 6),
        );
    }
}

fn listing(root: &Path, split: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(split).join("images"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn split_is_deterministic_by_content_and_stable_when_images_are_added() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    pool(a.path(), 60);
    pool(b.path(), 60);
    let sa = split::split(a.path(), None, 0.2).unwrap();
    let out = b.path().join("out");
    let sb = split::split(b.path(), Some(&out), 0.2).unwrap();
    assert_eq!((sa.train, sa.val), (sb.train, sb.val));
    assert_eq!(sa.train + sa.val, 60);
    assert!((5..=20).contains(&sa.val), "val {}", sa.val);
    assert_eq!(listing(a.path(), "val"), listing(&out, "val"));
    // Labels moved with their images; the pool directories are gone.
    for name in listing(a.path(), "val") {
        let stem = name.trim_end_matches(".jpg");
        assert!(a.path().join(format!("val/labels/{stem}.txt")).is_file());
    }
    assert!(!a.path().join("images").exists());
    assert_eq!(
        data_yaml::read_names(&a.path().join("data.yaml")).unwrap(),
        omni_trainer::dataset::DAMAGE_CLASSES
    );
    // Adding images and re-splitting never moves the ones already placed.
    let before_val = listing(a.path(), "val");
    for i in 60..90 {
        write(&a.path().join(format!("images/p{i}.jpg")), jpeg(24, 24, i));
        write(&a.path().join(format!("labels/p{i}.txt")), "");
    }
    split::split(a.path(), None, 0.2).unwrap();
    let after_val = listing(a.path(), "val");
    assert!(before_val.iter().all(|n| after_val.contains(n)));
    assert!(validate(a.path(), &|_, _| {}).unwrap().ok());
    assert!(split::split(a.path(), None, 1.5).is_err());
}

fn roboflow_export(root: &Path, names: &str, extra_line: Option<&str>) {
    write(
        &root.join("data.yaml"),
        format!(
            "train: ../train/images\nval: ../valid/images\n\nnc: 3\nnames: {names}\n\nroboflow:\n  workspace: omni\n  version: 3\n"
        ),
    );
    for (split, seeds) in [("train", 0..4u32), ("valid", 10..12u32)] {
        for i in seeds {
            write(
                &root.join(format!("{split}/images/r{i}_jpg.rf.abc.jpg")),
                jpeg(30, 20, i),
            );
            let mut text = format!("{} 0.4 0.4 0.2 0.2\n", i % 3);
            if let (Some(line), 0) = (extra_line, i) {
                text.push_str(line);
            }
            write(
                &root.join(format!("{split}/labels/r{i}_jpg.rf.abc.txt")),
                text,
            );
        }
    }
}

#[test]
fn roboflow_zip_is_imported_with_classes_remapped() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    roboflow_export(&export, "['Scratch', 'dent', 'RUST']", None);
    // Zip it under a top-level folder, as downloads often are.
    let zip_path = dir.path().join("export.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    for entry in walk(&export) {
        let rel = entry.strip_prefix(&export).unwrap().display().to_string();
        zip.start_file(
            format!("omni-3/{rel}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&entry).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    let out = dir.path().join("out");
    let summary = roboflow::import(&zip_path, &out, &BTreeMap::new()).unwrap();
    assert_eq!(summary.images["train"], 4);
    assert_eq!(summary.images["val"], 2);
    assert_eq!(summary.classes["Scratch"], "scratch");
    // r1: their class 1 (dent) -> ours 0; r2: their 2 (RUST) -> ours 2; r0: Scratch -> 3.
    let line = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert!(line("train/labels/r1_jpg.rf.abc.txt").starts_with("0 0.4"));
    assert!(line("train/labels/r2_jpg.rf.abc.txt").starts_with("2 0.4"));
    assert!(line("train/labels/r0_jpg.rf.abc.txt").starts_with("3 0.4"));
    assert!(validate(&out, &|_, _| {}).unwrap().ok());
}

#[test]
fn roboflow_unknown_classes_and_polygons_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    roboflow_export(&export, "[dent, corrosion, hole]", None);
    let out = dir.path().join("out");
    let err = roboflow::import(&export, &out, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("corrosion") && err.contains("hole"), "{err}");
    assert!(!out.exists(), "nothing written on refusal");
    // Renamed, it imports.
    let renames = omni_trainer::dataset::class_map::parse_renames(&[
        "corrosion=rust".into(),
        "hole=dent".into(),
    ])
    .unwrap();
    roboflow::import(&export, &out, &renames).unwrap();

    let export2 = dir.path().join("export2");
    roboflow_export(
        &export2,
        "[dent, rust, mold]",
        Some("1 0.1 0.1 0.2 0.1 0.2 0.2\n"),
    );
    let err = roboflow::import(&export2, &dir.path().join("out2"), &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("r0_jpg.rf.abc.txt:2") && err.contains("7"),
        "{err}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn groundtruth_manifest_is_converted_to_yolo() {
    let dir = tempfile::tempdir().unwrap();
    let images = dir.path().join("photos");
    write(&images.join("c1.jpg"), jpeg(200, 100, 1));
    write(&images.join("c2.jpg"), jpeg(200, 100, 2));
    let meta = r#""labels-metadata": {"class-map": {"0": "Rust", "1": "dent"}, "type": "groundtruth/object-detection", "human-annotated": "yes"}"#;
    let manifest = dir.path().join("output.manifest");
    write(
        &manifest,
        format!(
            "{{\"source-ref\": \"s3://b/photos/c1.jpg\", \"labels\": {{\"image_size\": [{{\"width\": 200, \"height\": 100, \"depth\": 3}}], \"annotations\": [{{\"class_id\": 0, \"left\": 20, \"top\": 10, \"width\": 40, \"height\": 20}}, {{\"class_id\": 1, \"left\": 190, \"top\": 90, \"width\": 20, \"height\": 20}}]}}, {meta}}}\n\
             {{\"source-ref\": \"s3://b/photos/c2.jpg\", \"labels\": {{\"image_size\": [{{\"width\": 200, \"height\": 100, \"depth\": 3}}], \"annotations\": []}}, {meta}}}\n"
        ),
    );
    let out = dir.path().join("pool");
    let summary =
        groundtruth::import(&manifest, Some(&images), &out, None, &BTreeMap::new()).unwrap();
    assert_eq!(
        (summary.images, summary.boxes, summary.negatives),
        (2, 2, 1)
    );
    let labels = std::fs::read_to_string(out.join("labels/c1.txt")).unwrap();
    let lines: Vec<&str> = labels.lines().collect();
    assert_eq!(lines[0], "2 0.200000 0.200000 0.200000 0.200000");
    // Overhanging box clipped to the image: x 190..200, y 90..100.
    assert_eq!(lines[1], "0 0.975000 0.950000 0.050000 0.100000");
    assert_eq!(
        std::fs::read_to_string(out.join("labels/c2.txt")).unwrap(),
        ""
    );
    split::split(&out, None, 0.5).unwrap();
    assert!(validate(&out, &|_, _| {}).unwrap().ok());

    // An unknown class is refused, naming it and the line.
    let bad = dir.path().join("bad.manifest");
    write(
        &bad,
        std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("\"Rust\"", "\"graffiti\""),
    );
    let err = groundtruth::import(
        &bad,
        Some(&images),
        &dir.path().join("pool2"),
        None,
        &BTreeMap::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("bad.manifest:1") && err.contains("graffiti"),
        "{err}"
    );
}
