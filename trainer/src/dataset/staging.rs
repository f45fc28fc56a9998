//! An import's output written aside first: files go to a hidden sibling of the output
//! directory and are moved into it only when the whole import succeeded, so a refused or
//! failed import leaves the output directory as it was.

use std::path::{Path, PathBuf};

use crate::error::{Result, TrainerError};

/// A staging directory beside `out` (same file system, so moving into place is a rename).
/// Dropped without [`Staging::commit`], it is removed with everything in it.
#[derive(Debug)]
pub struct Staging {
    dir: tempfile::TempDir,
    out: PathBuf,
}

impl Staging {
    /// Creates `.<out name>.import-XXXXXX` beside `out` (creating `out`'s parent if needed).
    pub fn new(out: &Path) -> Result<Self> {
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        super::create_dir(&parent)?;
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dataset".to_owned());
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.import-"))
            .tempdir_in(&parent)
            .map_err(TrainerError::io(&parent))?;
        Ok(Self {
            dir,
            out: out.to_owned(),
        })
    }

    /// Where the import writes (laid out as `out` will be).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Moves the staged files into `out`: the whole directory when `out` does not exist yet,
    /// else file by file (a staged file replaces the one of the same name).
    pub fn commit(self) -> Result<()> {
        if !self.out.exists() {
            let staged = self.dir.keep();
            return std::fs::rename(&staged, &self.out).map_err(TrainerError::io(&self.out));
        }
        merge(self.dir.path(), &self.out)
        // `self.dir` is dropped here, removing the (now empty) staging directories.
    }
}

fn merge(from: &Path, to: &Path) -> Result<()> {
    super::create_dir(to)?;
    let entries = std::fs::read_dir(from).map_err(TrainerError::io(from))?;
    for entry in entries {
        let entry = entry.map_err(TrainerError::io(from))?;
        let (src, dest) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().map_err(TrainerError::io(&src))?.is_dir() {
            merge(&src, &dest)?;
        } else {
            std::fs::rename(&src, &dest).map_err(TrainerError::io(&dest))?;
        }
    }
    Ok(())
}
