//! The plain data that crosses the FFI: records and enums mirroring the core's types, with
//! ids as strings, times as milliseconds since the Unix epoch and versions as strings.

use omni_core::model_refresh::{
    CheckOutcome, ModelEvent as CoreModelEvent, ModelStatus as CoreModelStatus, Network,
    RolledBack, Slot, UpdateOutcome,
};
use omni_core::sync::{
    PauseCause as CorePauseCause, StopReason as CoreStopReason, SyncEvent as CoreSyncEvent,
    SyncReport as CoreSyncReport, Verdict as CoreVerdict,
};
use omni_core::{
    DetectionResult as CoreDetectionResult, DetectionSource as CoreDetectionSource,
    Inspection as CoreInspection, InspectionDetail as CoreInspectionDetail,
    InspectionSummary as CoreInspectionSummary, Location, OpenReport, Photo as CorePhoto,
    PhotoDetail as CorePhotoDetail, PhotoState as CorePhotoState, Stats as CoreStats,
};

use crate::error::OmniError;

/// Where an inspection took place.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct GeoLocation {
    /// Degrees, −90..=90.
    pub latitude: f64,
    /// Degrees, −180..=180.
    pub longitude: f64,
    /// Accuracy radius in metres.
    pub accuracy_m: Option<f64>,
}

impl From<GeoLocation> for Location {
    fn from(l: GeoLocation) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
        }
    }
}

impl From<Location> for GeoLocation {
    fn from(l: Location) -> Self {
        Self {
            latitude: l.latitude,
            longitude: l.longitude,
            accuracy_m: l.accuracy_m,
        }
    }
}

/// A new inspection, as the inspector enters it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewInspection {
    /// ISO 6346 container number, e.g. `CSQU3054383` (checked, check digit included).
    pub container_number: String,
    /// Who inspects.
    pub inspector_id: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Where.
    pub location: Option<GeoLocation>,
    /// The inspection kind (`gate-in`, `gate-out`, `damage-survey`, `off-hire`, or the
    /// yard's own): it names the faces to photograph. `None`: no kind.
    #[uniffi(default = None)]
    pub kind: Option<String>,
}

/// An inspection of one container.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Inspection {
    /// Its id (a UUID).
    pub id: String,
    /// The container number.
    pub container_number: String,
    /// Who inspected.
    pub inspector_id: Option<String>,
    /// Free text.
    pub notes: Option<String>,
    /// Where.
    pub location: Option<GeoLocation>,
    /// When it was opened.
    pub created_at_ms: i64,
    /// When it was closed.
    pub closed_at_ms: Option<i64>,
    /// When it was rebuilt from quarantined photos.
    pub recovered_at_ms: Option<i64>,
    /// The inspection kind, when one was given.
    pub kind: Option<String>,
}

impl From<CoreInspection> for Inspection {
    fn from(i: CoreInspection) -> Self {
        Self {
            id: i.id.to_string(),
            container_number: i.container_number.to_string(),
            inspector_id: i.inspector_id,
            notes: i.notes,
            location: i.location.map(Into::into),
            created_at_ms: i.created_at.as_millis(),
            closed_at_ms: i.closed_at.map(|t| t.as_millis()),
            recovered_at_ms: i.recovered_at.map(|t| t.as_millis()),
            kind: i.kind,
        }
    }
}

/// Where a photo is in the cloud queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PhotoState {
    /// Waiting for the cloud.
    Queued,
    /// The cloud result is stored.
    Synced,
    /// Given up on until retried.
    Failed,
}

impl From<CorePhotoState> for PhotoState {
    fn from(s: CorePhotoState) -> Self {
        match s {
            CorePhotoState::Queued => Self::Queued,
            CorePhotoState::Synced => Self::Synced,
            CorePhotoState::Failed => Self::Failed,
        }
    }
}

impl From<PhotoState> for CorePhotoState {
    fn from(s: PhotoState) -> Self {
        match s {
            PhotoState::Queued => Self::Queued,
            PhotoState::Synced => Self::Synced,
            PhotoState::Failed => Self::Failed,
        }
    }
}

/// Which inspections to list, newest first.
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

/// An inspection with its photo counts.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InspectionSummary {
    /// The inspection.
    pub inspection: Inspection,
    /// Photos in all.
    pub photos: u64,
    /// Waiting for the cloud.
    pub queued: u64,
    /// With a cloud result.
    pub synced: u64,
    /// Given up on.
    pub failed: u64,
}

impl From<CoreInspectionSummary> for InspectionSummary {
    fn from(s: CoreInspectionSummary) -> Self {
        Self {
            inspection: s.inspection.into(),
            photos: s.photos.queued + s.photos.synced + s.photos.failed,
            queued: s.photos.queued,
            synced: s.photos.synced,
            failed: s.photos.failed,
        }
    }
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Photo {
    /// Its id (a UUID).
    pub id: String,
    /// Its inspection.
    pub inspection_id: String,
    /// SHA-256 of the stored bytes.
    pub sha256: String,
    /// Size of the stored bytes.
    pub size_bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When the camera took it.
    pub captured_at_ms: i64,
    /// Where it is in the cloud queue.
    pub state: PhotoState,
    /// Cloud attempts so far.
    pub attempt_count: u32,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// Why it failed, when it did.
    pub failure_reason: Option<String>,
    /// Why it cannot be decoded, when it cannot.
    pub unreadable_reason: Option<String>,
    /// The container face it shows, a CEDEX letter (`X`: the whole container).
    pub face: String,
}

impl From<CorePhoto> for Photo {
    fn from(p: CorePhoto) -> Self {
        Self {
            id: p.id.to_string(),
            inspection_id: p.inspection_id.to_string(),
            sha256: p.sha256,
            size_bytes: p.size_bytes,
            width: p.width,
            height: p.height,
            captured_at_ms: p.captured_at.as_millis(),
            state: p.state.into(),
            attempt_count: p.attempt_count,
            last_error: p.last_error,
            failure_reason: p.failure_reason,
            unreadable_reason: p.unreadable_reason,
            face: p.face.to_string(),
        }
    }
}

/// Where a result was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DetectionSource {
    /// On the device.
    Edge,
    /// By the cloud endpoint.
    Cloud,
}

impl From<CoreDetectionSource> for DetectionSource {
    fn from(s: CoreDetectionSource) -> Self {
        match s {
            CoreDetectionSource::Edge => Self::Edge,
            CoreDetectionSource::Cloud => Self::Cloud,
        }
    }
}

/// One damage found, boxed in pixels of the (EXIF-oriented) photo.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Detection {
    /// Class id: 0 dent, 1 dirt, 2 rust, 3 scratch, 4 spoiled, 5 mold.
    pub class_id: u32,
    /// Class name.
    pub label: String,
    /// Confidence, 0..=1.
    pub score: f32,
    /// Left edge.
    pub x1: f32,
    /// Top edge.
    pub y1: f32,
    /// Right edge.
    pub x2: f32,
    /// Bottom edge.
    pub y2: f32,
}

/// A model's answer for one photo.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct DetectionResult {
    /// The photo.
    pub photo_id: String,
    /// Edge or cloud.
    pub source: DetectionSource,
    /// Model name.
    pub model_name: String,
    /// Model version.
    pub model_version: String,
    /// Width the boxes refer to.
    pub image_width: u32,
    /// Height the boxes refer to.
    pub image_height: u32,
    /// Inference time in milliseconds.
    pub inference_ms: f64,
    /// What was found.
    pub detections: Vec<Detection>,
    /// When it was stored.
    pub created_at_ms: i64,
}

impl From<CoreDetectionResult> for DetectionResult {
    fn from(r: CoreDetectionResult) -> Self {
        let d = r.detections;
        Self {
            photo_id: r.photo_id.to_string(),
            source: d.source.into(),
            model_name: d.model.name,
            model_version: d.model.version,
            image_width: d.image_width,
            image_height: d.image_height,
            inference_ms: d.inference_ms,
            detections: d
                .detections
                .into_iter()
                .map(|x| Detection {
                    class_id: x.class_id,
                    label: x.label,
                    score: x.score,
                    x1: x.bbox.x1,
                    y1: x.bbox.y1,
                    x2: x.bbox.x2,
                    y2: x.bbox.y2,
                })
                .collect(),
            created_at_ms: r.created_at.as_millis(),
        }
    }
}

/// A photo with its results.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoDetail {
    /// The photo.
    pub photo: Photo,
    /// Its results, oldest first.
    pub results: Vec<DetectionResult>,
    /// Which source's result is current (cloud preferred).
    pub current: Option<DetectionSource>,
}

impl From<CorePhotoDetail> for PhotoDetail {
    fn from(p: CorePhotoDetail) -> Self {
        Self {
            photo: p.photo.into(),
            results: p.results.into_iter().map(Into::into).collect(),
            current: p.current.map(Into::into),
        }
    }
}

/// An inspection with its photos and results.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct InspectionDetail {
    /// The inspection.
    pub inspection: Inspection,
    /// Its photos, oldest first.
    pub photos: Vec<PhotoDetail>,
}

impl From<CoreInspectionDetail> for InspectionDetail {
    fn from(d: CoreInspectionDetail) -> Self {
        Self {
            inspection: d.inspection.into(),
            photos: d.photos.into_iter().map(Into::into).collect(),
        }
    }
}

/// The verdict to show now.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Verdict {
    /// The result (cloud when it answered in time, else edge).
    pub result: DetectionResult,
    /// The cloud result is still to come (it is stored when it lands).
    pub cloud_pending: bool,
}

impl From<CoreVerdict> for Verdict {
    fn from(v: CoreVerdict) -> Self {
        Self {
            result: v.result.into(),
            cloud_pending: v.cloud_pending,
        }
    }
}

/// Totals over the store.
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
    pub office: Option<OfficeStats>,
}

/// What the yard office has of this phone's records, and what is still to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct OfficeStats {
    /// Inspections whose latest revision (a close included) the office has.
    pub inspections_acknowledged: u64,
    /// Inspections with a revision still to send.
    pub inspections_pending: u64,
    /// Photos the office has.
    pub photos_acknowledged: u64,
    /// Photos still to upload.
    pub photos_pending: u64,
    /// Verdicts the office has.
    pub verdicts_acknowledged: u64,
    /// Verdicts still to send.
    pub verdicts_pending: u64,
    /// Records the office refused for good (sent again only by `retry_failed`).
    pub wedged: u64,
}

impl Stats {
    /// The core's totals; the office's counts only when `office` is the target.
    pub(crate) fn new(s: CoreStats, office: bool) -> Self {
        let o = s.office;
        Self {
            inspections: s.inspections,
            queued: s.photos.queued,
            synced: s.photos.synced,
            failed: s.photos.failed,
            office: office.then_some(OfficeStats {
                inspections_acknowledged: o.inspections_acknowledged,
                inspections_pending: o.inspections_pending,
                photos_acknowledged: o.photos_acknowledged,
                photos_pending: o.photos_pending,
                verdicts_acknowledged: o.verdicts_acknowledged,
                verdicts_pending: o.verdicts_pending,
                wedged: o.wedged,
            }),
        }
    }
}

/// What opening the data directory found and repaired.
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

/// Why a sync run stopped.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    /// No queued photo is due.
    Idle,
    /// The host said the device is offline.
    Offline,
    /// The endpoint stayed unreachable.
    Unreachable {
        /// Why.
        reason: String,
    },
    /// The endpoint refused the requests (missing, misconfigured).
    EndpointRefused {
        /// Why.
        reason: String,
    },
    /// Results could not be stored.
    StorageFailing {
        /// Why.
        reason: String,
    },
}

impl From<CoreStopReason> for StopReason {
    fn from(s: CoreStopReason) -> Self {
        match s {
            CoreStopReason::Idle => Self::Idle,
            CoreStopReason::Offline => Self::Offline,
            CoreStopReason::Unreachable(reason) => Self::Unreachable { reason },
            CoreStopReason::EndpointRefused(reason) => Self::EndpointRefused { reason },
            CoreStopReason::StorageFailing(reason) => Self::StorageFailing { reason },
        }
    }
}

/// What a sync run did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Photos whose cloud result was stored.
    pub synced: u64,
    /// Photos the yard office archived without a cloud verdict (the edge result stands).
    pub archived: u64,
    /// Photos given up on.
    pub failed: u64,
    /// Failed attempts to be retried.
    pub retried: u64,
    /// Requests sent.
    pub requests: u64,
    /// Why it stopped.
    pub stopped: StopReason,
}

impl From<CoreSyncReport> for SyncReport {
    fn from(r: CoreSyncReport) -> Self {
        Self {
            synced: r.synced,
            archived: r.archived,
            failed: r.failed,
            retried: r.retried,
            requests: r.requests,
            stopped: r.stopped.into(),
        }
    }
}

/// Why the whole queue paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PauseCause {
    /// The network is down or the endpoint does not answer.
    Network,
    /// Credentials are missing, expired or refused.
    Credentials,
    /// The endpoint asks for fewer requests.
    Throttled,
    /// The endpoint is missing or misconfigured.
    Endpoint,
    /// Answers cannot be stored.
    Storage,
}

impl From<CorePauseCause> for PauseCause {
    fn from(c: CorePauseCause) -> Self {
        match c {
            CorePauseCause::Network => Self::Network,
            CorePauseCause::Credentials => Self::Credentials,
            CorePauseCause::Throttled => Self::Throttled,
            CorePauseCause::Endpoint => Self::Endpoint,
            CorePauseCause::Storage => Self::Storage,
            // A cause added to the core later reads as a network pause until mapped here.
            _ => Self::Network,
        }
    }
}

/// Something the sync engine did.
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
        status: crate::BoxVerdictStatus,
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

fn millis(d: std::time::Duration) -> u64 {
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
                cause: cause.into(),
                reason,
                resume_in_ms: millis(resume_in),
            },
            CoreSyncEvent::BoxVerdict {
                inspection_id,
                status,
                eir_number,
            } => Self::BoxVerdict {
                inspection_id: inspection_id.to_string(),
                status: status.into(),
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

/// The network the device is on (model downloads wait for an unmetered one by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum NetworkKind {
    /// Wi-Fi or wired.
    Unmetered,
    /// Cellular or a hotspot.
    Metered,
}

impl From<NetworkKind> for Network {
    fn from(n: NetworkKind) -> Self {
        match n {
            NetworkKind::Unmetered => Self::Unmetered,
            NetworkKind::Metered => Self::Metered,
        }
    }
}

impl From<Network> for NetworkKind {
    fn from(n: Network) -> Self {
        match n {
            Network::Unmetered => Self::Unmetered,
            Network::Metered => Self::Metered,
        }
    }
}

/// Where the model in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ModelSlot {
    /// The newest refreshed model.
    Active,
    /// The refreshed model before it.
    Previous,
    /// The model shipped with the app.
    Bundled,
}

impl From<Slot> for ModelSlot {
    fn from(s: Slot) -> Self {
        match s {
            Slot::Active => Self::Active,
            Slot::Previous => Self::Previous,
            Slot::Bundled => Self::Bundled,
        }
    }
}

/// Where the installed models stand.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModelStatus {
    /// The slot in use.
    pub in_use: ModelSlot,
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
            in_use: s.in_use.into(),
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

/// What a model check found.
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

/// What a model update did.
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
        network: NetworkKind,
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
            UpdateOutcome::Deferred { version, network } => Self::Deferred {
                version,
                network: network.into(),
            },
        }
    }
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ModelRollback {
    /// Version rolled back from.
    pub from_version: String,
    /// Version now in use (`bundled` for the app's model).
    pub to_version: String,
}

impl From<RolledBack> for ModelRollback {
    fn from(r: RolledBack) -> Self {
        Self {
            from_version: r.from,
            to_version: r.to,
        }
    }
}

/// Something the model updater did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ModelEvent {
    /// A newer model is offered.
    UpdateAvailable {
        /// Name.
        name: String,
        /// Version.
        version: String,
        /// Size in bytes.
        size: u64,
    },
    /// Download progress.
    Downloading {
        /// Version.
        version: String,
        /// Bytes so far.
        received: u64,
        /// Size.
        total: u64,
    },
    /// A new model is in use.
    Installed {
        /// Name.
        name: String,
        /// Version.
        version: String,
        /// SHA-256.
        sha256: String,
        /// Version replaced.
        replaced: Option<String>,
    },
    /// A manifest or model was refused.
    Rejected {
        /// Version offered, when readable.
        version: Option<String>,
        /// Stable code.
        code: String,
        /// Why.
        reason: String,
    },
    /// A rollback made another model current.
    RolledBack {
        /// From this version.
        from_version: String,
        /// To this one.
        to_version: String,
    },
}

impl ModelEvent {
    /// The app's form of a core event; `None` (the event is not forwarded) for a kind the
    /// core added after this mapping was written.
    pub(crate) fn from_core(e: CoreModelEvent) -> Option<Self> {
        Some(match e {
            CoreModelEvent::UpdateAvailable {
                name,
                version,
                size,
            } => Self::UpdateAvailable {
                name,
                version,
                size,
            },
            CoreModelEvent::Downloading {
                version,
                received,
                total,
            } => Self::Downloading {
                version,
                received,
                total,
            },
            CoreModelEvent::Installed {
                name,
                version,
                sha256,
                replaced,
            } => Self::Installed {
                name,
                version,
                sha256,
                replaced,
            },
            CoreModelEvent::Rejected {
                version,
                code,
                reason,
            } => Self::Rejected {
                version,
                code,
                reason,
            },
            CoreModelEvent::RolledBack { from, to } => Self::RolledBack {
                from_version: from,
                to_version: to,
            },
            _ => return None,
        })
    }
}

/// Parses an id the host passes back.
pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, id: &str) -> Result<T, OmniError> {
    id.parse()
        .map_err(|_| OmniError::invalid("invalid_id", format!("{what} id {id:?} is not a UUID")))
}
