//! The errors the bindings throw: one flat enum mapped from the core's [`ApiError`], and
//! the one an app's credentials provider throws back.

use omni_core::ApiError;

/// Why a call failed. Every variant carries a stable `code` (branch on it, log it) and a
/// human `reason`. Thrown as `OmniException` in Kotlin, `OmniError` in Swift and Python.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum OmniError {
    /// The input was refused (container number, photo, location, settings); nothing stored.
    #[error("{reason}")]
    InvalidInput {
        /// Stable code, e.g. `invalid_container_number`.
        code: String,
        /// Human message.
        reason: String,
    },
    /// No inspection or photo has this id.
    #[error("{reason}")]
    NotFound {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// Storage failed (full, corrupt, I/O); what was stored before is intact.
    #[error("{reason}")]
    Storage {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// The network or a server failed; try again later.
    #[error("{reason}")]
    Network {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// Credentials are missing, expired or refused.
    #[error("{reason}")]
    Credentials {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// A model or manifest was refused; the model in use is unchanged.
    #[error("{reason}")]
    ModelRejected {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// Another process or operation holds what this needs.
    #[error("{reason}")]
    Busy {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// Cloud or model refresh was not configured at open.
    #[error("{reason}")]
    NotConfigured {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// The work was cancelled.
    #[error("{reason}")]
    Cancelled {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
    /// A bug: an unexpected state, or a panic caught in the core.
    #[error("{reason}")]
    Internal {
        /// Stable code.
        code: String,
        /// Human message.
        reason: String,
    },
}

impl From<ApiError> for OmniError {
    fn from(e: ApiError) -> Self {
        let code = e.code().to_owned();
        let reason = e.to_string();
        match e {
            ApiError::InvalidInput { .. } => Self::InvalidInput { code, reason },
            ApiError::NotFound { .. } => Self::NotFound { code, reason },
            ApiError::Storage { .. } => Self::Storage { code, reason },
            ApiError::Network { .. } => Self::Network { code, reason },
            ApiError::Credentials { .. } => Self::Credentials { code, reason },
            ApiError::ModelRejected { .. } => Self::ModelRejected { code, reason },
            ApiError::Busy { .. } => Self::Busy { code, reason },
            ApiError::NotConfigured { .. } => Self::NotConfigured { code, reason },
            _ => Self::Internal { code, reason },
        }
    }
}

impl From<tokio::task::JoinError> for OmniError {
    fn from(e: tokio::task::JoinError) -> Self {
        if e.is_cancelled() {
            Self::Cancelled {
                code: "cancelled".into(),
                reason: "the operation was cancelled".into(),
            }
        } else {
            Self::Internal {
                code: "panic".into(),
                reason: format!("the core panicked: {e}"),
            }
        }
    }
}

impl OmniError {
    pub(crate) fn invalid(code: &str, reason: impl ToString) -> Self {
        Self::InvalidInput {
            code: code.into(),
            reason: reason.to_string(),
        }
    }
}

/// What an app's [`CredentialsProvider`](crate::CredentialsProvider) throws.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CredentialsError {
    /// Credentials cannot be had now (no network to the identity pool): sync pauses and
    /// tries again.
    #[error("{reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The identity pool refused (signed out, disabled).
    #[error("{reason}")]
    Denied {
        /// Why.
        reason: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CredentialsError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable {
            reason: format!("the credentials provider failed: {}", e.reason),
        }
    }
}
