//! What hosts write: inspections opened and closed, captured photos, edge detections, and
//! failed work put back in the queues.

use std::fs;

use super::Inspector;
use crate::detect::{DetectError, Detector};
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, Location, NewInspection, Photo, PhotoId};
use crate::store::detection_results;
use crate::store::inspections;
use crate::store::office;
use crate::store::photos;
use omni_photo::probe as photo_probe;
use omni_protocol::digest::sha256_hex;
use omni_protocol::face::Face;
use omni_protocol::timestamp::Timestamp;

use super::DetectOutcome;

impl Inspector {
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
}

fn validate_location(location: &Location) -> Result<()> {
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
