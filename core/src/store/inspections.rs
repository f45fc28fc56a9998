//! Rows of the `inspections` table.

use rusqlite::{OptionalExtension, Row, Transaction, params};
use serde::Serialize;

use super::StoreError;
use super::photos::StateCounts;
use crate::inspection::{Inspection, InspectionId, Location, PhotoState};
use omni_protocol::container_number::ContainerNumber;
use omni_protocol::timestamp::Timestamp;

/// Which inspections to list, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InspectionFilter {
    /// Only inspections with at least one photo in this state.
    pub photo_state: Option<PhotoState>,
    /// Only inspections of this container.
    pub container_number: Option<ContainerNumber>,
    /// Page size (`None`: no limit).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: u32,
}

/// An inspection with the number of its photos in each state.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InspectionSummary {
    /// The inspection.
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Its photos per state.
    pub photos: StateCounts,
}

/// Inserts a new inspection.
pub fn insert(tx: &Transaction<'_>, inspection: &Inspection) -> Result<(), StoreError> {
    let location = inspection.location.as_ref();
    tx.execute(
        "INSERT INTO inspections (id, container_number, inspector_id, created_at, closed_at, \
         latitude, longitude, accuracy_m, notes, recovered_at, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            inspection.id.to_string(),
            inspection.container_number.as_str(),
            inspection.inspector_id,
            inspection.created_at.as_millis(),
            inspection.closed_at.map(Timestamp::as_millis),
            location.map(|l| l.latitude),
            location.map(|l| l.longitude),
            location.and_then(|l| l.accuracy_m),
            inspection.notes,
            inspection.recovered_at.map(Timestamp::as_millis),
            inspection.kind,
        ],
    )?;
    Ok(())
}

/// Sets `closed_at` if the inspection is still open, and counts the change in its revision
/// (the office lane sends each revision once); returns whether a row changed.
pub fn close(tx: &Transaction<'_>, id: InspectionId, at: Timestamp) -> Result<bool, StoreError> {
    let changed = tx.execute(
        "UPDATE inspections SET closed_at = ?2, revision = revision + 1 \
         WHERE id = ?1 AND closed_at IS NULL",
        params![id.to_string(), at.as_millis()],
    )?;
    Ok(changed == 1)
}

/// Whether the inspection exists.
pub fn exists(tx: &Transaction<'_>, id: InspectionId) -> Result<bool, StoreError> {
    Ok(tx
        .query_row(
            "SELECT 1 FROM inspections WHERE id = ?1",
            [id.to_string()],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

const COLUMNS: &str = "i.id, i.container_number, i.inspector_id, i.created_at, i.closed_at, \
                       i.latitude, i.longitude, i.accuracy_m, i.notes, i.recovered_at, i.kind";

/// One inspection by id.
pub fn get(tx: &Transaction<'_>, id: InspectionId) -> Result<Option<Inspection>, StoreError> {
    let raw = tx
        .query_row(
            &format!("SELECT {COLUMNS} FROM inspections i WHERE i.id = ?1"),
            [id.to_string()],
            RawInspection::from_row,
        )
        .optional()?;
    raw.map(RawInspection::into_inspection).transpose()
}

/// Inspections matching `filter`, newest first, with photo counts.
pub fn list(
    tx: &Transaction<'_>,
    filter: &InspectionFilter,
) -> Result<Vec<InspectionSummary>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {COLUMNS}, \
           (SELECT count(*) FROM photos p WHERE p.inspection_id = i.id AND p.state = 'queued'), \
           (SELECT count(*) FROM photos p WHERE p.inspection_id = i.id AND p.state = 'synced'), \
           (SELECT count(*) FROM photos p WHERE p.inspection_id = i.id AND p.state = 'failed') \
         FROM inspections i \
         WHERE (?1 IS NULL OR i.container_number = ?1) \
           AND (?2 IS NULL OR EXISTS \
                (SELECT 1 FROM photos p WHERE p.inspection_id = i.id AND p.state = ?2)) \
         ORDER BY i.created_at DESC, i.id DESC \
         LIMIT ?3 OFFSET ?4"
    ))?;
    let rows = stmt.query_map(
        params![
            filter
                .container_number
                .as_ref()
                .map(ContainerNumber::as_str),
            filter.photo_state.map(PhotoState::as_str),
            filter.limit.map_or(-1, i64::from),
            filter.offset,
        ],
        |row| {
            Ok((
                RawInspection::from_row(row)?,
                StateCounts {
                    queued: row.get(11)?,
                    synced: row.get(12)?,
                    failed: row.get(13)?,
                },
            ))
        },
    )?;
    rows.map(|row| {
        let (raw, photos) = row?;
        Ok(InspectionSummary {
            inspection: raw.into_inspection()?,
            photos,
        })
    })
    .collect()
}

/// Number of inspections stored.
pub fn count(tx: &Transaction<'_>) -> Result<u64, StoreError> {
    Ok(tx.query_row("SELECT count(*) FROM inspections", [], |r| r.get(0))?)
}

/// Columns as SQLite returns them, before domain validation.
struct RawInspection {
    id: String,
    container_number: String,
    inspector_id: Option<String>,
    created_at: i64,
    closed_at: Option<i64>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accuracy_m: Option<f64>,
    notes: Option<String>,
    recovered_at: Option<i64>,
    kind: Option<String>,
}

impl RawInspection {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get(0)?,
            container_number: row.get(1)?,
            inspector_id: row.get(2)?,
            created_at: row.get(3)?,
            closed_at: row.get(4)?,
            latitude: row.get(5)?,
            longitude: row.get(6)?,
            accuracy_m: row.get(7)?,
            notes: row.get(8)?,
            recovered_at: row.get(9)?,
            kind: row.get(10)?,
        })
    }

    fn into_inspection(self) -> Result<Inspection, StoreError> {
        let id = self.id.parse().map_err(|_| StoreError::InvalidValue {
            what: "inspection id",
            value: self.id.clone(),
        })?;
        let container_number = ContainerNumber::parse(&self.container_number).map_err(|_| {
            StoreError::InvalidValue {
                what: "container number",
                value: self.container_number.clone(),
            }
        })?;
        let location = match (self.latitude, self.longitude) {
            (Some(latitude), Some(longitude)) => Some(Location {
                latitude,
                longitude,
                accuracy_m: self.accuracy_m,
            }),
            _ => None,
        };
        Ok(Inspection {
            id,
            container_number,
            inspector_id: self.inspector_id,
            created_at: Timestamp::from_millis(self.created_at),
            closed_at: self.closed_at.map(Timestamp::from_millis),
            location,
            notes: self.notes,
            recovered_at: self.recovered_at.map(Timestamp::from_millis),
            kind: self.kind,
        })
    }
}
