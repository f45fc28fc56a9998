//! `train`: packages the entry scripts, then starts a managed-spot SageMaker training job.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_sagemaker::types::{
    AlgorithmSpecification, Channel, CheckpointConfig, DataSource, MetricDefinition,
    OutputDataConfig, ResourceConfig, S3DataDistribution, S3DataSource, S3DataType,
    StoppingCondition, Tag, TrainingInputMode, TrainingInstanceType,
};
use serde::Serialize;

use crate::aws::{Clients, aws_error, describe, describe_training_job, is_not_found, put_object};
use crate::config::Settings;
use crate::error::{Result, TrainerError};
use crate::{images, names, sourcedir};

/// The seed plan's augmentation settings, passed to `train.py` explicitly.
pub const AUGMENTATION: [(&str, &str); 11] = [
    ("hsv_h", "0.015"),
    ("hsv_s", "0.7"),
    ("hsv_v", "0.4"),
    ("degrees", "20"),
    ("translate", "0.2"),
    ("scale", "0.9"),
    ("shear", "5"),
    ("flipud", "0.5"),
    ("fliplr", "0.5"),
    ("mosaic", "1.0"),
    ("mixup", "0.15"),
];

/// Options of `train` beyond the settings.
#[derive(Clone, Debug, Default)]
pub struct TrainOptions {
    /// Package this directory instead of the built-in entry scripts.
    pub source_dir: Option<std::path::PathBuf>,
    /// Extra or overriding hyperparameters (`name=value`).
    pub hyperparameters: Vec<String>,
    /// Version recorded in the exported models' metadata (what `publish` publishes); by
    /// default the published edge model's version with the minor bumped.
    pub model_version: Option<String>,
    /// The data set's version (`dataset.json` under the dataset prefix, written by `dataset
    /// merge`), sent as the hyperparameter `dataset-version`; `start` reads it from S3.
    pub dataset_version: Option<u32>,
}

/// A started job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StartedJob {
    /// The job name.
    pub job: String,
    /// Its ARN.
    pub arn: String,
    /// The packaged scripts.
    pub source: String,
    /// The training channel.
    pub training_data: String,
    /// Where `model.tar.gz` will be.
    pub output_path: String,
    /// Spot checkpoints.
    pub checkpoints: String,
    /// The training image.
    pub image: String,
    /// Hyperparameters as sent (JSON-encoded values, as the SageMaker SDK sends them).
    pub hyperparameters: BTreeMap<String, String>,
    /// The version of the data set trained on (`None`: it has no `dataset.json`).
    pub dataset_version: Option<u32>,
}

/// The hyperparameters sent to the job: JSON-encoded values, as the SageMaker Python SDK
/// encodes them for framework containers.
pub fn hyperparameters(
    settings: &Settings,
    job: &str,
    submit_dir: &str,
    region: &str,
    options: &TrainOptions,
) -> Result<BTreeMap<String, String>> {
    let mut hp: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    hp.insert("epochs".into(), settings.epochs.into());
    hp.insert("batch".into(), settings.batch.into());
    hp.insert("imgsz".into(), settings.imgsz.into());
    hp.insert("export-imgsz".into(), settings.export_imgsz.into());
    hp.insert("model-name".into(), settings.model_name.clone().into());
    if let Some(v) = &options.model_version {
        hp.insert("model-version".into(), v.clone().into());
    }
    if let Some(v) = options.dataset_version {
        hp.insert(DATASET_VERSION_HP.into(), v.to_string().into());
    }
    for (k, v) in AUGMENTATION {
        let number: f64 = v.parse().unwrap_or_default();
        hp.insert(k.into(), number.into());
    }
    for pair in &options.hyperparameters {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| TrainerError::Input(format!("--hp {pair:?}: expected NAME=VALUE")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
        hp.insert(k.trim().into(), value);
    }
    hp.insert("sagemaker_program".into(), sourcedir::PROGRAM.into());
    hp.insert("sagemaker_submit_directory".into(), submit_dir.into());
    hp.insert("sagemaker_region".into(), region.into());
    hp.insert("sagemaker_container_log_level".into(), 20.into());
    hp.insert("sagemaker_job_name".into(), job.into());
    Ok(hp.into_iter().map(|(k, v)| (k, v.to_string())).collect())
}

/// The hyperparameter recording the data set's version.
pub const DATASET_VERSION_HP: &str = "dataset-version";

/// The version in the data set's `dataset.json` under the dataset prefix, if it has one.
pub async fn dataset_version(clients: &Clients, settings: &Settings) -> Result<Option<u32>> {
    let uri = crate::s3uri::S3Uri {
        bucket: settings.bucket.clone(),
        key: format!(
            "{}{}",
            settings.dataset_prefix,
            crate::dataset::merge::DATASET_JSON
        ),
    };
    let Some(bytes) = crate::artifacts::get_optional(clients, &uri).await? else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| TrainerError::Input(format!("{uri}: line {}: {e}", e.line())))?;
    let version = value
        .get("version")
        .and_then(serde_json::Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| TrainerError::Input(format!("{uri}: no numeric \"version\"")))?;
    Ok(Some(version))
}

/// Whether a training job of that name exists.
pub async fn job_exists(clients: &Clients, job: &str) -> Result<bool> {
    match describe_training_job(clients, job).await {
        Ok(_) => Ok(true),
        Err(TrainerError::Aws { message, .. }) if is_not_found(&message) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Packages the scripts, uploads them and starts the job.
pub async fn start(
    clients: &Clients,
    settings: &Settings,
    options: &TrainOptions,
) -> Result<StartedJob> {
    let region = clients.region.clone();
    // The image first: a region without a published image is refused before any call.
    let image = match &settings.training_image {
        Some(image) => image.clone(),
        None => images::training_image(
            &region,
            &settings.framework_version,
            &settings.py_version,
            &settings.instance_type,
        )?,
    };
    let bucket = &settings.bucket;
    crate::aws::require_bucket(clients, bucket).await?;
    // The data set must be there before anything is created.
    let data_yaml = format!("{}data.yaml", settings.dataset_prefix);
    clients
        .s3
        .head_object()
        .bucket(bucket)
        .key(&data_yaml)
        .send()
        .await
        .map_err(|e| {
            let text = describe(&e);
            if e.as_service_error().is_some_and(|s| s.is_not_found()) || text.contains("NotFound") {
                TrainerError::Input(format!(
                    "s3://{bucket}/{data_yaml} not found: upload the data set first (omni-trainer dataset upload)"
                ))
            } else {
                TrainerError::Aws {
                    operation: "HeadObject",
                    message: text,
                }
            }
        })?;
    let job = names::unique(&settings.job_prefix, |name| async move {
        job_exists(clients, &name).await
    })
    .await?;
    let files = sourcedir::files(options.source_dir.as_deref().map(Path::new))?;
    let tarball = sourcedir::tar_gz(&files)?;
    let source_key = format!("{}{job}/sourcedir.tar.gz", settings.code_prefix);
    put_object(clients, bucket, &source_key, tarball, "application/gzip").await?;
    let source = format!("s3://{bucket}/{source_key}");
    // The version stamped into the exported models is what `publish` will publish: by
    // default the published edge model's version with the minor bumped (0.1.0 first).
    let mut options = options.clone();
    options.dataset_version = dataset_version(clients, settings).await?;
    if options.model_version.is_none() {
        let latest = crate::publish::latest_uri(settings);
        let current = match crate::artifacts::get_optional(clients, &latest).await? {
            Some(bytes) => Some(crate::publish::read_envelope(&bytes)?.version),
            None => None,
        };
        let next = crate::publish::next_version(current.as_ref(), None)?;
        options.model_version = Some(next.to_string());
    }
    let hp = hyperparameters(settings, &job, &source, &region, &options)?;
    let training_data = settings.dataset_uri();
    let output_path = format!("s3://{bucket}/{}", settings.output_prefix);
    let checkpoints = format!("s3://{bucket}/{}{job}/", settings.checkpoint_prefix);
    let created = clients
        .sagemaker
        .create_training_job()
        .training_job_name(&job)
        .role_arn(&settings.role_arn)
        .algorithm_specification(
            AlgorithmSpecification::builder()
                .training_image(&image)
                .training_input_mode(TrainingInputMode::File)
                .metric_definitions(
                    MetricDefinition::builder()
                        .name("float:mAP50-95")
                        .regex("float mAP50-95=([0-9.]+)")
                        .build(),
                )
                .build(),
        )
        .input_data_config(
            Channel::builder()
                .channel_name("training")
                .data_source(
                    DataSource::builder()
                        .s3_data_source(
                            S3DataSource::builder()
                                .s3_data_type(S3DataType::S3Prefix)
                                .s3_uri(&training_data)
                                .s3_data_distribution_type(S3DataDistribution::FullyReplicated)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .output_data_config(
            OutputDataConfig::builder()
                .s3_output_path(&output_path)
                .build(),
        )
        .resource_config(
            ResourceConfig::builder()
                .instance_type(TrainingInstanceType::from(settings.instance_type.as_str()))
                .instance_count(1)
                .volume_size_in_gb(30)
                .build(),
        )
        .stopping_condition(
            StoppingCondition::builder()
                .max_runtime_in_seconds(settings.max_runtime_s)
                .max_wait_time_in_seconds(settings.max_wait_s)
                .build(),
        )
        .enable_managed_spot_training(true)
        .checkpoint_config(
            CheckpointConfig::builder()
                .s3_uri(&checkpoints)
                .local_path("/opt/ml/checkpoints")
                .build(),
        )
        .set_hyper_parameters(Some(hp.clone().into_iter().collect()))
        .tags(
            Tag::builder()
                .key("omni:tool")
                .value("omni-trainer")
                .build(),
        )
        .tags(
            Tag::builder()
                .key("omni:dataset")
                .value(&training_data)
                .build(),
        )
        .send()
        .await
        .map_err(aws_error("CreateTrainingJob"))?;
    Ok(StartedJob {
        arn: created.training_job_arn().unwrap_or_default().to_owned(),
        job,
        source,
        training_data,
        output_path,
        checkpoints,
        image,
        hyperparameters: hp,
        dataset_version: options.dataset_version,
    })
}
