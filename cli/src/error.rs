//! Why a command failed: printed as one line (`omni: error: …`), exit status 1.

use std::path::PathBuf;

use omni_core::detect::ModelError;
use omni_core::evaluation::EvaluationError;
use omni_core::{ApiError, ContainerNumberError, PhotoError, PhotoId};

use crate::annotate::AnnotateError;

/// A failed command. Every variant displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The core refused or failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The core refused or failed on one photo file or one stored photo.
    #[error("{what}: {source}")]
    ApiOn {
        /// The file or photo it was about.
        what: String,
        /// What the core said.
        source: ApiError,
    },
    /// Flags that do not fit together (e.g. `--face` counts).
    #[error("{0}")]
    Usage(String),
    /// No data directory given and the platform has none.
    #[error("no platform data directory; pass --data-dir or set OMNI_DATA_DIR")]
    NoDataDir,
    /// A container number that fails ISO 6346.
    #[error("invalid container number {input:?}: {source}")]
    ContainerNumber {
        /// As typed.
        input: String,
        /// Why it is invalid.
        source: ContainerNumberError,
    },
    /// A file that cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A directory that cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A photo file the core would refuse (checked before anything is stored).
    #[error("{}: photo refused: {source}", path.display())]
    PhotoRefused {
        /// The file.
        path: PathBuf,
        /// Why.
        source: PhotoError,
    },
    /// A model file (`--model`, or the bundled one for `eval`) that does not load.
    #[error("{what}: {source}")]
    Model {
        /// The file, or "bundled model".
        what: String,
        /// Why it does not load.
        source: ModelError,
    },
    /// A data set `eval` cannot score.
    #[error(transparent)]
    Evaluation(#[from] EvaluationError),
    /// An annotated copy that cannot be drawn or written.
    #[error("photo {photo}: {source}")]
    Annotate {
        /// The photo.
        photo: PhotoId,
        /// Why.
        source: AnnotateError,
    },
    /// Sync stopped before the queue was drained.
    #[error("{what}, {queued} photo(s) still queued: {reason}")]
    SyncStopped {
        /// What stopped it.
        what: &'static str,
        /// Photos left in the queue.
        queued: u64,
        /// The last error.
        reason: String,
    },
    /// The async runtime for network commands does not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// Output that does not encode as JSON.
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The result of a command.
pub type CliResult<T = ()> = Result<T, CliError>;

/// Adds what an [`ApiError`] was about.
pub trait ApiContext<T> {
    /// Names the file or photo the error concerns.
    fn on(self, what: impl FnOnce() -> String) -> CliResult<T>;
}

impl<T> ApiContext<T> for Result<T, ApiError> {
    fn on(self, what: impl FnOnce() -> String) -> CliResult<T> {
        self.map_err(|source| CliError::ApiOn {
            what: what(),
            source,
        })
    }
}
