//! The office lane's queue: inspection revisions, photos and verdicts the yard office has not
//! acknowledged, and closed inspections whose report verdict is still to read; attempts,
//! failures and records given up on. The sync engine's office lane (`sync::engine::office`,
//! `sync::engine::report`) is its only user; it cannot requeue wedged records (hosts do that,
//! [`Inspector::retry_failed`]).

use super::Inspector;
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, Photo, PhotoId};
use crate::store::box_verdicts::{self, BoxVerdict};
use crate::store::office::{self, InspectionAck, RecordKind};
use crate::store::{Store, detection_results, inspections, photos};
use omni_protocol::box_verdict::ReportVerdict;
use omni_protocol::timestamp::Timestamp;

/// A record the office lane sends next (see [`OfficeQueue::due`]).
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

/// The office lane's view of the store, borrowed from the [`Inspector`].
pub(crate) struct OfficeQueue<'a> {
    store: &'a Store,
}

impl Inspector {
    /// The office lane's queue.
    pub(crate) fn office_queue(&self) -> OfficeQueue<'_> {
        OfficeQueue { store: &self.store }
    }
}

impl OfficeQueue<'_> {
    /// The office lane's next records due at `now`: inspection revisions first, then
    /// photos, then verdicts (each needs the one before acknowledged), then report reads.
    pub(crate) fn due(&self, now: Timestamp) -> Result<Option<OfficeRecord>> {
        Ok(self.store.read(|tx| {
            if let Some(id) = office::due_inspections(tx, now, 1)?.pop() {
                return Ok(Some(OfficeRecord::Inspection(id)));
            }
            if let Some(photo) = office::due_photos(tx, now, 1)?.pop() {
                return Ok(Some(OfficeRecord::Photo(Box::new(photo))));
            }
            let Some(pending) = office::due_verdicts(tx, now, 1)?.pop() else {
                let due = box_verdicts::due(tx, now, 1)?.pop();
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

    /// An inspection and what the office acknowledged of it.
    pub(crate) fn inspection(&self, id: InspectionId) -> Result<(Inspection, InspectionAck)> {
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
    pub(crate) fn forget_inspection(&self, id: InspectionId) -> Result<()> {
        self.store
            .write(|tx| Ok(office::forget_inspection(tx, id)?))
    }

    /// Whether the office has acknowledged the photo.
    pub(crate) fn photo_acknowledged(&self, id: PhotoId) -> Result<bool> {
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
    pub(crate) fn attempts(&self, kind: RecordKind, item: &str) -> Result<u32> {
        Ok(self.store.read(|tx| office::attempts(tx, kind, item))?)
    }

    /// Records a failed attempt of an office record and when to try again.
    pub(crate) fn record_failure(
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
    pub(crate) fn wedge(
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
    pub(crate) fn next_retry_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.read(office::next_retry_at)?)
    }

    /// Stores the report's verdict read for `revision`; `None` when one of that revision or
    /// a newer one was stored already.
    pub(crate) fn store_box_verdict(
        &self,
        id: InspectionId,
        revision: u64,
        verdict: &ReportVerdict,
    ) -> Result<Option<BoxVerdict>> {
        Ok(self
            .store
            .write(|tx| box_verdicts::put(tx, id, revision, verdict, Timestamp::now()))?)
    }
}
