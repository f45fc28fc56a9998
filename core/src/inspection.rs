//! The domain: an inspection (one visit to one container) and the photos it holds.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use uuid::Uuid;

use omni_photo::probe::PhotoFormat;
use omni_protocol::container_number::ContainerNumber;
use omni_protocol::face::Face;
use omni_protocol::timestamp::Timestamp;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new time-ordered (UUIDv7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// Identifies an inspection.
    InspectionId
);
uuid_id!(
    /// Identifies a photo; its file is `photos/<id>.<ext>`.
    PhotoId
);

/// Where the inspection took place.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "uniffi", uniffi(name = "GeoLocation"))]
pub struct Location {
    /// Latitude in degrees, −90..=90.
    pub latitude: f64,
    /// Longitude in degrees, −180..=180.
    pub longitude: f64,
    /// Horizontal accuracy radius in metres, when the host knows it.
    pub accuracy_m: Option<f64>,
}

/// What the host supplies to open an inspection.
#[derive(Clone, Debug, PartialEq)]
pub struct NewInspection {
    /// The container inspected.
    pub container_number: ContainerNumber,
    /// Who inspects, as the host app identifies them.
    pub inspector_id: Option<String>,
    /// Where, if known.
    pub location: Option<Location>,
    /// Free text.
    pub notes: Option<String>,
    /// The inspection kind's id (`gate-in`, …, from the kinds table the core was opened
    /// with); it names the faces to photograph. `None`: no kind, nothing required.
    pub kind: Option<String>,
}

impl NewInspection {
    /// An inspection of `container_number` with nothing else known.
    pub fn new(container_number: ContainerNumber) -> Self {
        Self {
            container_number,
            inspector_id: None,
            location: None,
            notes: None,
            kind: None,
        }
    }
}

/// One visit to one container.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Inspection {
    /// Its id.
    pub id: InspectionId,
    /// The container inspected.
    pub container_number: ContainerNumber,
    /// Who inspected.
    pub inspector_id: Option<String>,
    /// When it was opened.
    #[cfg_attr(feature = "uniffi", uniffi(name = "created_at_ms"))]
    pub created_at: Timestamp,
    /// When it was closed, if it was.
    #[cfg_attr(feature = "uniffi", uniffi(name = "closed_at_ms"))]
    pub closed_at: Option<Timestamp>,
    /// Where.
    pub location: Option<Location>,
    /// Free text.
    pub notes: Option<String>,
    /// Set when `recover` rebuilt this inspection from quarantined photo files after its
    /// database row was lost: its container number was given at recovery, not at capture.
    #[cfg_attr(feature = "uniffi", uniffi(name = "recovered_at_ms"))]
    pub recovered_at: Option<Timestamp>,
    /// The inspection kind's id, when one was given.
    pub kind: Option<String>,
}

/// Where a photo stands on its way to the cloud.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoState {
    /// Stored and waiting for the cloud (the edge result, if any, stands meanwhile).
    Queued,
    /// The cloud result is stored.
    Synced,
    /// Given up on, with a reason; retried only by hand.
    Failed,
}

impl PhotoState {
    /// Every state, in lifecycle order.
    pub const ALL: [PhotoState; 3] = [Self::Queued, Self::Synced, Self::Failed];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Synced => "synced",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for PhotoState {
    type Err = UnknownPhotoState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownPhotoState(s.to_owned()))
    }
}

impl fmt::Display for PhotoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A photo state name that is not one of [`PhotoState::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown photo state {0:?} (expected queued, synced or failed)")]
pub struct UnknownPhotoState(pub String);

/// A stored photo and its place in the sync lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Photo {
    /// Its id.
    pub id: PhotoId,
    /// The inspection it belongs to.
    pub inspection_id: InspectionId,
    /// Encoded format of the original bytes.
    pub format: PhotoFormat,
    /// SHA-256 of the original bytes, lowercase hex.
    pub sha256: String,
    /// Size of the original bytes.
    pub size_bytes: u64,
    /// Stored pixel width (before EXIF orientation).
    pub width: u32,
    /// Stored pixel height (before EXIF orientation).
    pub height: u32,
    /// EXIF orientation 1–8.
    pub orientation: u8,
    /// When the camera took it (host-supplied).
    #[cfg_attr(feature = "uniffi", uniffi(name = "captured_at_ms"))]
    pub captured_at: Timestamp,
    /// When the core stored it.
    #[cfg_attr(feature = "uniffi", uniffi(name = "created_at_ms"))]
    pub created_at: Timestamp,
    /// Lifecycle state.
    pub state: PhotoState,
    /// Cloud attempts made so far.
    pub attempt_count: u32,
    /// Earliest time of the next cloud attempt, when backing off.
    #[cfg_attr(feature = "uniffi", uniffi(name = "next_attempt_at_ms"))]
    pub next_attempt_at: Option<Timestamp>,
    /// The last transient error, for display.
    pub last_error: Option<String>,
    /// Why it failed for good (state `failed` only).
    pub failure_reason: Option<String>,
    /// The decoder's reason when the photo cannot be decoded (kept as evidence).
    pub unreadable_reason: Option<String>,
    /// The container face it shows (CEDEX letter; `X`: the whole container), chosen at
    /// capture and changeable until the photo is synced.
    pub face: Face,
}

impl Photo {
    /// A photo just stored (or re-adopted), waiting for the cloud: its identity and size
    /// from `header`, no attempt made yet, showing the whole container (set `face` after).
    pub(crate) fn queued(
        id: PhotoId,
        inspection_id: InspectionId,
        header: &omni_photo::probe::PhotoHeader,
        bytes: &[u8],
        sha256: String,
        captured_at: Timestamp,
        created_at: Timestamp,
    ) -> Self {
        Self {
            id,
            inspection_id,
            format: header.format,
            sha256,
            size_bytes: bytes.len() as u64,
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            captured_at,
            created_at,
            state: PhotoState::Queued,
            attempt_count: 0,
            next_attempt_at: None,
            last_error: None,
            failure_reason: None,
            unreadable_reason: None,
            face: Face::Whole,
        }
    }

    /// The file name under `photos/`: `<id>.<ext>`.
    pub fn file_name(&self) -> String {
        photo_file_name(self.id, self.format)
    }
}

/// The file name under `photos/` of a photo: `<id>.<ext>`.
pub fn photo_file_name(id: PhotoId, format: PhotoFormat) -> String {
    format!("{id}.{}", format.extension())
}
