//! The one error a host sees: a handful of kinds an app can act on, each with a stable
//! code and the human message, mapped from the core's rich errors here and nowhere else
//! (Mozilla application-services' `ApiError` pattern).

use crate::error::Error;
use crate::model_manifest::ManifestError;
use crate::model_refresh::{ConfigError, NoModel, RefreshError};
use crate::store::StoreError;
use omni_cloud::{CredentialsError, ServiceUrlError};
use omni_photo::probe::PhotoError;

/// What went wrong, for a host. `code` is stable (log it, branch on it); `message` is for
/// people and may change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The caller's input was refused (container number, photo, location, settings); nothing
    /// was stored.
    #[error("{message}")]
    InvalidInput {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// No inspection or photo has this id.
    #[error("{message}")]
    NotFound {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Storage failed: full disk, corrupt database, I/O. What was stored before is intact.
    #[error("{message}")]
    Storage {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// The network or a server failed; try again later.
    #[error("{message}")]
    Network {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Credentials are missing, expired or refused.
    #[error("{message}")]
    Credentials {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// A model or manifest was refused (tampered, unsigned, older, unloadable); the model in
    /// use is unchanged.
    #[error("{message}")]
    ModelRejected {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// Someone else holds what this needs (another process on the data directory, another
    /// model update).
    #[error("{message}")]
    Busy {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// The feature was not configured at open (no cloud endpoint, no model source).
    #[error("{message}")]
    NotConfigured {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
    /// A bug or an unexpected state; the message says what.
    #[error("{message}")]
    Internal {
        /// Stable code.
        code: &'static str,
        /// Human message.
        message: String,
    },
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { code, .. }
            | Self::NotFound { code, .. }
            | Self::Storage { code, .. }
            | Self::Network { code, .. }
            | Self::Credentials { code, .. }
            | Self::ModelRejected { code, .. }
            | Self::Busy { code, .. }
            | Self::NotConfigured { code, .. }
            | Self::Internal { code, .. } => code,
        }
    }

    pub(crate) fn invalid(code: &'static str, message: impl ToString) -> Self {
        Self::InvalidInput {
            code,
            message: message.to_string(),
        }
    }

    /// `what` was not configured at open.
    pub fn not_configured(what: &str) -> Self {
        Self::NotConfigured {
            code: "not_configured",
            message: format!("{what} is not configured: pass it when opening the core"),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::DataDirLocked { .. } => Self::Busy {
                code: "data_dir_locked",
                message,
            },
            Error::Io { .. } => Self::Storage {
                code: "io",
                message,
            },
            Error::StorageFull { .. } => Self::Storage {
                code: "storage_full",
                message,
            },
            Error::Store(store) => store_error(store, message),
            Error::Photo(photo) => Self::invalid(photo_code(&photo), message),
            Error::ContainerNumber(_) => Self::invalid("invalid_container_number", message),
            Error::InvalidLocation(_) => Self::invalid("invalid_location", message),
            Error::Face(_) => Self::invalid("unknown_face", message),
            Error::Kind(_) => Self::invalid("unknown_inspection_kind", message),
            Error::PhotoAlreadySynced(_) => Self::invalid("photo_already_synced", message),
            Error::PhotoUnreadable(_) => Self::invalid("photo_unreadable", message),
            Error::InspectionNotFound(_) => Self::NotFound {
                code: "inspection_not_found",
                message,
            },
            Error::PhotoNotFound(_) => Self::NotFound {
                code: "photo_not_found",
                message,
            },
            Error::Model(_) => Self::ModelRejected {
                code: "model_invalid",
                message,
            },
            Error::Detect(_) => Self::Internal {
                code: "detection_failed",
                message,
            },
            Error::Sync(_) => Self::Internal {
                code: "sync_task_failed",
                message,
            },
        }
    }
}

fn store_error(e: StoreError, message: String) -> ApiError {
    let code = match e {
        StoreError::Full => "storage_full",
        StoreError::Corrupt { .. } => "database_corrupt",
        StoreError::NewerSchema { .. } => "database_newer",
        StoreError::InvalidValue { .. } | StoreError::Sqlite(_) => "database",
    };
    ApiError::Storage { code, message }
}

fn photo_code(e: &PhotoError) -> &'static str {
    match e {
        PhotoError::Empty => "photo_empty",
        PhotoError::TooLarge { .. } => "photo_too_large",
        PhotoError::TooManyPixels { .. } => "photo_too_many_pixels",
        PhotoError::UnsupportedFormat { .. } => "photo_unsupported_format",
        PhotoError::CorruptHeader { .. } => "photo_corrupt",
    }
}

impl From<RefreshError> for ApiError {
    fn from(e: RefreshError) -> Self {
        let message = e.to_string();
        match e {
            RefreshError::Rejected(reason) => Self::ModelRejected {
                code: reason.code(),
                message,
            },
            RefreshError::Network(_) => Self::Network {
                code: "network",
                message,
            },
            RefreshError::Http { .. } => Self::Network {
                code: "http_status",
                message,
            },
            RefreshError::Redirected { .. } => Self::Network {
                code: "redirected",
                message,
            },
            RefreshError::Credentials(c) => credentials_error(&c, message),
            RefreshError::Signing(_) => Self::Credentials {
                code: "signing_failed",
                message,
            },
            RefreshError::Io { .. } => Self::Storage {
                code: "io",
                message,
            },
            RefreshError::Busy => Self::Busy {
                code: "model_update_running",
                message,
            },
            RefreshError::NothingToRollBack => Self::invalid("nothing_to_roll_back", message),
        }
    }
}

fn credentials_error(e: &CredentialsError, message: String) -> ApiError {
    let code = match e {
        CredentialsError::Missing(_) => "credentials_missing",
        CredentialsError::Provider(_) => "credentials_unavailable",
        CredentialsError::Expired => "credentials_expired",
    };
    ApiError::Credentials { code, message }
}

impl From<CredentialsError> for ApiError {
    fn from(e: CredentialsError) -> Self {
        let message = e.to_string();
        credentials_error(&e, message)
    }
}

impl From<NoModel> for ApiError {
    fn from(e: NoModel) -> Self {
        Self::ModelRejected {
            code: "no_model",
            message: e.to_string(),
        }
    }
}

impl From<ConfigError> for ApiError {
    fn from(e: ConfigError) -> Self {
        Self::invalid("invalid_model_source", e)
    }
}

impl From<ServiceUrlError> for ApiError {
    fn from(e: ServiceUrlError) -> Self {
        Self::invalid("invalid_endpoint_url", e)
    }
}

impl From<ManifestError> for ApiError {
    fn from(e: ManifestError) -> Self {
        Self::invalid("invalid_public_key", e)
    }
}
