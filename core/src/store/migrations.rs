//! Schema migrations: `.sql` files applied in order, the version kept in `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The migration scripts; script `i` moves the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_inspections_photos.sql"),
    include_str!("../../migrations/0002_detection_results.sql"),
    include_str!("../../migrations/0003_recovered_inspections.sql"),
    include_str!("../../migrations/0004_office_acknowledgements.sql"),
    include_str!("../../migrations/0005_photo_faces.sql"),
    include_str!("../../migrations/0006_inspection_kinds.sql"),
    include_str!("../../migrations/0007_box_verdicts.sql"),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// The database's `PRAGMA user_version` (0 for a new file). Reading it is also the first
/// access that fails on a corrupt file.
pub fn schema_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |row| row.get(0))
}

/// Applies every pending migration, each in its own transaction with its version bump.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, LATEST_VERSION)
}

/// Applies pending migrations up to `target`; refuses a database newer than this build.
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), StoreError> {
    let found = schema_version(conn)?;
    if found > LATEST_VERSION {
        return Err(StoreError::NewerSchema {
            found,
            supported: LATEST_VERSION,
        });
    }
    for version in found..target.min(LATEST_VERSION) {
        let script = MIGRATIONS[usize::try_from(version).unwrap_or(usize::MAX)];
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::Store;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn fresh_database_reaches_latest_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        drop(Store::open(&path, Duration::from_secs(1)).expect("open"));
        let conn = Connection::open(&path).expect("reopen");
        assert_eq!(schema_version(&conn).expect("version"), LATEST_VERSION);
        assert_eq!(
            tables(&conn),
            [
                "box_verdicts",
                "detection_results",
                "detections",
                "inspections",
                "office_outbox",
                "photos"
            ]
        );
    }

    #[test]
    fn every_older_version_migrates_and_keeps_its_rows() {
        for start in 0..LATEST_VERSION {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("db.sqlite3");
            {
                let mut conn = Connection::open(&path).expect("create");
                migrate_to(&mut conn, start).expect("partial migrate");
                assert_eq!(schema_version(&conn).expect("version"), start);
                if start >= 1 {
                    conn.execute(
                        "INSERT INTO inspections (id, container_number, created_at) \
                         VALUES ('0193a4f0-0000-7000-8000-000000000001', 'CSQU3054383', 1)",
                        [],
                    )
                    .expect("row at old version");
                }
            }
            let store = Store::open(&path, Duration::from_secs(1))
                .unwrap_or_else(|e| panic!("migrating from v{start}: {e}"));
            let (version, inspections): (i64, i64) = store
                .read(|tx| {
                    Ok((
                        schema_version(tx)?,
                        tx.query_row("SELECT count(*) FROM inspections", [], |r| r.get(0))?,
                    ))
                })
                .expect("read");
            assert_eq!(version, LATEST_VERSION, "from v{start}");
            assert_eq!(
                inspections,
                i64::from(start >= 1),
                "rows kept from v{start}"
            );
        }
    }

    #[test]
    fn photos_stored_before_faces_show_the_whole_container() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        {
            let mut conn = Connection::open(&path).expect("create");
            migrate_to(&mut conn, 4).expect("v4");
            conn.execute_batch(
                "INSERT INTO inspections (id, container_number, created_at) \
                 VALUES ('0193a4f0-0000-7000-8000-000000000001', 'CSQU3054383', 1); \
                 INSERT INTO photos (id, inspection_id, format, sha256, size_bytes, width, \
                 height, captured_at, created_at) VALUES \
                 ('0193a4f0-0000-7000-8000-000000000002', \
                  '0193a4f0-0000-7000-8000-000000000001', 'jpeg', \
                  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, 1, 1, 1, 1);",
            )
            .expect("v4 rows");
        }
        let store = Store::open(&path, Duration::from_secs(1)).expect("migrate");
        let (face, kind): (String, Option<String>) = store
            .read(|tx| {
                Ok(tx.query_row(
                    "SELECT p.face, i.kind FROM photos p JOIN inspections i \
                     ON i.id = p.inspection_id",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .expect("read");
        assert_eq!((face.as_str(), kind), ("X", None));
        // Only the eight letters are stored.
        let refused: Result<usize, StoreError> =
            store.write(|tx| Ok(tx.execute("UPDATE photos SET face = 'Q'", [])?));
        assert!(refused.is_err());
    }

    #[test]
    fn newer_database_is_refused_and_not_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        {
            let conn = Connection::open(&path).expect("create");
            conn.execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
                .expect("future schema");
        }
        let before = std::fs::read(&path).expect("read");
        let err = Store::open(&path, Duration::from_secs(1))
            .err()
            .expect("refused");
        assert!(
            matches!(err, StoreError::NewerSchema { found: 99, supported } if supported == LATEST_VERSION),
            "{err}"
        );
        assert_eq!(
            std::fs::read(&path).expect("read"),
            before,
            "file untouched"
        );
        assert!(
            !dir.path().join("db.sqlite3-wal").exists(),
            "no WAL created"
        );
    }
}
