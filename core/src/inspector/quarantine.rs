//! Evidence kept whatever happened: reconciling the photo files with the database on open
//! (orphans quarantined, never deleted; rows without a file failed, never dropped), listing
//! the quarantine, and re-adopting quarantined photos into a recovered inspection.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use super::{
    Inspector, MISSING_FILE_REASON, OpenReport, QuarantinedFile, RecoverReport, Recovery,
    SkippedFile,
};
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, Photo, PhotoId};
use crate::photo_files::{ORPHANS_DIR, PhotoFileEntry};
use crate::store::inspections;
use crate::store::photos::{self, PhotoFileRow};
use omni_photo::probe::{self as photo_probe, PhotoFormat};
use omni_protocol::digest::sha256_hex;
use omni_protocol::timestamp::Timestamp;

impl Inspector {
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
    pub(super) fn reconcile(&self) -> Result<OpenReport> {
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
