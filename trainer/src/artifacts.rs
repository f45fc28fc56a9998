//! A completed training job's outputs: `model.tar.gz` (`best.pt`, `model.onnx`,
//! `model-int8.onnx`, `metrics.json`, …) downloaded from S3 and unpacked in memory.

use aws_sdk_sagemaker::types::TrainingJobStatus;
use serde_json::Value;

use crate::aws::{Clients, describe_training_job, s3_error};
use crate::error::{Result, TrainerError};
use crate::s3uri::S3Uri;
use crate::sourcedir::untar_gz;

/// The unpacked artifacts.
#[derive(Clone, Debug)]
pub struct Artifacts {
    /// Where `model.tar.gz` is.
    pub uri: S3Uri,
    /// Its bytes.
    pub tarball: Vec<u8>,
    /// Its files.
    pub files: Vec<(String, Vec<u8>)>,
}

impl Artifacts {
    /// A file by name.
    pub fn file(&self, name: &str) -> Option<&[u8]> {
        self.files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, b)| b.as_slice())
    }

    /// `metrics.json`, parsed.
    pub fn metrics(&self) -> Result<Value> {
        let bytes = self
            .file("metrics.json")
            .ok_or_else(|| TrainerError::Input(format!("{}: no metrics.json", self.uri)))?;
        serde_json::from_slice(bytes)
            .map_err(|e| TrainerError::Input(format!("{}: metrics.json: {e}", self.uri)))
    }
}

/// A number at a path of `metrics.json` (e.g. `["onnx", "float", "mAP50-95"]`).
pub fn metric(metrics: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(metrics, |v, k| v.get(k))?.as_f64()
}

/// Where a job's `model.tar.gz` is; the job must be `Completed`.
pub async fn artifacts_uri(clients: &Clients, job: &str) -> Result<S3Uri> {
    let d = describe_training_job(clients, job).await?;
    let status = d.training_job_status().cloned();
    if status != Some(TrainingJobStatus::Completed) {
        return Err(TrainerError::JobFailed {
            job: job.to_owned(),
            status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            reason: d
                .failure_reason()
                .unwrap_or("the job has not completed")
                .to_owned(),
        });
    }
    let uri = d
        .model_artifacts()
        .and_then(|a| a.s3_model_artifacts())
        .ok_or_else(|| TrainerError::Input(format!("training job {job} has no model artifacts")))?;
    S3Uri::parse(uri)
}

/// The version of the data set a job was trained on (its `dataset-version` hyperparameter,
/// set by `train` from the data set's `dataset.json`), if recorded.
pub async fn dataset_version(clients: &Clients, job: &str) -> Result<Option<String>> {
    let d = describe_training_job(clients, job).await?;
    Ok(d.hyper_parameters()
        .and_then(|hp| hp.get(crate::train::DATASET_VERSION_HP))
        .map(|v| {
            serde_json::from_str::<String>(v).unwrap_or_else(|_| v.trim_matches('"').to_owned())
        }))
}

/// Downloads and unpacks a job's `model.tar.gz`.
pub async fn fetch(clients: &Clients, job: &str) -> Result<Artifacts> {
    fetch_uri(clients, artifacts_uri(clients, job).await?).await
}

/// Downloads and unpacks the `model.tar.gz` at `uri`.
pub async fn fetch_uri(clients: &Clients, uri: S3Uri) -> Result<Artifacts> {
    let tarball = get_object(clients, &uri).await?;
    let files = untar_gz(&tarball)?;
    Ok(Artifacts {
        uri,
        tarball,
        files,
    })
}

/// An object's bytes; a missing key is a [`TrainerError::Input`].
pub async fn get_object(clients: &Clients, uri: &S3Uri) -> Result<Vec<u8>> {
    get_optional(clients, uri)
        .await?
        .ok_or_else(|| TrainerError::Input(format!("{uri} does not exist")))
}

/// An object's bytes, or `None` when the key does not exist.
pub async fn get_optional(clients: &Clients, uri: &S3Uri) -> Result<Option<Vec<u8>>> {
    match clients
        .s3
        .get_object()
        .bucket(&uri.bucket)
        .key(&uri.key)
        .send()
        .await
    {
        Ok(out) => {
            let body = out.body.collect().await.map_err(|e| TrainerError::Aws {
                operation: "GetObject",
                message: e.to_string(),
            })?;
            Ok(Some(body.into_bytes().to_vec()))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(s3_error("GetObject", &uri.bucket)(e)),
    }
}
