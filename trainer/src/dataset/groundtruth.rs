//! `dataset import-groundtruth`: a SageMaker Ground Truth bounding-box output manifest (JSON
//! Lines) into a flat `images/` + `labels/` pool (then `dataset split`).
//!
//! Each line: `{"source-ref": "s3://…/img.jpg", "<attr>": {"image_size": [{"width", "height"}],
//! "annotations": [{"class_id", "left", "top", "width", "height"}]}, "<attr>-metadata":
//! {"class-map": {"0": "dent", …}, "type": "groundtruth/object-detection", …}}`.
//!
//! Images are looked up in `--images DIR` (default: the manifest's directory) by the object
//! key of their `s3://bucket/key` reference, longest suffix first (`DIR/<key>`, then without
//! its leading folders, down to `DIR/<file name>`), so a directory laid out as the bucket
//! (`aws s3 sync`) tells apart `site-a/IMG_0001.jpg` and `site-b/IMG_0001.jpg`. Every file
//! read (a local `source-ref` path included) must lie inside the manifest's directory or
//! `DIR` once links are resolved. Each image is written
//! as `<stem>-<8 hex of the SHA-256 of its source-ref>.<ext>`, so photos of the same name
//! from different places keep their own files and labels.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::labels::LabelLine;
use super::staging::Staging;
use super::{class_map, create_dir};
use crate::error::{Result, TrainerError, UnsafeInput};

/// What an import wrote.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GroundTruthSummary {
    /// Output directory (flat pool: `images/`, `labels/`).
    pub out: PathBuf,
    /// Images written.
    pub images: usize,
    /// Boxes written.
    pub boxes: usize,
    /// Images without annotations (written as negatives: empty label files).
    pub negatives: usize,
}

/// Imports `manifest` into `out`; `images` is where the `source-ref` files are. The output
/// is staged and moved into `out` only when every line was imported; a file outside the
/// manifest's directory and `images` (a local `source-ref` path, or a link), an object key
/// with a `..` component and two references resolving to one file are refused
/// ([`UnsafeInput`]).
pub fn import(
    manifest: &Path,
    images: Option<&Path>,
    out: &Path,
    label_attribute: Option<&str>,
    renames: &BTreeMap<String, String>,
) -> Result<GroundTruthSummary> {
    let text = std::fs::read_to_string(manifest).map_err(TrainerError::io(manifest))?;
    let manifest_dir = match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let image_dir = images.map_or_else(|| manifest_dir.clone(), Path::to_owned);
    let sources = Sources {
        manifest,
        manifest_dir: &manifest_dir,
        image_dir: &image_dir,
        roots: [&manifest_dir, &image_dir]
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .collect(),
    };
    let staging = Staging::new(out)?;
    let (images_out, labels_out) = (staging.path().join("images"), staging.path().join("labels"));
    create_dir(&images_out)?;
    create_dir(&labels_out)?;
    let mut summary = GroundTruthSummary {
        out: out.to_owned(),
        ..GroundTruthSummary::default()
    };
    // Local file (canonical) and output name -> the source-ref that took it.
    let mut by_file: BTreeMap<PathBuf, String> = BTreeMap::new();
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = |m: String| TrainerError::Input(format!("{}:{}: {m}", manifest.display(), i + 1));
        let record: Value = serde_json::from_str(line).map_err(|e| at(format!("not JSON: {e}")))?;
        let source = record["source-ref"]
            .as_str()
            .ok_or_else(|| at("no \"source-ref\"".into()))?;
        let attr = match label_attribute {
            Some(a) => a.to_owned(),
            None => find_attribute(&record).ok_or_else(|| {
                at("no object-detection label attribute (a key with \"<attr>-metadata\" of type groundtruth/object-detection); pass --label-attribute".into())
            })?,
        };
        let labels = &record[&attr];
        let meta = &record[format!("{attr}-metadata")];
        let class_map = meta["class-map"]
            .as_object()
            .ok_or_else(|| at(format!("no \"{attr}-metadata\".\"class-map\"")))?;
        let mut tool_ids = BTreeMap::new();
        for (id, name) in class_map {
            let name = name
                .as_str()
                .ok_or_else(|| at(format!("class-map {id}: not a string")))?;
            let ours =
                class_map::map_names(&[name.to_owned()], renames).map_err(|e| at(e.to_string()))?;
            tool_ids.insert(id.clone(), ours[0]);
        }
        let size = &labels["image_size"][0];
        let (w, h) = match (size["width"].as_f64(), size["height"].as_f64()) {
            (Some(w), Some(h)) if w > 0.0 && h > 0.0 => (w, h),
            _ => return Err(at("no image_size width/height".into())),
        };
        let annotations = labels["annotations"]
            .as_array()
            .ok_or_else(|| at(format!("no \"{attr}\".\"annotations\" list")))?;
        let mut lines = Vec::new();
        for a in annotations {
            let num = |k: &str| {
                a[k].as_f64()
                    .ok_or_else(|| at(format!("annotation without numeric {k:?}")))
            };
            let class = a["class_id"].to_string();
            let class_id = *tool_ids
                .get(class.trim_matches('"'))
                .ok_or_else(|| at(format!("class_id {class} not in the class-map")))?;
            let (left, top, bw, bh) = (num("left")?, num("top")?, num("width")?, num("height")?);
            // Clip to the image, as Ground Truth boxes may overhang by a pixel.
            let (x1, y1) = (left.clamp(0.0, w), top.clamp(0.0, h));
            let (x2, y2) = ((left + bw).clamp(0.0, w), (top + bh).clamp(0.0, h));
            let line = LabelLine {
                class_id,
                cx: (x1 + x2) / 2.0 / w,
                cy: (y1 + y2) / 2.0 / h,
                w: (x2 - x1) / w,
                h: (y2 - y1) / h,
            };
            line.check(super::DAMAGE_CLASSES.len())
                .map_err(|e| at(e.to_string()))?;
            lines.push(line.to_line());
        }
        // Canonical: two references to one file compare equal.
        let local = sources.locate(source, i + 1)?;
        if let Some(other) = by_file.get(&local).filter(|o| *o != source) {
            return Err(UnsafeInput::AmbiguousSource {
                manifest: manifest.to_owned(),
                line: i + 1,
                source_ref: source.to_owned(),
                other: other.clone(),
                local,
            }
            .into());
        }
        by_file.insert(local.clone(), source.to_owned());
        let (stem, file_name) = output_name(source);
        if let Some(other) = by_name.get(&file_name).filter(|o| *o != source) {
            return Err(at(format!(
                "source-ref {source:?} and {other:?} both map to the file name {file_name}"
            )));
        }
        by_name.insert(file_name.clone(), source.to_owned());
        std::fs::copy(&local, images_out.join(&file_name)).map_err(TrainerError::io(&local))?;
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        } else {
            summary.negatives += 1;
        }
        let dest = labels_out.join(format!("{stem}.txt"));
        std::fs::write(&dest, body).map_err(TrainerError::io(dest))?;
        summary.images += 1;
        summary.boxes += lines.len();
    }
    staging.commit()?;
    Ok(summary)
}

/// Where the images of a manifest's `source-ref`s are looked up, and where local references
/// may point.
struct Sources<'a> {
    manifest: &'a Path,
    manifest_dir: &'a Path,
    image_dir: &'a Path,
    /// The manifest's directory and the image directory, canonical (those that exist).
    roots: Vec<PathBuf>,
}

impl Sources<'_> {
    /// The local file of `source` (on manifest line `line`), canonical.
    fn locate(&self, source: &str, line: usize) -> Result<PathBuf> {
        let refuse = |reason: String| UnsafeInput::SourceRef {
            manifest: self.manifest.to_owned(),
            line,
            source_ref: source.to_owned(),
            reason,
        };
        // Every file read lies inside the manifest's directory or --images, links resolved.
        let inside = |canonical: PathBuf, what: &str| {
            if self.roots.iter().any(|root| canonical.starts_with(root)) {
                Ok(canonical)
            } else {
                Err(refuse(format!(
                    "{what} outside the manifest's directory and --images ({})",
                    self.image_dir.display()
                )))
            }
        };
        let path = match source.split_once("://") {
            // s3://bucket/key (or another URL): the key, found below the image directory.
            Some((_, rest)) => rest.split_once('/').map_or("", |(_, key)| key),
            None => {
                let local = Path::new(source);
                let resolved = if local.is_absolute() {
                    local.to_owned()
                } else {
                    self.manifest_dir.join(local)
                };
                if let Ok(canonical) = resolved.canonicalize() {
                    return Ok(inside(canonical, "is a local path")?);
                }
                // A path of another machine: looked up below the image directory as a key.
                source
            }
        };
        let mut parts = Vec::new();
        for component in Path::new(path).components() {
            match component {
                Component::Normal(part) => parts.push(part),
                Component::ParentDir => {
                    return Err(refuse("has a `..` component".into()).into());
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        for start in 0..parts.len() {
            let candidate: PathBuf = std::iter::once(self.image_dir.as_os_str())
                .chain(parts[start..].iter().copied())
                .collect();
            if candidate.is_file() {
                let canonical = candidate
                    .canonicalize()
                    .map_err(TrainerError::io(&candidate))?;
                return Ok(inside(canonical, "resolves through a link to a file")?);
            }
        }
        Err(TrainerError::Input(format!(
            "{}:{line}: image of {source} not found in {} (looked up by its key, then its file name)",
            self.manifest.display(),
            self.image_dir.display()
        )))
    }
}

/// The stem and file name an image is written under: `<stem>-<8 hex>.<ext>`, the hex from
/// the SHA-256 of `source` (distinct for photos of the same name from different places,
/// the same on every import of the same reference).
fn output_name(source: &str) -> (String, String) {
    let name = Path::new(source.rsplit('/').next().unwrap_or(source));
    let stem = name
        .file_stem()
        .map_or_else(|| "image".to_owned(), |s| s.to_string_lossy().into_owned());
    let hash = super::hex(&Sha256::digest(source.as_bytes())[..4]);
    let stem = format!("{stem}-{hash}");
    let file_name = match name.extension() {
        Some(ext) => format!("{stem}.{}", ext.to_string_lossy()),
        None => stem.clone(),
    };
    (stem, file_name)
}

fn find_attribute(record: &Value) -> Option<String> {
    record.as_object()?.iter().find_map(|(k, v)| {
        let attr = k.strip_suffix("-metadata")?;
        (v["type"].as_str() == Some("groundtruth/object-detection")).then(|| attr.to_owned())
    })
}

#[cfg(test)]
mod properties;
