//! The yard office API's wire types, `/v1` (documented in `docs/office.md`).
//!
//! Serde, and `omni-protocol` for what every side speaks (the container [`Face`]), so the
//! phone's office client (`omni-cloud`) and the office server both depend on it without the
//! server's dependencies. Requests refuse unknown fields; times are milliseconds since the
//! Unix epoch (UTC).

pub mod review;

pub use omni_protocol::face::Face;
pub use review::{Review, ReviewBox, ReviewChange, ReviewError, VerdictRef};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Header carrying the lowercase hex SHA-256 of a photo upload's body.
pub const PHOTO_SHA256_HEADER: &str = "x-omni-photo-sha256";
/// Header carrying the CEDEX letter of the container face a photo upload shows (F, D, L, R,
/// T, U, I, X); absent: `X`, the whole container. Another letter is refused (400).
pub const FACE_HEADER: &str = "x-omni-photo-face";
/// Header (`true`/`false`) asking the office to run detection on an uploaded photo; absent:
/// the server's default.
pub const DETECT_HEADER: &str = "x-omni-detect";
/// Largest request body the API reads (10 MB).
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Whether an inspection is still being captured or is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InspectionState {
    /// Photos may still be added.
    Open,
    /// Finished by the inspector.
    Closed,
}

impl InspectionState {
    /// The name used in JSON, query strings and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// Where an inspection was made (WGS 84).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// Latitude, degrees in [-90, 90].
    pub latitude: f64,
    /// Longitude, degrees in [-180, 180].
    pub longitude: f64,
    /// Horizontal accuracy in metres, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

/// Body of `PUT /v1/inspections/{id}`: creates the inspection or updates it.
///
/// `revision` orders updates: a request whose revision is below the stored one is refused
/// (409 `ConflictException`), one equal to it must carry the same content (a retried request,
/// answered 200 without a write), one above it replaces the stored inspection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutInspection {
    /// ISO 6346 container number (check digit verified by the server).
    pub container_number: String,
    /// Who inspected.
    pub inspector_id: String,
    /// When the inspection was started, ms since the epoch.
    pub created_at_ms: i64,
    /// When the client last changed it, ms since the epoch.
    pub updated_at_ms: i64,
    /// Where, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Open or closed.
    pub state: InspectionState,
    /// The client's revision of this inspection, from 1.
    pub revision: u64,
    /// The inspection kind's id (`gate-in`, …, in the office's kinds table), when the phone
    /// gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// An inspection as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inspection {
    /// Client-chosen id (the phone's inspection id, a UUID).
    pub id: String,
    /// Normalised ISO 6346 container number.
    pub container_number: String,
    /// Who inspected.
    pub inspector_id: String,
    /// When the inspection was started, ms since the epoch.
    pub created_at_ms: i64,
    /// When the client last changed it, ms since the epoch.
    pub updated_at_ms: i64,
    /// Where, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Open or closed.
    pub state: InspectionState,
    /// The stored revision.
    pub revision: u64,
    /// When the office first received it, ms since the epoch.
    pub received_at_ms: i64,
    /// The inspection kind's id, when the phone gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// One row of `GET /v1/inspections`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionSummary {
    /// The inspection.
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Photos received.
    pub photo_count: u64,
    /// Whether any verdict found damage.
    pub has_damage: bool,
    /// When a person marked it reviewed (the first mark stands), ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at_ms: Option<i64>,
    /// Who marked it reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
}

/// Answer of `GET /v1/inspections`, newest first (by `created_at_ms`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionList {
    /// The matching inspections.
    pub inspections: Vec<InspectionSummary>,
}

/// A stored photo.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Photo {
    /// Client-chosen id (the phone's photo id).
    pub id: String,
    /// The inspection it belongs to.
    pub inspection_id: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// MIME type, `image/jpeg` or `image/png`.
    pub content_type: String,
    /// When the office received it, ms since the epoch.
    pub received_at_ms: i64,
    /// The container face it shows (`X`: the whole container, or not said).
    #[serde(default)]
    pub face: Face,
}

/// Where a verdict was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictSource {
    /// On the phone.
    Edge,
    /// By the SageMaker endpoint.
    Cloud,
}

impl VerdictSource {
    /// The name used in JSON, paths and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edge => "edge",
            Self::Cloud => "cloud",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "edge" => Some(Self::Edge),
            "cloud" => Some(Self::Cloud),
            _ => None,
        }
    }
}

/// Body of `PUT /v1/inspections/{id}/photos/{photo_id}/verdicts/{source}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutVerdict {
    /// The model's answer in the endpoint response schema v1 (`docs/endpoint-response.md`),
    /// boxes in the photo's (EXIF-oriented) pixels; it names the model.
    pub response: Box<RawValue>,
}

/// A stored verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verdict {
    /// The photo it judges.
    pub photo_id: String,
    /// Edge or cloud.
    pub source: VerdictSource,
    /// Model name (from the response).
    pub model_name: String,
    /// Model version (from the response).
    pub model_version: String,
    /// Model file SHA-256 (from the response).
    pub model_sha256: String,
    /// Whether it found any damage.
    pub has_damage: bool,
    /// The response, schema v1, as received or produced.
    pub response: Box<RawValue>,
    /// When the office stored it, ms since the epoch.
    pub received_at_ms: i64,
}

/// Where detection on upload stands for a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectStatus {
    /// Not asked for.
    None,
    /// Asked for and not answered within the time budget: read the photo again later.
    Pending,
    /// Answered: a cloud verdict is stored.
    Done,
    /// The endpoint failed; `detect_error` says why.
    Failed,
}

impl DetectStatus {
    /// The name used in JSON and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    /// Parses [`Self::as_str`]'s names.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "none" => Some(Self::None),
            "pending" => Some(Self::Pending),
            "done" => Some(Self::Done),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Answer of `PUT /v1/inspections/{id}/photos/{photo_id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoUploaded {
    /// The stored photo.
    pub photo: Photo,
    /// False when the same bytes were already stored (a retried upload).
    pub created: bool,
    /// Detection on upload: `none` when not asked for.
    pub detect_status: DetectStatus,
    /// The cloud verdict when `detect_status` is `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why detection failed, when `detect_status` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_error: Option<String>,
}

/// A photo with what the office knows of it, in [`InspectionDetail`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoDetail {
    /// The stored photo.
    pub photo: Photo,
    /// A short-lived URL to download it (S3 presigned, or a signed local URL).
    pub url: String,
    /// When `url` stops working, ms since the epoch.
    pub url_expires_at_ms: i64,
    /// Detection on upload.
    pub detect_status: DetectStatus,
    /// Why detection failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_error: Option<String>,
    /// Its verdicts.
    pub verdicts: Vec<Verdict>,
}

/// The faces of an inspection against what its kind requires (`docs/report.md`): required,
/// photographed, missing.
pub use omni_protocol::inspection_kind::FaceCoverage as InspectionFaces;

/// Answer of `GET /v1/inspections/{id}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionDetail {
    /// The inspection.
    pub inspection: Inspection,
    /// Whether any verdict found damage.
    pub has_damage: bool,
    /// When a person marked it reviewed (the first mark stands), ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_at_ms: Option<i64>,
    /// Who marked it reviewed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewed_by: Option<String>,
    /// Its faces against its kind.
    #[serde(default)]
    pub faces: InspectionFaces,
    /// Its photos, oldest first.
    pub photos: Vec<PhotoDetail>,
}

/// Every error answer: AWS's JSON error shape (also sent as `x-amzn-ErrorType`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Error type, e.g. `ValidationException`.
    #[serde(rename = "__type")]
    pub error_type: String,
    /// What went wrong, for a person.
    pub message: String,
}
