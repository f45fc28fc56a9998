//! What model refresh reports to the host: [`ModelEvent`]s, through a
//! [`ModelRefreshListener`], and to the log.

use serde::Serialize;

/// Something the host may show or log.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ModelEvent {
    /// A verified manifest offers a model newer than the active one.
    UpdateAvailable {
        /// Model name.
        name: String,
        /// Offered version.
        version: String,
        /// File size in bytes.
        size: u64,
    },
    /// Bytes of the model file downloaded so far (resumed bytes included).
    Downloading {
        /// Version being downloaded.
        version: String,
        /// Bytes in the partial file.
        received: u64,
        /// File size.
        total: u64,
    },
    /// A new model is active.
    Installed {
        /// Model name.
        name: String,
        /// Its version.
        version: String,
        /// Its SHA-256.
        sha256: String,
        /// Version it replaced (`None`: nothing was recorded, e.g. the bundled model).
        replaced: Option<String>,
    },
    /// A manifest or model was refused; the active model is unchanged.
    Rejected {
        /// The version offered, when the manifest could be read.
        version: Option<String>,
        /// Short code ([`RejectReason::code`](super::RejectReason::code)).
        code: String,
        /// The reason, in words.
        reason: String,
    },
    /// A rollback made another model active.
    RolledBack {
        /// Version rolled back from.
        #[cfg_attr(feature = "uniffi", uniffi(name = "from_version"))]
        from: String,
        /// Version now active (`bundled` for the demo model).
        #[cfg_attr(feature = "uniffi", uniffi(name = "to_version"))]
        to: String,
    },
}

impl ModelEvent {
    /// Writes the event to the log (target `omni_core::model_refresh::events`).
    pub(crate) fn log(&self) {
        match self {
            Self::UpdateAvailable {
                name,
                version,
                size,
            } => tracing::info!(%name, %version, size, "model update available"),
            Self::Downloading {
                version,
                received,
                total,
            } => tracing::debug!(%version, received, total, "downloading model"),
            Self::Installed {
                name,
                version,
                sha256,
                replaced,
            } => tracing::info!(%name, %version, %sha256, ?replaced, "model installed"),
            Self::Rejected {
                version,
                code,
                reason,
            } => tracing::warn!(?version, %code, %reason, "model update rejected"),
            Self::RolledBack { from, to } => tracing::warn!(%from, %to, "model rolled back"),
        }
    }
}

/// Receives [`ModelEvent`]s. Implemented by the host; called on the updating thread.
pub trait ModelRefreshListener: Send + Sync {
    /// One event.
    fn on_event(&self, event: ModelEvent);
}
