//! `publish`: the edge model of a training job — by default the device format (gzipped NNEF,
//! f16 weights) made from the float ONNX export, or train.py's int8 ONNX — checked in our
//! tract pipeline (loads, runs, class names, device-vs-float gate on the val set), uploaded as
//! `<models_prefix>edge/<version>/model.nnef.tgz` (or `model.onnx`) with a signed manifest,
//! `edge/latest.json` written last so a device never sees a manifest whose model is not there
//! yet.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::SigningKey;
use omni_core::ModelIdentity;
use omni_core::detect::device_model::{self, DevicePrecision};
use omni_core::detect::{Detector, EdgeDetector, EdgeDetectorConfig, PostprocessConfig};
use omni_core::evaluation::{self, Metrics};
use omni_core::model_manifest::{self, ModelManifest, SignedManifest};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::artifacts::{self, Artifacts};
use crate::aws::Clients;
use crate::config::Settings;
use crate::error::{Result, TrainerError};
use crate::keys;
use crate::s3uri::S3Uri;

/// What `publish` ships to the devices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgePrecision {
    /// The device format (gzipped NNEF, decluttered) with f16 weights, made from `model.onnx`:
    /// half the download, the fastest start-up (docs/edge-detection.md).
    #[default]
    Float16,
    /// The device format with f32 weights.
    Float32,
    /// train.py's `model-int8.onnx` (ONNX, QDQ) as it is.
    Int8,
}

impl EdgePrecision {
    /// The manifest's `precision` value.
    pub fn as_str(self) -> &'static str {
        self.device().map_or("int8", DevicePrecision::as_str)
    }

    /// The device format's precision; `None` for the int8 ONNX.
    pub fn device(self) -> Option<DevicePrecision> {
        match self {
            Self::Float16 => Some(DevicePrecision::Float16),
            Self::Float32 => Some(DevicePrecision::Float32),
            Self::Int8 => None,
        }
    }

    /// The file name under `edge/<version>/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Float16 | Self::Float32 => "model.nnef.tgz",
            Self::Int8 => "model.onnx",
        }
    }
}

/// The edge model `publish` checked: what it is, its bytes, and how it scored.
#[derive(Clone, Debug)]
pub struct CheckedModel {
    /// Name and version from the model's metadata; SHA-256 of `bytes`.
    pub identity: ModelIdentity,
    /// Square input size.
    pub imgsz: u32,
    /// The file devices download.
    pub bytes: Vec<u8>,
    /// The float ONNX model on the val split (the reference).
    pub float: Metrics,
    /// The shipped model on the same split.
    pub device: Metrics,
    /// For the device format: largest raw box (px) and score differences against the float
    /// ONNX model on a probe input.
    pub export_diff: Option<(f32, f32)>,
}

/// What `device-model` wrote.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeviceModelSummary {
    /// The file written.
    pub out: String,
    /// Its size.
    pub bytes: u64,
    /// `float16` or `float32`.
    pub precision: &'static str,
    /// Largest raw box difference (input pixels) from the ONNX model on a probe input.
    pub max_box_diff_px: f32,
    /// Largest raw score difference on the same input.
    pub max_score_diff: f32,
}

/// Converts the ONNX model at `model` to the device format and writes it to `out`.
pub fn write_device_model(
    model: &Path,
    precision: EdgePrecision,
    out: &Path,
) -> Result<DeviceModelSummary> {
    let device_precision = precision.device().ok_or_else(|| {
        TrainerError::Input(
            "int8 is train.py's own ONNX export (model-int8.onnx); the device format is float16 or float32".into(),
        )
    })?;
    let onnx = std::fs::read(model)
        .map_err(|e| TrainerError::Input(format!("{}: {e}", model.display())))?;
    let export = device_model::export(&onnx, device_precision)
        .map_err(|e| TrainerError::Input(format!("{}: {e}", model.display())))?;
    omni_durable::write_atomic(out, &export.bytes)
        .map_err(|e| TrainerError::Input(format!("{}: {e}", out.display())))?;
    Ok(DeviceModelSummary {
        out: out.display().to_string(),
        bytes: export.bytes.len() as u64,
        precision: device_precision.as_str(),
        max_box_diff_px: export.max_box_diff_px,
        max_score_diff: export.max_score_diff,
    })
}

/// Options of `publish`.
#[derive(Clone, Debug)]
pub struct PublishOptions {
    /// What to ship.
    pub precision: EdgePrecision,
    /// The data set whose `val` split the gate runs on.
    pub data: PathBuf,
    /// The version expected: must equal the model's metadata version, which is published.
    pub version: Option<semver::Version>,
    /// Threads for tract.
    pub threads: usize,
}

/// What `publish` did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PublishSummary {
    /// The training job.
    pub job: String,
    /// The published manifest.
    pub manifest: ModelManifest,
    /// The version replaced, if any.
    pub previous_version: Option<String>,
    /// `s3://…/edge/<version>/model.onnx`.
    pub model_uri: String,
    /// `s3://…/edge/latest.json`.
    pub latest_uri: String,
    /// The signing key's id.
    pub key_id: String,
    /// Float model in our pipeline on the val split.
    pub float: Metrics,
    /// The shipped model (`manifest.precision`) in our pipeline on the val split.
    pub device: Metrics,
    /// The version of the data set the model was trained on (`dataset.json`), if recorded.
    pub dataset_version: Option<String>,
}

/// `<models_prefix>edge/latest.json`.
pub fn latest_uri(settings: &Settings) -> S3Uri {
    S3Uri {
        bucket: settings.bucket.clone(),
        key: format!("{}edge/latest.json", settings.models_prefix),
    }
}

/// The manifest inside an envelope, without checking its signature (only its version is used:
/// the key may have been rotated).
pub fn read_envelope(bytes: &[u8]) -> Result<ModelManifest> {
    let envelope: SignedManifest = serde_json::from_slice(bytes)
        .map_err(|e| TrainerError::Input(format!("latest.json: {e}")))?;
    let payload = STANDARD
        .decode(&envelope.payload)
        .map_err(|e| TrainerError::Input(format!("latest.json payload: {e}")))?;
    serde_json::from_slice(&payload)
        .map_err(|e| TrainerError::Input(format!("latest.json manifest: {e}")))
}

/// The version to publish: `requested`, else `current` with the minor bumped (0.1.0 first);
/// it must be newer than `current`.
pub fn next_version(
    current: Option<&semver::Version>,
    requested: Option<&semver::Version>,
) -> Result<semver::Version> {
    let version = match (requested, current) {
        (Some(v), _) => v.clone(),
        (None, Some(c)) => semver::Version::new(c.major, c.minor + 1, 0),
        (None, None) => semver::Version::new(0, 1, 0),
    };
    if let Some(c) = current
        && version <= *c
    {
        return Err(TrainerError::Input(format!(
            "version {version} is not newer than the published {c}"
        )));
    }
    Ok(version)
}

/// Makes the edge model of `precision` from `artifacts`, evaluates it and the float model on
/// the val split of `data` and applies the device gate.
pub fn check_models(
    artifacts: &Artifacts,
    data: &Path,
    threads: usize,
    precision: EdgePrecision,
) -> Result<CheckedModel> {
    let artifact = |name: &str| {
        artifacts
            .file(name)
            .ok_or_else(|| TrainerError::Input(format!("{}: no {name}", artifacts.uri)))
    };
    let float = artifact("model.onnx")?;
    let (bytes, export_diff) = match precision.device() {
        None => (artifact("model-int8.onnx")?.to_vec(), None),
        Some(device_precision) => {
            let export = device_model::export(float, device_precision)
                .map_err(|e| TrainerError::Gate(format!("the device model cannot be made: {e}")))?;
            let diff = (export.max_box_diff_px, export.max_score_diff);
            (export.bytes, Some(diff))
        }
    };
    let config = EdgeDetectorConfig {
        postprocess: PostprocessConfig::ultralytics_val(),
        threads,
        ..EdgeDetectorConfig::default()
    };
    let load = |bytes: &[u8], what: &str| {
        EdgeDetector::from_bytes(bytes, &config).map_err(|e| {
            TrainerError::Gate(format!("{what} model refused by the edge pipeline: {e}"))
        })
    };
    let device_detector = load(&bytes, precision.as_str())?;
    let float_detector = load(float, "float")?;
    let classes = device_detector.model().classes().to_vec();
    let eval = |d: &EdgeDetector| {
        evaluation::evaluate(d, data, &classes, |_, _| {})
            .map_err(|e| TrainerError::Input(format!("evaluation: {e}")))
    };
    let float_metrics = eval(&float_detector)?;
    if float_metrics.images == 0 {
        return Err(TrainerError::Input(format!(
            "{}: no val images to gate on",
            data.display()
        )));
    }
    let device_metrics = eval(&device_detector)?;
    evaluation::device_gate(precision.as_str(), &float_metrics, &device_metrics)
        .map_err(|e| TrainerError::Gate(e.to_string()))?;
    Ok(CheckedModel {
        identity: device_detector.identity().clone(),
        imgsz: device_detector.model().input_size(),
        bytes,
        float: float_metrics,
        device: device_metrics,
        export_diff,
    })
}

async fn put(clients: &Clients, uri: &S3Uri, bytes: Vec<u8>, content_type: &str) -> Result<()> {
    crate::aws::put_object(clients, &uri.bucket, &uri.key, bytes, content_type).await
}

/// Publishes `job`'s edge model in `options.precision`.
pub async fn publish(
    clients: &Clients,
    settings: &Settings,
    job: &str,
    key: &SigningKey,
    options: &PublishOptions,
) -> Result<PublishSummary> {
    let artifacts = artifacts::fetch(clients, job).await?;
    let dataset_version = artifacts::dataset_version(clients, job).await?;
    let training_metrics = artifacts.metrics().ok();
    let (data, threads, precision) = (options.data.clone(), options.threads, options.precision);
    let checked_artifacts = artifacts.clone();
    let checked = tokio::task::spawn_blocking(move || {
        check_models(&checked_artifacts, &data, threads, precision)
    })
    .await
    .map_err(|e| TrainerError::Input(format!("model check: {e}")))??;
    let CheckedModel {
        identity,
        imgsz,
        bytes: model_bytes,
        float,
        device,
        export_diff,
    } = checked;

    let latest = latest_uri(settings);
    let previous = match artifacts::get_optional(clients, &latest).await? {
        Some(bytes) => Some(read_envelope(&bytes)?),
        None => None,
    };
    // Devices accept a model only when its ONNX metadata names the manifest's name and
    // version (docs/model-refresh.md), so both come from the model itself; train.py stamps
    // them (`train --model-version`).
    let model_version = semver::Version::parse(&identity.version).map_err(|e| {
        TrainerError::Input(format!(
            "the model's metadata version {:?} is not semver ({e}); train with --model-version",
            identity.version
        ))
    })?;
    if let Some(requested) = &options.version
        && *requested != model_version
    {
        return Err(TrainerError::Input(format!(
            "--version {requested} differs from the version in the model's metadata ({model_version}); devices would refuse it"
        )));
    }
    let version = next_version(previous.as_ref().map(|m| &m.version), Some(&model_version))?;
    let sha256 = crate::dataset::hex(&Sha256::digest(&model_bytes));
    let file = format!("{version}/{}", precision.file_name());
    let model_uri = S3Uri {
        bucket: settings.bucket.clone(),
        key: format!("{}edge/{file}", settings.models_prefix),
    };
    let mut metrics = serde_json::Map::new();
    metrics.insert("mAP50".into(), float.map50.into());
    metrics.insert("mAP50-95".into(), float.map50_95.into());
    metrics.insert("device_mAP50".into(), device.map50.into());
    metrics.insert("device_mAP50-95".into(), device.map50_95.into());
    metrics.insert("val_images".into(), device.images.into());
    if let Some((boxes, scores)) = export_diff {
        metrics.insert("device_max_box_diff_px".into(), boxes.into());
        metrics.insert("device_max_score_diff".into(), scores.into());
    }
    if let Some(m) = training_metrics
        .as_ref()
        .and_then(|m| artifacts::metric(m, &["onnx", "int8", "mAP50-95"]))
        .filter(|_| precision == EdgePrecision::Int8)
    {
        metrics.insert("training_int8_mAP50-95".into(), m.into());
    }
    let manifest = ModelManifest {
        format: model_manifest::MANIFEST_FORMAT,
        name: identity.name.clone(),
        version: version.clone(),
        file,
        sha256,
        size: model_bytes.len() as u64,
        classes: crate::dataset::DAMAGE_CLASSES
            .iter()
            .map(|c| (*c).to_owned())
            .collect(),
        imgsz,
        precision: precision.as_str().into(),
        metrics,
        created_at: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        min_core_version: semver::Version::parse(env!("CARGO_PKG_VERSION"))
            .map_err(|e| TrainerError::Input(e.to_string()))?,
        training_job: Some(job.to_owned()),
    };
    let envelope = model_manifest::sign(&manifest, key)
        .map_err(|e| TrainerError::SigningKey(e.to_string()))?;
    let envelope_bytes =
        serde_json::to_vec_pretty(&envelope).map_err(|e| TrainerError::Input(e.to_string()))?;
    // What devices will do: verify with the pinned public key.
    let public = keys::public_key(key);
    model_manifest::verify(&envelope_bytes, std::slice::from_ref(&public))
        .map_err(|e| TrainerError::SigningKey(format!("self-check failed: {e}")))?;

    // The model first, then an archived copy of the manifest, then latest.json last.
    if let Some(existing) = artifacts::get_optional(clients, &model_uri).await?
        && Sha256::digest(&existing).as_slice() != Sha256::digest(&model_bytes).as_slice()
    {
        return Err(TrainerError::Input(format!(
            "{model_uri} exists with other content; choose another --version"
        )));
    }
    put(clients, &model_uri, model_bytes, "application/octet-stream").await?;
    let archived = S3Uri {
        bucket: settings.bucket.clone(),
        key: format!("{}edge/{version}/manifest.json", settings.models_prefix),
    };
    put(
        clients,
        &archived,
        envelope_bytes.clone(),
        "application/json",
    )
    .await?;
    put(clients, &latest, envelope_bytes, "application/json").await?;
    Ok(PublishSummary {
        job: job.to_owned(),
        manifest,
        previous_version: previous.map(|m| m.version.to_string()),
        model_uri: model_uri.to_string(),
        latest_uri: latest.to_string(),
        key_id: public.id().to_string(),
        float,
        device,
        dataset_version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        let v = |s: &str| semver::Version::parse(s).expect("semver");
        assert_eq!(next_version(None, None).expect("first"), v("0.1.0"));
        assert_eq!(
            next_version(Some(&v("0.1.3")), None).expect("bump"),
            v("0.2.0")
        );
        assert_eq!(
            next_version(Some(&v("0.1.0")), Some(&v("1.0.0"))).expect("explicit"),
            v("1.0.0")
        );
        assert!(next_version(Some(&v("0.2.0")), Some(&v("0.2.0"))).is_err());
        assert!(next_version(Some(&v("0.2.0")), Some(&v("0.1.9"))).is_err());
    }
}
