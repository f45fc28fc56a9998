//! UniFFI bindings of the Omni-Inspector core: Kotlin (Android), Swift (iOS) and Python.
//!
//! A thin layer: [`OmniCore`] wraps the core's front door, whose plain data crosses as the
//! core's own types (omni-core's `uniffi` feature; the few that differ are in `types`),
//! [`OmniError`] is its one error, and the app implements [`CredentialsProvider`],
//! [`SyncListener`] and [`ModelListener`]. See `docs/bindings.md`.

uniffi::setup_scaffolding!();

mod callbacks;
mod error;
mod faces;
mod logging;
mod omni;
mod runtime;
mod task_handle;
mod types;

pub use callbacks::{AwsCredentials, CredentialsProvider, ModelListener, SyncListener};
pub use error::{CredentialsError, OmniError};
pub use logging::{LogLevel, LogRecord, LogSink, set_log_sink};
pub use omni::{
    CloudTarget, CoreConfig, ModelRefreshSettings, OfficeTarget, OmniCore, SyncSettings,
};
pub use task_handle::TaskHandle;
pub use types::{
    InspectionQuery, ModelCheck, ModelStatus, ModelUpdate, NewInspection, OpenSummary, Stats,
    SyncEvent,
};

/// Panics inside the core's call path (binding tests only): the app must get an exception
/// (`InternalException` in Kotlin, `InternalError` in Python) and keep running.
#[cfg(feature = "test-probes")]
#[uniffi::export]
pub fn debug_panic(message: String) {
    panic!("{message}");
}
