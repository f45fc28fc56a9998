//! The trainer's error type: one variant per kind of failure an operator can act on.

use std::path::PathBuf;

/// Result with [`TrainerError`].
pub type Result<T, E = TrainerError> = std::result::Result<T, E>;

/// Why a trainer command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// An import refused its input as unsafe (links, paths leaving their directory, archives
    /// past the size caps); nothing was written to the output.
    #[error(transparent)]
    Unsafe(#[from] UnsafeInput),
    /// No container image is known for the region.
    #[error(
        "no SageMaker PyTorch {framework} image is published in region {region:?} (known: {known}); set training_image / inference_image explicitly"
    )]
    UnknownRegion {
        /// The region asked for.
        region: String,
        /// The framework version.
        framework: String,
        /// The regions the table lists, comma-separated.
        known: String,
    },
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
    /// A labeling tool's export (or a batch) is refused; nothing was written.
    #[error(transparent)]
    Label(#[from] LabelInput),
}

/// Why a labeling tool's export was refused, with its file and line. Detected before the
/// output directory is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabelInput {
    /// Not JSON (or JSON Lines) of the expected shape.
    #[error("{file}:{line}: {message}")]
    Malformed {
        /// The export.
        file: PathBuf,
        /// Its line (1-based).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A rotated box: YOLO boxes are axis-aligned.
    #[error(
        "{file}:{line}: task {task}: box rotated by {rotation} degrees; YOLO boxes are axis-aligned (redraw it without rotation)"
    )]
    RotatedBox {
        /// The export.
        file: PathBuf,
        /// The line of the box (1-based).
        line: usize,
        /// The task's id.
        task: String,
        /// The rotation, degrees.
        rotation: f64,
    },
    /// A label that is not one of our classes.
    #[error("{file}:{line}: task {task}: unknown label {label:?}; ours are {known}")]
    UnknownLabel {
        /// The export.
        file: PathBuf,
        /// The line of the label (1-based).
        line: usize,
        /// The task's id.
        task: String,
        /// The label.
        label: String,
        /// Our classes, comma-separated.
        known: String,
    },
    /// A task whose image is not in the images directory.
    #[error("{file}:{line}: task {task}: image {image:?} not found in {dir}")]
    MissingImage {
        /// The export.
        file: PathBuf,
        /// The task's line (1-based).
        line: usize,
        /// The task's id.
        task: String,
        /// The image's file name.
        image: String,
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A region that is not a box (polygon, brush, keypoint).
    #[error(
        "{file}:{line}: task {task}: {kind} regions are not boxes; only rectanglelabels are imported"
    )]
    NotABox {
        /// The export.
        file: PathBuf,
        /// The region's line (1-based).
        line: usize,
        /// The task's id.
        task: String,
        /// The region's type.
        kind: String,
    },
}

/// Why an import refused its input as unsafe. Each is detected before the output data set
/// directory is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeInput {
    /// An archive entry is a symbolic link or another special file, or an export directory
    /// holds a symbolic link or a file behind a linked directory (it could copy any local file
    /// into the data set).
    #[error("{archive}: {entry:?} is a {kind}; only regular files and directories are imported")]
    Link {
        /// The archive or export directory.
        archive: PathBuf,
        /// The entry's name (or the file's path).
        entry: String,
        /// What it is (`symbolic link`, `special file`).
        kind: &'static str,
    },
    /// An archive entry's path is absolute or has a `..` component.
    #[error("{archive}: entry {entry:?} has an absolute or parent (`..`) path")]
    UnsafePath {
        /// The archive.
        archive: PathBuf,
        /// The entry's name.
        entry: String,
    },
    /// The archive has more entries than the cap.
    #[error(
        "{archive}: {entries} entries, more than the {limit}-entry cap (unzip it yourself and import the directory)"
    )]
    TooManyEntries {
        /// The archive.
        archive: PathBuf,
        /// Entries it has.
        entries: usize,
        /// The cap.
        limit: usize,
    },
    /// One entry decompresses to more bytes than the per-entry cap.
    #[error("{archive}: entry {entry:?} decompresses to more than {limit} bytes")]
    EntryTooLarge {
        /// The archive.
        archive: PathBuf,
        /// The entry's name.
        entry: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// The entries together decompress to more bytes than the total cap.
    #[error(
        "{archive}: entries decompress to more than {limit} bytes in total (unzip it yourself and import the directory)"
    )]
    TooLarge {
        /// The archive.
        archive: PathBuf,
        /// The cap in bytes.
        limit: u64,
    },
    /// A Ground Truth `source-ref` resolves to a file outside the manifest's directory and
    /// `--images` (a local path, or a link found by key), or is an object key with a `..`
    /// component.
    #[error("{manifest}:{line}: source-ref {source_ref:?} {reason}")]
    SourceRef {
        /// The manifest.
        manifest: PathBuf,
        /// Its line (1-based).
        line: usize,
        /// The `source-ref` value.
        source_ref: String,
        /// Why it is refused.
        reason: String,
    },
    /// Two different Ground Truth `source-ref`s resolve to the same local file (their labels
    /// would be given to one photo).
    #[error(
        "{manifest}:{line}: source-ref {source_ref:?} resolves to {local}, as {other:?} does; lay out --images as the bucket (aws s3 sync)"
    )]
    AmbiguousSource {
        /// The manifest.
        manifest: PathBuf,
        /// The line of the second reference (1-based).
        line: usize,
        /// The second reference.
        source_ref: String,
        /// The first reference.
        other: String,
        /// The file both resolve to.
        local: PathBuf,
    },
}

impl TrainerError {
    /// An [`TrainerError::Io`] for `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }
}
