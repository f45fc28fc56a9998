//! On-device model refresh: poll the signed manifest (`edge/latest.json`), download the
//! model it names resumably, verify size, SHA-256, signature and identity, test-run it, and
//! swap it in atomically, keeping the previous model for rollback. The bundled demo model is
//! the floor. See `docs/model-refresh.md`.
//!
//! - [`config`]: source URL, pinned keys, classes, network policy.
//! - [`model_store`]: `models/{active,previous,staging}` and loading with fallback.
//! - `fetch`: conditional and range requests, SigV4 for S3.
//! - [`updater`]: check and update, over the store and the fetcher; its `install`
//!   downloads, verifies, test-runs and swaps in an offered model.
//! - [`rollback`](mod@rollback): back to `previous/` or the bundled model.
//! - [`events`]: what the host is told.

pub mod config;
pub mod error;
pub mod events;
pub(crate) mod fetch;
pub mod model_store;
pub mod rollback;
pub mod updater;

pub use config::{
    CORE_VERSION, ConfigError, ManifestSource, Network, RefreshConfig, RefreshPolicy,
};
pub use error::{RefreshError, RejectReason};
pub use events::{ModelEvent, ModelRefreshListener};
pub use model_store::{BundledModel, Fallback, LoadedModel, ModelStore, NoModel, Slot};
pub use rollback::{RolledBack, rollback};
pub use updater::{CheckOutcome, ModelStatus, ModelUpdater, UpdateOutcome, model_status};
