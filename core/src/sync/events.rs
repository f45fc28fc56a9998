//! What the sync engine tells the host while it works.

use std::time::Duration;

use serde::Serialize;

use crate::inspection::{InspectionId, PhotoId};
use crate::store::photos::StateCounts;
use omni_protocol::box_verdict::BoxVerdictStatus;

/// One thing that happened in the sync engine.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncEvent {
    /// A photo's cloud result is stored.
    PhotoSynced {
        /// The photo.
        photo_id: PhotoId,
        /// Boxes in the cloud result.
        detections: usize,
        /// Round trip of the successful request, in milliseconds.
        latency_ms: f64,
    },
    /// The yard office archived the photo without a cloud verdict (it does not detect on
    /// upload): the edge result stands.
    PhotoArchived {
        /// The photo.
        photo_id: PhotoId,
        /// Why there is no cloud verdict, as the office said.
        reason: String,
    },
    /// An attempt failed; the photo will be tried again.
    AttemptFailed {
        /// The photo.
        photo_id: PhotoId,
        /// What went wrong.
        error: String,
        /// When it will be tried again, from now.
        #[serde(with = "millis")]
        retry_in: Duration,
    },
    /// The photo will not be tried again until retried by hand.
    PhotoFailed {
        /// The photo.
        photo_id: PhotoId,
        /// Why.
        reason: String,
    },
    /// The whole queue pauses (network down, throttled, credentials refused, endpoint
    /// missing, results cannot be stored).
    Paused {
        /// What kind of trouble.
        cause: PauseCause,
        /// Why, in words.
        reason: String,
        /// For how long, unless the host signals connectivity again sooner.
        #[serde(with = "millis")]
        resume_in: Duration,
    },
    /// The verdict on the box of a closed inspection, read from the office's report and
    /// stored (`OmniCore::box_verdict`).
    BoxVerdict {
        /// The inspection.
        inspection_id: InspectionId,
        /// Sound / repair needed / not fit.
        status: BoxVerdictStatus,
        /// The EIR number.
        eir_number: String,
    },
    /// Photo counts per state after a change.
    QueueCounts {
        /// Counts from the store.
        counts: StateCounts,
        /// Requests in flight.
        in_flight: usize,
    },
}

impl SyncEvent {
    /// Writes the event to the log (target `omni_core::sync::events`). Only ids, counts,
    /// timings and error texts: never credentials, signatures or photo bytes.
    pub(crate) fn log(&self) {
        match self {
            Self::PhotoSynced {
                photo_id,
                detections,
                latency_ms,
            } => tracing::info!(%photo_id, detections, latency_ms, "photo synced"),
            Self::PhotoArchived { photo_id, reason } => {
                tracing::info!(%photo_id, %reason, "photo archived without a cloud verdict")
            }
            Self::AttemptFailed {
                photo_id,
                error,
                retry_in,
            } => tracing::warn!(
                %photo_id,
                %error,
                retry_in_ms = retry_in.as_millis() as u64,
                "attempt failed, will retry"
            ),
            Self::PhotoFailed { photo_id, reason } => {
                tracing::warn!(%photo_id, %reason, "photo failed, not retried until asked")
            }
            Self::Paused {
                cause,
                reason,
                resume_in,
            } => tracing::warn!(
                ?cause,
                %reason,
                resume_in_ms = resume_in.as_millis() as u64,
                "sync paused"
            ),
            Self::BoxVerdict {
                inspection_id,
                status,
                eir_number,
            } => tracing::info!(%inspection_id, %status, %eir_number, "verdict on the box read"),
            Self::QueueCounts { counts, in_flight } => tracing::debug!(
                queued = counts.queued,
                synced = counts.synced,
                failed = counts.failed,
                in_flight,
                "queue counts"
            ),
        }
    }
}

/// Why the whole queue paused: trouble that is not one photo's fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PauseCause {
    /// The network is down or the endpoint does not answer.
    Network,
    /// Credentials are missing, expired or refused.
    Credentials,
    /// The endpoint asks for fewer requests.
    Throttled,
    /// The endpoint is missing or misconfigured (e.g. `Endpoint … not found`), or refuses
    /// photo after photo as invalid.
    Endpoint,
    /// Answers cannot be stored (storage full, database error); they are kept in memory.
    Storage,
}

/// Receives [`SyncEvent`]s; implemented by the host (UniFFI callback interface later).
pub trait SyncListener: Send + Sync {
    /// Called from the engine's tasks; must return quickly.
    fn on_event(&self, event: SyncEvent);
}

mod millis {
    use std::time::Duration;

    use serde::Serializer;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }
}
