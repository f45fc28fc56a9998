//! Checks of client input that the wire types cannot express. The container number rule is
//! the core's (`omni_protocol::ContainerNumber`), the photo rules the core's probe with the
//! serverless endpoint's 4 MB limit.

use omni_cloud::payload::MAX_PAYLOAD_BYTES;
use omni_photo::probe::{self as photo_probe, PhotoError, PhotoHeader, PhotoLimits};
use omni_protocol::ContainerNumber;
use omni_protocol::response::{self as cloud_response, DetectionResponse};

use crate::error::ApiError;
use serde_json::value::RawValue;

use crate::wire::{FACE_HEADER, Face, Inspection, PutInspection, Verdict, VerdictSource};

/// Longest inspection kind id accepted.
pub const MAX_KIND_LEN: usize = 120;

/// Longest id accepted (inspection, photo, inspector).
pub const MAX_ID_LEN: usize = 64;

/// Largest photo accepted: the serverless endpoint's 4 MB request limit, as on the phone.
pub const MAX_PHOTO_BYTES: usize = MAX_PAYLOAD_BYTES;

/// An id: 1 to [`MAX_ID_LEN`] ASCII letters, digits, `-` or `_` (it names files and keys).
pub fn id(what: &str, value: &str) -> Result<(), ApiError> {
    if value.is_empty()
        || value.len() > MAX_ID_LEN
        || !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(ApiError::validation(format!(
            "{what} must be 1 to {MAX_ID_LEN} letters, digits, '-' or '_', not {value:?}"
        )));
    }
    Ok(())
}

/// Longest inspector id accepted, in bytes.
pub const MAX_INSPECTOR_LEN: usize = 128;

/// An inspector id (an inspection's, or a listing's filter): 1 to [`MAX_INSPECTOR_LEN`] bytes,
/// not blank.
pub fn inspector_id(value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() || value.len() > MAX_INSPECTOR_LEN {
        return Err(ApiError::validation(format!(
            "inspector_id must be 1 to {MAX_INSPECTOR_LEN} characters"
        )));
    }
    Ok(())
}

/// The stored inspection for a valid `PUT /v1/inspections/{id}` body.
pub fn inspection(
    id_value: &str,
    put: PutInspection,
    received_at_ms: i64,
) -> Result<Inspection, ApiError> {
    id("inspection id", id_value)?;
    let container = ContainerNumber::parse(&put.container_number).map_err(|e| {
        ApiError::validation(format!(
            "container_number {:?} is not a valid ISO 6346 number: {e}",
            put.container_number
        ))
    })?;
    inspector_id(&put.inspector_id)?;
    if put.revision == 0 || put.revision > i64::MAX as u64 {
        return Err(ApiError::validation("revision must be at least 1"));
    }
    if put.created_at_ms < 0 || put.updated_at_ms < put.created_at_ms {
        return Err(ApiError::validation(
            "created_at_ms must be >= 0 and updated_at_ms >= created_at_ms",
        ));
    }
    if let Some(l) = put.location
        && (!(-90.0..=90.0).contains(&l.latitude)
            || !(-180.0..=180.0).contains(&l.longitude)
            || l.accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0))
    {
        return Err(ApiError::validation(
            "location must have latitude in [-90, 90], longitude in [-180, 180], accuracy_m >= 0",
        ));
    }
    if let Some(kind) = &put.kind {
        inspection_kind(kind)?;
    }
    Ok(Inspection {
        kind: put.kind,
        id: id_value.to_owned(),
        container_number: container.as_str().to_owned(),
        inspector_id: put.inspector_id,
        created_at_ms: put.created_at_ms,
        updated_at_ms: put.updated_at_ms,
        location: put.location,
        state: put.state,
        revision: put.revision,
        received_at_ms,
    })
}

/// An inspection kind id: 1 to [`MAX_KIND_LEN`] of `a-z`, `0-9`, `-` (the kinds table's
/// rule). A kind the office's table does not define is stored all the same (a yard's phones
/// may know kinds the office does not yet); it then requires no faces.
pub fn inspection_kind(kind: &str) -> Result<(), ApiError> {
    if kind.is_empty()
        || kind.len() > MAX_KIND_LEN
        || !kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        let shown: String = kind.chars().take(40).collect();
        return Err(ApiError::validation(format!(
            "kind must be 1 to {MAX_KIND_LEN} of a-z, 0-9 and '-', not {shown:?}"
        )));
    }
    Ok(())
}

/// The face of a photo upload from its header (absent: `X`, the whole container); any
/// other letter is refused with the letters allowed.
pub fn face(header: Option<&str>) -> Result<Face, ApiError> {
    match header {
        None => Ok(Face::Whole),
        Some(letter) => {
            Face::parse(letter).map_err(|e| ApiError::validation(format!("{FACE_HEADER}: {e}")))
        }
    }
}

/// A photo body: a JPEG or PNG of at most [`MAX_PHOTO_BYTES`] with a readable header.
pub fn photo(bytes: &[u8]) -> Result<PhotoHeader, ApiError> {
    let limits = PhotoLimits {
        max_bytes: MAX_PHOTO_BYTES,
        ..PhotoLimits::default()
    };
    photo_probe::probe(bytes, limits).map_err(|e| match e {
        PhotoError::TooLarge { .. } => ApiError::too_large(e.to_string()),
        _ => ApiError::validation(e.to_string()),
    })
}

/// The stored verdict for a response in the endpoint schema v1, checked by the core's one
/// parser of that schema (known classes, scores in [0, 1], boxes inside the image).
pub fn verdict(
    photo_id: &str,
    source: VerdictSource,
    response: Box<RawValue>,
    received_at_ms: i64,
) -> Result<Verdict, ApiError> {
    let invalid = |e: &dyn std::fmt::Display| {
        ApiError::validation(format!(
            "response is not a valid schema v1 detection response: {e}"
        ))
    };
    let parsed: DetectionResponse =
        serde_json::from_str(response.get()).map_err(|e| invalid(&e))?;
    let size = (parsed.image.width, parsed.image.height);
    let detections =
        cloud_response::parse(response.get().as_bytes(), size, size).map_err(|e| invalid(&e))?;
    Ok(Verdict {
        photo_id: photo_id.to_owned(),
        source,
        model_name: detections.model.name,
        model_version: detections.model.version,
        model_sha256: detections.model.sha256,
        has_damage: !detections.detections.is_empty(),
        response,
        received_at_ms,
    })
}

/// Milliseconds since the epoch of `YYYY-MM-DD` (UTC midnight), an RFC 3339 time, or a
/// number of milliseconds (the CLI's filters and the web view's dates).
pub fn time_ms(value: &str) -> Result<i64, String> {
    if let Ok(ms) = value.parse::<i64>() {
        return Ok(ms);
    }
    let text = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    let time = humantime::parse_rfc3339_weak(&text)
        .map_err(|e| format!("{value:?} is not a date (YYYY-MM-DD or RFC 3339): {e}"))?;
    let ms = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("{value:?} is before 1970"))?
        .as_millis();
    i64::try_from(ms).map_err(|_| format!("{value:?} is too far in the future"))
}
