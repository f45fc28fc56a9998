//! On-device model refresh: poll the signed manifest (`edge/latest.json`), download the
//! model it names resumably, verify size, SHA-256, signature and identity, test-run it, and
//! swap it in atomically, keeping the previous model for rollback. The bundled demo model is
//! the floor. See `docs/model-refresh.md`.
//!
//! - [`config`]: source URL, pinned keys, classes, network policy.
//! - [`model_store`]: `models/{active,previous,staging}` and loading with fallback.
//! - [`fetch`]: conditional and range requests, SigV4 for S3.
//! - [`updater`]: check, update, rollback and the events they report.

pub mod config;
pub mod error;
pub mod fetch;
pub mod model_store;
pub mod updater;

pub use config::{
    CORE_VERSION, ConfigError, ManifestSource, Network, RefreshConfig, RefreshPolicy,
};
pub use error::{RefreshError, RejectReason};
pub use model_store::{BundledModel, Fallback, LoadedModel, ModelStore, NoModel, Slot};
pub use updater::{
    CheckOutcome, ModelEvent, ModelRefreshListener, ModelStatus, ModelUpdater, RolledBack,
    UpdateOutcome, model_status, rollback,
};
