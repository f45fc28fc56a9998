//! The `photos/` directory: originals written atomically and durably, and the listing that
//! reconciliation compares with the database.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::inspection::{PhotoId, photo_file_name};
use omni_durable::{sync_dir, write_atomic_via};
use omni_photo::probe::PhotoFormat;

/// Prefix of in-flight temporary files; anything carrying it after a crash is garbage.
const TEMP_PREFIX: &str = ".incoming-";
/// Subdirectory of `photos/` where photo files without a database row are quarantined:
/// evidence is never deleted by reconciliation.
pub const ORPHANS_DIR: &str = "orphans";

/// The directory holding original photos.
#[derive(Clone, Debug)]
pub struct PhotoFiles {
    dir: PathBuf,
}

/// A file found in `photos/` by [`PhotoFiles::scan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PhotoFileEntry {
    /// A committed-looking photo file `<id>.<ext>`.
    Photo(PhotoId, PhotoFormat),
    /// A temporary file left by an interrupted write.
    Temporary(PathBuf),
    /// Anything else (left alone).
    Other(PathBuf),
}

impl PhotoFiles {
    /// Uses (creating if needed) `dir`.
    pub fn open(dir: PathBuf) -> io::Result<Self> {
        fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the photo's original lives.
    pub fn path(&self, id: PhotoId, format: PhotoFormat) -> PathBuf {
        self.dir.join(photo_file_name(id, format))
    }

    /// Writes `bytes` as the original of `id`: temp file, fsync, rename, directory fsync.
    /// Once this returns, the file survives a crash or power loss.
    pub fn write(&self, id: PhotoId, format: PhotoFormat, bytes: &[u8]) -> io::Result<PathBuf> {
        let temp = self.dir.join(format!("{TEMP_PREFIX}{id}"));
        let final_path = self.path(id, format);
        write_atomic_via(&final_path, &temp, bytes)?;
        Ok(final_path)
    }

    /// Removes the original of `id` (used when its database row could not be inserted)
    /// and makes the removal durable.
    pub fn remove(&self, id: PhotoId, format: PhotoFormat) -> io::Result<()> {
        self.remove_path(&self.path(id, format))
    }

    /// The quarantine directory, `photos/orphans/`.
    pub fn orphans_dir(&self) -> PathBuf {
        self.dir.join(ORPHANS_DIR)
    }

    /// Where a quarantined photo file of `id` lives.
    pub fn quarantined_path(&self, id: PhotoId, format: PhotoFormat) -> PathBuf {
        self.orphans_dir().join(photo_file_name(id, format))
    }

    /// Moves a photo file of `id` that has no database row into `photos/orphans/`, durably.
    /// An existing quarantined file of the same name is never overwritten: the new one gets
    /// a numbered name (`<id>.<n>.<ext>`, which [`Self::scan_quarantine`] lists as other).
    pub fn quarantine(&self, id: PhotoId, format: PhotoFormat) -> io::Result<PathBuf> {
        let orphans = self.orphans_dir();
        fs::create_dir_all(&orphans)?;
        let mut target = self.quarantined_path(id, format);
        let mut n = 1;
        while target.try_exists()? {
            target = orphans.join(format!("{id}.{n}.{}", format.extension()));
            n += 1;
        }
        fs::rename(self.path(id, format), &target)?;
        sync_dir(&orphans)?;
        sync_dir(&self.dir)?;
        Ok(target)
    }

    /// Moves the quarantined file of `id` back to `photos/`, durably. Refuses to overwrite
    /// a file already there.
    pub fn restore(&self, id: PhotoId, format: PhotoFormat) -> io::Result<PathBuf> {
        let target = self.path(id, format);
        if target.try_exists()? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", target.display()),
            ));
        }
        fs::rename(self.quarantined_path(id, format), &target)?;
        sync_dir(&self.dir)?;
        sync_dir(&self.orphans_dir())?;
        Ok(target)
    }

    /// Lists `photos/orphans/` (empty when it does not exist).
    pub fn scan_quarantine(&self) -> io::Result<Vec<PhotoFileEntry>> {
        match fs::read_dir(self.orphans_dir()) {
            Ok(dir) => list(dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Removes a file inside the directory and syncs the directory.
    pub fn remove_path(&self, path: &Path) -> io::Result<()> {
        match fs::remove_file(path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Lists the directory, classifying each entry.
    pub fn scan(&self) -> io::Result<Vec<PhotoFileEntry>> {
        list(fs::read_dir(&self.dir)?)
    }
}

fn list(dir: fs::ReadDir) -> io::Result<Vec<PhotoFileEntry>> {
    let mut entries = Vec::new();
    for entry in dir {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        entries.push(classify(name).unwrap_or_else(|| {
            if name.starts_with(TEMP_PREFIX) {
                PhotoFileEntry::Temporary(path.clone())
            } else {
                PhotoFileEntry::Other(path.clone())
            }
        }));
    }
    Ok(entries)
}

fn classify(name: &str) -> Option<PhotoFileEntry> {
    let (stem, ext) = name.rsplit_once('.')?;
    let format = [PhotoFormat::Jpeg, PhotoFormat::Png]
        .into_iter()
        .find(|f| f.extension() == ext)?;
    Some(PhotoFileEntry::Photo(stem.parse().ok()?, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_scan_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = PhotoFiles::open(dir.path().join("photos")).expect("open");
        let id = PhotoId::new();
        let path = files
            .write(id, PhotoFormat::Jpeg, b"\xff\xd8\xffdata")
            .expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"\xff\xd8\xffdata");
        fs::write(files.dir().join(format!("{TEMP_PREFIX}x")), b"partial").expect("temp");
        fs::write(files.dir().join("notes.txt"), b"x").expect("other");
        let mut scan = files.scan().expect("scan");
        scan.sort_by_key(|e| format!("{e:?}"));
        assert_eq!(scan.len(), 3);
        assert!(scan.contains(&PhotoFileEntry::Photo(id, PhotoFormat::Jpeg)));
        assert!(
            scan.iter()
                .any(|e| matches!(e, PhotoFileEntry::Temporary(_)))
        );
        assert!(scan.iter().any(|e| matches!(e, PhotoFileEntry::Other(_))));
        let quarantined = files.quarantine(id, PhotoFormat::Jpeg).expect("quarantine");
        assert!(!path.exists());
        assert_eq!(fs::read(&quarantined).expect("read"), b"\xff\xd8\xffdata");
        assert_eq!(
            files.scan_quarantine().expect("scan quarantine"),
            vec![PhotoFileEntry::Photo(id, PhotoFormat::Jpeg)]
        );
        // A second file of the same name never overwrites the first.
        files
            .write(id, PhotoFormat::Jpeg, b"second")
            .expect("write");
        let second = files.quarantine(id, PhotoFormat::Jpeg).expect("quarantine");
        assert_ne!(second, quarantined);
        assert_eq!(fs::read(&quarantined).expect("read"), b"\xff\xd8\xffdata");
        files.restore(id, PhotoFormat::Jpeg).expect("restore");
        assert_eq!(fs::read(&path).expect("read"), b"\xff\xd8\xffdata");
        // Restoring over a file already in place is refused.
        fs::write(files.quarantined_path(id, PhotoFormat::Jpeg), b"x").expect("write");
        assert!(files.restore(id, PhotoFormat::Jpeg).is_err());
        assert_eq!(fs::read(&path).expect("read"), b"\xff\xd8\xffdata");
        files.remove(id, PhotoFormat::Jpeg).expect("remove");
        files
            .remove(id, PhotoFormat::Jpeg)
            .expect("removing twice is fine");
        assert!(!path.exists());
    }

    #[test]
    fn existing_temp_name_fails_without_touching_the_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = PhotoFiles::open(dir.path().to_owned()).expect("open");
        let id = PhotoId::new();
        fs::create_dir(dir.path().join(format!("{TEMP_PREFIX}{id}"))).expect("blocker");
        assert!(files.write(id, PhotoFormat::Png, b"x").is_err());
        assert!(!files.path(id, PhotoFormat::Png).exists());
    }
}
