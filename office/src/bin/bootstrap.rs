//! The Lambda entry point (feature `lambda`): API Gateway proxy events into the same router
//! `omni-office serve` runs, over the AWS store. API Gateway's IAM authorizer has checked the
//! SigV4 signature (service `execute-api`) before the event reaches this function.
//!
//! Environment (office/template.yaml sets it): `OMNI_OFFICE_TABLE`, `OMNI_OFFICE_BUCKET`,
//! `AWS_REGION`, and for detection on upload `OMNI_ENDPOINT_NAME` (with
//! `OMNI_DETECT_BY_DEFAULT=true` to detect uploads that do not say, and
//! `OMNI_DETECT_BUDGET_MS`, default 8000).

use std::sync::Arc;
use std::time::Duration;

use omni_core::cloud::runtime_client::RuntimeConfig;
use omni_core::cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_office::detect::Detector;
use omni_office::store::aws::AwsStore;
use omni_office::{AppConfig, router};

fn env(name: &str) -> Result<String, lambda_http::Error> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    let region = env("AWS_REGION")?;
    let store = AwsStore::from_env(
        &region,
        None,
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
    });
    lambda_http::run(app).await
}
