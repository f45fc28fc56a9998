//! `deploy`: promotion gate, then the training job's model behind the serverless endpoint
//! (`CreateModel` → `CreateEndpointConfig` with `ServerlessConfig` → `CreateEndpoint` or
//! `UpdateEndpoint`), wait for `InService`, and a smoke `InvokeEndpoint` with a sample photo.
//!
//! The deployed model's accuracy is recorded as tags of the endpoint (`omni:map50-95`,
//! `omni:training-job`): the gate compares the new job's float mAP50-95 (its `metrics.json`)
//! with that tag and refuses a worse model unless forced.

use std::time::{Duration, Instant};

use aws_sdk_sagemaker::types::{
    ContainerDefinition, EndpointStatus, ProductionVariant, ProductionVariantServerlessConfig, Tag,
};
use aws_sdk_sagemakerruntime::primitives::Blob;
use serde::Serialize;

use crate::artifacts::{self, metric};
use crate::aws::{Clients, aws_error, describe, is_not_found, put_object};
use crate::config::Settings;
use crate::error::{Result, TrainerError};
use crate::smoke;
use crate::wait::Backoff;
use crate::{images, names, sourcedir};
use omni_core::Detections;

/// Tag holding the deployed model's float mAP50-95.
pub const TAG_MAP: &str = "omni:map50-95";
/// Tag holding the deployed model's training job.
pub const TAG_JOB: &str = "omni:training-job";

/// Options of `deploy`.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    /// Deploy even if the gate refuses.
    pub force: bool,
    /// Photo for the smoke test (default: a built-in sample).
    pub sample: Option<Vec<u8>>,
    /// Skip the smoke test.
    pub skip_smoke: bool,
    /// Polling of the endpoint status.
    pub backoff: Backoff,
}

/// What `deploy` did.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeploySummary {
    /// The training job deployed.
    pub job: String,
    /// The endpoint.
    pub endpoint: String,
    /// `created` or `updated`.
    pub action: String,
    /// The SageMaker model.
    pub model: String,
    /// The endpoint config.
    pub endpoint_config: String,
    /// The repacked `model.tar.gz` (weights + `code/inference.py`).
    pub model_data: String,
    /// The new model's float mAP50-95.
    pub map50_95: f64,
    /// The replaced model's, when known.
    pub previous_map50_95: Option<f64>,
    /// Seconds until `InService`.
    pub wait_seconds: f64,
    /// The smoke test's answer.
    pub smoke: Option<Detections>,
    /// The version of the data set the model was trained on (`dataset.json`), if recorded.
    pub dataset_version: Option<String>,
}

/// The endpoint's ARN and tags, if it exists.
async fn endpoint_state(
    clients: &Clients,
    endpoint: &str,
) -> Result<Option<(String, Vec<(String, String)>)>> {
    let d = match clients
        .sagemaker
        .describe_endpoint()
        .endpoint_name(endpoint)
        .send()
        .await
    {
        Ok(d) => d,
        Err(e) => {
            let text = describe(&e);
            if is_not_found(&text) {
                return Ok(None);
            }
            return Err(TrainerError::Aws {
                operation: "DescribeEndpoint",
                message: text,
            });
        }
    };
    let arn = d.endpoint_arn().unwrap_or_default().to_owned();
    let tags = clients
        .sagemaker
        .list_tags()
        .resource_arn(&arn)
        .send()
        .await
        .map_err(aws_error("ListTags"))?;
    let tags = tags
        .tags()
        .iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_owned(),
                t.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Ok(Some((arn, tags)))
}

/// The promotion gate: `new` must be at least `deployed`.
pub fn gate(new: f64, deployed: Option<f64>, force: bool) -> Result<()> {
    match deployed {
        Some(old) if new < old && !force => Err(TrainerError::Gate(format!(
            "new mAP50-95 {new:.4} is below the deployed model's {old:.4} (use --force to deploy anyway)"
        ))),
        _ => Ok(()),
    }
}

/// Deploys `job`.
pub async fn deploy(
    clients: &Clients,
    settings: &Settings,
    job: &str,
    options: &DeployOptions,
) -> Result<DeploySummary> {
    let endpoint = &settings.endpoint_name;
    // The image first: a region without a published image is refused before any call.
    let image = match &settings.inference_image {
        Some(image) => image.clone(),
        None => images::inference_image(
            &clients.region,
            &settings.framework_version,
            &settings.py_version,
        )?,
    };
    let artifacts = artifacts::fetch(clients, job).await?;
    let dataset_version = artifacts::dataset_version(clients, job).await?;
    let metrics = artifacts.metrics()?;
    let map = metric(&metrics, &["onnx", "float", "mAP50-95"]).ok_or_else(|| {
        TrainerError::Input(format!(
            "{}: metrics.json has no onnx.float.mAP50-95",
            artifacts.uri
        ))
    })?;
    if artifacts.file("best.pt").is_none() {
        return Err(TrainerError::Input(format!(
            "{}: no best.pt to serve",
            artifacts.uri
        )));
    }
    let existing = endpoint_state(clients, endpoint).await?;
    let previous = existing
        .as_ref()
        .and_then(|(_, tags)| tags.iter().find(|(k, _)| k == TAG_MAP))
        .and_then(|(_, v)| v.parse::<f64>().ok());
    gate(map, previous, options.force)?;

    // Repack: the training outputs plus the inference handler under code/.
    let mut files = artifacts.files.clone();
    files.retain(|(n, _)| !n.starts_with("code/"));
    files.push(("code/inference.py".into(), sourcedir::INFERENCE_PY.to_vec()));
    files.push((
        "code/requirements.txt".into(),
        sourcedir::INFERENCE_REQUIREMENTS_TXT.to_vec(),
    ));
    let tarball = sourcedir::tar_gz(&files)?;
    let model = names::unique(
        &format!("{}-{}", settings.job_prefix, "model"),
        |name| async move {
            Ok(clients
                .sagemaker
                .describe_model()
                .model_name(name)
                .send()
                .await
                .is_ok())
        },
    )
    .await?;
    let config = format!("{model}-cfg");
    if clients
        .sagemaker
        .describe_endpoint_config()
        .endpoint_config_name(&config)
        .send()
        .await
        .is_ok()
    {
        return Err(TrainerError::Input(format!(
            "endpoint config {config} already exists"
        )));
    }
    let bucket = &settings.bucket;
    let key = format!("{}endpoint/{model}/model.tar.gz", settings.models_prefix);
    put_object(clients, bucket, &key, tarball, "application/gzip").await?;
    let model_data = format!("s3://{bucket}/{key}");
    clients
        .sagemaker
        .create_model()
        .model_name(&model)
        .execution_role_arn(&settings.role_arn)
        .primary_container(
            ContainerDefinition::builder()
                .image(&image)
                .model_data_url(&model_data)
                .environment("SAGEMAKER_PROGRAM", "inference.py")
                .environment("SAGEMAKER_SUBMIT_DIRECTORY", "/opt/ml/model/code")
                .environment("SAGEMAKER_CONTAINER_LOG_LEVEL", "20")
                .environment("SAGEMAKER_REGION", &clients.region)
                .build(),
        )
        .tags(Tag::builder().key(TAG_JOB).value(job).build())
        .send()
        .await
        .map_err(aws_error("CreateModel"))?;
    clients
        .sagemaker
        .create_endpoint_config()
        .endpoint_config_name(&config)
        .production_variants(
            ProductionVariant::builder()
                .variant_name("AllTraffic")
                .model_name(&model)
                .serverless_config(
                    ProductionVariantServerlessConfig::builder()
                        .memory_size_in_mb(settings.serverless_memory_mb)
                        .max_concurrency(settings.serverless_max_concurrency)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(aws_error("CreateEndpointConfig"))?;
    let tags = vec![
        Tag::builder()
            .key(TAG_MAP)
            .value(format!("{map:.6}"))
            .build(),
        Tag::builder().key(TAG_JOB).value(job).build(),
    ];
    let action = match &existing {
        None => {
            clients
                .sagemaker
                .create_endpoint()
                .endpoint_name(endpoint)
                .endpoint_config_name(&config)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(aws_error("CreateEndpoint"))?;
            "created"
        }
        Some((arn, _)) => {
            clients
                .sagemaker
                .update_endpoint()
                .endpoint_name(endpoint)
                .endpoint_config_name(&config)
                .send()
                .await
                .map_err(aws_error("UpdateEndpoint"))?;
            clients
                .sagemaker
                .add_tags()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .map_err(aws_error("AddTags"))?;
            "updated"
        }
    };
    let started = Instant::now();
    wait_in_service(clients, endpoint, &config, &options.backoff).await?;
    let wait_seconds = started.elapsed().as_secs_f64();
    let smoke = if options.skip_smoke {
        None
    } else {
        let sample = options.sample.as_deref().unwrap_or(smoke::SAMPLE_JPEG);
        Some(smoke_test(clients, endpoint, sample).await?)
    };
    Ok(DeploySummary {
        job: job.to_owned(),
        endpoint: endpoint.clone(),
        action: action.into(),
        model,
        endpoint_config: config,
        model_data,
        map50_95: map,
        previous_map50_95: previous,
        wait_seconds,
        smoke,
        dataset_version,
    })
}

/// Polls until the endpoint is `InService` on `config`.
pub async fn wait_in_service(
    clients: &Clients,
    endpoint: &str,
    config: &str,
    backoff: &Backoff,
) -> Result<()> {
    let started = Instant::now();
    let mut interval = backoff.initial;
    loop {
        let d = clients
            .sagemaker
            .describe_endpoint()
            .endpoint_name(endpoint)
            .send()
            .await
            .map_err(aws_error("DescribeEndpoint"))?;
        let status = d.endpoint_status().cloned();
        match status {
            Some(EndpointStatus::InService) if d.endpoint_config_name() == Some(config) => {
                return Ok(());
            }
            Some(EndpointStatus::Failed) => {
                return Err(TrainerError::Aws {
                    operation: "DescribeEndpoint",
                    message: format!(
                        "endpoint {endpoint} Failed: {}",
                        d.failure_reason().unwrap_or("no FailureReason given")
                    ),
                });
            }
            _ => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= backoff.timeout {
            return Err(TrainerError::Timeout {
                what: format!("endpoint {endpoint}"),
                status: status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
                seconds: elapsed.as_secs(),
            });
        }
        tokio::time::sleep(
            interval
                .min(backoff.timeout - elapsed)
                .max(Duration::from_millis(1)),
        )
        .await;
        interval = backoff.next(interval);
    }
}

/// Sends `photo` to the endpoint and checks the answer is our documented JSON.
pub async fn smoke_test(clients: &Clients, endpoint: &str, photo: &[u8]) -> Result<Detections> {
    let (width, height) = smoke::dimensions(photo)?;
    let content_type = if photo.starts_with(b"\x89PNG") {
        "image/png"
    } else {
        "image/jpeg"
    };
    let out = clients
        .runtime
        .invoke_endpoint()
        .endpoint_name(endpoint)
        .content_type(content_type)
        .accept("application/json")
        .body(Blob::new(photo))
        .send()
        .await
        .map_err(|e| TrainerError::Smoke(format!("InvokeEndpoint: {}", describe(&e))))?;
    let body = out.body().map(|b| b.as_ref().to_vec()).unwrap_or_default();
    smoke::check_response(&body, width, height)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_rules() {
        assert!(gate(0.3, None, false).is_ok());
        assert!(gate(0.3, Some(0.3), false).is_ok());
        assert!(gate(0.29, Some(0.3), false).is_err());
        assert!(gate(0.29, Some(0.3), true).is_ok());
    }
}
