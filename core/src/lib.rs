//! Omni-Inspector's shared client core.
//!
//! Hosts (the CLI, the mobile bindings, tests) open an [`OmniCore`]: the front door over
//! one data directory, with one config and one error type ([`ApiError`]).
//!
//! What every side speaks (container numbers, timestamps, detections, the response schema) is
//! `omni-protocol`; photo headers and decoding are `omni-photo`; the online clients are
//! `omni-cloud` (re-exported as [`cloud`]); atomic files are `omni-durable`. This crate adds
//! what only the phone has: the store, the sync engine, model refresh and the edge runtime.
//!
//! Inside, an [`Inspector`] owns the data directory: the SQLite queue of inspections and photos
//! (`inspections.sqlite3`) and the untouched originals (`photos/`). Captures are durable
//! once acknowledged; later stages (edge detection, cloud sync, model refresh) read from
//! and write to the same store.
//!
//! With the feature `uniffi` (omni-ffi only) the plain data carries UniFFI derives
//! (docs/bindings.md); without it nothing of uniffi is compiled.

#![cfg_attr(not(feature = "uniffi"), forbid(unsafe_code))]
#![cfg_attr(feature = "uniffi", allow(unsafe_code))]

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod app;
#[cfg(feature = "bundled-model")]
pub mod bundled_model;
pub mod detect;
pub mod detections;
pub mod error;
pub mod evaluation;
#[cfg(feature = "uniffi")]
mod ffi_types;
pub mod inspection;
pub mod inspector;
mod listener;
pub mod model_manifest;
pub mod model_refresh;
pub mod photo_files;
pub(crate) mod store;
pub mod sync;

/// The online path (`omni-cloud`): hosts configure [`OmniConfig`]'s cloud target with its
/// credentials provider, service URLs and client settings.
pub use omni_cloud as cloud;
/// Photo header checks and limits (`omni-photo`), which a capture answers with.
pub use omni_photo::probe as photo_probe;

pub use app::{ApiError, ApiResult, CloudConfig, CloudTarget, OmniConfig, OmniCore};
pub use detections::{
    BoundingBox, Detection, DetectionResult, DetectionSource, Detections, ModelIdentity,
};
pub use error::{Error, Result};
pub use inspection::{
    Inspection, InspectionId, Location, NewInspection, Photo, PhotoId, PhotoState,
};
pub use inspector::{
    ClosedInspection, DetectOutcome, InspectionDetail, Inspector, InspectorConfig, OpenReport,
    PhotoDetail, QuarantinedFile, RecoverReport, Recovery, SkippedFile, Stats,
};
pub use omni_photo::{PhotoError, PhotoFormat, PhotoLimits};
pub use omni_protocol::box_verdict::BoxVerdictStatus;
pub use omni_protocol::{
    ContainerNumber, ContainerNumberError, Face, FaceCoverage, FaceError, InspectionKind,
    KindError, KindTable, Timestamp,
};
pub use store::StoreError;
pub use store::box_verdicts::BoxVerdict;
pub use store::inspections::{InspectionFilter, InspectionSummary};
pub use store::office::{InspectionAck, OfficeCounts};
pub use store::photos::StateCounts;
