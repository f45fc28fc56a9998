//! The endpoint's HTTP contract on a real socket: the container routes, AWS-shaped errors,
//! the model-not-ready window, and restarts.

#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::Cursor;
use std::time::Duration;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageBuffer, Rgb};
use omni_core::cloud::response;
use omni_endpoint::{EndpointConfig, FaultConfig, ModelChoice, RunningEndpoint};

fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let img = ImageBuffer::from_fn(w, h, |x, y| Rgb([(x % 256) as u8, (y % 256) as u8, 40]));
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(Cursor::new(&mut out), 90)
        .encode_image(&img)
        .unwrap();
    out
}

async fn start(model: ModelChoice, faults: FaultConfig) -> RunningEndpoint {
    omni_endpoint::start(EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        endpoint_name: "omni-inspector-yolo".into(),
        region: "us-east-1".into(),
        credentials: None,
        model,
        faults,
    })
    .await
    .unwrap()
}

async fn post(url: &str, body: Vec<u8>) -> (u16, Option<String>, Vec<u8>) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap();
    let kind = response
        .headers()
        .get("x-amzn-errortype")
        .map(|v| v.to_str().unwrap().to_owned());
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
    let endpoint = start(ModelChoice::Null, faults).await;
    let url = format!("{}/invocations", endpoint.url());
    let (status, kind, _) = post(&url, jpeg(8, 8)).await;
    assert_eq!(
        (status, kind.as_deref()),
        (429, Some("ModelNotReadyException"))
    );
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(post(&url, jpeg(8, 8)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_drops_connections_and_serves_again_on_the_same_port() {
    let endpoint = start(ModelChoice::Null, FaultConfig::default()).await;
    let url = format!("{}/invocations", endpoint.url());
    assert_eq!(post(&url, jpeg(8, 8)).await.0, 200);
    let restart = endpoint.restart(Duration::from_millis(300));
    let probe = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        reqwest::Client::new()
            .post(&url)
            .body(jpeg(8, 8))
            .send()
            .await
            .is_err()
    };
    let ((), refused_while_down) = tokio::join!(restart, probe);
    assert!(
        refused_while_down,
        "the port must be closed during the restart"
    );
    assert_eq!(post(&url, jpeg(8, 8)).await.0, 200);
    assert_eq!(endpoint.stats().restarts, 1);
}
