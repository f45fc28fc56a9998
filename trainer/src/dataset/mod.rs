//! YOLO data sets on disk: the layout (`<split>/images`, `<split>/labels`, `data.yaml`),
//! label lines, validation, the deterministic split and the imports from labeling tools.

pub mod class_map;
pub mod data_yaml;
pub mod groundtruth;
pub mod labels;
pub mod merge;
pub mod roboflow;
pub mod split;
pub mod staging;
pub mod validate;

use std::path::{Path, PathBuf};

use crate::error::{Result, TrainerError};

pub use omni_core::detect::DAMAGE_CLASSES;

/// Split directory names recognised in a data set (`valid` is Roboflow's name for `val`).
pub const SPLIT_NAMES: [&str; 4] = ["train", "val", "valid", "test"];

/// Whether `path` names an image we train on (JPEG or PNG, by extension).
pub fn is_image(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("jpg" | "jpeg" | "png")
    )
}

/// Files of a directory (not recursive), sorted; a missing directory is empty.
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(TrainerError::io(dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(TrainerError::io(dir))?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !hidden && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The label file of an image: `<split>/labels/<stem>.txt` beside `<split>/images/<name>`.
pub fn label_path_for(image: &Path) -> PathBuf {
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let split = image
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    split.join("labels").join(format!("{stem}.txt"))
}

/// Lowercase hex (the `hex` crate).
pub fn hex(bytes: &[u8]) -> String {
    ::hex::encode(bytes)
}

/// Creates a directory and its parents.
pub fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(TrainerError::io(dir))
}

#[cfg(test)]
mod tests {
    /// The file names and digests written before the `hex` crate: lowercase, two digits a byte.
    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(super::hex(&[]), "");
        assert_eq!(super::hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
