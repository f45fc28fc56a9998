//! The cloud lane's queue: queued photos due for an attempt, their answers stored exactly
//! once, failed attempts and photos given up on. The sync engine (`sync::engine`) is its only
//! user; it cannot requeue failed photos (hosts do that, [`Inspector::retry_failed`]).

use super::Inspector;
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{Photo, PhotoId};
use crate::store::{Store, detection_results, office, photos};
use omni_protocol::timestamp::Timestamp;

/// The cloud lane's view of the store, borrowed from the [`Inspector`].
pub(crate) struct SyncQueue<'a> {
    store: &'a Store,
}

impl Inspector {
    /// The cloud lane's queue.
    pub(crate) fn sync_queue(&self) -> SyncQueue<'_> {
        SyncQueue { store: &self.store }
    }
}

impl SyncQueue<'_> {
    /// Queued photos due for a cloud attempt at `now`, oldest first, except `in_flight`.
    pub(crate) fn due(
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
    pub(crate) fn next_retry_at(&self) -> Result<Option<Timestamp>> {
        Ok(self.store.read(photos::next_retry_at)?)
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
    pub(crate) fn record_failure(
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
    pub(crate) fn fail(&self, id: PhotoId, error: &str, reason: &str) -> Result<bool> {
        self.store.write(|tx| {
            photos::record_failed_attempt(tx, id, error, Timestamp::now())?;
            Ok(photos::mark_failed(tx, id, reason)?)
        })
    }
}
