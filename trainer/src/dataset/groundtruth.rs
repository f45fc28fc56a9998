//! `dataset import-groundtruth`: a SageMaker Ground Truth bounding-box output manifest (JSON
//! Lines) into a flat `images/` + `labels/` pool (then `dataset split`).
//!
//! Each line: `{"source-ref": "s3://…/img.jpg", "<attr>": {"image_size": [{"width", "height"}],
//! "annotations": [{"class_id", "left", "top", "width", "height"}]}, "<attr>-metadata":
//! {"class-map": {"0": "dent", …}, "type": "groundtruth/object-detection", …}}`.
//! Images are looked up by file name in `--images DIR` (default: the manifest's directory).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::labels::LabelLine;
use super::{class_map, create_dir};
use crate::error::{Result, TrainerError};

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

/// Imports `manifest` into `out`; `images` is where the `source-ref` files are.
pub fn import(
    manifest: &Path,
    images: Option<&Path>,
    out: &Path,
    label_attribute: Option<&str>,
    renames: &BTreeMap<String, String>,
) -> Result<GroundTruthSummary> {
    let text = std::fs::read_to_string(manifest).map_err(TrainerError::io(manifest))?;
    let image_dir = images
        .map(Path::to_owned)
        .unwrap_or_else(|| manifest.parent().unwrap_or(Path::new(".")).to_owned());
    create_dir(&out.join("images"))?;
    create_dir(&out.join("labels"))?;
    let mut summary = GroundTruthSummary {
        out: out.to_owned(),
        ..GroundTruthSummary::default()
    };
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
        let name = source.rsplit('/').next().unwrap_or(source);
        let local = if Path::new(source).is_file() {
            PathBuf::from(source)
        } else {
            image_dir.join(name)
        };
        if !local.is_file() {
            return Err(at(format!(
                "image {name} of {source} not found in {}",
                image_dir.display()
            )));
        }
        std::fs::copy(&local, out.join("images").join(name)).map_err(TrainerError::io(&local))?;
        let stem = Path::new(name)
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mut body = lines.join("\n");
        if !body.is_empty() {
            body.push('\n');
        } else {
            summary.negatives += 1;
        }
        let dest = out.join("labels").join(format!("{stem}.txt"));
        std::fs::write(&dest, body).map_err(TrainerError::io(dest))?;
        summary.images += 1;
        summary.boxes += lines.len();
    }
    Ok(summary)
}

fn find_attribute(record: &Value) -> Option<String> {
    record.as_object()?.iter().find_map(|(k, v)| {
        let attr = k.strip_suffix("-metadata")?;
        (v["type"].as_str() == Some("groundtruth/object-detection")).then(|| attr.to_owned())
    })
}
