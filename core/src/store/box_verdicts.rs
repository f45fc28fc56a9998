//! The verdict on the box read back from the yard office's report (`box_verdicts`), and which
//! closed inspections are due for that read.

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::StoreError;
use super::office::{self, RecordKind};
use crate::inspection::InspectionId;
use omni_protocol::box_verdict::{BoxVerdictStatus, ReportVerdict};
use omni_protocol::lang::Localized;
use omni_protocol::timestamp::Timestamp;

/// What the office's report (EIR) of an inspection says of the box.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BoxVerdict {
    /// The inspection.
    pub inspection_id: InspectionId,
    /// The phone's revision of the inspection the report was read for.
    pub revision: u64,
    /// The revision the report's header names.
    pub report_revision: u32,
    /// The EIR number.
    pub eir_number: String,
    /// Sound / repair needed / not fit.
    pub status: BoxVerdictStatus,
    /// Why, in English and Spanish.
    pub reason: Localized,
    /// How many damage lines the report has.
    pub damage_lines: u32,
    /// When the phone read it.
    #[cfg_attr(feature = "uniffi", uniffi(name = "fetched_at_ms"))]
    pub fetched_at: Timestamp,
}

/// Closed inspections with a kind whose current revision, photos and verdicts the office has
/// all acknowledged, without a stored verdict for that revision, due at `now`, oldest close
/// first: `(id, revision)`. (Without a kind the office writes no report.)
pub fn due(
    tx: &Transaction<'_>,
    now: Timestamp,
    limit: u32,
) -> Result<Vec<(InspectionId, u64)>, StoreError> {
    let mut stmt = tx.prepare(&format!(
        "SELECT i.id, i.revision FROM inspections i \
         WHERE i.closed_at IS NOT NULL AND i.kind IS NOT NULL \
           AND coalesce(i.office_revision, 0) >= i.revision \
           AND NOT EXISTS (SELECT 1 FROM box_verdicts b \
                           WHERE b.inspection_id = i.id AND b.revision >= i.revision) \
           AND NOT EXISTS (SELECT 1 FROM photos p \
                           WHERE p.inspection_id = i.id AND p.office_at IS NULL) \
           AND NOT EXISTS (SELECT 1 FROM detection_results r JOIN photos p ON p.id = r.photo_id \
                           WHERE p.inspection_id = i.id AND r.office_at IS NULL) \
           AND {} \
         ORDER BY i.closed_at, i.id LIMIT ?2",
        office::outbox_due(RecordKind::Report, "i.id")
    ))?;
    let rows = stmt.query_map(params![now.as_millis(), limit], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, u64>(1)?))
    })?;
    rows.map(|row| {
        let (id, revision) = row?;
        let id = id.parse().map_err(|_| StoreError::InvalidValue {
            what: "inspection id",
            value: id,
        })?;
        Ok((id, revision))
    })
    .collect()
}

/// Stores the report's verdict read for `revision` of the inspection (replacing one of an
/// older revision, never a newer one) and clears the read's retry state. Returns the stored
/// verdict, or `None` when a verdict of that revision or a newer one was already there.
pub fn put(
    tx: &Transaction<'_>,
    id: InspectionId,
    revision: u64,
    verdict: &ReportVerdict,
    at: Timestamp,
) -> Result<Option<BoxVerdict>, StoreError> {
    let changed = tx.execute(
        "INSERT INTO box_verdicts (inspection_id, revision, report_revision, eir_number, status, \
           reason_en, reason_es, damage_lines, fetched_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) \
         ON CONFLICT (inspection_id) DO UPDATE SET revision = excluded.revision, \
           report_revision = excluded.report_revision, eir_number = excluded.eir_number, \
           status = excluded.status, reason_en = excluded.reason_en, \
           reason_es = excluded.reason_es, damage_lines = excluded.damage_lines, \
           fetched_at = excluded.fetched_at \
         WHERE excluded.revision > box_verdicts.revision",
        params![
            id.to_string(),
            revision,
            verdict.revision,
            verdict.eir_number,
            verdict.status.as_str(),
            verdict.reason.en,
            verdict.reason.es,
            verdict.damage_lines,
            at.as_millis(),
        ],
    )?;
    office::clear(tx, RecordKind::Report, &id.to_string())?;
    if changed == 0 {
        return Ok(None);
    }
    get(tx, id)
}

/// The stored verdict on the box of an inspection, if the office's report was read.
pub fn get(tx: &Transaction<'_>, id: InspectionId) -> Result<Option<BoxVerdict>, StoreError> {
    let row = tx
        .query_row(
            "SELECT revision, report_revision, eir_number, status, reason_en, reason_es, \
               damage_lines, fetched_at FROM box_verdicts WHERE inspection_id = ?1",
            [id.to_string()],
            |row| {
                Ok((
                    (row.get::<_, u64>(0)?, row.get::<_, u32>(1)?),
                    row.get::<_, String>(2)?,
                    row.get::<_, String>(3)?,
                    (row.get::<_, String>(4)?, row.get::<_, String>(5)?),
                    (row.get::<_, u32>(6)?, row.get::<_, i64>(7)?),
                ))
            },
        )
        .optional()?;
    let Some(((revision, report_revision), eir_number, status, (en, es), (lines, at))) = row else {
        return Ok(None);
    };
    let status = status
        .parse::<BoxVerdictStatus>()
        .map_err(|_| StoreError::InvalidValue {
            what: "box verdict status",
            value: status,
        })?;
    Ok(Some(BoxVerdict {
        inspection_id: id,
        revision,
        report_revision,
        eir_number,
        status,
        reason: Localized::new(en, es),
        damage_lines: lines,
        fetched_at: Timestamp::from_millis(at),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, inspections};

    fn verdict(status: BoxVerdictStatus, lines: u32) -> ReportVerdict {
        ReportVerdict {
            eir_number: "EIR-1".to_owned(),
            revision: 2,
            status,
            reason: Localized::new("why", "por qué"),
            damage_lines: lines,
        }
    }

    #[test]
    fn a_closed_inspection_the_office_has_is_due_until_its_verdict_is_stored_once() {
        let (_dir, store, id) = office::tests::store_with_inspection();
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE inspections SET kind = 'gate-in' WHERE id = ?1",
                    [id.to_string()],
                )
                .map_err(StoreError::from)
            })
            .expect("kind");
        let now = Timestamp::from_millis(10);
        let due_now = |store: &Store| store.read(|tx| due(tx, now, 10)).expect("due");
        store
            .write(|tx| office::acknowledge_inspection(tx, id, 1))
            .expect("ack");
        assert!(due_now(&store).is_empty(), "open: no report");
        store
            .write(|tx| inspections::close(tx, id, Timestamp::from_millis(5)))
            .expect("close");
        assert!(
            due_now(&store).is_empty(),
            "closed revision not acknowledged"
        );
        store
            .write(|tx| office::acknowledge_inspection(tx, id, 2))
            .expect("ack");
        assert_eq!(due_now(&store), [(id, 2)]);

        let first = verdict(BoxVerdictStatus::RepairNeeded, 3);
        let stored = store
            .write(|tx| put(tx, id, 2, &first, now))
            .expect("put")
            .expect("stored");
        assert_eq!(
            (stored.status, stored.damage_lines, stored.revision),
            (BoxVerdictStatus::RepairNeeded, 3, 2)
        );
        assert!(due_now(&store).is_empty(), "stored: not asked again");
        // The same revision again changes nothing.
        let again = verdict(BoxVerdictStatus::NotFit, 9);
        assert_eq!(
            store.write(|tx| put(tx, id, 2, &again, now)).expect("put"),
            None
        );
        let kept = store.read(|tx| get(tx, id)).expect("get").expect("kept");
        assert_eq!(kept, stored);
    }
}
