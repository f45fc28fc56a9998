//! What every Omni-Inspector side speaks: the phone core, the local endpoint, the yard office
//! and the trainer. Plain data types and their parsers, with no file or network I/O and no
//! policy of their own:
//!
//! - [`container_number`]: ISO 6346 container numbers (check digit validated);
//! - [`timestamp`]: milliseconds since the Unix epoch, shown as RFC 3339;
//! - [`digest`]: SHA-256 as lowercase hex, as the stores, manifests and wire spell it;
//! - [`detections`]: what a model found in one image, and the damage classes in class-id order;
//! - [`response`]: the endpoint's JSON response, schema version 1 (`docs/endpoint-response.md`);
//! - [`face`]: the CEDEX container faces a photo shows (F D L R T U I X);
//! - [`inspection_kind`]: inspection kinds and the faces each requires (one table a yard can
//!   replace); [`lang`]: the two languages their names are kept in;
//! - [`box_verdict`]: the verdict on the box a phone reads from the office's report (EIR).
//!
//! The yard office's own request and answer types are `omni-office-wire`; SigV4 (credentials,
//! signing, verification) is `omni-sigv4`.
//!
//! With the feature `uniffi` (the phone bindings only) these types carry UniFFI derives
//! (`ffi` has the custom types); without it nothing of uniffi is compiled.

#![cfg_attr(not(feature = "uniffi"), forbid(unsafe_code))]
#![cfg_attr(feature = "uniffi", allow(unsafe_code))]

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub mod box_verdict;
pub mod container_number;
pub mod detections;
pub mod digest;
pub mod face;
#[cfg(feature = "uniffi")]
mod ffi;
pub mod inspection_kind;
pub mod lang;
pub mod response;
pub mod timestamp;

pub use container_number::{ContainerNumber, ContainerNumberError};
pub use detections::{
    BoundingBox, DAMAGE_CLASSES, Detection, DetectionSource, Detections, ModelIdentity,
};
pub use face::{Face, FaceError};
pub use inspection_kind::{FaceCoverage, InspectionKind, KindError, KindTable};
pub use lang::{Language, Localized};
pub use timestamp::Timestamp;
