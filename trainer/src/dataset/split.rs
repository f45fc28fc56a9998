//! `dataset split`: assigns every image to train or val by the SHA-256 of its bytes, so the
//! split is the same on every machine and every re-run, identical images always land in the
//! same split, and adding images never moves the ones already placed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{SPLIT_NAMES, create_dir, data_yaml, is_image, list_files};
use crate::error::{Result, TrainerError};

/// What a split did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SplitSummary {
    /// Where the split data set is.
    pub out: PathBuf,
    /// Images in train.
    pub train: usize,
    /// Images in val.
    pub val: usize,
    /// Images without a label file (copied as they are; `validate` reports them).
    pub unlabeled: usize,
}

/// Whether an image with this SHA-256 goes to val for a val fraction of `val`.
pub fn goes_to_val(sha256: &[u8], val: f64) -> bool {
    let mut head = [0u8; 8];
    head.copy_from_slice(&sha256[..8]);
    (u64::from_be_bytes(head) as f64 / 2f64.powi(64)) < val
}

/// Splits the images of `dir` (flat `images/` + `labels/`, and/or existing split directories)
/// into `out/train` and `out/val` (`out` = `dir`: files are moved in place) and writes
/// `out/data.yaml`.
pub fn split(dir: &Path, out: Option<&Path>, val: f64) -> Result<SplitSummary> {
    if !(0.0..1.0).contains(&val) {
        return Err(TrainerError::Input(format!(
            "--val {val} must be in [0, 1)"
        )));
    }
    let in_place = out.is_none();
    let out = out.unwrap_or(dir).to_owned();
    let mut sources: Vec<PathBuf> = vec![dir.join("images")];
    sources.extend(SPLIT_NAMES.iter().map(|s| dir.join(s).join("images")));
    let mut images = Vec::new();
    for source in &sources {
        images.extend(list_files(source)?.into_iter().filter(|p| is_image(p)));
    }
    if images.is_empty() {
        return Err(TrainerError::Input(format!(
            "{}: no images in images/ or <split>/images/",
            dir.display()
        )));
    }
    // The same file name with different content in two source splits would collide.
    let mut seen: HashMap<String, (PathBuf, [u8; 32])> = HashMap::new();
    let mut plan = Vec::new();
    for image in images {
        let bytes = std::fs::read(&image).map_err(TrainerError::io(&image))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let name = image
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((other, other_digest)) = seen.get(&name) {
            if *other_digest == digest {
                // An exact duplicate under the same name: keep one copy.
                if in_place {
                    remove_pair(&image)?;
                }
                continue;
            }
            return Err(TrainerError::Input(format!(
                "two different images named {name}: {} and {}",
                other.display(),
                image.display()
            )));
        }
        seen.insert(name.clone(), (image.clone(), digest));
        plan.push((image, name, goes_to_val(&digest, val)));
    }
    let mut summary = SplitSummary {
        out: out.clone(),
        ..SplitSummary::default()
    };
    for split in ["train", "val"] {
        create_dir(&out.join(split).join("images"))?;
        create_dir(&out.join(split).join("labels"))?;
    }
    for (image, name, to_val) in plan {
        let split = if to_val { "val" } else { "train" };
        let label = super::label_path_for(&image);
        let dest_image = out.join(split).join("images").join(&name);
        let dest_label = out
            .join(split)
            .join("labels")
            .join(label.file_name().unwrap_or_default());
        transfer(&image, &dest_image, in_place)?;
        if label.is_file() {
            transfer(&label, &dest_label, in_place)?;
        } else {
            summary.unlabeled += 1;
        }
        if to_val {
            summary.val += 1;
        } else {
            summary.train += 1;
        }
    }
    if in_place {
        // Source directories emptied by the moves.
        for d in [
            "images",
            "labels",
            "valid/images",
            "valid/labels",
            "valid",
            "test/images",
            "test/labels",
            "test",
        ] {
            let _ = std::fs::remove_dir(dir.join(d));
        }
    }
    data_yaml::write(&out, false)?;
    Ok(summary)
}

fn transfer(from: &Path, to: &Path, in_place: bool) -> Result<()> {
    if from == to {
        return Ok(());
    }
    if in_place {
        std::fs::rename(from, to).map_err(TrainerError::io(from))
    } else {
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(TrainerError::io(from))
    }
}

fn remove_pair(image: &Path) -> Result<()> {
    std::fs::remove_file(image).map_err(TrainerError::io(image))?;
    let label = super::label_path_for(image);
    match std::fs::remove_file(&label) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(TrainerError::io(label)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_is_by_hash_prefix() {
        let mut low = [0u8; 32];
        low[0] = 0x10; // 0.0625
        assert!(goes_to_val(&low, 0.2));
        let mut high = [0u8; 32];
        high[0] = 0xf0;
        assert!(!goes_to_val(&high, 0.2));
        assert!(!goes_to_val(&low, 0.0));
    }
}
