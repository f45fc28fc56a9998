//! `.sql` migrations on `PRAGMA user_version`: script `i` moves a database from version `i`
//! to `i + 1`, each in its own immediate transaction with its version bump, so a crash leaves
//! a database at a version it had. A database newer than the build is refused.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

/// Why a database could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The file was written by a newer build.
    #[error("database schema version {found} is newer than this build's {supported}")]
    Newer {
        /// The file's `user_version`.
        found: usize,
        /// The newest this build knows.
        supported: usize,
    },
    /// SQLite failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The file could not be opened.
    #[error("cannot open {path}: {source}")]
    Open {
        /// The database file.
        path: String,
        /// Why.
        source: rusqlite::Error,
    },
}

/// Opens (creating) the database at `path` as the office keeps every database: WAL,
/// `synchronous=FULL` (a write the office acknowledged survives a power cut), foreign keys,
/// a 5 s busy wait, and its schema brought up to date by `scripts`.
pub fn open(path: &Path, scripts: &[&str]) -> Result<Connection, MigrateError> {
    let mut conn = Connection::open(path).map_err(|source| MigrateError::Open {
        path: path.display().to_string(),
        source,
    })?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    migrate(&mut conn, scripts)?;
    Ok(conn)
}

/// Applies the scripts `conn` has not seen yet.
pub fn migrate(conn: &mut Connection, scripts: &[&str]) -> Result<(), MigrateError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let found = usize::try_from(found).unwrap_or(usize::MAX);
    if found > scripts.len() {
        return Err(MigrateError::Newer {
            found,
            supported: scripts.len(),
        });
    }
    for (version, script) in scripts.iter().enumerate().skip(found) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(script)?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
    Ok(())
}
