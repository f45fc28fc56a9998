//! `dataset import-roboflow`: a Roboflow "YOLOv11" export (zip or directory: `data.yaml`,
//! `train/`, `valid/`, `test/`) into our layout, class ids remapped onto ours.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use super::labels::LabelLine;
use super::staging::Staging;
use super::{class_map, create_dir, data_yaml, is_image, list_files};
use crate::error::{Result, TrainerError, UnsafeInput};

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

/// Caps on what a zip export may extract: its entry count, each entry's and all entries'
/// decompressed bytes (counted as they are written, whatever the archive declares).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZipLimits {
    /// Most entries (files and directories).
    pub max_entries: usize,
    /// Most decompressed bytes of one entry.
    pub max_entry_bytes: u64,
    /// Most decompressed bytes of all entries together.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    /// 250 000 entries (a 100 000-image export has 200 000 files), 64 MiB per entry (the
    /// phone refuses photos over 40 MiB), 8 GiB in all.
    fn default() -> Self {
        Self {
            max_entries: 250_000,
            max_entry_bytes: 64 << 20,
            max_total_bytes: 8 << 30,
        }
    }
}

/// Imports the export at `src` (a `.zip` or a directory) into `out`, with the default
/// [`ZipLimits`].
pub fn import(src: &Path, out: &Path, renames: &BTreeMap<String, String>) -> Result<ImportSummary> {
    import_with_limits(src, out, renames, &ZipLimits::default())
}

/// Imports the export at `src` into `out`. A zip is extracted entry by entry into a
/// temporary directory: symbolic links and other special entries, absolute or `..` paths and
/// archives past `limits` are refused ([`UnsafeInput`]); so are symbolic links in an export
/// directory. The output is staged and moved into `out` only when the whole import succeeded.
pub fn import_with_limits(
    src: &Path,
    out: &Path,
    renames: &BTreeMap<String, String>,
    limits: &ZipLimits,
) -> Result<ImportSummary> {
    let _extracted;
    let root = if src.is_file() {
        let tmp = tempfile::tempdir().map_err(TrainerError::io(std::env::temp_dir()))?;
        extract(src, tmp.path(), limits)?;
        let root = find_root(tmp.path())?;
        _extracted = tmp;
        root
    } else {
        find_root(src)?
    };
    let staging = Staging::new(out)?;
    let summary = import_dir(src, &root, staging.path(), renames)?;
    staging.commit()?;
    Ok(ImportSummary {
        out: out.to_owned(),
        ..summary
    })
}

/// Extracts the zip `archive` into `dest` (an empty directory), entry by entry.
fn extract(archive: &Path, dest: &Path, limits: &ZipLimits) -> Result<()> {
    let file = std::fs::File::open(archive).map_err(TrainerError::io(archive))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| TrainerError::Input(format!("{}: not a zip file: {e}", archive.display())))?;
    if zip.len() > limits.max_entries {
        return Err(UnsafeInput::TooManyEntries {
            archive: archive.to_owned(),
            entries: zip.len(),
            limit: limits.max_entries,
        }
        .into());
    }
    let mut total = 0u64;
    for i in 0..zip.len() {
        let cannot = |e: &dyn std::fmt::Display| {
            TrainerError::Input(format!("{}: cannot extract: {e}", archive.display()))
        };
        let mut entry = zip.by_index(i).map_err(|e| cannot(&e))?;
        let name = entry.name().to_owned();
        let rel = entry_path(&name).ok_or_else(|| UnsafeInput::UnsafePath {
            archive: archive.to_owned(),
            entry: name.clone(),
        })?;
        // Unix file type bits: none (archives made elsewhere), regular file or directory.
        let kind = entry.unix_mode().map_or(0, |mode| mode & 0o170_000);
        if !matches!(kind, 0 | 0o100_000 | 0o040_000) {
            return Err(UnsafeInput::Link {
                archive: archive.to_owned(),
                entry: name,
                kind: if kind == 0o120_000 {
                    "symbolic link"
                } else {
                    "special file"
                },
            }
            .into());
        }
        let path = dest.join(&rel);
        if entry.is_dir() || kind == 0o040_000 {
            create_dir(&path)?;
            continue;
        }
        let too_large = || UnsafeInput::EntryTooLarge {
            archive: archive.to_owned(),
            entry: name.clone(),
            limit: limits.max_entry_bytes,
        };
        // The declared size refuses an honest bomb before decompressing it; the count of
        // bytes actually written refuses one whose headers lie.
        if entry.size() > limits.max_entry_bytes {
            return Err(too_large().into());
        }
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        let mut written = std::fs::File::create(&path).map_err(TrainerError::io(&path))?;
        let mut buf = vec![0u8; 64 << 10];
        let mut n = 0u64;
        loop {
            let got = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(cannot(&e)),
            };
            n += got as u64;
            if n > limits.max_entry_bytes {
                return Err(too_large().into());
            }
            if total + n > limits.max_total_bytes {
                return Err(UnsafeInput::TooLarge {
                    archive: archive.to_owned(),
                    limit: limits.max_total_bytes,
                }
                .into());
            }
            written
                .write_all(&buf[..got])
                .map_err(TrainerError::io(&path))?;
        }
        total += n;
    }
    Ok(())
}

/// The relative path of an entry name, or `None` when it is absolute (`/…`, `C:…`) or has a
/// `..` component (a backslash counts as a separator, as archives made on Windows use it).
fn entry_path(name: &str) -> Option<PathBuf> {
    let name = name.replace('\\', "/");
    let drive = name
        .as_bytes()
        .get(..2)
        .is_some_and(|b| b[0].is_ascii_alphabetic() && b[1] == b':');
    if drive {
        return None;
    }
    let mut rel = PathBuf::new();
    for component in Path::new(&name).components() {
        match component {
            Component::Normal(part) => rel.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(rel)
}

/// Converts the export directory `root` (holding `data.yaml`) into `out`; `src` names the
/// export in messages.
fn import_dir(
    src: &Path,
    root: &Path,
    out: &Path,
    renames: &BTreeMap<String, String>,
) -> Result<ImportSummary> {
    let canonical_root = root.canonicalize().map_err(TrainerError::io(root))?;
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
            let label = super::label_path_for(&image);
            refuse_link(src, &canonical_root, &image)?;
            refuse_link(src, &canonical_root, &label)?;
            let name = image.file_name().unwrap_or_default();
            std::fs::copy(&image, out_images.join(name)).map_err(TrainerError::io(&image))?;
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

/// Refuses a symbolic link in an export directory (a zip unpacked by `unzip` keeps them), and
/// a file reached through a linked directory (`root` is the export's canonical directory).
fn refuse_link(src: &Path, root: &Path, path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(()); // absent (an image without a label file): nothing to copy
    };
    let kind = if meta.file_type().is_symlink() {
        "symbolic link"
    } else if !path.canonicalize().is_ok_and(|p| p.starts_with(root)) {
        "file behind a linked directory"
    } else {
        return Ok(());
    };
    Err(UnsafeInput::Link {
        archive: src.to_owned(),
        entry: path.display().to_string(),
        kind,
    }
    .into())
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
