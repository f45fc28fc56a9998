use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::dataset::DAMAGE_CLASSES;
use crate::dataset::labels::MIN_SIDE;

/// One generated box, in pixels, as Ground Truth writes it.
#[derive(Clone, Debug)]
struct GtBox {
    /// Index into the record's class-map.
    tool: usize,
    left: f64,
    top: f64,
    width: f64,
    height: f64,
    /// `"class_id": "1"` instead of `"class_id": 1`.
    id_as_string: bool,
}

/// One generated manifest line.
#[derive(Clone, Debug)]
struct GtRecord {
    /// `s3://bucket/<key>`.
    source: String,
    key: String,
    /// The class-map: the tool's name (any case, padded) and our id it means.
    names: Vec<(String, usize)>,
    /// The tool's id of class-map entry `i` is `i + id_offset`.
    id_offset: usize,
    width: f64,
    height: f64,
    boxes: Vec<GtBox>,
}

impl GtRecord {
    fn tool_id(&self, i: usize) -> String {
        (i + self.id_offset).to_string()
    }

    fn to_json(&self, attr: &str) -> Value {
        let class_map: serde_json::Map<String, Value> = self
            .names
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (self.tool_id(i), json!(name)))
            .collect();
        let annotations: Vec<Value> = self
            .boxes
            .iter()
            .map(|b| {
                let id = self.tool_id(b.tool);
                let class_id = if b.id_as_string {
                    json!(id)
                } else {
                    json!(id.parse::<u64>().unwrap())
                };
                json!({"class_id": class_id, "left": b.left, "top": b.top,
                       "width": b.width, "height": b.height})
            })
            .collect();
        let mut record = serde_json::Map::new();
        record.insert("source-ref".into(), json!(self.source));
        record.insert(
            attr.into(),
            json!({"image_size": [{"width": self.width, "height": self.height, "depth": 3}],
                   "annotations": annotations}),
        );
        record.insert(
            format!("{attr}-metadata"),
            json!({"class-map": class_map, "type": "groundtruth/object-detection",
                   "human-annotated": "yes", "job-name": "labeling-job/x"}),
        );
        Value::Object(record)
    }

    /// Our YOLO lines for this record: each box clipped to the image, then
    /// normalised, with our class id.
    fn expected(&self) -> Vec<LabelLine> {
        let (w, h) = (self.width, self.height);
        self.boxes
            .iter()
            .map(|b| {
                let (x1, x2) = (b.left.max(0.0).min(w), (b.left + b.width).max(0.0).min(w));
                let (y1, y2) = (b.top.max(0.0).min(h), (b.top + b.height).max(0.0).min(h));
                LabelLine {
                    class_id: self.names[b.tool].1 as u32,
                    cx: (x1 + x2) / 2.0 / w,
                    cy: (y1 + y2) / 2.0 / h,
                    w: (x2 - x1) / w,
                    h: (y2 - y1) / h,
                }
            })
            .collect()
    }
}

/// One of our class names as a tool may spell it (case, padding).
fn class_name() -> impl Strategy<Value = (String, usize)> {
    (0..DAMAGE_CLASSES.len(), 0u8..4).prop_map(|(id, style)| {
        let ours = DAMAGE_CLASSES[id];
        let name = match style {
            0 => ours.to_owned(),
            1 => ours.to_ascii_uppercase(),
            2 => ours[..1].to_ascii_uppercase() + &ours[1..],
            _ => format!(" {ours} "),
        };
        (name, id)
    })
}

/// A box inside the image (normalised left in [0, 0.9), side at least 0.1 % of the
/// image), possibly overhanging by up to 2 pixels as Ground Truth boxes may.
fn gt_box(width: f64, height: f64, classes: usize) -> impl Strategy<Value = GtBox> {
    (
        0..classes,
        (0.0..0.9f64, 0.01..=1.0f64, 0.0..2.0f64, 0.0..2.0f64),
        (0.0..0.9f64, 0.01..=1.0f64, 0.0..2.0f64, 0.0..2.0f64),
        any::<bool>(),
    )
        .prop_map(
            move |(tool, (x, fw, ox1, ox2), (y, fh, oy1, oy2), id_as_string)| {
                let (bw, bh) = (fw * (1.0 - x) * width, fh * (1.0 - y) * height);
                GtBox {
                    tool,
                    left: x * width - ox1,
                    top: y * height - oy1,
                    width: bw + ox1 + ox2,
                    height: bh + oy1 + oy2,
                    id_as_string,
                }
            },
        )
}

fn record() -> impl Strategy<Value = GtRecord> {
    (
        prop::sample::select(vec!["site-a", "site-b", "photos/2024/07"]),
        0u32..3,
        prop::sample::select(vec!["jpg", "JPG", "png"]),
        proptest::collection::vec(class_name(), 1..5),
        0usize..10,
        prop_oneof![(1u32..5000).prop_map(f64::from), 1.0..5000.0f64],
        prop_oneof![(1u32..5000).prop_map(f64::from), 1.0..5000.0f64],
    )
        .prop_flat_map(|(site, n, ext, names, id_offset, width, height)| {
            let classes = names.len();
            let key = format!("{site}/IMG_{n:04}.{ext}");
            (
                Just(GtRecord {
                    source: format!("s3://bucket/{key}"),
                    key,
                    names,
                    id_offset,
                    width,
                    height,
                    boxes: Vec::new(),
                }),
                proptest::collection::vec(gt_box(width, height, classes), 0..5),
            )
        })
        .prop_map(|(record, boxes)| GtRecord { boxes, ..record })
}

/// Distinct images (a repeated key is dropped).
fn records() -> impl Strategy<Value = Vec<GtRecord>> {
    proptest::collection::vec(record(), 1..5).prop_map(|records| {
        let mut seen = BTreeSet::new();
        records
            .into_iter()
            .filter(|r| seen.insert(r.key.clone()))
            .collect()
    })
}

/// A temporary manifest directory `m/`, image directory `images/` (laid out as the
/// bucket) and output `out` (not created).
struct Layout {
    _tmp: tempfile::TempDir,
    manifest: PathBuf,
    images: PathBuf,
    out: PathBuf,
}

fn layout(records: &[GtRecord]) -> Layout {
    let tmp = tempfile::tempdir().unwrap();
    let (m, images) = (tmp.path().join("m"), tmp.path().join("images"));
    std::fs::create_dir_all(&m).unwrap();
    for r in records {
        let file = images.join(&r.key);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, r.source.as_bytes()).unwrap();
    }
    Layout {
        manifest: m.join("output.manifest"),
        images,
        out: tmp.path().join("out"),
        _tmp: tmp,
    }
}

/// Writes `lines` with `blank[i]` blank lines before line `i`; returns the 1-based
/// line number of each.
fn write_manifest(path: &Path, lines: &[String], blank: &[(usize, bool)]) -> Vec<usize> {
    let mut text = String::new();
    let mut numbers = Vec::new();
    let mut number = 0;
    for (i, line) in lines.iter().enumerate() {
        let (blanks, spaces) = blank.get(i).copied().unwrap_or((0, false));
        for _ in 0..blanks {
            text.push_str(if spaces { " \t\n" } else { "\n" });
            number += 1;
        }
        text.push_str(line);
        text.push('\n');
        number += 1;
        numbers.push(number);
    }
    std::fs::write(path, text).unwrap();
    numbers
}

/// Whether `err` names `manifest`'s line `line`: an input error prefixed
/// `<manifest>:<line>: `, or an unsafe source-ref on that line.
fn names_line(err: &TrainerError, manifest: &Path, line: usize) -> bool {
    match err {
        TrainerError::Input(m) => m.starts_with(&format!("{}:{line}: ", manifest.display())),
        TrainerError::Unsafe(UnsafeInput::SourceRef {
            line: l,
            manifest: m,
            ..
        })
        | TrainerError::Unsafe(UnsafeInput::AmbiguousSource {
            line: l,
            manifest: m,
            ..
        }) => *l == line && m == manifest,
        _ => false,
    }
}

/// Arbitrary JSON, biased to the manifest's keys so that the parser gets deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        (-3i64..3000).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "groundtruth/object-detection",
            "dent",
            "Rust",
            "s3://b/x.jpg",
            "s3://b/../x.jpg",
            "/etc/hostname",
            "..",
            "0",
        ])
        .prop_map(Value::from),
        // Not a path naming a directory: see `any_manifest_lines`.
        ".{0,8}"
            .prop_filter("names the manifest's directory", |s| {
                !s.split('/').all(|c| c.is_empty() || c == ".")
            })
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(
                prop::sample::select(vec![
                    "source-ref",
                    "labels",
                    "labels-metadata",
                    "class-map",
                    "type",
                    "image_size",
                    "annotations",
                    "width",
                    "height",
                    "class_id",
                    "left",
                    "top",
                    "0",
                    "1",
                    "x",
                ])
                .prop_map(str::to_owned),
                inner,
                0..6,
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(omni_e2e::proptest_cases(64))]

    /// Arbitrary JSON lines (and non-JSON text) never panic the import; a refusal
    /// names the manifest line at fault and leaves no output behind.
    #[test]
    fn any_manifest_lines_are_imported_or_refused_with_their_line(
        lines in proptest::collection::vec(
            prop_oneof![
                4 => json().prop_map(|v| v.to_string()),
                1 => ".{0,30}",
            ],
            1..4,
        ),
        attribute in prop_oneof![Just(None), Just(Some("labels"))],
    ) {
        // The manifest's directory doubles as the image directory (the default); a
        // source-ref naming that directory itself ("", ".") is left out: it fails
        // at the copy with an I/O error that has no line number (reported).
        let lines: Vec<String> = lines.into_iter().map(|l| l.replace('\n', " ")).collect();
        let tmp = tempfile::tempdir().unwrap();
        let manifest = tmp.path().join("output.manifest");
        std::fs::write(tmp.path().join("x.jpg"), b"jpg").unwrap();
        let out = tmp.path().join("out");
        let numbers = write_manifest(&manifest, &lines, &[]);
        match import(&manifest, None, &out, attribute, &BTreeMap::new()) {
            Ok(summary) => {
                prop_assert!(out.is_dir());
                let records = lines.iter().filter(|l| !l.trim().is_empty()).count();
                prop_assert_eq!(summary.images, records);
            }
            Err(err) => {
                prop_assert!(
                    numbers.iter().any(|n| names_line(&err, &manifest, *n)),
                    "{:?}", err
                );
                prop_assert!(!out.exists());
            }
        }
    }

    /// A generated valid manifest (blank lines anywhere, class names in any case,
    /// string or numeric class ids, boxes overhanging by a pixel, photos of one name
    /// from several folders) imports to exactly its images and boxes: one image file
    /// each with its own content, and label lines equal to the boxes clipped to the
    /// image and normalised (within the 6-decimal rounding).
    #[test]
    fn a_valid_manifest_imports_to_exactly_its_boxes(
        records in records(),
        attr in prop::sample::select(vec!["labels", "bounding-box", "job-7-ref"]),
        name_attribute in any::<bool>(),
        blank in proptest::collection::vec((0usize..3, any::<bool>()), 0..5),
    ) {
        let dirs = layout(&records);
        let lines: Vec<String> = records.iter().map(|r| r.to_json(attr).to_string()).collect();
        write_manifest(&dirs.manifest, &lines, &blank);
        let summary = import(
            &dirs.manifest,
            Some(&dirs.images),
            &dirs.out,
            name_attribute.then_some(attr),
            &BTreeMap::new(),
        );
        prop_assert!(summary.is_ok(), "{:?}", summary);
        let summary = summary.unwrap();
        prop_assert_eq!(summary.images, records.len());
        prop_assert_eq!(summary.boxes, records.iter().map(|r| r.boxes.len()).sum::<usize>());
        prop_assert_eq!(summary.negatives, records.iter().filter(|r| r.boxes.is_empty()).count());
        prop_assert_eq!(std::fs::read_dir(dirs.out.join("images")).unwrap().count(), records.len());
        for r in &records {
            let (stem, file_name) = output_name(&r.source);
            let image = std::fs::read(dirs.out.join("images").join(&file_name)).unwrap();
            prop_assert_eq!(image, r.source.as_bytes().to_vec());
            let text = std::fs::read_to_string(dirs.out.join("labels").join(format!("{stem}.txt"))).unwrap();
            let got: Vec<LabelLine> = text
                .lines()
                .map(|l| LabelLine::parse(l, DAMAGE_CLASSES.len()).unwrap())
                .collect();
            let expected = r.expected();
            prop_assert_eq!(got.len(), expected.len());
            for (g, e) in got.iter().zip(&expected) {
                prop_assert_eq!(g.class_id, e.class_id);
                for (a, b) in [(g.cx, e.cx), (g.cy, e.cy), (g.w, e.w), (g.h, e.h)] {
                    prop_assert!((a - b).abs() <= 5e-7 + 1e-9, "{:?} vs {:?}", g, e);
                }
                prop_assert!(e.w >= MIN_SIDE && e.h >= MIN_SIDE);
            }
        }
    }

    /// One malformed line in a valid manifest is refused with an error naming that
    /// line (its physical number, blank lines counted), of the type its fault calls
    /// for (`UnsafeInput` for a `..` key, a file outside the directories and two
    /// references to one file; an input error otherwise), and nothing is written.
    #[test]
    fn a_malformed_line_is_refused_with_its_line_number(
        records in records(),
        at in any::<prop::sample::Index>(),
        fault in 0u8..15,
        attr in prop::sample::select(vec!["labels", "bounding-box"]),
        name_attribute in any::<bool>(),
        blank in proptest::collection::vec((0usize..3, any::<bool>()), 0..5),
    ) {
        let dirs = layout(&records);
        let outside = dirs.manifest.parent().unwrap().parent().unwrap().join("secret.jpg");
        std::fs::write(&outside, b"not yours").unwrap();
        let at = at.index(records.len());
        let mut lines: Vec<String> = records.iter().map(|r| r.to_json(attr).to_string()).collect();
        let r = &records[at];
        let mut record = r.to_json(attr);
        let meta = format!("{attr}-metadata");
        // A fault that needs an earlier line (two references to one file) falls back
        // to a missing image on the first line.
        let fault = if fault == 14 && at == 0 { 12 } else { fault };
        let unsafe_input = matches!(fault, 11 | 13 | 14);
        match fault {
            0 => {
                let text = record.to_string();
                lines[at] = text[..text.len() - 1].to_owned();
            }
            1 => {
                record.as_object_mut().unwrap().remove("source-ref");
            }
            2 => record["source-ref"] = json!(7),
            3 => {
                record.as_object_mut().unwrap().remove(&meta);
            }
            4 => record[&meta]["class-map"][r.tool_id(0)] = json!(0),
            5 => record[&meta]["class-map"][r.tool_id(0)] = json!("corrosion"),
            6 => record[attr]["image_size"][0]["width"] = json!(0),
            7 => record[attr]["annotations"] = json!({"class_id": 0}),
            8 => {
                record[attr]["annotations"] = json!([{"class_id": r.id_offset, "left": "1",
                                                      "top": 0, "width": 1, "height": 1}]);
            }
            9 => {
                record[attr]["annotations"] = json!([{"class_id": r.id_offset + r.names.len(),
                                                      "left": 0, "top": 0, "width": 1, "height": 1}]);
            }
            10 => {
                record[attr]["annotations"] = json!([{"class_id": r.id_offset, "left": r.width + 5.0,
                                                      "top": 0, "width": 10, "height": 1}]);
            }
            11 => record["source-ref"] = json!(format!("s3://bucket/../{}", r.key)),
            12 => record["source-ref"] = json!("s3://bucket/missing/IMG_9999.jpg"),
            13 => record["source-ref"] = json!(outside.display().to_string()),
            _ => record["source-ref"] = json!(format!("s3://other-bucket/{}", records[0].key)),
        }
        if fault != 0 {
            lines[at] = record.to_string();
        }
        let numbers = write_manifest(&dirs.manifest, &lines, &blank);
        let refused = import(
            &dirs.manifest,
            Some(&dirs.images),
            &dirs.out,
            name_attribute.then_some(attr),
            &BTreeMap::new(),
        );
        prop_assert!(refused.is_err(), "fault {} accepted", fault);
        let err = refused.unwrap_err();
        prop_assert!(names_line(&err, &dirs.manifest, numbers[at]), "fault {}: {:?}", fault, err);
        prop_assert_eq!(matches!(err, TrainerError::Unsafe(_)), unsafe_input, "fault {}: {:?}", fault, err);
        prop_assert!(!dirs.out.exists());
    }
}
