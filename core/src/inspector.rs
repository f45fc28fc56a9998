//! The inspector: one data directory, its store and its photo files (captures, queries,
//! reconciliation, quarantine). Hosts reach it through the front door, `OmniCore` (`app/`).

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

mod box_verdicts;
mod faces;
mod records;
pub use faces::ClosedInspection;
pub use records::{
    DetectOutcome, InspectionDetail, InspectorConfig, OpenReport, PhotoDetail, QuarantinedFile,
    RecoverReport, Recovery, SkippedFile, Stats,
};

use crate::detect::{DetectError, Detector};
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, NewInspection, Photo, PhotoId};
use crate::photo_files::{ORPHANS_DIR, PhotoFileEntry, PhotoFiles};
use crate::store::inspections::{self, InspectionFilter, InspectionSummary};
use crate::store::office::{self, InspectionAck, RecordKind};
use crate::store::photos::{self, PhotoFileRow};
use crate::store::{Store, detection_results};
use omni_photo::probe::{self as photo_probe, PhotoFormat, PhotoLimits};
use omni_protocol::digest::sha256_hex;
use omni_protocol::face::Face;
use omni_protocol::timestamp::Timestamp;

/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "inspections.sqlite3";
/// The photos directory inside the data directory.
pub const PHOTOS_DIR: &str = "photos";
/// The lock file that keeps a second process out of the data directory.
const LOCK_FILE: &str = ".lock";
/// The failure reason given to a photo whose file disappeared.
pub const MISSING_FILE_REASON: &str = "photo file missing";

/// A record the office lane sends next (see [`Inspector::due_office_record`]).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum OfficeRecord {
    /// An inspection revision the office has not acknowledged.
    Inspection(InspectionId),
    /// A photo the photo lane no longer sends that the office does not have.
    Photo(Box<Photo>),
    /// A verdict of a photo the office has.
    Verdict {
        /// `detection_results.id`.
        result_id: i64,
        /// The photo judged.
        photo: Box<Photo>,
        /// The verdict.
        result: Box<DetectionResult>,
    },
    /// A closed inspection the office has whole: read its report's verdict on the box.
    Report {
        /// The inspection.
        inspection: InspectionId,
        /// Its revision the office acknowledged.
        revision: u64,
    },
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
    pub fn photo_limits(&self) -> PhotoLimits {
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
            recovered_at: None,
            kind: new.kind,
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
        face: Face,
    ) -> Result<Photo> {
        let header = photo_probe::probe(bytes, self.config.photo_limits).inspect_err(|e| {
            tracing::warn!(%inspection, bytes = bytes.len(), error = %e, "photo refused");
        })?;
        let id = PhotoId::new();
        // Hash on a second thread while the file is written and fsynced: the write is
        // bound by the disk, the hash by the CPU.
        let (sha256, written) = std::thread::scope(|scope| {
            let hasher = scope.spawn(|| sha256_hex(bytes));
            let written = self.files.write(id, header.format, bytes);
            let sha256 = hasher.join().unwrap_or_else(|_| sha256_hex(bytes));
            (sha256, written)
        });
        let path = written.map_err(Error::io(format!("cannot store photo {id}")))?;
        let photo = Photo {
            face,
            ..Photo::queued(
                id,
                inspection,
                &header,
                bytes,
                sha256,
                captured_at.into(),
                Timestamp::now(),
            )
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
            // fails too, the next open quarantines the orphan.
            let _ = self.files.remove_path(&path);
            tracing::warn!(photo_id = %id, %inspection, error = %e, "photo not stored");
            return Err(e);
        }
        tracing::info!(
            photo_id = %id,
            %inspection,
            bytes = bytes.len(),
            width = photo.width,
            height = photo.height,
            "photo stored"
        );
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
                    let (office_at, verdicts_on_office) =
                        office::photo_acknowledgements(tx, photo.id)?;
                    let mut detail = PhotoDetail::new(photo, results);
                    detail.office_at = office_at;
                    detail.verdicts_on_office = verdicts_on_office;
                    Ok::<_, crate::store::StoreError>(detail)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let office = office::inspection_ack(tx, id)?.unwrap_or_default();
            Ok(Some(InspectionDetail {
                inspection,
                photos,
                office,
                faces: Default::default(),
                box_verdict: crate::store::box_verdicts::get(tx, id)?,
            }))
        })?;
        detail.ok_or(Error::InspectionNotFound(id))
    }

    /// Counts over the whole store.
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.store.read(|tx| {
            Ok(Stats {
                inspections: inspections::count(tx)?,
                photos: photos::state_counts(tx)?,
                office: office::counts(tx)?,
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
                tracing::info!(
                    photo_id = %id,
                    model = %result.detections.model.version,
                    detections = result.detections.detections.len(),
                    inference_ms = result.detections.inference_ms,
                    "edge detection stored"
                );
                Ok(DetectOutcome::Detected(result))
            }
            Err(DetectError::Decode(reason)) => {
                let reason = reason.to_string();
                tracing::warn!(photo_id = %id, %reason, "photo cannot be decoded");
                self.store
                    .write(|tx| photos::mark_unreadable(tx, id, &reason).map_err(Error::from))?;
                Ok(DetectOutcome::Unreadable { reason })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Queued photos due for a cloud attempt at `now`, oldest first, except `in_flight`.
    pub(crate) fn due_for_sync(
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
    pub(crate) fn next_sync_retry_at(&self) -> Result<Option<Timestamp>> {
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
    /// failed), nothing is written and `false` is returned. A queued photo that somehow has
    /// this model's cloud result already is a broken guarantee, reported as an error (the
    /// transaction rolls back) rather than hidden by the table's uniqueness rule.
    ///
    /// `from_office`: the yard office produced the result (detection on upload), so it has
    /// the photo and the verdict; both are recorded as acknowledged in the same transaction.
    pub(crate) fn store_cloud_result(
        &self,
        result: &DetectionResult,
        from_office: bool,
    ) -> Result<bool> {
        self.store.write(|tx| {
            if !photos::mark_synced(tx, result.photo_id)? {
                return Ok(false);
            }
            if !detection_results::insert(tx, result)? {
                return Err(Error::Sync(format!(
                    "photo {} already has a cloud result of model {}: refusing a second",
                    result.photo_id, result.detections.model.sha256
                )));
            }
            if from_office {
                let now = Timestamp::now();
                office::acknowledge_photo(tx, result.photo_id, now)?;
                office::acknowledge_cloud_result(
                    tx,
                    result.photo_id,
                    &result.detections.model.sha256,
                    now,
                )?;
            }
            Ok(true)
        })
    }

    /// The yard office archived a photo without detecting it (it has no endpoint): the
    /// photo leaves the queue with the edge result standing and `note` saying why, and is
    /// recorded as acknowledged by the office, in one transaction. False when it was no
    /// longer queued.
    pub(crate) fn archive_without_cloud_result(&self, id: PhotoId, note: &str) -> Result<bool> {
        self.store.write(|tx| {
            if !photos::mark_synced_without_result(tx, id, note)? {
                return Ok(false);
            }
            office::acknowledge_photo(tx, id, Timestamp::now())?;
            Ok(true)
        })
    }

    /// Records a failed cloud attempt and when to try again.
    pub(crate) fn record_sync_failure(
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
    pub(crate) fn fail_sync(&self, id: PhotoId, error: &str, reason: &str) -> Result<bool> {
        self.store.write(|tx| {
            photos::record_failed_attempt(tx, id, error, Timestamp::now())?;
            Ok(photos::mark_failed(tx, id, reason)?)
        })
    }

    /// Puts failed photos (or just `only`) back in the cloud queue, and (without `only`)
    /// wedged office records back in the office lane; returns how many.
    pub fn retry_failed(&self, only: Option<PhotoId>) -> Result<u64> {
        self.store.write(|tx| {
            let photos = photos::requeue_failed(tx, only)?;
            let records = match only {
                Some(_) => 0,
                None => office::requeue_wedged(tx)?,
            };
            Ok(photos + records)
        })
    }

    // --- The office lane (crate-private plumbing of `sync::office`) -------------------

    /// An inspection and what the office acknowledged of it.
    pub(crate) fn office_inspection(
        &self,
        id: InspectionId,
    ) -> Result<(Inspection, InspectionAck)> {
        self.store
            .read(|tx| Ok(inspections::get(tx, id)?.zip(office::inspection_ack(tx, id)?)))?
            .ok_or(Error::InspectionNotFound(id))
    }

    /// Records that the office acknowledged `revision` of an inspection.
    pub(crate) fn acknowledge_inspection(&self, id: InspectionId, revision: u64) -> Result<bool> {
        self.store
            .write(|tx| Ok(office::acknowledge_inspection(tx, id, revision)?))
    }

    /// The office does not know the inspection: send it, its photos and verdicts again.
    pub(crate) fn forget_office_inspection(&self, id: InspectionId) -> Result<()> {
        self.store
            .write(|tx| Ok(office::forget_inspection(tx, id)?))
    }

    /// Whether the office has acknowledged the photo.
    pub(crate) fn photo_on_office(&self, id: PhotoId) -> Result<bool> {
        Ok(self
            .store
            .read(|tx| office::photo_acknowledged_at(tx, id))?
            .is_some())
    }

    /// Records that the office has the photo.
    pub(crate) fn acknowledge_photo(&self, id: PhotoId) -> Result<bool> {
        self.store
            .write(|tx| Ok(office::acknowledge_photo(tx, id, Timestamp::now())?))
    }

    /// The office lane's next records due at `now`: inspection revisions first, then
    /// photos, then verdicts (each needs the one before acknowledged), then report reads.
    pub(crate) fn due_office_record(&self, now: Timestamp) -> Result<Option<OfficeRecord>> {
        Ok(self.store.read(|tx| {
            if let Some(id) = office::due_inspections(tx, now, 1)?.pop() {
                return Ok(Some(OfficeRecord::Inspection(id)));
            }
            if let Some(photo) = office::due_photos(tx, now, 1)?.pop() {
                return Ok(Some(OfficeRecord::Photo(Box::new(photo))));
            }
            let Some(pending) = office::due_verdicts(tx, now, 1)?.pop() else {
                let due = crate::store::box_verdicts::due(tx, now, 1)?.pop();
                return Ok(due.map(|(inspection, revision)| OfficeRecord::Report {
                    inspection,
                    revision,
                }));
            };
            let result = detection_results::for_photo(tx, pending.photo_id)?
                .into_iter()
                .find(|r| {
                    r.detections.source == pending.source
                        && r.detections.model.sha256 == pending.model_sha256
                });
            let photo = photos::get(tx, pending.photo_id)?;
            Ok(result
                .zip(photo)
                .map(|(result, photo)| OfficeRecord::Verdict {
                    result_id: pending.result_id,
                    photo: Box::new(photo),
                    result: Box::new(result),
                }))
        })?)
    }

    /// Records that the office has the verdict `result_id`.
    pub(crate) fn acknowledge_verdict(&self, result_id: i64) -> Result<bool> {
        self.store.write(|tx| {
            Ok(office::acknowledge_verdict(
                tx,
                result_id,
                Timestamp::now(),
            )?)
        })
    }

    /// Attempts made so far for an office record.
    pub(crate) fn office_attempts(&self, kind: RecordKind, item: &str) -> Result<u32> {
        Ok(self.store.read(|tx| office::attempts(tx, kind, item))?)
    }

    /// Records a failed attempt of an office record and when to try again.
    pub(crate) fn record_office_failure(
        &self,
        kind: RecordKind,
        item: &str,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> Result<()> {
        self.store.write(|tx| {
            Ok(office::record_failure(
                tx,
                kind,
                item,
                error,
                next_attempt_at,
            )?)
        })
    }

    /// Gives up on an office record with `reason` until retried by hand.
    pub(crate) fn wedge_office_record(
        &self,
        kind: RecordKind,
        item: &str,
        error: &str,
        reason: &str,
    ) -> Result<()> {
        self.store
            .write(|tx| Ok(office::wedge(tx, kind, item, error, reason)?))
    }

    /// When the earliest office record waiting for a retry becomes due.
    pub(crate) fn next_office_retry_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.read(office::next_retry_at)?)
    }

    /// `PRAGMA integrity_check` of the database: `["ok"]` when sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(self.store.integrity_check()?)
    }

    /// Files waiting in `photos/orphans/`, oldest first.
    pub fn quarantined_files(&self) -> Result<Vec<QuarantinedFile>> {
        let dir = self.files.orphans_dir();
        let entries = self
            .files
            .scan_quarantine()
            .map_err(Error::io(format!("cannot list {}", dir.display())))?;
        let mut files = Vec::with_capacity(entries.len());
        for entry in entries {
            let (path, photo_id) = match entry {
                PhotoFileEntry::Photo(id, format) => {
                    (self.files.quarantined_path(id, format), Some(id))
                }
                PhotoFileEntry::Temporary(path) | PhotoFileEntry::Other(path) => (path, None),
            };
            let size_bytes = fs::metadata(&path)
                .map_err(Error::io(format!("cannot read {}", path.display())))?
                .len();
            files.push(QuarantinedFile {
                stored_at: photo_id.and_then(id_time),
                path,
                photo_id,
                size_bytes,
            });
        }
        files.sort_by(|a, b| (a.stored_at, &a.path).cmp(&(b.stored_at, &b.path)));
        Ok(files)
    }

    /// Re-adopts quarantined photo files into one new inspection marked as recovered
    /// (`recovered_at`), queued for the cloud again. Each file is checked as a capture is
    /// (format, size limits) and hashed; a file that fails, or whose id already has a row,
    /// stays in quarantine and is reported. The files move back to `photos/` before the
    /// rows are committed, so a crash in between leaves them to be quarantined again.
    pub fn recover_quarantined(&self, recovery: Recovery) -> Result<RecoverReport> {
        let mut skipped = Vec::new();
        let mut adopt = Vec::new();
        for file in self.quarantined_files()? {
            let Some(id) = file.photo_id else {
                skipped.push(SkippedFile {
                    reason: "name is not <photo-id>.<jpg|png>".into(),
                    path: file.path,
                });
                continue;
            };
            if recovery
                .only
                .as_ref()
                .is_some_and(|only| !only.contains(&id))
            {
                continue;
            }
            match self.adoptable(id, &file.path) {
                Ok(photo) => adopt.push(photo),
                Err(reason) => skipped.push(SkippedFile {
                    path: file.path,
                    reason,
                }),
            }
        }
        if adopt.is_empty() {
            return Ok(RecoverReport {
                inspection: None,
                adopted: Vec::new(),
                skipped,
            });
        }
        let now = Timestamp::now();
        let inspection = Inspection {
            id: InspectionId::new(),
            container_number: recovery.container_number,
            inspector_id: recovery.inspector_id,
            created_at: adopt.iter().map(|p| p.created_at).min().unwrap_or(now),
            closed_at: Some(now),
            location: None,
            notes: Some(format!(
                "recovered from {} quarantined photo file(s)",
                adopt.len()
            )),
            recovered_at: Some(now),
            kind: None,
        };
        let mut moved = Vec::with_capacity(adopt.len());
        for photo in &mut adopt {
            photo.inspection_id = inspection.id;
            match self.files.restore(photo.id, photo.format) {
                Ok(_) => moved.push((photo.id, photo.format)),
                Err(e) => {
                    self.undo_restores(&moved);
                    return Err(Error::io(format!("cannot restore photo {}", photo.id))(e));
                }
            }
        }
        let inserted = self.store.write(|tx| {
            inspections::insert(tx, &inspection)?;
            for photo in &adopt {
                photos::insert(tx, photo)?;
            }
            Ok::<_, Error>(())
        });
        if let Err(e) = inserted {
            self.undo_restores(&moved);
            return Err(e);
        }
        Ok(RecoverReport {
            inspection: Some(inspection),
            adopted: adopt.iter().map(|p| p.id).collect(),
            skipped,
        })
    }

    /// The row a quarantined file would get, or why it cannot be adopted.
    fn adoptable(&self, id: PhotoId, path: &Path) -> std::result::Result<Photo, String> {
        if self
            .store
            .read(|tx| photos::get(tx, id))
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Err(format!(
                "photo {id} already has a row (with another file); compare them by hand"
            ));
        }
        let bytes = fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
        let header = photo_probe::probe(&bytes, self.config.photo_limits)
            .map_err(|e| format!("not an acceptable photo: {e}"))?;
        if self.files.quarantined_path(id, header.format) != path {
            return Err(format!(
                "content is {} but the name says otherwise",
                header.format.as_str()
            ));
        }
        let stored_at = id_time(id).unwrap_or_else(Timestamp::now);
        Ok(Photo::queued(
            id,
            InspectionId::new(),
            &header,
            &bytes,
            sha256_hex(&bytes),
            stored_at,
            stored_at,
        ))
    }

    /// Puts files moved back by a failed recovery into quarantine again (best effort: the
    /// next open quarantines whatever is left).
    fn undo_restores(&self, moved: &[(PhotoId, PhotoFormat)]) {
        for (id, format) in moved {
            let _ = self.files.quarantine(*id, *format);
        }
    }

    /// Makes the photo files agree with the database after a crash or a lost database:
    /// files without a row are quarantined (never deleted), quarantined files whose row is
    /// back are restored, temporaries are removed, rows without a file are failed, never
    /// dropped.
    fn reconcile(&self) -> Result<OpenReport> {
        let dir = self.files.dir().display().to_string();
        let entries = self
            .files
            .scan()
            .map_err(Error::io(format!("cannot list {dir}")))?;
        let rows = self.store.read(photos::all_files)?;
        let known: HashSet<PhotoId> = rows.iter().map(|row| row.id).collect();
        let mut present = HashSet::new();
        let mut report = OpenReport::default();
        for entry in entries {
            match entry {
                PhotoFileEntry::Photo(id, format) if known.contains(&id) => {
                    present.insert((id, format));
                }
                PhotoFileEntry::Photo(id, format) => {
                    let path = self
                        .files
                        .quarantine(id, format)
                        .map_err(Error::io(format!(
                            "cannot quarantine {}",
                            self.files.path(id, format).display()
                        )))?;
                    report.orphans_quarantined.push(path);
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
        let mut missing = Vec::new();
        for row in rows {
            if present.contains(&(row.id, row.format)) {
                continue;
            }
            if self.restore_from_quarantine(&row)? {
                report.files_restored.push(row.id);
            } else if row.failure_reason.as_deref() != Some(MISSING_FILE_REASON) {
                missing.push(row.id);
            }
        }
        if !missing.is_empty() || !report.files_restored.is_empty() {
            self.store.write(|tx| {
                for id in &missing {
                    photos::mark_failed(tx, *id, MISSING_FILE_REASON)?;
                }
                for id in &report.files_restored {
                    photos::file_restored(tx, *id)?;
                }
                Ok::<_, Error>(())
            })?;
        }
        report.missing_files = missing;
        report.quarantined = self
            .files
            .scan_quarantine()
            .map_err(Error::io(format!("cannot list {dir}/{ORPHANS_DIR}")))?
            .len();
        Ok(report)
    }

    /// Moves a row's file back from quarantine when it is there with the row's SHA-256.
    fn restore_from_quarantine(&self, row: &PhotoFileRow) -> Result<bool> {
        let path = self.files.quarantined_path(row.id, row.format);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
        };
        if sha256_hex(&bytes) != row.sha256 {
            return Ok(false);
        }
        self.files
            .restore(row.id, row.format)
            .map_err(Error::io(format!("cannot restore {}", path.display())))?;
        Ok(true)
    }
}

/// When a time-ordered (UUIDv7) photo id was made.
fn id_time(id: PhotoId) -> Option<Timestamp> {
    let (secs, nanos) = id.as_uuid().get_timestamp()?.to_unix();
    let millis = i64::try_from(secs).ok()?.checked_mul(1000)? + i64::from(nanos / 1_000_000);
    Some(Timestamp::from_millis(millis))
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
