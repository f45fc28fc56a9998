//! Photos in SQLite and their files: `photos/<photo id>.<sha256>` (written and fsync'd before
//! the row commits) and, once made, its thumbnail beside it, `<photo id>.<sha256>.thumb.jpg`.

use std::path::{Path, PathBuf};

use omni_durable as durable;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{backend, read_inspection};
use crate::store::{Put, StoreError, StoredPhoto};
use crate::wire::{DetectStatus, Face, Photo};

/// The photo's file.
pub(super) fn photo_file(dir: &Path, photo: &Photo) -> PathBuf {
    dir.join(format!("{}.{}", photo.id, photo.sha256))
}

/// A photo's row (columns [`PHOTO_COLUMNS`]).
pub(super) fn photo_from_row(row: &Row<'_>) -> rusqlite::Result<StoredPhoto> {
    let size: i64 = row.get(3)?;
    let status: String = row.get(6)?;
    let face: String = row.get(8)?;
    Ok(StoredPhoto {
        photo: Photo {
            id: row.get(0)?,
            inspection_id: row.get(1)?,
            sha256: row.get(2)?,
            size_bytes: u64::try_from(size).unwrap_or_default(),
            content_type: row.get(4)?,
            received_at_ms: row.get(5)?,
            // The column's CHECK admits only the eight letters.
            face: Face::parse(&face).unwrap_or_default(),
        },
        detect_status: DetectStatus::parse(&status).unwrap_or(DetectStatus::None),
        detect_error: row.get(7)?,
    })
}

pub(super) const PHOTO_COLUMNS: &str = "id, inspection_id, sha256, size_bytes, content_type, \
                             received_at_ms, detect_status, detect_error, face";

/// One photo's row.
pub(super) fn read_photo(
    tx: &Transaction<'_>,
    inspection_id: &str,
    id: &str,
) -> Result<Option<StoredPhoto>, StoreError> {
    tx.query_row(
        &format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE inspection_id = ?1 AND id = ?2"),
        [inspection_id, id],
        photo_from_row,
    )
    .optional()
    .map_err(backend)
}

/// Inserts a photo's row in `tx` (its file already written).
fn insert_photo(
    tx: &Transaction<'_>,
    photo: &Photo,
    detect_status: DetectStatus,
) -> Result<(), StoreError> {
    let size = i64::try_from(photo.size_bytes).map_err(|_| backend("photo size out of range"))?;
    tx.execute(
        &format!(
            "INSERT INTO photos ({PHOTO_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8)"
        ),
        params![
            photo.id,
            photo.inspection_id,
            photo.sha256,
            size,
            photo.content_type,
            photo.received_at_ms,
            detect_status.as_str(),
            photo.face.letter().to_string(),
        ],
    )
    .map_err(backend)?;
    Ok(())
}

/// The thumbnail's file, beside the photo's.
pub(super) fn thumbnail_file(dir: &Path, photo: &Photo) -> PathBuf {
    dir.join(format!("{}.{}.thumb.jpg", photo.id, photo.sha256))
}

/// [`crate::store::Store::put_photo`]: the file first, then the row, in one transaction with
/// the duplicate check.
pub(super) fn put(
    conn: &mut Connection,
    dir: &Path,
    photo: &Photo,
    bytes: &[u8],
    detect_status: DetectStatus,
) -> Result<Put, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    if read_inspection(&tx, &photo.inspection_id)?.is_none() {
        return Err(StoreError::NotFound(format!(
            "no inspection {}",
            photo.inspection_id
        )));
    }
    if let Some(old) = read_photo(&tx, &photo.inspection_id, &photo.id)? {
        return if old.photo.sha256 != photo.sha256 {
            Err(StoreError::Conflict(format!(
                "photo {} is already stored with other content",
                photo.id
            )))
        } else if old.photo.face == photo.face {
            Ok(Put::Unchanged)
        } else {
            // The phone changed the face before it had the office's answer.
            tx.execute(
                "UPDATE photos SET face = ?3 WHERE inspection_id = ?1 AND id = ?2",
                params![
                    photo.inspection_id,
                    photo.id,
                    photo.face.letter().to_string()
                ],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(Put::Updated)
        };
    }
    durable::write_atomic(&photo_file(dir, photo), bytes).map_err(backend)?;
    insert_photo(&tx, photo, detect_status)?;
    tx.commit().map_err(backend)?;
    Ok(Put::Created)
}

/// [`crate::store::Store::put_thumbnail`]: written atomically once; the photo (with these
/// bytes) must be stored.
pub(super) fn put_thumbnail(
    conn: &mut Connection,
    dir: &Path,
    photo: &Photo,
    jpeg: &[u8],
) -> Result<Put, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    let stored = read_photo(&tx, &photo.inspection_id, &photo.id)?;
    if stored.is_none_or(|s| s.photo.sha256 != photo.sha256) {
        return Err(StoreError::NotFound(format!(
            "inspection {} has no photo {} with SHA-256 {}",
            photo.inspection_id, photo.id, photo.sha256
        )));
    }
    let path = thumbnail_file(dir, photo);
    if path.exists() {
        return Ok(Put::Unchanged);
    }
    durable::write_atomic(&path, jpeg).map_err(backend)?;
    Ok(Put::Created)
}
