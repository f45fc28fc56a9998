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
//! at any point leaves a state `ModelStore::recover` completes or undoes. Loading always
//! re-checks the file's SHA-256 against the slot's manifest, so a half-written file is never
//! given to tract.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::RefreshError;
use crate::model_manifest::ModelManifest;
use omni_durable::{try_lock, write_atomic};
pub(crate) use omni_protocol::digest::sha256_hex;

mod load;
mod swap;

pub(crate) use load::check_identity;
pub use load::{BundledModel, Fallback, LoadedModel, NoModel};
pub(crate) use swap::DownloadMeta;

/// The model file inside a slot, in either format the edge runtime reads, told apart by its
/// bytes (`device_model::is_device_model`): the device format (a gzipped NNEF tar, what
/// `publish` ships) or ONNX (an int8 model). The name predates the device format; it stays so
/// that the models phones have installed keep loading.
const MODEL_FILE: &str = "model.onnx";
/// The verified manifest inside a slot (the signed payload, as JSON).
const MANIFEST_FILE: &str = "manifest.json";

/// Where a model comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "uniffi", uniffi(name = "ModelSlot"))]
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

    /// The directory of a slot (`None` for the bundled model).
    fn slot_dir(&self, slot: Slot) -> Option<PathBuf> {
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
