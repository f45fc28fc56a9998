//! What the yard office has acknowledged (inspection revisions, photos, verdicts), and the
//! retry and wedge state of the office lane's records (`office_outbox`).

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::StoreError;
use super::photos;
use crate::detections::DetectionSource;
use crate::inspection::{InspectionId, Photo, PhotoId};
use omni_protocol::timestamp::Timestamp;

/// What the office has acknowledged, over the whole store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "OfficeStats"))]
pub struct OfficeCounts {
    /// Inspections whose latest revision the office acknowledged.
    pub inspections_acknowledged: u64,
    /// Inspections with a revision the office has not acknowledged yet.
    pub inspections_pending: u64,
    /// Photos the office has.
    pub photos_acknowledged: u64,
    /// Photos the office does not have yet.
    pub photos_pending: u64,
    /// Verdicts the office has.
    pub verdicts_acknowledged: u64,
    /// Verdicts not pushed yet.
    pub verdicts_pending: u64,
    /// Records refused for good (wedged until retried by hand).
    pub wedged: u64,
}

/// What the office has acknowledged of one inspection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InspectionAck {
    /// The phone's revision: 1 at creation, +1 at close.
    pub revision: u64,
    /// The highest revision the office acknowledged (`None`: not sent yet).
    pub acknowledged_revision: Option<u64>,
}

/// Kinds of record in the office lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// An inspection revision.
    Inspection,
    /// A photo's bytes.
    Photo,
    /// A verdict.
    Verdict,
    /// A read of the office's report (its verdict on the box), keyed by inspection id.
    Report,
}

impl RecordKind {
    /// The name stored in `office_outbox.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inspection => "inspection",
            Self::Photo => "photo",
            Self::Verdict => "verdict",
            Self::Report => "report",
        }
    }
}

/// A verdict the office does not have yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingVerdict {
    /// `detection_results.id`.
    pub result_id: i64,
    /// The photo judged.
    pub photo_id: PhotoId,
    /// Its inspection.
    pub inspection_id: InspectionId,
    /// Edge or cloud.
    pub source: DetectionSource,
    /// The model's SHA-256 (with photo and source, the result's key).
    pub model_sha256: String,
}

/// The revision of an inspection and what the office acknowledged of it.
pub fn inspection_ack(
    tx: &Transaction<'_>,
    id: InspectionId,
) -> Result<Option<InspectionAck>, StoreError> {
    Ok(tx
        .query_row(
            "SELECT revision, office_revision FROM inspections WHERE id = ?1",
            [id.to_string()],
            |row| {
                Ok(InspectionAck {
                    revision: row.get(0)?,
                    acknowledged_revision: row.get(1)?,
                })
            },
        )
        .optional()?)
}

/// A condition on an item's outbox row: not wedged and due at `?1` (`alias.item` is the key).
pub(super) fn outbox_due(kind: RecordKind, key: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM office_outbox o WHERE o.kind = '{}' AND o.item = {key} \
           AND (o.failure_reason IS NOT NULL OR o.next_attempt_at > ?1))",
        kind.as_str()
    )
}

/// Inspections with a revision the office has not acknowledged, due at `now`, oldest first.
pub fn due_inspections(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<InspectionId>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT i.id FROM inspections i \
         WHERE i.revision > coalesce(i.office_revision, 0) AND {} \
         ORDER BY i.created_at, i.id LIMIT ?2",
        outbox_due(RecordKind::Inspection, "i.id")
    ))?;
    let rows = stmt.query_map(params![now.as_millis(), limit], |row| {
        row.get::<_, String>(0)
    })?;
    rows.map(|id| {
        let id = id?;
        id.parse().map_err(|_| StoreError::InvalidValue {
            what: "inspection id",
            value: id,
        })
    })
    .collect()
}

/// Records that the office acknowledged `revision` of the inspection (never lowers it) and
/// clears its retry state. Returns whether the acknowledgement moved.
pub fn acknowledge_inspection(
    tx: &Transaction<'_>,
    id: InspectionId,
    revision: u64,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE inspections SET office_revision = ?2 \
         WHERE id = ?1 AND coalesce(office_revision, 0) < ?2",
        params![id.to_string(), revision],
    )?;
    clear(tx, RecordKind::Inspection, &id.to_string())?;
    Ok(changed == 1)
}

/// The office does not know the inspection (its data was lost or replaced): forget every
/// acknowledgement of it, its photos and verdicts, so the lane sends them all again.
pub fn forget_inspection(tx: &Transaction<'_>, id: InspectionId) -> Result<(), StoreError> {
    let id = id.to_string();
    tx.execute(
        "UPDATE inspections SET office_revision = NULL WHERE id = ?1",
        [&id],
    )?;
    tx.execute(
        "UPDATE photos SET office_at = NULL WHERE inspection_id = ?1",
        [&id],
    )?;
    tx.execute(
        "UPDATE detection_results SET office_at = NULL \
         WHERE photo_id IN (SELECT id FROM photos WHERE inspection_id = ?1)",
        [&id],
    )?;
    Ok(())
}

/// When the office acknowledged the photo (`None`: not yet).
pub fn photo_acknowledged_at(
    tx: &Transaction<'_>,
    id: PhotoId,
) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<Option<i64>> = tx
        .query_row(
            "SELECT office_at FROM photos WHERE id = ?1",
            [id.to_string()],
            |row| row.get(0),
        )
        .optional()?;
    Ok(at.flatten().map(Timestamp::from_millis))
}

/// When the office acknowledged the photo, and how many of its results it has.
pub fn photo_acknowledgements(
    tx: &Transaction<'_>,
    id: PhotoId,
) -> Result<(Option<Timestamp>, u64), StoreError> {
    let verdicts = tx.query_row(
        "SELECT count(*) FROM detection_results WHERE photo_id = ?1 AND office_at IS NOT NULL",
        [id.to_string()],
        |row| row.get(0),
    )?;
    Ok((photo_acknowledged_at(tx, id)?, verdicts))
}

/// Records that the office has the photo and clears its retry state; returns whether it
/// was new.
pub fn acknowledge_photo(
    tx: &Transaction<'_>,
    id: PhotoId,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET office_at = ?2 WHERE id = ?1 AND office_at IS NULL",
        params![id.to_string(), at.as_millis()],
    )?;
    clear(tx, RecordKind::Photo, &id.to_string())?;
    Ok(changed == 1)
}

/// Photos the photo lane no longer sends (synced or failed, file present) that the office
/// does not have, whose inspection it knows, due at `now`, oldest first.
pub fn due_photos(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<Photo>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT p.id FROM photos p JOIN inspections i ON i.id = p.inspection_id \
         WHERE p.office_at IS NULL AND p.state != 'queued' \
           AND (p.failure_reason IS NULL OR p.failure_reason != 'photo file missing') \
           AND i.office_revision IS NOT NULL AND {} \
         ORDER BY p.created_at, p.id LIMIT ?2",
        outbox_due(RecordKind::Photo, "p.id")
    ))?;
    let ids = stmt
        .query_map(params![now.as_millis(), limit], |row| {
            row.get::<_, String>(0)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    ids.into_iter()
        .filter_map(|id| match id.parse::<PhotoId>() {
            Ok(id) => photos::get(tx, id).transpose(),
            Err(_) => Some(Err(StoreError::InvalidValue {
                what: "photo id",
                value: id,
            })),
        })
        .collect()
}

/// Verdicts of photos the office has that it does not have yet, due at `now`, oldest first.
pub fn due_verdicts(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<PendingVerdict>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT r.id, r.photo_id, p.inspection_id, r.source, r.model_sha256 \
         FROM detection_results r JOIN photos p ON p.id = r.photo_id \
         WHERE r.office_at IS NULL AND p.office_at IS NOT NULL \
           AND {} \
         ORDER BY r.created_at, r.id LIMIT ?2",
        outbox_due(RecordKind::Verdict, "CAST(r.id AS TEXT)")
    ))?;
    let rows = stmt.query_map(params![now.as_millis(), limit], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, String>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (result_id, photo, inspection, source, model_sha256) = row?;
        Ok(PendingVerdict {
            result_id,
            photo_id: photo.parse().map_err(|_| StoreError::InvalidValue {
                what: "photo id",
                value: photo.clone(),
            })?,
            inspection_id: inspection.parse().map_err(|_| StoreError::InvalidValue {
                what: "inspection id",
                value: inspection.clone(),
            })?,
            source: DetectionSource::from_db(&source).ok_or_else(|| StoreError::InvalidValue {
                what: "detection source",
                value: source.clone(),
            })?,
            model_sha256,
        })
    })
    .collect()
}

/// Records that the office has the verdict `result_id` and clears its retry state.
pub fn acknowledge_verdict(
    tx: &Transaction<'_>,
    result_id: i64,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE detection_results SET office_at = ?2 WHERE id = ?1 AND office_at IS NULL",
        params![result_id, at.as_millis()],
    )?;
    clear(tx, RecordKind::Verdict, &result_id.to_string())?;
    Ok(changed == 1)
}

/// Marks the photo's cloud result of `model_sha256` as acknowledged (the office produced it).
pub fn acknowledge_cloud_result(
    tx: &Transaction<'_>,
    photo: PhotoId,
    model_sha256: &str,
    at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE detection_results SET office_at = ?3 \
         WHERE photo_id = ?1 AND source = 'cloud' AND model_sha256 = ?2 AND office_at IS NULL",
        params![photo.to_string(), model_sha256, at.as_millis()],
    )?;
    Ok(changed == 1)
}

/// Attempts made so far for a record.
pub fn attempts(tx: &Transaction<'_>, kind: RecordKind, item: &str) -> Result<u32, StoreError> {
    Ok(tx
        .query_row(
            "SELECT attempt_count FROM office_outbox WHERE kind = ?1 AND item = ?2",
            params![kind.as_str(), item],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Records a failed attempt of a record: one more attempt, its error, when to try again.
pub fn record_failure(
    tx: &Transaction<'_>,
    kind: RecordKind,
    item: &str,
    error: &str,
    next_attempt_at: Timestamp,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO office_outbox (kind, item, attempt_count, next_attempt_at, last_error) \
         VALUES (?1, ?2, 1, ?3, ?4) \
         ON CONFLICT (kind, item) DO UPDATE SET attempt_count = attempt_count + 1, \
           next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error",
        params![kind.as_str(), item, next_attempt_at.as_millis(), error],
    )?;
    Ok(())
}

/// Gives up on a record with `reason` (wedged: skipped until retried by hand).
pub fn wedge(
    tx: &Transaction<'_>,
    kind: RecordKind,
    item: &str,
    error: &str,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO office_outbox (kind, item, attempt_count, last_error, failure_reason) \
         VALUES (?1, ?2, 1, ?3, ?4) \
         ON CONFLICT (kind, item) DO UPDATE SET attempt_count = attempt_count + 1, \
           next_attempt_at = NULL, last_error = excluded.last_error, \
           failure_reason = excluded.failure_reason",
        params![kind.as_str(), item, error, reason],
    )?;
    Ok(())
}

/// Forgets a record's retry state.
pub(super) fn clear(tx: &Transaction<'_>, kind: RecordKind, item: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM office_outbox WHERE kind = ?1 AND item = ?2",
        params![kind.as_str(), item],
    )?;
    Ok(())
}

/// The earliest retry time among records waiting for one.
pub fn next_retry_at(tx: &Transaction<'_>) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = tx.query_row(
        "SELECT min(next_attempt_at) FROM office_outbox WHERE failure_reason IS NULL",
        [],
        |row| row.get(0),
    )?;
    Ok(at.map(Timestamp::from_millis))
}

/// Puts every wedged record back in the lane (a retry by hand); returns how many.
pub fn requeue_wedged(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.execute(
        "DELETE FROM office_outbox WHERE failure_reason IS NOT NULL",
        [],
    )? as u64)
}

/// What the office has acknowledged, over the whole store.
pub fn counts(tx: &Transaction<'_>) -> Result<OfficeCounts, StoreError> {
    let (inspections_acknowledged, inspections_pending) = tx.query_row(
        "SELECT coalesce(sum(office_revision >= revision), 0), \
                coalesce(sum(coalesce(office_revision, 0) < revision), 0) FROM inspections",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let (photos_acknowledged, photos_pending) = tx.query_row(
        "SELECT coalesce(sum(office_at IS NOT NULL), 0), coalesce(sum(office_at IS NULL), 0) \
         FROM photos",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let (verdicts_acknowledged, verdicts_pending) = tx.query_row(
        "SELECT coalesce(sum(office_at IS NOT NULL), 0), coalesce(sum(office_at IS NULL), 0) \
         FROM detection_results",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    let wedged = tx.query_row(
        "SELECT count(*) FROM office_outbox WHERE failure_reason IS NOT NULL",
        [],
        |row| row.get(0),
    )?;
    Ok(OfficeCounts {
        inspections_acknowledged,
        inspections_pending,
        photos_acknowledged,
        photos_pending,
        verdicts_acknowledged,
        verdicts_pending,
        wedged,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use std::time::Duration;

    use super::*;
    use crate::inspection::Inspection;
    use crate::store::{Store, inspections};
    use omni_protocol::container_number::ContainerNumber;

    /// A new store with one open inspection (shared by the store's tests).
    pub(crate) fn store_with_inspection() -> (tempfile::TempDir, Store, InspectionId) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db.sqlite3"), Duration::from_secs(1)).expect("open");
        let id = InspectionId::new();
        let inspection = Inspection {
            id,
            container_number: ContainerNumber::parse("CSQU3054383").expect("number"),
            inspector_id: None,
            created_at: Timestamp::from_millis(1),
            closed_at: None,
            location: None,
            notes: None,
            recovered_at: None,
            kind: None,
        };
        store
            .write(|tx| inspections::insert(tx, &inspection))
            .expect("insert");
        (dir, store, id)
    }

    #[test]
    fn a_close_is_a_new_revision_and_acknowledgements_never_go_back() {
        let (_dir, store, id) = store_with_inspection();
        let now = Timestamp::from_millis(10);
        let ack = |store: &Store| store.read(|tx| inspection_ack(tx, id)).expect("ack");
        assert_eq!(
            ack(&store),
            Some(InspectionAck {
                revision: 1,
                acknowledged_revision: None
            })
        );
        assert_eq!(
            store.read(|tx| due_inspections(tx, now, 10)).expect("due"),
            [id]
        );
        store
            .write(|tx| acknowledge_inspection(tx, id, 1))
            .expect("acknowledge");
        assert!(
            store
                .read(|tx| due_inspections(tx, now, 10))
                .expect("due")
                .is_empty()
        );
        store
            .write(|tx| inspections::close(tx, id, now))
            .expect("close");
        assert_eq!(ack(&store).map(|a| a.revision), Some(2));
        assert_eq!(
            store.read(|tx| due_inspections(tx, now, 10)).expect("due"),
            [id]
        );
        store
            .write(|tx| acknowledge_inspection(tx, id, 2))
            .expect("acknowledge");
        // A late answer to the first request does not lower it.
        let moved = store
            .write(|tx| acknowledge_inspection(tx, id, 1))
            .expect("acknowledge");
        assert!(!moved);
        assert_eq!(ack(&store).and_then(|a| a.acknowledged_revision), Some(2));
        let counts = store.read(counts).expect("counts");
        assert_eq!(
            (counts.inspections_acknowledged, counts.inspections_pending),
            (1, 0)
        );
    }

    #[test]
    fn a_record_backs_off_wedges_and_comes_back_by_hand() {
        let (_dir, store, id) = store_with_inspection();
        let item = id.to_string();
        let kind = RecordKind::Inspection;
        let (before, later) = (Timestamp::from_millis(10), Timestamp::from_millis(100));
        store
            .write(|tx| record_failure(tx, kind, &item, "503", Timestamp::from_millis(50)))
            .expect("failure");
        assert!(
            store
                .read(|tx| due_inspections(tx, before, 10))
                .expect("due")
                .is_empty()
        );
        assert_eq!(
            store
                .read(|tx| due_inspections(tx, later, 10))
                .expect("due"),
            [id]
        );
        assert_eq!(
            store
                .read(|tx| attempts(tx, kind, &item))
                .expect("attempts"),
            1
        );
        assert_eq!(
            store.read(next_retry_at).expect("next"),
            Some(Timestamp::from_millis(50))
        );
        store
            .write(|tx| wedge(tx, kind, &item, "409", "conflict"))
            .expect("wedge");
        assert!(
            store
                .read(|tx| due_inspections(tx, later, 10))
                .expect("due")
                .is_empty()
        );
        assert_eq!(store.read(counts).expect("counts").wedged, 1);
        assert_eq!(store.write(requeue_wedged).expect("requeue"), 1);
        assert_eq!(
            store
                .read(|tx| due_inspections(tx, later, 10))
                .expect("due"),
            [id]
        );
        // The acknowledgement clears the retry state.
        store
            .write(|tx| record_failure(tx, kind, &item, "503", Timestamp::from_millis(50)))
            .expect("failure");
        store
            .write(|tx| acknowledge_inspection(tx, id, 1))
            .expect("acknowledge");
        assert_eq!(
            store
                .read(|tx| attempts(tx, kind, &item))
                .expect("attempts"),
            0
        );
        assert_eq!(store.read(next_retry_at).expect("next"), None);
    }
}
