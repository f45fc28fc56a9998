//! The Lambda entry point (feature `lambda`): API Gateway proxy events into the same router
//! `omni-office serve` runs, over the AWS store. API Gateway's IAM authorizer has checked the
//! SigV4 signature (service `execute-api`) before the event reaches this function.
//!
//! Environment (office/template.yaml sets it): `OMNI_OFFICE_TABLE`, `OMNI_OFFICE_BUCKET`,
//! `AWS_REGION`, and for detection on upload `OMNI_ENDPOINT_NAME` (with
//! `OMNI_DETECT_BY_DEFAULT=true` to detect uploads that do not say, and
//! `OMNI_DETECT_BUDGET_MS`, default 8000). `AWS_ENDPOINT_URL`, when set, points DynamoDB and
//! S3 at an emulator (moto, LocalStack; path-style S3), as the tests do.
//!
//! lambda_http builds the request path of a REST API event with the stage in front
//! (`/prod/v1/inspections`); the router serves the API's own paths, so requests are routed
//! on the event's path without the stage.

use omni_office::report::cli::NovaArgs;
use std::sync::Arc;
use std::time::Duration;

use omni_cloud::runtime_client::RuntimeConfig;
use omni_cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_office::detect::Detector;
use omni_office::store::aws::AwsStore;
use omni_office::{AppConfig, router};

use lambda_http::RequestExt as _;
use lambda_http::Service as _;

fn env(name: &str) -> Result<String, lambda_http::Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let region = env("AWS_REGION")?;
    let emulator = std::env::var("AWS_ENDPOINT_URL").ok();
    let store = AwsStore::from_env(
        &region,
        emulator.as_deref(),
        &env("OMNI_OFFICE_TABLE")?,
        &env("OMNI_OFFICE_BUCKET")?,
    )
    .await;
    let detector = match std::env::var("OMNI_ENDPOINT_NAME") {
        Ok(name) => {
            // The function's role credentials, from the variables Lambda sets.
            let credentials = EnvCredentialsProvider::read()?;
            let budget_ms = std::env::var("OMNI_DETECT_BUDGET_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(8000);
            Some(Detector::new(
                RuntimeConfig::new(ServiceUrl::sagemaker_runtime(&region)?, &name, &region),
                credentials,
                Duration::from_millis(budget_ms),
                std::env::var("OMNI_DETECT_BY_DEFAULT").is_ok_and(|v| v == "true"),
            )?)
        }
        Err(_) => None,
    };
    let app = router(AppConfig {
        store: Arc::new(store),
        auth: None,
        detector,
        url_key: Vec::new(),
        url_ttl: Duration::from_secs(15 * 60),
        reports: Arc::new(NovaArgs::from_env()?.settings().await),
    });
    // Before the router, not inside it: the path is rewritten before routing.
    lambda_http::run(lambda_http::service_fn(move |request| {
        let mut app = app.clone();
        app.call(without_stage(request))
    }))
    .await
}

/// The request with the event's own path (no stage), its query kept.
fn without_stage(mut request: lambda_http::Request) -> lambda_http::Request {
    let path = request.raw_http_path();
    if !path.is_empty() {
        let uri = match request.uri().query() {
            Some(query) => format!("{path}?{query}"),
            None => path.to_owned(),
        };
        if let Ok(uri) = uri.parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}
