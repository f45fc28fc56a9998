//! Swapping models on disk: a resumable download staged, then directory renames and an
//! fsync of `models/` for install and rollback, and [`ModelStore::recover`] for a swap a
//! crash cut short.

use std::fs::{self, File};
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{MANIFEST_FILE, MODEL_FILE, ModelStore, Slot};
use crate::model_manifest::ModelManifest;
use crate::model_refresh::error::RefreshError;
use omni_durable::{sync_dir, write_atomic};

/// Resume bookkeeping of `staging/download.part`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DownloadMeta {
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

impl ModelStore {
    /// Completes or undoes a swap a crash interrupted (call with the lock held):
    /// - `staging/trash/` is deleted;
    /// - `staging/rollback/` (a rollback cut short): `previous/` becomes `active/` if there is
    ///   no `active/`, then the rolled-back model becomes `previous/`;
    /// - `staging/next/` (an install cut short): if complete (its manifest is written last,
    ///   after the verified model) the install is finished, else it is deleted.
    pub(crate) fn recover(&self) -> io::Result<()> {
        let staging = self.staging();
        if !staging.exists() {
            return Ok(());
        }
        let active = self.root.join("active");
        let previous = self.root.join("previous");
        let rollback = self.rollback_dir();
        if rollback.exists() {
            if !active.exists() && previous.exists() {
                fs::rename(&previous, &active)?;
            }
            if previous.exists() {
                fs::rename(&rollback, self.trash_dir())?;
            } else {
                fs::rename(&rollback, &previous)?;
            }
        }
        let next = self.next_dir();
        if next.join(MANIFEST_FILE).exists() {
            // Verified and complete: finish the install.
            return self.commit_next();
        }
        remove_dir_if_exists(&next)?;
        sync_dir(&self.root)?;
        sync_dir(&staging)?;
        remove_dir_if_exists(&self.trash_dir())
    }

    /// Where the download for `meta` resumes: keeps `download.part` if it belongs to the same
    /// URL, hash and size, else starts over. Returns the bytes already there.
    pub(crate) fn prepare_download(&self, meta: &DownloadMeta) -> io::Result<u64> {
        fs::create_dir_all(self.staging())?;
        let current: Option<DownloadMeta> = fs::read(self.meta_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let part = self.part_path();
        if current.as_ref() == Some(meta)
            && let Ok(existing) = fs::metadata(&part)
            && existing.len() <= meta.size
        {
            return Ok(existing.len());
        }
        remove_file_if_exists(&part)?;
        let json = serde_json::to_vec(meta).map_err(io::Error::other)?;
        write_atomic(&self.meta_path(), &json)?;
        Ok(0)
    }

    /// Forgets the download in progress.
    pub(crate) fn discard_download(&self) -> io::Result<()> {
        remove_file_if_exists(&self.part_path())?;
        remove_file_if_exists(&self.meta_path())
    }

    /// Moves the verified `download.part` into `staging/next/` with its manifest (written
    /// last, fsynced), ready for [`ModelStore::commit_next`].
    pub(crate) fn stage_next(&self, manifest: &ModelManifest) -> io::Result<()> {
        let next = self.next_dir();
        remove_dir_if_exists(&next)?;
        fs::create_dir_all(&next)?;
        fs::rename(self.part_path(), next.join(MODEL_FILE))?;
        File::open(next.join(MODEL_FILE))?.sync_all()?;
        let json = serde_json::to_vec_pretty(manifest).map_err(io::Error::other)?;
        write_atomic(&next.join(MANIFEST_FILE), &json)?;
        sync_dir(&self.staging())?;
        remove_file_if_exists(&self.meta_path())
    }
    /// Removes an `active/` whose file no longer matches its manifest (corrupted on disk),
    /// so that installing over it keeps `previous/` as the rollback target. Returns whether
    /// it did.
    pub(crate) fn discard_corrupt_active(&self) -> io::Result<bool> {
        let active = self.root.join("active");
        if !active.exists() || self.verified(Slot::Active).is_some() {
            return Ok(false);
        }
        fs::create_dir_all(self.staging())?;
        remove_dir_if_exists(&self.trash_dir())?;
        fs::rename(&active, self.trash_dir())?;
        sync_dir(&self.root)?;
        remove_dir_if_exists(&self.trash_dir())?;
        Ok(true)
    }

    /// Makes `staging/next/` the active model: the old `active/` becomes `previous/` (the
    /// old `previous/` is deleted). With no `active/` (the bundled model was in use),
    /// `previous/` is left as it is.
    pub(crate) fn commit_next(&self) -> io::Result<()> {
        let active = self.root.join("active");
        let previous = self.root.join("previous");
        if active.exists() {
            if previous.exists() {
                remove_dir_if_exists(&self.trash_dir())?;
                fs::rename(&previous, self.trash_dir())?;
            }
            fs::rename(&active, &previous)?;
        }
        fs::rename(self.next_dir(), &active)?;
        sync_dir(&self.root)?;
        sync_dir(&self.staging())?;
        remove_dir_if_exists(&self.trash_dir())
    }

    /// Rolls back: swaps `active/` and `previous/`, or, with no `previous/`, removes
    /// `active/` so the bundled model runs. Returns the slot that is now in use.
    pub(crate) fn swap_back(&self) -> Result<Slot, RefreshError> {
        let active = self.root.join("active");
        let previous = self.root.join("previous");
        let io = |what: &str| RefreshError::io(format!("rollback: {what}"));
        if !active.exists() {
            return Err(RefreshError::NothingToRollBack);
        }
        fs::create_dir_all(self.staging()).map_err(io("create staging"))?;
        let slot = if previous.exists() {
            remove_dir_if_exists(&self.rollback_dir()).map_err(io("clear staging"))?;
            fs::rename(&active, self.rollback_dir()).map_err(io("move active aside"))?;
            fs::rename(&previous, &active).map_err(io("restore previous"))?;
            fs::rename(self.rollback_dir(), &previous).map_err(io("keep the rolled-back model"))?;
            Slot::Active
        } else {
            remove_dir_if_exists(&self.trash_dir()).map_err(io("clear staging"))?;
            fs::rename(&active, self.trash_dir()).map_err(io("move active aside"))?;
            Slot::Bundled
        };
        sync_dir(&self.root).map_err(io("fsync models/"))?;
        sync_dir(&self.staging()).map_err(io("fsync staging/"))?;
        remove_dir_if_exists(&self.trash_dir()).map_err(io("clear staging"))?;
        Ok(slot)
    }
}

/// Removes `dir` and what it holds; a missing one is fine.
fn remove_dir_if_exists(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Removes `path`; a missing one is fine.
fn remove_file_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A slot directory with a marker file telling which model it holds.
    fn slot(dir: &Path, marker: &str) {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(MODEL_FILE), marker).unwrap();
        fs::write(dir.join(MANIFEST_FILE), "{}").unwrap();
    }

    fn marker(dir: &Path) -> Option<String> {
        fs::read_to_string(dir.join(MODEL_FILE)).ok()
    }

    fn layout(store: &ModelStore) -> (Option<String>, Option<String>, bool) {
        (
            marker(&store.root.join("active")),
            marker(&store.root.join("previous")),
            store.next_dir().exists()
                || store.rollback_dir().exists()
                || store.trash_dir().exists(),
        )
    }

    fn store() -> (tempfile::TempDir, ModelStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = ModelStore::new(dir.path());
        fs::create_dir_all(store.staging()).unwrap();
        (dir, store)
    }

    #[test]
    fn recovery_finishes_every_interrupted_install() {
        let done = (Some("new".to_owned()), Some("old".to_owned()), false);
        // Staged, swap not started (an older previous/ still there).
        let (_d, s) = store();
        slot(&s.root.join("active"), "old");
        slot(&s.root.join("previous"), "older");
        slot(&s.next_dir(), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
        // previous/ moved to trash.
        let (_d, s) = store();
        slot(&s.root.join("active"), "old");
        slot(&s.trash_dir(), "older");
        slot(&s.next_dir(), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
        // active/ moved to previous/, next/ not yet active.
        let (_d, s) = store();
        slot(&s.root.join("previous"), "old");
        slot(&s.next_dir(), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
        // Staging cut short (no manifest yet): dropped, nothing else moves.
        let (_d, s) = store();
        slot(&s.root.join("active"), "old");
        fs::create_dir_all(s.next_dir()).unwrap();
        fs::write(s.next_dir().join(MODEL_FILE), "half").unwrap();
        s.recover().unwrap();
        assert_eq!(layout(&s), (Some("old".to_owned()), None, false));
    }

    #[test]
    fn recovery_finishes_every_interrupted_rollback() {
        let done = (Some("old".to_owned()), Some("new".to_owned()), false);
        // active/ moved aside.
        let (_d, s) = store();
        slot(&s.root.join("previous"), "old");
        slot(&s.rollback_dir(), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
        // previous/ already active.
        let (_d, s) = store();
        slot(&s.root.join("active"), "old");
        slot(&s.rollback_dir(), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
        // Completed swap: nothing to do.
        let (_d, s) = store();
        slot(&s.root.join("active"), "old");
        slot(&s.root.join("previous"), "new");
        s.recover().unwrap();
        assert_eq!(layout(&s), done);
    }

    #[test]
    fn a_partial_download_is_kept_only_for_the_same_file() {
        let (_d, s) = store();
        let meta = DownloadMeta {
            url: "http://127.0.0.1/a".into(),
            sha256: "ab".into(),
            size: 10,
        };
        assert_eq!(s.prepare_download(&meta).unwrap(), 0);
        fs::write(s.part_path(), b"12345").unwrap();
        assert_eq!(s.prepare_download(&meta).unwrap(), 5);
        let other = DownloadMeta {
            sha256: "cd".into(),
            ..meta.clone()
        };
        assert_eq!(s.prepare_download(&other).unwrap(), 0);
        assert!(!s.part_path().exists());
        // Longer than the file: start over.
        fs::write(s.part_path(), b"0123456789ab").unwrap();
        let longer = DownloadMeta { size: 4, ..other };
        assert_eq!(s.prepare_download(&longer).unwrap(), 0);
    }
}
