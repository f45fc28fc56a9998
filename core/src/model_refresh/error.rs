//! Why an update was refused ([`RejectReason`]) or could not run ([`RefreshError`]).

use crate::model_manifest::ManifestError;
use omni_cloud::{CredentialsError, SigningError};

/// Why a published manifest or model was refused. The active model is never touched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// The manifest envelope or payload is refused (unsigned, unknown key, bad signature,
    /// malformed, too large): the manifest module's own error, with its code.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The offered version is not newer than the active one (and downgrades are not allowed).
    #[error("version {offered} is not newer than the active {active} (downgrade refused)")]
    NotNewer {
        /// Version in the manifest.
        offered: String,
        /// Version of the active model.
        active: String,
    },
    /// This model was rolled back on this device: it is never installed again from a
    /// manifest (a new model needs a new file, or a newer version).
    #[error("model {version} (sha256 {sha256}) was rolled back on this device")]
    RolledBack {
        /// Its version.
        version: String,
        /// Its SHA-256.
        sha256: String,
    },
    /// The offered version is older than the newest ever installed here (a replayed old
    /// manifest), and downgrades are not allowed.
    #[error("version {offered} is older than {floor}, installed here before (replay refused)")]
    OlderThanInstalled {
        /// Version in the manifest.
        offered: String,
        /// The newest version installed on this device so far.
        floor: String,
    },
    /// The model needs a newer `omni-core` than this one.
    #[error("model needs omni-core {required} or newer, this is {core}")]
    CoreTooOld {
        /// `min_core_version` of the manifest.
        required: String,
        /// This core's version.
        core: String,
    },
    /// The manifest's classes differ from the configured ones.
    #[error("manifest classes {found:?} differ from the configured classes {expected:?}")]
    ClassMismatch {
        /// Configured.
        expected: Vec<String>,
        /// In the manifest.
        found: Vec<String>,
    },
    /// The manifest's `file` is absolute, escapes to another host, or is not a URL path.
    #[error("manifest file {0:?} is not a path beside the manifest")]
    BadFileLocation(String),
    /// The model file the manifest names is not there (404).
    #[error("model file {0} not found (404)")]
    ModelMissing(String),
    /// The downloaded file does not have the manifest's size.
    #[error("model file is {actual} bytes, manifest says {expected}")]
    SizeMismatch {
        /// From the manifest.
        expected: u64,
        /// Downloaded.
        actual: u64,
    },
    /// The downloaded file's SHA-256 differs from the manifest's (tampered or corrupt).
    #[error("model sha256 {actual} differs from the manifest's {expected}")]
    ShaMismatch {
        /// From the manifest.
        expected: String,
        /// Of the downloaded bytes.
        actual: String,
    },
    /// tract cannot load the model (not ONNX, not a detector, wrong classes or shape).
    #[error("model does not load: {0}")]
    ModelDoesNotLoad(String),
    /// The model's own metadata names another model or version than the manifest.
    #[error("model metadata says {model}, manifest says {manifest}")]
    IdentityMismatch {
        /// `name version` from the manifest.
        manifest: String,
        /// `name version` from the ONNX metadata.
        model: String,
    },
    /// The model loads but fails on the probe image.
    #[error("model fails on the probe image: {0}")]
    ProbeFailed(String),
}

impl RejectReason {
    /// A short stable code for hosts and JSON output, e.g. `bad_signature`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Manifest(e) => e.code(),
            Self::NotNewer { .. } => "not_newer",
            Self::RolledBack { .. } => "rolled_back",
            Self::OlderThanInstalled { .. } => "older_than_installed",
            Self::CoreTooOld { .. } => "core_too_old",
            Self::ClassMismatch { .. } => "class_mismatch",
            Self::BadFileLocation(_) => "bad_file_location",
            Self::ModelMissing(_) => "model_missing",
            Self::SizeMismatch { .. } => "size_mismatch",
            Self::ShaMismatch { .. } => "sha_mismatch",
            Self::ModelDoesNotLoad(_) => "model_does_not_load",
            Self::IdentityMismatch { .. } => "identity_mismatch",
            Self::ProbeFailed(_) => "probe_failed",
        }
    }

    /// Whether the same manifest is refused again without asking (see `docs/model-refresh.md`):
    /// everything but a missing model file, which may still be on its way, and a download
    /// of the wrong size or hash, which may be a file still being uploaded or a corrupted
    /// transfer.
    pub(crate) fn is_final(&self) -> bool {
        !matches!(
            self,
            Self::ModelMissing(_) | Self::SizeMismatch { .. } | Self::ShaMismatch { .. }
        )
    }
}

/// Why a check, update or rollback did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RefreshError {
    /// The manifest or the model was refused; the active model is unchanged.
    #[error("update rejected: {0}")]
    Rejected(RejectReason),
    /// Connection refused/reset, DNS, TLS, timeout, or the connection dropped too often.
    #[error("network error: {0}")]
    Network(String),
    /// The server answered with an unexpected status.
    #[error("{url} answered HTTP {status}")]
    Http {
        /// What was fetched.
        url: String,
        /// Its status.
        status: u16,
    },
    /// The server answered with a redirect, which is never followed (it could send signed
    /// headers elsewhere, or downgrade https to http).
    #[error("{url} answered a {status} redirect to {location:?}; redirects are not followed")]
    Redirected {
        /// What was fetched.
        url: String,
        /// Its status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// No usable credentials for an `s3://` source.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// A request could not be signed.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// Reading or writing `models/` failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another update or rollback holds `models/.lock`.
    #[error("another model update or rollback is running on this data directory")]
    Busy,
    /// Rollback asked with no refreshed model installed.
    #[error("nothing to roll back: the bundled model is active")]
    NothingToRollBack,
}

impl RefreshError {
    /// An I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }
}
