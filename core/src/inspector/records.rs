//! The records the inspector hands to hosts: its settings, what opening and recovery did,
//! the detail and totals that queries answer, and what a detection run did.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

#[cfg(doc)]
use super::Inspector;
use crate::detections::{DetectionResult, DetectionSource};
use crate::inspection::{Inspection, Photo, PhotoId};
use crate::store::box_verdicts::BoxVerdict;
use crate::store::office::{InspectionAck, OfficeCounts};
use crate::store::photos::StateCounts;
use omni_photo::probe::PhotoLimits;
use omni_protocol::container_number::ContainerNumber;
use omni_protocol::inspection_kind::FaceCoverage;
use omni_protocol::timestamp::Timestamp;

/// Settings for [`Inspector::open`].
#[derive(Clone, Debug)]
pub struct InspectorConfig {
    /// Size limits applied to captured photos.
    pub photo_limits: PhotoLimits,
    /// How long a write waits for a lock held by another connection.
    pub busy_timeout: Duration,
}

impl Default for InspectorConfig {
    fn default() -> Self {
        Self {
            photo_limits: PhotoLimits::default(),
            busy_timeout: Duration::from_secs(10),
        }
    }
}

/// What [`Inspector::open`] found and repaired. Evidence is never deleted: a photo file
/// without a database row is moved to `photos/orphans/`, where
/// [`Inspector::recover_quarantined`] can re-adopt it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OpenReport {
    /// Photo files without a row (a lost, replaced or older database, or a crash between
    /// rename and commit), moved to `photos/orphans/`: their new paths.
    pub orphans_quarantined: Vec<PathBuf>,
    /// Quarantined files moved back to `photos/` because their row, with the same SHA-256,
    /// is in the database again (the database was brought back).
    pub files_restored: Vec<PhotoId>,
    /// Files waiting in `photos/orphans/` after opening.
    pub quarantined: usize,
    /// Interrupted temporary writes (`.incoming-*`, never acknowledged), removed.
    pub temp_files_removed: usize,
    /// Photos whose file is missing, now `failed` with reason "photo file missing".
    pub missing_files: Vec<PhotoId>,
}

/// What [`Inspector::recover_quarantined`] rebuilds: the inspection that the quarantined
/// photos are adopted into. A photo file holds no container number, so the person
/// recovering names it (it is checked like any other).
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// The container the photos show.
    pub container_number: ContainerNumber,
    /// Who recovers them, or who took them.
    pub inspector_id: Option<String>,
    /// Only these photos (`None`: every quarantined photo).
    pub only: Option<Vec<PhotoId>>,
}

/// A file waiting in `photos/orphans/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct QuarantinedFile {
    /// Its path.
    pub path: PathBuf,
    /// The photo id its name carries, when it is `<photo-id>.<jpg|png>`.
    pub photo_id: Option<PhotoId>,
    /// When the core first stored it (from the time-ordered photo id).
    pub stored_at: Option<Timestamp>,
    /// Its size.
    pub size_bytes: u64,
}

/// A quarantined file that [`Inspector::recover_quarantined`] left where it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SkippedFile {
    /// The file (still in `photos/orphans/`).
    pub path: PathBuf,
    /// Why it was not adopted.
    pub reason: String,
}

/// What [`Inspector::recover_quarantined`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RecoverReport {
    /// The inspection created for the adopted photos (`None` when none was adopted).
    pub inspection: Option<Inspection>,
    /// Photos adopted, queued for the cloud again.
    pub adopted: Vec<PhotoId>,
    /// Files left in quarantine, with the reason.
    pub skipped: Vec<SkippedFile>,
}

/// A photo with every detection result stored for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PhotoDetail {
    /// The photo.
    #[serde(flatten)]
    pub photo: Photo,
    /// Its results, oldest first.
    pub results: Vec<DetectionResult>,
    /// Which source's result is current: the newest cloud result when there is one (the
    /// cloud model is preferred), else the newest edge result.
    pub current: Option<DetectionSource>,
    /// When the yard office acknowledged the photo's bytes (`None`: not yet).
    #[cfg_attr(feature = "uniffi", uniffi(name = "office_at_ms"))]
    pub office_at: Option<Timestamp>,
    /// How many of its results the office has acknowledged.
    pub verdicts_on_office: u64,
}

impl PhotoDetail {
    /// Wraps a photo and its results, working out which one is current.
    pub fn new(photo: Photo, results: Vec<DetectionResult>) -> Self {
        let current = [DetectionSource::Cloud, DetectionSource::Edge]
            .into_iter()
            .find(|source| results.iter().any(|r| r.detections.source == *source));
        Self {
            photo,
            results,
            current,
            office_at: None,
            verdicts_on_office: 0,
        }
    }

    /// The current result (see [`PhotoDetail::current`]).
    pub fn current_result(&self) -> Option<&DetectionResult> {
        let source = self.current?;
        self.results
            .iter()
            .rev()
            .find(|r| r.detections.source == source)
    }
}

/// An inspection with its photos and their detections.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct InspectionDetail {
    /// The inspection.
    #[serde(flatten)]
    pub inspection: Inspection,
    /// Its photos, oldest first.
    pub photos: Vec<PhotoDetail>,
    /// Its revision and what the yard office acknowledged of it.
    pub office: InspectionAck,
    /// The faces its kind requires, its photos show, and it misses (filled by the front
    /// door, which holds the kinds table).
    pub faces: FaceCoverage,
    /// The verdict on the box from the office's report, once read.
    pub box_verdict: Option<BoxVerdict>,
}

/// What [`Inspector::detect_photo`] did.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DetectOutcome {
    /// The detector ran and its result is stored.
    Detected(DetectionResult),
    /// This model already has a stored result for the photo; nothing ran.
    AlreadyDone,
    /// The photo cannot be decoded; it is marked unreadable and never retried.
    Unreadable {
        /// The decoder's reason.
        reason: String,
    },
}

/// Totals over the whole store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Inspections stored.
    pub inspections: u64,
    /// Photos per state ("12 photos waiting for signal" is `photos.queued`).
    pub photos: StateCounts,
    /// What the yard office has acknowledged.
    pub office: OfficeCounts,
}
