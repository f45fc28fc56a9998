//! `omni-trainer`, the ops tool of Omni-Inspector: validates and imports labeled data sets,
//! uploads them incrementally to S3, trains YOLO11n on SageMaker managed spot, deploys the
//! model to the serverless endpoint and publishes its signed int8 copy for the phones.
//!
//! Every command is a library function here; `src/bin/omni-trainer/` is the command-line front.

pub mod artifacts;
pub mod aws;
pub mod config;
pub mod cost;
pub mod dataset;
pub mod deploy;
pub mod error;
pub mod images;
pub mod keys;
pub mod labeling;
pub mod names;
pub mod publish;
pub mod s3uri;
pub mod smoke;
pub mod sourcedir;
pub mod train;
pub mod upload;
pub mod wait;

pub use error::{LabelInput, Result, TrainerError, UnsafeInput};

/// Progress of a long operation, reported as `(done, total)` each time a unit of work ends
/// (images for a validation, bytes for an upload); the command-line front draws it as a bar.
pub type Progress<'a> = dyn Fn(u64, u64) + Sync + 'a;
