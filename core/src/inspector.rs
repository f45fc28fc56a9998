//! The inspector: one data directory, its store and its photo files.
//!
//! Hosts (the CLI, the bindings) reach it through the front door, `OmniCore` (`app/`), which
//! opens one per data directory and hands it to its sync engines. `Inspector` stays public
//! for what drives a data directory without the front door: the sync engine's constructors
//! ([`SyncEngine::new`](crate::sync::SyncEngine::new)), the trainer's labeling source (reads a
//! phone's data directory) and tests and benches that fill a store directly.
//!
//! By concept: `records` the record types hosts get back; `capture` what hosts write
//! (inspections, photos, edge detections, retries); `queries` what they read; `faces` the
//! container faces; `quarantine` reconciliation on open and recovery of quarantined files;
//! `sync_queue` and `office_queue` the cloud and office lanes' queues, borrowed by the sync
//! engine (crate-private).

use std::fs::{self, File};
use std::path::{Path, PathBuf};

mod capture;
mod faces;
mod office_queue;
mod quarantine;
mod queries;
mod records;
mod sync_queue;
pub use faces::ClosedInspection;
pub(crate) use office_queue::OfficeRecord;
pub use records::{
    DetectOutcome, InspectionDetail, InspectorConfig, OpenReport, PhotoDetail, QuarantinedFile,
    RecoverReport, Recovery, SkippedFile, Stats,
};

use crate::error::{Error, Result};
use crate::inspection::Photo;
use crate::photo_files::PhotoFiles;
use crate::store::Store;
use omni_photo::probe::PhotoLimits;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "inspections.sqlite3";
/// The photos directory inside the data directory.
const PHOTOS_DIR: &str = "photos";
/// The lock file that keeps a second process out of the data directory.
const LOCK_FILE: &str = ".lock";
/// The failure reason given to a photo whose file disappeared.
const MISSING_FILE_REASON: &str = "photo file missing";

/// Owns one data directory: the inspections database and the original photos.
///
/// Share it between threads behind an `Arc`: captures from several threads run their
/// file writes in parallel and serialise only on the single writer connection.
pub struct Inspector {
    data_dir: PathBuf,
    config: InspectorConfig,
    store: Store,
    files: PhotoFiles,
    open_report: OpenReport,
    _lock: File,
}

impl Inspector {
    /// Opens `data_dir`, creating it, migrating the database, and reconciling the photo
    /// files with the database (see [`OpenReport`]).
    pub fn open(data_dir: impl AsRef<Path>, config: InspectorConfig) -> Result<Self> {
        let data_dir = data_dir.as_ref().to_owned();
        fs::create_dir_all(&data_dir).map_err(Error::io(format!(
            "cannot create data directory {}",
            data_dir.display()
        )))?;
        let lock_path = data_dir.join(LOCK_FILE);
        let Some(lock) = omni_durable::try_lock(&lock_path)
            .map_err(Error::io(format!("cannot lock {}", lock_path.display())))?
        else {
            return Err(Error::DataDirLocked { path: data_dir });
        };
        let store = Store::open(&data_dir.join(DATABASE_FILE), config.busy_timeout)?;
        let photos_dir = data_dir.join(PHOTOS_DIR);
        let files = PhotoFiles::open(photos_dir.clone())
            .map_err(Error::io(format!("cannot create {}", photos_dir.display())))?;
        let mut inspector = Self {
            data_dir,
            config,
            store,
            files,
            open_report: OpenReport::default(),
            _lock: lock,
        };
        inspector.open_report = inspector.reconcile()?;
        Ok(inspector)
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The photo limits in force.
    pub(crate) fn photo_limits(&self) -> PhotoLimits {
        self.config.photo_limits
    }

    /// What opening found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// Where a photo's original is stored.
    pub fn photo_path(&self, photo: &Photo) -> PathBuf {
        self.files.path(photo.id, photo.format)
    }
}
