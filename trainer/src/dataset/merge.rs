//! `dataset merge`: a labelled pool (`images/` + `labels/`, from `labeling import-labelstudio`,
//! `dataset import-roboflow` or `dataset import-groundtruth`) joins the data set, each image in
//! train or val by the content-hash split ([`super::split::goes_to_val`]), so a photo never
//! moves between splits. `dataset.json` versions the data set: every image's split, SHA-256
//! and source (batch, photo id), counts per class and split, the batches included and a
//! changelog. Images already in the data set (by SHA-256) are skipped, so re-running a merge
//! changes nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::labels::LabelLine;
use super::split::goes_to_val;
use super::{DAMAGE_CLASSES, create_dir, data_yaml, hex, is_image, label_path_for, list_files};
use crate::error::{LabelInput, Result, TrainerError};
use crate::labeling::batch::Batch;
use crate::labeling::select::Known;

/// The data set's version record.
pub const DATASET_JSON: &str = "dataset.json";

/// Format of `dataset.json`.
pub const DATASET_FORMAT: u32 = 1;

/// One image of the data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImageEntry {
    /// `train` or `val`.
    pub split: String,
    /// SHA-256 of the image.
    pub sha256: String,
    /// Where it came from: the batch's source (`phone:…`, `office:…`), or `pool:<dir>`, or
    /// `existing` for images found in the data set when it was first versioned.
    pub source: String,
    /// The labeling batch it came in.
    pub batch: Option<String>,
    /// The photo id (phone and office).
    pub photo_id: Option<String>,
    /// The container.
    pub container: Option<String>,
}

/// Counts of one split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitCounts {
    /// Images.
    pub images: u64,
    /// Images without boxes.
    pub background: u64,
    /// Boxes per class name.
    pub boxes: BTreeMap<String, u64>,
}

/// One version's entry in the changelog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The version it made.
    pub version: u32,
    /// When (RFC 3339).
    pub at: String,
    /// The batch merged, if any.
    pub batch: Option<String>,
    /// What was merged.
    pub from: String,
    /// Images added to train.
    pub train: u64,
    /// Images added to val.
    pub val: u64,
}

/// `dataset.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetManifest {
    /// [`DATASET_FORMAT`].
    pub format: u32,
    /// The data set's version, from 1; each merge that adds images makes the next.
    pub version: u32,
    /// The val fraction of the content-hash split.
    pub val_fraction: f64,
    /// Our class names, in id order.
    pub classes: Vec<String>,
    /// Counts per split.
    pub counts: BTreeMap<String, SplitCounts>,
    /// Labeling batches included.
    pub batches: Vec<String>,
    /// Versions, oldest first.
    pub changelog: Vec<Change>,
    /// Every image, by path (`train/images/<file>`).
    pub images: BTreeMap<String, ImageEntry>,
}

impl DatasetManifest {
    /// Reads `<dir>/dataset.json`, `None` when there is none.
    pub fn load(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(DATASET_JSON);
        if !path.is_file() {
            return Ok(None);
        }
        let manifest: Self = crate::labeling::read_json(&path)?;
        if manifest.format != DATASET_FORMAT {
            return Err(TrainerError::Input(format!(
                "{}: format {} (this tool reads {DATASET_FORMAT})",
                path.display(),
                manifest.format
            )));
        }
        Ok(Some(manifest))
    }

    /// Adds its photos (ids and SHA-256) to `known`.
    pub fn add_known(&self, known: &mut Known) {
        for entry in self.images.values() {
            known.sha256.insert(entry.sha256.clone());
            if let Some(id) = &entry.photo_id {
                known.photo_ids.insert(id.clone());
            }
        }
    }

    /// Boxes per class (id order) in train.
    pub fn train_class_counts(&self) -> Vec<u64> {
        let train = self.counts.get("train");
        DAMAGE_CLASSES
            .iter()
            .map(|c| train.and_then(|t| t.boxes.get(*c)).copied().unwrap_or(0))
            .collect()
    }
}

/// What a merge did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MergeSummary {
    /// The data set.
    pub dataset: PathBuf,
    /// Its version after the merge.
    pub version: u32,
    /// Images added to train.
    pub train: u64,
    /// Images added to val.
    pub val: u64,
    /// Images already in the data set (by SHA-256), skipped.
    pub already: u64,
    /// Whether anything changed (`false`: a re-run, nothing written).
    pub changed: bool,
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(TrainerError::io(path))?;
    Ok(hex(&Sha256::digest(&bytes)))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads and checks a label file: its lines, refused with file and line.
fn read_labels(path: &Path) -> Result<Vec<LabelLine>> {
    let text = std::fs::read_to_string(path).map_err(TrainerError::io(path))?;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed =
            LabelLine::parse(line, DAMAGE_CLASSES.len()).map_err(|e| LabelInput::Malformed {
                file: path.to_owned(),
                line: i + 1,
                message: e.to_string(),
            })?;
        lines.push(parsed);
    }
    Ok(lines)
}

/// Recounts the splits from the label files of the manifest's images.
fn recount(
    dataset: &Path,
    images: &BTreeMap<String, ImageEntry>,
) -> Result<BTreeMap<String, SplitCounts>> {
    let mut counts: BTreeMap<String, SplitCounts> = BTreeMap::new();
    for (path, entry) in images {
        let c = counts
            .entry(entry.split.clone())
            .or_insert_with(|| SplitCounts {
                boxes: DAMAGE_CLASSES
                    .iter()
                    .map(|n| ((*n).to_owned(), 0))
                    .collect(),
                ..SplitCounts::default()
            });
        c.images += 1;
        let label = label_path_for(&dataset.join(path));
        let lines = if label.is_file() {
            read_labels(&label)?
        } else {
            Vec::new()
        };
        if lines.is_empty() {
            c.background += 1;
        }
        for l in lines {
            if let Some(name) = DAMAGE_CLASSES.get(l.class_id as usize) {
                *c.boxes.entry((*name).to_owned()).or_default() += 1;
            }
        }
    }
    Ok(counts)
}

/// A new manifest for `dataset`, listing the images already in its `train/` and `val/`.
fn baseline(dataset: &Path, val: f64, at: &str) -> Result<DatasetManifest> {
    let mut images = BTreeMap::new();
    for split in ["train", "val"] {
        for image in list_files(&dataset.join(split).join("images"))?
            .into_iter()
            .filter(|p| is_image(p))
        {
            images.insert(
                format!("{split}/images/{}", file_name(&image)),
                ImageEntry {
                    split: split.to_owned(),
                    sha256: sha256_file(&image)?,
                    source: "existing".into(),
                    batch: None,
                    photo_id: None,
                    container: None,
                },
            );
        }
    }
    let mut changelog = Vec::new();
    let version = if images.is_empty() {
        0
    } else {
        let count = |s: &str| {
            images
                .values()
                .filter(|e: &&ImageEntry| e.split == s)
                .count() as u64
        };
        changelog.push(Change {
            version: 1,
            at: at.to_owned(),
            batch: None,
            from: "existing".into(),
            train: count("train"),
            val: count("val"),
        });
        1
    };
    Ok(DatasetManifest {
        format: DATASET_FORMAT,
        version,
        val_fraction: val,
        classes: DAMAGE_CLASSES.iter().map(|c| (*c).to_owned()).collect(),
        counts: BTreeMap::new(),
        batches: Vec::new(),
        changelog,
        images,
    })
}

/// Writes `value` to `path` atomically (temporary file + rename).
fn write_atomically(path: &Path, value: &DatasetManifest) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut text =
        serde_json::to_vec_pretty(value).map_err(|e| TrainerError::Input(e.to_string()))?;
    text.push(b'\n');
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(TrainerError::io(dir))?;
    file.write_all(&text).map_err(TrainerError::io(path))?;
    file.persist(path)
        .map_err(|e| TrainerError::io(path)(e.error))?;
    Ok(())
}

/// Merges the labelled `pool` into `dataset` (created when missing); `batch` is the labeling
/// batch folder the pool was labelled from (its `batch.json` gives each image's source, by
/// SHA-256); `val` is the val fraction of a new data set (an existing one keeps its own).
/// Every label is checked before anything is written.
pub fn merge(
    pool: &Path,
    dataset: &Path,
    batch: Option<&Path>,
    val: f64,
    at: &str,
) -> Result<MergeSummary> {
    if !(0.0..1.0).contains(&val) {
        return Err(TrainerError::Input(format!(
            "--val {val} must be in [0, 1)"
        )));
    }
    let batch = batch.map(Batch::load).transpose()?;
    let mut manifest = match DatasetManifest::load(dataset)? {
        Some(m) => m,
        None => baseline(dataset, val, at)?,
    };
    let mut known: std::collections::HashSet<String> =
        manifest.images.values().map(|e| e.sha256.clone()).collect();
    let images: Vec<PathBuf> = list_files(&pool.join("images"))?
        .into_iter()
        .filter(|p| is_image(p))
        .collect();
    if images.is_empty() {
        return Err(TrainerError::Input(format!(
            "{}: no images in images/",
            pool.display()
        )));
    }
    // Check everything first.
    let mut plan = Vec::new();
    let mut already = 0;
    for image in images {
        let label = label_path_for(&image);
        if !label.is_file() {
            return Err(TrainerError::Input(format!(
                "{}: no label file {} (an image without damage has an empty one)",
                image.display(),
                label.display()
            )));
        }
        read_labels(&label)?;
        let bytes = std::fs::read(&image).map_err(TrainerError::io(&image))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let sha = hex(&digest);
        // Already in the data set, or the same photo twice in the pool.
        if !known.insert(sha.clone()) {
            already += 1;
            continue;
        }
        let split = if goes_to_val(&digest, manifest.val_fraction) {
            "val"
        } else {
            "train"
        };
        let name = file_name(&image);
        let key = format!("{split}/images/{name}");
        for other in ["train", "val"] {
            if dataset.join(other).join("images").join(&name).exists() {
                return Err(TrainerError::Input(format!(
                    "{}: another image named {name} is already in {}",
                    image.display(),
                    dataset.join(other).join("images").display()
                )));
            }
        }
        let photo = batch
            .as_ref()
            .and_then(|b| b.photos.iter().find(|p| p.sha256 == sha));
        let entry = ImageEntry {
            split: split.to_owned(),
            sha256: sha,
            source: match (&batch, photo) {
                (Some(b), Some(_)) => b.source.clone(),
                _ => format!("pool:{}", pool.display()),
            },
            batch: batch.as_ref().map(|b| b.name.clone()),
            photo_id: photo.map(|p| p.photo_id.clone()),
            container: photo.map(|p| p.container.clone()),
        };
        plan.push((image, label, key, entry));
    }
    if plan.is_empty() {
        return Ok(MergeSummary {
            dataset: dataset.to_owned(),
            version: manifest.version,
            train: 0,
            val: 0,
            already,
            changed: false,
        });
    }
    let (mut train, mut val_added) = (0, 0);
    for split in ["train", "val"] {
        create_dir(&dataset.join(split).join("images"))?;
        create_dir(&dataset.join(split).join("labels"))?;
    }
    for (image, label, key, entry) in plan {
        let dest = dataset.join(&key);
        let dest_label = label_path_for(&dest);
        std::fs::copy(&label, &dest_label).map_err(TrainerError::io(&dest_label))?;
        std::fs::copy(&image, &dest).map_err(TrainerError::io(&dest))?;
        if entry.split == "val" {
            val_added += 1;
        } else {
            train += 1;
        }
        manifest.images.insert(key, entry);
    }
    if !dataset.join("data.yaml").is_file() {
        data_yaml::write(dataset, false)?;
    }
    manifest.version += 1;
    if let Some(b) = &batch
        && !manifest.batches.contains(&b.name)
    {
        manifest.batches.push(b.name.clone());
    }
    manifest.changelog.push(Change {
        version: manifest.version,
        at: at.to_owned(),
        batch: batch.as_ref().map(|b| b.name.clone()),
        from: pool.display().to_string(),
        train,
        val: val_added,
    });
    manifest.counts = recount(dataset, &manifest.images)?;
    write_atomically(&dataset.join(DATASET_JSON), &manifest)?;
    Ok(MergeSummary {
        dataset: dataset.to_owned(),
        version: manifest.version,
        train,
        val: val_added,
        already,
        changed: true,
    })
}
