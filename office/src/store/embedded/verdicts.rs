//! Verdicts in SQLite: keyed by (inspection, photo, source, model SHA-256), the response
//! kept as the JSON text the phone or endpoint sent.

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};
use serde_json::value::RawValue;

use super::{backend, read_photo};
use crate::store::{Put, StoreError};
use crate::wire::{Verdict, VerdictSource};

fn from_row(row: &Row<'_>) -> rusqlite::Result<Verdict> {
    let text = |i: usize, e: Box<dyn std::error::Error + Send + Sync>| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e)
    };
    let source: String = row.get(1)?;
    Ok(Verdict {
        photo_id: row.get(0)?,
        source: VerdictSource::parse(&source)
            .ok_or_else(|| text(1, format!("stored verdict has source {source:?}").into()))?,
        model_name: row.get(2)?,
        model_version: row.get(3)?,
        model_sha256: row.get(4)?,
        has_damage: row.get(5)?,
        response: RawValue::from_string(row.get(6)?).map_err(|e| text(6, e.into()))?,
        received_at_ms: row.get(7)?,
    })
}

const COLUMNS: &str = "v.photo_id, v.source, v.model_name, v.model_version, \
                       v.model_sha256, v.has_damage, v.response, v.received_at_ms";

/// Inserts a verdict in `tx` by the rule of [`crate::store::Store::put_verdict`].
pub(super) fn write(
    tx: &Transaction<'_>,
    inspection_id: &str,
    v: &Verdict,
) -> Result<Put, StoreError> {
    if read_photo(tx, inspection_id, &v.photo_id)?.is_none() {
        return Err(StoreError::NotFound(format!(
            "inspection {inspection_id} has no photo {}",
            v.photo_id
        )));
    }
    let existing = tx
        .query_row(
            &format!(
                "SELECT {COLUMNS} FROM verdicts v \
                 WHERE v.inspection_id = ?1 AND v.photo_id = ?2 AND v.source = ?3 \
                 AND v.model_sha256 = ?4"
            ),
            params![inspection_id, v.photo_id, v.source.as_str(), v.model_sha256],
            from_row,
        )
        .optional()
        .map_err(backend)?;
    if let Some(old) = existing {
        return if old.response.get() == v.response.get() {
            Ok(Put::Unchanged)
        } else {
            Err(StoreError::Conflict(format!(
                "photo {} already has another {} verdict of model {}",
                v.photo_id,
                v.source.as_str(),
                v.model_sha256
            )))
        };
    }
    tx.execute(
        "INSERT INTO verdicts (inspection_id, photo_id, source, model_name, model_version, \
         model_sha256, has_damage, response, received_at_ms) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            inspection_id,
            v.photo_id,
            v.source.as_str(),
            v.model_name,
            v.model_version,
            v.model_sha256,
            v.has_damage,
            v.response.get(),
            v.received_at_ms,
        ],
    )
    .map_err(backend)?;
    Ok(Put::Created)
}

/// The verdicts of an inspection, in [`crate::store::verdict_order`].
pub(super) fn of_inspection(
    conn: &mut Connection,
    inspection_id: &str,
) -> Result<Vec<Verdict>, StoreError> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT {COLUMNS} FROM verdicts v WHERE v.inspection_id = ?1 \
             ORDER BY v.received_at_ms, v.photo_id, v.source, v.model_sha256"
        ))
        .map_err(backend)?;
    let rows = stmt.query_map([inspection_id], from_row).map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}
