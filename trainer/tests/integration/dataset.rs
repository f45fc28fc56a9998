//! `dataset validate`, `split`, `import-roboflow`, `import-groundtruth` on real files.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use common::{jpeg, png, small_dataset, write};
use omni_trainer::dataset::roboflow::ZipLimits;
use omni_trainer::dataset::validate::{Rule, validate};
use omni_trainer::dataset::{data_yaml, groundtruth, roboflow, split};
use omni_trainer::{TrainerError, UnsafeInput};

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
    let zip_path = dir.path().join("export.zip");
    zip_export(&export, &zip_path, |_| {});
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
    let out2 = dir.path().join("out2");
    let err = roboflow::import(&export2, &out2, &BTreeMap::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("r0_jpg.rf.abc.txt:2") && err.contains("7"),
        "{err}"
    );
    // Refused half-way through the files: the output directory was never created.
    assert_untouched(&out2);
}

/// Zips the export directory under a top-level folder (as downloads often are), then lets
/// `extra` add entries.
pub(crate) fn zip_export(
    export: &Path,
    zip_path: &Path,
    extra: impl FnOnce(&mut zip::ZipWriter<std::fs::File>),
) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(zip_path).unwrap());
    for entry in walk(export) {
        let rel = entry.strip_prefix(export).unwrap().display().to_string();
        zip.start_file(
            format!("omni-3/{rel}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&std::fs::read(&entry).unwrap()).unwrap();
    }
    extra(&mut zip);
    zip.finish().unwrap();
}

/// A refused import left no output directory and no staging directory beside it.
fn assert_untouched(out: &Path) {
    assert!(!out.exists(), "{} was written", out.display());
    let name = out.file_name().unwrap().to_string_lossy().into_owned();
    for entry in std::fs::read_dir(out.parent().unwrap()).unwrap() {
        let entry = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !entry.starts_with(&format!(".{name}.import-")),
            "staging directory {entry} left behind"
        );
    }
}

/// Every file (not a link to one) under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| !p.is_symlink())
        .filter(|p| {
            std::fs::read(p)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
        })
        .collect()
}

#[test]
fn roboflow_symbolic_links_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("credentials");
    write(
        &secret,
        "[default]\naws_secret_access_key = SECRET-KEY-1234\n",
    );
    let export = dir.path().join("export");
    roboflow_export(&export, "[dent, rust, mold]", None);
    // In a zip: an entry whose unix mode says symbolic link, target the secret.
    let zip_path = dir.path().join("export.zip");
    zip_export(&export, &zip_path, |zip| {
        zip.add_symlink(
            "omni-3/train/images/leak.jpg",
            secret.to_str().unwrap(),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
    });
    let out = dir.path().join("out");
    let err = roboflow::import(&zip_path, &out, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::Link { entry, kind: "symbolic link", .. }) if entry == "omni-3/train/images/leak.jpg"),
        "{err:?}"
    );
    assert!(err.to_string().contains("leak.jpg"), "{err}");
    assert_untouched(&out);
    assert_eq!(
        files_containing(dir.path(), b"SECRET-KEY"),
        std::slice::from_ref(&secret),
        "the secret was copied"
    );
    // In an export directory (a zip unpacked by `unzip` keeps its links): refused too.
    std::os::unix::fs::symlink(&secret, export.join("train/images/leak.jpg")).unwrap();
    write(&export.join("train/labels/leak.txt"), "");
    let err = roboflow::import(&export, &out, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::Link { entry, .. }) if entry.ends_with("leak.jpg")),
        "{err:?}"
    );
    assert_untouched(&out);
    // A linked directory (here valid/images -> a folder of private photos): refused too.
    std::fs::remove_file(export.join("train/images/leak.jpg")).unwrap();
    let private = dir.path().join("private");
    write(&private.join("holiday.jpg"), jpeg(30, 20, 99));
    std::fs::remove_dir_all(export.join("valid/images")).unwrap();
    std::os::unix::fs::symlink(&private, export.join("valid/images")).unwrap();
    let err = roboflow::import(&export, &out, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::Link { entry, kind: "file behind a linked directory", .. }) if entry.ends_with("holiday.jpg")),
        "{err:?}"
    );
    assert_untouched(&out);
}

/// A zip of one stored-as-deflate entry of `len` zeros (~1000:1), its declared size in both
/// headers then replaced by `declare` (a lying archive) when given.
fn zip_bomb(path: &Path, len: usize, declare: Option<u32>) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    zip.start_file(
        "omni-3/train/images/bomb.jpg",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    let block = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(block.len());
        zip.write_all(&block[..n]).unwrap();
        left -= n;
    }
    zip.finish().unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    assert!(bytes.len() < len / 100, "not a bomb: {} bytes", bytes.len());
    if let Some(size) = declare {
        // Local header: uncompressed size at +22; central directory header: at +24.
        for (magic, offset) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let at = bytes.windows(4).position(|w| w == magic).unwrap() + offset;
            bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
        }
        std::fs::write(path, bytes).unwrap();
    }
}

#[test]
fn roboflow_zip_bombs_are_refused_by_their_real_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let limits = ZipLimits::default();
    let over = usize::try_from(limits.max_entry_bytes).unwrap() + 1;
    // Honest headers: refused from the declared size.
    let honest = dir.path().join("honest.zip");
    zip_bomb(&honest, over, None);
    let err = roboflow::import(&honest, &out, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::EntryTooLarge { limit, .. }) if *limit == 64 << 20),
        "{err:?}"
    );
    assert_untouched(&out);
    // Headers declaring 1 KiB: refused by the bytes actually decompressed.
    let lying = dir.path().join("lying.zip");
    zip_bomb(&lying, over, Some(1024));
    let err = roboflow::import(&lying, &out, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::EntryTooLarge { entry, .. }) if entry.ends_with("bomb.jpg")),
        "{err:?}"
    );
    assert_untouched(&out);
    // Entries each under the per-entry cap, together over the total cap.
    let small = ZipLimits {
        max_entry_bytes: 2 << 20,
        max_total_bytes: 3 << 20,
        ..ZipLimits::default()
    };
    let many = dir.path().join("many.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&many).unwrap());
    for i in 0..4 {
        zip.start_file(
            format!("omni-3/train/images/z{i}.jpg"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&vec![0u8; 1 << 20]).unwrap();
    }
    zip.finish().unwrap();
    let err = roboflow::import_with_limits(&many, &out, &BTreeMap::new(), &small).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::TooLarge { limit, .. }) if *limit == 3 << 20),
        "{err:?}"
    );
    assert_untouched(&out);
}

#[test]
fn roboflow_zip_with_too_many_entries_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    roboflow_export(&export, "[dent, rust, mold]", None);
    let zip_path = dir.path().join("export.zip");
    zip_export(&export, &zip_path, |_| {});
    let entries = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap())
        .unwrap()
        .len();
    let out = dir.path().join("out");
    let limits = |max_entries| ZipLimits {
        max_entries,
        ..ZipLimits::default()
    };
    let err = roboflow::import_with_limits(&zip_path, &out, &BTreeMap::new(), &limits(entries - 1))
        .unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::TooManyEntries { entries: e, limit, .. }) if *e == entries && *limit == entries - 1),
        "{err:?}"
    );
    assert_untouched(&out);
    // At the cap it imports.
    roboflow::import_with_limits(&zip_path, &out, &BTreeMap::new(), &limits(entries)).unwrap();
    assert!(out.join("data.yaml").is_file());
}

#[test]
fn roboflow_zip_entries_leaving_the_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    roboflow_export(&export, "[dent, rust, mold]", None);
    let marker = format!("omni-escaped-{}.jpg", std::process::id());
    let absolute = dir.path().join("abs").join(&marker);
    for name in [
        format!("omni-3/../../{marker}"),
        format!("omni-3\\..\\..\\{marker}"),
        absolute.display().to_string(),
    ] {
        let zip_path = dir.path().join("export.zip");
        zip_export(&export, &zip_path, |zip| {
            zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(b"escaped").unwrap();
        });
        let out = dir.path().join("out");
        let err = roboflow::import(&zip_path, &out, &BTreeMap::new()).unwrap_err();
        assert!(
            matches!(&err, TrainerError::Unsafe(UnsafeInput::UnsafePath { entry, .. }) if *entry == name),
            "{name}: {err:?}"
        );
        assert_untouched(&out);
        assert!(!absolute.exists());
        for parent in [dir.path().to_owned(), std::env::temp_dir()] {
            assert!(!parent.join(&marker).exists(), "{name} escaped");
        }
        assert!(
            files_containing(dir.path(), b"escaped")
                .iter()
                .all(|p| p.ends_with("export.zip"))
        );
    }
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
    let labels = gt_label(&out, "c1");
    let lines: Vec<&str> = labels.lines().collect();
    assert_eq!(lines[0], "2 0.200000 0.200000 0.200000 0.200000");
    // Overhanging box clipped to the image: x 190..200, y 90..100.
    assert_eq!(lines[1], "0 0.975000 0.950000 0.050000 0.100000");
    assert_eq!(gt_label(&out, "c2"), "");
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

/// The label text of the one imported image named `<stem>-<hash>.*`.
fn gt_label(out: &Path, stem: &str) -> String {
    let found: Vec<_> = std::fs::read_dir(out.join("labels"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.strip_prefix(stem)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|rest| rest.len() == "01234567.txt".len())
        })
        .collect();
    assert_eq!(found.len(), 1, "labels of {stem}: {found:?}");
    std::fs::read_to_string(&found[0]).unwrap()
}

const GT_META: &str = r#""labels-metadata": {"class-map": {"0": "rust", "1": "dent"}, "type": "groundtruth/object-detection"}"#;

/// One manifest line: `source` with one box of `class` at (left, top) 20x10 in a 200x100 image.
fn gt_line(source: &str, class: u32, left: u32, top: u32) -> String {
    format!(
        "{{\"source-ref\": {source:?}, \"labels\": {{\"image_size\": [{{\"width\": 200, \"height\": 100}}], \"annotations\": [{{\"class_id\": {class}, \"left\": {left}, \"top\": {top}, \"width\": 20, \"height\": 10}}]}}, {GT_META}}}\n"
    )
}

#[test]
fn groundtruth_photos_of_the_same_name_in_two_folders_keep_their_own_labels() {
    let dir = tempfile::tempdir().unwrap();
    // The bucket's layout, as `aws s3 sync s3://b/ photos/` makes it.
    let photos = dir.path().join("photos");
    let (a, b) = (jpeg(200, 100, 1), jpeg(200, 100, 2));
    write(&photos.join("site-a/IMG_0001.jpg"), &a);
    write(&photos.join("site-b/IMG_0001.jpg"), &b);
    let manifest = dir.path().join("output.manifest");
    write(
        &manifest,
        gt_line("s3://b/site-a/IMG_0001.jpg", 0, 0, 0)
            + &gt_line("s3://b/site-b/IMG_0001.jpg", 1, 100, 50),
    );
    let out = dir.path().join("pool");
    let summary =
        groundtruth::import(&manifest, Some(&photos), &out, None, &BTreeMap::new()).unwrap();
    assert_eq!((summary.images, summary.boxes), (2, 2));
    let images: Vec<_> = walk(&out.join("images"));
    assert_eq!(images.len(), 2, "{images:?}");
    // Each photo's bytes sit beside its own label: site-a's rust box, site-b's dent box.
    for (bytes, label) in [
        (&a, "2 0.050000 0.050000 0.100000 0.100000"),
        (&b, "0 0.550000 0.550000 0.100000 0.100000"),
    ] {
        let image = images
            .iter()
            .find(|p| std::fs::read(p).unwrap() == *bytes)
            .expect("photo kept");
        let name = image.file_name().unwrap().to_string_lossy();
        assert!(
            name.starts_with("IMG_0001-") && name.ends_with(".jpg"),
            "{name}"
        );
        let text = std::fs::read_to_string(omni_trainer::dataset::label_path_for(image)).unwrap();
        assert_eq!(text.trim(), label, "{name}");
    }
    // The same import again writes the same names (nothing duplicated).
    groundtruth::import(&manifest, Some(&photos), &out, None, &BTreeMap::new()).unwrap();
    assert_eq!(walk(&out.join("images")).len(), 2);

    // A flat directory holding one IMG_0001.jpg cannot tell them apart: refused, not guessed.
    let flat = dir.path().join("flat");
    write(&flat.join("IMG_0001.jpg"), &a);
    let out2 = dir.path().join("pool2");
    let err =
        groundtruth::import(&manifest, Some(&flat), &out2, None, &BTreeMap::new()).unwrap_err();
    assert!(
        matches!(&err, TrainerError::Unsafe(UnsafeInput::AmbiguousSource { line: 2, other, .. }) if other == "s3://b/site-a/IMG_0001.jpg"),
        "{err:?}"
    );
    assert_untouched(&out2);
}

#[test]
fn groundtruth_local_source_refs_outside_the_manifest_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("home/.ssh/id_ed25519.jpg");
    write(&secret, "SECRET-KEY-5678");
    let labeling = dir.path().join("labeling");
    let inside = labeling.join("photos/c1.jpg");
    write(&inside, jpeg(200, 100, 3));
    let manifest = labeling.join("output.manifest");
    let out = dir.path().join("pool");
    // An absolute path inside the manifest's directory is fine (a local labeling job).
    write(&manifest, gt_line(inside.to_str().unwrap(), 0, 0, 0));
    groundtruth::import(&manifest, None, &out, None, &BTreeMap::new()).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    // Outside it: absolute, relative with `..`, an object key with `..`, or a key whose file
    // is a link out; each refused on line 2, after line 1 was imported, and nothing is written.
    std::os::unix::fs::symlink(&secret, labeling.join("photos/leak.jpg")).unwrap();
    for source in [
        secret.to_str().unwrap().to_owned(),
        "../home/.ssh/id_ed25519.jpg".to_owned(),
        "s3://b/../../home/.ssh/id_ed25519.jpg".to_owned(),
        "s3://b/photos/leak.jpg".to_owned(),
    ] {
        write(
            &manifest,
            gt_line(inside.to_str().unwrap(), 0, 0, 0) + &gt_line(&source, 1, 0, 0),
        );
        let err = groundtruth::import(&manifest, None, &out, None, &BTreeMap::new()).unwrap_err();
        assert!(
            matches!(&err, TrainerError::Unsafe(UnsafeInput::SourceRef { line: 2, source_ref, .. }) if *source_ref == source),
            "{source}: {err:?}"
        );
        assert!(err.to_string().contains("output.manifest:2"), "{err}");
        assert_untouched(&out);
        assert_eq!(
            files_containing(dir.path(), b"SECRET-KEY"),
            std::slice::from_ref(&secret)
        );
    }
}
