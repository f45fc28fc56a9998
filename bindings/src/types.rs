//! The plain data that crosses the FFI. Most of it is the core's own types (and
//! omni-protocol's), derived with omni-core's `uniffi` feature: their docs reach the apps. Ids
//! cross as strings, times as milliseconds since the Unix epoch (`*_ms`), versions as strings.
//! What is left here has a reason to differ from the core, given on each.

use std::time::Duration;

use omni_core::model_refresh::{CheckOutcome, ModelStatus as CoreModelStatus, Slot, UpdateOutcome};
use omni_core::sync::{PauseCause, SyncEvent as CoreSyncEvent};
use omni_core::{
    BoxVerdictStatus, Location, OfficeCounts, OpenReport, PhotoState, Stats as CoreStats,
};

use crate::error::OmniError;

/// A new inspection, as the inspector enters it. Not the core's `NewInspection`: the
/// container number arrives unchecked, and a bad one must be `InvalidInput`
/// (`invalid_container_number`), not a failed lift.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewInspection {
    /// ISO 6346 container number, e.g. `CSQU3054383` (checked, check digit included).
    pub container_number: String,
    /// Who inspects.
    pub inspector_id: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Where.
    pub location: Option<Location>,
    /// The inspection kind (`gate-in`, `gate-out`, `damage-survey`, `off-hire`, or the
    /// yard's own): it names the faces to photograph. `None`: no kind.
    #[uniffi(default = None)]
    pub kind: Option<String>,
}

/// Which inspections to list, newest first (the app's query; the core's `InspectionFilter`
/// takes a checked container number).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InspectionQuery {
    /// Only inspections with a photo in this state.
    pub state: Option<PhotoState>,
    /// Only this container.
    pub container_number: Option<String>,
    /// At most this many.
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

/// Totals over the store. Not the core's `Stats`: the office's counts are `None` unless the
/// office is the target, and the photo counts are flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Stats {
    /// Inspections.
    pub inspections: u64,
    /// Photos waiting for the cloud ("12 photos waiting for signal").
    pub queued: u64,
    /// Photos with a cloud result.
    pub synced: u64,
    /// Photos given up on.
    pub failed: u64,
    /// What the yard office has acknowledged; `None` when the office is not the target.
    pub office: Option<OfficeCounts>,
}

impl Stats {
    /// The core's totals; the office's counts only when `office` is the target.
    pub(crate) fn new(s: CoreStats, office: bool) -> Self {
        Self {
            inspections: s.inspections,
            queued: s.photos.queued,
            synced: s.photos.synced,
            failed: s.photos.failed,
            office: office.then_some(s.office),
        }
    }
}

/// What opening the data directory found and repaired: counts of the core's `OpenReport`,
/// whose lists of paths stay on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OpenSummary {
    /// Photo files without a database row, moved to `photos/orphans/`.
    pub orphans_quarantined: u64,
    /// Quarantined files put back (their rows came back).
    pub files_restored: u64,
    /// Files waiting in quarantine.
    pub quarantined: u64,
    /// Interrupted temporary writes removed.
    pub temp_files_removed: u64,
    /// Photos whose file is missing (now failed).
    pub missing_files: u64,
}

impl From<&OpenReport> for OpenSummary {
    fn from(r: &OpenReport) -> Self {
        Self {
            orphans_quarantined: r.orphans_quarantined.len() as u64,
            files_restored: r.files_restored.len() as u64,
            quarantined: r.quarantined as u64,
            temp_files_removed: r.temp_files_removed as u64,
            missing_files: r.missing_files.len() as u64,
        }
    }
}

/// Something the sync engine did. Not the core's `SyncEvent`: that one has `Duration`s and
/// `usize` counts, and queue counts nested; here they are ms, `u64` and flat.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum SyncEvent {
    /// A photo's cloud result is stored.
    PhotoSynced {
        /// The photo.
        photo_id: String,
        /// Boxes in the cloud result.
        detections: u64,
        /// Round trip in milliseconds.
        latency_ms: f64,
    },
    /// The yard office archived the photo without a cloud verdict: the edge result stands.
    PhotoArchived {
        /// The photo.
        photo_id: String,
        /// Why there is no cloud verdict.
        reason: String,
    },
    /// An attempt failed; it will be retried.
    AttemptFailed {
        /// The photo.
        photo_id: String,
        /// What went wrong.
        error: String,
        /// When it is retried, from now.
        retry_in_ms: u64,
    },
    /// The photo is given up on until retried by hand.
    PhotoFailed {
        /// The photo.
        photo_id: String,
        /// Why.
        reason: String,
    },
    /// The whole queue pauses.
    Paused {
        /// What kind of trouble.
        cause: PauseCause,
        /// Why.
        reason: String,
        /// For how long, unless connectivity returns sooner.
        resume_in_ms: u64,
    },
    /// The verdict on the box of a closed inspection was read from the office's report and
    /// stored (`OmniCore::box_verdict`).
    BoxVerdict {
        /// The inspection.
        inspection_id: String,
        /// Sound / repair needed / not fit.
        status: BoxVerdictStatus,
        /// The EIR number.
        eir_number: String,
    },
    /// Counts after a change.
    QueueCounts {
        /// Waiting.
        queued: u64,
        /// Done.
        synced: u64,
        /// Given up on.
        failed: u64,
        /// Requests in flight.
        in_flight: u64,
    },
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SyncEvent {
    /// The app's form of a core event; `None` (the event is not forwarded) for a kind the
    /// core added after this mapping was written.
    pub(crate) fn from_core(e: CoreSyncEvent) -> Option<Self> {
        Some(match e {
            CoreSyncEvent::PhotoSynced {
                photo_id,
                detections,
                latency_ms,
            } => Self::PhotoSynced {
                photo_id: photo_id.to_string(),
                detections: detections as u64,
                latency_ms,
            },
            CoreSyncEvent::AttemptFailed {
                photo_id,
                error,
                retry_in,
            } => Self::AttemptFailed {
                photo_id: photo_id.to_string(),
                error,
                retry_in_ms: millis(retry_in),
            },
            CoreSyncEvent::PhotoArchived { photo_id, reason } => Self::PhotoArchived {
                photo_id: photo_id.to_string(),
                reason,
            },
            CoreSyncEvent::PhotoFailed { photo_id, reason } => Self::PhotoFailed {
                photo_id: photo_id.to_string(),
                reason,
            },
            CoreSyncEvent::Paused {
                cause,
                reason,
                resume_in,
            } => Self::Paused {
                cause,
                reason,
                resume_in_ms: millis(resume_in),
            },
            CoreSyncEvent::BoxVerdict {
                inspection_id,
                status,
                eir_number,
            } => Self::BoxVerdict {
                inspection_id: inspection_id.to_string(),
                status,
                eir_number,
            },
            CoreSyncEvent::QueueCounts { counts, in_flight } => Self::QueueCounts {
                queued: counts.queued,
                synced: counts.synced,
                failed: counts.failed,
                in_flight: in_flight as u64,
            },
            _ => return None,
        })
    }
}

/// Where the installed models stand. Not the core's `ModelStatus`: its manifests (semver,
/// signatures, keys) stay in the core; the app gets their versions and the fallbacks as text.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModelStatus {
    /// The slot in use.
    pub in_use: Slot,
    /// Name of the model in use.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Version in `active/`, when one is installed.
    pub active_version: Option<String>,
    /// Version in `previous/`, when one is kept.
    pub previous_version: Option<String>,
    /// Slots skipped while loading, and why.
    pub fallbacks: Vec<String>,
}

impl From<CoreModelStatus> for ModelStatus {
    fn from(s: CoreModelStatus) -> Self {
        Self {
            in_use: s.in_use,
            name: s.identity.name,
            version: s.identity.version,
            sha256: s.identity.sha256,
            active_version: s.active.map(|m| m.version.to_string()),
            previous_version: s.previous.map(|m| m.version.to_string()),
            fallbacks: s
                .fallbacks
                .into_iter()
                .map(|f| format!("{}: {}", f.slot.as_str(), f.reason))
                .collect(),
        }
    }
}

/// What a model check found. Not the core's `CheckOutcome`: the offered manifest (semver,
/// signature) is reduced to its name, version and size.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelCheck {
    /// The manifest is the one already settled (HTTP 304).
    NotModified,
    /// The manifest names the model in use.
    UpToDate {
        /// Its version.
        version: String,
    },
    /// A verified manifest offers another model.
    Available {
        /// Its name.
        name: String,
        /// Its version.
        version: String,
        /// Its size in bytes.
        size: u64,
    },
}

impl From<CheckOutcome> for ModelCheck {
    fn from(c: CheckOutcome) -> Self {
        match c {
            CheckOutcome::NotModified => Self::NotModified,
            CheckOutcome::UpToDate { version } => Self::UpToDate { version },
            CheckOutcome::Available { manifest } => Self::Available {
                name: manifest.name,
                version: manifest.version.to_string(),
                size: manifest.size,
            },
        }
    }
}

/// What a model update did. Not the core's `UpdateOutcome`: the installed manifest (semver,
/// signature) is reduced to its name and version.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelUpdate {
    /// Nothing to do.
    UpToDate {
        /// The server answered 304.
        not_modified: bool,
    },
    /// A new model is in use.
    Installed {
        /// Its name.
        name: String,
        /// Its version.
        version: String,
        /// The version it replaced.
        replaced: Option<String>,
    },
    /// The policy forbids downloading on this network; it waits.
    Deferred {
        /// The version waiting.
        version: String,
        /// The network reported.
        network: omni_core::model_refresh::Network,
    },
}

impl From<UpdateOutcome> for ModelUpdate {
    fn from(u: UpdateOutcome) -> Self {
        match u {
            UpdateOutcome::UpToDate { not_modified } => Self::UpToDate { not_modified },
            UpdateOutcome::Installed {
                manifest, replaced, ..
            } => Self::Installed {
                name: manifest.name,
                version: manifest.version.to_string(),
                replaced,
            },
            UpdateOutcome::Deferred { version, network } => Self::Deferred { version, network },
        }
    }
}

/// Parses an id the host passes back.
pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, id: &str) -> Result<T, OmniError> {
    id.parse()
        .map_err(|_| OmniError::invalid("invalid_id", format!("{what} id {id:?} is not a UUID")))
}
