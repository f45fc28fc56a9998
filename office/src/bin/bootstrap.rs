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
//! The web view for people is served too when `OMNI_OFFICE_USER_POOL_ID` and
//! `OMNI_OFFICE_USER_POOL_CLIENT_ID` name the people's Cognito user pool (with
//! `OMNI_OFFICE_CSRF_KEY`; `AWS_ENDPOINT_URL` points Cognito at the emulator too). Which
//! router answers is chosen by the API Gateway resource the event came through: `/v1/{proxy+}`
//! (IAM-checked) reaches the API, every other resource (no authorizer) only the pages, so a
//! page route can never hand an unsigned request to the API.
//!
//! lambda_http builds the request path of a REST API event with the stage in front
//! (`/prod/v1/inspections`); the router serves the API's own paths, so requests are routed
//! on the event's path without the stage.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use omni_office::report::cli::NovaArgs;

use omni_cloud::runtime_client::RuntimeConfig;
use omni_cloud::{EnvCredentialsProvider, ServiceUrl};
use omni_office::detect::Detector;
use omni_office::store::aws::AwsStore;
use omni_office::web::cognito::{CognitoAccounts, CognitoArgs};
use omni_office::web::{self, WebConfig};
use omni_office::{AppConfig, router};

use lambda_http::RequestExt as _;
use lambda_http::Service as _;
use lambda_http::request::RequestContext;

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
    let store: Arc<dyn omni_office::store::Store> = Arc::new(store);
    let reports = Arc::new(NovaArgs::from_env()?.settings().await);
    let api = router(AppConfig {
        store: store.clone(),
        auth: None,
        detector,
        url_key: Vec::new(),
        url_ttl: Duration::from_secs(15 * 60),
        reports: reports.clone(),
    });
    let people = CognitoArgs::from_env().config(&region, emulator.as_deref())?;
    // Without a pool the pages are not served (404): there is nobody to sign in.
    let pages = match people {
        Some(pool) => web::router(
            WebConfig {
                store,
                accounts: Arc::new(CognitoAccounts::new(pool).await?),
                // API Gateway answers over https only.
                secure_cookies: true,
                reports,
            },
            Router::new(),
        ),
        None => Router::new(),
    };
    // Before the router, not inside it: the path is rewritten before routing.
    lambda_http::run(lambda_http::service_fn(move |request| {
        let mut app = if through_api_resource(&request) {
            api.clone()
        } else {
            pages.clone()
        };
        app.call(without_stage(request))
    }))
    .await
}

/// Whether the event came through the IAM-checked `/v1/{proxy+}` resource.
fn through_api_resource(request: &lambda_http::Request) -> bool {
    matches!(
        request.request_context_ref(),
        Some(RequestContext::ApiGatewayV1(context))
            if context.resource_path.as_deref() == Some("/v1/{proxy+}")
    )
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
