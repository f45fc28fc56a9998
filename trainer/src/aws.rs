//! AWS clients from the standard SDK configuration chain (environment, profiles, SSO,
//! instance roles), with the settings' region and endpoint overrides, and a count of the
//! HTTP requests actually sent, per method.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_sagemaker::operation::describe_training_job::DescribeTrainingJobOutput;

use crate::config::{DEFAULT_REGION, Settings};
use crate::error::{Result, TrainerError};

/// Counts the HTTP requests the SDK sends (every attempt, retries included), by method.
#[derive(Clone, Debug, Default)]
pub struct RequestCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl RequestCounter {
    /// Requests per HTTP method so far.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Requests of one method so far.
    pub fn count(&self, method: &str) -> u64 {
        self.snapshot().get(method).copied().unwrap_or(0)
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "omni-trainer request counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let method = context.request().method().to_owned();
        if let Ok(mut map) = self.0.lock() {
            *map.entry(method).or_default() += 1;
        }
        Ok(())
    }
}

/// The clients a command needs.
#[derive(Clone, Debug)]
pub struct Clients {
    /// S3.
    pub s3: aws_sdk_s3::Client,
    /// SageMaker control plane.
    pub sagemaker: aws_sdk_sagemaker::Client,
    /// SageMaker Runtime (`InvokeEndpoint`).
    pub runtime: aws_sdk_sagemakerruntime::Client,
    /// Requests sent by all three.
    pub requests: RequestCounter,
    /// The region in use.
    pub region: String,
}

/// Loads the SDK configuration, checks that credentials resolve (a typed
/// [`TrainerError::Credentials`] otherwise) and builds the clients.
pub async fn connect(settings: &Settings) -> Result<Clients> {
    connect_inner(settings, None).await
}

/// As [`connect`] with fixed credentials (emulators, tests) instead of the chain.
pub async fn connect_with_static_credentials(
    settings: &Settings,
    access_key_id: &str,
    secret_access_key: &str,
) -> Result<Clients> {
    let credentials = aws_credential_types::Credentials::new(
        access_key_id,
        secret_access_key,
        None,
        None,
        "omni-trainer-static",
    );
    connect_inner(settings, Some(credentials)).await
}

async fn connect_inner(
    settings: &Settings,
    credentials: Option<aws_credential_types::Credentials>,
) -> Result<Clients> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(credentials) = credentials {
        loader = loader.credentials_provider(credentials);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = &settings.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let mut sdk = loader.load().await;
    if sdk.region().is_none() {
        sdk = sdk
            .into_builder()
            .region(Region::new(DEFAULT_REGION))
            .build();
    }
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| TrainerError::Credentials("no credentials provider".into()))?;
    provider
        .provide_credentials()
        .await
        .map_err(|e| TrainerError::Credentials(DisplayErrorContext(&e).to_string()))?;
    let requests = RequestCounter::default();
    let s3 = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(settings.endpoint_url.is_some())
        .interceptor(requests.clone())
        .build();
    let mut sagemaker =
        aws_sdk_sagemaker::config::Builder::from(&sdk).interceptor(requests.clone());
    if let Some(url) = &settings.sagemaker_endpoint_url {
        sagemaker = sagemaker.endpoint_url(url);
    }
    let mut runtime =
        aws_sdk_sagemakerruntime::config::Builder::from(&sdk).interceptor(requests.clone());
    if let Some(url) = &settings.runtime_endpoint_url {
        runtime = runtime.endpoint_url(url);
    }
    Ok(Clients {
        s3: aws_sdk_s3::Client::from_conf(s3),
        sagemaker: aws_sdk_sagemaker::Client::from_conf(sagemaker.build()),
        runtime: aws_sdk_sagemakerruntime::Client::from_conf(runtime.build()),
        requests,
        region,
    })
}

/// Maps an SDK error to [`TrainerError::Aws`] with the service's code and message.
pub fn aws_error<E>(operation: &'static str) -> impl FnOnce(E) -> TrainerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    move |err| TrainerError::Aws {
        operation,
        message: describe(&err),
    }
}

/// `Code: message` of a service error, or the whole error chain otherwise.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(err).to_string(),
    }
}

/// Maps an S3 error, recognising a missing bucket.
pub fn s3_error<E>(operation: &'static str, bucket: &str) -> impl FnOnce(E) -> TrainerError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let bucket = bucket.to_owned();
    move |err| {
        if err.code() == Some("NoSuchBucket") {
            TrainerError::NoSuchBucket(bucket)
        } else {
            aws_error(operation)(err)
        }
    }
}

/// `PutObject` of `bytes` at `bucket`/`key` (the trainer's small, whole-body uploads: models,
/// source tarballs, job inputs; data sets go through `upload`'s multipart path).
pub async fn put_object(
    clients: &Clients,
    bucket: &str,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
) -> Result<()> {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .body(aws_sdk_s3::primitives::ByteStream::from(bytes))
        .send()
        .await
        .map_err(s3_error("PutObject", bucket))?;
    Ok(())
}

/// Whether a SageMaker error message says the named resource does not exist: SageMaker
/// answers `ValidationException: Could not find …` rather than a typed not-found error.
pub fn is_not_found(message: &str) -> bool {
    message.contains("ValidationException")
        || message.contains("not found")
        || message.contains("Could not find")
}

/// `DescribeTrainingJob` of `job` (the trainer's one call of it); a SageMaker error is a
/// [`TrainerError::Aws`] with the service's message (see [`is_not_found`]).
pub async fn describe_training_job(
    clients: &Clients,
    job: &str,
) -> Result<DescribeTrainingJobOutput> {
    clients
        .sagemaker
        .describe_training_job()
        .training_job_name(job)
        .send()
        .await
        .map_err(aws_error("DescribeTrainingJob"))
}

/// Checks that `bucket` exists and is reachable ([`TrainerError::NoSuchBucket`] otherwise).
pub async fn require_bucket(clients: &Clients, bucket: &str) -> Result<()> {
    match clients.s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => {
            Err(TrainerError::NoSuchBucket(bucket.to_owned()))
        }
        Err(e) => Err(s3_error("HeadBucket", bucket)(e)),
    }
}
