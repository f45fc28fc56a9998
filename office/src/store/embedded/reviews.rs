//! Reviews in SQLite: one row per (inspection, photo, revision) holding the record as JSON.
//! The revision rule is checked and the row inserted in one immediate transaction, so two
//! writers of the same revision (even from two processes) cannot both see it free.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{backend, read_photo};
use crate::store::{Put, StoreError, review_gap, same_review, stale_review};
use crate::wire::Review;

fn parse(json: &str) -> Result<Review, StoreError> {
    serde_json::from_str(json).map_err(|e| backend(format!("stored review: {e}")))
}

/// Appends `review` by the rule of [`crate::store::Store::put_review`] (already validated).
pub(super) fn put(conn: &mut Connection, review: &Review) -> Result<Put, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    if read_photo(&tx, &review.inspection_id, &review.photo_id)?.is_none() {
        return Err(StoreError::NotFound(format!(
            "inspection {} has no photo {}",
            review.inspection_id, review.photo_id
        )));
    }
    let latest: i64 = tx
        .query_row(
            "SELECT coalesce(max(revision), 0) FROM reviews \
             WHERE inspection_id = ?1 AND photo_id = ?2",
            params![review.inspection_id, review.photo_id],
            |row| row.get(0),
        )
        .map_err(backend)?;
    let latest = u64::try_from(latest).map_err(backend)?;
    if review.revision <= latest {
        // Fits: it is at most a stored revision.
        let revision = i64::try_from(review.revision).map_err(backend)?;
        let stored: String = tx
            .query_row(
                "SELECT review FROM reviews \
                 WHERE inspection_id = ?1 AND photo_id = ?2 AND revision = ?3",
                params![review.inspection_id, review.photo_id, revision],
                |row| row.get(0),
            )
            .map_err(backend)?;
        let stored = parse(&stored)?;
        return if same_review(&stored, review) {
            Ok(Put::Unchanged)
        } else {
            Err(stale_review(&stored))
        };
    }
    if review.revision != latest + 1 {
        return Err(review_gap(review, latest));
    }
    let revision = i64::try_from(review.revision).map_err(backend)?;
    let json = serde_json::to_string(review).map_err(backend)?;
    tx.execute(
        "INSERT INTO reviews (inspection_id, photo_id, revision, reviewer, reviewed_at_ms, review) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            review.inspection_id,
            review.photo_id,
            revision,
            review.reviewer,
            review.reviewed_at_ms,
            json,
        ],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(Put::Created)
}

/// Every review of an inspection's photos, in [`crate::store::review_order`].
pub(super) fn of_inspection(
    conn: &mut Connection,
    inspection_id: &str,
) -> Result<Vec<Review>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT review FROM reviews WHERE inspection_id = ?1 \
             ORDER BY reviewed_at_ms, photo_id, revision",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map([inspection_id], |row| row.get::<_, String>(0))
        .map_err(backend)?;
    rows.map(|json| parse(&json.map_err(backend)?)).collect()
}

/// Marks an inspection reviewed unless it already is.
pub(super) fn mark(
    conn: &mut Connection,
    inspection_id: &str,
    reviewer: &str,
    at_ms: i64,
) -> Result<Put, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    let marked = tx
        .execute(
            "UPDATE inspections SET reviewed_at_ms = ?2, reviewed_by = ?3 \
             WHERE id = ?1 AND reviewed_at_ms IS NULL",
            params![inspection_id, at_ms, reviewer],
        )
        .map_err(backend)?;
    if marked == 1 {
        tx.commit().map_err(backend)?;
        return Ok(Put::Created);
    }
    let exists = tx
        .query_row(
            "SELECT 1 FROM inspections WHERE id = ?1",
            [inspection_id],
            |_| Ok(()),
        )
        .optional()
        .map_err(backend)?;
    match exists {
        Some(()) => Ok(Put::Unchanged),
        None => Err(StoreError::NotFound(format!(
            "no inspection {inspection_id}"
        ))),
    }
}
