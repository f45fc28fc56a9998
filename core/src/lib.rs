//! Omni-Inspector's shared client core.
//!
//! Hosts (the CLI, the mobile bindings, tests) open an [`OmniCore`]: the front door over
//! one data directory, with one config and one error type ([`ApiError`]).
//!
//! Inside, an [`Inspector`] owns the data directory: the SQLite queue of inspections and photos
//! (`inspections.sqlite3`) and the untouched originals (`photos/`). Captures are durable
//! once acknowledged; later stages (edge detection, cloud sync, model refresh) read from
//! and write to the same store.

pub mod app;
#[cfg(feature = "bundled-model")]
pub mod bundled_model;
pub mod cloud;
pub mod container_number;
pub mod detect;
pub mod detections;
pub mod digest;
pub mod durable;
pub mod error;
pub mod evaluation;
pub mod inspection;
pub mod inspector;
mod listener;
pub mod model_manifest;
pub mod model_refresh;
pub mod photo_files;
pub mod photo_probe;
pub(crate) mod store;
pub mod sync;
pub mod timestamp;

pub use app::{ApiError, ApiResult, CloudConfig, CloudTarget, OmniConfig, OmniCore};
pub use container_number::{ContainerNumber, ContainerNumberError};
pub use detections::{
    BoundingBox, Detection, DetectionResult, DetectionSource, Detections, ModelIdentity,
};
pub use error::{Error, Result};
pub use inspection::{
    Inspection, InspectionId, Location, NewInspection, Photo, PhotoId, PhotoState,
};
pub use inspector::{
    DetectOutcome, InspectionDetail, Inspector, InspectorConfig, OpenReport, PhotoDetail,
    QuarantinedFile, RecoverReport, Recovery, SkippedFile, Stats,
};
pub use photo_probe::{PhotoError, PhotoFormat, PhotoLimits};
pub use store::StoreError;
pub use store::inspections::{InspectionFilter, InspectionSummary};
pub use store::office::{InspectionAck, OfficeCounts};
pub use store::photos::StateCounts;
pub use timestamp::Timestamp;
