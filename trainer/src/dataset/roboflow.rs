//! `dataset import-roboflow`: a Roboflow "YOLOv11" export (zip or directory: `data.yaml`,
//! `train/`, `valid/`, `test/`) into our layout, class ids remapped onto ours.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::labels::LabelLine;
use super::{class_map, create_dir, data_yaml, is_image, list_files};
use crate::error::{Result, TrainerError};

/// What an import wrote.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ImportSummary {
    /// The output data set.
    pub out: PathBuf,
    /// Images per output split.
    pub images: BTreeMap<String, usize>,
    /// Boxes written.
    pub boxes: usize,
    /// The tool's class names, in its id order, and ours they map to.
    pub classes: BTreeMap<String, String>,
}

/// Imports the export at `src` (a `.zip` or a directory) into `out`.
pub fn import(src: &Path, out: &Path, renames: &BTreeMap<String, String>) -> Result<ImportSummary> {
    let _extracted;
    let root = if src.is_file() {
        let tmp = tempfile::tempdir().map_err(TrainerError::io(std::env::temp_dir()))?;
        let file = std::fs::File::open(src).map_err(TrainerError::io(src))?;
        let mut archive = zip::ZipArchive::new(file)
            .map_err(|e| TrainerError::Input(format!("{}: not a zip file: {e}", src.display())))?;
        archive
            .extract(tmp.path())
            .map_err(|e| TrainerError::Input(format!("{}: cannot extract: {e}", src.display())))?;
        let root = find_root(tmp.path())?;
        _extracted = tmp;
        root
    } else {
        find_root(src)?
    };
    let names = data_yaml::read_names(&root.join("data.yaml"))?;
    let ids = class_map::map_names(&names, renames)?;
    let mut summary = ImportSummary {
        out: out.to_owned(),
        classes: names
            .iter()
            .zip(&ids)
            .map(|(n, id)| (n.clone(), super::DAMAGE_CLASSES[*id as usize].to_owned()))
            .collect(),
        ..ImportSummary::default()
    };
    let mut any = false;
    let mut with_test = false;
    for (from, to) in [
        ("train", "train"),
        ("valid", "val"),
        ("val", "val"),
        ("test", "test"),
    ] {
        let images = list_files(&root.join(from).join("images"))?;
        if images.is_empty() {
            continue;
        }
        any = true;
        with_test |= to == "test";
        let (out_images, out_labels) = (out.join(to).join("images"), out.join(to).join("labels"));
        create_dir(&out_images)?;
        create_dir(&out_labels)?;
        for image in images.into_iter().filter(|p| is_image(p)) {
            let name = image.file_name().unwrap_or_default();
            std::fs::copy(&image, out_images.join(name)).map_err(TrainerError::io(&image))?;
            let label = super::label_path_for(&image);
            let stem = image
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let text = match std::fs::read_to_string(&label) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(TrainerError::io(label)(e)),
            };
            let mut lines = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let at =
                    |m: String| TrainerError::Input(format!("{}:{}: {m}", label.display(), i + 1));
                let parsed = LabelLine::parse(line, names.len()).map_err(|e| at(e.to_string()))?;
                let mapped = LabelLine {
                    class_id: ids[parsed.class_id as usize],
                    ..parsed
                };
                lines.push(mapped.to_line());
            }
            summary.boxes += lines.len();
            let mut body = lines.join("\n");
            if !body.is_empty() {
                body.push('\n');
            }
            let dest = out_labels.join(format!("{stem}.txt"));
            std::fs::write(&dest, body).map_err(TrainerError::io(dest))?;
            *summary.images.entry(to.to_owned()).or_default() += 1;
        }
    }
    if !any {
        return Err(TrainerError::Input(format!(
            "{}: no train/, valid/ or test/ images in the export",
            src.display()
        )));
    }
    data_yaml::write(out, with_test)?;
    Ok(summary)
}

/// The directory holding `data.yaml`: the root or one level below (zips often add a folder).
fn find_root(dir: &Path) -> Result<PathBuf> {
    if dir.join("data.yaml").is_file() {
        return Ok(dir.to_owned());
    }
    let entries = std::fs::read_dir(dir).map_err(TrainerError::io(dir))?;
    for entry in entries.flatten() {
        if entry.path().join("data.yaml").is_file() {
            return Ok(entry.path());
        }
    }
    Err(TrainerError::Input(format!(
        "{}: no data.yaml (expected a Roboflow YOLOv11 export)",
        dir.display()
    )))
}
