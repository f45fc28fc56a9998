//! SQLite persistence: one writer connection, a pool of read-only readers (WAL), schema
//! migrations, and one module of row functions per table. Writers take a `&Transaction`
//! so callers compose them atomically; nothing here does file or network I/O.

pub mod box_verdicts;
pub mod detection_results;
pub mod inspections;
pub mod migrations;
pub mod office;
pub mod photos;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database file is damaged or is not an SQLite database. It is left untouched.
    #[error(
        "database {path} is corrupt or not an SQLite database ({detail}); it was left untouched"
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// SQLite's words.
        detail: String,
    },
    /// The device's storage (or the database's size limit) is full: the transaction was
    /// rolled back and nothing was written.
    #[error("the database cannot grow: the storage is full; nothing was written")]
    Full,
    /// The database was written by a newer version of the app.
    #[error(
        "database schema version {found} is newer than this app supports ({supported}); update the app, the database was not modified"
    )]
    NewerSchema {
        /// `PRAGMA user_version` found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A stored value could not be read back as its type.
    #[error("stored {what} is invalid: {value:?}")]
    InvalidValue {
        /// Column or concept.
        what: &'static str,
        /// The raw value.
        value: String,
    },
    /// Any other SQLite failure.
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => Self::Full,
            _ => Self::Sqlite(error),
        }
    }
}

impl StoreError {
    fn classify(path: &Path, error: rusqlite::Error) -> Self {
        match error.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => Self::Corrupt {
                path: path.to_owned(),
                detail: error.to_string(),
            },
            _ => Self::from(error),
        }
    }
}

/// The inspections database.
pub struct Store {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    busy_timeout: Duration,
}

impl Store {
    /// Opens (creating if absent) and migrates the database at `path`.
    ///
    /// The schema version is read before anything is written, so a database from a newer
    /// app or a corrupt file is reported and left exactly as it was.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Self, StoreError> {
        let classify = |e| StoreError::classify(path, e);
        let mut writer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(classify)?;
        writer.busy_timeout(busy_timeout).map_err(classify)?;
        let found = migrations::schema_version(&writer).map_err(classify)?;
        if found > migrations::LATEST_VERSION {
            return Err(StoreError::NewerSchema {
                found,
                supported: migrations::LATEST_VERSION,
            });
        }
        let mode: String = writer
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(classify)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::InvalidValue {
                what: "journal_mode (WAL could not be enabled)",
                value: mode,
            });
        }
        writer
            .execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(classify)?;
        migrations::migrate(&mut writer).map_err(|e| match e {
            StoreError::Sqlite(e) => classify(e),
            other => other,
        })?;
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            busy_timeout,
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer connection and commits
    /// if it returns `Ok`; rolls back otherwise.
    pub fn write<T, E>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let mut writer = lock(&self.writer);
        let tx = writer
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| E::from(StoreError::classify(&self.path, e)))?;
        let value = f(&tx)?;
        tx.commit()
            .map_err(|e| E::from(StoreError::classify(&self.path, e)))?;
        Ok(value)
    }

    /// Runs `f` in a read transaction on a read-only connection; readers never block the
    /// writer (WAL) and see a consistent snapshot.
    pub fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = lock(&self.readers).pop();
        let mut conn = match pooled {
            Some(conn) => conn,
            None => self.open_reader()?,
        };
        let result = (|| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Deferred)
                .map_err(|e| StoreError::classify(&self.path, e))?;
            let value = f(&tx)?;
            tx.finish()
                .map_err(|e| StoreError::classify(&self.path, e))?;
            Ok(value)
        })();
        lock(&self.readers).push(conn);
        result
    }

    fn open_reader(&self) -> Result<Connection, StoreError> {
        let classify = |e| StoreError::classify(&self.path, e);
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(classify)?;
        conn.busy_timeout(self.busy_timeout).map_err(classify)?;
        conn.execute_batch("PRAGMA query_only = ON;")
            .map_err(classify)?;
        Ok(conn)
    }

    /// `PRAGMA integrity_check`: `["ok"]` when the database is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}

/// Locks a mutex, recovering the guard if a panicking thread poisoned it: a connection
/// stays usable after a panic (SQLite rolls back the open transaction when it is dropped).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_file_is_reported_corrupt_and_left_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite3");
        let garbage = b"this is the user's data, not a database, but it is theirs".repeat(200);
        std::fs::write(&path, &garbage).expect("write");
        let err = Store::open(&path, Duration::from_secs(1))
            .err()
            .expect("refused");
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), garbage);
    }

    #[test]
    fn opens_in_wal_with_foreign_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db.sqlite3"), Duration::from_secs(1)).expect("open");
        let (mode, fk): (String, i64) = store
            .write(|tx| {
                Ok::<_, StoreError>((
                    tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                    tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                ))
            })
            .expect("pragmas");
        assert_eq!((mode.as_str(), fk), ("wal", 1));
        assert_eq!(store.integrity_check().expect("check"), vec!["ok"]);
    }
}
