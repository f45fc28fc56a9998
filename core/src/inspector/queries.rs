//! What hosts read: inspections and their detail, totals, photos and their results, the
//! photos still waiting for an edge result, and the database's own integrity check.

use std::fs;

use super::{InspectionDetail, Inspector, PhotoDetail, Stats};
use crate::detections::DetectionResult;
use crate::error::{Error, Result};
use crate::inspection::{InspectionId, Photo, PhotoId};
use crate::store::box_verdicts::{self, BoxVerdict};
use crate::store::inspections::{self, InspectionFilter, InspectionSummary};
use crate::store::{StoreError, detection_results, office, photos};

impl Inspector {
    /// Inspections matching `filter`, newest first, with photo counts per state.
    pub fn list_inspections(&self, filter: &InspectionFilter) -> Result<Vec<InspectionSummary>> {
        Ok(self.store.read(|tx| inspections::list(tx, filter))?)
    }

    /// One inspection with its photos and every detection result stored for them.
    pub fn inspection(&self, id: InspectionId) -> Result<InspectionDetail> {
        let detail = self.store.read(|tx| {
            let Some(inspection) = inspections::get(tx, id)? else {
                return Ok(None);
            };
            let photos = photos::for_inspection(tx, id)?
                .into_iter()
                .map(|photo| {
                    let results = detection_results::for_photo(tx, photo.id)?;
                    let (office_at, verdicts_on_office) =
                        office::photo_acknowledgements(tx, photo.id)?;
                    let mut detail = PhotoDetail::new(photo, results);
                    detail.office_at = office_at;
                    detail.verdicts_on_office = verdicts_on_office;
                    Ok::<_, StoreError>(detail)
                })
                .collect::<Result<Vec<_>, _>>()?;
            let office = office::inspection_ack(tx, id)?.unwrap_or_default();
            Ok(Some(InspectionDetail {
                inspection,
                photos,
                office,
                faces: Default::default(),
                box_verdict: box_verdicts::get(tx, id)?,
            }))
        })?;
        detail.ok_or(Error::InspectionNotFound(id))
    }

    /// Counts over the whole store.
    pub fn stats(&self) -> Result<Stats> {
        Ok(self.store.read(|tx| {
            Ok(Stats {
                inspections: inspections::count(tx)?,
                photos: photos::state_counts(tx)?,
                office: office::counts(tx)?,
            })
        })?)
    }

    /// One photo by id.
    pub fn photo(&self, id: PhotoId) -> Result<Photo> {
        self.store
            .read(|tx| photos::get(tx, id))?
            .ok_or(Error::PhotoNotFound(id))
    }

    /// Every detection result stored for a photo, oldest first.
    pub fn stored_results(&self, id: PhotoId) -> Result<Vec<DetectionResult>> {
        Ok(self.store.read(|tx| detection_results::for_photo(tx, id))?)
    }

    /// Photos that still need a result from the model with `model_sha256` (readable, file
    /// present), oldest first, at most `limit`.
    pub fn pending_detection(&self, model_sha256: &str, limit: u32) -> Result<Vec<Photo>> {
        Ok(self
            .store
            .read(|tx| photos::pending_edge(tx, model_sha256, limit))?)
    }

    /// The original bytes of a stored photo.
    pub fn read_photo(&self, photo: &Photo) -> Result<Vec<u8>> {
        let path = self.files.path(photo.id, photo.format);
        fs::read(&path).map_err(Error::io(format!("cannot read {}", path.display())))
    }

    /// `PRAGMA integrity_check` of the database: `["ok"]` when sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(self.store.integrity_check()?)
    }

    /// The verdict on the box read from the office's report (`None`: not read yet).
    pub fn box_verdict(&self, id: InspectionId) -> Result<Option<BoxVerdict>> {
        self.store.read(|tx| {
            if inspections::get(tx, id)?.is_none() {
                return Ok(Err(Error::InspectionNotFound(id)));
            }
            Ok(Ok(box_verdicts::get(tx, id)?))
        })?
    }
}
