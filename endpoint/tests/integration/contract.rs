//! The endpoint's HTTP contract on a real socket: the container routes, AWS-shaped errors,
//! the model-not-ready window, restarts, SigV4 as strict as AWS on both invocation routes,
//! and serverless behaviour (MaxConcurrency, cold starts).

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::Cursor;
use std::time::{Duration, SystemTime};

use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice, RunningEndpoint, ServerlessConfig};
use omni_protocol::response;
use omni_sigv4::test_sign::signature_headers;
use omni_sigv4::{Credentials, SigV4Scope};

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 40]));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut out), 90)
        .encode_image(&img)
        .unwrap();
    out
}

const NAME: &str = "omni-inspector-yolo";
const REGION: &str = "us-east-1";

async fn start(model: ModelChoice, faults: FaultConfig) -> RunningEndpoint {
    start_with(model, faults, None).await
}

async fn start_with(
    model: ModelChoice,
    faults: FaultConfig,
    credentials: Option<Credentials>,
) -> RunningEndpoint {
    omni_endpoint::start(EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoint_name: NAME.into(),
        region: REGION.into(),
        credentials,
        model,
        faults,
    })
    .await
    .unwrap()
}

fn credentials(key: &str) -> Credentials {
    Credentials {
        access_key_id: key.into(),
        secret_access_key: "contract-secret".into(),
        session_token: Some("contract-token".into()),
        expires_at: None,
    }
}

/// The SigV4 headers for a POST of `body` to `url`, signed by `signer` for `scope` at `time`.
fn sign(
    url: &str,
    signer: &Credentials,
    scope: &SigV4Scope,
    body: &[u8],
    time: SystemTime,
) -> Vec<(String, String)> {
    signature_headers(
        scope,
        signer,
        "POST",
        url,
        &[("content-type", "image/jpeg")],
        body,
        time,
    )
}

/// POSTs `body` with `headers` (and `content-type: image/jpeg`); returns status and error type.
async fn post_with(
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
) -> (u16, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(url)
        .header("content-type", "image/jpeg")
        .body(body);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let kind = omni_e2e::aws_error::error_type(response.headers());
    (response.status().as_u16(), kind)
}

async fn post(url: &str, body: Vec<u8>) -> (u16, Option<String>, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap();
    let kind = omni_e2e::aws_error::error_type(response.headers());
    (
        response.status().as_u16(),
        kind,
        response.bytes().await.unwrap().to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_contract_and_errors() {
    let endpoint = start(ModelChoice::Bundled, FaultConfig::default()).await;
    let base = endpoint.url();
    let ping = reqwest::get(format!("{base}/ping")).await.unwrap();
    assert_eq!(ping.status().as_u16(), 200);

    let (status, _, body) = post(&format!("{base}/invocations"), jpeg(320, 240)).await;
    assert_eq!(status, 200);
    let detections = response::parse(&body, (320, 240), (320, 240)).unwrap();
    assert_eq!(detections.model.name, "yolo11n-omni-damage-demo");

    let (status, kind, body) = post(&format!("{base}/invocations"), b"not an image".to_vec()).await;
    assert_eq!((status, kind.as_deref()), (400, Some("ValidationError")));
    let message: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(
        message["message"]
            .as_str()
            .unwrap()
            .contains("unsupported image")
    );

    let (status, kind, _) = post(&format!("{base}/endpoints/other/invocations"), jpeg(8, 8)).await;
    assert_eq!((status, kind.as_deref()), (400, Some("ValidationError")));

    let mut big = jpeg(16, 16);
    big.resize(5 * 1024 * 1024, 0);
    let (status, kind, _) = post(&format!("{base}/invocations"), big).await;
    assert_eq!((status, kind.as_deref()), (400, Some("ValidationError")));

    let stats = reqwest::get(format!("{base}/_omni/stats"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["answered"], 1);
    assert_eq!(stats["errors"]["ValidationError"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_not_ready_window_then_answers() {
    let faults = FaultConfig {
        not_ready_for: Duration::from_millis(400),
        ..FaultConfig::default()
    };
    let started = std::time::Instant::now();
    let endpoint = start(ModelChoice::Null, faults).await;
    let url = format!("{}/invocations", endpoint.url());
    let (status, kind, _) = post(&url, jpeg(8, 8)).await;
    assert_eq!(
        (status, kind.as_deref()),
        (429, Some("ModelNotReadyException"))
    );
    // Every answer is ModelNotReadyException until the window ends, then it answers: never
    // before the 400 ms (counted from the endpoint's start, after `started`).
    let url = &url;
    omni_e2e::wait_until_async(
        "an answer after the not-ready window",
        Duration::from_secs(30),
        Duration::from_millis(20),
        || async move {
            match post(url, jpeg(8, 8)).await {
                (200, _, _) => true,
                (429, Some(kind), _) if kind == "ModelNotReadyException" => false,
                (status, kind, _) => panic!("in the not-ready window: {status} {kind:?}"),
            }
        },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "answered {:?} after the start, within the not-ready window",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_drops_connections_and_serves_again_on_the_same_port() {
    let endpoint = start(ModelChoice::Null, FaultConfig::default()).await;
    let url = format!("{}/invocations", endpoint.url());
    assert_eq!(post(&url, jpeg(8, 8)).await.0, 200);
    let restart = endpoint.restart(Duration::from_millis(300));
    // Once the restart has begun (counted), requests fail until the port is open again: the
    // probe retries until one fails, which must happen while the port is down.
    let probe = async {
        let url = &url;
        omni_e2e::wait_until_async(
            "the restart to begin",
            Duration::from_secs(30),
            Duration::from_millis(2),
            || async { endpoint.stats().restarts == 1 },
        )
        .await;
        omni_e2e::wait_until_async(
            "a request refused while the port is closed for the restart",
            Duration::from_secs(30),
            Duration::from_millis(5),
            || async move {
                reqwest::Client::new()
                    .post(url)
                    .body(jpeg(8, 8))
                    .send()
                    .await
                    .is_err()
            },
        )
        .await;
    };
    tokio::join!(restart, probe);
    assert_eq!(post(&url, jpeg(8, 8)).await.0, 200);
    assert_eq!(endpoint.stats().restarts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_invocation_routes_need_a_signature_that_covers_scope_and_body() {
    let server = credentials("AKIDCONTRACT");
    let endpoint = start_with(
        ModelChoice::Null,
        FaultConfig::default(),
        Some(server.clone()),
    )
    .await;
    let base = endpoint.url();
    let runtime = format!("{base}/endpoints/{NAME}/invocations");
    let container = format!("{base}/invocations");
    let sagemaker = SigV4Scope::sagemaker(REGION);
    let body = jpeg(8, 8);
    let now = SystemTime::now();
    let refused = |error_type: &str| (403, Some(error_type.to_owned()));

    // Correctly signed, on either route: answered.
    for url in [&runtime, &container] {
        let headers = sign(url, &server, &sagemaker, &body, now);
        assert_eq!(
            post_with(url, &headers, body.clone()).await,
            (200, None),
            "{url}"
        );
    }
    // The container route without a signature, now that credentials are configured.
    assert_eq!(
        post_with(&container, &[], body.clone()).await,
        refused("MissingAuthenticationToken")
    );
    // A body other than the one signed, on either route.
    for url in [&runtime, &container] {
        let headers = sign(url, &server, &sagemaker, &body, now);
        assert_eq!(
            post_with(url, &headers, jpeg(8, 9)).await,
            refused("InvalidSignatureException"),
            "{url}"
        );
    }
    // A credential scope dated the day before X-Amz-Date (which is fresh).
    let today = sign(&runtime, &server, &sagemaker, &body, now);
    let yesterday = sign(
        &runtime,
        &server,
        &sagemaker,
        &body,
        now - Duration::from_secs(86_400),
    );
    let scope_day = |headers: &[(String, String)]| {
        let auth = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        auth.split('/').nth(1).unwrap().to_owned()
    };
    let (day, day_before) = (scope_day(&today), scope_day(&yesterday));
    let mut other_day = today.clone();
    for (name, value) in &mut other_day {
        if name == "authorization" {
            *value = value.replace(&format!("/{day}/"), &format!("/{day_before}/"));
        }
    }
    assert_eq!(
        post_with(&runtime, &other_day, body.clone()).await,
        refused("InvalidSignatureException")
    );
    // Scoped to another region, or another service (correctly signed for that scope).
    for scope in [
        SigV4Scope::sagemaker("eu-west-1"),
        SigV4Scope {
            region: REGION.into(),
            service: "execute-api".into(),
        },
    ] {
        let headers = sign(&runtime, &server, &scope, &body, now);
        assert_eq!(
            post_with(&runtime, &headers, body.clone()).await,
            refused("InvalidSignatureException"),
            "{scope:?}"
        );
    }
    // A malformed Authorization header: 400 IncompleteSignature.
    let mut no_signature = today.clone();
    for (name, value) in &mut no_signature {
        if name == "authorization" {
            *value = value.split(", Signature=").next().unwrap().to_owned();
        }
    }
    assert_eq!(
        post_with(&runtime, &no_signature, body.clone()).await,
        (400, Some("IncompleteSignature".into()))
    );
    let stats = endpoint.stats();
    assert_eq!(stats.answered, 2, "{stats:?}");
    assert_eq!(
        stats.invocations, 2,
        "refused requests are not invocations: {stats:?}"
    );
    assert_eq!(stats.errors["InvalidSignatureException"], 5, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_key_is_refused_before_the_body_is_read() {
    let endpoint = start_with(
        ModelChoice::Null,
        FaultConfig::default(),
        Some(credentials("AKIDCONTRACT")),
    )
    .await;
    let path = format!("/endpoints/{NAME}/invocations");
    let url = format!("{}{path}", endpoint.url());
    let stranger = credentials("AKIDSTRANGER");
    let mut big = jpeg(16, 16);
    big.resize(6 * 1024 * 1024, 0);
    let headers = sign(
        &url,
        &stranger,
        &SigV4Scope::sagemaker(REGION),
        &big,
        SystemTime::now(),
    );

    // By hand: announce 6 MiB, send none of it, and wait for the answer. A server that reads
    // the body first never answers.
    let addr = endpoint.addr();
    let mut head = headers.clone();
    head.push(("content-type".into(), "image/jpeg".into()));
    let length = big.len();
    let request_line = format!("POST {path} HTTP/1.1");
    let answer = tokio::task::spawn_blocking(move || {
        omni_e2e::raw_http_head_only(addr, &head, &request_line, length)
    })
    .await
    .unwrap()
    .expect("the server waited for the body instead of refusing the headers")
    .to_lowercase();
    assert!(answer.starts_with("http/1.1 403"), "{answer}");
    assert!(
        answer.contains("x-amzn-errortype: unrecognizedclientexception"),
        "{answer}"
    );
    assert_eq!(endpoint.stats().body_bytes_read, 0);

    // With a client that sends the whole body anyway: it reads the refusal, not a reset.
    assert_eq!(
        post_with(&url, &headers, big).await,
        (403, Some("UnrecognizedClientException".into()))
    );
    let stats = endpoint.stats();
    assert_eq!(stats.body_bytes_read, 0, "{stats:?}");
    assert_eq!(stats.errors["UnrecognizedClientException"], 2, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_throttles_exactly_the_invocations_beyond_it() {
    const LIMIT: u32 = 3;
    const EXTRA: usize = 2;
    let faults = FaultConfig {
        // Long enough for every request to arrive while the first LIMIT are in flight.
        latency: Duration::from_millis(2500),
        serverless: ServerlessConfig {
            max_concurrency: Some(LIMIT),
            ..ServerlessConfig::default()
        },
        ..FaultConfig::default()
    };
    let endpoint = start(ModelChoice::Null, faults).await;
    let url = format!("{}/endpoints/{NAME}/invocations", endpoint.url());
    let answers = post_concurrently(&url, LIMIT as usize + EXTRA).await;
    let throttled = answers
        .iter()
        .filter(|a| **a == (400, Some("ThrottlingException".to_owned())))
        .count();
    let answered = answers.iter().filter(|a| **a == (200, None)).count();
    assert_eq!(
        (answered, throttled),
        (LIMIT as usize, EXTRA),
        "{answers:?}"
    );
    let stats = endpoint.stats();
    assert_eq!(stats.throttled, EXTRA as u64, "{stats:?}");
    assert_eq!(stats.max_in_flight, LIMIT, "{stats:?}");
    assert_eq!(stats.in_flight, 0, "{stats:?}");
    assert_eq!(
        stats.invocations_per_second.iter().sum::<u64>(),
        (LIMIT as usize + EXTRA) as u64,
        "{stats:?}"
    );
    assert_eq!(
        stats.throttled_per_second.iter().sum::<u64>(),
        EXTRA as u64,
        "{stats:?}"
    );
    // The slots were given back.
    assert_eq!(post_with(&url, &[], jpeg(8, 8)).await, (200, None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_start_once_at_first_and_once_after_idle() {
    let faults = FaultConfig {
        serverless: ServerlessConfig {
            // Long enough for three requests sent together to arrive during the warm-up.
            cold_start: Duration::from_millis(1000),
            idle_scale_down: Some(Duration::from_secs(2)),
            ..ServerlessConfig::default()
        },
        ..FaultConfig::default()
    };
    let endpoint = start(ModelChoice::Null, faults).await;
    let url = format!("{}/endpoints/{NAME}/invocations", endpoint.url());
    // Three at once on a cold endpoint: one warm-up, all three wait for it.
    let answers = post_concurrently(&url, 3).await;
    assert!(answers.iter().all(|a| *a == (200, None)), "{answers:?}");
    let stats = endpoint.stats();
    assert_eq!(
        (stats.cold_starts, stats.cold_start_waits),
        (1, 3),
        "{stats:?}"
    );
    // Right after: warm.
    assert_eq!(post_with(&url, &[], jpeg(8, 8)).await, (200, None));
    let stats = endpoint.stats();
    assert_eq!(
        (stats.cold_starts, stats.cold_start_waits),
        (1, 3),
        "{stats:?}"
    );
    // After the idle scale-down time: cold again, once. (A sleep on purpose: the idle time
    // is what is tested, and only an invocation, which would end it, can observe it.)
    tokio::time::sleep(Duration::from_millis(2600)).await;
    assert_eq!(post_with(&url, &[], jpeg(8, 8)).await, (200, None));
    assert_eq!(post_with(&url, &[], jpeg(8, 8)).await, (200, None));
    let stats = endpoint.stats();
    assert_eq!(
        (stats.cold_starts, stats.cold_start_waits),
        (2, 4),
        "{stats:?}"
    );
    assert_eq!(stats.answered, 6, "{stats:?}");
}

/// Sends `n` unsigned invocations to `url` at once; their answers, in order.
async fn post_concurrently(url: &str, n: usize) -> Vec<(u16, Option<String>)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let url = url.to_owned();
            tokio::spawn(async move { post_with(&url, &[], jpeg(8, 8)).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// A body well over the endpoint's 8 MiB cap (24 MiB), sent whole before the answer is read
/// (as a plain client does), gets its refusal read, not a broken pipe.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_cap_is_refused_in_a_way_the_client_reads() {
    let key = credentials("AKIDCONTRACT");
    let endpoint = start_with(ModelChoice::Null, FaultConfig::default(), Some(key.clone())).await;
    let path = format!("/endpoints/{NAME}/invocations");
    let url = format!("{}{path}", endpoint.url());
    let mut big = jpeg(16, 16);
    big.resize(24 * 1024 * 1024, 0);
    let mut head = sign(
        &url,
        &key,
        &SigV4Scope::sagemaker(REGION),
        &big,
        SystemTime::now(),
    );
    head.push(("content-type".into(), "image/jpeg".into()));
    let addr = endpoint.addr();
    let answer = tokio::task::spawn_blocking(move || {
        omni_e2e::raw_http_request(addr, &head, &format!("POST {path} HTTP/1.1"), &big)
    })
    .await
    .unwrap()
    .expect("the client reads an answer, not a broken pipe");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(
        answer
            .to_lowercase()
            .contains("x-amzn-errortype: validationerror"),
        "{answer}"
    );
}
