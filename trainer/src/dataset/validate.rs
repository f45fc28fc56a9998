//! `dataset validate`: every rule a YOLO data set must pass before it is uploaded, with a
//! report of counts per class and every problem with its file and line.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::labels::{LabelLine, LineError};
use super::{DAMAGE_CLASSES, SPLIT_NAMES, data_yaml, hex, is_image, list_files};
use crate::Progress;
use crate::error::Result;

/// The rule a problem breaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// No `train/images` or no `val/images` (or no split at all), or an unreadable directory.
    Layout,
    /// `data.yaml` missing names or with names other than ours.
    DataYaml,
    /// A file in `images/` that is not a JPEG or PNG.
    UnsupportedFile,
    /// An image without a label file (an explicit negative has an empty one).
    MissingLabel,
    /// A label file without its image.
    OrphanLabel,
    /// A label line that is not `class cx cy w h`.
    Syntax,
    /// A class id outside 0..6.
    ClassOutOfRange,
    /// A coordinate outside [0, 1].
    NotNormalised,
    /// A box of zero (or negative) width or height.
    Degenerate,
    /// The same image (by SHA-256) in two splits.
    DuplicateAcrossSplits,
    /// An image that does not decode.
    Undecodable,
}

/// One problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Problem {
    /// The rule broken.
    pub rule: Rule,
    /// The file.
    pub file: PathBuf,
    /// 1-based line in a label file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Counts of one split.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SplitCounts {
    /// Images.
    pub images: usize,
    /// Images with an empty label file (explicit negatives).
    pub negatives: usize,
    /// Boxes per class name.
    pub instances: BTreeMap<String, usize>,
}

/// The validation report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The data set.
    pub root: PathBuf,
    /// Counts per split directory name.
    pub splits: BTreeMap<String, SplitCounts>,
    /// Boxes per class over all splits (every class listed, zero included).
    pub instances: BTreeMap<String, usize>,
    /// Every problem, by file then line.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether the data set passed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Validates the data set at `root`. `progress(done, total)` is called per image.
pub fn validate(root: &Path, progress: &Progress<'_>) -> Result<Report> {
    let mut problems = Vec::new();
    let mut splits = BTreeMap::new();
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    let mut labelled: Vec<(String, PathBuf, PathBuf)> = Vec::new();

    let yaml = root.join("data.yaml");
    if yaml.is_file() {
        match data_yaml::read_names(&yaml) {
            Ok(names) if names == DAMAGE_CLASSES => {}
            Ok(names) => problems.push(Problem {
                rule: Rule::DataYaml,
                file: yaml.clone(),
                line: None,
                message: format!("names {names:?} must be exactly {DAMAGE_CLASSES:?}"),
            }),
            Err(e) => problems.push(Problem {
                rule: Rule::DataYaml,
                file: yaml.clone(),
                line: None,
                message: e.to_string(),
            }),
        }
    }
    let present: Vec<&str> = SPLIT_NAMES
        .iter()
        .copied()
        .filter(|s| root.join(s).join("images").is_dir())
        .collect();
    if !present.contains(&"train") {
        problems.push(Problem {
            rule: Rule::Layout,
            file: root.join("train/images"),
            line: None,
            message: "no train/images directory (expected <split>/images and <split>/labels)"
                .into(),
        });
    }
    if present.contains(&"train") && !present.iter().any(|s| matches!(*s, "val" | "valid")) {
        // train.py evaluates every epoch and the exported models on val: a set without one
        // would start a paid job that fails, and `publish` has nothing to gate on.
        problems.push(Problem {
            rule: Rule::Layout,
            file: root.join("val/images"),
            line: None,
            message: format!(
                "no val/images directory: training and publish evaluate on it (omni-trainer dataset split {})",
                root.display()
            ),
        });
    }
    for split in &present {
        let dir = root.join(split);
        let image_files = list_files(&dir.join("images"))?;
        let label_files = list_files(&dir.join("labels"))?;
        let mut stems = HashMap::new();
        for image in image_files {
            if !is_image(&image) {
                problems.push(Problem {
                    rule: Rule::UnsupportedFile,
                    file: image,
                    line: None,
                    message: "not a .jpg, .jpeg or .png image".into(),
                });
                continue;
            }
            let stem = image
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let label = dir.join("labels").join(format!("{stem}.txt"));
            stems.insert(stem, ());
            if label.is_file() {
                labelled.push(((*split).to_owned(), image.clone(), label));
            } else {
                problems.push(Problem {
                    rule: Rule::MissingLabel,
                    file: image.clone(),
                    line: None,
                    message: format!(
                        "no label file {} (an image without damage needs an empty one)",
                        label.display()
                    ),
                });
            }
            images.push(((*split).to_owned(), image));
        }
        for label in label_files {
            let stem = label
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let is_txt = label.extension().is_some_and(|e| e == "txt");
            if !is_txt || !stems.contains_key(&stem) {
                problems.push(Problem {
                    rule: Rule::OrphanLabel,
                    file: label,
                    line: None,
                    message: "label file without an image of the same name".into(),
                });
            }
        }
        splits.insert((*split).to_owned(), SplitCounts::default());
    }

    // Labels.
    let mut totals: BTreeMap<String, usize> = DAMAGE_CLASSES
        .iter()
        .map(|c| ((*c).to_owned(), 0))
        .collect();
    for (split, _image, label) in &labelled {
        let counts = splits.entry(split.clone()).or_default();
        let text = match std::fs::read_to_string(label) {
            Ok(t) => t,
            Err(e) => {
                problems.push(Problem {
                    rule: Rule::Syntax,
                    file: label.clone(),
                    line: None,
                    message: format!("unreadable: {e}"),
                });
                continue;
            }
        };
        let mut boxes = 0;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match LabelLine::parse(line, DAMAGE_CLASSES.len()) {
                Ok(l) => {
                    boxes += 1;
                    let name = DAMAGE_CLASSES[l.class_id as usize].to_owned();
                    *counts.instances.entry(name.clone()).or_default() += 1;
                    *totals.entry(name).or_default() += 1;
                }
                Err(e) => problems.push(Problem {
                    rule: match e {
                        LineError::Syntax(_) => Rule::Syntax,
                        LineError::ClassOutOfRange { .. } => Rule::ClassOutOfRange,
                        LineError::NotNormalised(_) => Rule::NotNormalised,
                        LineError::Degenerate { .. } => Rule::Degenerate,
                    },
                    file: label.clone(),
                    line: Some(i + 1),
                    message: e.to_string(),
                }),
            }
        }
        if boxes == 0 && text.trim().is_empty() {
            counts.negatives += 1;
        }
    }

    // Images: hash and decode, in parallel.
    let hashed = hash_and_decode(&images, progress);
    let mut by_hash: HashMap<String, Vec<(String, PathBuf)>> = HashMap::new();
    for (split, image, outcome) in hashed {
        if let Some(counts) = splits.get_mut(&split) {
            counts.images += 1;
        }
        match outcome {
            Ok(hash) => by_hash.entry(hash).or_default().push((split, image)),
            Err(message) => problems.push(Problem {
                rule: Rule::Undecodable,
                file: image,
                line: None,
                message,
            }),
        }
    }
    for (hash, copies) in by_hash {
        let first_split = &copies[0].0;
        if copies.iter().any(|(s, _)| s != first_split) {
            let names: Vec<String> = copies
                .iter()
                .map(|(_, p)| p.display().to_string())
                .collect();
            for (_, path) in &copies {
                problems.push(Problem {
                    rule: Rule::DuplicateAcrossSplits,
                    file: path.clone(),
                    line: None,
                    message: format!(
                        "same image (sha256 {}…) in several splits: {}",
                        &hash[..12],
                        names.join(", ")
                    ),
                });
            }
        }
    }
    problems.sort_by(|a, b| (&a.file, a.line, a.rule).cmp(&(&b.file, b.line, b.rule)));
    for counts in splits.values_mut() {
        for class in DAMAGE_CLASSES {
            counts.instances.entry(class.to_owned()).or_default();
        }
    }
    Ok(Report {
        root: root.to_owned(),
        splits,
        instances: totals,
        problems,
    })
}

type Hashed = (String, PathBuf, Result<String, String>);

fn hash_and_decode(images: &[(String, PathBuf)], progress: &Progress<'_>) -> Vec<Hashed> {
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let out = Mutex::new(Vec::with_capacity(images.len()));
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((split, path)) = images.get(i) else {
                        break;
                    };
                    let outcome = std::fs::read(path)
                        .map_err(|e| format!("unreadable: {e}"))
                        .and_then(|bytes| {
                            omni_photo::decode::decode_oriented(&bytes)
                                .map_err(|e| format!("does not decode: {e}"))?;
                            Ok(hex(&Sha256::digest(&bytes)))
                        });
                    if let Ok(mut out) = out.lock() {
                        out.push((split.clone(), path.clone(), outcome));
                    }
                    progress(
                        done.fetch_add(1, Ordering::Relaxed) + 1,
                        images.len() as u64,
                    );
                }
            });
        }
    });
    let mut out = out.into_inner().unwrap_or_default();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[cfg(test)]
mod tests {
    mod properties {
        use std::path::Path;

        use proptest::prelude::*;

        use super::super::*;
        use crate::dataset::data_yaml;
        use crate::dataset::labels::MIN_SIDE;

        /// One line of a generated label file.
        #[derive(Clone, Debug)]
        enum Line {
            /// A valid box of this class.
            Valid(String, usize),
            /// An empty or whitespace-only line (skipped).
            Blank(String),
            /// A line breaking this rule.
            Bad(String, Rule),
        }

        fn line() -> impl Strategy<Value = Line> {
            // Bounds included: a uniform draw never hits them.
            let coord = || prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64];
            let side = || prop_oneof![Just(MIN_SIDE), Just(1.0), MIN_SIDE..=1.0f64];
            prop_oneof![
                6 => (0..DAMAGE_CLASSES.len(), coord(), coord(), side(), side())
                    .prop_map(|(c, x, y, w, h)| Line::Valid(format!("{c} {x} {y} {w} {h}"), c)),
                2 => "[ \t]{0,3}".prop_map(Line::Blank),
                1 => prop_oneof![Just(6u32), 6u32..=u32::MAX]
                    .prop_map(|c| Line::Bad(format!("{c} 0.5 0.5 0.1 0.1"), Rule::ClassOutOfRange)),
                1 => (0usize..4, prop_oneof![
                    Just(1.0 + f64::EPSILON),
                    Just(-f64::MIN_POSITIVE),
                    -1e3..-1e-9f64,
                    (1.0 + 1e-9)..1e3f64,
                ]).prop_map(|(i, v)| {
                    let mut f = ["0.5"; 4].map(str::to_owned);
                    f[i] = v.to_string();
                    Line::Bad(format!("1 {}", f.join(" ")), Rule::NotNormalised)
                }),
                1 => prop_oneof![Just(0.0), Just(f64::from_bits(MIN_SIDE.to_bits() - 1)), 0.0..MIN_SIDE].prop_map(|w| Line::Bad(format!("2 0.5 0.5 {w} 0.1"), Rule::Degenerate)),
                1 => prop_oneof![
                    Just("0 NaN 0.5 0.1 0.1"),
                    Just("0 0.5 inf 0.1 0.1"),
                    Just("0 0.5 0.5 0.1"),
                    Just("0 0.5 0.5 0.1 0.1 7"),
                    Just("dent 0.5 0.5 0.1 0.1"),
                    Just("-1 0.5 0.5 0.1 0.1"),
                ]
                .prop_map(|t| Line::Bad(t.to_owned(), Rule::Syntax)),
            ]
        }

        /// A `side`x`side` PNG (validation decodes every image).
        fn png(side: u32) -> Vec<u8> {
            let mut bytes = std::io::Cursor::new(Vec::new());
            image::RgbImage::new(side, side)
                .write_to(&mut bytes, image::ImageFormat::Png)
                .unwrap();
            bytes.into_inner()
        }

        fn write_dataset(root: &Path, text: &str) -> std::path::PathBuf {
            data_yaml::write(root, false).unwrap();
            let split = root.join("train");
            std::fs::create_dir_all(split.join("images")).unwrap();
            std::fs::create_dir_all(split.join("labels")).unwrap();
            std::fs::write(split.join("images/img.png"), png(2)).unwrap();
            let label = split.join("labels/img.txt");
            std::fs::write(&label, text).unwrap();
            // The val split training needs: one negative (another image: a copy would be a
            // duplicate across splits).
            let val = root.join("val");
            std::fs::create_dir_all(val.join("images")).unwrap();
            std::fs::create_dir_all(val.join("labels")).unwrap();
            std::fs::write(val.join("images/neg.png"), png(3)).unwrap();
            std::fs::write(val.join("labels/neg.txt"), "").unwrap();
            label
        }

        proptest! {
            #![proptest_config(omni_e2e::proptest_cases(64))]

            /// Every bad line of a label file is reported, with its file, its 1-based line
            /// number (blank lines counted) and the rule it breaks, and nothing else is;
            /// the valid boxes are counted per class.
            #[test]
            fn every_bad_label_line_is_reported_with_its_line_and_rule(
                lines in proptest::collection::vec(line(), 0..12),
                crlf in any::<bool>(),
            ) {
                let tmp = tempfile::tempdir().unwrap();
                let end = if crlf { "\r\n" } else { "\n" };
                let text: String = lines
                    .iter()
                    .map(|l| match l {
                        Line::Valid(t, _) | Line::Blank(t) | Line::Bad(t, _) => format!("{t}{end}"),
                    })
                    .collect();
                let label = write_dataset(tmp.path(), &text);
                let report = validate(tmp.path(), &|_, _| {}).unwrap();
                let got: Vec<(&Path, Option<usize>, Rule)> = report
                    .problems
                    .iter()
                    .map(|p| (p.file.as_path(), p.line, p.rule))
                    .collect();
                let expected: Vec<(&Path, Option<usize>, Rule)> = lines
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| match l {
                        Line::Bad(_, rule) => Some((label.as_path(), Some(i + 1), *rule)),
                        _ => None,
                    })
                    .collect();
                prop_assert_eq!(&got, &expected);
                prop_assert_eq!(report.ok(), expected.is_empty());
                for (id, class) in DAMAGE_CLASSES.iter().enumerate() {
                    let n = lines.iter().filter(|l| matches!(l, Line::Valid(_, c) if *c == id)).count();
                    prop_assert_eq!(report.instances[*class], n, "{}", class);
                }
                let negative = lines.iter().all(|l| matches!(l, Line::Blank(_)));
                prop_assert_eq!(report.splits["train"].negatives, usize::from(negative));
            }
        }

        /// A set with train but no val (a Roboflow export without a valid split) is refused
        /// before upload: train.py would fail on the paid instance.
        #[test]
        fn a_set_without_val_is_a_layout_problem() {
            let tmp = tempfile::tempdir().unwrap();
            write_dataset(tmp.path(), "0 0.5 0.5 0.2 0.2\n");
            assert!(validate(tmp.path(), &|_, _| {}).unwrap().ok());
            std::fs::remove_dir_all(tmp.path().join("val")).unwrap();
            let report = validate(tmp.path(), &|_, _| {}).unwrap();
            let problems: Vec<_> = report
                .problems
                .iter()
                .map(|p| (p.rule, p.file.clone()))
                .collect();
            assert_eq!(problems, [(Rule::Layout, tmp.path().join("val/images"))]);
            assert!(report.problems[0].message.contains("dataset split"));
        }
    }
}
