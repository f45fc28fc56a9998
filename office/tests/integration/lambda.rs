//! The `bootstrap` binary (the office's Lambda) run as Lambda runs it: it polls a Lambda
//! Runtime API on 127.0.0.1 (this file's emulator of its three routes) for API Gateway REST
//! proxy events shaped as the deployed API sends them (stage `prod`, a base64 JPEG body),
//! over DynamoDB and S3 on moto.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use omni_office::wire::DETECT_HEADER;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Mutex, mpsc};

use crate::aws::{Moto, store};
use crate::common::{CONTAINER, inspection, photo_headers};

const BOOTSTRAP: &str = env!("CARGO_BIN_EXE_bootstrap");

/// What the function sent back for one invocation.
#[derive(Debug)]
enum Outcome {
    Response(Value),
    Error(String),
}

struct Emulator {
    next: Mutex<mpsc::Receiver<(String, Value)>>,
    outcomes: mpsc::Sender<(String, Outcome)>,
}

/// `GET /2018-06-01/runtime/invocation/next`: the next event, as Lambda hands it over.
async fn next(State(emulator): State<Arc<Emulator>>) -> impl IntoResponse {
    let Some((id, event)) = emulator.next.lock().await.recv().await else {
        // The test is over: the function waits for ever, as on Lambda between events.
        return std::future::pending().await;
    };
    let deadline = omni_protocol::Timestamp::now().as_millis() + 30_000;
    (
        [
            ("lambda-runtime-aws-request-id", id),
            ("lambda-runtime-deadline-ms", deadline.to_string()),
            (
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:omni-office".to_owned(),
            ),
            (
                "lambda-runtime-trace-id",
                "Root=1-00000000-000000000000000000000000".to_owned(),
            ),
        ],
        event.to_string(),
    )
}

async fn response(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let outcome = match serde_json::from_slice(&body) {
        Ok(value) => Outcome::Response(value),
        Err(e) => Outcome::Error(format!(
            "not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )),
    };
    let _ = emulator.outcomes.send((id, outcome)).await;
    axum::http::StatusCode::ACCEPTED
}

async fn error(
    State(emulator): State<Arc<Emulator>>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> impl IntoResponse {
    let message = String::from_utf8_lossy(&body).into_owned();
    let _ = emulator.outcomes.send((id, Outcome::Error(message))).await;
    axum::http::StatusCode::ACCEPTED
}

async fn init_error(State(emulator): State<Arc<Emulator>>, body: Bytes) -> impl IntoResponse {
    let message = format!("init error: {}", String::from_utf8_lossy(&body));
    let _ = emulator
        .outcomes
        .send((String::new(), Outcome::Error(message)))
        .await;
    axum::http::StatusCode::ACCEPTED
}

/// The emulated Lambda service with the function's process attached.
pub(crate) struct Lambda {
    events: mpsc::Sender<(String, Value)>,
    outcomes: mpsc::Receiver<(String, Outcome)>,
    function: Child,
    invocations: u32,
}

impl Lambda {
    /// moto with a store of its own (table and bucket `omni-office-<tag>`) and the function
    /// over it: (moto, the function, table, bucket). `None` where the test venv is missing
    /// and its skip variable says to skip.
    pub(crate) async fn on_moto(tag: &str) -> Option<(Moto, Self, String, String)> {
        let python = omni_e2e::test_python()?;
        let moto = Moto::start(&python);
        store(&moto, tag).await; // creates the table and the bucket
        let (table, bucket) = (format!("omni-office-{tag}"), format!("omni-office-{tag}"));
        let lambda = Self::start_with(&moto, &table, &bucket, &[]).await;
        Some((moto, lambda, table, bucket))
    }

    /// The function with `env` added to its environment (e.g. the people's user pool).
    pub(crate) async fn start_with(
        moto: &Moto,
        table: &str,
        bucket: &str,
        env: &[(&str, &str)],
    ) -> Self {
        let (events, next_rx) = mpsc::channel(1);
        let (outcomes_tx, outcomes) = mpsc::channel(1);
        let emulator = Arc::new(Emulator {
            next: Mutex::new(next_rx),
            outcomes: outcomes_tx,
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(emulator);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let function = Command::new(BOOTSTRAP)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "omni-office")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("OMNI_OFFICE_TABLE", table)
            .env("OMNI_OFFICE_BUCKET", bucket)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Self {
            events,
            outcomes,
            function,
            invocations: 0,
        }
    }

    /// Invokes the function with `event`; its API Gateway proxy response.
    pub(crate) async fn invoke(&mut self, event: Value) -> Value {
        self.invocations += 1;
        let id = format!("request-{}", self.invocations);
        self.events.send((id.clone(), event)).await.unwrap();
        let (answered, outcome) =
            tokio::time::timeout(Duration::from_secs(60), self.outcomes.recv())
                .await
                .expect("the function answered within 60 s")
                .unwrap();
        match outcome {
            Outcome::Response(value) => {
                assert_eq!(answered, id, "the answer is for this invocation");
                value
            }
            Outcome::Error(message) => panic!("the function failed: {message}"),
        }
    }

    /// Invokes `method path` with `body` as JSON (`content-type: application/json`).
    pub(crate) async fn invoke_json(
        &mut self,
        method: &str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Value {
        let json = serde_json::to_vec(body).unwrap();
        let json_type = [("content-type", "application/json")];
        self.invoke(event(method, path, &json_type, Some(&json)))
            .await
    }

    /// `PUT path` with the JPEG `photo`: its hash, not to be detected, and `more` headers.
    pub(crate) async fn put_photo(
        &mut self,
        path: &str,
        photo: &[u8],
        more: &[(&str, &str)],
    ) -> Value {
        let sha = hex::encode(Sha256::digest(photo));
        let mut headers = photo_headers(&sha, &[(DETECT_HEADER, "false")]);
        headers.extend_from_slice(more);
        self.invoke(event("PUT", path, &headers, Some(photo))).await
    }
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
    }
}

/// An API Gateway REST proxy event for `method path` on stage `prod`, as the deployed
/// template's resources send it: `/v1/{proxy+}` for the API, `/` and `/{proxy+}` for the
/// pages. A binary body is base64, as API Gateway encodes the template's binary media types.
pub(crate) fn event(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Value {
    let (path, query) = path_and_query
        .split_once('?')
        .map_or((path_and_query, None), |(p, q)| (p, Some(q)));
    let query: Option<serde_json::Map<String, Value>> = query.map(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect()
    });
    let mut all: Vec<(&str, &str)> = vec![
        ("host", "office1.execute-api.us-east-1.amazonaws.com"),
        ("x-forwarded-proto", "https"),
    ];
    // API Gateway picks the most specific resource.
    let (resource, proxy) = match path.strip_prefix("/v1/") {
        Some(rest) => ("/v1/{proxy+}", Some(rest)),
        None if path == "/" => ("/", None),
        None => ("/{proxy+}", Some(path.trim_start_matches('/'))),
    };
    all.extend_from_slice(headers);
    let binary = headers
        .iter()
        .any(|(k, v)| *k == "content-type" && v.starts_with("image/"));
    let single: serde_json::Map<String, Value> = all
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    let multi: serde_json::Map<String, Value> = all
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!([v])))
        .collect();
    let body = body.map(|b| {
        if binary {
            STANDARD.encode(b)
        } else {
            String::from_utf8(b.to_vec()).unwrap()
        }
    });
    let multi_query = query.as_ref().map(|q| {
        q.iter()
            .map(|(k, v)| (k.clone(), json!([v])))
            .collect::<serde_json::Map<_, _>>()
    });
    json!({
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": proxy.map(|p| json!({"proxy": p})),
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "prod",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "omni-inspector"},
            "resourcePath": resource,
            "httpMethod": method,
            "apiId": "office1",
            "path": format!("/prod{path}"),
            "protocol": "HTTP/1.1",
            "domainName": "office1.execute-api.us-east-1.amazonaws.com",
        },
        "body": body,
        "isBase64Encoded": binary,
    })
}

pub(crate) fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().unwrap()
}

pub(crate) fn body_json(response: &Value) -> Value {
    let body = response["body"].as_str().unwrap_or_default();
    let bytes = if response["isBase64Encoded"].as_bool() == Some(true) {
        STANDARD.decode(body).unwrap()
    } else {
        body.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_serves_api_gateway_events_over_dynamodb_and_s3() {
    let Some((moto, mut lambda, _, _)) = Lambda::on_moto("lambda").await else {
        return;
    };

    let created = lambda
        .invoke_json(
            "PUT",
            "/v1/inspections/insp-1",
            &inspection(CONTAINER, 1_700_000_000_000, 1),
        )
        .await;
    assert_eq!(status(&created), 201, "{created}");

    // A photo: base64 through API Gateway, stored in S3, its record in DynamoDB.
    let photo = omni_e2e::jpeg(320, 240, 11);
    let path = "/v1/inspections/insp-1/photos/p1";
    let uploaded = lambda.put_photo(path, &photo, &[]).await;
    assert_eq!(status(&uploaded), 201, "{uploaded}");
    assert_eq!(
        body_json(&uploaded)["photo"]["sha256"],
        hex::encode(Sha256::digest(&photo))
    );
    let repeated = lambda.put_photo(path, &photo, &[]).await;
    assert_eq!(status(&repeated), 200, "a repeat is a no-op: {repeated}");

    // The office's reads: by container (the GSI), and one inspection with a presigned URL
    // that serves the very bytes.
    let listed = lambda
        .invoke(event(
            "GET",
            &format!("/v1/inspections?container={CONTAINER}"),
            &[],
            None,
        ))
        .await;
    assert_eq!(status(&listed), 200, "{listed}");
    let listed = body_json(&listed);
    assert_eq!(
        listed["inspections"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    assert_eq!(listed["inspections"][0]["photo_count"], 1);
    let detail = lambda
        .invoke(event("GET", "/v1/inspections/insp-1", &[], None))
        .await;
    assert_eq!(status(&detail), 200, "{detail}");
    let url = body_json(&detail)["photos"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        url.starts_with(&moto.url),
        "presigned on the S3 endpoint: {url}"
    );
    let fetched = reqwest::get(&url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), photo.as_slice());

    // Bad input is an AWS-style 4xx through the Lambda too, and stores nothing.
    let mut bad = inspection(CONTAINER, 1_700_000_000_000, 1);
    bad.container_number = "CSQU3054384".into();
    let refused = lambda
        .invoke_json("PUT", "/v1/inspections/insp-2", &bad)
        .await;
    assert_eq!(status(&refused), 400, "{refused}");
    assert_eq!(body_json(&refused)["__type"], "ValidationException");
    let missing = lambda
        .invoke(event("GET", "/v1/inspections/insp-2", &[], None))
        .await;
    assert_eq!(status(&missing), 404, "{missing}");
}
