//! The embedded store: SQLite (WAL, `.sql` migrations on `user_version`) and a photo
//! directory of fsync'd files written atomically (`omni_durable`).
//!
//! Layout of the data directory: `office.sqlite3`, `photos/<photo id>.<sha256>`. A photo's
//! file is written (and fsync'd) before its row is committed, in one critical section with
//! the duplicate check, so a row always names a complete file and a retried upload finds
//! either nothing or the finished photo. Photo rows are keyed by (inspection, photo id); the
//! same id and SHA-256 under two inspections name the same bytes, so they share one file.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use omni_durable as durable;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use super::{ListQuery, Put, ReportKey, Store, StoreError, StoredPhoto};
use crate::wire::{
    DetectStatus, Inspection, InspectionState, InspectionSummary, Location, Photo, Review, Verdict,
};

mod photos;
mod reviews;
mod verdicts;

use photos::{PHOTO_COLUMNS, photo_file, photo_from_row, read_photo, thumbnail_file};

/// The migrations, in order; `user_version` counts those applied.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/001_init.sql"),
    include_str!("../../migrations/002_detect_claim.sql"),
    include_str!("../../migrations/003_photo_ids_per_inspection.sql"),
    include_str!("../../migrations/004_faces_and_kinds.sql"),
    include_str!("../../migrations/005_reports.sql"),
    include_str!("../../migrations/006_reviews.sql"),
    include_str!("../../migrations/007_report_reviews.sql"),
];

/// A report key as SQLite integers.
fn sql_key(key: ReportKey) -> Result<(i64, i64), StoreError> {
    Ok((
        i64::try_from(key.revision).map_err(backend)?,
        i64::try_from(key.reviews).map_err(backend)?,
    ))
}

/// SQLite + photo files under one directory.
#[derive(Clone, Debug)]
pub struct EmbeddedStore {
    conn: Arc<Mutex<Connection>>,
    photos: PathBuf,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl EmbeddedStore {
    /// Opens (creating) the store in `dir` and brings its schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| backend(format!("cannot create {}: {e}", dir.display())))?;
        // The database before photos/: a file that is not one leaves the directory as it was.
        let conn = crate::sqlite::open(&dir.join("office.sqlite3"), MIGRATIONS).map_err(backend)?;
        let photos = dir.join("photos");
        std::fs::create_dir_all(&photos)
            .map_err(|e| backend(format!("cannot create {}: {e}", photos.display())))?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            photos,
        })
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &Path) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        let photos = self.photos.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn
                .lock()
                .map_err(|_| backend("the database lock is poisoned"))?;
            f(&mut conn, &photos)
        })
        .await
        .map_err(backend)?
    }
}

const INSPECTION_COLUMNS: &str = "i.id, i.container_number, i.inspector_id, i.created_at_ms, \
     i.updated_at_ms, i.latitude, i.longitude, i.accuracy_m, i.state, i.revision, \
     i.received_at_ms, i.kind, \
     (SELECT COUNT(*) FROM photos p WHERE p.inspection_id = i.id), \
     EXISTS (SELECT 1 FROM verdicts v WHERE v.inspection_id = i.id AND v.has_damage = 1), \
     i.reviewed_at_ms, i.reviewed_by";

fn summary_from_row(row: &Row<'_>) -> rusqlite::Result<InspectionSummary> {
    let state: String = row.get(8)?;
    let latitude: Option<f64> = row.get(5)?;
    let longitude: Option<f64> = row.get(6)?;
    let location = match (latitude, longitude) {
        (Some(latitude), Some(longitude)) => Some(Location {
            latitude,
            longitude,
            accuracy_m: row.get(7)?,
        }),
        _ => None,
    };
    let revision: i64 = row.get(9)?;
    let photo_count: i64 = row.get(12)?;
    Ok(InspectionSummary {
        inspection: Inspection {
            id: row.get(0)?,
            container_number: row.get(1)?,
            inspector_id: row.get(2)?,
            created_at_ms: row.get(3)?,
            updated_at_ms: row.get(4)?,
            location,
            state: InspectionState::parse(&state).unwrap_or(InspectionState::Open),
            revision: u64::try_from(revision).unwrap_or_default(),
            received_at_ms: row.get(10)?,
            kind: row.get(11)?,
        },
        photo_count: u64::try_from(photo_count).unwrap_or_default(),
        has_damage: row.get(13)?,
        reviewed_at_ms: row.get(14)?,
        reviewed_by: row.get(15)?,
    })
}

fn read_inspection(tx: &Transaction<'_>, id: &str) -> Result<Option<Inspection>, StoreError> {
    tx.query_row(
        &format!("SELECT {INSPECTION_COLUMNS} FROM inspections i WHERE i.id = ?1"),
        [id],
        summary_from_row,
    )
    .optional()
    .map(|s| s.map(|s| s.inspection))
    .map_err(backend)
}

/// Writes `inspection` in `tx` by the revision rule of [`Store::put_inspection`].
fn write_inspection(tx: &Transaction<'_>, new: &Inspection) -> Result<Put, StoreError> {
    let revision = i64::try_from(new.revision).map_err(|_| backend("revision out of range"))?;
    let (lat, lon, acc) = match new.location {
        Some(l) => (Some(l.latitude), Some(l.longitude), l.accuracy_m),
        None => (None, None, None),
    };
    let put = match read_inspection(tx, &new.id)? {
        None => Put::Created,
        Some(old) if old.revision > new.revision => {
            return Err(StoreError::Conflict(format!(
                "inspection {} is at revision {}, newer than {}",
                new.id, old.revision, new.revision
            )));
        }
        Some(old) if old.revision == new.revision => {
            let same = Inspection {
                received_at_ms: old.received_at_ms,
                ..new.clone()
            };
            if same == old {
                return Ok(Put::Unchanged);
            }
            return Err(StoreError::Conflict(format!(
                "inspection {} revision {} is stored with other content",
                new.id, new.revision
            )));
        }
        Some(_) => Put::Updated,
    };
    tx.execute(
        "INSERT INTO inspections (id, container_number, inspector_id, created_at_ms, \
         updated_at_ms, latitude, longitude, accuracy_m, state, revision, received_at_ms, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
         ON CONFLICT (id) DO UPDATE SET container_number = excluded.container_number, \
         inspector_id = excluded.inspector_id, created_at_ms = excluded.created_at_ms, \
         updated_at_ms = excluded.updated_at_ms, latitude = excluded.latitude, \
         longitude = excluded.longitude, accuracy_m = excluded.accuracy_m, \
         state = excluded.state, revision = excluded.revision, kind = excluded.kind",
        params![
            new.id,
            new.container_number,
            new.inspector_id,
            new.created_at_ms,
            new.updated_at_ms,
            lat,
            lon,
            acc,
            new.state.as_str(),
            revision,
            new.received_at_ms,
            new.kind,
        ],
    )
    .map_err(backend)?;
    Ok(put)
}

#[async_trait]
impl Store for EmbeddedStore {
    async fn put_inspection(&self, inspection: &Inspection) -> Result<Put, StoreError> {
        let inspection = inspection.clone();
        self.with(move |conn, _| {
            let tx = conn.transaction().map_err(backend)?;
            let put = write_inspection(&tx, &inspection)?;
            tx.commit().map_err(backend)?;
            Ok(put)
        })
        .await
    }

    async fn inspection(&self, id: &str) -> Result<Option<InspectionSummary>, StoreError> {
        let id = id.to_owned();
        self.with(move |conn, _| {
            conn.query_row(
                &format!("SELECT {INSPECTION_COLUMNS} FROM inspections i WHERE i.id = ?1"),
                [id],
                summary_from_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn list(&self, query: &ListQuery) -> Result<Vec<InspectionSummary>, StoreError> {
        let query = query.clone();
        self.with(move |conn, _| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {INSPECTION_COLUMNS} FROM inspections i \
                     WHERE (?1 IS NULL OR i.container_number = ?1) \
                     AND (?2 IS NULL OR i.created_at_ms >= ?2) \
                     AND (?3 IS NULL OR i.created_at_ms < ?3) \
                     AND (?4 IS NULL OR i.state = ?4) \
                     ORDER BY i.created_at_ms DESC, i.id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![
                        query.container,
                        query.since_ms,
                        query.until_ms,
                        query.state.map(InspectionState::as_str),
                    ],
                    summary_from_row,
                )
                .map_err(backend)?;
            let mut out = Vec::new();
            for row in rows {
                if out.len() >= query.limit {
                    break;
                }
                let summary = row.map_err(backend)?;
                if query.matches(&summary) {
                    out.push(summary);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn put_photo(
        &self,
        photo: &Photo,
        bytes: &[u8],
        detect_status: DetectStatus,
    ) -> Result<Put, StoreError> {
        let photo = photo.clone();
        let bytes = bytes.to_vec();
        self.with(move |conn, dir| photos::put(conn, dir, &photo, &bytes, detect_status))
            .await
    }

    async fn photo(
        &self,
        inspection_id: &str,
        photo_id: &str,
    ) -> Result<Option<StoredPhoto>, StoreError> {
        let (inspection_id, photo_id) = (inspection_id.to_owned(), photo_id.to_owned());
        self.with(move |conn, _| {
            let tx = conn.transaction().map_err(backend)?;
            read_photo(&tx, &inspection_id, &photo_id)
        })
        .await
    }

    async fn photos(&self, inspection_id: &str) -> Result<Vec<StoredPhoto>, StoreError> {
        let inspection_id = inspection_id.to_owned();
        self.with(move |conn, _| {
            let mut stmt = conn
                .prepare(&format!(
                    "SELECT {PHOTO_COLUMNS} FROM photos WHERE inspection_id = ?1 \
                     ORDER BY received_at_ms, id"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map([inspection_id], photo_from_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn photo_bytes(&self, photo: &Photo) -> Result<Vec<u8>, StoreError> {
        let path = photo_file(&self.photos, photo);
        tokio::fs::read(&path)
            .await
            .map_err(|e| backend(format!("cannot read {}: {e}", path.display())))
    }

    async fn put_thumbnail(&self, photo: &Photo, jpeg: &[u8]) -> Result<Put, StoreError> {
        let (photo, jpeg) = (photo.clone(), jpeg.to_vec());
        self.with(move |conn, dir| photos::put_thumbnail(conn, dir, &photo, &jpeg))
            .await
    }

    async fn thumbnail_bytes(&self, photo: &Photo) -> Result<Option<Vec<u8>>, StoreError> {
        let path = thumbnail_file(&self.photos, photo);
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(backend(format!("cannot read {}: {e}", path.display()))),
        }
    }

    async fn set_detect_status(
        &self,
        photo: &Photo,
        status: DetectStatus,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let (inspection_id, id) = (photo.inspection_id.clone(), photo.id.clone());
        let error = error.map(str::to_owned);
        self.with(move |conn, _| {
            let updated = conn
                .execute(
                    "UPDATE photos SET detect_status = ?3, detect_error = ?4 \
                     WHERE inspection_id = ?1 AND id = ?2",
                    params![inspection_id, id, status.as_str(), error],
                )
                .map_err(backend)?;
            if updated == 0 {
                return Err(StoreError::NotFound(format!(
                    "inspection {inspection_id} has no photo {id}"
                )));
            }
            Ok(())
        })
        .await
    }

    async fn claim_stale_detection(
        &self,
        photo: &Photo,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let (inspection_id, id) = (photo.inspection_id.clone(), photo.id.clone());
        self.with(move |conn, _| {
            let claimed = conn
                .execute(
                    "UPDATE photos SET detect_claimed_at_ms = ?4 \
                     WHERE inspection_id = ?1 AND id = ?2 AND detect_status = 'pending' \
                     AND coalesce(detect_claimed_at_ms, received_at_ms) < ?3",
                    params![inspection_id, id, stale_before_ms, now_ms],
                )
                .map_err(backend)?;
            Ok(claimed == 1)
        })
        .await
    }

    async fn put_verdict(&self, inspection_id: &str, verdict: &Verdict) -> Result<Put, StoreError> {
        let inspection_id = inspection_id.to_owned();
        let verdict = verdict.clone();
        self.with(move |conn, _| {
            let tx = conn.transaction().map_err(backend)?;
            let put = verdicts::write(&tx, &inspection_id, &verdict)?;
            tx.commit().map_err(backend)?;
            Ok(put)
        })
        .await
    }

    async fn verdicts(&self, inspection_id: &str) -> Result<Vec<Verdict>, StoreError> {
        let inspection_id = inspection_id.to_owned();
        self.with(move |conn, _| verdicts::of_inspection(conn, &inspection_id))
            .await
    }

    async fn report(
        &self,
        inspection_id: &str,
        key: ReportKey,
    ) -> Result<Option<String>, StoreError> {
        let id = inspection_id.to_owned();
        let (revision, reviews) = sql_key(key)?;
        self.with(move |conn, _| {
            conn.query_row(
                "SELECT eir FROM reports \
                 WHERE inspection_id = ?1 AND revision = ?2 AND reviews = ?3",
                params![id, revision, reviews],
                |row| row.get::<_, Option<String>>(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(backend)
        })
        .await
    }

    async fn claim_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let id = inspection_id.to_owned();
        let (revision, reviews) = sql_key(key)?;
        self.with(move |conn, _| {
            let claimed = conn
                .execute(
                    "INSERT INTO reports (inspection_id, revision, reviews, claimed_at_ms) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (inspection_id, revision, reviews) DO UPDATE \
                     SET claimed_at_ms = excluded.claimed_at_ms \
                     WHERE reports.eir IS NULL AND reports.claimed_at_ms < ?5",
                    params![id, revision, reviews, now_ms, stale_before_ms],
                )
                .map_err(backend)?;
            Ok(claimed == 1)
        })
        .await
    }

    async fn put_report(
        &self,
        inspection_id: &str,
        key: ReportKey,
        eir_json: &str,
    ) -> Result<Put, StoreError> {
        let (id, eir) = (inspection_id.to_owned(), eir_json.to_owned());
        let (revision, reviews) = sql_key(key)?;
        self.with(move |conn, _| {
            let written = conn
                .execute(
                    "INSERT INTO reports (inspection_id, revision, reviews, claimed_at_ms, eir) \
                     VALUES (?1, ?2, ?3, 0, ?4) \
                     ON CONFLICT (inspection_id, revision, reviews) DO UPDATE \
                     SET eir = excluded.eir WHERE reports.eir IS NULL",
                    params![id, revision, reviews, eir],
                )
                .map_err(backend)?;
            Ok(if written == 1 {
                Put::Created
            } else {
                Put::Unchanged
            })
        })
        .await
    }

    async fn put_review(&self, review: &Review) -> Result<Put, StoreError> {
        review.validate()?;
        let review = review.clone();
        self.with(move |conn, _| reviews::put(conn, &review)).await
    }

    async fn reviews(&self, inspection_id: &str) -> Result<Vec<Review>, StoreError> {
        let id = inspection_id.to_owned();
        self.with(move |conn, _| reviews::of_inspection(conn, &id))
            .await
    }

    async fn mark_reviewed(
        &self,
        inspection_id: &str,
        reviewer: &str,
        at_ms: i64,
    ) -> Result<Put, StoreError> {
        let (id, reviewer) = (inspection_id.to_owned(), reviewer.to_owned());
        self.with(move |conn, _| reviews::mark(conn, &id, &reviewer, at_ms))
            .await
    }

    async fn presigned_url(
        &self,
        _photo: &Photo,
        _ttl: Duration,
    ) -> Result<Option<(String, i64)>, StoreError> {
        Ok(None)
    }
}

/// The HMAC key of the local photo URLs, `<dir>/url-key` (32 random bytes, created once,
/// written atomically): URLs stay valid across restarts until they expire.
pub fn url_key(dir: &Path) -> Result<Vec<u8>, StoreError> {
    let path = dir.join("url-key");
    match std::fs::read(&path) {
        Ok(key) if key.len() == 32 => return Ok(key),
        Ok(_) => {
            return Err(backend(format!(
                "{} is not a 32-byte key; remove it to make a new one",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(backend(format!("cannot read {}: {e}", path.display()))),
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).map_err(backend)?;
    std::fs::create_dir_all(dir).map_err(backend)?;
    durable::write_atomic(&path, &key).map_err(backend)?;
    Ok(key)
}
