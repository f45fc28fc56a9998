//! An inspection from the office's store as the report's input (`omni_report::ReportInput`):
//! per photo the verdict (the one its first review started from, else the cloud verdict over
//! the edge one), its reviews ([`super::reviews`]), its face and oriented size, and its bytes
//! for Nova and the PDF.

use omni_photo::probe::{self as photo_probe, PhotoLimits};
use omni_protocol::response;
use omni_report::ReportInput;
use omni_report::input::{BoxPx, DetectionInput, PhotoInput, Place, VerdictInput};

use crate::error::ApiError;
use crate::store::Store;
use crate::wire::{Inspection, InspectionState, Review, Verdict, VerdictSource};

/// The EIR number of an inspection revision and review state: container, the id's first 8
/// characters, the revision, and after `reviews` reviews `-V<reviews>` (stable: the same
/// revision and review state always get the same number; before any review it is the number
/// reports had before reviews counted).
pub fn eir_number(inspection: &Inspection, reviews: u64) -> String {
    let short: String = inspection.id.chars().take(8).collect();
    let reviewed = match reviews {
        0 => String::new(),
        n => format!("-V{n}"),
    };
    format!(
        "EIR-{}-{}-R{}{reviewed}",
        inspection.container_number,
        short.to_ascii_uppercase(),
        inspection.revision
    )
}

/// Why an inspection has no report (yet): typed API errors a client acts on.
pub fn reportable(inspection: &Inspection) -> Result<&str, ApiError> {
    if inspection.state != InspectionState::Closed {
        return Err(ApiError::new(
            409,
            "InspectionOpenException",
            format!(
                "inspection {} is open: its report is written once the phone closes it",
                inspection.id
            ),
        ));
    }
    inspection.kind.as_deref().ok_or_else(|| {
        ApiError::new(
            409,
            "InspectionKindMissingException",
            format!(
                "inspection {} has no kind (gate-in, gate-out, damage-survey, off-hire): the EIR needs one",
                inspection.id
            ),
        )
    })
}

/// The verdict a report uses for a photo: for a reviewed photo the one its first review
/// started from (none when it started from none: the reviewer drew every box), else the newest
/// cloud verdict, else the newest edge one.
fn chosen<'a>(
    verdicts: &'a [Verdict],
    reviews: &[&Review],
    photo_id: &str,
) -> Result<Option<&'a Verdict>, ApiError> {
    let of_photo = || verdicts.iter().filter(move |v| v.photo_id == photo_id);
    if let Some(first) = reviews.iter().find(|r| r.revision == 1) {
        let Some(base) = &first.based_on else {
            return Ok(None);
        };
        return of_photo()
            .find(|v| v.source == base.source && v.model_sha256 == base.model_sha256)
            .map(Some)
            .ok_or_else(|| {
                internal(format!(
                    "photo {photo_id}: the verdict its first review started from is not stored"
                ))
            });
    }
    Ok(of_photo()
        .rfind(|v| v.source == VerdictSource::Cloud)
        .or_else(|| of_photo().rfind(|v| v.source == VerdictSource::Edge)))
}

fn internal(message: String) -> ApiError {
    ApiError::new(500, "InternalFailure", message)
}

/// The report's input for a closed inspection of the store, with its photos' bytes and
/// `reviews` (all the inspection's, read once by the caller: their count is the report's
/// key).
pub async fn report_input(
    store: &dyn Store,
    inspection: &Inspection,
    reviews: &[Review],
) -> Result<ReportInput, ApiError> {
    let kind = reportable(inspection)?.to_owned();
    let revision = u32::try_from(inspection.revision)
        .map_err(|_| ApiError::validation("inspection revision out of range for a report"))?;
    let review_count = u32::try_from(reviews.len())
        .map_err(|_| ApiError::validation("too many reviews for a report"))?;
    let verdicts = store.verdicts(&inspection.id).await?;
    let mut photos = Vec::new();
    for stored in store.photos(&inspection.id).await? {
        let bytes = store.photo_bytes(&stored.photo).await?;
        let limits = PhotoLimits {
            max_bytes: omni_report::input::MAX_PHOTO_BYTES,
            ..PhotoLimits::default()
        };
        let header = photo_probe::probe(&bytes, limits).map_err(|e| {
            ApiError::new(
                500,
                "InternalFailure",
                format!("stored photo {} cannot be read: {e}", stored.photo.id),
            )
        })?;
        let (mut width, mut height) = header.oriented_size();
        let of_photo: Vec<&Review> = reviews
            .iter()
            .filter(|r| r.photo_id == stored.photo.id)
            .collect();
        let verdict = match chosen(&verdicts, &of_photo, &stored.photo.id)? {
            Some(v) => {
                let parsed: response::DetectionResponse =
                    serde_json::from_str(v.response.get()).map_err(|e| internal(e.to_string()))?;
                let size = (parsed.image.width, parsed.image.height);
                let found = response::parse(v.response.get().as_bytes(), size, size)
                    .map_err(|e| internal(e.to_string()))?;
                (width, height) = (found.image_width, found.image_height);
                Some(VerdictInput {
                    source: v.source.as_str().to_owned(),
                    model: format!("{} {}", v.model_name, v.model_version),
                    detections: found
                        .detections
                        .iter()
                        .map(|d| DetectionInput {
                            class_id: d.class_id,
                            score: d.score,
                            bbox: BoxPx {
                                x1: d.bbox.x1,
                                y1: d.bbox.y1,
                                x2: d.bbox.x2,
                                y2: d.bbox.y2,
                            },
                        })
                        .collect(),
                })
            }
            None => None,
        };
        let classes: Vec<u32> = verdict
            .iter()
            .flat_map(|v| v.detections.iter().map(|d| d.class_id))
            .collect();
        let reviews =
            super::reviews::review_inputs(&of_photo, &classes, width, height).map_err(internal)?;
        photos.push(PhotoInput {
            id: stored.photo.id.clone(),
            face: stored.photo.face,
            width,
            height,
            verdict,
            reviews,
            bytes: Some(bytes),
        });
    }
    Ok(ReportInput {
        inspection_id: inspection.id.clone(),
        revision,
        reviews: review_count,
        eir_number: eir_number(inspection, reviews.len() as u64),
        container_number: inspection.container_number.clone(),
        kind,
        inspector: inspection.inspector_id.clone(),
        started_at_ms: inspection.created_at_ms,
        closed_at_ms: inspection.updated_at_ms,
        location: inspection.location.map(|l| Place {
            name: None,
            latitude: Some(l.latitude),
            longitude: Some(l.longitude),
        }),
        photos,
    })
}
