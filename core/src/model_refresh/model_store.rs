//! The refreshed models on disk and how they are swapped:
//!
//! ```text
//! <data_dir>/models/
//!   .lock                      held by one update or rollback at a time
//!   state.json                 ETag of the last manifest settled (see `docs/model-refresh.md`)
//!   history.json               the newest version installed (replay floor), models rolled back
//!   active/{model.onnx, manifest.json}     the model in use
//!   previous/{model.onnx, manifest.json}   the one it replaced (rollback target)
//!   staging/download.part, download.json   a download in progress and what it is for
//!   staging/next/                          a verified model about to become active
//!   staging/rollback/, staging/trash/      directories in the middle of a swap
//! ```
//!
//! Every swap is a sequence of directory renames followed by an fsync of `models/`; a crash
//! at any point leaves a state [`ModelStore::recover`] completes or undoes. Loading always
//! re-checks the file's SHA-256 against the slot's manifest, so a half-written file is never
//! given to tract.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::RefreshError;
use crate::detect::{Detector as _, EdgeDetector, EdgeDetectorConfig};
use crate::model_manifest::ModelManifest;
use omni_durable::{sync_dir, try_lock, write_atomic};
pub(crate) use omni_protocol::digest::sha256_hex;

/// The model file inside a slot, in either format the edge runtime reads, told apart by its
/// bytes (`device_model::is_device_model`): the device format (a gzipped NNEF tar, what
/// `publish` ships) or ONNX (an int8 model). The name predates the device format; it stays so
/// that the models phones have installed keep loading.
pub const MODEL_FILE: &str = "model.onnx";
/// The verified manifest inside a slot (the signed payload, as JSON).
pub const MANIFEST_FILE: &str = "manifest.json";

/// Where a model comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Slot {
    /// `models/active/`.
    Active,
    /// `models/previous/`.
    Previous,
    /// The demo model compiled into the core.
    Bundled,
}

impl Slot {
    /// `active`, `previous` or `bundled`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Previous => "previous",
            Self::Bundled => "bundled",
        }
    }
}

/// A slot that was skipped while loading, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// The slot skipped.
    pub slot: Slot,
    /// Why it could not be used.
    pub reason: String,
}

/// The model to run, and how it was chosen.
#[derive(Debug)]
pub struct LoadedModel {
    /// The detector, ready to run.
    pub detector: EdgeDetector,
    /// The slot it came from.
    pub slot: Slot,
    /// Its manifest (`None` for the bundled model).
    pub manifest: Option<ModelManifest>,
    /// Slots tried first that could not be used (empty when the first choice loaded; a
    /// missing `active/` when nothing was ever installed is not a fallback).
    pub fallbacks: Vec<Fallback>,
}

/// No model could be loaded at all.
#[derive(Debug, thiserror::Error)]
#[error("no loadable edge model: {}", .0.iter().map(|f| format!("{}: {}", f.slot.as_str(), f.reason)).collect::<Vec<_>>().join("; "))]
pub struct NoModel(pub Vec<Fallback>);

/// ETag of the last manifest whose outcome is settled (installed, up to date, or refused).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshState {
    pub manifest_url: String,
    pub etag: String,
    /// Fingerprint of the trust settings the manifest was judged under.
    pub config: String,
}

/// What the device remembers across updates, whatever the server's ETags say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct RefreshHistory {
    /// The newest version ever installed: older manifests are replays.
    pub floor: Option<semver::Version>,
    /// Models rolled back from, by version and SHA-256: never installed again.
    pub rolled_back: Vec<(semver::Version, String)>,
}

impl RefreshHistory {
    /// Whether this model was rolled back here.
    pub fn was_rolled_back(&self, version: &semver::Version, sha256: &str) -> bool {
        self.rolled_back
            .iter()
            .any(|(v, sha)| v == version && sha.eq_ignore_ascii_case(sha256))
    }
}

/// Resume bookkeeping of `staging/download.part`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct DownloadMeta {
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// The floor model, run when no refreshed model is installed or loadable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum BundledModel {
    /// The demo model compiled into this build (feature `bundled-model`: the CLI, tests).
    #[default]
    Compiled,
    /// A model file shipped with the app (an Android asset copied out, an iOS bundle
    /// resource): the mobile library does not carry the model in its code.
    File(PathBuf),
}

/// The `models/` directory of one data directory.
#[derive(Clone, Debug)]
pub struct ModelStore {
    root: PathBuf,
    bundled: BundledModel,
}

impl ModelStore {
    /// The store under `<data_dir>/models` (created on first write), falling back to the
    /// compiled-in model.
    pub fn new(data_dir: &Path) -> Self {
        Self::with_bundled(data_dir, BundledModel::Compiled)
    }

    /// The store under `<data_dir>/models`, falling back to `bundled`.
    pub fn with_bundled(data_dir: &Path, bundled: BundledModel) -> Self {
        Self {
            root: data_dir.join("models"),
            bundled,
        }
    }

    /// `<data_dir>/models`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a slot (`None` for the bundled model).
    pub fn slot_dir(&self, slot: Slot) -> Option<PathBuf> {
        match slot {
            Slot::Active => Some(self.root.join("active")),
            Slot::Previous => Some(self.root.join("previous")),
            Slot::Bundled => None,
        }
    }

    pub(crate) fn staging(&self) -> PathBuf {
        self.root.join("staging")
    }

    pub(crate) fn part_path(&self) -> PathBuf {
        self.staging().join("download.part")
    }

    fn meta_path(&self) -> PathBuf {
        self.staging().join("download.json")
    }

    fn next_dir(&self) -> PathBuf {
        self.staging().join("next")
    }

    fn rollback_dir(&self) -> PathBuf {
        self.staging().join("rollback")
    }

    fn trash_dir(&self) -> PathBuf {
        self.staging().join("trash")
    }

    /// The manifest installed in `slot`, if its `manifest.json` is there and parses.
    pub fn installed(&self, slot: Slot) -> Option<ModelManifest> {
        let dir = self.slot_dir(slot)?;
        let bytes = fs::read(dir.join(MANIFEST_FILE)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Loads the model to run: `active/`, else `previous/`, else the bundled model, reporting
    /// each slot skipped. Each refreshed slot must have a manifest, a file of that size and
    /// SHA-256, load with `config`'s classes, and name the manifest's model and version.
    pub fn load(&self, config: &EdgeDetectorConfig) -> Result<LoadedModel, NoModel> {
        let mut fallbacks = Vec::new();
        for slot in [Slot::Active, Slot::Previous] {
            match self.load_slot(slot, config) {
                Ok(Some((detector, manifest))) => {
                    return Ok(LoadedModel {
                        detector,
                        slot,
                        manifest: Some(manifest),
                        fallbacks,
                    });
                }
                // Nothing installed is the normal state before any refresh.
                Ok(None) => {}
                Err(reason) => fallbacks.push(Fallback { slot, reason }),
            }
        }
        self.load_bundled(config, fallbacks)
    }

    fn load_bundled(
        &self,
        config: &EdgeDetectorConfig,
        mut fallbacks: Vec<Fallback>,
    ) -> Result<LoadedModel, NoModel> {
        let loaded = match &self.bundled {
            BundledModel::Compiled => compiled_model(config),
            BundledModel::File(path) => EdgeDetector::from_path(path, config)
                .map_err(|e| format!("{}: {e}", path.display())),
        };
        match loaded {
            Ok(detector) => Ok(LoadedModel {
                detector,
                slot: Slot::Bundled,
                manifest: None,
                fallbacks,
            }),
            Err(reason) => {
                fallbacks.push(Fallback {
                    slot: Slot::Bundled,
                    reason,
                });
                Err(NoModel(fallbacks))
            }
        }
    }

    /// Version and SHA-256 of the bundled model, when it can be read.
    pub(crate) fn bundled_identity(&self) -> Option<(semver::Version, String)> {
        let (version, sha256) = match &self.bundled {
            BundledModel::Compiled => compiled_identity()?,
            BundledModel::File(path) => {
                let detector =
                    EdgeDetector::from_path(path, &EdgeDetectorConfig::default()).ok()?;
                let identity = detector.identity();
                (identity.version.clone(), identity.sha256.clone())
            }
        };
        Some((semver::Version::parse(&version).ok()?, sha256))
    }

    /// Loads one refreshed slot: `Ok(None)` when the slot does not exist at all.
    pub fn load_slot(
        &self,
        slot: Slot,
        config: &EdgeDetectorConfig,
    ) -> Result<Option<(EdgeDetector, ModelManifest)>, String> {
        let Some(dir) = self.slot_dir(slot) else {
            return Ok(None);
        };
        if !dir.exists() {
            return Ok(None);
        }
        let manifest_bytes = fs::read(dir.join(MANIFEST_FILE))
            .map_err(|e| format!("cannot read {MANIFEST_FILE}: {e}"))?;
        let manifest: ModelManifest = serde_json::from_slice(&manifest_bytes)
            .map_err(|e| format!("{MANIFEST_FILE} is malformed: {e}"))?;
        let bytes =
            fs::read(dir.join(MODEL_FILE)).map_err(|e| format!("cannot read {MODEL_FILE}: {e}"))?;
        check_bytes(&bytes, &manifest)?;
        let detector = EdgeDetector::from_bytes(&bytes, config).map_err(|e| e.to_string())?;
        check_identity(&detector, &manifest)?;
        Ok(Some((detector, manifest)))
    }

    /// Takes `models/.lock` for one update or rollback; [`RefreshError::Busy`] if another
    /// process or thread holds it. Released when the file is dropped.
    pub(crate) fn lock(&self) -> Result<File, RefreshError> {
        fs::create_dir_all(&self.root).map_err(RefreshError::io(format!(
            "cannot create {}",
            self.root.display()
        )))?;
        let path = self.root.join(".lock");
        try_lock(&path)
            .map_err(RefreshError::io(format!("cannot lock {}", path.display())))?
            .ok_or(RefreshError::Busy)
    }

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

    /// The manifest of `slot` when its file is there with the manifest's size and SHA-256
    /// (a corrupted file, or a missing one, gives `None`).
    pub(crate) fn verified(&self, slot: Slot) -> Option<ModelManifest> {
        let manifest = self.installed(slot)?;
        let bytes = fs::read(self.slot_dir(slot)?.join(MODEL_FILE)).ok()?;
        check_bytes(&bytes, &manifest).ok()?;
        Some(manifest)
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

    pub(crate) fn read_history(&self) -> RefreshHistory {
        fs::read(self.root.join("history.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub(crate) fn write_history(&self, history: &RefreshHistory) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        let json = serde_json::to_vec_pretty(history).map_err(io::Error::other)?;
        write_atomic(&self.root.join("history.json"), &json)
    }

    pub(crate) fn read_state(&self) -> Option<RefreshState> {
        let bytes = fs::read(self.root.join("state.json")).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    pub(crate) fn write_state(&self, state: &RefreshState) -> io::Result<()> {
        fs::create_dir_all(&self.root)?;
        let json = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
        write_atomic(&self.root.join("state.json"), &json)
    }
}

/// Size and SHA-256 of `bytes` against `manifest`.
pub(crate) fn check_bytes(bytes: &[u8], manifest: &ModelManifest) -> Result<(), String> {
    if bytes.len() as u64 != manifest.size {
        return Err(format!(
            "{MODEL_FILE} is {} bytes, its manifest says {}",
            bytes.len(),
            manifest.size
        ));
    }
    let sha = sha256_hex(bytes);
    if !sha.eq_ignore_ascii_case(&manifest.sha256) {
        return Err(format!(
            "{MODEL_FILE} sha256 {sha} differs from its manifest's {}",
            manifest.sha256
        ));
    }
    Ok(())
}

/// The model's own name and version (ONNX metadata) against the manifest's.
pub(crate) fn check_identity(
    detector: &EdgeDetector,
    manifest: &ModelManifest,
) -> Result<(), String> {
    let identity = detector.identity();
    if identity.name != manifest.name || identity.version != manifest.version.to_string() {
        return Err(format!(
            "model metadata says {} {}, manifest says {} {}",
            identity.name, identity.version, manifest.name, manifest.version
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temp file: write, fsync, rename, directory fsync.
fn remove_dir_if_exists(dir: &Path) -> io::Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn remove_file_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The model compiled into this build.
#[cfg(feature = "bundled-model")]
fn compiled_model(config: &EdgeDetectorConfig) -> Result<EdgeDetector, String> {
    crate::bundled_model::detector(config).map_err(|e| e.to_string())
}

/// Version and SHA-256 of the model compiled into this build.
#[cfg(feature = "bundled-model")]
fn compiled_identity() -> Option<(String, String)> {
    let manifest = crate::bundled_model::manifest().ok()?;
    Some((manifest.version, manifest.sha256))
}

/// This build carries no model.
#[cfg(not(feature = "bundled-model"))]
fn compiled_identity() -> Option<(String, String)> {
    None
}

/// This build carries no model: the host must name a [`BundledModel::File`].
#[cfg(not(feature = "bundled-model"))]
fn compiled_model(_config: &EdgeDetectorConfig) -> Result<EdgeDetector, String> {
    Err("this build has no compiled-in model: pass the bundled model's file".into())
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
