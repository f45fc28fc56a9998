//! A labeling batch: a folder with the chosen photos (`images/<photo id>.<ext>`) and
//! `batch.json`, which records where they came from, the options and seed, and why each
//! photo was chosen, with the model's boxes the exports use as pre-annotations.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::select::{Known, Reason, SelectOptions, Selection, Thinned};
use super::source::PhotoSource;
use super::{Prediction, read_json, write_json};
use crate::dataset::staging::Staging;
use crate::dataset::{create_dir, hex};
use crate::error::{Result, TrainerError};

/// The file name of a batch's record.
pub const BATCH_JSON: &str = "batch.json";

/// Format of `batch.json`.
pub const BATCH_FORMAT: u32 = 1;

/// One photo of a batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchPhoto {
    /// The file under `images/`.
    pub file: String,
    /// The photo id.
    pub photo_id: String,
    /// Its inspection.
    pub inspection_id: String,
    /// The container.
    pub container: String,
    /// When it was taken (phone) or received (office), ms since the epoch.
    pub taken_at_ms: i64,
    /// SHA-256 of the file.
    pub sha256: String,
    /// Width of the EXIF-oriented photo.
    pub width: u32,
    /// Height of the EXIF-oriented photo.
    pub height: u32,
    /// Difference hash (16 hex digits).
    pub dhash: String,
    /// Why it was chosen.
    pub reasons: Vec<Reason>,
    /// The newest edge verdict.
    pub edge: Option<Prediction>,
    /// The newest cloud verdict.
    pub cloud: Option<Prediction>,
    /// The office review its labels are (`labeling import-reviewed`; none in a selection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewedBy>,
}

/// The review a photo's labels came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewedBy {
    /// Who reviewed it.
    pub reviewer: String,
    /// The photo's latest review revision (the one imported).
    pub revision: u64,
    /// When, ms since the epoch.
    pub reviewed_at_ms: i64,
    /// Who marked the inspection reviewed.
    pub marked_by: Option<String>,
}

impl BatchPhoto {
    /// The verdict used as pre-annotation: the cloud's when there is one, else the edge's.
    pub fn prediction(&self) -> Option<&Prediction> {
        self.cloud.as_ref().or(self.edge.as_ref())
    }
}

/// `batch.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// [`BATCH_FORMAT`].
    pub format: u32,
    /// The batch's name (its folder's name).
    pub name: String,
    /// When it was written (RFC 3339).
    pub created_at: String,
    /// Where the photos came from (`phone:DIR`, `office:DIR`, `office:dynamodb:…`).
    pub source: String,
    /// The selection's options (with the seed).
    pub options: SelectOptions,
    /// Photos listed by the source.
    pub scanned: u64,
    /// Photos skipped as already labelled or in an earlier batch.
    pub skipped_known: u64,
    /// Candidates per strategy, before the budget.
    pub candidates: BTreeMap<String, u64>,
    /// Near duplicates left out.
    pub thinned: Vec<Thinned>,
    /// The chosen photos, in rank order.
    pub photos: Vec<BatchPhoto>,
}

impl Batch {
    /// Reads `<dir>/batch.json`.
    pub fn load(dir: &Path) -> Result<Self> {
        let batch: Self = read_json(&dir.join(BATCH_JSON))?;
        if batch.format != BATCH_FORMAT {
            return Err(TrainerError::Input(format!(
                "{}: format {} (this tool reads {BATCH_FORMAT})",
                dir.join(BATCH_JSON).display(),
                batch.format
            )));
        }
        Ok(batch)
    }

    /// The photo whose file is `file`.
    pub fn photo(&self, file: &str) -> Option<&BatchPhoto> {
        self.photos.iter().find(|p| p.file == file)
    }
}

/// Decodes a photo and applies its EXIF orientation (the frame the boxes are in).
pub fn decode_oriented(bytes: &[u8]) -> image::ImageResult<DynamicImage> {
    let mut decoder = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()?
        .into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// Adds the photos of every batch under `root` (each `root/<name>/batch.json`) to `known`.
pub fn add_earlier_batches(root: &Path, known: &mut Known) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(names),
        Err(e) => return Err(TrainerError::io(root)(e)),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(BATCH_JSON).is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let batch = Batch::load(&dir)?;
        for p in &batch.photos {
            known.photo_ids.insert(p.photo_id.clone());
            known.sha256.insert(p.sha256.clone());
        }
        names.push(batch.name);
    }
    Ok(names)
}

/// The name of the folder `out` that `what` (a batch, a pool) will be written to: refused
/// when `out` exists (never overwritten) or names no folder.
pub(crate) fn new_folder_name(out: &Path, what: &str) -> Result<String> {
    if out.exists() {
        return Err(TrainerError::Input(format!(
            "{}: already exists ({what} is never overwritten; choose another name)",
            out.display()
        )));
    }
    out.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| TrainerError::Input(format!("{}: not a folder name", out.display())))
}

/// Writes the selection as the batch folder `out` (refused when it exists), reading each
/// photo from `source` again and checking its SHA-256. Nothing is left at `out` on error.
pub fn write(
    out: &Path,
    source: &mut dyn PhotoSource,
    selection: &Selection,
    options: &SelectOptions,
    created_at: &str,
) -> Result<Batch> {
    let name = new_folder_name(out, "a batch")?;
    let staging = Staging::new(out)?;
    let images = staging.path().join("images");
    create_dir(&images)?;
    let mut photos = Vec::with_capacity(selection.chosen.len());
    for chosen in &selection.chosen {
        let record = &chosen.record;
        let bytes = source.read(record)?;
        let sha = hex(&Sha256::digest(&bytes));
        if sha != record.sha256 {
            return Err(TrainerError::Input(format!(
                "{}: photo {} changed while selecting (SHA-256 {sha}, listed {})",
                source.describe(),
                record.photo_id,
                record.sha256
            )));
        }
        let file = record.file_name();
        let path = images.join(&file);
        std::fs::write(&path, &bytes).map_err(TrainerError::io(&path))?;
        photos.push(BatchPhoto {
            file,
            photo_id: record.photo_id.clone(),
            inspection_id: record.inspection_id.clone(),
            container: record.container.clone(),
            taken_at_ms: record.taken_at_ms,
            sha256: sha,
            width: chosen.width,
            height: chosen.height,
            dhash: format!("{:016x}", chosen.dhash),
            reasons: chosen.reasons.clone(),
            edge: record.edge.clone(),
            cloud: record.cloud.clone(),
            review: None,
        });
    }
    let batch = Batch {
        format: BATCH_FORMAT,
        name,
        created_at: created_at.to_owned(),
        source: source.describe(),
        options: options.clone(),
        scanned: selection.scanned,
        skipped_known: selection.known,
        candidates: selection
            .candidates
            .iter()
            .map(|(s, n)| (strategy_name(*s), *n))
            .collect(),
        thinned: selection.thinned.clone(),
        photos,
    };
    write_json(&staging.path().join(BATCH_JSON), &batch)?;
    staging.commit()?;
    Ok(batch)
}

fn strategy_name(s: super::select::Strategy) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
