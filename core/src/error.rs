//! The core's error type.

use std::io;
use std::path::PathBuf;

use crate::detect::{DetectError, ModelError};
use crate::inspection::{InspectionId, PhotoId};
use crate::store::StoreError;
use omni_photo::probe::PhotoError;
use omni_protocol::container_number::ContainerNumberError;
use omni_protocol::face::FaceError;
use omni_protocol::inspection_kind::KindError;

/// Everything the core's operations can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process (or another `Inspector`) has the data directory open.
    #[error("data directory {path} is in use by another process")]
    DataDirLocked {
        /// The data directory.
        path: PathBuf,
    },
    /// A file-system operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, with the path.
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The device's storage is full: the operation stored nothing (free space and retry).
    #[error("storage full: {context}")]
    StorageFull {
        /// What was being done, with the OS's words.
        context: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A photo was refused before anything was stored.
    #[error("photo refused: {0}")]
    Photo(#[from] PhotoError),
    /// A container number is not valid ISO 6346.
    #[error("invalid container number: {0}")]
    ContainerNumber(#[from] ContainerNumberError),
    /// A container face letter that is not one of F, D, L, R, T, U, I, X.
    #[error("{0}")]
    Face(#[from] FaceError),
    /// An inspection kind the kinds table does not define (or a yard table refused).
    #[error("{0}")]
    Kind(#[from] KindError),
    /// The photo is synced: its face can no longer change.
    #[error("photo {0} is synced: its face can no longer change")]
    PhotoAlreadySynced(PhotoId),
    /// No inspection has this id.
    #[error("inspection {0} not found")]
    InspectionNotFound(InspectionId),
    /// No photo has this id.
    #[error("photo {0} not found")]
    PhotoNotFound(PhotoId),
    /// A detection model was refused.
    #[error("model refused: {0}")]
    Model(#[from] ModelError),
    /// Detection failed for a reason other than an unreadable photo.
    #[error("detection failed: {0}")]
    Detect(#[from] DetectError),
    /// A location outside the globe, or a negative accuracy.
    #[error("invalid location: {0}")]
    InvalidLocation(String),
    /// The photo cannot be decoded, so it has no verdict.
    #[error("photo {0} cannot be decoded; no verdict")]
    PhotoUnreadable(PhotoId),
    /// The sync engine could not run (a task failed or was cancelled).
    #[error("sync: {0}")]
    Sync(String),
}

impl Error {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |source| {
            if source.kind() == io::ErrorKind::StorageFull {
                Self::StorageFull {
                    context: format!("{context}: {source}"),
                }
            } else {
                Self::Io { context, source }
            }
        }
    }
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
