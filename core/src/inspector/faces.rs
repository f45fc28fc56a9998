//! Container faces on the phone: the face a photo shows, changeable until the photo is
//! synced, and which faces an inspection's kind requires, has photographed and misses.

use serde::Serialize;

use super::Inspector;
use crate::error::{Error, Result};
use crate::inspection::{Inspection, InspectionId, Photo, PhotoId};
use crate::store::inspections;
use crate::store::photos::{self, FaceChange};
use omni_protocol::face::Face;
use omni_protocol::inspection_kind::{FaceCoverage, KindTable};

/// A closed inspection and the faces it is missing (closing with faces missing is allowed:
/// the truck may leave before every face is photographed).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClosedInspection {
    /// The inspection, closed.
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Its faces against its kind.
    pub faces: FaceCoverage,
}

impl Inspector {
    /// Changes the face a photo shows. Refused once the photo is synced (its cloud result
    /// stored, or the office acknowledged it): that face is what the cloud and the office saw.
    pub fn set_photo_face(&self, id: PhotoId, face: Face) -> Result<Photo> {
        self.store
            .write(|tx| match photos::set_face(tx, id, face)? {
                FaceChange::Changed => photos::get(tx, id)?.ok_or(Error::PhotoNotFound(id)),
                FaceChange::NotFound => Err(Error::PhotoNotFound(id)),
                FaceChange::AlreadySynced => Err(Error::PhotoAlreadySynced(id)),
            })
    }

    /// The faces of an inspection against its kind in `kinds`. A kind the table no longer
    /// defines (the yard changed its table) requires nothing.
    pub fn face_coverage(&self, id: InspectionId, kinds: &KindTable) -> Result<FaceCoverage> {
        let (inspection, photos) = self
            .store
            .read(|tx| {
                let Some(inspection) = inspections::get(tx, id)? else {
                    return Ok(None);
                };
                Ok(Some((inspection, photos::for_inspection(tx, id)?)))
            })?
            .ok_or(Error::InspectionNotFound(id))?;
        Ok(kinds.coverage(inspection.kind.as_deref(), photos.iter().map(|p| p.face)))
    }
}
