//! Rows of the `photos` table and the sync-lifecycle columns.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::StoreError;
use crate::inspection::{InspectionId, Photo, PhotoId, PhotoState};
use omni_photo::probe::PhotoFormat;
use omni_protocol::face::Face;
use omni_protocol::timestamp::Timestamp;

/// Number of photos in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct StateCounts {
    /// Waiting for the cloud.
    pub queued: u64,
    /// Cloud result stored.
    pub synced: u64,
    /// Given up on.
    pub failed: u64,
}

impl StateCounts {
    /// All photos.
    pub fn total(&self) -> u64 {
        self.queued + self.synced + self.failed
    }
}

/// Inserts a new photo row.
pub fn insert(tx: &Transaction<'_>, photo: &Photo) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO photos (id, inspection_id, format, sha256, size_bytes, width, height, \
         orientation, captured_at, created_at, state, attempt_count, next_attempt_at, \
         last_error, failure_reason, unreadable_reason, face) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            photo.id.to_string(),
            photo.inspection_id.to_string(),
            photo.format.as_str(),
            photo.sha256,
            photo.size_bytes,
            photo.width,
            photo.height,
            photo.orientation,
            photo.captured_at.as_millis(),
            photo.created_at.as_millis(),
            photo.state.as_str(),
            photo.attempt_count,
            photo.next_attempt_at.map(Timestamp::as_millis),
            photo.last_error,
            photo.failure_reason,
            photo.unreadable_reason,
            photo.face.letter().to_string(),
        ],
    )?;
    Ok(())
}

const COLUMNS: &str = "id, inspection_id, format, sha256, size_bytes, width, height, orientation, \
                       captured_at, created_at, state, attempt_count, next_attempt_at, \
                       last_error, failure_reason, unreadable_reason, face";

/// The photos of one inspection, oldest first.
pub fn for_inspection(
    tx: &Transaction<'_>,
    inspection: InspectionId,
) -> Result<Vec<Photo>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLUMNS} FROM photos WHERE inspection_id = ?1 ORDER BY created_at, id"
    ))?;
    let rows = stmt.query_map([inspection.to_string()], RawPhoto::from_row)?;
    rows.map(|raw| raw?.into_photo()).collect()
}

/// What reconciliation needs of a photo row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoFileRow {
    /// The photo.
    pub id: PhotoId,
    /// Its file's format (and so extension).
    pub format: PhotoFormat,
    /// SHA-256 of its original bytes.
    pub sha256: String,
    /// Why it failed, if it did.
    pub failure_reason: Option<String>,
}

/// What reconciliation needs of every photo row.
pub fn all_files(tx: &Transaction<'_>) -> Result<Vec<PhotoFileRow>, StoreError> {
    let mut stmt =
        tx.prepare("SELECT id, format, sha256, failure_reason FROM photos ORDER BY id")?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get(2)?,
            row.get(3)?,
        ))
    })?;
    rows.map(|row| {
        let (id, format, sha256, failure_reason) = row?;
        Ok(PhotoFileRow {
            id: parse_photo_id(&id)?,
            format: parse_format(&format)?,
            sha256,
            failure_reason,
        })
    })
    .collect()
}

/// A photo failed for a missing file got its file back: it returns to `synced` when a
/// cloud result is stored for it, else to the queue. Returns whether a row changed.
pub fn file_restored(tx: &Transaction<'_>, id: PhotoId) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET failure_reason = NULL, next_attempt_at = NULL, \
           state = CASE WHEN EXISTS (SELECT 1 FROM detection_results r \
                                     WHERE r.photo_id = photos.id AND r.source = 'cloud') \
                        THEN 'synced' ELSE 'queued' END \
         WHERE id = ?1 AND failure_reason = 'photo file missing'",
        params![id.to_string()],
    )?;
    Ok(changed == 1)
}

/// One photo by id.
pub fn get(tx: &Transaction<'_>, id: PhotoId) -> Result<Option<Photo>, StoreError> {
    let raw = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM photos WHERE id = ?1"),
            [id.to_string()],
            RawPhoto::from_row,
        )
        .optional()?;
    raw.map(RawPhoto::into_photo).transpose()
}

/// Photos that still need an edge result from the model with `model_sha256`: readable,
/// file present (not failed for a missing file), oldest first.
pub fn pending_edge(
    tx: &Transaction<'_>,
    model_sha256: &str,
    limit: u32,
) -> Result<Vec<Photo>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLUMNS} FROM photos p \
         WHERE p.unreadable_reason IS NULL \
           AND (p.failure_reason IS NULL OR p.failure_reason != 'photo file missing') \
           AND NOT EXISTS (SELECT 1 FROM detection_results r WHERE r.photo_id = p.id \
                           AND r.source = 'edge' AND r.model_sha256 = ?1) \
         ORDER BY p.created_at, p.id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![model_sha256, limit], RawPhoto::from_row)?;
    rows.map(|raw| raw?.into_photo()).collect()
}

/// Records that a photo cannot be decoded; the edge pass skips it from now on.
pub fn mark_unreadable(
    tx: &Transaction<'_>,
    id: PhotoId,
    reason: &str,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET unreadable_reason = ?2 WHERE id = ?1",
        params![id.to_string(), reason],
    )?;
    Ok(changed == 1)
}

/// What [`set_face`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaceChange {
    /// The face is stored.
    Changed,
    /// No photo has this id.
    NotFound,
    /// The photo is synced (its cloud result is stored, or the office acknowledged it): its
    /// face is what the cloud saw and stays.
    AlreadySynced,
}

/// Sets the face a photo shows while it is not synced yet (state not `synced`, not
/// acknowledged by the office).
pub fn set_face(tx: &Transaction<'_>, id: PhotoId, face: Face) -> Result<FaceChange, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET face = ?2 WHERE id = ?1 AND state != 'synced' AND office_at IS NULL",
        params![id.to_string(), face.letter().to_string()],
    )?;
    if changed == 1 {
        return Ok(FaceChange::Changed);
    }
    let exists = tx
        .query_row(
            "SELECT 1 FROM photos WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some();
    Ok(if exists {
        FaceChange::AlreadySynced
    } else {
        FaceChange::NotFound
    })
}

/// Moves a photo to `failed` with `reason`; returns whether a row changed.
pub fn mark_failed(tx: &Transaction<'_>, id: PhotoId, reason: &str) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET state = 'failed', failure_reason = ?2, next_attempt_at = NULL \
         WHERE id = ?1",
        params![id.to_string(), reason],
    )?;
    Ok(changed == 1)
}

/// Queued photos due for a cloud attempt at `now`, oldest first, skipping `exclude` (in flight).
pub fn due_for_sync(
    tx: &Transaction<'_>,
    now: Timestamp,
    exclude: &[PhotoId],
    limit: u32,
) -> Result<Vec<Photo>, StoreError> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM photos \
         WHERE state = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= ?1) \
         ORDER BY created_at, id LIMIT ?2"
    ))?;
    // Fetch enough rows to skip the in-flight ones and still fill `limit`.
    let want = limit.saturating_add(exclude.len() as u32);
    let rows = stmt.query_map(params![now.as_millis(), want], RawPhoto::from_row)?;
    let mut photos = Vec::new();
    for raw in rows {
        let photo = raw?.into_photo()?;
        if !exclude.contains(&photo.id) && photos.len() < limit as usize {
            photos.push(photo);
        }
    }
    Ok(photos)
}

/// The earliest `next_attempt_at` among queued photos that are waiting for a retry.
pub fn next_retry_at(tx: &Transaction<'_>) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = tx.query_row(
        "SELECT min(next_attempt_at) FROM photos WHERE state = 'queued'",
        [],
        |row| row.get(0),
    )?;
    Ok(at.map(Timestamp::from_millis))
}

/// Records a failed cloud attempt: one more attempt, its error, and when to try again.
/// Only a queued photo changes; returns whether it did.
pub fn record_failed_attempt(
    tx: &Transaction<'_>,
    id: PhotoId,
    error: &str,
    next_attempt_at: Timestamp,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET attempt_count = attempt_count + 1, last_error = ?2, \
         next_attempt_at = ?3 WHERE id = ?1 AND state = 'queued'",
        params![id.to_string(), error, next_attempt_at.as_millis()],
    )?;
    Ok(changed == 1)
}

/// Moves a queued photo to `synced`. Returns false when it was not queued (already synced
/// by an earlier answer, or failed): the caller then stores nothing.
pub fn mark_synced(tx: &Transaction<'_>, id: PhotoId) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET state = 'synced', attempt_count = attempt_count + 1, \
         next_attempt_at = NULL, last_error = NULL WHERE id = ?1 AND state = 'queued'",
        params![id.to_string()],
    )?;
    Ok(changed == 1)
}

/// Moves a queued photo to `synced` without a cloud result: its target (a yard office
/// without detection on upload) archived it and gives no verdict, so the edge result stands;
/// `note` says why, in `last_error`. Returns false when it was not queued.
pub fn mark_synced_without_result(
    tx: &Transaction<'_>,
    id: PhotoId,
    note: &str,
) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET state = 'synced', attempt_count = attempt_count + 1, \
         next_attempt_at = NULL, last_error = ?2 WHERE id = ?1 AND state = 'queued'",
        params![id.to_string(), note],
    )?;
    Ok(changed == 1)
}

/// Puts failed photos back in the queue (a retry by hand), except those whose file is
/// missing; `only` restricts it to one photo. Returns how many were re-queued.
pub fn requeue_failed(tx: &Transaction<'_>, only: Option<PhotoId>) -> Result<u64, StoreError> {
    let changed = tx.execute(
        "UPDATE photos SET state = 'queued', failure_reason = NULL, attempt_count = 0, \
         next_attempt_at = NULL \
         WHERE state = 'failed' AND failure_reason != 'photo file missing' \
           AND (?1 IS NULL OR id = ?1)",
        params![only.map(|id| id.to_string())],
    )?;
    Ok(changed as u64)
}

/// Photos per state, over all inspections.
pub fn state_counts(tx: &Transaction<'_>) -> Result<StateCounts, StoreError> {
    let mut counts = StateCounts::default();
    let mut stmt = tx.prepare("SELECT state, count(*) FROM photos GROUP BY state")?;
    let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))?;
    for row in rows {
        let (state, n): (String, u64) = row?;
        match parse_state(&state)? {
            PhotoState::Queued => counts.queued = n,
            PhotoState::Synced => counts.synced = n,
            PhotoState::Failed => counts.failed = n,
        }
    }
    Ok(counts)
}

fn parse_photo_id(value: &str) -> Result<PhotoId, StoreError> {
    value.parse().map_err(|_| StoreError::InvalidValue {
        what: "photo id",
        value: value.to_owned(),
    })
}

fn parse_format(value: &str) -> Result<PhotoFormat, StoreError> {
    PhotoFormat::from_db(value).ok_or_else(|| StoreError::InvalidValue {
        what: "photo format",
        value: value.to_owned(),
    })
}

fn parse_state(value: &str) -> Result<PhotoState, StoreError> {
    value.parse().map_err(|_| StoreError::InvalidValue {
        what: "photo state",
        value: value.to_owned(),
    })
}

/// Columns as SQLite returns them, before domain validation.
struct RawPhoto {
    id: String,
    inspection_id: String,
    format: String,
    sha256: String,
    size_bytes: u64,
    width: u32,
    height: u32,
    orientation: u8,
    captured_at: i64,
    created_at: i64,
    state: String,
    attempt_count: u32,
    next_attempt_at: Option<i64>,
    last_error: Option<String>,
    failure_reason: Option<String>,
    unreadable_reason: Option<String>,
    face: String,
}

impl RawPhoto {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            inspection_id: row.get(1)?,
            format: row.get(2)?,
            sha256: row.get(3)?,
            size_bytes: row.get(4)?,
            width: row.get(5)?,
            height: row.get(6)?,
            orientation: row.get(7)?,
            captured_at: row.get(8)?,
            created_at: row.get(9)?,
            state: row.get(10)?,
            attempt_count: row.get(11)?,
            next_attempt_at: row.get(12)?,
            last_error: row.get(13)?,
            failure_reason: row.get(14)?,
            unreadable_reason: row.get(15)?,
            face: row.get(16)?,
        })
    }

    fn into_photo(self) -> Result<Photo, StoreError> {
        Ok(Photo {
            id: parse_photo_id(&self.id)?,
            inspection_id: self
                .inspection_id
                .parse()
                .map_err(|_| StoreError::InvalidValue {
                    what: "inspection id",
                    value: self.inspection_id.clone(),
                })?,
            format: parse_format(&self.format)?,
            sha256: self.sha256,
            size_bytes: self.size_bytes,
            width: self.width,
            height: self.height,
            orientation: self.orientation,
            captured_at: Timestamp::from_millis(self.captured_at),
            created_at: Timestamp::from_millis(self.created_at),
            state: parse_state(&self.state)?,
            attempt_count: self.attempt_count,
            next_attempt_at: self.next_attempt_at.map(Timestamp::from_millis),
            last_error: self.last_error,
            failure_reason: self.failure_reason,
            unreadable_reason: self.unreadable_reason,
            face: Face::parse(&self.face).map_err(|_| StoreError::InvalidValue {
                what: "photo face",
                value: self.face.clone(),
            })?,
        })
    }
}
