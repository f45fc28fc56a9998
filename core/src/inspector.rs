//! The core's front door: one data directory, its store and its photo files.

use std::collections::HashSet;
use std::fs::{self, File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::detect::{DetectError, Detector};
use crate::detections::{DetectionResult, DetectionSource};
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, NewInspection, Photo, PhotoId, PhotoState};
use crate::photo_files::{PhotoFileEntry, PhotoFiles};
use crate::photo_probe::{self, PhotoLimits};
use crate::store::inspections::{self, InspectionFilter, InspectionSummary};
use crate::store::photos::{self, StateCounts};
use crate::store::{Store, detection_results};
use crate::timestamp::Timestamp;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "inspections.sqlite3";
/// The photos directory inside the data directory.
pub const PHOTOS_DIR: &str = "photos";
/// The lock file that keeps a second process out of the data directory.
const LOCK_FILE: &str = ".lock";
/// The failure reason given to a photo whose file disappeared.
pub const MISSING_FILE_REASON: &str = "photo file missing";

/// Settings for [`Inspector::open`].
#[derive(Clone, Debug)]
pub struct InspectorConfig {
    /// Size limits applied to captured photos.
    pub photo_limits: PhotoLimits,
    /// How long a write waits for a lock held by another connection.
    pub busy_timeout: Duration,
}

impl Default for InspectorConfig {
    fn default() -> Self {
        Self {
            photo_limits: PhotoLimits::default(),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// What [`Inspector::open`] found and repaired.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpenReport {
    /// Photo files without a row (a crash between rename and commit), removed.
    pub orphan_files_removed: Vec<PathBuf>,
    /// Interrupted temporary writes, removed.
    pub temp_files_removed: usize,
    /// Photos whose file is missing, now `failed` with reason "photo file missing".
    pub missing_files: Vec<PhotoId>,
}

/// A photo with every detection result stored for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PhotoDetail {
    /// The photo.
    #[serde(flatten)]
    pub photo: Photo,
    /// Its results, oldest first.
    pub results: Vec<DetectionResult>,
    /// Which source's result is current: the newest cloud result when there is one (the
    /// cloud model is preferred), else the newest edge result.
    pub current: Option<DetectionSource>,
}

impl PhotoDetail {
    /// Wraps a photo and its results, working out which one is current.
    pub fn new(photo: Photo, results: Vec<DetectionResult>) -> Self {
        let current = [DetectionSource::Cloud, DetectionSource::Edge]
            .into_iter()
            .find(|source| results.iter().any(|r| r.detections.source == *source));
        Self {
            photo,
            results,
            current,
        }
    }

    /// The current result (see [`PhotoDetail::current`]).
    pub fn current_result(&self) -> Option<&DetectionResult> {
        let source = self.current?;
        self.results
            .iter()
            .rev()
            .find(|r| r.detections.source == source)
    }
}

/// An inspection with its photos and their detections.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InspectionDetail {
    /// The inspection.
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Its photos, oldest first.
    pub photos: Vec<PhotoDetail>,
}

/// What [`Inspector::detect_photo`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DetectOutcome {
    /// The detector ran and its result is stored.
    Detected(DetectionResult),
    /// This model already has a stored result for the photo; nothing ran.
    AlreadyDone,
    /// The photo cannot be decoded; it is marked unreadable and never retried.
    Unreadable {
        /// The decoder's reason.
        reason: String,
    },
}

/// Totals over the whole store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Inspections stored.
    pub inspections: u64,
    /// Photos per state ("12 photos waiting for signal" is `photos.queued`).
    pub photos: StateCounts,
}

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
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(Error::io(format!("cannot open {}", lock_path.display())))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Error::DataDirLocked { path: data_dir });
            }
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("cannot lock {}", lock_path.display()))(e));
            }
        }
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

    /// What opening found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.open_report
    }

    /// Where a photo's original is stored.
    pub fn photo_path(&self, photo: &Photo) -> PathBuf {
        self.files.path(photo.id, photo.format)
    }

    /// Opens a new inspection.
    pub fn create_inspection(&self, new: NewInspection) -> Result<Inspection> {
        if let Some(location) = &new.location {
            validate_location(location)?;
        }
        let inspection = Inspection {
            id: InspectionId::new(),
            container_number: new.container_number,
            inspector_id: new.inspector_id,
            created_at: Timestamp::now(),
            closed_at: None,
            location: new.location,
            notes: new.notes,
        };
        self.store
            .write(|tx| inspections::insert(tx, &inspection).map_err(Error::from))?;
        Ok(inspection)
    }

    /// Closes an inspection (no-op if already closed) and returns it.
    pub fn close_inspection(&self, id: InspectionId) -> Result<Inspection> {
        self.store.write(|tx| {
            inspections::close(tx, id, Timestamp::now())?;
            inspections::get(tx, id)?.ok_or(Error::InspectionNotFound(id))
        })
    }

    /// Stores a captured photo for `inspection` and returns it, state `queued`.
    ///
    /// The bytes are checked from the header only (format, dimensions, limits), written
    /// untouched and durably to `photos/<id>.<ext>`, then recorded in one transaction.
    /// When this returns `Ok` the capture survives a killed process; when it returns an
    /// error nothing was stored.
    pub fn add_photo(
        &self,
        inspection: InspectionId,
        bytes: &[u8],
        captured_at: impl Into<Timestamp>,
    ) -> Result<Photo> {
        let header = photo_probe::probe(bytes, self.config.photo_limits)?;
        let id = PhotoId::new();
        // Hash on a second thread while the file is written and fsynced: the write is
        // bound by the disk, the hash by the CPU.
        let (sha256, written) = std::thread::scope(|scope| {
            let hasher = scope.spawn(|| hex(&Sha256::digest(bytes)));
            let written = self.files.write(id, header.format, bytes);
            let sha256 = hasher
                .join()
                .unwrap_or_else(|_| hex(&Sha256::digest(bytes)));
            (sha256, written)
        });
        let path = written.map_err(Error::io(format!("cannot store photo {id}")))?;
        let photo = Photo {
            id,
            inspection_id: inspection,
            format: header.format,
            sha256,
            size_bytes: bytes.len() as u64,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            captured_at: captured_at.into(),
            created_at: Timestamp::now(),
            state: PhotoState::Queued,
            attempt_count: 0,
            next_attempt_at: None,
            last_error: None,
            failure_reason: None,
            unreadable_reason: None,
        };
        let inserted = self.store.write(|tx| {
            if !inspections::exists(tx, inspection)? {
                return Err(Error::InspectionNotFound(inspection));
            }
            photos::insert(tx, &photo)?;
            Ok(())
        });
        if let Err(e) = inserted {
            // Not acknowledged: the file must not outlive the failed insert. If removal
            // fails too, the next open removes the orphan.
            let _ = self.files.remove_path(&path);
            return Err(e);
        }
        Ok(photo)
    }

    /// Inspections matching `filter`, newest first, with photo counts per state.
    pub fn list_inspections(&self, filter: &InspectionFilter) -> Result<Vec<InspectionSummary>> {
        Ok(self.store.read(|tx| inspections::list(tx, filter))?)
    }

    /// One inspection with its photos and every detection result stored for them.
    pub fn inspection(&self, id: InspectionId) -> Result<InspectionDetail> {
        let detail = self.store.read(|tx| {
            let Some(inspection) = inspections::get(tx, id)? else {
                return Ok(None);
            };
            let photos = photos::for_inspection(tx, id)?
                .into_iter()
                .map(|photo| {
                    let results = detection_results::for_photo(tx, photo.id)?;
                    Ok::<_, crate::store::StoreError>(PhotoDetail::new(photo, results))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(InspectionDetail { inspection, photos }))
        })?;
        detail.ok_or(Error::InspectionNotFound(id))
    }

    /// Counts over the whole store.
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.store.read(|tx| {
            Ok(Stats {
                inspections: inspections::count(tx)?,
                photos: photos::state_counts(tx)?,
            })
        })?)
    }

    /// One photo by id.
    pub fn photo(&self, id: PhotoId) -> Result<Photo> {
        self.store
            .read(|tx| photos::get(tx, id))?
            .ok_or(Error::PhotoNotFound(id))
    }

    /// Every detection result stored for a photo, oldest first.
    pub fn stored_results(&self, id: PhotoId) -> Result<Vec<DetectionResult>> {
        Ok(self.store.read(|tx| detection_results::for_photo(tx, id))?)
    }

    /// Photos that still need a result from the model with `model_sha256` (readable, file
    /// present), oldest first, at most `limit`.
    pub fn pending_detection(&self, model_sha256: &str, limit: u32) -> Result<Vec<Photo>> {
        Ok(self
            .store
            .read(|tx| photos::pending_edge(tx, model_sha256, limit))?)
    }

    /// Runs `detector` on a stored photo and stores its result beside any other.
    ///
    /// Idempotent per model: a photo that already has a result from this detector's source
    /// and model is not run again. A photo that cannot be decoded is marked unreadable with
    /// the decoder's reason and is skipped from then on.
    pub fn detect_photo(&self, detector: &dyn Detector, id: PhotoId) -> Result<DetectOutcome> {
        let photo = self.photo(id)?;
        if let Some(reason) = photo.unreadable_reason {
            return Ok(DetectOutcome::Unreadable { reason });
        }
        let sha = &detector.identity().sha256;
        let source = detector.source();
        let done = self
            .store
            .read(|tx| detection_results::exists(tx, id, source, sha))?;
        if done {
            return Ok(DetectOutcome::AlreadyDone);
        }
        let path = self.files.path(photo.id, photo.format);
        let bytes =
            fs::read(&path).map_err(Error::io(format!("cannot read {}", path.display())))?;
        match detector.detect(&bytes) {
            Ok(detections) => {
                let result = DetectionResult {
                    photo_id: id,
                    created_at: Timestamp::now(),
                    detections,
                };
                self.store
                    .write(|tx| detection_results::insert(tx, &result).map_err(Error::from))?;
                Ok(DetectOutcome::Detected(result))
            }
            Err(DetectError::Decode(reason)) => {
                let reason = reason.to_string();
                self.store
                    .write(|tx| photos::mark_unreadable(tx, id, &reason).map_err(Error::from))?;
                Ok(DetectOutcome::Unreadable { reason })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queued photos due for a cloud attempt at `now`, oldest first, except `in_flight`.
    pub fn due_for_sync(
        &self,
        now: Timestamp,
        in_flight: &[PhotoId],
        limit: u32,
    ) -> Result<Vec<Photo>> {
        Ok(self
            .store
            .read(|tx| photos::due_for_sync(tx, now, in_flight, limit))?)
    }

    /// When the earliest queued photo waiting for a retry becomes due.
    pub fn next_sync_retry_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.read(photos::next_retry_at)?)
    }

    /// The original bytes of a stored photo.
    pub fn read_photo(&self, photo: &Photo) -> Result<Vec<u8>> {
        let path = self.files.path(photo.id, photo.format);
        fs::read(&path).map_err(Error::io(format!("cannot read {}", path.display())))
    }

    /// Stores a photo's cloud result and marks it synced, in one transaction.
    ///
    /// Exactly once: when the photo is no longer queued (an earlier answer was stored, or it
    /// failed), nothing is written and `false` is returned.
    pub fn store_cloud_result(&self, result: &DetectionResult) -> Result<bool> {
        self.store.write(|tx| {
            if !photos::mark_synced(tx, result.photo_id)? {
                return Ok(false);
            }
            detection_results::insert(tx, result)?;
            Ok(true)
        })
    }

    /// Records a failed cloud attempt and when to try again.
    pub fn record_sync_failure(
        &self,
        id: PhotoId,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> Result<bool> {
        self.store.write(|tx| {
            Ok(photos::record_failed_attempt(
                tx,
                id,
                error,
                next_attempt_at,
            )?)
        })
    }

    /// Gives up on a photo's cloud sync with `reason` (it stays until retried by hand).
    pub fn fail_sync(&self, id: PhotoId, error: &str, reason: &str) -> Result<bool> {
        self.store.write(|tx| {
            photos::record_failed_attempt(tx, id, error, Timestamp::now())?;
            Ok(photos::mark_failed(tx, id, reason)?)
        })
    }

    /// Puts failed photos (or just `only`) back in the cloud queue; returns how many.
    pub fn retry_failed(&self, only: Option<PhotoId>) -> Result<u64> {
        self.store.write(|tx| Ok(photos::requeue_failed(tx, only)?))
    }

    /// `PRAGMA integrity_check` of the database: `["ok"]` when sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(self.store.integrity_check()?)
    }

    /// Makes the photo files agree with the database after a crash: orphan files (no row)
    /// and temporaries are removed; rows without a file are failed, never dropped.
    fn reconcile(&self) -> Result<OpenReport> {
        let dir = self.files.dir().display().to_string();
        let entries = self
            .files
            .scan()
            .map_err(Error::io(format!("cannot list {dir}")))?;
        let rows = self.store.read(photos::all_files)?;
        let known: HashSet<PhotoId> = rows.iter().map(|(id, _, _)| *id).collect();
        let mut present = HashSet::new();
        let mut report = OpenReport::default();
        for entry in entries {
            match entry {
                PhotoFileEntry::Photo(id, format) if known.contains(&id) => {
                    present.insert((id, format));
                }
                PhotoFileEntry::Photo(id, format) => {
                    let path = self.files.path(id, format);
                    self.files
                        .remove_path(&path)
                        .map_err(Error::io(format!("cannot remove {}", path.display())))?;
                    report.orphan_files_removed.push(path);
                }
                PhotoFileEntry::Temporary(path) => {
                    self.files
                        .remove_path(&path)
                        .map_err(Error::io(format!("cannot remove {}", path.display())))?;
                    report.temp_files_removed += 1;
                }
                PhotoFileEntry::Other(_) => {}
            }
        }
        let missing: Vec<PhotoId> = rows
            .into_iter()
            .filter(|(id, format, reason)| {
                !present.contains(&(*id, *format)) && reason.as_deref() != Some(MISSING_FILE_REASON)
            })
            .map(|(id, _, _)| id)
            .collect();
        if !missing.is_empty() {
            self.store.write(|tx| {
                for id in &missing {
                    photos::mark_failed(tx, *id, MISSING_FILE_REASON)?;
                }
                Ok::<_, Error>(())
            })?;
        }
        report.missing_files = missing;
        Ok(report)
    }
}

fn validate_location(location: &crate::inspection::Location) -> Result<()> {
    let ok = location.latitude.is_finite()
        && location.longitude.is_finite()
        && (-90.0..=90.0).contains(&location.latitude)
        && (-180.0..=180.0).contains(&location.longitude)
        && location
            .accuracy_m
            .is_none_or(|a| a.is_finite() && a >= 0.0);
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidLocation(format!(
            "lat {}, lon {}, accuracy {:?} m",
            location.latitude, location.longitude, location.accuracy_m
        )))
    }
}

/// Lowercase hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
