//! The trainer's error type: one variant per kind of failure an operator can act on.

use std::path::PathBuf;

/// Result with [`TrainerError`].
pub type Result<T, E = TrainerError> = std::result::Result<T, E>;

/// Why a trainer command failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainerError {
    /// A local file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The configuration (flags, environment, config file) is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Input the user gave is unusable (a data set, a manifest, an export).
    #[error("{0}")]
    Input(String),
    /// A data set failed validation (the report lists every problem).
    #[error("data set has {errors} problem(s)")]
    InvalidDataset {
        /// Number of problems.
        errors: usize,
    },
    /// No AWS credentials could be resolved.
    #[error(
        "no AWS credentials: {0} (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, or run on an instance role)"
    )]
    Credentials(String),
    /// The S3 bucket does not exist.
    #[error("S3 bucket {0:?} does not exist")]
    NoSuchBucket(String),
    /// An AWS API call failed.
    #[error("{operation}: {message}")]
    Aws {
        /// The operation (e.g. `CreateTrainingJob`).
        operation: &'static str,
        /// The service's message.
        message: String,
    },
    /// The training job failed or stopped.
    #[error("training job {job} {status}: {reason}")]
    JobFailed {
        /// The job name.
        job: String,
        /// `Failed` or `Stopped`.
        status: String,
        /// SageMaker's `FailureReason`.
        reason: String,
    },
    /// Waiting gave up.
    #[error("{what} still {status} after {seconds} s")]
    Timeout {
        /// What was waited on.
        what: String,
        /// Its last status.
        status: String,
        /// How long we waited.
        seconds: u64,
    },
    /// A promotion gate refused the model.
    #[error("gate: {0}")]
    Gate(String),
    /// The signing key is missing or malformed.
    #[error("signing key: {0}")]
    SigningKey(String),
    /// The endpoint's answer is not our documented detection JSON.
    #[error("smoke test: {0}")]
    Smoke(String),
}

impl TrainerError {
    /// An [`TrainerError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
