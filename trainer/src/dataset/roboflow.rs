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

#[cfg(test)]
mod tests {
    mod properties {
        use std::path::{Path, PathBuf};

        use proptest::prelude::*;

        use super::super::*;
        use crate::dataset::DAMAGE_CLASSES;
        use crate::dataset::labels::tests::properties::valid_line;

        /// The rule `entry_path` implements, stated on the name: refused when, with `\` read
        /// as `/`, it starts with `/` or a drive (`C:`), or has a `..` component.
        fn is_unsafe(name: &str) -> bool {
            let name = name.replace('\\', "/");
            let b = name.as_bytes();
            name.starts_with('/')
                || (b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':')
                || name.split('/').any(|c| c == "..")
        }

        /// Entry names made of path-like pieces, so that separators, `.`, `..` and drives
        /// come up often.
        fn entry_name() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("..".to_owned()),
                Just(".".to_owned()),
                Just(String::new()),
                Just("C:".to_owned()),
                Just("c:x".to_owned()),
                Just("...".to_owned()),
                Just("..a".to_owned()),
                "[a-zA-Z0-9_ .-]{1,8}",
                ".{1,4}",
            ];
            let sep = prop_oneof![Just("/"), Just("\\"), Just("//")];
            prop_oneof![
                ".{0,30}",
                proptest::collection::vec((piece, sep), 1..6).prop_map(|parts| {
                    parts.into_iter().map(|(p, s)| p + s).collect::<String>()
                }),
            ]
            .prop_flat_map(|name| {
                // Half the time without the last separator (a file rather than a folder).
                let trimmed = name.trim_end_matches(['/', '\\']).to_owned();
                prop_oneof![Just(name), Just(trimmed)]
            })
        }

        fn write_line(l: &LabelLine) -> String {
            format!("{} {} {} {} {}", l.class_id, l.cx, l.cy, l.w, l.h)
        }

        /// One image of a generated export: its split (`train`, `valid`, `test`) and its
        /// label file's lines (`None`: a blank line).
        type Image = (usize, Vec<Option<LabelLine>>);

        const SPLITS: [(&str, &str); 3] = [("train", "train"), ("valid", "val"), ("test", "test")];

        fn images() -> impl Strategy<Value = Vec<Image>> {
            proptest::collection::vec(
                (
                    0usize..3,
                    proptest::collection::vec(
                        prop_oneof![4 => valid_line().prop_map(Some), 1 => Just(None)],
                        0..6,
                    ),
                ),
                1..5,
            )
        }

        /// Writes an export directory: `data.yaml` naming our classes in the order `order`,
        /// each image `img<i>.jpg` with its label file (line ends `\n` or `\r\n`); returns
        /// the export directory and each label file's path.
        fn write_export(
            dir: &Path,
            order: &[usize],
            images: &[(usize, Vec<String>)],
            crlf: bool,
        ) -> Vec<PathBuf> {
            let names: Vec<&str> = order.iter().map(|i| DAMAGE_CLASSES[*i]).collect();
            std::fs::create_dir_all(dir).unwrap();
            std::fs::write(
                dir.join("data.yaml"),
                format!("nc: {}\nnames: {names:?}\n", names.len()),
            )
            .unwrap();
            let mut labels = Vec::new();
            for (i, (split, lines)) in images.iter().enumerate() {
                let split = dir.join(SPLITS[*split].0);
                std::fs::create_dir_all(split.join("images")).unwrap();
                std::fs::create_dir_all(split.join("labels")).unwrap();
                std::fs::write(
                    split.join("images").join(format!("img{i}.jpg")),
                    format!("jpeg {i}"),
                )
                .unwrap();
                let end = if crlf { "\r\n" } else { "\n" };
                let label = split.join("labels").join(format!("img{i}.txt"));
                std::fs::write(
                    &label,
                    lines
                        .iter()
                        .map(|l| format!("{l}{end}"))
                        .collect::<String>(),
                )
                .unwrap();
                labels.push(label);
            }
            labels
        }

        proptest! {
            /// Any entry name maps to a relative path of plain components below the
            /// extraction directory, or is refused; it is refused exactly when it is
            /// absolute, has a drive or has a `..` component, and an accepted name keeps
            /// its components in order.
            #[test]
            fn entry_names_map_below_the_destination_or_are_refused(name in entry_name()) {
                let mapped = entry_path(&name);
                prop_assert_eq!(mapped.is_none(), is_unsafe(&name), "{:?} -> {:?}", name, mapped);
                if let Some(rel) = mapped {
                    prop_assert!(rel.is_relative());
                    prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))), "{:?}", rel);
                    prop_assert!(Path::new("/dest").join(&rel).starts_with("/dest"));
                    let expected: PathBuf = name
                        .replace('\\', "/")
                        .split('/')
                        .filter(|c| !c.is_empty() && *c != ".")
                        .collect();
                    prop_assert_eq!(rel, expected);
                }
            }
        }

        proptest! {
            #![proptest_config(omni_e2e::proptest_cases(64))]

            /// A generated export (classes in any order in `data.yaml`, blank lines, `\r\n`
            /// line ends, several splits) imports to exactly its boxes, remapped onto our
            /// class ids, within the 6-decimal rounding of the written lines.
            #[test]
            fn a_valid_export_imports_to_exactly_its_boxes(
                order in Just((0..DAMAGE_CLASSES.len()).collect::<Vec<_>>()).prop_shuffle(),
                images in images(),
                crlf in any::<bool>(),
            ) {
                let tmp = tempfile::tempdir().unwrap();
                let (src, out) = (tmp.path().join("export"), tmp.path().join("out"));
                let texts: Vec<(usize, Vec<String>)> = images
                    .iter()
                    .map(|(split, lines)| {
                        (*split, lines.iter().map(|l| l.as_ref().map_or_else(|| " ".to_owned(), write_line)).collect())
                    })
                    .collect();
                write_export(&src, &order, &texts, crlf);
                let summary = import(&src, &out, &BTreeMap::new());
                prop_assert!(summary.is_ok(), "{:?}", summary);
                let summary = summary.unwrap();
                let boxes: usize = images.iter().map(|(_, l)| l.iter().flatten().count()).sum();
                prop_assert_eq!(summary.boxes, boxes);
                for (i, (split, lines)) in images.iter().enumerate() {
                    let to = out.join(SPLITS[*split].1);
                    prop_assert_eq!(std::fs::read(to.join("images").join(format!("img{i}.jpg"))).unwrap(), format!("jpeg {i}").into_bytes());
                    let text = std::fs::read_to_string(to.join("labels").join(format!("img{i}.txt"))).unwrap();
                    let got: Vec<LabelLine> = text
                        .lines()
                        .map(|l| LabelLine::parse(l, DAMAGE_CLASSES.len()).unwrap())
                        .collect();
                    let expected: Vec<&LabelLine> = lines.iter().flatten().collect();
                    prop_assert_eq!(got.len(), expected.len());
                    for (g, e) in got.iter().zip(expected) {
                        prop_assert_eq!(g.class_id as usize, order[e.class_id as usize]);
                        for (a, b) in [(g.cx, e.cx), (g.cy, e.cy), (g.w, e.w), (g.h, e.h)] {
                            prop_assert!((a - b).abs() <= 5e-7 + 1e-12, "{:?} vs {:?}", g, e);
                        }
                    }
                }
                for (from, to) in SPLITS {
                    let count = images.iter().filter(|(s, _)| SPLITS[*s].0 == from).count();
                    prop_assert_eq!(summary.images.get(to).copied().unwrap_or(0), count);
                }
            }

            /// One bad line (class >= the export's 6, a coordinate outside [0, 1], NaN, a
            /// wrong field count) refuses the import with its label file and line number,
            /// and nothing is written.
            #[test]
            fn a_bad_label_line_is_refused_with_its_file_and_line(
                images in images(),
                which in any::<prop::sample::Index>(),
                at in any::<prop::sample::Index>(),
                bad in prop_oneof![
                    prop_oneof![Just(6u32), 6u32..1000].prop_map(|c| format!("{c} 0.5 0.5 0.1 0.1")),
                    prop_oneof![Just(1.0 + f64::EPSILON), 1.0f64 + 1e-9..10.0]
                        .prop_map(|v| format!("0 {v} 0.5 0.1 0.1")),
                    prop_oneof![Just(-f64::MIN_POSITIVE), -10.0f64..-1e-9]
                        .prop_map(|v| format!("0 0.5 0.5 0.1 {v}")),
                    Just("0 NaN 0.5 0.1 0.1".to_owned()),
                    Just("0 0.5 0.5 0.1".to_owned()),
                    Just("0 0.5 0.5 0.1 0.1 0.2 0.3".to_owned()),
                ],
                crlf in any::<bool>(),
            ) {
                let tmp = tempfile::tempdir().unwrap();
                let (src, out) = (tmp.path().join("export"), tmp.path().join("out"));
                let mut texts: Vec<(usize, Vec<String>)> = images
                    .iter()
                    .map(|(split, lines)| {
                        (*split, lines.iter().map(|l| l.as_ref().map_or_else(String::new, write_line)).collect())
                    })
                    .collect();
                let which = which.index(texts.len());
                let lines = &mut texts[which].1;
                let at = at.index(lines.len() + 1);
                lines.insert(at, bad);
                let labels = write_export(&src, &(0..DAMAGE_CLASSES.len()).collect::<Vec<_>>(), &texts, crlf);
                let refused = import(&src, &out, &BTreeMap::new());
                let prefix = format!("{}:{}: ", labels[which].display(), at + 1);
                prop_assert!(
                    matches!(&refused, Err(TrainerError::Input(m)) if m.starts_with(&prefix)),
                    "{:?}, expected {}", refused, prefix
                );
                prop_assert!(!out.exists());
            }
        }
    }
}
