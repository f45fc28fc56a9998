//! Cloud sync: the engine that drains the photo queue to the SageMaker endpoint, its retry
//! policy, and the events it reports to the host.

pub mod backoff;
pub(crate) mod engine;
pub mod events;

pub use backoff::Backoff;
pub use engine::{StopReason, SyncConfig, SyncEngine, SyncReport, Verdict};
pub use events::{PauseCause, SyncEvent, SyncListener};
